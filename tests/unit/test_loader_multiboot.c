/* Unit tests for the Multiboot v1 loader: address-kludge and ELF32/ELF64
 * images, the info structure handed to the kernel, and malformed headers. */
#include <dirent.h>
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
    memset(mem.host, 0xcc, mem.size);
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

/* A flat image: header at 0x40, loaded at 1 MiB, code bytes 0xf4 after it. */
#define KL_SIZE 0x1000
static uint8_t *make_kludge(uint32_t flags, uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
    uint8_t *b = calloc(1, KL_SIZE);
    memset(b + 0x80, 0xf4, KL_SIZE - 0x80);
    t_mb_header(b + 0x40, flags | (1u << 16));
    t_w32(b + 0x4c, 0x100040);      /* header_addr */
    t_w32(b + 0x50, 0x100000);      /* load_addr */
    t_w32(b + 0x54, load_end);
    t_w32(b + 0x58, bss_end);
    t_w32(b + 0x5c, entry);
    return b;
}

static void check_pm_state(const struct cpu_state *s, uint64_t entry)
{
    CHECK_EQ(s->rip, entry);
    CHECK_EQ(s->gpr[R_RAX], 0x2BADB002u);
    CHECK_EQ(s->gpr[R_RBX], LAYOUT_MB_INFO);
    CHECK_EQ(s->seg[S_CS].selector, 0x08);
    CHECK_EQ(s->seg[S_CS].db, 1);
    CHECK_EQ(s->seg[S_CS].l, 0);
    CHECK_EQ(s->seg[S_CS].limit, 0xffffffffu);
    for (int i = 0; i < 6; i++)
        if (i != S_CS) {
            CHECK_EQ(s->seg[i].selector, 0x18);
            CHECK_EQ(s->seg[i].base, 0);
            CHECK_EQ(s->seg[i].present, 1);
        }
    CHECK_EQ(s->cr0 & (CR0_PE | CR0_PG), CR0_PE);
    CHECK_EQ(s->efer, 0);
    CHECK_EQ(s->rflags, 2);
    CHECK_EQ(s->tr.type, 11);
    CHECK_EQ(s->tr.present, 1);
    CHECK_EQ(s->gdt.base, LAYOUT_BOOT_GDT);
}

static void check_info(const char *cmdline, int with_module)
{
    const uint8_t *mbi = gp(LAYOUT_MB_INFO);
    uint32_t flags = t_r32(mbi);
    CHECK(flags & (1u << 0));
    CHECK(flags & (1u << 2));
    CHECK(flags & (1u << 6));
    CHECK(flags & (1u << 9));
    CHECK_EQ(!!(flags & (1u << 3)), with_module);
    CHECK_EQ(t_r32(mbi + 4), 639);
    CHECK_EQ(t_r32(mbi + 8), (RAM - 0x100000) >> 10);
    CHECK(!strcmp((const char *)gp(t_r32(mbi + 16)), cmdline));
    CHECK(!strcmp((const char *)gp(t_r32(mbi + 64)), "hostel"));

    /* Memory map: entries of size 20 matching e820_build. */
    struct e820_entry map[16];
    int n = e820_build(&mem, map, 16);
    CHECK_EQ(t_r32(mbi + 44), n * 24);
    const uint8_t *mm = gp(t_r32(mbi + 48));
    for (int i = 0; i < n; i++, mm += 24) {
        CHECK_EQ(t_r32(mm), 20);
        CHECK_EQ(t_r64(mm + 4), map[i].addr);
        CHECK_EQ(t_r64(mm + 12), map[i].size);
        CHECK_EQ(t_r32(mm + 20), map[i].type);
    }
}

