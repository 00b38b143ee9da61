/* Unit tests for the VGA with the Bochs VBE extension (hw/vga.h) and the
 * display it draws on: PCI identity, VBE registers, text mode and
 * framebuffer drawing, dirty tracking (an idle screen redraws nothing), the
 * palette, snapshots, and the VGA BIOS font finder. */
#include <stdlib.h>

#include "check.h"
#include "dev_harness.h"
#include "host/display.h"
#include "hw/pci.h"
#include "hw/vga.h"
#include "lib/err.h"
#include "lib/state.h"
#include "board/layout.h"

#define FB 0xe0000000ULL

static struct dev_harness dh;
static struct pci_bus *pbus;
static struct display *disp;
static struct vga *vga;
static uint8_t font[VGA_FONT_SIZE];
static int slot;

static uint32_t cfg_addr(unsigned s, unsigned reg) { return 0x80000000u | s << 11 | (reg & 0xfc); }
static uint32_t cfg_read(unsigned s, unsigned reg)
{
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, cfg_addr(s, reg));
    return (uint32_t)pio_in(&dh, PORT_PCI_CONFIG_DATA, 4);
}
static void cfg_write(unsigned s, unsigned reg, uint32_t v)
{
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, cfg_addr(s, reg));
    pio_out(&dh, PORT_PCI_CONFIG_DATA, 4, v);
}
static void vbe_set(uint16_t index, uint16_t v) { pio_out(&dh, 0x1ce, 2, index); pio_out(&dh, 0x1cf, 2, v); }
static uint16_t vbe_get(uint16_t index) { pio_out(&dh, 0x1ce, 2, index); return (uint16_t)pio_in(&dh, 0x1cf, 2); }
static void fb_write32(uint64_t off, uint32_t v) { bus_write(&dh.mmio, FB + off, 4, v); }

/* Each glyph's rows are its own code: glyph 0x48 ('H') is 0x48 on every row. */
static void make_font(void)
{
    for (int c = 0; c < 256; c++)
        memset(font + c * 16, c, 16);
}

static void setup(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(dev_harness_mem(&dh, 2 << 20), 0);
    struct pci_host_wiring w = {
        .pio = &dh.pio, .mmio = &dh.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&dh, PCI_IRQ_A), dev_harness_line(&dh, PCI_IRQ_B) },
        .msi = dev_harness_msi(&dh), .reset = dev_harness_stop(&dh),
    };
    CHECK_EQ(pci_bus_create(&w, &pbus), 0);
    CHECK_EQ(display_create(&disp), 0);
    make_font();
    struct vga_wiring vw = { .pio = &dh.pio, .pci = pbus, .mem = &dh.mem, .display = disp,
                             .font = font };
    CHECK_EQ(vga_create(&vw, &vga), 0);
    slot = vga_slot(vga);
}

static void teardown(void)
{
    vga_destroy(vga);
    display_destroy(disp);
    pci_bus_destroy(pbus);
    dev_harness_destroy(&dh);
}

static struct display_rect refresh(bool full)
{
    display_lock(disp);
    struct display_rect r = display_refresh(disp, full);
    display_unlock(disp);
    return r;
}

static uint32_t px(int x, int y)
{
    int w, h, stride;
    uint32_t *p = display_pixels(disp, &w, &h, &stride);
    return p[y * stride + x];
}

static void map_framebuffer(void)
{
    cfg_write((unsigned)slot, 0x10, (uint32_t)FB);
    cfg_write((unsigned)slot, 0x04, 0x3);
}

static void vga_pci_identity(void)
{
    setup();
    CHECK_EQ(cfg_read((unsigned)slot, 0x00), 0x11111234u);
    CHECK_EQ(cfg_read((unsigned)slot, 0x08) >> 8, 0x030000u);        /* VGA-compatible display */
    CHECK_EQ(cfg_read((unsigned)slot, 0x2c), 0x11001af4u);
    cfg_write((unsigned)slot, 0x10, 0xffffffffu);
    CHECK_EQ(cfg_read((unsigned)slot, 0x10), 0xff000008u);            /* 16 MiB, prefetchable */
    cfg_write((unsigned)slot, 0x18, 0xffffffffu);
    CHECK_EQ(cfg_read((unsigned)slot, 0x18), 0xfffff000u);            /* 4 KiB of registers */
    teardown();
}

