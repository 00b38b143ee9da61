/* Unit tests for format detection, the boot entry states, e820, and the
 * bzImage and ELF64 loaders, on synthetic images and malformed ones. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "loader_images.h"
#include "board/e820.h"
#include "board/layout.h"
#include "boot/loader.h"

#define RAM (64ULL << 20)

static struct guest_mem mem;
static struct err err;

static void fresh_mem(void)
{
    /* One mapping for the whole run: first-touching fresh RAM for every case is slow. */
    if (!mem.host && mem_init(&mem, RAM) < 0) {
        printf("cannot allocate guest memory\n");
        exit(1);
    }
    memset(mem.host, 0xcc, mem.size);   /* so zeroing (bss, zero page) is visible */
    err_clear(&err);
}

static int has(const char *msg, const char *word)
{
    if (strstr(msg, word))
        return 1;
    printf("  message \"%s\" lacks \"%s\"\n", msg, word);
    return 0;
}

static const uint8_t *gp(uint64_t gpa) { return mem_ptr(&mem, gpa, 1); }

static void check_long_mode_state(const struct cpu_state *s)
{
    CHECK_EQ(s->seg[S_CS].selector, 0x10);
    CHECK_EQ(s->seg[S_CS].l, 1);
    CHECK_EQ(s->seg[S_CS].db, 0);
    CHECK_EQ(s->seg[S_CS].present, 1);
    CHECK_EQ(s->seg[S_CS].s, 1);
    CHECK_EQ(s->seg[S_CS].type, 0xb);
    for (int i = 0; i < 6; i++) {
        if (i == S_CS)
            continue;
        CHECK_EQ(s->seg[i].selector, 0x18);
        CHECK_EQ(s->seg[i].type, 0x3);
        CHECK_EQ(s->seg[i].limit, 0xffffffffu);
        CHECK_EQ(s->seg[i].g, 1);
    }
    CHECK_EQ(s->cr0 & (CR0_PE | CR0_PG | CR0_ET), CR0_PE | CR0_PG | CR0_ET);
    CHECK_EQ(s->cr4 & CR4_PAE, CR4_PAE);
    CHECK_EQ(s->efer, EFER_LME | EFER_LMA);
    CHECK_EQ(s->cr3, LAYOUT_PML4);
    CHECK_EQ(s->rflags, 2);
    CHECK_EQ(s->tr.type, 11);
    CHECK_EQ(s->tr.present, 1);
    CHECK_EQ(s->tr.limit, 0x67);
    CHECK_EQ(s->gdt.base, LAYOUT_BOOT_GDT);
    CHECK(s->gdt.limit >= 0x1f);
    /* GDT: 0x10 is 64-bit code (L set, D clear), 0x18 flat data. */
    uint64_t code64 = t_r64(gp(LAYOUT_BOOT_GDT + 0x10));
    uint64_t data = t_r64(gp(LAYOUT_BOOT_GDT + 0x18));
    CHECK(code64 & (1ULL << 53));
    CHECK(!(code64 & (1ULL << 54)));
    CHECK(code64 & (1ULL << 47));
    CHECK_EQ((data >> 40) & 0x9e, 0x92);
    /* Identity map: PML4 -> PDPT -> 4 PDs of 2 MiB pages. */
    CHECK_EQ(t_r64(gp(LAYOUT_PML4)) & ~0xfffULL, LAYOUT_PDPT);
    CHECK_EQ(t_r64(gp(LAYOUT_PDPT + 3 * 8)) & ~0xfffULL, LAYOUT_PD + 3 * 4096);
    CHECK_EQ(t_r64(gp(LAYOUT_PD + 8)), 0x200000 | 0x83);
    CHECK_EQ(t_r64(gp(LAYOUT_PD + 2047 * 8)), 0xffe00000ULL | 0x83);
}

/* ---- detection, e820 ---- */

static void detect_formats(void)
{
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    CHECK_EQ(kernel_detect(bz, len), KERNEL_BZIMAGE);
    free(bz);
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x100000, .paddr = 0x100000,
                         .filesz = 0x100, .memsz = 0x100, .fill = 0x90 };
    uint8_t *e = t_make_elf(1, 62, 2, 0x100000, &seg, 1, &len);
    CHECK_EQ(kernel_detect(e, len), KERNEL_ELF64);
    t_mb_header(e + 0x1000, 0);      /* a Multiboot header wins over ELF */
    CHECK_EQ(kernel_detect(e, len), KERNEL_MULTIBOOT);
    free(e);
    uint8_t junk[512];
    memset(junk, 0x5a, sizeof(junk));
    CHECK_EQ(kernel_detect(junk, sizeof(junk)), KERNEL_UNKNOWN);
    CHECK(!strcmp(kernel_format_name(KERNEL_BZIMAGE), "Linux bzImage"));
}

