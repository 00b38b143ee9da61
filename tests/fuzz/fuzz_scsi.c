/* libFuzzer target for virtio-scsi and the CD-ROM behind it
 * (src/hw/virtio/scsi.c, src/hw/scsi_cd.c): requests on its control, event
 * and request queues (fuzz_virtio.h: the request header with its LUN and
 * CDB, data in or out, the response), through the real transport, against
 * a 64 KiB read-only disc in memory. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "fuzz_virtio.h"
#include "hw/virtio/scsi.c"

static struct fz_virtio fz_scsi;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_scsi.vd) {
        vt_init(&fz_scsi.t);
        int fd = memfd_create("fuzz-cd.iso", 0);
        if (fd < 0 || ftruncate(fd, 64 << 10) < 0 || pwrite(fd, "CD001", 5, 0x8001) != 5)
            abort();
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        struct block_open_opts oo = { .format = BLOCK_FORMAT_RAW, .readonly = true };
        struct blockdev *bd;
        struct virtio_scsi *s;
        struct err e = ERR_INIT;
        if (block_open(path, &oo, &bd, &e) < 0 ||
            virtio_scsi_create(&fz_scsi.t.dh.mem, fz_scsi.t.bus, bd, &s) < 0)
            abort();
        fz_virtio_attach(&fz_scsi, s->vp, 0x1040 + VIRTIO_ID_SCSI,
                         1ULL << VIRTIO_F_RING_INDIRECT_DESC | 1ULL << VIRTIO_F_RING_EVENT_IDX, 3);
    }
    fz_virtio_input(&fz_scsi, data, size);
    return 0;
}
