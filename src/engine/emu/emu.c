/* STUB: the emu engine entry points (owned by the emu helpers; replaced). */
#include <errno.h>
#include <stdio.h>

#include "engine/engine.h"

static int emu_probe(char *why, size_t len)
{
    snprintf(why, len, "the software CPU is not built yet");
    return -ENOSYS;
}

const struct engine_ops engine_emu = { .name = "emu", .probe = emu_probe };
