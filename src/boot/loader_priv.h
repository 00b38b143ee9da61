/* Helpers shared by the kernel loaders (bzImage, ELF, Multiboot); private to
 * src/vmm/loader*.c and boot.c, not a contract for other rooms. */
#ifndef HOSTEL_LOADER_PRIV_H
#define HOSTEL_LOADER_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "boot/loader.h"

/* Boot GDT selectors (Linux wants __BOOT_CS = 0x10, __BOOT_DS = 0x18). */
#define BOOT_SEL_CODE32   0x08
#define BOOT_SEL_CODE64   0x10
#define BOOT_SEL_DATA     0x18
#define BOOT_SEL_TSS      0x20
#define BOOT_GDT_ENTRIES  6          /* the TSS descriptor takes two slots */
#define BOOT_TSS_ADDR     0x580ULL   /* right after the GDT at LAYOUT_BOOT_GDT */
#define BOOT_STACK_TOP    0x1f000ULL /* a small stack below the command line */

#define E820_RAM       1
#define E820_RESERVED  2
#define E820_MAX_ZERO_PAGE 128       /* entries the zero page holds */

/* Multiboot info area (LAYOUT_MB_INFO and up, below LAYOUT_CMDLINE). */
#define MB_INFO_MODS      (LAYOUT_MB_INFO + 0x100)
#define MB_INFO_MMAP      (LAYOUT_MB_INFO + 0x200)
#define MB_INFO_STRINGS   (LAYOUT_MB_INFO + 0x1000)
#define MB_INFO_STRINGS_END (LAYOUT_MB_INFO + 0x2000)

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }
static inline void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

/* Copies the command line to LAYOUT_CMDLINE.  max is the longest string the
 * kernel accepts (without the NUL). */
int loader_write_cmdline(struct guest_mem *m, const char *cmdline, uint64_t max,
                         struct err *e);

/* Places the initrd page-aligned as high as possible in low RAM, below
 * limit (exclusive) and not below floor (the kernel's end).  *addr = 0 when
 * there is no initrd. */
int loader_place_initrd(struct guest_mem *m, const struct boot_input *in, uint64_t floor,
                        uint64_t limit, uint64_t *addr, struct err *e);

/* Writes the e820 map into a zero page (boot_params) at zp. */
int loader_zero_page_e820(const struct boot_input *in, uint8_t *zp, struct err *e);

/* ELF images, ELF32 or ELF64, normalised. */
#define ELF_MAX_LOAD 32
struct elf_load_seg {
    int index;                     /* program header number, for messages */
    uint64_t offset, filesz, memsz, paddr, vaddr;
};
struct elf_image {
    int is64;
    uint16_t machine, type;
    uint64_t entry;                /* e_entry as in the file */
    int nload;
    struct elf_load_seg load[ELF_MAX_LOAD];
};
#define EM_386     3
#define EM_X86_64  62
#define ET_EXEC    2

/* Parses headers; checks structure against the file length only. */
int elf_parse(const uint8_t *img, size_t len, struct elf_image *out, struct err *e);
/* Checks every PT_LOAD against the file, guest RAM, each other and the
 * loader's low area, copies them in, and translates the entry to physical.
 * *end is the highest physical byte loaded + 1. */
int elf_load_segments(struct guest_mem *m, const uint8_t *img, size_t len,
                      const struct elf_image *elf, uint64_t *entry_phys, uint64_t *end,
                      struct err *e);

#endif
