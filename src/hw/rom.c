/* ROM on the MMIO bus (hw/rom.h). */
#include "hw/rom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct rom {
    struct bus *mmio;
    uint64_t base;
    uint8_t *data;
    size_t len;
};

static uint64_t rom_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rom *r = opaque;
    uint64_t v = 0;
    if (offset < r->len && size <= r->len - offset)
        memcpy(&v, r->data + offset, size);
    return v;
}

static void rom_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)opaque; (void)offset; (void)size; (void)value;   /* flash ignores stray writes */
}

static const struct bus_ops rom_ops = { .read = rom_read, .write = rom_write };

int rom_create(struct bus *mmio, uint64_t base, const void *data, size_t len, struct rom **out)
{
    if (!len || (len & 0xfff) || (base & 0xfff))
        return -EINVAL;
    struct rom *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->data = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->data == MAP_FAILED) {
        free(r);
        return -ENOMEM;
    }
    memcpy(r->data, data, len);
    r->mmio = mmio;
    r->base = base;
    r->len = len;
    int e = bus_register(mmio, base, len, &rom_ops, r, "rom");
    if (e < 0) {
        munmap(r->data, len);
        free(r);
        return e;
    }
    *out = r;
    return 0;
}

void rom_destroy(struct rom *r)
{
    if (!r)
        return;
    bus_unregister(r->mmio, r->base);
    munmap(r->data, r->len);
    free(r);
}

void *rom_host(const struct rom *r)
{
    return r->data;
}

size_t rom_len(const struct rom *r)
{
    return r->len;
}