static void multiboot_kludge_loads(void)
{
    fresh_mem();
    uint8_t *k = make_kludge(3, 0, 0x103000, 0x100080);
    uint8_t rd[6000];
    memset(rd, 0x42, sizeof(rd));
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = KL_SIZE, .cmdline = "hello world",
                             .initrd = rd, .initrd_len = sizeof(rd), .initrd_name = "disk.img" };
    struct cpu_state s;
    CHECK_EQ(kernel_detect(k, KL_SIZE), KERNEL_MULTIBOOT);
    int r = load_kernel(&mem, &in, &s, &err);
    CHECK_EQ(r, 0);
    if (r) {
        printf("  %s\n", err.msg);
        free(k);
        return;
    }
    CHECK(!memcmp(gp(0x100000), k, KL_SIZE));
    CHECK_EQ(*gp(0x101000), 0);       /* bss zeroed */
    CHECK_EQ(*gp(0x102fff), 0);
    CHECK_EQ(*gp(0x103000), 0xcc);
    check_pm_state(&s, 0x100080);
    check_info("hello world", 1);

    const uint8_t *mbi = gp(LAYOUT_MB_INFO);
    CHECK_EQ(t_r32(mbi + 20), 1);
    const uint8_t *mod = gp(t_r32(mbi + 24));
    uint32_t start = t_r32(mod), end = t_r32(mod + 4);
    CHECK_EQ(start & 0xfff, 0);
    CHECK_EQ(end - start, sizeof(rd));
    CHECK(start >= 0x103000);
    CHECK(end <= RAM);
    CHECK(!memcmp(gp(start), rd, sizeof(rd)));
    CHECK(!strcmp((const char *)gp(t_r32(mod + 8)), "disk.img"));
    free(k);
}

static void multiboot_kludge_load_end(void)
{
    fresh_mem();
    /* load_end_addr stops the copy; bss_end 0 means no bss. */
    uint8_t *k = make_kludge(0, 0x100800, 0, 0x100080);
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = KL_SIZE };
    struct cpu_state s;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), 0);
    CHECK_EQ(*gp(0x1007ff), 0xf4);
    CHECK_EQ(*gp(0x100800), 0xcc);
    check_info("", 0);
    free(k);
}

/* The memory map and lower memory come from the board's map. */
static void multiboot_takes_the_boards_map(void)
{
    fresh_mem();
    uint8_t *k = make_kludge(0, 0, 0, 0x100080);
    struct e820_entry map[2] = { { 0, 0x80000, 1 }, { 0x100000, 0x700000, 1 } };
    struct boot_input in = { .kernel = k, .kernel_len = KL_SIZE, .e820 = map, .e820_count = 2 };
    struct cpu_state s;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), 0);
    const uint8_t *mbi = gp(LAYOUT_MB_INFO);
    CHECK_EQ(t_r32(mbi + 4), 0x80000 >> 10);       /* mem_lower: the map's first RAM */
    CHECK_EQ(t_r32(mbi + 44), 2 * 24);             /* mmap_length */
    const uint8_t *mm = gp(t_r32(mbi + 48));
    CHECK_EQ(t_r32(mm), 20);
    CHECK_EQ(t_r64(mm + 4), 0);
    CHECK_EQ(t_r64(mm + 12), 0x80000);
    CHECK_EQ(t_r64(mm + 24 + 4), 0x100000);
    in.e820_count = 0;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), -EINVAL);
    CHECK(strstr(err.msg, "the board gave no memory map") != NULL);
    free(k);
}

/* ELF with the Multiboot header inside its first segment. */
static void multiboot_elf(int is64)
{
    fresh_mem();
    struct t_seg segs[2] = {
        { .offset = 0x1000, .vaddr = 0x100000, .paddr = 0x100000, .filesz = 0x1000,
          .memsz = 0x1000, .fill = 0x90 },
        { .offset = 0x2000, .vaddr = 0x200000, .paddr = 0x200000, .filesz = 0x10,
          .memsz = 0x2000, .fill = 0x91 },
    };
    size_t len;
    uint8_t *e = t_make_elf(is64, is64 ? 62 : 3, 2, 0x100010, segs, 2, &len);
    t_mb_header(e + 0x1000, 0x2);
    struct boot_input in = { T_BOARD(&mem), .kernel = e, .kernel_len = len, .cmdline = "x" };
    struct cpu_state s;
    CHECK_EQ(kernel_detect(e, len), KERNEL_MULTIBOOT);
    int r = load_kernel(&mem, &in, &s, &err);
    CHECK_EQ(r, 0);
    if (r)
        printf("  %s\n", err.msg);
    CHECK_EQ(t_r32(gp(0x100000)), 0x1BADB002u);
    CHECK_EQ(*gp(0x100fff), 0x90);
    CHECK_EQ(*gp(0x20000f), 0x91);
    CHECK_EQ(*gp(0x200010), 0);
    CHECK_EQ(*gp(0x201fff), 0);
    check_pm_state(&s, 0x100010);
    check_info("x", 0);
    free(e);
}