static void vga_vbe_registers(void)
{
    setup();
    CHECK_EQ(vbe_get(0), 0xb0c5);
    vbe_set(0, 0xb0c0);
    CHECK_EQ(vbe_get(0), 0xb0c0);                                     /* the ID handshake */
    vbe_set(0, 0x1234);
    CHECK_EQ(vbe_get(0), 0xb0c0);                                     /* not an ID: kept */
    CHECK_EQ(vbe_get(10), (VGA_VRAM_SIZE >> 16));
    vbe_set(4, 0x02);                                                 /* GETCAPS */
    CHECK_EQ(vbe_get(1), VBE_MAX_XRES);
    CHECK_EQ(vbe_get(2), VBE_MAX_YRES);
    CHECK_EQ(vbe_get(3), 32);
    vbe_set(4, 0);
    vbe_set(1, 640);
    vbe_set(2, 480);
    vbe_set(3, 32);
    vbe_set(4, 0x41);
    CHECK_EQ(vbe_get(4), 0x41);
    CHECK_EQ(vbe_get(6), 640);
    CHECK_EQ(vbe_get(7), (VGA_VRAM_SIZE / (640 * 4)));
    vbe_set(1, 800);                                                  /* ignored while enabled */
    CHECK_EQ(vbe_get(1), 640);
    vbe_set(4, 0);
    vbe_set(3, 12);                                                   /* no such depth */
    vbe_set(4, 0x41);
    CHECK_EQ(vbe_get(4) & 1, 0);                                      /* stays off */
    vbe_set(3, 32);
    vbe_set(1, 4000);                                                 /* too wide */
    vbe_set(4, 0x41);
    CHECK_EQ(vbe_get(4) & 1, 0);
    /* The same registers in BAR 2, and the QEMU extension's size. */
    cfg_write((unsigned)slot, 0x18, 0xd0000000u);
    cfg_write((unsigned)slot, 0x04, 0x2);
    uint64_t v = 0;
    CHECK_EQ(bus_read(&dh.mmio, 0xd0000500, 2, &v), 0);
    CHECK_EQ(v, 0xb0c0);
    bus_write(&dh.mmio, 0xd0000502, 2, 1024);
    CHECK_EQ(vbe_get(1), 1024);
    CHECK_EQ(bus_read(&dh.mmio, 0xd0000600, 4, &v), 0);
    CHECK_EQ(v, 8);
    teardown();
}

