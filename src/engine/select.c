/* Engine choice: an explicit name, or "auto", which measures instead of
 * assuming that a present /dev/kvm is a fast one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

/* Measured guest instructions per second of kvm, or -errno.  Implemented
 * next to the kvm engine (engine/kvm_calibrate.c). */
int kvm_calibrate(double *insns_per_sec, char *why, size_t len);

/* Below this, a Linux boot on kvm would take minutes: emu is faster. */
#define KVM_FAST_ENOUGH 50e6

int engine_select(const char *name, const struct engine_ops **out, char *why, size_t len)
{
    char reason[200] = "";

    if (!name || !strcmp(name, "kvm")) {
        if (engine_kvm.probe(reason, sizeof(reason)) < 0) {
            snprintf(why, len, "engine kvm is not available: %s (try --engine emu)", reason);
            return -ENODEV;
        }
        *out = &engine_kvm;
        snprintf(why, len, "chosen with --engine kvm");
        return 0;
    }
    if (!strcmp(name, "emu")) {
        if (engine_emu.probe(reason, sizeof(reason)) < 0) {
            snprintf(why, len, "engine emu is not available: %s", reason);
            return -ENODEV;
        }
        *out = &engine_emu;
        snprintf(why, len, "chosen with --engine emu");
        return 0;
    }
    if (strcmp(name, "auto")) {
        snprintf(why, len, "unknown engine '%s' (choose auto, kvm or emu)", name);
        return -EINVAL;
    }

    bool emu_ok = engine_emu.probe(reason, sizeof(reason)) == 0;
    char kreason[200] = "";
    if (engine_kvm.probe(kreason, sizeof(kreason)) < 0) {
        if (!emu_ok) {
            snprintf(why, len, "no engine can run here: kvm: %s; emu: %s", kreason, reason);
            return -ENODEV;
        }
        *out = &engine_emu;
        snprintf(why, len, "kvm is not available (%s), using the software CPU", kreason);
        return 0;
    }
    double ips = 0;
    int r = kvm_calibrate(&ips, kreason, sizeof(kreason));
    if (r == 0 && ips >= KVM_FAST_ENOUGH) {
        *out = &engine_kvm;
        snprintf(why, len, "kvm runs the calibration guest at %.0f million instructions/s",
                 ips / 1e6);
        return 0;
    }
    if (!emu_ok) {
        *out = &engine_kvm;
        snprintf(why, len, "kvm is slow here (%.1f million instructions/s) but emu is not "
                 "available (%s): using kvm anyway", ips / 1e6, reason);
        return 0;
    }
    *out = &engine_emu;
    if (r < 0)
        snprintf(why, len, "kvm calibration failed (%s), using the software CPU", kreason);
    else
        snprintf(why, len, "kvm is present but slow here (%.1f million instructions/s, "
                 "nested virtualization?), using the software CPU", ips / 1e6);
    return 0;
}
