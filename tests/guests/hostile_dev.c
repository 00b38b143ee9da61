/* hostile_dev: a guest that breaks the rules of its virtio-net,
 * virtio-console and virtio-rng on purpose (issue 20).  On each queue it
 * lays a chain that loops, one whose buffer lies outside RAM and one whose
 * buffer is the device's own BAR (the console's receive queue only with
 * conin=1, when the host types "console-input"): each must end in NEEDS_RESET (with the
 * config-change bit in the ISR).  Then the device-specific lies: a frame too
 * short for its header, one too long, a receive buffer the device may not
 * write, receive buffers over the queue's own rings; these are answered
 * (dropped, or filled as told) or mark the device broken, never crash
 * hostel.  The rng is broken and reset 100 times over (the log names only
 * the first 10).  After each, the guest resets the device and proves it works: an
 * ARP request to the user network's gateway gets its reply, the console
 * prints a line, the rng gives bytes (tests/machines/run_hostile_dev.sh). */
#include "lib/cpu64.h"
#include "lib/virtio_min.h"

#include <stdbool.h>

#define NET_BAR     0xc0100000u
#define CONSOLE_BAR 0xc0200000u
#define RNG_BAR     0xc0300000u
#define NET_HDR     12
#define RX 0
#define TX 1
#define FAR_AWAY    0x7f0000000000ull

static struct vring rings[VQ_MAX];
static struct vdev dev;
static const char *dev_name;
static uint16_t dev_id;
static uint8_t buf[4096] __attribute__((aligned(4096)));
static uint8_t arp[NET_HDR + 60];           /* virtio_net_hdr, then the frame */

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static uint32_t bar_of(uint16_t id)
{
    return id == VIRTIO_PCI_NET ? NET_BAR : id == VIRTIO_PCI_CONSOLE ? CONSOLE_BAR : RNG_BAR;
}

static void setup(void)
{
    struct vring *r[VQ_MAX] = { &rings[0], &rings[1] };
    vdev_setup(&dev, dev_id, bar_of(dev_id), r, dev_id == VIRTIO_PCI_RNG ? 1 : 2);
}

static struct vdesc *desc(unsigned q)
{
    return dev.vr[q]->desc;
}

static uint32_t used_len(unsigned q)
{
    return dev.vr[q]->used.ring[(uint16_t)(dev.next_used[q] - 1) % VQ_SIZE].len;
}

/* Waits for chain 0 of queue q (already submitted); 1 when the device
 * marked itself broken, 0 when it answered.  Says which, on the serial. */
static int outcome(const char *c, unsigned q)
{
    if (vdev_wait(&dev, q)) {
        uint8_t isr = vdev_isr(&dev);
        gprintf("hostile-dev: %s %s: needs reset%s\n", dev_name, c,
                isr & VIRTIO_ISR_CONFIG ? ", config interrupt" : ", no config interrupt");
        return 1;
    }
    gprintf("hostile-dev: %s %s: answered, %u bytes\n", dev_name, c, used_len(q));
    return 0;
}

/* An ARP request for 10.0.2.2 (the user network's gateway) from 10.0.2.15. */
static void make_arp(void)
{
    static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
    uint8_t *f = arp + NET_HDR;
    memset(arp, 0, sizeof(arp));
    memset(f, 0xff, 6);
    memcpy(f + 6, our_mac, 6);
    memcpy(f + 12, head, sizeof(head));
    memcpy(f + 22, our_mac, 6);
    f[28] = 10, f[29] = 0, f[30] = 2, f[31] = 15;
    f[38] = 10, f[39] = 0, f[40] = 2, f[41] = 2;
}

/* Transmits the ARP request as chain 7 of the transmit queue (the others
 * may hold the case under test) and waits for it, or for the receive case
 * under test to break the device first (its reply may come that fast). */
