/* x86-64-v3 workload: CRC-32 (bitwise and table), Adler-32, FNV-1a and a
 * vectorisable sum of squares over a generated buffer.  Built with
 * gcc -O2 -march=x86-64-v3, the loops become AVX2 (ymm) code with BMI2
 * shifts.  Usage: checksum [KiB]  (default 256) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & -(c & 1));
        crc_table[i] = c;
    }
}

static uint32_t crc32_table(const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

static uint32_t adler32(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        b = (b + a) % 65521;
    }
    return (b << 16) | a;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* Vectorised: byte sums, sums of squares, a variable-shift mix. */
static uint64_t mix(const uint8_t *p, size_t n, unsigned *shift_out)
{
    uint32_t acc[8] = { 0 };
    uint64_t sq = 0;
    for (size_t i = 0; i < n; i++) {
        acc[i & 7] += p[i];
        sq += (uint32_t)p[i] * p[i];
    }
    uint64_t h = sq;
    unsigned s = 0;
    for (int i = 0; i < 8; i++) {
        s = (s + acc[i]) & 63;
        h ^= (h << s) | (h >> (63 - s) >> 1);
        h += (uint64_t)acc[i] >> (s & 31);
    }
    *shift_out = s;
    return h;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atoi(argv[1]) : 256) * 1024;
    uint8_t *buf = malloc(n);
    if (!buf) return 1;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        buf[i] = (uint8_t)(i % 97 < 30 ? 'a' + x % 26 : x >> 24);
    }
    crc_init();
    for (size_t len = 1; len <= n; len = len * 3 + 1) {
        unsigned s;
        uint64_t m = mix(buf, len, &s);
        printf("len %zu: crc32 %08x adler32 %08x fnv1a %016llx mix %016llx/%u\n", len,
               crc32_table(buf, len), adler32(buf, len), (unsigned long long)fnv1a(buf, len),
               (unsigned long long)m, s);
    }
    unsigned s;
    printf("all %zu: crc32 %08x adler32 %08x fnv1a %016llx mix %016llx\n", n, crc32_table(buf, n),
           adler32(buf, n), (unsigned long long)fnv1a(buf, n), (unsigned long long)mix(buf, n, &s));
    free(buf);
    return 0;
}