static void vga_text_mode_draws_and_tracks_cells(void)
{
    setup();
    uint16_t *text = mem_ptr(&dh.mem, 0xb8000, 4000);
    for (int i = 0; i < 2000; i++)
        text[i] = 0x0720;
    text[0] = 0x1f48;                                                 /* 'H', white on blue */
    /* The cursor (mode 3: lines 13-14) to row 1, column 0. */
    pio_out(&dh, 0x3d4, 2, 0x0e | 0x00 << 8);
    pio_out(&dh, 0x3d4, 2, 0x0f | 80 << 8);
    struct display_rect r = refresh(false);
    int w, h;
    display_pixels(disp, &w, &h, NULL);
    CHECK_EQ(w, 640);
    CHECK_EQ(h, 400);
    CHECK_EQ(r.w, 640);
    CHECK_EQ(r.h, 400);
    /* 'H' is 0x48 = .#..#...: white where the bits are, blue elsewhere. */
    for (int x = 0; x < 8; x++)
        CHECK_EQ(px(x, 5), (0x48 & (0x80 >> x)) ? 0xffffffu : 0x0000aau);
    CHECK_EQ(px(8, 5), 0);                                            /* a space: black */
    CHECK_EQ(px(3, 16 + 13), 0xaaaaaau);                              /* the cursor, grey */
    CHECK_EQ(px(3, 16 + 12), 0);
    /* Nothing changed: nothing redrawn. */
    r = refresh(false);
    CHECK_EQ(r.w, 0);
    /* One cell changes: one cell is redrawn. */
    text[2 * 80 + 5] = 0x0741;
    r = refresh(false);
    CHECK_EQ(r.x, 40);
    CHECK_EQ(r.y, 32);
    CHECK_EQ(r.w, 8);
    CHECK_EQ(r.h, 16);
    /* The cursor moves: its old and new cells. */
    pio_out(&dh, 0x3d4, 2, 0x0f | 81 << 8);
    r = refresh(false);
    CHECK_EQ(r.x, 0);
    CHECK_EQ(r.y, 16);
    CHECK_EQ(r.w, 16);
    CHECK_EQ(r.h, 16);
    int cols, rows;
    vga_text_size(vga, &cols, &rows);
    CHECK_EQ(cols, 80);
    CHECK_EQ(rows, 25);
    /* The palette: DAC entry 1 (blue) made red redraws the picture. */
    pio_out(&dh, 0x3c8, 1, 1);
    pio_out(&dh, 0x3c9, 1, 0x3f);
    pio_out(&dh, 0x3c9, 1, 0);
    pio_out(&dh, 0x3c9, 1, 0);
    r = refresh(false);
    CHECK_EQ(r.w, 640);
    CHECK_EQ(px(0, 5), 0xff0000u);
    /* Cleared as a BIOS does: grey spaces, so the cursor shows anywhere. */
    vga_clear_text(vga);
    CHECK_EQ(text[1999], 0x0720);
    teardown();
}

static void vga_framebuffer_dirty_tracking(void)
{
    setup();
    map_framebuffer();
    vbe_set(1, 64);
    vbe_set(2, 32);
    vbe_set(3, 32);
    vbe_set(4, 0x41);
    struct display_rect r = refresh(false);
    CHECK_EQ(r.w, 64);
    CHECK_EQ(r.h, 32);
    CHECK_EQ(refresh(false).w, 0);                                    /* idle: nothing */
    fb_write32((10 * 64 + 5) * 4, 0x00123456);
    r = refresh(false);
    CHECK_EQ(px(5, 10), 0x123456u);
    /* A 4 KiB page holds 16 lines of 64 pixels: only those are redrawn. */
    CHECK_EQ(r.y, 0);
    CHECK_EQ(r.h, 16);
    CHECK_EQ(r.w, 64);
    fb_write32(64 * 32 * 4 + 4096, 1);                                /* off screen */
    CHECK_EQ(refresh(false).w, 0);
    /* Panning (Y offset) redraws everything; reads see what was written. */
    vbe_set(9, 1);
    r = refresh(false);
    CHECK_EQ(r.h, 32);
    CHECK_EQ(px(5, 9), 0x123456u);
    uint64_t v = 0;
    CHECK_EQ(bus_read(&dh.mmio, FB + (10 * 64 + 5) * 4, 4, &v), 0);
    CHECK_EQ(v, 0x123456);
    /* 16 bits a pixel: 565. */
    vbe_set(4, 0);
    vbe_set(3, 16);
    vbe_set(4, 0xc1);                                                 /* keep the memory */
    bus_write(&dh.mmio, FB, 2, 0xf800);
    refresh(false);
    CHECK_EQ(px(0, 0), 0xff0000u);
    /* 8 bits a pixel through the DAC. */
    vbe_set(4, 0);
    vbe_set(3, 8);
    vbe_set(4, 0xc1);
    bus_write(&dh.mmio, FB, 1, 5);
    pio_out(&dh, 0x3c8, 1, 5);
    pio_out(&dh, 0x3c9, 1, 0);
    pio_out(&dh, 0x3c9, 1, 0x3f);
    pio_out(&dh, 0x3c9, 1, 0);
    refresh(false);
    CHECK_EQ(px(0, 0), 0x00ff00u);
    teardown();
}