static void send_arp(void)
{
    desc(TX)[7] = (struct vdesc){ (uint64_t)(uintptr_t)arp, sizeof(arp), 0, 0 };
    vdev_submit(&dev, TX, 7);
    vdev_wait(&dev, TX);
}

/* One submitted chain 0 on queue q that must end the given way (1: broken). */
static void expect(const char *c, unsigned q, int broken)
{
    vdev_submit(&dev, q, 0);
    if (dev_id == VIRTIO_PCI_NET && q == RX)
        send_arp();                          /* a frame to receive */
    if (outcome(c, q) != broken)
        fail(21, "%s %s: %s", dev_name, c, broken ? "was answered" : "made the device ask for a reset");
}

/* a then b into out (32 bytes). */
static const char *cat(char *out, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
    return out;
}

/* The three chains every queue must refuse. */
static void refused(unsigned q)
{
    uint16_t w = q == RX || dev_id == VIRTIO_PCI_RNG ? VDESC_WRITE : 0;
    const char *qn = dev_id == VIRTIO_PCI_RNG ? "" : q == RX ? "rx-" : "tx-";
    char name[32];

    setup();
    desc(q)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 64, w | VDESC_NEXT, 1 };
    desc(q)[1] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 64, w | VDESC_NEXT, 0 };
    expect(cat(name, qn, "loop"), q, 1);

    setup();
    desc(q)[0] = (struct vdesc){ FAR_AWAY, 64, w, 0 };
    expect(cat(name, qn, "outside-ram"), q, 1);

    setup();
    desc(q)[0] = (struct vdesc){ bar_of(dev_id), 64, w, 0 };
    expect(cat(name, qn, "mmio"), q, 1);
}

static void net(void)
{
    dev_id = VIRTIO_PCI_NET, dev_name = "net";
    make_arp();
    refused(TX);
    refused(RX);

    setup();                                 /* too short for the header: dropped */
    desc(TX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)arp, 4, 0, 0 };
    expect("tx-short", TX, 0);
    /* Longer than any frame (64 KiB of RAM from 2 MiB on): dropped. */
    desc(TX)[0] = (struct vdesc){ 0x200000, 70000, 0, 0 };
    expect("tx-long", TX, 0);
    /* A receive buffer the device may not write: handed back empty. */
    desc(RX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 2048, 0, 0 };
    expect("rx-read-only", RX, 0);
    if (used_len(RX))
        fail(22, "net: a read-only receive buffer came back with %u bytes", used_len(RX));

    /* Receive buffers over the queue's own descriptor table and used ring:
     * the frame lands where the guest said; the ring it broke is its own. */
    setup();
    desc(RX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)desc(RX), 128, VDESC_WRITE, 0 };
    vdev_submit(&dev, RX, 0);
    send_arp();
    outcome("rx-over-descriptors", RX);
    setup();
    desc(RX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)&dev.vr[RX]->used, 128, VDESC_WRITE, 0 };
    vdev_submit(&dev, RX, 0);
    send_arp();
    for (unsigned long spin = 0; spin < 100000000ul; spin++)
        if ((vdev_status(&dev) & VIRTIO_STATUS_NEEDS_RESET) ||
            *(volatile uint16_t *)&dev.vr[RX]->used.idx == 1)
            break;
    gprintf("hostile-dev: net rx-over-used: done, status 0x%x\n", vdev_status(&dev));

    setup();                                 /* and the NIC works again */
    desc(RX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 2048, VDESC_WRITE, 0 };
    memset(buf, 0, 2048);
    vdev_submit(&dev, RX, 0);
    send_arp();
    if (outcome("after-reset", RX))
        fail(23, "net: after a reset, receiving failed");
    const uint8_t *f = buf + NET_HDR;
    if (used_len(RX) < NET_HDR + 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 2 ||
        f[28] != 10 || f[31] != 2)
        fail(24, "net: after a reset, the reply is no ARP reply from 10.0.2.2 (%u bytes)",
             used_len(RX));
    gprintf("hostile-dev: net works after reset: ARP reply from 10.0.2.2\n");
}

