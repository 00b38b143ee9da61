/* Robustness of the loaders against damaged kernels: thousands of
 * deterministic mutations of valid images must each load or fail with a
 * message, never crash or write outside guest RAM (run under `make asan`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "loader_images.h"
#include "board/layout.h"
#include "boot/loader.h"

#define ITERATIONS 1500

static struct guest_mem mem;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Mutates bytes in [lo, hi) of img (mostly header fields), sometimes truncates. */
static size_t mutate(uint8_t *img, size_t len, size_t lo, size_t hi)
{
    static const uint8_t interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40 };
    int n = 1 + (int)(next() % 6);
    for (int i = 0; i < n; i++) {
        size_t at = lo + next() % (hi - lo);
        if (at >= len)
            continue;
        img[at] = (next() & 1) ? (uint8_t)next() : interesting[next() % sizeof(interesting)];
    }
    if (next() % 8 == 0)
        len = next() % (len + 1);
    return len;
}

static int run_mutations(const uint8_t *base, size_t len, size_t lo, size_t hi, const char *what)
{
    uint8_t *img = malloc(len);
    struct err err = ERR_INIT;
    int loaded = 0, failed = 0, bad = 0;
    for (int i = 0; i < ITERATIONS; i++) {
        memcpy(img, base, len);
        size_t l = mutate(img, len, lo, hi);
        struct boot_input in = { T_BOARD(&mem), .kernel = img, .kernel_len = l, .cmdline = "console=ttyS0",
                                 .initrd = base, .initrd_len = 4096 };
        struct cpu_state s;
        err_clear(&err);
        int r = load_kernel(&mem, &in, &s, &err);
        if (r == 0) {
            loaded++;
            if (!mem_is_ram(&mem, s.rip)) {
                printf("  %s mutation %d: entry %#llx is not in RAM\n", what, i,
                       (unsigned long long)s.rip);
                bad++;
            }
        } else if (r < 0 && err.msg[0]) {
            failed++;
        } else {
            printf("  %s mutation %d: returned %d with message \"%s\"\n", what, i, r, err.msg);
            bad++;
        }
    }
    free(img);
    printf("  %s: %d loaded, %d refused\n", what, loaded, failed);
    return bad;
}

static void fuzz_bzimage(void)
{
    size_t len;
    uint8_t *b = t_make_bzimage(&len);
    CHECK_EQ(run_mutations(b, len, 0x1f1, 0x270, "bzImage"), 0);
    free(b);
}

static void fuzz_elf64(void)
{
    size_t len;
    uint8_t *e = t_sample_elf64(&len);
    CHECK_EQ(run_mutations(e, len, 0, 64 + 2 * 56, "ELF64"), 0);
    free(e);
}

static void fuzz_multiboot_elf32(void)
{
    size_t len;
    uint8_t *e = t_sample_multiboot_elf32(&len);
    CHECK_EQ(run_mutations(e, len, 0, 52 + 2 * 32, "Multiboot ELF32 headers"), 0);
    CHECK_EQ(run_mutations(e, len, 0x1000, 0x100c, "Multiboot ELF32 magic"), 0);
    free(e);
}

static void fuzz_multiboot_kludge(void)
{
    size_t len;
    uint8_t *k = t_sample_multiboot_kludge(&len);
    CHECK_EQ(run_mutations(k, len, 0x44, 0x60, "Multiboot kludge"), 0);
    free(k);
}

int main(void)
{
    if (mem_init(&mem, 64ULL << 20) < 0) {
        printf("FAIL: fuzz (cannot allocate guest memory)\n");
        return 1;
    }
    RUN_TEST(fuzz_bzimage);
    RUN_TEST(fuzz_elf64);
    RUN_TEST(fuzz_multiboot_elf32);
    RUN_TEST(fuzz_multiboot_kludge);
    mem_destroy(&mem);
    return CHECK_DONE();
}