static void load_kernel_rejects_unknown(void)
{
    fresh_mem();
    uint8_t junk[512];
    memset(junk, 0x5a, sizeof(junk));
    struct boot_input in = { T_BOARD(&mem), .kernel = junk, .kernel_len = sizeof(junk) };
    struct cpu_state s;
    CHECK_EQ(load_kernel(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "bzImage"));
    size_t len;
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x100000, .paddr = 0x100000,
                         .filesz = 0x100, .memsz = 0x100 };
    uint8_t *e = t_make_elf(0, 3, 2, 0x100000, &seg, 1, &len);
    in.kernel = e;
    in.kernel_len = len;
    CHECK_EQ(load_kernel(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "Multiboot"));
    free(e);
    in.kernel_len = 0;
    CHECK(load_kernel(&mem, &in, &s, &err) < 0);
    CHECK(has(err.msg, "empty"));
}

static void e820_low_and_high(void)
{
    struct e820_entry map[16];
    struct guest_mem m = { .size = RAM, .low_size = RAM, .high_size = 0 };
    int n = e820_build(&m, map, 16);
    CHECK(n >= 4);
    CHECK_EQ(map[0].addr, 0); CHECK_EQ(map[0].size, 0x9fc00); CHECK_EQ(map[0].type, 1);
    CHECK_EQ(map[1].addr, 0x9fc00); CHECK_EQ(map[1].type, 2);
    CHECK_EQ(map[2].addr, 0xe0000); CHECK_EQ(map[2].size, 0x20000); CHECK_EQ(map[2].type, 2);
    CHECK_EQ(map[3].addr, 0x100000); CHECK_EQ(map[3].size, RAM - 0x100000); CHECK_EQ(map[3].type, 1);
    for (int i = 4; i < n; i++)
        CHECK(map[i].type != 1);   /* nothing else is RAM without high memory */

    struct guest_mem big = { .size = 5ULL << 30, .low_size = 3ULL << 30, .high_size = 2ULL << 30 };
    n = e820_build(&big, map, 16);
    CHECK(n >= 5);
    CHECK_EQ(map[n - 1].addr, 1ULL << 32);
    CHECK_EQ(map[n - 1].size, 2ULL << 30);
    CHECK_EQ(map[n - 1].type, 1);
    CHECK_EQ(map[3].size, (3ULL << 30) - 0x100000);
    CHECK_EQ(e820_build(&big, map, 3), -ENOSPC);
}

