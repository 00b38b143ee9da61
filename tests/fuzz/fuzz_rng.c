/* libFuzzer target for virtio-rng requests (src/hw/virtio/rng.c): chains of
 * any shape on its one queue (fuzz_virtio.h), through the real transport;
 * the device may fill only the writable segments, and say so. */
#include "fuzz_virtio.h"
#include "hw/virtio/rng.c"

static struct fz_virtio fz_rng;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_rng.vd) {
        vt_init(&fz_rng.t);
        struct virtio_rng *r;
        if (virtio_rng_create(&fz_rng.t.dh.mem, fz_rng.t.bus, &r) < 0)
            abort();
        fz_virtio_attach(&fz_rng, r->vp, 0x1040 + VIRTIO_ID_RNG,
                         1ULL << VIRTIO_F_RING_INDIRECT_DESC | 1ULL << VIRTIO_F_RING_EVENT_IDX, 1);
    }
    fz_virtio_input(&fz_rng, data, size);
    return 0;
}
