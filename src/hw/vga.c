/* The standard VGA with the Bochs VBE extension: its registers at the
 * legacy ports and in BAR 2, the framebuffer in BAR 0, its PCI identity and
 * its snapshot state.  Drawing is in hw/vga_render.c. */
#include "hw/vga.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/display.h"
#include "hw/pci.h"
#include "hw/vga_priv.h"
#include "lib/err.h"
#include "lib/state.h"

/* BAR 2's layout (QEMU's "stdvga" with its MMIO BAR, which Linux's bochs
 * driver prefers to ports). */
#define MMIO_VGA      0x400     /* ports 0x3c0-0x3df, byte-wide */
#define MMIO_VBE      0x500     /* dispi registers, 16 bits each */
#define MMIO_QEXT     0x600     /* QEMU extension: its size, then byte order */
#define QEXT_SIZE     8
#define QEXT_LITTLE   0x1e1e1e1e
#define QEXT_BIG      0xbebebebe

/* Mode 3 (80x25 colour text), as the VGA BIOS leaves it: a kernel started
 * without firmware finds the card ready for vgacon. */
static const uint8_t mode3_seq[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_gc[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_crtc[25] = {
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00,
    0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
};
static const uint8_t mode3_attr[21] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
    0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00,
};

/* The EGA's 64 colours in the DAC's first 64 entries (6 bits each): what
 * the attribute palette above points at. */
static void default_palette(struct vga *v)
{
    for (int i = 0; i < 64; i++) {
        uint8_t r = (uint8_t)(((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15);
        uint8_t g = (uint8_t)(((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15);
        uint8_t b = (uint8_t)((i & 1) * 0x2a + ((i >> 3) & 1) * 0x15);
        v->palette[i * 3] = r;
        v->palette[i * 3 + 1] = g;
        v->palette[i * 3 + 2] = b;
    }
}

static void reset_registers(struct vga *v)
{
    v->misc = 0x67;
    memcpy(v->seq, mode3_seq, sizeof(mode3_seq));
    memcpy(v->gc, mode3_gc, sizeof(mode3_gc));
    memcpy(v->crtc, mode3_crtc, sizeof(mode3_crtc));
    memcpy(v->attr, mode3_attr, sizeof(mode3_attr));
    v->pel_mask = 0xff;
    default_palette(v);
    v->vbe[VBE_ID] = VBE_ID5;
    v->vbe[VBE_XRES] = 1024;
    v->vbe[VBE_YRES] = 768;
    v->vbe[VBE_BPP] = 32;
    v->vbe[VBE_VIRT_WIDTH] = 1024;
    v->vbe[VBE_VIRT_HEIGHT] = 768;
    v->vbe[VBE_VIDEO_MEMORY_64K] = (uint16_t)(VGA_VRAM_SIZE >> 16);
    v->qext_endian = QEXT_LITTLE;
}

/* ---- VGA ports ------------------------------------------------------------- */

static uint8_t vga_port_read(struct vga *v, unsigned port)
{
    switch (port) {
    case 0x3c0: return v->attr_index;
    case 0x3c1: return v->attr[v->attr_index & 0x1f];
    case 0x3c2: return 0;                                  /* input status 0 */
    case 0x3c4: return v->seq_index;
    case 0x3c5: return v->seq[v->seq_index & 7];
    case 0x3c6: return v->pel_mask;
    case 0x3c7: return v->dac_state;
    case 0x3c8: return v->dac_write;
    case 0x3c9: {
        uint8_t b = v->palette[v->dac_read * 3 + v->dac_sub];
        if (++v->dac_sub == 3) {
            v->dac_sub = 0;
            v->dac_read++;
        }
        return b;
    }
    case 0x3ca: return 0;                                  /* feature control */
    case 0x3cc: return v->misc;
    case 0x3ce: return v->gc_index;
    case 0x3cf: return v->gc[v->gc_index & 15];
    case 0x3d4: return v->crtc_index;
    case 0x3d5: return v->crtc_index < 25 ? v->crtc[v->crtc_index] : 0;
    case 0x3da:
        /* Input status 1: display-disabled and vertical-retrace bits that
         * toggle, so guests waiting for a retrace see one.  Resets the
         * attribute controller's flip-flop. */
        v->attr_flip = false;
        v->st1_toggle ^= 0x09;
        return v->st1_toggle;
    default: return 0xff;
    }
}

static void vga_port_write(struct vga *v, unsigned port, uint8_t b)
{
    switch (port) {
    case 0x3c0:
        if (!v->attr_flip) {
            v->attr_index = b & 0x3f;
        } else if ((v->attr_index & 0x1f) < 21) {
            v->attr[v->attr_index & 0x1f] = b;
            v->palette_gen++;
        }
        v->attr_flip = !v->attr_flip;
        break;
    case 0x3c2: v->misc = b; v->mode_gen++; break;
    case 0x3c4: v->seq_index = b & 7; break;
    case 0x3c5: v->seq[v->seq_index & 7] = b; v->mode_gen++; break;
    case 0x3c6: v->pel_mask = b; v->palette_gen++; break;
    case 0x3c7: v->dac_read = b; v->dac_sub = 0; v->dac_state = 0x00; break;
    case 0x3c8: v->dac_write = b; v->dac_sub = 0; v->dac_state = 0x03; break;
    case 0x3c9:
        v->palette[v->dac_write * 3 + v->dac_sub] = b;
        if (++v->dac_sub == 3) {
            v->dac_sub = 0;
            v->dac_write++;
        }
        v->palette_gen++;
        break;
    case 0x3ce: v->gc_index = b & 15; break;
    case 0x3cf: v->gc[v->gc_index & 15] = b; v->mode_gen++; break;
    case 0x3d4: v->crtc_index = b & 0x1f; break;
    case 0x3d5:
        if (v->crtc_index < 25) {
            /* Registers 0-7 are locked by bit 7 of register 0x11, except
             * bit 4 of register 7 (line compare), as on the real chip. */
            if (v->crtc_index <= 7 && (v->crtc[0x11] & 0x80)) {
                if (v->crtc_index == 7)
                    v->crtc[7] = (uint8_t)((v->crtc[7] & ~0x10) | (b & 0x10));
                break;
            }
            v->crtc[v->crtc_index] = b;
            v->mode_gen++;
        }
        break;
    default: break;
    }
}

/* ---- VBE (dispi) ----------------------------------------------------------- */

static unsigned bytes_per_pixel(unsigned bpp)
{
    return bpp == 15 ? 2 : (bpp + 7) / 8;
}

/* Virtual height follows from the width and the memory. */
static void vbe_update_virtual(struct vga *v)
{
    unsigned bpp = bytes_per_pixel(v->vbe[VBE_BPP] ? v->vbe[VBE_BPP] : 8);
    unsigned width = v->vbe[VBE_VIRT_WIDTH] ? v->vbe[VBE_VIRT_WIDTH] : 1;
    uint64_t lines = VGA_VRAM_SIZE / ((uint64_t)width * bpp);
    v->vbe[VBE_VIRT_HEIGHT] = (uint16_t)(lines > 0xffff ? 0xffff : lines);
}

static uint16_t vbe_read(struct vga *v, unsigned index)
{
    if (index >= VBE_NREGS)
        return 0;
    if (v->vbe[VBE_ENABLE] & VBE_GETCAPS) {
        switch (index) {
        case VBE_XRES: return VBE_MAX_XRES;
        case VBE_YRES: return VBE_MAX_YRES;
        case VBE_BPP: return 32;
        default: break;
        }
    }
    return v->vbe[index];
}

static bool vbe_mode_ok(const struct vga *v)
{
    unsigned bpp = v->vbe[VBE_BPP], x = v->vbe[VBE_XRES], y = v->vbe[VBE_YRES];
    if (bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32)
        return false;
    if (!x || !y || x > VBE_MAX_XRES || y > VBE_MAX_YRES)
        return false;
    return (uint64_t)x * y * bytes_per_pixel(bpp) <= VGA_VRAM_SIZE;
}

static void vbe_write(struct vga *v, unsigned index, uint16_t val)
{
    switch (index) {
    case VBE_ID:
        if (val >= 0xb0c0 && val <= VBE_ID5)
            v->vbe[VBE_ID] = val;
        break;
    case VBE_XRES: case VBE_YRES: case VBE_BPP:
        if (index == VBE_BPP && val == 0)
            val = 8;   /* 0 means 8 in Bochs' interface */
        if (!(v->vbe[VBE_ENABLE] & VBE_ENABLED))
            v->vbe[index] = val;
        break;
    case VBE_BANK:
        v->vbe[VBE_BANK] = val;
        break;
    case VBE_ENABLE: {
        bool was = v->vbe[VBE_ENABLE] & VBE_ENABLED;
        if ((val & VBE_ENABLED) && !was) {
            if (!vbe_mode_ok(v))
                val &= (uint16_t)~VBE_ENABLED;   /* a mode it cannot show stays off */
            else {
                v->vbe[VBE_VIRT_WIDTH] = v->vbe[VBE_XRES];
                v->vbe[VBE_X_OFFSET] = v->vbe[VBE_Y_OFFSET] = 0;
                vbe_update_virtual(v);
                if (!(val & VBE_NOCLEARMEM)) {
                    uint64_t n = (uint64_t)v->vbe[VBE_XRES] * v->vbe[VBE_YRES] *
                                 bytes_per_pixel(v->vbe[VBE_BPP]);
                    memset(v->vram, 0, n);
                    vga_mark_dirty(v, 0, n);
                }
            }
        }
        v->vbe[VBE_ENABLE] = val & (VBE_ENABLED | VBE_GETCAPS | VBE_8BIT_DAC |
                                    VBE_LFB_ENABLED);
        v->mode_gen++;
        v->palette_gen++;
        break;
    }
    case VBE_VIRT_WIDTH:
        if (val && (uint64_t)val * bytes_per_pixel(v->vbe[VBE_BPP]) * v->vbe[VBE_YRES] <=
                       VGA_VRAM_SIZE && val >= v->vbe[VBE_XRES]) {
            v->vbe[VBE_VIRT_WIDTH] = val;
            vbe_update_virtual(v);
            v->mode_gen++;
        }
        break;
    case VBE_X_OFFSET: case VBE_Y_OFFSET:
        v->vbe[index] = val;
        v->mode_gen++;
        break;
    default:
        break;   /* virtual height and the memory size are read-only */
    }
}

/* ---- the buses ------------------------------------------------------------- */

static uint64_t vga_ports_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    pthread_mutex_lock(&v->lock);
    for (unsigned i = 0; i < size && i < 2; i++)
        val |= (uint64_t)vga_port_read(v, VGA_PORT_BASE + (unsigned)off + i) << (8 * i);
    pthread_mutex_unlock(&v->lock);
    return val;
}

static void vga_ports_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct vga *v = opaque;
    pthread_mutex_lock(&v->lock);
    /* outw to an index port writes the index, then the data port after it. */
    for (unsigned i = 0; i < size && i < 2; i++)
        vga_port_write(v, VGA_PORT_BASE + (unsigned)off + i, (uint8_t)(val >> (8 * i)));
    pthread_mutex_unlock(&v->lock);
}

static uint64_t vbe_ports_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    (void)size;
    pthread_mutex_lock(&v->lock);
    uint16_t val = off == 0 ? v->vbe_index : vbe_read(v, v->vbe_index);
    pthread_mutex_unlock(&v->lock);
    return val;
}

static void vbe_ports_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct vga *v = opaque;
    (void)size;
    pthread_mutex_lock(&v->lock);
    if (off == 0)
        v->vbe_index = (uint16_t)val;
    else
        vbe_write(v, v->vbe_index, (uint16_t)val);
    pthread_mutex_unlock(&v->lock);
}

static uint64_t vram_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    if (off + size <= VGA_VRAM_SIZE)
        memcpy(&val, v->vram + off, size);
    return val;
}

