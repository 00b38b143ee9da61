/* x86-64-v3 workload: qsort and an LSD radix sort of 64-bit keys (and of
 * strings by qsort/strcmp), with checksums of the sorted order.  Usage:
 * sort [thousands of keys]  (default 100) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void radix_sort(uint64_t *v, uint64_t *tmp, size_t n)
{
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[257] = { 0 };
        for (size_t i = 0; i < n; i++)
            count[((v[i] >> shift) & 0xff) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            tmp[count[(v[i] >> shift) & 0xff]++] = v[i];
        memcpy(v, tmp, n * sizeof(*v));
    }
}

static uint64_t digest(const uint64_t *v, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 0x100000001b3ULL + (h >> 29);
    return h;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 100) * 1000;
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *t = malloc(n * 8);
    char **s = malloc(n * sizeof(*s));
    char *pool = malloc(n * 16);
    if (!a || !b || !t || !s || !pool) return 1;
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        a[i] = b[i] = i % 5 ? x : x >> (i % 61);
        s[i] = pool + i * 16;
        snprintf(s[i], 16, "%llx", (unsigned long long)(x % 1000003));
    }
    qsort(a, n, 8, cmp_u64);
    radix_sort(b, t, n);
    qsort(s, n, sizeof(*s), cmp_str);
    for (size_t i = 1; i < n; i++)
        if (a[i - 1] > a[i] || a[i] != b[i] || strcmp(s[i - 1], s[i]) > 0) {
            printf("unsorted at %zu\n", i);
            return 1;
        }
    printf("n %zu qsort %016llx radix %016llx min %016llx max %016llx median %016llx\n", n,
           (unsigned long long)digest(a, n), (unsigned long long)digest(b, n),
           (unsigned long long)a[0], (unsigned long long)a[n - 1], (unsigned long long)a[n / 2]);
    printf("strings first %s last %s middle %s\n", s[0], s[n - 1], s[n / 2]);
    return 0;
}
