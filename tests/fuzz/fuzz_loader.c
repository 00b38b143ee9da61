/* libFuzzer target for the kernel loaders (src/boot: bzImage with its setup
 * header, ELF64 with PVH notes, Multiboot ELF32 and a.out kludge): the
 * input is a kernel file, with an initrd cut from its tail.  Each load must
 * succeed with an entry point in guest RAM or fail with a message; nothing
 * may be written outside the 32 MiB of guest RAM. */
#include <stdio.h>
#include <stdlib.h>

#include "loader_images.h"
#include "board/layout.h"
#include "boot/loader.h"
#include "lib/err.h"

static struct guest_mem fz_ld_mem;

/* Input: byte 0 says how much of the tail is an initrd (its low 4 bits, in
 * sixteenths) and whether there is a long command line (bit 4); the rest
 * is the kernel. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char long_cmdline[4096];
    if (!fz_ld_mem.host) {
        if (mem_init(&fz_ld_mem, 32ULL << 20) < 0)
            abort();
        memset(long_cmdline, 'x', sizeof(long_cmdline) - 1);
    }
    if (size < 1)
        return 0;
    size_t klen = size - 1, ilen = klen * (data[0] & 15) / 16;
    klen -= ilen;
    /* Exact-size copies: reads past either end show. */
    uint8_t *k = malloc(klen + 1), *ird = ilen ? malloc(ilen) : NULL;
    if (!k || (ilen && !ird))
        abort();
    memcpy(k, data + 1, klen);
    if (ilen)
        memcpy(ird, data + 1 + klen, ilen);
    struct boot_input in = { T_BOARD(&fz_ld_mem), .kernel = k, .kernel_len = klen,
                             .initrd = ird, .initrd_len = ilen,
                             .cmdline = (data[0] & 16) ? long_cmdline : "console=ttyS0",
                             .kernel_name = "fuzz", .initrd_name = "fuzz-initrd",
                             .vga_text = data[0] & 32 };
    struct cpu_state s;
    struct err e = ERR_INIT;
    int r = load_kernel(&fz_ld_mem, &in, &s, &e);
    if (r == 0 && !mem_is_ram(&fz_ld_mem, s.rip))
        abort();                           /* loaded, but the entry is not in RAM */
    if (r < 0 && !e.msg[0])
        abort();                           /* refused without saying why */
    if (r > 0)
        abort();
    free(k);
    free(ird);
    return 0;
}
