/* flood: a guest that uses a device as fast as it can and never stops
 * (issue 20); it ignores the power button, like a guest that has gone
 * wrong.  The command line picks what:
 *   flood=1  the console: COM1 and virtio-console (when there is one), a
 *            numbered line each time round, as fast as the devices take them;
 *   flood=2  the network: virtio-net frames of size= bytes (default 1000)
 *            to nobody (an ethertype no one speaks), keeping the transmit
 *            ring full; "flood-net: sent N at T ms, dry D" on COM1 every
 *            100 frames, T by the ACPI PM timer (the host's clock, not the
 *            guest's progress, so a starved vCPU does not skew the rate), D
 *            the times the guest found its ring empty (it, not the device,
 *            was the slower one then);
 *   arp=1    a probe, not a flood: one ARP request to the user network's
 *            gateway, "flood-arp: reply" when it answers, then a clean exit.
 * tests/machines/run_hostile_flood.sh runs them as named machines. */
#include "lib/cpu64.h"
#include "lib/virtio_min.h"

#include <stdbool.h>

#define NET_BAR     0xc0100000u
#define CONSOLE_BAR 0xc0200000u
#define NET_HDR     12
#define RX 0
#define TX 1
#define PM_TMR      0x608                /* the ACPI PM timer: 24 bits at PM_HZ */
#define PM_HZ       3579545u

static struct vring rings[VQ_MAX];
static struct vdev dev;
static uint8_t frame[NET_HDR + 1514];
static uint8_t rxbuf[2048];
static char line[4096];

static const uint8_t our_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void setup(uint16_t id, uint32_t bar)
{
    struct vring *r[VQ_MAX] = { &rings[0], &rings[1] };
    vdev_setup(&dev, id, bar, r, 2);
}

/* "flood N ....\n", 4 KiB long. */
static unsigned make_line(unsigned long n)
{
    static const char digits[] = "0123456789";
    char num[24];
    unsigned k = 0;
    do
        num[k++] = digits[n % 10];
    while ((n /= 10) && k < sizeof(num));
    unsigned len = 0;
    memcpy(line, "flood ", 6);
    len = 6;
    while (k)
        line[len++] = num[--k];
    line[len++] = ' ';
    while (len < sizeof(line) - 1)
        line[len++] = 'x';
    line[len++] = '\n';
    return len;
}

static __attribute__((noreturn)) void flood_console(void)
{
    bool vcon = pci_find(VIRTIO_PCI_CONSOLE) >= 0;
    struct vring *tx = &rings[TX];
    if (vcon) {
        setup(VIRTIO_PCI_CONSOLE, CONSOLE_BAR);
        for (unsigned i = 0; i < VQ_SIZE; i++)
            tx->desc[i] = (struct vdesc){ (uint64_t)(uintptr_t)line, sizeof(line), 0, 0 };
    }
    gprintf("flood-console: start, COM1%s\n", vcon ? " and virtio-console" : "");
    for (unsigned long n = 0;; n++) {
        unsigned len = make_line(n);
        for (unsigned i = 0; i < len; i++)
            outb(PORT_COM1, (uint8_t)line[i]);      /* no waiting for the UART */
        /* Keep the virtio-console's ring full. */
        while (vcon && (uint16_t)(dev.next_used[TX] - *(volatile uint16_t *)&tx->used.idx) < VQ_SIZE)
            vdev_submit(&dev, TX, (uint16_t)(dev.next_used[TX] % VQ_SIZE));
    }
}

static void make_frame(unsigned size, bool arp)
{
    uint8_t *f = frame + NET_HDR;
    memset(frame, 0, sizeof(frame));
    memset(f, 0xff, 6);
    memcpy(f + 6, our_mac, 6);
    if (arp) {
        static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
        memcpy(f + 12, head, sizeof(head));
        memcpy(f + 22, our_mac, 6);
        f[28] = 10, f[29] = 0, f[30] = 2, f[31] = 15;
        f[38] = 10, f[39] = 0, f[40] = 2, f[41] = 2;
    } else {
        f[12] = 0x88, f[13] = 0xb5;                 /* local experimental: no one's */
        for (unsigned i = 14; i < size; i++)
            f[i] = (uint8_t)i;
    }
}