static void protected_mode_state(void)
{
    fresh_mem();
    struct cpu_state s;
    CHECK_EQ(boot_setup_protected_mode(&mem, &s), 0);
    CHECK_EQ(s.seg[S_CS].selector, 0x08);
    CHECK_EQ(s.seg[S_CS].db, 1);
    CHECK_EQ(s.seg[S_CS].l, 0);
    CHECK_EQ(s.seg[S_SS].selector, 0x18);
    CHECK_EQ(s.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    CHECK_EQ(s.efer, 0);
    CHECK_EQ(s.tr.type, 11);
    CHECK_EQ(t_r64(gp(LAYOUT_BOOT_GDT + 8)), 0x00cf9b000000ffffULL);
}

/* ---- bzImage ---- */

static void bzimage_loads(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    uint8_t initrd[10000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 13);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len, .initrd = initrd,
                             .initrd_len = sizeof(initrd), .cmdline = "console=ttyS0 quiet" };
    struct cpu_state s;
    int r = load_bzimage(&mem, &in, &s, &err);
    CHECK_EQ(r, 0);
    if (r) {
        printf("  %s\n", err.msg);
        free(bz);
        return;
    }
    CHECK(!memcmp(gp(LAYOUT_KERNEL), bz + T_BZ_SETUP_SIZE, T_BZ_KERNEL_SIZE));
    CHECK_EQ(s.rip, LAYOUT_KERNEL + 0x200);
    CHECK_EQ(s.gpr[R_RSI], LAYOUT_ZERO_PAGE);
    check_long_mode_state(&s);

    const uint8_t *zp = gp(LAYOUT_ZERO_PAGE);
    CHECK(!memcmp(zp + 0x202, "HdrS", 4));
    CHECK_EQ(t_r16(zp + 0x206), 0x020f);
    CHECK_EQ(t_r32(zp + 0x268), 0x12345678);   /* the whole header is copied */
    CHECK_EQ(t_r32(zp + 0x26c), 0);            /* and nothing after it */
    CHECK_EQ(zp[0x000], 0);                    /* rest of the page zeroed */
    CHECK_EQ(zp[0x210], 0xff);
    CHECK_EQ(zp[0x211], 0x81);
    CHECK(t_r16(zp + 0x224) != 0);
    CHECK_EQ(t_r32(zp + 0x228), LAYOUT_CMDLINE);
    CHECK(!strcmp((const char *)gp(LAYOUT_CMDLINE), "console=ttyS0 quiet"));

    uint32_t rd = t_r32(zp + 0x218), rdsz = t_r32(zp + 0x21c);
    CHECK_EQ(rdsz, sizeof(initrd));
    CHECK_EQ(rd & 0xfff, 0);
    CHECK(rd >= 0x1000000 + 0x100000);         /* above where the kernel unpacks */
    CHECK(rd + rdsz <= RAM);
    CHECK(RAM - (rd + rdsz) < 4096);           /* as high as possible */
    CHECK(!memcmp(gp(rd), initrd, sizeof(initrd)));

    int n = zp[0x1e8];
    CHECK(n >= 4);
    struct e820_entry map[16];
    CHECK_EQ(e820_build(&mem, map, 16), n);
    CHECK(!memcmp(zp + 0x2d0, map, n * 20));
    CHECK_EQ(t_r64(zp + 0x2d0 + 3 * 20), 0x100000);
    CHECK_EQ(t_r64(zp + 0x070), 0);            /* no ACPI tables built here */
    free(bz);
}

static void bzimage_no_initrd_no_cmdline(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), 0);
    const uint8_t *zp = gp(LAYOUT_ZERO_PAGE);
    CHECK_EQ(t_r32(zp + 0x218), 0);
    CHECK_EQ(t_r32(zp + 0x21c), 0);
    CHECK_EQ(*gp(LAYOUT_CMDLINE), 0);
    free(bz);
}

/* The memory map is the board's (board/e820.c): the loaders copy what they
 * are given, and refuse to boot without one or with more than fits. */
static void bzimage_takes_the_boards_map(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    struct e820_entry map[2] = { { 0, 0x9f000, 1 }, { 0x100000, 0x700000, 1 } };
    struct boot_input in = { .kernel = bz, .kernel_len = len, .e820 = map, .e820_count = 2 };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), 0);
    const uint8_t *zp = gp(LAYOUT_ZERO_PAGE);
    CHECK_EQ(zp[0x1e8], 2);
    CHECK(!memcmp(zp + 0x2d0, map, sizeof(map)));
    CHECK_EQ(t_r64(zp + 0x70), 0);                 /* no RSDP given: none passed on */
    in.e820_count = 0;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -EINVAL);
    CHECK(strstr(err.msg, "memory map has 0 entries") != NULL);
    in.e820_count = 129;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -EINVAL);
    CHECK(strstr(err.msg, "memory map has 129 entries (1 to 128") != NULL);
    in.e820 = NULL;
    in.e820_count = 2;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -EINVAL);
    free(bz);
}

static void bzimage_rejects_old_protocol(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    t_w16(bz + 0x206, 0x020a);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "too old"));
    CHECK(has(err.msg, "2.10"));
    free(bz);
}

static void bzimage_rejects_32bit(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    t_w16(bz + 0x236, 0);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "64-bit"));
    free(bz);
}

static void bzimage_rejects_bad_magic(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    memcpy(bz + 0x202, "HdrX", 4);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "HdrS"));
    free(bz);
}

static void bzimage_rejects_truncated(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    struct cpu_state s;
    /* Cut inside the kernel: syssize says more. */
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len - 100 };
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "truncated"));
    /* Cut inside the setup sectors. */
    in.kernel_len = 0x400;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "truncated"));
    /* Cut inside the setup header itself. */
    in.kernel_len = 0x240;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    CHECK(has(err.msg, "header"));
    in.kernel_len = 0x100;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOEXEC);
    free(bz);
}

