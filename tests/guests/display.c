/* display: waits for a key from the PS/2 keyboard (a VNC viewer types it)
 * with the screen as the firmware left it, then draws a known picture in
 * VGA text mode, waits for a second key, then sets a Bochs VBE mode (its
 * framebuffer BAR where the firmware put it, or placed by the guest when
 * booted without firmware) and draws a known pattern, and exits after a
 * third key.  Every byte the keyboard sends is printed on the serial port,
 * so tests/display/ checks the pixels a viewer receives and the keys the
 * guest receives. */
#include "lib/guest.h"

#define FB_ADDR   0xe0000000u
#define VBE_W     320
#define VBE_H     200

static void cfg_write32(int dev, int off, uint32_t v)
{
    outl(0xcf8, 0x80000000u | (uint32_t)dev << 11 | (uint32_t)off);
    outl(0xcfc, v);
}

static uint32_t cfg_read32(int dev, int off)
{
    outl(0xcf8, 0x80000000u | (uint32_t)dev << 11 | (uint32_t)off);
    return inl(0xcfc);
}

static void vbe(uint16_t index, uint16_t value)
{
    outw(0x1ce, index);
    outw(0x1cf, value);
}

static void put_text(int row, int col, const char *s, uint8_t attr)
{
    volatile uint16_t *text = (volatile uint16_t *)0xb8000;
    for (; *s; s++, col++)
        text[row * 80 + col] = (uint16_t)((uint8_t)*s | attr << 8);
}

/* Waits for a key press (a make code) and prints every byte on the way. */
static uint8_t wait_key(void)
{
    for (;;) {
        while (!(inb(0x64) & 1))
            cpu_pause();
        uint8_t b = inb(0x60);
        gprintf("display: key %02x\n", b);
        if (b != 0xe0 && b != 0xf0)
            return b;
        if (b == 0xf0) {                 /* a break code: skip its key */
            while (!(inb(0x64) & 1))
                cpu_pause();
            gprintf("display: key %02x\n", inb(0x60));
        }
    }
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("display: waiting for a key\n");
    uint8_t k = wait_key();
    gprintf("display: key before drawing %02x\n", k);
    volatile uint16_t *text = (volatile uint16_t *)0xb8000;
    for (int i = 0; i < 80 * 25; i++)
        text[i] = 0x0720;
    put_text(0, 0, "HOSTEL DISPLAY TEST", 0x1f);
    put_text(2, 4, "text mode: 0123456789 abcxyz", 0x07);
    put_text(24, 70, "bottom", 0x4e);
    outw(0x3d4, 0x0e | 0 << 8);          /* the cursor to row 3, column 0 */
    outw(0x3d4, 0x0f | 240 << 8);
    gprintf("display: text ready\n");
    k = wait_key();
    gprintf("display: key after text %02x\n", k);

    int slot = -1;
    for (int dev = 0; dev < 32 && slot < 0; dev++)
        if (cfg_read32(dev, 0) == 0x11111234u)
            slot = dev;
    if (slot < 0)
        fail(1, "no VGA 1234:1111 on PCI bus 0");
    uint32_t bar = cfg_read32(slot, 0x10) & ~0xfu;
    if (!bar) {                          /* no firmware placed it */
        bar = FB_ADDR;
        cfg_write32(slot, 0x10, bar);
    }
    cfg_write32(slot, 0x04, 0x0003);     /* memory and I/O decoding */
    outw(0x1ce, 0);
    uint16_t id = inw(0x1cf);
    gprintf("display: vbe id %04x at slot %d, framebuffer %x\n", id, slot, bar);
    vbe(4, 0);                           /* disable */
    vbe(1, VBE_W);
    vbe(2, VBE_H);
    vbe(3, 32);
    vbe(4, 0x41);                        /* enabled, linear framebuffer */
    volatile uint32_t *fb = (volatile uint32_t *)(uintptr_t)bar;
    for (uint32_t y = 0; y < VBE_H; y++)
        for (uint32_t x = 0; x < VBE_W; x++)
            fb[y * VBE_W + x] = (x & 0xff) << 16 | (y & 0xff) << 8 | ((x ^ y) & 0xff);
    gprintf("display: vbe ready\n");
    k = wait_key();
    gprintf("display: key after vbe %02x\n", k);
    gprintf("display: ok\n");
}
