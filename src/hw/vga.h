/* The standard VGA with the Bochs VBE extension (PCI 1234:1111, QEMU's
 * "stdvga"): what SeaBIOS's vgabios-stdvga.bin and Linux's bochs DRM driver
 * drive.  VGA text mode from guest RAM at 0xB8000 for firmware, boot
 * loaders and Linux's vgacon; VBE's linear framebuffer (BAR 0) for
 * graphics; the VGA and VBE registers in BAR 2 and at the legacy ports.
 * The device draws into a host display (host/display.h) only when a viewer
 * asks, redrawing only what the guest changed.  docs/display.md. */
#ifndef HOSTEL_VGA_H
#define HOSTEL_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/mem.h"

struct display;
struct err;
struct pci_bus;
struct state_in;
struct state_out;
struct vga;

#define VGA_VRAM_SIZE   (16u << 20)     /* BAR 0: the linear framebuffer */
#define VGA_MMIO_SIZE   4096u           /* BAR 2: VGA ports, VBE, QEMU extension */
#define VGA_PORT_BASE   0x3c0           /* the VGA's 32 ports */
#define VBE_PORT_INDEX  0x1ce           /* Bochs VBE "dispi": index, then data */
#define VGA_TEXT_BASE   0xb8000ULL      /* colour text memory, in guest RAM */
#define VGA_LOW_BASE    0xa0000ULL      /* mode 13h's 64000 bytes, in guest RAM */
#define VGA_FONT_SIZE   4096u           /* 256 glyphs of 8 x 16 */

/* Bochs VBE registers (the dispi interface). */
enum {
    VBE_ID, VBE_XRES, VBE_YRES, VBE_BPP, VBE_ENABLE, VBE_BANK, VBE_VIRT_WIDTH,
    VBE_VIRT_HEIGHT, VBE_X_OFFSET, VBE_Y_OFFSET, VBE_VIDEO_MEMORY_64K, VBE_NREGS
};
#define VBE_ID5            0xb0c5
#define VBE_ENABLED        0x01
#define VBE_GETCAPS        0x02
#define VBE_8BIT_DAC       0x20
#define VBE_LFB_ENABLED    0x40
#define VBE_NOCLEARMEM     0x80
#define VBE_MAX_XRES       2560
#define VBE_MAX_YRES       1600

/* What the board gives the device: the port bus, the PCI bus it sits on,
 * guest RAM (text mode and mode 13h read it), the display it draws on, and
 * the 8x16 font text mode draws with (VGA_FONT_SIZE bytes, copied; NULL:
 * a built-in box for every non-blank character). */
struct vga_wiring {
    struct bus *pio;
    struct pci_bus *pci;
    const struct guest_mem *mem;
    struct display *display;
    const uint8_t *font;
};

/* -errno: ports taken, no PCI slot, out of memory. */
int vga_create(const struct vga_wiring *w, struct vga **out);
void vga_destroy(struct vga *v);
/* Blank text memory as a VGA BIOS's mode set leaves it (grey spaces on
 * black, 0x0720), for a kernel started without firmware: the cells it
 * never writes then show the cursor.  Not for a restored machine. */
void vga_clear_text(struct vga *v);

/* The PCI slot it was given (the firmware's boot messages, tests). */
int vga_slot(const struct vga *v);

/* The standard 8x16 font inside a VGA BIOS image (SeaBIOS's vgabios-*.bin
 * carry it): a pointer into rom, or NULL when it is not found. */
const uint8_t *vga_find_font(const uint8_t *rom, size_t len);

/* Text mode's geometry as the device draws it (tests): columns, rows. */
void vga_text_size(struct vga *v, int *cols, int *rows);

/* Snapshots: the VGA registers, the palette, the VBE registers, the PCI
 * config space and the framebuffer up to its last non-zero byte (field
 * order in docs/snapshot-state.md; text memory is guest RAM, saved with
 * it).  Save fails only with -ENOMEM; load goes into a fresh device with
 * the same wiring, refuses what it could not hold (-EINVAL, e says which)
 * and then leaves the device as it was.  No thread: nothing to pause. */
#define VGA_STATE_VERSION 1
int vga_save(struct vga *v, struct state_out *o);
int vga_load(struct vga *v, struct state_in *in, struct err *e);

#endif