static void bzimage_rejects_long_cmdline(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    t_w32(bz + 0x238, 16);
    char cmd[100];
    memset(cmd, 'x', sizeof(cmd) - 1);
    cmd[sizeof(cmd) - 1] = 0;
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len, .cmdline = cmd };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -E2BIG);
    CHECK(has(err.msg, "command line"));
    CHECK(has(err.msg, "16"));
    cmd[16] = 0;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), 0);
    free(bz);
}

static void bzimage_rejects_big_initrd(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    size_t rdlen = 50ULL << 20;    /* the kernel unpacks at 16 MiB: 50 MiB cannot fit above */
    uint8_t *rd = calloc(1, rdlen);
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len, .initrd = rd, .initrd_len = rdlen };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOMEM);
    CHECK(has(err.msg, "initrd"));
    CHECK(has(err.msg, "too big"));
    /* initrd_addr_max below the kernel: nowhere to go either. */
    in.initrd_len = 4096;
    t_w32(bz + 0x22c, 0xfffff);
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOMEM);
    CHECK(has(err.msg, "initrd"));
    free(rd);
    free(bz);
}

static void bzimage_needs_ram_to_unpack(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    t_w32(bz + 0x260, 60u << 20);   /* init_size: 16 + 60 MiB > 64 MiB */
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), -ENOMEM);
    CHECK(has(err.msg, "more memory"));
    free(bz);
}

static void bzimage_non_relocatable_at_pref(void)
{
    fresh_mem();
    size_t len;
    uint8_t *bz = t_make_bzimage(&len);
    bz[0x234] = 0;
    struct boot_input in = { T_BOARD(&mem), .kernel = bz, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_bzimage(&mem, &in, &s, &err), 0);
    CHECK_EQ(s.rip, 0x1000200);
    CHECK(!memcmp(gp(0x1000000), bz + T_BZ_SETUP_SIZE, T_BZ_KERNEL_SIZE));
    free(bz);
}

/* A real Debian kernel, when one was extracted into /tmp (see docs/kernels.md). */
static void bzimage_debian_kernel(void)
{
    check_failed_now = 0;
    const char *path = getenv("HOSTEL_TEST_BZIMAGE");
    if (!path)
        path = "/tmp/deb/vmlinuz";
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("SKIP: bzimage_debian_kernel (no kernel at %s; set HOSTEL_TEST_BZIMAGE)\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *k = malloc((size_t)n);
    size_t got = fread(k, 1, (size_t)n, f);
    fclose(f);
    if (mem.host)
        mem_destroy(&mem);
    CHECK_EQ(mem_init(&mem, 256ULL << 20), 0);
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = got, .cmdline = "console=ttyS0" };
    struct cpu_state s;
    CHECK_EQ(kernel_detect(k, got), KERNEL_BZIMAGE);
    int r = load_bzimage(&mem, &in, &s, &err);
    if (r)
        printf("  %s\n", err.msg);
    CHECK_EQ(r, 0);
    CHECK_EQ(s.rip, LAYOUT_KERNEL + 0x200);
    CHECK(!memcmp(gp(LAYOUT_ZERO_PAGE + 0x202), "HdrS", 4));
    free(k);
    mem_destroy(&mem);                  /* the next case maps its usual size again */
    memset(&mem, 0, sizeof(mem));
    printf("%s: bzimage_debian_kernel\n", check_failed_now ? "FAIL" : "PASS");
    check_failures += check_failed_now;
}

/* The vmlinux inside that kernel, unpacked as docs/kernels.md shows: e_entry
 * is physical (16 MiB) and the per-CPU segment has virtual address 0. */
static void elf64_debian_vmlinux(void)
{
    check_failed_now = 0;
    const char *path = getenv("HOSTEL_TEST_VMLINUX");
    if (!path)
        path = "/tmp/deb/vmlinux";
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("SKIP: elf64_debian_vmlinux (no vmlinux at %s; set HOSTEL_TEST_VMLINUX)\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *k = malloc((size_t)n);
    size_t got = fread(k, 1, (size_t)n, f);
    fclose(f);
    if (mem.host)
        mem_destroy(&mem);
    CHECK_EQ(mem_init(&mem, 256ULL << 20), 0);
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = got, .cmdline = "console=ttyS0" };
    struct cpu_state s;
    CHECK_EQ(kernel_detect(k, got), KERNEL_ELF64);
    int r = load_kernel(&mem, &in, &s, &err);
    if (r)
        printf("  %s\n", err.msg);
    CHECK_EQ(r, 0);
    CHECK_EQ(s.rip, t_r64(k + 24));
    CHECK_EQ(s.gpr[R_RSI], LAYOUT_ZERO_PAGE);
    free(k);
    mem_destroy(&mem);
    memset(&mem, 0, sizeof(mem));
    printf("%s: elf64_debian_vmlinux\n", check_failed_now ? "FAIL" : "PASS");
    check_failures += check_failed_now;
}

