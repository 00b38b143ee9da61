/* Kernel loaders: Linux bzImage, ELF64 (vmlinux / PVH-style entry) and
 * Multiboot v1.  The format is detected from the file's bytes. */
#ifndef HOSTEL_LOADER_H
#define HOSTEL_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/cpu_state.h"
#include "lib/err.h"
#include "machine/mem.h"

enum kernel_format { KERNEL_UNKNOWN, KERNEL_BZIMAGE, KERNEL_MULTIBOOT, KERNEL_ELF64 };

/* Multiboot is checked first (its header may sit inside an ELF), then bzImage, then ELF. */
enum kernel_format kernel_detect(const uint8_t *img, size_t len);
const char *kernel_format_name(enum kernel_format f);

/* One range of the guest's memory map (the layout Linux's zero page and
 * Multiboot's mmap use); the board builds the map (board/e820.h). */
struct e820_entry {
    uint64_t addr, size;
    uint32_t type;          /* 1 RAM, 2 reserved, 3 ACPI */
} __attribute__((packed));

struct boot_input {
    const uint8_t *kernel;  size_t kernel_len;
    const uint8_t *initrd;  size_t initrd_len;   /* may be NULL */
    const char *cmdline;                          /* may be NULL */
    const char *kernel_name;                      /* for messages */
    const char *initrd_name;                      /* Multiboot module string; may be NULL */
    const struct e820_entry *e820;                /* the board's memory map */
    int e820_count;
    uint64_t acpi_rsdp;                           /* where the RSDP is, 0: no ACPI */
    bool vga_text;                                /* a VGA in 80x25 text mode (hw/vga.h):
                                                     Linux's boot_params say so, for vgacon */
};

/* Each loader writes the kernel (and what its format hands the kernel) into
 * guest RAM and sets the boot CPU's state.  On failure: -errno and a message
 * naming what was wrong in e.  Nothing outside guest RAM is touched. */
int load_bzimage(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                 struct err *e);
int load_elf64(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
               struct err *e);
int load_multiboot(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                   struct err *e);

/* Detects and dispatches. */
int load_kernel(struct guest_mem *m, const struct boot_input *in, struct cpu_state *bsp,
                struct err *e);



/* Shared by loaders: identity-map the first 4 GiB and enter 64-bit mode /
 * 32-bit flat protected mode with a boot GDT at LAYOUT_BOOT_GDT. */
int boot_setup_long_mode(struct guest_mem *m, struct cpu_state *s);
int boot_setup_protected_mode(struct guest_mem *m, struct cpu_state *s);

#endif
