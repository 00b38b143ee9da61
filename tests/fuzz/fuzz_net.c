/* libFuzzer target for virtio-net (src/hw/virtio/net.c): chains of any
 * shape on its receive and transmit queues (fuzz_virtio.h), through the
 * real transport, and frames from the host side (queue byte with bit 7)
 * delivered into the receive buffers the guest offered, mergeable or not.
 * No backend: what the guest sends goes nowhere, as with --net none. */
#include "fuzz_virtio.h"
#include "net/net.h"
#include "hw/virtio/net.c"

static struct fz_virtio fz_net;
static struct virtio_net *fz_net_dev;

static void fz_net_host_in(struct fz_virtio *f, const uint8_t *p, size_t n)
{
    (void)f;
    net_receive(fz_net_dev, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_net.vd) {
        vt_init(&fz_net.t);
        struct net_options o = { .mode = NET_MODE_NONE };
        static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
        struct err e = ERR_INIT;
        if (virtio_net_create(&fz_net.t.dh.mem, fz_net.t.bus, &o, mac, &fz_net_dev, &e) < 0)
            abort();
        fz_net.host_in = fz_net_host_in;
        fz_virtio_attach(&fz_net, fz_net_dev->vp, 0x1040 + VIRTIO_ID_NET,
                         1ULL << VIRTIO_NET_F_MRG_RXBUF | 1ULL << VIRTIO_NET_F_MAC |
                         1ULL << VIRTIO_F_RING_INDIRECT_DESC | 1ULL << VIRTIO_F_RING_EVENT_IDX, 2);
    }
    fz_virtio_input(&fz_net, data, size);
    return 0;
}
