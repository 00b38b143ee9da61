/* Parsing and printing of sizes with units. */
#include "lib/size.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int parse_size(const char *text, uint64_t *out)
{
    const char *p = text;
    uint64_t whole = 0, frac = 0, frac_div = 1;
    int digits = 0;

    if (!text)
        return -EINVAL;
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p++ - '0');
        if (whole > (UINT64_MAX - d) / 10)
            return -ERANGE;
        whole = whole * 10 + d;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            if (frac_div < 1000000000ULL) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_div *= 10;
            }
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return -EINVAL;

    unsigned shift = 0;
    switch (toupper((unsigned char)*p)) {
    case 'K': shift = 10; p++; break;
    case 'M': shift = 20; p++; break;
    case 'G': shift = 30; p++; break;
    case 'T': shift = 40; p++; break;
    default: break;
    }
    if (shift && (*p == 'i' || *p == 'I'))
        p++;
    if (*p == 'B' || *p == 'b')
        p++;
    if (*p != '\0')
        return -EINVAL;
    if (frac && !shift)
        return -EINVAL;         /* "1.5" bytes makes no sense */
    if (shift && whole > (UINT64_MAX >> shift))
        return -ERANGE;
    uint64_t v = whole << shift;
    uint64_t f = (frac << shift) / frac_div;
    if (v > UINT64_MAX - f)
        return -ERANGE;
    *out = v + f;
    return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    int u = -1;
    uint64_t v = bytes;
    while (u < 3 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%llu", (unsigned long long)bytes);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
}

void format_size_human(uint64_t bytes, char *buf, size_t len)
{
    const char *units = "KMGT";
    double v = (double)bytes;
    int u = -1;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%lluB", (unsigned long long)bytes);
    else
        snprintf(buf, len, v < 10 && v != (int)v ? "%.1f%c" : "%.0f%c", v, units[u]);
}