static void multiboot_elf32_loads(void) { multiboot_elf(0); }
static void multiboot_elf64_loads(void) { multiboot_elf(1); }

static void multiboot_elf_higher_half_entry(void)
{
    fresh_mem();
    struct t_seg seg = { .offset = 0x1000, .vaddr = 0xc0100000, .paddr = 0x100000,
                         .filesz = 0x1000, .memsz = 0x1000, .fill = 0x90 };
    size_t len;
    uint8_t *e = t_make_elf(0, 3, 2, 0xc0100020, &seg, 1, &len);
    t_mb_header(e + 0x1000, 0);
    struct boot_input in = { T_BOARD(&mem), .kernel = e, .kernel_len = len };
    struct cpu_state s;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), 0);
    CHECK_EQ(s.rip, 0x100020);
    free(e);
}

static int mb_error(const uint8_t *k, size_t len, const char *w1, const char *w2)
{
    fresh_mem();
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = len };
    struct cpu_state s;
    int r = load_multiboot(&mem, &in, &s, &err);
    if (r == 0)
        printf("  loaded but should have failed\n");
    return r < 0 && has(err.msg, w1) && (!w2 || has(err.msg, w2));
}

static void multiboot_rejects_bad_headers(void)
{
    uint8_t *k = make_kludge(0, 0, 0, 0x100080);
    t_w32(k + 0x48, t_r32(k + 0x48) + 1);
    CHECK(mb_error(k, KL_SIZE, "checksum", NULL));
    free(k);

    k = make_kludge(1u << 2, 0, 0, 0x100080);     /* video mode required */
    CHECK(mb_error(k, KL_SIZE, "video", NULL));
    free(k);

    k = make_kludge(1u << 5, 0, 0, 0x100080);     /* unknown required bit */
    CHECK(mb_error(k, KL_SIZE, "unsupported", "0x20"));
    free(k);

    k = make_kludge(3u | (1u << 20), 0, 0, 0x100080);   /* unknown optional bit: fine */
    fresh_mem();
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = KL_SIZE };
    struct cpu_state s;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), 0);
    free(k);

    uint8_t none[9000];
    memset(none, 0, sizeof(none));
    t_mb_header(none + 8192, 0);                  /* too far into the file */
    CHECK(mb_error(none, sizeof(none), "no Multiboot header", NULL));
    t_mb_header(none + 2, 0);                     /* not 4-byte aligned */
    CHECK(mb_error(none, sizeof(none), "no Multiboot header", NULL));
}

static void multiboot_rejects_bad_kludge(void)
{
    uint8_t *k = make_kludge(0, 0x102000, 0, 0x100080);   /* load_end beyond the file */
    CHECK(mb_error(k, KL_SIZE, "truncated", NULL));
    free(k);

    k = make_kludge(0, 0, 0, 0x100080);
    CHECK(mb_error(k, 0x58, "truncated", NULL));          /* header fields cut off */
    free(k);

    k = make_kludge(0, 0, 0x100800, 0x100080);            /* bss_end inside the image */
    CHECK(mb_error(k, KL_SIZE, "bss_end_addr", NULL));
    free(k);

    k = make_kludge(0, 0, 0, 0x200000);                   /* entry outside */
    CHECK(mb_error(k, KL_SIZE, "entry_addr", NULL));
    free(k);

    k = make_kludge(0, 0, 0, 0x100080);
    t_w32(k + 0x50, 0x100080);                            /* load_addr above header_addr */
    CHECK(mb_error(k, KL_SIZE, "inconsistent", NULL));
    t_w32(k + 0x4c, 0x8040);                              /* below 1 MiB */
    t_w32(k + 0x50, 0x8000);
    t_w32(k + 0x5c, 0x8080);
    CHECK(mb_error(k, KL_SIZE, "1 MiB", NULL));
    t_w32(k + 0x4c, 0x8000040);                           /* beyond 64 MiB of RAM */
    t_w32(k + 0x50, 0x8000000);
    t_w32(k + 0x5c, 0x8000080);
    CHECK(mb_error(k, KL_SIZE, "outside guest RAM", NULL));
    free(k);
}

