/* libFuzzer target for the qcow2 opener, reader, writer and checker: the
 * input is an image file.  Built by `make fuzz-qcow2` (clang); replayed by
 * tests/fuzz/run_fuzz.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"

static void exercise(struct blockdev *bd, const uint8_t *data, size_t size)
{
    static uint8_t buf[1 << 20];
    uint64_t dsize = block_size(bd);
    uint64_t n = dsize < sizeof(buf) ? dsize : sizeof(buf);
    struct iovec v = { buf, (size_t)n };
    (void)block_preadv(bd, 0, &v, 1);
    for (size_t i = 0; i + 8 <= size && i < 64 && dsize >= 65536; i += 8) {
        uint64_t off;
        memcpy(&off, data + size - 8 - i, 8);
        off = (off % (dsize - 65536 + 1)) & ~511ULL;
        struct iovec w = { buf, 65536 };
        (void)block_preadv(bd, off, &w, 1);
        if (!block_readonly(bd) && (i & 8)) {
            (void)block_pwritev(bd, off, &w, 1);
            (void)block_write_zeroes(bd, off, 65536);
        }
    }
    struct block_check_report r;
    struct err e = ERR_INIT;
    (void)block_check(bd, false, &r, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.qcow2", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    struct err e = ERR_INIT;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    for (int ro = 1; ro >= 0; ro--) {
        struct block_open_opts o = { .format = BLOCK_FORMAT_QCOW2, .readonly = ro };
        struct blockdev *bd;
        if (block_open(path, &o, &bd, &e) == 0) {
            exercise(bd, data, size);
            block_close(bd);
        }
    }
    close(fd);
    return 0;
}