/* ---- ELF64 ---- */

static void elf64_vmlinux_style(void)
{
    fresh_mem();
    struct t_seg segs[2] = {
        { .offset = 0x1000, .vaddr = 0xffffffff81000000ULL, .paddr = 0x1000000,
          .filesz = 0x800, .memsz = 0x3000, .fill = 0xaa },
        { .offset = 0x2000, .vaddr = 0xffffffff81400000ULL, .paddr = 0x1400000,
          .filesz = 0x100, .memsz = 0x100, .fill = 0xbb },
    };
    size_t len;
    uint8_t *e = t_make_elf(1, 62, 2, 0xffffffff81000040ULL, segs, 2, &len);
    struct boot_input in = { T_BOARD(&mem), .kernel = e, .kernel_len = len, .cmdline = "root=/dev/vda" };
    struct cpu_state s;
    int r = load_elf64(&mem, &in, &s, &err);
    CHECK_EQ(r, 0);
    if (r)
        printf("  %s\n", err.msg);
    CHECK_EQ(s.rip, 0x1000040);
    CHECK_EQ(s.gpr[R_RSI], LAYOUT_ZERO_PAGE);
    check_long_mode_state(&s);
    CHECK_EQ(*gp(0x1000000), 0xaa);
    CHECK_EQ(*gp(0x10007ff), 0xaa);
    CHECK_EQ(*gp(0x1000800), 0);               /* bss zeroed */
    CHECK_EQ(*gp(0x1002fff), 0);
    CHECK_EQ(*gp(0x1003000), 0xcc);            /* and no further */
    CHECK_EQ(*gp(0x1400000), 0xbb);
    const uint8_t *zp = gp(LAYOUT_ZERO_PAGE);
    CHECK(!memcmp(zp + 0x202, "HdrS", 4));
    CHECK_EQ(t_r32(zp + 0x228), LAYOUT_CMDLINE);
    CHECK(!strcmp((const char *)gp(LAYOUT_CMDLINE), "root=/dev/vda"));
    CHECK(zp[0x1e8] >= 4);
    free(e);
}

static void elf64_physical_entry_and_initrd(void)
{
    fresh_mem();
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0xffffffff81000000ULL, .paddr = 0x1000000,
                         .filesz = 0x100, .memsz = 0x100, .fill = 1 };
    size_t len;
    uint8_t *e = t_make_elf(1, 62, 2, 0x1000000, &seg, 1, &len);
    uint8_t rd[5000];
    memset(rd, 0x77, sizeof(rd));
    struct boot_input in = { T_BOARD(&mem), .kernel = e, .kernel_len = len, .initrd = rd, .initrd_len = sizeof(rd) };
    struct cpu_state s;
    CHECK_EQ(load_elf64(&mem, &in, &s, &err), 0);
    CHECK_EQ(s.rip, 0x1000000);
    const uint8_t *zp = gp(LAYOUT_ZERO_PAGE);
    uint32_t at = t_r32(zp + 0x218);
    CHECK_EQ(t_r32(zp + 0x21c), sizeof(rd));
    CHECK_EQ(at & 0xfff, 0);
    CHECK(at > 0x1000100);
    CHECK(!memcmp(gp(at), rd, sizeof(rd)));
    free(e);
}

static int elf_error(const struct t_seg *segs, int n, uint64_t entry, size_t cut, const char *w1,
                     const char *w2)
{
    fresh_mem();
    size_t len;
    uint8_t *e = t_make_elf(1, 62, 2, entry, segs, n, &len);
    struct boot_input in = { T_BOARD(&mem), .kernel = e, .kernel_len = cut ? cut : len };
    struct cpu_state s;
    int r = load_elf64(&mem, &in, &s, &err);
    free(e);
    int ok = r < 0 && has(err.msg, w1) && (!w2 || has(err.msg, w2));
    if (r == 0)
        printf("  loaded but should have failed\n");
    return ok;
}

static void elf64_rejects_overlap(void)
{
    struct t_seg segs[2] = {
        { .offset = 0x1000, .vaddr = 0x200000, .paddr = 0x200000, .filesz = 0x100, .memsz = 0x2000 },
        { .offset = 0x2000, .vaddr = 0x201000, .paddr = 0x201000, .filesz = 0x100, .memsz = 0x100 },
    };
    CHECK(elf_error(segs, 2, 0x200000, 0, "overlap", "0x201000"));
}

