/* Drawing the VGA's picture into the display, on a viewer's request: only
 * the text cells, framebuffer lines or mode 13h lines the guest changed
 * since the last picture, so an idle screen costs a comparison of its text
 * cells (4000 bytes) or a look at an empty bitmap. */
#include <stdlib.h>
#include <string.h>

#include "host/display.h"
#include "hw/vga_priv.h"

enum { KIND_NONE, KIND_TEXT, KIND_VBE, KIND_13H, KIND_BLANK };

static int current_kind(const struct vga *v)
{
    if (v->vbe[VBE_ENABLE] & VBE_ENABLED)
        return KIND_VBE;
    if (!(v->gc[6] & 1))
        return KIND_TEXT;
    if (v->seq[4] & 8)
        return KIND_13H;
    return KIND_BLANK;
}

/* A DAC entry as 0x00RRGGBB: 6-bit entries are widened to 8 bits. */
static uint32_t dac_rgb(const struct vga *v, unsigned i, bool eight_bit)
{
    const uint8_t *p = &v->palette[(i & 0xff) * 3];
    uint32_t r = p[0], g = p[1], b = p[2];
    if (!eight_bit) {
        r = (r & 0x3f) << 2 | (r & 0x3f) >> 4;
        g = (g & 0x3f) << 2 | (g & 0x3f) >> 4;
        b = (b & 0x3f) << 2 | (b & 0x3f) >> 4;
    }
    return r << 16 | g << 8 | b;
}

/* The 16 text colours: attribute palette, colour select, then the DAC. */
static void text_colours(const struct vga *v, uint32_t out[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned idx;
        if (v->attr[0x10] & 0x80)
            idx = (v->attr[i] & 0x0f) | (unsigned)(v->attr[0x14] & 0x0f) << 4;
        else
            idx = (v->attr[i] & 0x3f) | (unsigned)(v->attr[0x14] & 0x0c) << 4;
        out[i] = dac_rgb(v, idx & v->pel_mask, false);
    }
}

static void text_geometry(const struct vga *v, int *cols, int *rows, int *ch)
{
    int c = v->crtc[1] + 1;
    int h = (v->crtc[9] & 0x1f) + 1;
    int vde = v->crtc[0x12] | (v->crtc[7] & 0x02) << 7 | (v->crtc[7] & 0x40) << 3;
    int r = (vde + 1) / h;
    *cols = c < 1 ? 1 : c > VGA_MAX_COLS ? VGA_MAX_COLS : c;
    *rows = r < 1 ? 1 : r > VGA_MAX_ROWS ? VGA_MAX_ROWS : r;
    *ch = h;
}

void vga_text_size(struct vga *v, int *cols, int *rows)
{
    int ch;
    pthread_mutex_lock(&v->lock);
    text_geometry(v, cols, rows, &ch);
    pthread_mutex_unlock(&v->lock);
}

static void draw_cell(const struct vga *v, uint32_t *px, int stride, int col, int row, int ch,
                      uint16_t cell, const uint32_t colours[16], int cur_top, int cur_bottom)
{
    uint8_t c = (uint8_t)cell, a = (uint8_t)(cell >> 8);
    uint32_t fg = colours[a & 0x0f];
    uint32_t bg = colours[(v->attr[0x10] & 0x08) ? (a >> 4) & 7 : a >> 4];
    uint32_t *p = px + (size_t)row * ch * stride + (size_t)col * 8;
    for (int y = 0; y < ch; y++, p += stride) {
        uint8_t bits;
        if (!v->have_font)
            bits = (c != ' ' && c != 0 && y > 1 && y < ch - 2) ? 0x7e : 0;  /* a box */
        else
            bits = y < 16 ? v->font[c * 16 + y] : 0;
        if (y >= cur_top && y <= cur_bottom)
            bits = 0xff;
        for (int x = 0; x < 8; x++)
            p[x] = (bits & (0x80 >> x)) ? fg : bg;
    }
}

