/* libFuzzer target for virtio-blk requests (src/hw/virtio/blk.c): the input
 * is a run of requests a guest driver could place on the request queue
 * (header, data and status segments of any sizes and directions, see
 * fuzz_virtio.h), handled by the real device over the real PCI transport,
 * on a 256 KiB raw disk in memory.  The device must answer or refuse each
 * one without touching memory outside guest RAM or the disk. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "fuzz_virtio.h"
#include "hw/virtio/blk.c"

#define FZ_DISK_BYTES (256u << 10)

static struct fz_virtio fz_blk;

static void fz_blk_setup(void)
{
    vt_init(&fz_blk.t);
    int fd = memfd_create("fuzz-blk.raw", 0);
    if (fd < 0 || ftruncate(fd, FZ_DISK_BYTES) < 0)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct block_open_opts oo = { .format = BLOCK_FORMAT_RAW };
    struct blockdev *bd;
    struct virtio_blk *b;
    struct err e = ERR_INIT;
    if (block_open(path, &oo, &bd, &e) < 0 ||
        virtio_blk_create(&fz_blk.t.dh.mem, fz_blk.t.bus, bd, "fuzz-disk", &b) < 0)
        abort();
    fz_virtio_attach(&fz_blk, b->vp, 0x1040 + VIRTIO_ID_BLOCK,
                     1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_FLUSH |
                     1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES |
                     1ULL << VIRTIO_F_RING_INDIRECT_DESC | 1ULL << VIRTIO_F_RING_EVENT_IDX, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_blk.vd)
        fz_blk_setup();
    fz_virtio_input(&fz_blk, data, size);
    return 0;
}
