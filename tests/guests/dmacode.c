/* dmacode: a virtio-blk read (device DMA) overwrites code the CPU has run
 * often enough for emu to translate it.  The disk (made by run_guests.sh)
 * holds in sector k the routine "mov $(0x5a000000 + k), %eax; ret".  A
 * minimal modern virtio-pci driver (no interrupts: it polls the used ring)
 * reads sectors into the page that holds the routine, again and again, and
 * each call after a read must run the code the device wrote. */
#include "lib/cpu64.h"
#include "lib/virtio_blk_min.h"

static struct vring vr;
static struct vblk blk;
static struct { uint32_t type, reserved; uint64_t sector; } req;
static volatile uint8_t status;

/* The routine the CPU runs and the device overwrites, in a page of its own. */
static uint8_t code_page[4096] __attribute__((aligned(4096)));

typedef uint32_t (*fn)(void);
static const fn routine = (fn)(uintptr_t)code_page;

/* Reads one sector into code_page through the device and waits for it,
 * running the routine meanwhile: it must return what was there before or
 * what the device writes (once the device is done, only that). */
static void read_sector(uint64_t sector, uint32_t before)
{
    req.type = 0;                            /* VIRTIO_BLK_T_IN */
    req.sector = sector;
    status = 0xff;
    vr.desc[0] = (struct vdesc){ (uint64_t)(uintptr_t)&req, 16, 1, 1 };
    vr.desc[1] = (struct vdesc){ (uint64_t)(uintptr_t)code_page, 512, 2 | 1, 2 };
    vr.desc[2] = (struct vdesc){ (uint64_t)(uintptr_t)&status, 1, 2, 0 };
    vblk_submit(&blk, 0);
    for (unsigned long spin = 0; *(volatile uint16_t *)&vr.used.idx != blk.next_used; spin++) {
        uint32_t r = routine();
        if (r != before && r != 0x5a000000u + sector)
            fail(10, "while sector %lu is read over it, the routine returned %x", sector, r);
        if (spin > 200000000ul)
            fail(6, "virtio-blk: no answer to the read of sector %lu", sector);
    }
    if (status != 0)
        fail(7, "virtio-blk: read of sector %lu failed with status %u", sector, status);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("dmacode: start\n");
    vblk_setup(&blk, &vr);

    /* First the CPU writes the routine itself. */
    static const uint8_t own[] = { 0xb8, 0x11, 0x11, 0x11, 0x11, 0xc3 };
    memcpy(code_page, own, sizeof(own));
    for (int k = 0; k < 200; k++)
        if (routine() != 0x11111111u)
            fail(8, "the routine the CPU wrote returned %x", routine());

    /* Then the device overwrites it, sector after sector; each version is
     * run enough times to be translated before the next read. */
    uint32_t before = 0x11111111u;
    for (unsigned round = 0; round < 300; round++) {
        uint64_t sector = round % 7;
        read_sector(sector, before);
        before = 0x5a000000u + (uint32_t)sector;
        for (int k = 0; k < 100; k++) {
            uint32_t r = routine();
            if (r != 0x5a000000u + sector)
                fail(9, "round %u, call %d after reading sector %lu: the routine returned %x, "
                     "the disk holds %x", round, k, sector, r, 0x5a000000u + (uint32_t)sector);
        }
    }
    gprintf("dma into code: 300 reads ok\n");
    gprintf("dmacode: ok\n");
}
