/* libFuzzer target for virtio-console (src/hw/virtio/console.c): chains of
 * any shape on its receive and transmit queues (fuzz_virtio.h), through
 * the real transport, and host input (queue byte with bit 7) written into
 * the receive buffers the guest offered. */
#include "fuzz_virtio.h"
#include "host/chardev.h"
#include "hw/virtio/console.c"

static struct fz_virtio fz_con;
static struct virtio_console *fz_con_dev;
static size_t fz_con_out;

static void fz_con_output(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    if (len && !buf)
        abort();
    fz_con_out += len;
}

static void fz_con_host_in(struct fz_virtio *f, const uint8_t *p, size_t n)
{
    (void)f;
    if (console_receive(fz_con_dev, p, n) > n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_con.vd) {
        vt_init(&fz_con.t);
        struct chardev *cd;
        if (chardev_open_callback(fz_con_output, NULL, &cd) < 0 ||
            virtio_console_create(&fz_con.t.dh.mem, fz_con.t.bus, cd, &fz_con_dev) < 0)
            abort();
        fz_con.host_in = fz_con_host_in;
        fz_virtio_attach(&fz_con, fz_con_dev->vp, 0x1040 + VIRTIO_ID_CONSOLE,
                         1ULL << VIRTIO_F_RING_INDIRECT_DESC | 1ULL << VIRTIO_F_RING_EVENT_IDX, 2);
    }
    fz_virtio_input(&fz_con, data, size);
    return 0;
}
