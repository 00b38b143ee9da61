/* STUB: the kvm engine (owned by the kvm helper; replaced wholesale). */
#include <errno.h>
#include <stdio.h>

#include "engine/engine.h"

static int kvm_probe(char *why, size_t len)
{
    snprintf(why, len, "the kvm engine is not built yet");
    return -ENOSYS;
}

int kvm_calibrate(double *ips, char *why, size_t len)
{
    *ips = 0;
    snprintf(why, len, "not built yet");
    return -ENOSYS;
}

const struct engine_ops engine_kvm = { .name = "kvm", .probe = kvm_probe };
