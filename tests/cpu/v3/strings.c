/* x86-64-v3 workload: the string functions glibc dispatches to its AVX2
 * variants when the CPU has AVX2/BMI2 (strlen, strnlen, memchr, memrchr,
 * strchr, strrchr, memcmp, strcmp, strncmp, memcpy, memmove, memset,
 * strcpy, stpcpy), over every length up to 300 and alignments 0..63,
 * with page-end placements; prints a digest of every result.
 * Usage: strings [rounds]  (default 1) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static uint64_t h = 1469598103934665603ULL;
static void put(uint64_t v)
{
    h = (h ^ v) * 1099511628211ULL;
}
/* Comparisons: only the sign is defined (glibc's variants differ in size). */
static void put_sign(int v)
{
    put((uint64_t)((v > 0) - (v < 0)));
}
static void put_ptr(const void *p, const void *base)
{
    put(p ? (uint64_t)((const char *)p - (const char *)base) : ~0ULL);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 1;
    /* Two pages, the second inaccessible: strings that end at the page end. */
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + 4096, 4096, PROT_NONE)) return 1;
    static char a[1024], b[1024], d[1024];
    for (int r = 0; r < rounds; r++) {
        for (int len = 0; len <= 300; len += (len < 80 ? 1 : 7)) {
            for (int al = 0; al < 64; al += (len < 40 ? 1 : 5)) {
                char *s = a + al, *t = b + ((al * 7) & 63);
                for (int i = 0; i < len; i++)
                    s[i] = t[i] = (char)('a' + (i * 7 + al + r) % 26);
                s[len] = t[len] = 0;
                if (len) t[len - 1 - (len * 5 + al) % len] ^= (al & 1) ? 0x20 : 0;
                put(strlen(s));
                put(strnlen(s, (size_t)len / 2 + al));
                put_ptr(memchr(s, 'a' + (len + al) % 26, (size_t)len), s);
                put_ptr(memrchr(s, 'q', (size_t)len), s);
                put_ptr(strchr(s, 'z'), s);
                put_ptr(strchr(s, 0), s);
                put_ptr(strrchr(s, 'b'), s);
                put_sign(memcmp(s, t, (size_t)len));
                put_sign(strcmp(s, t));
                put_sign(strncmp(s, t, (size_t)len / 2));
                memcpy(d + (al ^ 13), s, (size_t)len);
                put_sign(memcmp(d + (al ^ 13), s, (size_t)len));
                memmove(d + 3, d + (al ^ 13), (size_t)len);
                memset(d + al, 'x' + (len & 1), (size_t)len / 3);
                put(d[al + len / 3] + 256 * (unsigned char)d[3]);
                put_ptr(stpcpy(d + 1, s), d);
                strcpy(d + 2, t);
                put(strlen(d));
                /* The same string ending exactly at the page end. */
                char *e = map + 4096 - len - 1;
                memcpy(e, s, (size_t)len + 1);
                put(strlen(e));
                put_ptr(strchr(e, 'y'), e);
                put_ptr(memchr(e, 0, (size_t)len + 1), e);
                put_sign(strcmp(e, s));
            }
        }
    }
    printf("string functions: digest %016llx\n", (unsigned long long)h);
    return 0;
}