static void refresh_text(struct vga *v, struct display *d, bool full)
{
    int cols, rows, ch;
    text_geometry(v, &cols, &rows, &ch);
    if (display_resize(d, cols * 8, rows * ch) < 0)
        return;
    int w, h, stride;
    uint32_t *px = display_pixels(d, &w, &h, &stride);
    if (w != cols * 8 || h != rows * ch)
        full = true;   /* the picture was resized: every cell is new */
    uint32_t colours[16];
    text_colours(v, colours);
    const uint8_t *mem = mem_ptr(v->mem, VGA_TEXT_BASE, 0x8000);
    unsigned start = (unsigned)v->crtc[0x0c] << 8 | v->crtc[0x0d];
    int cursor = ((int)v->crtc[0x0e] << 8 | v->crtc[0x0f]) - (int)start;
    int cur_col = -1, cur_row = -1, cur_top = v->crtc[0x0a] & 0x1f,
        cur_bottom = v->crtc[0x0b] & 0x1f;
    if (!(v->crtc[0x0a] & 0x20) && cursor >= 0 && cursor < cols * rows && cur_top <= cur_bottom) {
        cur_col = cursor % cols;
        cur_row = cursor / cols;
    }
    bool cursor_moved = cur_col != v->cursor_col || cur_row != v->cursor_row ||
                        cur_top != v->cursor_top || cur_bottom != v->cursor_bottom;
    for (int r = 0; r < rows; r++) {
        int lo = -1, hi = -1;
        for (int c = 0; c < cols; c++) {
            unsigned off = ((start + (unsigned)(r * cols + c)) * 2) & 0x7fff;
            uint16_t cell = mem ? (uint16_t)(mem[off] | mem[off + 1] << 8) : 0x0720;
            uint16_t *shadow = &v->cells[r * cols + c];
            bool is_cursor = r == cur_row && c == cur_col;
            bool was_cursor = r == v->cursor_row && c == v->cursor_col;
            if (!full && *shadow == cell && !((is_cursor || was_cursor) && cursor_moved))
                continue;
            *shadow = cell;
            draw_cell(v, px, stride, c, r, ch, cell, colours, is_cursor ? cur_top : ch,
                      is_cursor ? cur_bottom : -1);
            if (lo < 0)
                lo = c;
            hi = c;
        }
        if (lo >= 0)
            display_damage(d, lo * 8, r * ch, (hi - lo + 1) * 8, ch);
    }
    v->cursor_col = cur_col;
    v->cursor_row = cur_row;
    v->cursor_top = cur_top;
    v->cursor_bottom = cur_bottom;
}

static unsigned vbe_bytes(unsigned bpp)
{
    return bpp == 15 ? 2 : (bpp + 7) / 8;
}

