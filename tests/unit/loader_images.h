/* Synthetic kernel images for the loader unit tests: a minimal bzImage,
 * ELF32/ELF64 files with chosen segments, and Multiboot headers. */
#ifndef HOSTEL_TEST_LOADER_IMAGES_H
#define HOSTEL_TEST_LOADER_IMAGES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "board/e820.h"
#include "board/layout.h"
#include "boot/loader.h"
#include "machine/mem.h"

/* What board/run.c hands every loader: the board's e820 map for the guest's
 * memory, and where the board puts the RSDP.  In a boot_input initializer:
 * struct boot_input in = { T_BOARD(&mem), .kernel = ... }. */
static struct e820_entry t_board_map[32];
static inline int t_board_map_for(const struct guest_mem *m)
{
    return e820_build(m, t_board_map, 32);
}
#define T_BOARD(m) .e820 = t_board_map, .e820_count = t_board_map_for(m), .acpi_rsdp = LAYOUT_ACPI

static inline void t_w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void t_w32(uint8_t *p, uint32_t v) { t_w16(p, (uint16_t)v); t_w16(p + 2, (uint16_t)(v >> 16)); }
static inline void t_w64(uint8_t *p, uint64_t v) { t_w32(p, (uint32_t)v); t_w32(p + 4, (uint32_t)(v >> 32)); }
static inline uint16_t t_r16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t t_r32(const uint8_t *p) { return t_r16(p) | (uint32_t)t_r16(p + 2) << 16; }
static inline uint64_t t_r64(const uint8_t *p) { return t_r32(p) | (uint64_t)t_r32(p + 4) << 32; }

#define T_BZ_SETUP_SECTS 4
#define T_BZ_SETUP_SIZE  ((T_BZ_SETUP_SECTS + 1) * 512)
#define T_BZ_KERNEL_SIZE 4096

