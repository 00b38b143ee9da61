/* Guest RAM: one anonymous mapping (or a saved RAM image mapped
 * copy-on-write), split around the PC's 32-bit I/O hole.
 * Guest physical [0, low_size) and [4G, 4G + high_size) are RAM. */
#ifndef HOSTEL_MEM_H
#define HOSTEL_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_HOLE_START  0xC0000000ULL   /* 3 GiB: PCI MMIO, IOAPIC, LAPIC, BIOS */
#define MEM_HIGH_START  0x100000000ULL  /* 4 GiB */

struct guest_mem {
    int fd;              /* the RAM image it was restored from (mapped
                            copy-on-write: private), or -1 (anonymous) */
    bool private_file;   /* fd is a saved image mapped MAP_PRIVATE */
    uint8_t *host;       /* mapping of all guest RAM */
    uint64_t size;       /* total RAM bytes */
    uint64_t low_size;   /* RAM below the hole */
    uint64_t high_size;  /* RAM at 4 GiB and up */
    /* Set by an engine that keeps decoded or translated guest code (emu):
     * called after a device wrote [off, off + len) of the mapping (DMA),
     * before the guest can learn that it did, so that no CPU runs code the
     * write replaced.  The engine acts only when the range holds code. */
    void (*dma_written)(void *opaque, uint64_t off, uint64_t len);
    void *dma_opaque;
    /* Live migration (machine/dirty.h): while set, one bit per 4 KiB page of
     * the mapping (low RAM, then high), which whoever writes guest RAM
     * outside a vCPU (devices, emu's slow paths) sets after writing.  Read
     * with atomics; the bitmap itself lives until mem_destroy. */
    uint64_t *dirty;
    uint64_t *dirty_alloc;
};

/* Creates and maps guest RAM of the given size (rounded up to 2 MiB). */
int mem_init(struct guest_mem *m, uint64_t size);
/* Guest RAM from a saved image (mem_save_sparse): the file is mapped
 * copy-on-write, so a restore reads only the pages the guest touches and
 * the file itself is never written.  size must be what was saved. */
int mem_init_from_file(struct guest_mem *m, uint64_t size, int fd);
/* The same into RAM a machine already has (a restore in place, the machine
 * paused): the image is mapped copy-on-write over the old contents. */
int mem_remap_file(struct guest_mem *m, int fd);
/* Writes guest RAM to fd as a sparse image of m->size bytes: pages that
 * are all zero are left as holes.  *stored gets the bytes written. */
int mem_save_sparse(const struct guest_mem *m, int fd, uint64_t *stored);
void mem_destroy(struct guest_mem *m);

/* Host pointer for [gpa, gpa + len) when all of it is RAM, else NULL.
 * Every guest-supplied address goes through this (or mem_read/mem_write). */
static inline void *mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    if (gpa < m->low_size) {
        if (len > m->low_size - gpa)
            return NULL;
        return m->host + gpa;
    }
    if (gpa >= MEM_HIGH_START && gpa - MEM_HIGH_START < m->high_size) {
        uint64_t off = gpa - MEM_HIGH_START;
        if (len > m->high_size - off)
            return NULL;
        return m->host + m->low_size + off;
    }
    return NULL;
}

/* Records that [off, off + len) of the mapping (host offset, not guest
 * physical) was written, when dirty tracking is on; nothing otherwise. */
static inline void mem_mark_dirty_off(const struct guest_mem *m, uint64_t off, uint64_t len)
{
    uint64_t *bits = __atomic_load_n(&m->dirty, __ATOMIC_ACQUIRE);
    if (!bits || !len || off >= m->size)
        return;
    if (len > m->size - off)
        len = m->size - off;
    for (uint64_t pg = off >> 12, last = (off + len - 1) >> 12; pg <= last; pg++) {
        uint64_t bit = 1ULL << (pg & 63);
        if (!(__atomic_load_n(&bits[pg >> 6], __ATOMIC_RELAXED) & bit))
            __atomic_fetch_or(&bits[pg >> 6], bit, __ATOMIC_SEQ_CST);
    }
}

/* The same for a host pointer into guest RAM (from mem_ptr). */
static inline void mem_mark_dirty_ptr(const struct guest_mem *m, const void *p, uint64_t len)
{
    if (__atomic_load_n(&m->dirty, __ATOMIC_RELAXED))
        mem_mark_dirty_off(m, (uint64_t)((const uint8_t *)p - m->host), len);
}

static inline bool mem_is_ram(const struct guest_mem *m, uint64_t gpa)
{
    return mem_ptr(m, gpa, 1) != NULL;
}

/* A device wrote [gpa, gpa + len) of guest RAM (see dma_written).  A range
 * that is not all RAM is announced as the whole of RAM. */
static inline void mem_dma_written(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    if (!m->dma_written || !len)
        return;
    const uint8_t *p = mem_ptr(m, gpa, len);
    if (p)
        m->dma_written(m->dma_opaque, (uint64_t)(p - m->host), len);
    else
        m->dma_written(m->dma_opaque, 0, m->size);
}

/* Whether [lo, hi) of this process is guest RAM (hostel's own memory use,
 * for HOSTEL_STATS, leaves it out). */
bool mem_is_guest_mapping(uintptr_t lo, uintptr_t hi);

/* Copy to/from guest RAM; -EFAULT when any byte is outside RAM. */
int mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
int mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, uint64_t len);

#endif