static void vga_snapshot_round_trip(void)
{
    setup();
    map_framebuffer();
    vbe_set(1, 64);
    vbe_set(2, 32);
    vbe_set(3, 32);
    vbe_set(4, 0x41);
    fb_write32(400, 0xabcdef);
    pio_out(&dh, 0x3c4, 2, 0x01 | 0x21 << 8);
    struct state_out o;
    state_out_init(&o);
    CHECK_EQ(vga_save(vga, &o), 0);
    CHECK(state_out_ok(&o));
    /* The state holds the framebuffer only up to its last non-zero byte. */
    CHECK(o.len < 2000);

    struct display *d2;
    struct vga *v2;
    CHECK_EQ(display_create(&d2), 0);
    struct bus pio2;
    bus_init(&pio2, "pio2");
    struct pci_bus *pb2;
    struct pci_host_wiring w = {
        .pio = &pio2, .mmio = &dh.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&dh, PCI_IRQ_A), dev_harness_line(&dh, PCI_IRQ_B) },
        .msi = dev_harness_msi(&dh), .reset = dev_harness_stop(&dh),
    };
    /* A second machine's buses: the first's BARs are unmapped first. */
    cfg_write((unsigned)slot, 0x04, 0);
    CHECK_EQ(pci_bus_create(&w, &pb2), 0);
    struct vga_wiring vw = { .pio = &pio2, .pci = pb2, .mem = &dh.mem, .display = d2,
                             .font = font };
    CHECK_EQ(vga_create(&vw, &v2), 0);
    struct state_in in;
    struct err e = ERR_INIT;
    /* Cut short: refused, the device untouched. */
    state_in_init(&in, o.data, 100);
    CHECK(vga_load(v2, &in, &e) < 0);
    CHECK(strstr(e.msg, "cut short") != NULL);
    e = (struct err)ERR_INIT;
    state_in_init(&in, o.data, o.len);
    CHECK_EQ(vga_load(v2, &in, &e), 0);
    CHECK(state_in_done(&in));
    uint64_t v = 0;
    CHECK_EQ(bus_read(&dh.mmio, FB + 400, 4, &v), 0);                 /* BAR placed as saved */
    CHECK_EQ(v, 0xabcdef);
    display_lock(d2);
    struct display_rect r = display_refresh(d2, false);
    int w2, h2, stride;
    uint32_t *p = display_pixels(d2, &w2, &h2, &stride);
    CHECK_EQ(w2, 64);
    CHECK_EQ(r.h, 32);
    CHECK_EQ(p[100], 0xabcdefu);
    display_unlock(d2);
    /* A damaged register index is refused. */
    uint8_t *bad = malloc(o.len);
    memcpy(bad, o.data, o.len);
    bad[256 + 1] = 9;                                                 /* sequencer index */
    e = (struct err)ERR_INIT;
    state_in_init(&in, bad, o.len);
    CHECK(vga_load(v2, &in, &e) < 0);
    CHECK(strstr(e.msg, "index") != NULL);
    free(bad);
    vga_destroy(v2);
    pci_bus_destroy(pb2);
    bus_destroy(&pio2);
    display_destroy(d2);
    state_out_free(&o);
    teardown();
}

static void vga_finds_the_bios_font(void)
{
    static uint8_t rom[8192];
    memset(rom, 0x55, sizeof(rom));
    uint8_t *f = rom + 1000;
    memset(f, 0, VGA_FONT_SIZE);
    static const uint8_t a[16] = { 0, 0, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6,
                                   0xc6, 0, 0, 0, 0 };
    memcpy(f + 0x41 * 16, a, 16);
    CHECK(vga_find_font(rom, sizeof(rom)) == NULL);                   /* no solid block */
    memset(f + 0xdb * 16, 0xff, 16);
    CHECK(vga_find_font(rom, sizeof(rom)) == f);
    CHECK(vga_find_font(rom, 1500) == NULL);                          /* cut short */
}

int main(void)
{
    RUN_TEST(vga_pci_identity);
    RUN_TEST(vga_vbe_registers);
    RUN_TEST(vga_text_mode_draws_and_tracks_cells);
    RUN_TEST(vga_framebuffer_dirty_tracking);
    RUN_TEST(vga_snapshot_round_trip);
    RUN_TEST(vga_finds_the_bios_font);
    return CHECK_DONE();
}
