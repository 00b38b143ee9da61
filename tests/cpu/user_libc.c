/* A static glibc program for hostel-emu-user: exercises the string
 * functions glibc picks by CPUID (SSE2/SSSE3/SSE4.2 variants on emu, AVX2 or
 * EVEX natively), stdio number formatting, qsort, strtod and libm, and prints
 * results that must be identical natively and on emu (run_emu_user.sh). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static uint64_t h = 1469598103934665603ULL;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ULL; }
static uint64_t rng = 88172645463325252ULL;
static uint64_t xr(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    static char buf[8192], buf2[8192];
    /* String functions over every length and alignment up to 300 bytes. */
    for (int len = 0; len < 300; len++) {
        for (int al = 0; al < 64; al += 7) {
            char *s = buf + 64 + al;
            for (int i = 0; i < len; i++) s[i] = (char)('a' + (xr() % 26));
            s[len] = 0;
            mix(strlen(s));
            mix(strnlen(s, (size_t)len / 2 + 1));
            char c = len ? s[xr() % (unsigned)len] : 'q';
            mix(strchr(s, c) ? (uint64_t)(strchr(s, c) - s) : 999);
            mix(strrchr(s, c) ? (uint64_t)(strrchr(s, c) - s) : 999);
            mix(memchr(s, c, (size_t)len) ? (uint64_t)((char *)memchr(s, c, (size_t)len) - s) : 999);
            char *d = buf2 + 32 + (al * 3) % 61;
            memcpy(d, s, (size_t)len + 1);
            mix((uint64_t)strcmp(d, s));
            if (len) { d[len - 1] ^= 1; mix((uint64_t)(strcmp(d, s) > 0)); mix((uint64_t)(memcmp(d, s, (size_t)len) < 0)); }
            mix((uint64_t)strncmp(d, s, (size_t)len / 2));
            memmove(d + 1, d, (size_t)len);
            mix((uint64_t)(unsigned char)d[len / 2]);
            memset(d, 'x', (size_t)len);
            mix((uint64_t)(unsigned char)d[len ? len - 1 : 0]);
            strcpy(d, s);
            strcat(d, "tail");
            mix(strlen(d));
            mix(strspn(s, "abcdefghij"));
            mix(strcspn(s, "xyz"));
            mix(strstr(s, "ab") ? (uint64_t)(strstr(s, "ab") - s) : 999);
            mix(strcasecmp(s, d) < 0);
        }
    }
    printf("strings %016llx\n", (unsigned long long)h);

    /* Wide strings. */
    wchar_t w[200];
    for (int i = 0; i < 199; i++) w[i] = (wchar_t)(0x41 + i % 50);
    w[199] = 0;
    printf("wcslen %zu wcschr %td\n", wcslen(w), wcschr(w, 0x60) - w);

    /* Number formatting and parsing. */
    double acc = 0;
    for (int i = 1; i <= 2000; i++) {
        double v = (double)(int64_t)xr() / (double)(xr() | 1) * pow(10.0, (double)(i % 40) - 20);
        char t[64];
        snprintf(t, sizeof(t), "%.17g", v);
        double back = strtod(t, NULL);
        if (back != v) printf("strtod round trip failed for %s\n", t);
        acc += back;
        if (i % 250 == 0) printf("%s %e %a %.3f %g\n", t, v, v, v, v);
    }
    printf("sum %.17g\n", acc);
    printf("ints %d %ld %llu %x %o %+05d %-6d|\n", -12345, -9876543210L, 18446744073709551615ULL,
           0xdeadbeef, 0777, 42, 7);
    printf("long double %.20Lg %.5Le\n", 1.0L / 3.0L, 2.0L / 7.0L);

    /* Sorting. */
    static uint32_t a[20000];
    for (int i = 0; i < 20000; i++) a[i] = (uint32_t)xr();
    qsort(a, 20000, sizeof(a[0]), cmp_u32);
    h = 1469598103934665603ULL;
    for (int i = 0; i < 20000; i++) mix(a[i]);
    printf("qsort %016llx first %u last %u\n", (unsigned long long)h, a[0], a[19999]);

    /* libm, rounded to 12 digits: glibc's FMA and SSE2 paths may differ in the last bit. */
    double m = 0;
    for (int i = 1; i < 500; i++) {
        double x = i * 0.37;
        m += sin(x) + cos(x) + exp(-x / 50) + log(x) + sqrt(x) + atan2(x, 3.0) + pow(x, 0.3) + floor(x) + fmod(x, 1.7);
    }
    printf("libm %.12g %.12g %.12g %.12g\n", m, tan(0.5), cbrt(27.5), hypot(3.0, 4.5));
    printf("rint %.1f %.1f %ld %ld\n", rint(2.5), nearbyint(-3.5), lrint(7.5), lround(-2.5));
    return 0;
}