static void multiboot_rejects_bad_elf(void)
{
    struct t_seg segs[2] = {
        { .offset = 0x1000, .vaddr = 0x100000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x1000 },
        { .offset = 0x1000, .vaddr = 0x100800, .paddr = 0x100800, .filesz = 0x100, .memsz = 0x100 },
    };
    size_t len;
    uint8_t *e = t_make_elf(0, 3, 2, 0x100010, segs, 2, &len);
    t_mb_header(e + 0x1000, 0);
    CHECK(mb_error(e, len, "overlap", NULL));
    CHECK(mb_error(e, 0x1800, "beyond the end of the file", NULL));
    free(e);
    /* Not an ELF and no address fields. */
    uint8_t raw[256];
    memset(raw, 0, sizeof(raw));
    t_mb_header(raw + 16, 0);
    CHECK(mb_error(raw, sizeof(raw), "flag 16", NULL));
}

static void multiboot_rejects_big_initrd_and_cmdline(void)
{
    uint8_t *k = make_kludge(0, 0, 0, 0x100080);
    size_t rdlen = RAM;
    uint8_t *rd = calloc(1, rdlen);
    fresh_mem();
    struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = KL_SIZE, .initrd = rd, .initrd_len = rdlen };
    struct cpu_state s;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), -ENOMEM);
    CHECK(has(err.msg, "initrd"));
    free(rd);
    char *cmd = malloc(LAYOUT_CMDLINE_MAX + 10);
    memset(cmd, 'a', LAYOUT_CMDLINE_MAX + 9);
    cmd[LAYOUT_CMDLINE_MAX + 9] = 0;
    in.initrd = NULL;
    in.initrd_len = 0;
    in.cmdline = cmd;
    CHECK_EQ(load_multiboot(&mem, &in, &s, &err), -E2BIG);
    CHECK(has(err.msg, "command line"));
    free(cmd);
    free(k);
}

/* The freestanding test guests (tests/guests, built into $BUILD/guests) are
 * Multiboot images with the address kludge: each must load. */
static void multiboot_test_guests(void)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/guests", build);
    DIR *d = opendir(dir);
    if (!d) {
        printf("SKIP: multiboot_test_guests (no test guests in %s; run make first)\n", dir);
        return;
    }
    check_failed_now = 0;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".elf"))
            continue;
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        uint8_t *k = malloc(4 << 20);
        size_t len = fread(k, 1, 4 << 20, f);
        fclose(f);
        fresh_mem();
        struct boot_input in = { T_BOARD(&mem), .kernel = k, .kernel_len = len, .cmdline = "test" };
        struct cpu_state s;
        int r = load_kernel(&mem, &in, &s, &err);
        if (r)
            printf("  %s: %s\n", path, err.msg);
        CHECK_EQ(r, 0);
        CHECK_EQ(s.gpr[R_RAX], 0x2BADB002u);
        CHECK(s.rip >= 0x100000 && mem_is_ram(&mem, s.rip));
        free(k);
        count++;
    }
    closedir(d);
    if (!count) {
        printf("SKIP: multiboot_test_guests (no .elf files in %s)\n", dir);
        return;
    }
    printf("%s: multiboot_test_guests (%d guests)\n", check_failed_now ? "FAIL" : "PASS", count);
    check_failures += check_failed_now;
}

int main(void)
{
    RUN_TEST(multiboot_kludge_loads);
    RUN_TEST(multiboot_kludge_load_end);
    RUN_TEST(multiboot_takes_the_boards_map);
    RUN_TEST(multiboot_elf32_loads);
    RUN_TEST(multiboot_elf64_loads);
    RUN_TEST(multiboot_elf_higher_half_entry);
    RUN_TEST(multiboot_rejects_bad_headers);
    RUN_TEST(multiboot_rejects_bad_kludge);
    RUN_TEST(multiboot_rejects_bad_elf);
    RUN_TEST(multiboot_rejects_big_initrd_and_cmdline);
    multiboot_test_guests();
    if (mem.host)
        mem_destroy(&mem);
    return CHECK_DONE();
}