static void vram_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct vga *v = opaque;
    if (off + size > VGA_VRAM_SIZE)
        return;
    memcpy(v->vram + off, &val, size);
    vga_mark_dirty(v, off, size);
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct vga *v = opaque;
    uint64_t val = 0;
    if (off >= MMIO_VGA && off < MMIO_VGA + 0x20)
        return vga_ports_read(v, off - MMIO_VGA, size);
    pthread_mutex_lock(&v->lock);
    if (off >= MMIO_VBE && off < MMIO_VBE + 2 * VBE_NREGS)
        val = vbe_read(v, (unsigned)(off - MMIO_VBE) / 2);
    else if (off == MMIO_QEXT)
        val = QEXT_SIZE;
    else if (off == MMIO_QEXT + 4)
        val = v->qext_endian;
    pthread_mutex_unlock(&v->lock);
    return val;
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct vga *v = opaque;
    if (off >= MMIO_VGA && off < MMIO_VGA + 0x20) {
        vga_ports_write(v, off - MMIO_VGA, size, val);
        return;
    }
    pthread_mutex_lock(&v->lock);
    if (off >= MMIO_VBE && off < MMIO_VBE + 2 * VBE_NREGS)
        vbe_write(v, (unsigned)(off - MMIO_VBE) / 2, (uint16_t)val);
    else if (off == MMIO_QEXT + 4 && (val == QEXT_LITTLE || val == QEXT_BIG))
        v->qext_endian = (uint32_t)val;   /* kept; the picture is always read little-endian */
    pthread_mutex_unlock(&v->lock);
}