/* A bzImage of protocol 2.15: 4 setup sectors, 4 KiB kernel filled with i*7. */
static inline uint8_t *t_make_bzimage(size_t *len)
{
    *len = T_BZ_SETUP_SIZE + T_BZ_KERNEL_SIZE;
    uint8_t *b = calloc(1, *len);
    b[0x1f1] = T_BZ_SETUP_SECTS;
    t_w32(b + 0x1f4, T_BZ_KERNEL_SIZE / 16);
    t_w16(b + 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = 0x6a;                      /* header ends at 0x26c */
    memcpy(b + 0x202, "HdrS", 4);
    t_w16(b + 0x206, 0x020f);
    b[0x211] = 0x01;                      /* LOADED_HIGH */
    t_w32(b + 0x22c, 0x7fffffff);         /* initrd_addr_max */
    t_w32(b + 0x230, 0x200000);           /* kernel_alignment */
    b[0x234] = 1;                         /* relocatable */
    t_w16(b + 0x236, 0x3);                /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
    t_w32(b + 0x238, 2047);               /* cmdline_size */
    t_w64(b + 0x258, 0x1000000);          /* pref_address */
    t_w32(b + 0x260, 0x100000);           /* init_size */
    t_w32(b + 0x268, 0x12345678);         /* kernel_info_offset: must be copied */
    for (size_t i = 0; i < T_BZ_KERNEL_SIZE; i++)
        b[T_BZ_SETUP_SIZE + i] = (uint8_t)(i * 7);
    return b;
}

struct t_seg {
    uint64_t offset, vaddr, paddr, filesz, memsz;
    uint8_t fill;                         /* file bytes of the segment */
};

/* An ELF file with the program headers right after the ELF header and the
 * segments' bytes at their offsets; *len covers all of them. */
static inline uint8_t *t_make_elf(int is64, uint16_t machine, uint16_t type, uint64_t entry,
                                  const struct t_seg *segs, int n, size_t *len)
{
    size_t ehsz = is64 ? 64 : 52, phsz = is64 ? 56 : 32;
    size_t end = ehsz + n * phsz;
    for (int i = 0; i < n; i++)
        if (segs[i].offset + segs[i].filesz > end)
            end = segs[i].offset + segs[i].filesz;
    uint8_t *b = calloc(1, end);
    memcpy(b, "\x7f" "ELF", 4);
    b[4] = is64 ? 2 : 1;
    b[5] = 1;
    b[6] = 1;
    t_w16(b + 16, type);
    t_w16(b + 18, machine);
    t_w32(b + 20, 1);
    if (is64) {
        t_w64(b + 24, entry);
        t_w64(b + 32, ehsz);
        t_w16(b + 52, (uint16_t)ehsz);
        t_w16(b + 54, (uint16_t)phsz);
        t_w16(b + 56, (uint16_t)n);
    } else {
        t_w32(b + 24, (uint32_t)entry);
        t_w32(b + 28, (uint32_t)ehsz);
        t_w16(b + 40, (uint16_t)ehsz);
        t_w16(b + 42, (uint16_t)phsz);
        t_w16(b + 44, (uint16_t)n);
    }
    for (int i = 0; i < n; i++) {
        uint8_t *ph = b + ehsz + i * phsz;
        const struct t_seg *s = &segs[i];
        t_w32(ph, 1);   /* PT_LOAD */
        if (is64) {
            t_w32(ph + 4, 7);
            t_w64(ph + 8, s->offset);
            t_w64(ph + 16, s->vaddr);
            t_w64(ph + 24, s->paddr);
            t_w64(ph + 32, s->filesz);
            t_w64(ph + 40, s->memsz);
            t_w64(ph + 48, 0x1000);
        } else {
            t_w32(ph + 4, (uint32_t)s->offset);
            t_w32(ph + 8, (uint32_t)s->vaddr);
            t_w32(ph + 12, (uint32_t)s->paddr);
            t_w32(ph + 16, (uint32_t)s->filesz);
            t_w32(ph + 20, (uint32_t)s->memsz);
            t_w32(ph + 24, 7);
            t_w32(ph + 28, 0x1000);
        }
        memset(b + s->offset, s->fill, s->filesz);
    }
    *len = end;
    return b;
}

/* Writes a Multiboot header (magic, flags, checksum) at p. */
static inline void t_mb_header(uint8_t *p, uint32_t flags)
{
    t_w32(p, 0x1BADB002u);
    t_w32(p + 4, flags);
    t_w32(p + 8, (uint32_t)-(0x1BADB002u + flags));
}

/* The sample kernels the loader fuzz tests mutate (and tests/fuzz seeds
 * from): a 64-bit ELF kernel at 16 MiB, a Multiboot ELF32 and a Multiboot
 * a.out kludge image. */
static inline uint8_t *t_sample_elf64(size_t *len)
{
    struct t_seg segs[2] = {
        { .offset = 0x1000, .vaddr = 0xffffffff81000000ULL, .paddr = 0x1000000,
          .filesz = 0x800, .memsz = 0x3000, .fill = 0xaa },
        { .offset = 0x2000, .vaddr = 0xffffffff81400000ULL, .paddr = 0x1400000,
          .filesz = 0x100, .memsz = 0x100, .fill = 0xbb },
    };
    return t_make_elf(1, 62, 2, 0xffffffff81000040ULL, segs, 2, len);
}

static inline uint8_t *t_sample_multiboot_elf32(size_t *len)
{
    struct t_seg segs[2] = {
        { .offset = 0x1000, .vaddr = 0x100000, .paddr = 0x100000, .filesz = 0x1000,
          .memsz = 0x1000, .fill = 0x90 },
        { .offset = 0x2000, .vaddr = 0x200000, .paddr = 0x200000, .filesz = 0x10,
          .memsz = 0x2000, .fill = 0x91 },
    };
    uint8_t *e = t_make_elf(0, 3, 2, 0x100010, segs, 2, len);
    t_mb_header(e + 0x1000, 0x3);
    return e;
}

static inline uint8_t *t_sample_multiboot_kludge(size_t *len)
{
    uint8_t *k = calloc(1, 0x2000);
    t_mb_header(k + 0x40, 0x10003);
    t_w32(k + 0x4c, 0x100040);
    t_w32(k + 0x50, 0x100000);
    t_w32(k + 0x54, 0x101800);
    t_w32(k + 0x58, 0x104000);
    t_w32(k + 0x5c, 0x100080);
    *len = 0x2000;
    return k;
}

#endif
