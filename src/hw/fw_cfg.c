/* fw_cfg (hw/fw_cfg.h): items in a small table, the file directory built
 * from them, byte reads through the data port and the DMA interface.
 * The guest only reads: write requests (selector bit 14, DMA write) are
 * answered as errors or ignored, never acted on. */
#include "hw/fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SEL_WRITE      0x4000       /* legacy write flag: ignored */
#define SEL_KEY_MASK   0xbfff       /* the key keeps bit 15 (arch-local) */
#define MAX_ITEMS      (FW_CFG_FILE_MAX + 24)

/* DMA control word bits. */
#define DMA_ERROR   0x01
#define DMA_READ    0x02
#define DMA_SKIP    0x04
#define DMA_SELECT  0x08
#define DMA_WRITE   0x10
/* "QEMU CFG": what a read of the DMA address register returns. */
#define DMA_SIGNATURE 0x51454d5520434647ULL

struct item {
    uint16_t key;
    char name[FW_CFG_NAME_MAX];     /* "" for plain items */
    uint8_t *data;
    uint32_t len;
};

struct fw_cfg {
    pthread_mutex_t lock;
    struct bus *pio;
    uint16_t base;
    struct guest_mem *mem;
    struct item items[MAX_ITEMS];
    int nitems;
    int nfiles;
    uint8_t *dir;                   /* the file directory, rebuilt on each add */
    uint32_t dir_len;
    uint16_t selected;
    uint32_t offset;                /* read position in the selected item */
    uint32_t dma_high;
};

static void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v) { put_be16(p, (uint16_t)(v >> 16)); put_be16(p + 2, (uint16_t)v); }
static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t bswap64(uint64_t v) { return __builtin_bswap64(v); }

static struct item *find_key(struct fw_cfg *f, uint16_t key)
{
    for (int i = 0; i < f->nitems; i++)
        if (f->items[i].key == key)
            return &f->items[i];
    return NULL;
}

/* Bytes of the selected item (the directory is an item of its own). */
static const uint8_t *selected_bytes(struct fw_cfg *f, uint32_t *len)
{
    if (f->selected == FW_CFG_FILE_DIR) {
        *len = f->dir_len;
        return f->dir;
    }
    struct item *it = find_key(f, f->selected);
    if (!it) {
        *len = 0;
        return NULL;
    }
    *len = it->len;
    return it->data;
}

static int set_item(struct fw_cfg *f, uint16_t key, const char *name, const void *data, size_t len)
{
    if (len > 0x40000000u)
        return -EFBIG;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, len);
    struct item *it = find_key(f, key);
    if (!it) {
        if (f->nitems == MAX_ITEMS) {
            free(copy);
            return -ENOSPC;
        }
        it = &f->items[f->nitems++];
        it->key = key;
    } else {
        free(it->data);
    }
    memset(it->name, 0, sizeof(it->name));
    if (name)
        memcpy(it->name, name, strlen(name));
    it->data = copy;
    it->len = (uint32_t)len;
    return 0;
}

static int rebuild_dir(struct fw_cfg *f)
{
    uint32_t len = 4 + 64 * (uint32_t)f->nfiles;
    uint8_t *d = calloc(1, len);
    if (!d)
        return -ENOMEM;
    put_be32(d, (uint32_t)f->nfiles);
    uint8_t *e = d + 4;
    for (int i = 0; i < f->nitems; i++) {
        const struct item *it = &f->items[i];
        if (!it->name[0])
            continue;
        put_be32(e, it->len);
        put_be16(e + 4, it->key);
        memcpy(e + 8, it->name, FW_CFG_NAME_MAX);
        e += 64;
    }
    free(f->dir);
    f->dir = d;
    f->dir_len = len;
    return 0;
}

int fw_cfg_add_item(struct fw_cfg *f, uint16_t key, const void *data, size_t len)
{
    if (key == FW_CFG_FILE_DIR || (key >= FW_CFG_FILE_FIRST && key < FW_CFG_FILE_FIRST + FW_CFG_FILE_MAX))
        return -EINVAL;
    pthread_mutex_lock(&f->lock);
    int r = set_item(f, key, NULL, data, len);
    pthread_mutex_unlock(&f->lock);
    return r;
}

int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return fw_cfg_add_item(f, key, b, 2);
}

int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_item(f, key, b, 4);
}

int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_item(f, key, b, 8);
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len)
{
    if (!name[0])
        return -EINVAL;
    if (strlen(name) >= FW_CFG_NAME_MAX)
        return -ENAMETOOLONG;
    pthread_mutex_lock(&f->lock);
    int r = 0;
    uint16_t key = 0;
    for (int i = 0; i < f->nitems; i++)
        if (!strcmp(f->items[i].name, name))
            key = f->items[i].key;
    if (!key) {
        if (f->nfiles == FW_CFG_FILE_MAX) {
            r = -ENOSPC;
            goto out;
        }
        key = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
        r = set_item(f, key, name, data, len);
        if (r == 0)
            f->nfiles++;
    } else {
        r = set_item(f, key, name, data, len);
    }
    if (r == 0)
        r = rebuild_dir(f);
out:
    pthread_mutex_unlock(&f->lock);
    return r;
}

const uint8_t *fw_cfg_file(const struct fw_cfg *f, const char *name, size_t *len)
{
    for (int i = 0; i < f->nitems; i++)
        if (f->items[i].name[0] && !strcmp(f->items[i].name, name)) {
            *len = f->items[i].len;
            return f->items[i].data;
        }
    return NULL;
}