static const struct bus_ops vga_port_ops = { .read = vga_ports_read, .write = vga_ports_write };
static const struct bus_ops vbe_port_ops = { .read = vbe_ports_read, .write = vbe_ports_write };
static const struct bus_ops vram_ops = { .read = vram_read, .write = vram_write };
static const struct bus_ops mmio_ops = { .read = mmio_read, .write = mmio_write };
static const struct display_source_ops source_ops = { .refresh = vga_refresh };

/* ---- life ------------------------------------------------------------------ */

const uint8_t *vga_find_font(const uint8_t *rom, size_t len)
{
    /* 'A' of the IBM VGA 8x16 font; the font starts 0x41 glyphs before it
     * with an empty glyph 0 and a solid block at 0xdb. */
    static const uint8_t glyph_a[16] = { 0, 0, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe,
                                         0xc6, 0xc6, 0xc6, 0xc6, 0, 0, 0, 0 };
    for (size_t i = 0x41 * 16; i + 16 + (0xff - 0x41) * 16 <= len; i++) {
        if (memcmp(rom + i, glyph_a, 16))
            continue;
        const uint8_t *f = rom + i - 0x41 * 16;
        bool ok = true;
        for (int k = 0; k < 16 && ok; k++)
            ok = f[k] == 0 && f[0xdb * 16 + k] == 0xff;
        if (ok)
            return f;
    }
    return NULL;
}

