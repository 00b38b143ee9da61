/* Range lookup for the port-I/O and MMIO buses. */
#include "machine/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *b, const char *name)
{
    memset(b, 0, sizeof(*b));
    b->name = name;
    pthread_rwlock_init(&b->lock, NULL);
}

void bus_destroy(struct bus *b)
{
    free(b->ranges);
    b->ranges = NULL;
    b->count = b->cap = 0;
    pthread_rwlock_destroy(&b->lock);
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, const char *name)
{
    if (len == 0 || base + len < base)
        return -EINVAL;
    pthread_rwlock_wrlock(&b->lock);
    int i;
    for (i = 0; i < b->count; i++) {
        struct bus_range *r = &b->ranges[i];
        if (base < r->base + r->len && r->base < base + len) {
            pthread_rwlock_unlock(&b->lock);
            return -EEXIST;
        }
        if (r->base > base)
            break;
    }
    if (b->count == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        struct bus_range *n = realloc(b->ranges, (size_t)cap * sizeof(*n));
        if (!n) {
            pthread_rwlock_unlock(&b->lock);
            return -ENOMEM;
        }
        b->ranges = n;
        b->cap = cap;
    }
    memmove(&b->ranges[i + 1], &b->ranges[i], (size_t)(b->count - i) * sizeof(b->ranges[0]));
    b->ranges[i] = (struct bus_range){ base, len, ops, opaque, name };
    b->count++;
    pthread_rwlock_unlock(&b->lock);
    return 0;
}

int bus_unregister(struct bus *b, uint64_t base)
{
    pthread_rwlock_wrlock(&b->lock);
    for (int i = 0; i < b->count; i++) {
        if (b->ranges[i].base == base) {
            memmove(&b->ranges[i], &b->ranges[i + 1],
                    (size_t)(b->count - i - 1) * sizeof(b->ranges[0]));
            b->count--;
            pthread_rwlock_unlock(&b->lock);
            return 0;
        }
    }
    pthread_rwlock_unlock(&b->lock);
    return -ENOENT;
}

static const struct bus_range *find(const struct bus *b, uint64_t addr)
{
    int lo = 0, hi = b->count - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const struct bus_range *r = &b->ranges[mid];
        if (addr < r->base)
            hi = mid - 1;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

int bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *value)
{
    pthread_rwlock_rdlock(&b->lock);
    const struct bus_range *r = find(b, addr);
    if (!r || !r->ops->read) {
        pthread_rwlock_unlock(&b->lock);
        *value = size >= 8 ? ~0ULL : ((1ULL << (size * 8)) - 1);
        return -ENOENT;
    }
    const struct bus_ops *ops = r->ops;
    void *opaque = r->opaque;
    uint64_t off = addr - r->base;
    pthread_rwlock_unlock(&b->lock);
    *value = ops->read(opaque, off, size);
    return 0;
}

int bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value)
{
    pthread_rwlock_rdlock(&b->lock);
    const struct bus_range *r = find(b, addr);
    if (!r || !r->ops->write) {
        pthread_rwlock_unlock(&b->lock);
        return -ENOENT;
    }
    const struct bus_ops *ops = r->ops;
    void *opaque = r->opaque;
    uint64_t off = addr - r->base;
    pthread_rwlock_unlock(&b->lock);
    ops->write(opaque, off, size, value);
    return 0;
}
