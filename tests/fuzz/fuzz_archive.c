/* libFuzzer target for appliance archives (src/mgmt/appliance.c): the input
 * is a tar file (any compression libarchive detects) unpacked as `hostel
 * run` and `hostel import` do into a scratch folder, then, when it held a
 * manifest, the appliance opened from there (appliance.json: kernel,
 * disks, forwards, ssh) and turned into a machine spec.  Besides crashes
 * and sanitizer reports it aborts when anything but regular files and
 * folders appears in the scratch folder, or anything beside it changed. */
#include <sys/mman.h>

#include "board/spec.h"
#include "fuzz_scratch.h"
#include "mgmt/appliance.h"

static struct fz_scratch fz_ar;
static int fz_ar_fd = -1;
static char fz_ar_path[64];

static void fz_ar_setup(void)
{
    fz_scratch_make(&fz_ar, "archive", "x");
    fz_ar_fd = memfd_create("fuzz-appliance.tar", 0);
    if (fz_ar_fd < 0)
        abort();
    snprintf(fz_ar_path, sizeof(fz_ar_path), "/proc/self/fd/%d", fz_ar_fd);
}

/* Byte 0 bit 0: unpack as an import (a damaged archive is an error);
 * the rest is the archive. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_ar_fd < 0)
        fz_ar_setup();
    if (size < 1)
        return 0;
    if (ftruncate(fz_ar_fd, 0) < 0 || pwrite(fz_ar_fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
        abort();
    struct err e = ERR_INIT;
    int r = appliance_unpack(fz_ar_path, fz_ar.dir, data[0] & 1, &e);
    if (r < 0 && !e.msg[0])
        abort();
    if (r == 0) {
        struct appliance a;
        struct err oe = ERR_INIT;
        if (appliance_open(fz_ar.dir, &a, &oe) == 0) {
            struct machine_spec layer;
            spec_init(&layer);
            struct err se = ERR_INIT;
            if (appliance_spec(&a, &layer, &se) < 0 && !se.msg[0])
                abort();
            spec_free(&layer);
            appliance_free(&a);
        } else if (!oe.msg[0]) {
            abort();
        }
    }
    fz_scratch_check_outside(&fz_ar);
    fz_scratch_empty(&fz_ar, true);
    return 0;
}