static void vbe_line(const struct vga *v, uint32_t *dst, const uint8_t *src, int width,
                     unsigned bpp)
{
    bool dac8 = v->vbe[VBE_ENABLE] & VBE_8BIT_DAC;
    for (int x = 0; x < width; x++) {
        uint32_t p;
        switch (bpp) {
        case 32: p = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16; src += 4; break;
        case 24: p = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16; src += 3; break;
        case 16: {
            unsigned s = src[0] | src[1] << 8;
            src += 2;
            uint32_t r = (s >> 11) & 31, g = (s >> 5) & 63, b = s & 31;
            p = (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
            break;
        }
        case 15: {
            unsigned s = src[0] | src[1] << 8;
            src += 2;
            uint32_t r = (s >> 10) & 31, g = (s >> 5) & 31, b = s & 31;
            p = (r << 3 | r >> 2) << 16 | (g << 3 | g >> 2) << 8 | (b << 3 | b >> 2);
            break;
        }
        default: p = dac_rgb(v, *src++, dac8); break;
        }
        dst[x] = p;
    }
}

static void refresh_vbe(struct vga *v, struct display *d, bool full)
{
    int xres = v->vbe[VBE_XRES], yres = v->vbe[VBE_YRES];
    unsigned bpp = v->vbe[VBE_BPP], bytes = vbe_bytes(bpp);
    if (display_resize(d, xres, yres) < 0)
        return;
    int w, h, stride;
    uint32_t *px = display_pixels(d, &w, &h, &stride);
    uint64_t pitch = (uint64_t)v->vbe[VBE_VIRT_WIDTH] * bytes;
    uint64_t start = (uint64_t)v->vbe[VBE_Y_OFFSET] * pitch + (uint64_t)v->vbe[VBE_X_OFFSET] * bytes;
    if (pitch < (uint64_t)xres * bytes ||
        start + (uint64_t)(yres - 1) * pitch + (uint64_t)xres * bytes > VGA_VRAM_SIZE) {
        /* Lines overlapping, or panned past the memory: a black picture. */
        memset(px, 0, (size_t)w * (size_t)h * sizeof(*px));
        display_damage(d, 0, 0, w, h);
        return;
    }
    uint64_t pages[VGA_PAGES / 64];
    bool any = false;
    for (unsigned i = 0; i < VGA_PAGES / 64; i++) {
        pages[i] = __atomic_exchange_n(&v->dirty[i], 0, __ATOMIC_ACQUIRE);
        any |= pages[i] != 0;
    }
    if (!full && !any)
        return;
    uint8_t *lines = calloc((size_t)yres, 1);
    if (!lines)
        return;
    if (full) {
        memset(lines, 1, (size_t)yres);
    } else {
        for (unsigned pg = 0; pg < VGA_PAGES; pg++) {
            if (!(pages[pg >> 6] & (1ULL << (pg & 63))))
                continue;
            uint64_t lo = (uint64_t)pg << 12, hi = lo + 4095;
            if (hi < start)
                continue;
            uint64_t first = lo < start ? 0 : (lo - start) / pitch;
            uint64_t last = (hi - start) / pitch;
            for (uint64_t y = first; y <= last && y < (uint64_t)yres; y++)
                lines[y] = 1;
        }
    }
    for (int y = 0; y < yres; y++) {
        if (!lines[y])
            continue;
        int y0 = y;
        while (y < yres && lines[y]) {
            vbe_line(v, px + (size_t)y * stride, v->vram + start + (uint64_t)y * pitch, xres, bpp);
            y++;
        }
        display_damage(d, 0, y0, xres, y - y0);
    }
    free(lines);
}

/* Mode 13h: 320x200, a byte per pixel, in guest RAM at 0xA0000. */
static void refresh_13h(struct vga *v, struct display *d, bool full)
{
    if (display_resize(d, 320, 200) < 0)
        return;
    int stride;
    uint32_t *px = display_pixels(d, NULL, NULL, &stride);
    const uint8_t *mem = mem_ptr(v->mem, VGA_LOW_BASE, 64000);
    if (!mem)
        return;
    for (int y = 0; y < 200; y++) {
        const uint8_t *src = mem + y * 320;
        if (!full && !memcmp(src, v->low_shadow + y * 320, 320))
            continue;
        memcpy(v->low_shadow + y * 320, src, 320);
        for (int x = 0; x < 320; x++)
            px[(size_t)y * stride + x] = dac_rgb(v, v->low_shadow[y * 320 + x] & v->pel_mask, false);
        display_damage(d, 0, y, 320, 1);
    }
}

static void refresh_blank(struct display *d, bool full)
{
    if (display_resize(d, 640, 480) < 0 || !full)
        return;
    int w, h;
    uint32_t *px = display_pixels(d, &w, &h, NULL);
    memset(px, 0, (size_t)w * (size_t)h * sizeof(*px));
    display_damage(d, 0, 0, w, h);
}

void vga_refresh(void *opaque, struct display *d, bool full)
{
    struct vga *v = opaque;
    pthread_mutex_lock(&v->lock);
    int kind = current_kind(v);
    if (kind != v->drawn_kind || v->palette_gen != v->drawn_palette_gen)
        full = true;
    /* Text mode follows its registers cell by cell (the cursor and the
     * start address move all the time); the others redraw on a change. */
    if (kind != KIND_TEXT && v->mode_gen != v->drawn_mode_gen)
        full = true;
    v->drawn_kind = kind;
    v->drawn_palette_gen = v->palette_gen;
    v->drawn_mode_gen = v->mode_gen;
    switch (kind) {
    case KIND_TEXT: refresh_text(v, d, full); break;
    case KIND_VBE: refresh_vbe(v, d, full); break;
    case KIND_13H: refresh_13h(v, d, full); break;
    default: refresh_blank(d, full); break;
    }
    pthread_mutex_unlock(&v->lock);
}