int vga_create(const struct vga_wiring *w, struct vga **out)
{
    struct vga *v = calloc(1, sizeof(*v));
    int r;
    if (!v)
        return -ENOMEM;
    pthread_mutex_init(&v->lock, NULL);
    v->pio = w->pio;
    v->mem = w->mem;
    v->display = w->display;
    v->vram = calloc(1, VGA_VRAM_SIZE);
    v->low_shadow = calloc(1, 64000);
    if (!v->vram || !v->low_shadow) {
        r = -ENOMEM;
        goto fail;
    }
    if (w->font) {
        memcpy(v->font, w->font, VGA_FONT_SIZE);
        v->have_font = true;
    }
    reset_registers(v);

    struct pci_device *d = &v->pci;
    pci_device_init(d, "vga", 0x1234, 0x1111, 0x030000, 2);
    pci_config_set16(d, PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);   /* as QEMU's stdvga */
    pci_config_set16(d, PCI_SUBSYSTEM_ID, 0x1100);
    d->opaque = v;
    r = pci_device_set_bar(d, 0, PCI_BAR_MEM32, true, VGA_VRAM_SIZE, &vram_ops, v);
    if (r == 0)
        r = pci_device_set_bar(d, 2, PCI_BAR_MEM32, false, VGA_MMIO_SIZE, &mmio_ops, v);
    if (r < 0)
        goto fail;
    r = bus_register(w->pio, VGA_PORT_BASE, 0x20, &vga_port_ops, v, "vga");
    if (r < 0)
        goto fail;
    v->ports_vga = true;
    /* Three bytes: a 16-bit access to the data port at 0x1cf spans 0x1d0. */
    r = bus_register(w->pio, VBE_PORT_INDEX, 3, &vbe_port_ops, v, "vbe");
    if (r < 0)
        goto fail;
    v->ports_vbe = true;
    r = pci_bus_add_device(w->pci, d, -1);
    if (r < 0)
        goto fail;
    v->on_bus = true;
    if (v->display) {
        display_set_source(v->display, &source_ops, v);
        v->source_set = true;
    }
    *out = v;
    return 0;
fail:
    vga_destroy(v);
    return r;
}

