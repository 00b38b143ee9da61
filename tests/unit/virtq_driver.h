/* A minimal split-virtqueue driver for unit tests: lays out rings in a
 * test's guest RAM, writes descriptors (well-formed or hostile) and reads
 * back the used ring, as a guest driver would. */
#ifndef HOSTEL_VIRTQ_DRIVER_H
#define HOSTEL_VIRTQ_DRIVER_H

#include <stdint.h>
#include <string.h>

#include "machine/mem.h"

struct tq {
    struct guest_mem *mem;
    uint16_t size;
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen;
};

static inline void tq_init(struct tq *q, struct guest_mem *mem, uint16_t size, uint64_t base)
{
    q->mem = mem;
    q->size = size;
    q->desc = base;
    q->avail = base + 16u * size;
    q->used = (q->avail + 6 + 2u * size + 4095) & ~4095ULL;
    q->avail_idx = q->used_seen = 0;
    memset(mem_ptr(mem, base, q->used + 6 + 8u * size - base), 0, q->used + 6 + 8u * size - base);
}

static inline void tq_desc(struct tq *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                           uint16_t next)
{
    uint8_t *p = mem_ptr(q->mem, q->desc + 16u * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

/* Writes an entry of an indirect table at gpa. */
static inline void tq_table_desc(struct guest_mem *mem, uint64_t table, unsigned i, uint64_t addr,
                                 uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *p = mem_ptr(mem, table + 16u * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

/* Publishes head on the available ring. */
static inline void tq_submit(struct tq *q, uint16_t head)
{
    uint16_t *ring = mem_ptr(q->mem, q->avail + 4 + 2u * (q->avail_idx % q->size), 2);
    *ring = head;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    q->avail_idx++;
    uint16_t *idx = mem_ptr(q->mem, q->avail + 2, 2);
    __atomic_store_n(idx, q->avail_idx, __ATOMIC_RELEASE);
}

static inline void tq_set_avail_idx(struct tq *q, uint16_t v)
{
    q->avail_idx = v;
    uint16_t *idx = mem_ptr(q->mem, q->avail + 2, 2);
    __atomic_store_n(idx, v, __ATOMIC_RELEASE);
}

static inline uint16_t tq_used_idx(struct tq *q)
{
    return __atomic_load_n((uint16_t *)mem_ptr(q->mem, q->used + 2, 2), __ATOMIC_ACQUIRE);
}

/* Element i of the used ring. */
static inline void tq_used_elem(struct tq *q, uint16_t i, uint32_t *id, uint32_t *len)
{
    uint8_t *p = mem_ptr(q->mem, q->used + 4 + 8u * (i % q->size), 8);
    memcpy(id, p, 4);
    memcpy(len, p + 4, 4);
}

#endif