static void select_key(struct fw_cfg *f, uint16_t key)
{
    f->selected = key & SEL_KEY_MASK;
    f->offset = 0;
}

/* One DMA request: the control structure at gpa (control, length, address,
 * big-endian).  Reads copy the selected item into RAM; skip moves the
 * position; writes are refused.  The control word is written back: 0 when
 * done, DMA_ERROR on failure. */
static void dma_run(struct fw_cfg *f, uint64_t gpa)
{
    uint8_t desc[16];
    if (mem_read(f->mem, gpa, desc, sizeof(desc)) < 0)
        return;   /* nowhere to report it: the structure is not in RAM */
    uint32_t control = get_be32(desc);
    uint32_t length = get_be32(desc + 4);
    uint64_t addr = (uint64_t)get_be32(desc + 8) << 32 | get_be32(desc + 12);
    bool error = false;

    if (control & DMA_SELECT)
        select_key(f, (uint16_t)(control >> 16));
    if (control & DMA_WRITE) {
        error = true;
    } else if (control & (DMA_READ | DMA_SKIP)) {
        uint32_t len;
        const uint8_t *data = selected_bytes(f, &len);
        uint32_t avail = f->offset < len ? len - f->offset : 0;
        uint32_t n = length < avail ? length : avail;
        if (control & DMA_READ) {
            /* Past the end of the item reads as zeros, as on QEMU. */
            if (n && mem_write(f->mem, addr, data + f->offset, n) < 0)
                error = true;
            for (uint64_t at = addr + n; !error && at < addr + length;) {
                static const uint8_t zeros[4096];
                uint64_t chunk = addr + length - at < sizeof(zeros) ? addr + length - at : sizeof(zeros);
                if (mem_write(f->mem, at, zeros, chunk) < 0)
                    error = true;
                at += chunk;
            }
        }
        if (!error)
            f->offset += n;
        /* The guest may run what was just loaded (a kernel, a ROM): CPUs
         * that keep decoded code must look again before it learns. */
        if (control & DMA_READ)
            mem_dma_written(f->mem, addr, length);
    }
    uint8_t out[4];
    put_be32(out, error ? DMA_ERROR : 0);
    mem_write(f->mem, gpa, out, 4);
}

static uint64_t fw_cfg_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fw_cfg *f = opaque;
    uint64_t v = 0;
    pthread_mutex_lock(&f->lock);
    if (offset == 1) {
        /* Data: successive bytes of the item (wider reads take several). */
        uint32_t len;
        const uint8_t *data = selected_bytes(f, &len);
        for (unsigned i = 0; i < size; i++) {
            uint8_t b = 0;
            if (f->offset < len)
                b = data[f->offset++];
            v |= (uint64_t)b << (8 * i);
        }
    } else if (offset >= 4 && offset < 12) {
        /* The DMA address register reads as "QEMU CFG", big-endian. */
        uint8_t sig[8];
        uint64_t be = bswap64(DMA_SIGNATURE);
        memcpy(sig, &be, 8);
        for (unsigned i = 0; i < size && offset - 4 + i < 8; i++)
            v |= (uint64_t)sig[offset - 4 + i] << (8 * i);
    }
    pthread_mutex_unlock(&f->lock);
    return v;
}

static void fw_cfg_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct fw_cfg *f = opaque;
    pthread_mutex_lock(&f->lock);
    if (offset == 0 && size == 2) {
        select_key(f, (uint16_t)value);
    } else if (offset == 4 && size == 8) {
        dma_run(f, bswap64(value));
    } else if (offset == 4 && size == 4) {
        f->dma_high = __builtin_bswap32((uint32_t)value);
    } else if (offset == 8 && size == 4) {
        uint64_t gpa = (uint64_t)f->dma_high << 32 | __builtin_bswap32((uint32_t)value);
        f->dma_high = 0;
        dma_run(f, gpa);
    }
    /* Data port writes (the deprecated write interface) are ignored. */
    pthread_mutex_unlock(&f->lock);
}

static const struct bus_ops fw_cfg_ops = { .read = fw_cfg_read, .write = fw_cfg_write };

int fw_cfg_create(struct bus *pio, uint16_t base, struct guest_mem *mem, struct fw_cfg **out)
{
    struct fw_cfg *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    pthread_mutex_init(&f->lock, NULL);
    f->pio = pio;
    f->base = base;
    f->mem = mem;
    int r = set_item(f, FW_CFG_SIGNATURE, NULL, "QEMU", 4);
    if (r == 0) {
        uint8_t id[4] = { 0x03, 0, 0, 0 };   /* traditional interface and DMA */
        r = set_item(f, FW_CFG_ID, NULL, id, 4);
    }
    if (r == 0)
        r = rebuild_dir(f);
    if (r == 0)
        r = bus_register(pio, base, 12, &fw_cfg_ops, f, "fw_cfg");
    if (r < 0) {
        for (int i = 0; i < f->nitems; i++)
            free(f->items[i].data);
        free(f->dir);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return r;
    }
    *out = f;
    return 0;
}

void fw_cfg_destroy(struct fw_cfg *f)
{
    if (!f)
        return;
    bus_unregister(f->pio, f->base);
    for (int i = 0; i < f->nitems; i++)
        free(f->items[i].data);
    free(f->dir);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