void vga_destroy(struct vga *v)
{
    if (!v)
        return;
    if (v->source_set)
        display_set_source(v->display, NULL, NULL);
    if (v->on_bus)
        pci_bus_remove_device(v->pci.bus, &v->pci);
    if (v->ports_vbe)
        bus_unregister(v->pio, VBE_PORT_INDEX);
    if (v->ports_vga)
        bus_unregister(v->pio, VGA_PORT_BASE);
    pthread_mutex_destroy(&v->lock);
    free(v->vram);
    free(v->low_shadow);
    free(v);
}

void vga_clear_text(struct vga *v)
{
    uint8_t *text = mem_ptr(v->mem, VGA_TEXT_BASE, 0x8000);
    if (!text)
        return;
    for (unsigned i = 0; i < 0x8000; i += 2) {
        text[i] = ' ';
        text[i + 1] = 0x07;
    }
    mem_mark_dirty_ptr(v->mem, text, 0x8000);
}

int vga_slot(const struct vga *v)
{
    return v->pci.slot;
}

/* ---- snapshots ------------------------------------------------------------- */

int vga_save(struct vga *v, struct state_out *o)
{
    uint8_t cfg[PCI_CONFIG_SIZE];
    pci_device_save_config(&v->pci, cfg);
    pthread_mutex_lock(&v->lock);
    st_put_bytes(o, cfg, sizeof(cfg));
    st_put_u8(o, v->misc);
    st_put_u8(o, v->seq_index);
    st_put_bytes(o, v->seq, sizeof(v->seq));
    st_put_u8(o, v->gc_index);
    st_put_bytes(o, v->gc, sizeof(v->gc));
    st_put_u8(o, v->crtc_index);
    st_put_bytes(o, v->crtc, sizeof(v->crtc));
    st_put_u8(o, v->attr_index);
    st_put_bytes(o, v->attr, sizeof(v->attr));
    st_put_bool(o, v->attr_flip);
    st_put_u8(o, v->dac_read);
    st_put_u8(o, v->dac_write);
    st_put_u8(o, v->dac_sub);
    st_put_u8(o, v->dac_state);
    st_put_u8(o, v->pel_mask);
    st_put_bytes(o, v->palette, sizeof(v->palette));
    st_put_u16(o, v->vbe_index);
    for (int i = 0; i < VBE_NREGS; i++)
        st_put_u16(o, v->vbe[i]);
    st_put_u32(o, v->qext_endian);
    /* The framebuffer up to its last non-zero byte (a text-mode machine
     * saves none of it). */
    uint32_t used = VGA_VRAM_SIZE;
    while (used && !v->vram[used - 1])
        used--;
    st_put_u32(o, used);
    st_put_bytes(o, v->vram, used);
    pthread_mutex_unlock(&v->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int vga_load(struct vga *v, struct state_in *in, struct err *e)
{
    uint8_t cfg[PCI_CONFIG_SIZE];
    struct vga *n = calloc(1, sizeof(*n));   /* the registers, read before any is kept */
    int r = 0;
    if (!n)
        return err_set(e, -ENOMEM, "vga: out of memory");
    st_get_bytes(in, cfg, sizeof(cfg));
    n->misc = st_get_u8(in);
    n->seq_index = st_get_u8(in);
    st_get_bytes(in, n->seq, sizeof(n->seq));
    n->gc_index = st_get_u8(in);
    st_get_bytes(in, n->gc, sizeof(n->gc));
    n->crtc_index = st_get_u8(in);
    st_get_bytes(in, n->crtc, sizeof(n->crtc));
    n->attr_index = st_get_u8(in);
    st_get_bytes(in, n->attr, sizeof(n->attr));
    n->attr_flip = st_get_bool(in);
    n->dac_read = st_get_u8(in);
    n->dac_write = st_get_u8(in);
    n->dac_sub = st_get_u8(in);
    n->dac_state = st_get_u8(in);
    n->pel_mask = st_get_u8(in);
    st_get_bytes(in, n->palette, sizeof(n->palette));
    n->vbe_index = st_get_u16(in);
    for (int i = 0; i < VBE_NREGS; i++)
        n->vbe[i] = st_get_u16(in);
    n->qext_endian = st_get_u32(in);
    uint32_t used = st_get_u32(in);
    if (in->bad) {
        r = err_set(e, -EINVAL, "vga: the saved state is cut short or holds a bool that is "
                    "neither 0 nor 1");
        goto out;
    }
    if (used > VGA_VRAM_SIZE || in->len - in->off < used) {
        r = err_set(e, -EINVAL, "vga: %u bytes of framebuffer saved, the device has %u and "
                    "the state holds %zu more", used, VGA_VRAM_SIZE, in->len - in->off);
        goto out;
    }
    if (n->seq_index > 7 || n->gc_index > 15 || n->crtc_index > 31 || n->attr_index > 0x3f ||
        n->dac_sub > 2) {
        r = err_set(e, -EINVAL, "vga: a register index is out of range (sequencer %u, "
                    "graphics %u, CRTC %u, attribute %u, DAC step %u)", n->seq_index,
                    n->gc_index, n->crtc_index, n->attr_index, n->dac_sub);
        goto out;
    }
    bool enabled = n->vbe[VBE_ENABLE] & VBE_ENABLED;
    if (n->vbe[VBE_VIDEO_MEMORY_64K] != (VGA_VRAM_SIZE >> 16) ||
        (enabled && (!vbe_mode_ok(n) || n->vbe[VBE_VIRT_WIDTH] < n->vbe[VBE_XRES] ||
                     (uint64_t)n->vbe[VBE_VIRT_WIDTH] * bytes_per_pixel(n->vbe[VBE_BPP]) *
                         n->vbe[VBE_YRES] > VGA_VRAM_SIZE))) {
        r = err_set(e, -EINVAL, "vga: VBE memory %u x 64 KiB or mode %ux%ux%u (virtual width "
                    "%u) is not one this device shows", n->vbe[VBE_VIDEO_MEMORY_64K],
                    n->vbe[VBE_XRES], n->vbe[VBE_YRES], n->vbe[VBE_BPP],
                    n->vbe[VBE_VIRT_WIDTH]);
        goto out;
    }
    if ((r = pci_device_check_config(&v->pci, cfg, e)) < 0)
        goto out;
    pthread_mutex_lock(&v->lock);
    memset(v->vram, 0, VGA_VRAM_SIZE);
    st_get_bytes(in, v->vram, used);
#define COPY(f) memcpy(&v->f, &n->f, sizeof(v->f))
    COPY(misc); COPY(seq_index); COPY(seq); COPY(gc_index); COPY(gc); COPY(crtc_index);
    COPY(crtc); COPY(attr_index); COPY(attr); COPY(attr_flip); COPY(dac_read);
    COPY(dac_write); COPY(dac_sub); COPY(dac_state); COPY(pel_mask); COPY(palette);
    COPY(vbe_index); COPY(vbe); COPY(qext_endian);
#undef COPY
    vbe_update_virtual(v);   /* computed, never taken from the stream */
    v->mode_gen++;
    v->palette_gen++;
    vga_mark_dirty(v, 0, VGA_VRAM_SIZE);
    pthread_mutex_unlock(&v->lock);
    pci_device_load_config(&v->pci, cfg);
out:
    free(n);
    return r;
}