static __attribute__((noreturn)) void flood_net(unsigned size)
{
    if (size < 60 || size > 1514)
        fail(40, "flood-net: size=%u: give 60 to 1514 bytes", size);
    setup(VIRTIO_PCI_NET, NET_BAR);
    make_frame(size, false);
    struct vring *tx = dev.vr[TX];
    for (unsigned i = 0; i < VQ_SIZE; i++)
        tx->desc[i] = (struct vdesc){ (uint64_t)(uintptr_t)frame, NET_HDR + size, 0, 0 };
    gprintf("flood-net: start, %u-byte frames\n", size);
    unsigned long sent = 0, printed = 0, dry = 0;
    uint16_t last = 0;
    uint32_t pm_last = inl(PM_TMR) & 0xffffff;
    uint64_t pm_total = 0;                   /* PM timer ticks since the start, unwrapped */
    /* Spinning costs no exits under kvm: the PM timer (a port) and the
     * device status (MMIO) are read now and then, not every time round. */
    for (unsigned long spin = 0;; spin++) {
        uint16_t done = *(volatile uint16_t *)&tx->used.idx;
        if (done != dev.next_used[TX] - VQ_SIZE) {
            /* Room in the ring.  All of it: the device sent everything and
             * waited for us, so we, not its limit, held the rate back. */
            dry += done == dev.next_used[TX];
            while ((uint16_t)(dev.next_used[TX] - done) < VQ_SIZE)
                vdev_submit(&dev, TX, (uint16_t)(dev.next_used[TX] % VQ_SIZE));
        }
        sent += (uint16_t)(done - last);     /* frames the device took */
        last = done;
        bool report = sent / 100 != printed / 100;
        if (!report && spin % 4096)
            continue;
        uint32_t pm = inl(PM_TMR) & 0xffffff;
        pm_total += (pm - pm_last) & 0xffffff;
        pm_last = pm;
        if (report) {
            printed = sent;
            gprintf("flood-net: sent %lu at %lu ms, dry %lu\n", sent / 100 * 100,
                    (unsigned long)(pm_total * 1000 / PM_HZ), dry);
        }
        if (vdev_status(&dev) & VIRTIO_STATUS_NEEDS_RESET)
            fail(41, "flood-net: the NIC asked for a reset");
    }
}

static void arp_probe(void)
{
    setup(VIRTIO_PCI_NET, NET_BAR);
    make_frame(60, true);
    dev.vr[RX]->desc[0] = (struct vdesc){ (uint64_t)(uintptr_t)rxbuf, sizeof(rxbuf), VDESC_WRITE, 0 };
    vdev_submit(&dev, RX, 0);
    dev.vr[TX]->desc[0] = (struct vdesc){ (uint64_t)(uintptr_t)frame, NET_HDR + 60, 0, 0 };
    vdev_submit(&dev, TX, 0);
    if (vdev_wait(&dev, RX))
        fail(42, "flood-arp: the NIC asked for a reset");
    const uint8_t *f = rxbuf + NET_HDR;
    if (f[12] != 0x08 || f[13] != 0x06 || f[21] != 2)
        fail(43, "flood-arp: the answer is no ARP reply");
    gprintf("flood-arp: reply from %u.%u.%u.%u\n", f[28], f[29], f[30], f[31]);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    const char *cmdline = mb_cmdline(magic, mbi);
    unsigned long mode = cmdline_uint(cmdline, "flood=", 0);
    if (mode == 1)
        flood_console();
    if (mode == 2)
        flood_net((unsigned)cmdline_uint(cmdline, "size=", 1000));
    if (cmdline_uint(cmdline, "arp=", 0)) {
        arp_probe();
        return;
    }
    fail(44, "flood: say flood=1 (console), flood=2 (network) or arp=1 on the command line");
}
