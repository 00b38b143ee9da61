/* libFuzzer target for PCI configuration space and BAR writes (src/hw/pci.c)
 * and the virtio-pci registers behind them (src/hw/virtio/virtio_pci.c):
 * a fresh bus per input with the host bridge, a virtio-rng and a virtio-blk
 * (their workers paused, so every input runs the same way), then the
 * input's accesses: configuration cycles through ports 0xcf8/0xcfc, port
 * I/O anywhere, and MMIO in the window where the seeds place the BARs or at
 * any address.  Nothing may crash, and the reset port may only ask for a
 * reset. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "hw/virtio/blk.h"
#include "hw/virtio/rng.h"
#include "virtio_test_driver.h"

#define FZ_MMIO_WINDOW 0xe0000000ULL

static struct blockdev *fz_pci_disk;

static void fz_pci_open_disk(void)
{
    int fd = memfd_create("fuzz-pci.raw", 0);
    if (fd < 0 || ftruncate(fd, 64 << 10) < 0)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct block_open_opts oo = { .format = BLOCK_FORMAT_RAW };
    struct err e = ERR_INIT;
    if (block_open(path, &oo, &fz_pci_disk, &e) < 0)
        abort();
}

/* Input: 8-byte operations [op][size][offset le16][value le32]:
 *   op % 8: 0 config address, 1 config data write, 2 config data read,
 *           3 MMIO write in the window, 4 MMIO read in the window,
 *           5 port write, 6 port read, 7 MMIO write at value's address
 *   size: 1, 2, 4 or 8 bytes by its low bits. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    if (!fz_pci_disk)
        fz_pci_open_disk();
    struct vt t;
    vt_init(&t);
    struct virtio_rng *rng;
    struct virtio_blk *blk;
    if (virtio_rng_create(&t.dh.mem, t.bus, &rng) < 0 ||
        virtio_blk_create(&t.dh.mem, t.bus, fz_pci_disk, "fuzz-pci", &blk) < 0)
        abort();
    virtio_rng_pause(rng);
    virtio_blk_pause(blk);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *p = data + i;
        unsigned sz = sizes[p[1] & 3];
        uint16_t off;
        uint32_t v;
        memcpy(&off, p + 2, 2);
        memcpy(&v, p + 4, 4);
        uint64_t r = 0;
        switch (p[0] % 8) {
        case 0:
            pio_out(&t.dh, PORT_PCI_CONFIG_ADDR, 4, v);
            break;
        case 1:
            pio_out(&t.dh, PORT_PCI_CONFIG_DATA + (off & 3), sz > 4 ? 4 : sz, v);
            break;
        case 2:
            r = pio_in(&t.dh, PORT_PCI_CONFIG_DATA + (off & 3), sz > 4 ? 4 : sz);
            break;
        case 3:
            bus_write(&t.dh.mmio, FZ_MMIO_WINDOW + off, sz, v | (uint64_t)v << 32);
            break;
        case 4:
            bus_read(&t.dh.mmio, FZ_MMIO_WINDOW + off, sz, &r);
            break;
        case 5:
            pio_out(&t.dh, off, sz > 4 ? 4 : sz, v);
            break;
        case 6:
            r = pio_in(&t.dh, off, sz > 4 ? 4 : sz);
            break;
        default:
            bus_write(&t.dh.mmio, (uint64_t)v << 12 | (off & 0xfff), sz, off);
            break;
        }
        if (sz < 8 && r >> (8 * sz))
            abort();                       /* a read wider than asked */
    }
    if (dev_harness_stopped(&t.dh) && atomic_load(&t.dh.stop_why) != VM_STOP_RESET)
        abort();
    virtio_blk_destroy(blk);
    virtio_rng_destroy(rng);
    vt_destroy(&t);
    return 0;
}
