/* Says whether the CPU it runs on (the host, or emu under hostel-emu-user)
 * offers the x86-64-v3 level: prints "x86-64-v3" and exits 0, or prints
 * the missing features and exits 1.  Built without -march, so it runs on
 * any x86-64. */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

/* Leaf 1 ECX, leaf 7 EBX, leaf 0x80000001 ECX. */
enum { L1C, L7B, LXC };

static void add(char *buf, size_t size, const char *name)
{
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, " %s", name);
}

int main(void)
{
    unsigned a, b, c, d, r[3] = { 0, 0, 0 };
    char missing[256] = "";
    __cpuid(1, a, b, r[L1C], d);
    if (__get_cpuid_max(0, 0) >= 7)
        __cpuid_count(7, 0, a, r[L7B], c, d);
    if (__get_cpuid_max(0x80000000, 0) >= 0x80000001)
        __cpuid(0x80000001, a, b, r[LXC], d);
    static const struct { int reg; unsigned bit; const char *name; } need[] = {
        { L1C, 12, "fma" }, { L1C, 20, "sse4_2" }, { L1C, 22, "movbe" }, { L1C, 23, "popcnt" },
        { L1C, 27, "osxsave" }, { L1C, 28, "avx" }, { L1C, 29, "f16c" },
        { L7B, 3, "bmi1" }, { L7B, 5, "avx2" }, { L7B, 8, "bmi2" }, { LXC, 5, "lzcnt" },
    };
    for (unsigned i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if (!(r[need[i].reg] & (1u << need[i].bit)))
            add(missing, sizeof(missing), need[i].name);
    /* The OS (or emu's user-mode harness) must enable SSE and AVX state. */
    if (r[L1C] & (1u << 27)) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 6) != 6)
            add(missing, sizeof(missing), "xcr0-avx-state");
    }
    if (missing[0]) {
        printf("not x86-64-v3, missing:%s\n", missing);
        return 1;
    }
    printf("x86-64-v3\n");
    return 0;
}