/* With conin=1 the host gives the console input ("console-input"), which
 * walks the receive queue: the three bad chains there too, then a good
 * buffer gets the input. */
static void console_rx(void)
{
    refused(RX);
    setup();
    memset(buf, 0, 64);
    desc(RX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 64, VDESC_WRITE, 0 };
    expect("rx-after-reset", RX, 0);
    /* The typed text, or its end: whether a first byte reaches the console
     * before the driver is ready is not this test's business. */
    static const char want[] = "input";
    bool found = false;
    for (unsigned at = 0; at + sizeof(want) - 1 <= used_len(RX) && !found; at++) {
        unsigned differ = 0;
        for (unsigned i = 0; i < sizeof(want) - 1; i++)
            differ += buf[at + i] != (uint8_t)want[i];
        found = !differ;
    }
    if (!found)
        fail(27, "console: after a reset, %u bytes of input came (%.16s), not 'console-input'",
             used_len(RX), (const char *)buf);
    gprintf("hostile-dev: console rx works after reset\n");
}

static void console(bool input)
{
    static const char hello[] = "hostile-dev: console tx works after reset\n";
    dev_id = VIRTIO_PCI_CONSOLE, dev_name = "console";
    refused(TX);
    if (input)
        console_rx();

    setup();                                 /* only device-writable: nothing to print */
    desc(TX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 64, VDESC_WRITE, 0 };
    expect("tx-write-only", TX, 0);

    setup();
    desc(TX)[0] = (struct vdesc){ (uint64_t)(uintptr_t)hello, sizeof(hello) - 1, 0, 0 };
    expect("after-reset", TX, 0);
}

static void rng(void)
{
    dev_id = VIRTIO_PCI_RNG, dev_name = "rng";
    refused(0);

    setup();                                 /* read-only: nothing written */
    desc(0)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 16, 0, 0 };
    expect("read-only", 0, 0);
    if (used_len(0))
        fail(25, "rng: a read-only buffer came back with %u bytes", used_len(0));
    /* Over its own used ring: filled as told; the ring it broke is its own. */
    setup();
    desc(0)[0] = (struct vdesc){ (uint64_t)(uintptr_t)&dev.vr[0]->used, 64, VDESC_WRITE, 0 };
    vdev_submit(&dev, 0, 0);
    for (unsigned long spin = 0; spin < 100000000ul; spin++)
        if ((vdev_status(&dev) & VIRTIO_STATUS_NEEDS_RESET) ||
            *(volatile uint16_t *)&dev.vr[0]->used.idx == 1)
            break;
    gprintf("hostile-dev: rng over-used: done, status 0x%x\n", vdev_status(&dev));

    /* Break it and reset it, 100 times over: the log must not grow with it. */
    for (unsigned i = 0; i < 100; i++) {
        setup();
        desc(0)[0] = (struct vdesc){ FAR_AWAY, 64, VDESC_WRITE, 0 };
        vdev_submit(&dev, 0, 0);
        if (!vdev_wait(&dev, 0))
            fail(28, "rng: breakage %u of 100 was answered", i);
    }
    gprintf("hostile-dev: rng broken and reset 100 times\n");

    setup();
    memset(buf, 0, 64);
    desc(0)[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, 64, VDESC_WRITE, 0 };
    expect("after-reset", 0, 0);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 64; i++)
        nonzero += buf[i] != 0;
    if (used_len(0) != 64 || nonzero < 32)
        fail(26, "rng: after a reset, %u bytes came back, %u of 64 not zero", used_len(0), nonzero);
    gprintf("hostile-dev: rng works after reset\n");
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    bool input = cmdline_uint(mb_cmdline(magic, mbi), "conin=", 0) != 0;
    gprintf("hostile-dev: start\n");
    net();
    console(input);
    rng();
    gprintf("hostile-dev: ok\n");
}
