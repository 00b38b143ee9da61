/* The VGA model's state, shared by its registers (hw/vga.c) and its
 * drawing (hw/vga_render.c). */
#ifndef HOSTEL_VGA_PRIV_H
#define HOSTEL_VGA_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/pci.h"
#include "hw/vga.h"

#define VGA_PAGES (VGA_VRAM_SIZE / 4096u)
#define VGA_MAX_COLS 132
#define VGA_MAX_ROWS 60

struct vga {
    pthread_mutex_t lock;        /* registers; the framebuffer bytes are not locked */
    struct pci_device pci;
    struct bus *pio;
    const struct guest_mem *mem;
    struct display *display;
    bool ports_vga, ports_vbe, on_bus, source_set;
    uint8_t font[VGA_FONT_SIZE];
    bool have_font;

    /* Guest-visible state. */
    uint8_t misc;                /* miscellaneous output */
    uint8_t seq_index, seq[8];
    uint8_t gc_index, gc[16];
    uint8_t crtc_index, crtc[32];
    uint8_t attr_index, attr[32];
    bool attr_flip;              /* the next 0x3c0 write is data */
    uint8_t dac_read, dac_write, dac_sub, dac_state, pel_mask;
    uint8_t palette[768];        /* 256 x (R, G, B), 6 bits each (8 with VBE_8BIT_DAC) */
    uint8_t st1_toggle;          /* input status 1: retrace bits toggle on reads */
    uint16_t vbe_index, vbe[VBE_NREGS];
    uint32_t qext_endian;        /* QEMU extension: framebuffer byte order register */
    uint8_t *vram;

    /* Drawing state: what the picture shows now, to redraw only changes. */
    uint64_t dirty[VGA_PAGES / 64];   /* framebuffer pages written (atomics) */
    unsigned palette_gen, mode_gen;   /* bumped on palette or mode register writes */
    unsigned drawn_palette_gen, drawn_mode_gen;
    int drawn_kind;                   /* 0 none, 1 text, 2 VBE, 3 mode 13h, 4 blank */
    uint16_t cells[VGA_MAX_COLS * VGA_MAX_ROWS];
    int cursor_col, cursor_row, cursor_top, cursor_bottom;   /* as drawn; -1: none */
    uint8_t *low_shadow;              /* mode 13h: the 64000 bytes as drawn */
};

/* hw/vga_render.c: the display source (display_source_ops.refresh). */
void vga_refresh(void *opaque, struct display *d, bool full);

static inline void vga_mark_dirty(struct vga *v, uint64_t off, uint64_t len)
{
    if (!len || off >= VGA_VRAM_SIZE)
        return;
    uint64_t last = off + len - 1 < VGA_VRAM_SIZE ? off + len - 1 : VGA_VRAM_SIZE - 1;
    for (uint64_t pg = off >> 12; pg <= last >> 12; pg++) {
        uint64_t bit = 1ULL << (pg & 63);
        if (!(__atomic_load_n(&v->dirty[pg >> 6], __ATOMIC_RELAXED) & bit))
            __atomic_fetch_or(&v->dirty[pg >> 6], bit, __ATOMIC_RELEASE);
    }
}

#endif
