/* AML writer for hostel's DSDT (ACPI 6.x, section 20: AML encoding). */
#include "board/aml.h"

#include <string.h>

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
    a->buf = buf;
    a->len = 0;
    a->cap = cap;
    a->overflow = 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->overflow || n > a->cap - a->len) {
        a->overflow = 1;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void name_seg(struct aml *a, const char *s, size_t n)
{
    char seg[4] = { '_', '_', '_', '_' };
    memcpy(seg, s, n > 4 ? 4 : n);
    aml_bytes(a, seg, 4);
}

void aml_name(struct aml *a, const char *path)
{
    while (*path == '\\' || *path == '^')
        aml_byte(a, (uint8_t)*path++);
    size_t nseg = *path ? 1 : 0;
    for (const char *p = path; *p; p++)
        nseg += *p == '.';
    if (nseg == 0) {
        aml_byte(a, 0x00);              /* NullName */
        return;
    }
    if (nseg == 2)
        aml_byte(a, 0x2e);              /* DualNamePrefix */
    else if (nseg > 2) {
        aml_byte(a, 0x2f);              /* MultiNamePrefix */
        aml_byte(a, (uint8_t)nseg);
    }
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        name_seg(a, path, n);
        path += n + (dot ? 1 : 0);
    }
}

void aml_integer(struct aml *a, uint64_t v)
{
    uint8_t b[9];
    size_t n;
    if (v == 0 || v == 1) {
        aml_byte(a, (uint8_t)v);        /* ZeroOp, OneOp */
        return;
    }
    if (v <= 0xff) { b[0] = 0x0a; n = 1; }
    else if (v <= 0xffff) { b[0] = 0x0b; n = 2; }
    else if (v <= 0xffffffffULL) { b[0] = 0x0c; n = 4; }
    else { b[0] = 0x0e; n = 8; }
    for (size_t i = 0; i < n; i++)
        b[1 + i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, n + 1);
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, 0x0d);
    aml_bytes(a, s, strlen(s) + 1);
}

static unsigned hexval(char c)
{
    if (c >= '0' && c <= '9') return (unsigned)(c - '0');
    if (c >= 'A' && c <= 'F') return (unsigned)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return (unsigned)(c - 'a' + 10);
    return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
    /* Three letters of 5 bits, then four hex digits; stored big-endian. */
    uint32_t v = (uint32_t)((id[0] - 0x40) & 0x1f) << 26 | (uint32_t)((id[1] - 0x40) & 0x1f) << 21 |
                 (uint32_t)((id[2] - 0x40) & 0x1f) << 16 | hexval(id[3]) << 12 |
                 hexval(id[4]) << 8 | hexval(id[5]) << 4 | hexval(id[6]);
    aml_integer(a, __builtin_bswap32(v));
}

/* Reserve 4 bytes for the PkgLength (its largest encoding); aml_close shrinks it. */
size_t aml_open(struct aml *a, const uint8_t *op, size_t oplen)
{
    aml_bytes(a, op, oplen);
    size_t at = a->len;
    aml_bytes(a, "\0\0\0\0", 4);
    return at;
}

void aml_close(struct aml *a, size_t at)
{
    if (a->overflow)
        return;
    size_t body = a->len - at - 4;
    size_t n = body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
    size_t total = body + n;
    uint8_t *p = a->buf + at;
    if (n == 1) {
        p[0] = (uint8_t)total;
    } else {
        p[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
        for (size_t i = 1; i < n; i++)
            p[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    }
    memmove(p + n, p + 4, body);
    a->len -= 4 - n;
}

size_t aml_scope(struct aml *a, const char *name)
{
    static const uint8_t op[] = { 0x10 };            /* ScopeOp */
    size_t at = aml_open(a, op, 1);
    aml_name(a, name);
    return at;
}

size_t aml_device(struct aml *a, const char *name)
{
    static const uint8_t op[] = { 0x5b, 0x82 };      /* DeviceOp */
    size_t at = aml_open(a, op, 2);
    aml_name(a, name);
    return at;
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
    aml_byte(a, 0x08);                               /* NameOp */
    aml_name(a, name);
    aml_integer(a, v);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
    aml_byte(a, 0x08);
    aml_name(a, name);
    aml_eisaid(a, id);
}

void aml_name_resources(struct aml *a, const char *name, const struct aml_res *r)
{
    static const uint8_t op[] = { 0x11 };            /* BufferOp */
    if (r->overflow) {
        a->overflow = 1;
        return;
    }
    aml_byte(a, 0x08);
    aml_name(a, name);
    size_t at = aml_open(a, op, 1);
    aml_integer(a, r->n + 2);
    aml_bytes(a, r->b, r->n);
    aml_byte(a, 0x79);                               /* End Tag */
    aml_byte(a, 0x00);                               /* checksum 0: "treat as valid" */
    aml_close(a, at);
}

static void res_put(struct aml_res *r, const uint8_t *p, size_t n)
{
    if (r->overflow || n > sizeof(r->b) - r->n) {
        r->overflow = 1;
        return;
    }
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

void res_io(struct aml_res *r, uint16_t base, uint8_t len)
{
    uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8),
                     (uint8_t)base, (uint8_t)(base >> 8), 1, len };
    res_put(r, d, sizeof(d));
}

void res_irq(struct aml_res *r, unsigned irq)
{
    uint16_t mask = (uint16_t)(1u << (irq & 15));
    uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };
    res_put(r, d, sizeof(d));
}

/* Word Address Space Descriptor: producer, min and max fixed, positive decode. */
static void res_word(struct aml_res *r, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
    uint16_t len = (uint16_t)(max - min + 1);
    uint8_t d[16] = { 0x88, 13, 0, type, 0x0c, tflags, 0, 0,
                      (uint8_t)min, (uint8_t)(min >> 8), (uint8_t)max, (uint8_t)(max >> 8),
                      0, 0, (uint8_t)len, (uint8_t)(len >> 8) };
    res_put(r, d, sizeof(d));
}

void res_word_bus(struct aml_res *r, uint16_t min, uint16_t max)
{
    res_word(r, 2, 0, min, max);
}

void res_word_io(struct aml_res *r, uint16_t min, uint16_t max)
{
    res_word(r, 1, 3, min, max);        /* ISA and non-ISA ranges */
}

void res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max)
{
    uint32_t len = max - min + 1;
    uint8_t d[26] = { 0x87, 23, 0, 0, 0x0c, 0x01 /* read/write, non-cacheable */ };
    for (int i = 0; i < 4; i++) {
        d[10 + i] = (uint8_t)(min >> (8 * i));
        d[14 + i] = (uint8_t)(max >> (8 * i));
        d[22 + i] = (uint8_t)(len >> (8 * i));
    }
    res_put(r, d, sizeof(d));
}