static void elf64_rejects_outside_ram(void)
{
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x3f00000, .paddr = 0x3f00000,
                         .filesz = 0x100, .memsz = 0x200000 };
    CHECK(elf_error(&seg, 1, 0x3f00000, 0, "outside guest RAM", "segment 0"));
    seg.paddr = 0xf0000000;
    CHECK(elf_error(&seg, 1, 0x3f00000, 0, "outside guest RAM", NULL));
}

static void elf64_rejects_low_area(void)
{
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x8000, .paddr = 0x8000,
                         .filesz = 0x100, .memsz = 0x100 };
    CHECK(elf_error(&seg, 1, 0x8000, 0, "1 MiB", "0x8000"));
}

static void elf64_rejects_beyond_file(void)
{
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x200000, .paddr = 0x200000,
                         .filesz = 0x1000, .memsz = 0x1000 };
    CHECK(elf_error(&seg, 1, 0x200000, 0x1800, "beyond the end of the file", "segment 0"));
    CHECK(elf_error(&seg, 1, 0x200000, 80, "truncated", NULL));   /* program headers cut */
    CHECK(elf_error(&seg, 1, 0x200000, 40, "ELF", NULL));         /* ELF header cut */
}

static void elf64_rejects_bad_entry(void)
{
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x200000, .paddr = 0x200000,
                         .filesz = 0x100, .memsz = 0x100 };
    CHECK(elf_error(&seg, 1, 0x900000, 0, "entry point", NULL));
}

static void elf64_rejects_wrong_kind(void)
{
    fresh_mem();
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0x200000, .paddr = 0x200000,
                         .filesz = 0x100, .memsz = 0x100 };
    size_t len;
    struct cpu_state s;
    uint8_t *e = t_make_elf(1, 62, 3, 0x200000, &seg, 1, &len);   /* ET_DYN */
    struct boot_input in = { T_BOARD(&mem), .kernel = e, .kernel_len = len };
    CHECK(load_elf64(&mem, &in, &s, &err) < 0);
    CHECK(has(err.msg, "ET_EXEC"));
    free(e);
    e = t_make_elf(1, 183, 2, 0x200000, &seg, 1, &len);           /* aarch64 */
    in.kernel = e;
    CHECK(load_elf64(&mem, &in, &s, &err) < 0);
    CHECK(has(err.msg, "x86-64"));
    free(e);
    seg.filesz = 0x200;   /* file size above memory size */
    e = t_make_elf(1, 62, 2, 0x200000, &seg, 1, &len);
    in.kernel = e;
    in.kernel_len = len;
    CHECK(load_elf64(&mem, &in, &s, &err) < 0);
    CHECK(has(err.msg, "malformed"));
    free(e);
}

int main(void)
{
    RUN_TEST(detect_formats);
    RUN_TEST(load_kernel_rejects_unknown);
    RUN_TEST(e820_low_and_high);
    RUN_TEST(protected_mode_state);
    RUN_TEST(bzimage_loads);
    RUN_TEST(bzimage_no_initrd_no_cmdline);
    RUN_TEST(bzimage_takes_the_boards_map);
    RUN_TEST(bzimage_rejects_old_protocol);
    RUN_TEST(bzimage_rejects_32bit);
    RUN_TEST(bzimage_rejects_bad_magic);
    RUN_TEST(bzimage_rejects_truncated);
    RUN_TEST(bzimage_rejects_long_cmdline);
    RUN_TEST(bzimage_rejects_big_initrd);
    RUN_TEST(bzimage_needs_ram_to_unpack);
    RUN_TEST(bzimage_non_relocatable_at_pref);
    bzimage_debian_kernel();
    elf64_debian_vmlinux();
    RUN_TEST(elf64_vmlinux_style);
    RUN_TEST(elf64_physical_entry_and_initrd);
    RUN_TEST(elf64_rejects_overlap);
    RUN_TEST(elf64_rejects_outside_ram);
    RUN_TEST(elf64_rejects_low_area);
    RUN_TEST(elf64_rejects_beyond_file);
    RUN_TEST(elf64_rejects_bad_entry);
    RUN_TEST(elf64_rejects_wrong_kind);
    if (mem.host)
        mem_destroy(&mem);
    return CHECK_DONE();
}
