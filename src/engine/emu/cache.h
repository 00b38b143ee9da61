/* Decoded basic blocks of the software CPU, cached per vCPU by guest
 * physical address and code size.
 *
 * Stale code: a store by this vCPU into a page it runs code from stops the
 * running block (mmu.c sets mmu.blk_stop) and starts a new epoch.  A block
 * is compared with the bytes in RAM when it is first entered in an epoch.
 * Epochs also end at an event from another thread, at a device's write into
 * RAM that holds code (EMU_EV_CODE, before the guest can learn of it), at
 * every emu_execute() call unless mmu.writes_announced (the VMM with one
 * vCPU: nobody else writes RAM unannounced) and, with more than one vCPU,
 * at every serializing event (an interrupt taken, a CR3 load, a TLB flush,
 * INVLPG, CPUID: emu_epoch_serialize): that is where a guest can learn that
 * another vCPU wrote code (x86 requires one, an IPI in practice, before
 * cross-modified code runs). */
#ifndef HOSTEL_EMU_CACHE_H
#define HOSTEL_EMU_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/emu/cpu.h"

#define EMU_BLOCK_MAX_INSNS 64

struct emu_block {
    struct emu_block *next;    /* hash chain */
    uint64_t pa;               /* guest physical address of the first byte */
    const uint8_t *host;       /* the bytes in guest RAM */
    const uint8_t *bytes;      /* copy taken at decode time */
    uint16_t nbytes;
    uint8_t ninsn;
    uint8_t csize;             /* code size the block was decoded for: 2, 4, 8 */
    uint32_t checked;          /* the epoch in which the bytes were last compared */
    uint8_t succ_next;         /* which succ[] slot the next new successor takes */
    struct emu_block *succ[2]; /* recent successors (a hint, checked by pa) */
    /* A successor link also holds when RIP (64-bit mode) and CPL are as
     * recorded, the epoch has not ended since (no store into code, no
     * event: the block's bytes were compared in it) and neither has the
     * map epoch (no TLB flush: the same linear address still fetches from
     * the same physical page), so it is the same, already compared, block
     * (see emu_cache_linked). */
    uint64_t succ_rip[2];
    uint32_t succ_epoch[2];
    uint32_t succ_map[2];
    uint8_t succ_cpl[2];
    /* jit.c: the translations of this block, valid while jit_gen is the
     * code cache's generation.  One per guest RIP and privilege level: the
     * same physical page can be mapped at several linear addresses (a
     * shared library in two processes), and translated code has its RIPs
     * built in. */
    uint8_t jit_never;         /* nothing in it can be translated */
    uint32_t jit_gen;
    uint32_t jit_hits;         /* interpreted runs, toward translation */
    uint64_t jit_rips;         /* a bit per RIP translated (jit.c jit_rip_bit): no
                                * bit, no translation for that RIP */
    void *jit_data;            /* list of struct jit_block_data, newest first */
    /* Entries: insn[].fn may be a flag-free variant or a fused compare and
     * branch, which are only right when the block runs from its start (to
     * its end or a taken branch); partial runs decode one at a time. */
    struct emu_insn insn[];
};

struct emu_block_cache;

/* budget: the most host memory this vCPU's caches may take (decoded
 * blocks, translated code and its data), 0 for the defaults; a machine
 * with --memory-limit divides what the limit leaves beside guest RAM
 * among its vCPUs (vm->engine_cache_max). */
int emu_cache_create(struct emu_block_cache **out, size_t budget);
/* How a budget is split: the block arena and the translated code (whose
 * exit records and jump cache take half as much again).  0: the defaults. */
void emu_cache_split(size_t budget, size_t *arena, size_t *code);
void emu_cache_destroy(struct emu_block_cache *bc);
void emu_cache_flush(struct emu_block_cache *bc);
/* An anonymous reservation of size bytes rounded up to 2 MiB (filled on
 * demand), aligned to 2 MiB so that transparent huge pages can back all of
 * it, and asked for them when huge (cache.c says why; not for a machine
 * with a memory limit, whose budget counts 4 KiB pages); NULL when the
 * host has no room.  emu_unmap_aligned(p, size) gives it back. */
void *emu_map_aligned(size_t size, int prot, bool huge);
void emu_unmap_aligned(void *p, size_t size);
/* A zeroed heap object (a vCPU's state, the block hash table), on a huge
 * page of its own when huge (one fault, not one per 4 KiB); free() frees
 * it.  From the heap, not emu_map_aligned: LeakSanitizer follows the
 * pointers these hold only in memory it knows. */
void *emu_alloc_huge(size_t size, bool huge);

#include <string.h>

#define HASH_BITS 17   /* chains stay short with the arena full (cache.c) */
#define HASH_SIZE (1u << HASH_BITS)

/* Instructions that cross into the next page (64-bit mode), which blocks
 * cannot hold: decoded once and kept by linear page with their bytes; an
 * entry is used while both pages still have exec translations in the TLB
 * and the bytes in RAM are the same (so stores and remaps are seen). */
#define XCACHE_SIZE 64

struct emu_xinsn {
    uint64_t la;           /* linear address of the first byte; 0: empty */
    uint8_t n1;            /* bytes on the first page */
    uint8_t bytes[15];
    struct emu_insn insn;
};

struct emu_block_cache {
    struct emu_block *hash[HASH_SIZE];
    struct emu_xinsn xcache[XCACHE_SIZE];
    uint8_t *arena;
    size_t arena_size;         /* reserved; only what is used is host memory */
    size_t code_size;          /* for jit.c's code cache (0: its default) */
    size_t used;
    uint64_t builds, flushes, stale;   /* blocks decoded; arena flushes; blocks whose bytes changed */
    struct emu_jit *jit;       /* jit.c: the translations, made on first use */
    bool jit_failed;           /* no code cache could be made: interpret */
};

/* Are the block's bytes still what is in RAM?  Blocks are short: compare
 * 8 bytes at a time, the tail overlapping. */
static inline bool same_bytes(const uint8_t *a, const uint8_t *b, unsigned n)
{
    if (n < 8) {
        uint32_t x4, y4, p4, q4;
        if (n < 4)
            return memcmp(a, b, n) == 0;
        memcpy(&x4, a, 4);
        memcpy(&y4, b, 4);
        memcpy(&p4, a + n - 4, 4);
        memcpy(&q4, b + n - 4, 4);
        return ((x4 ^ y4) | (p4 ^ q4)) == 0;
    }
    uint64_t x, y, diff = 0;
    unsigned k = 0;
    for (; k + 8 <= n; k += 8) {
        memcpy(&x, a + k, 8);
        memcpy(&y, b + k, 8);
        diff |= x ^ y;
    }
    if (k < n) {
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        diff |= x ^ y;
    }
    return diff == 0;
}

static inline unsigned hash_pa(uint64_t pa)
{
    return (unsigned)((pa ^ (pa >> HASH_BITS) ^ (pa >> 30)) & (HASH_SIZE - 1));
}

struct emu_block *emu_cache_get_slow(struct emu_cpu *c, uint64_t pa, unsigned csize);

/* Entering a cached block: compare it with RAM once per epoch, and mark its
 * page as code again (first) if a store dropped the mark.  False: it is stale.
 * Within an epoch the mark stays: dropping it (a store into the page)
 * starts a new epoch. */
static inline bool emu_block_enter(struct emu_cpu *c, struct emu_block *b)
{
    if (__builtin_expect(b->checked != c->mmu.epoch, 0)) {
        /* Marked before the bytes are compared (see emu_mmu_mark_code). */
        if (!c->mmu.code_pages[(uint64_t)(b->host - c->mmu.ram) >> 12])
            emu_mmu_mark_code(c, b->pa);
        c->mmu.st.compares++;
        if (!same_bytes(b->host, b->bytes, b->nbytes))
            return false;
        b->checked = c->mmu.epoch;
    }
    return true;
}

/* The block starting at physical address pa (in RAM), decoding it when it
 * is not cached or its bytes changed.  NULL when the first instruction
 * crosses into the next page or pa is not RAM: the caller then decodes that
 * one instruction with emu_decode(). */
static inline struct emu_block *emu_cache_get(struct emu_cpu *c, uint64_t pa, unsigned csize)
{
    struct emu_block *b = c->mmu.cache->hash[hash_pa(pa)];
    if (__builtin_expect(b && b->pa == pa && b->csize == csize, 1) && emu_block_enter(c, b))
        return b;
    return emu_cache_get_slow(c, pa, csize);
}

/* Records b as prev's successor in slot k, with what makes the link hold
 * without a translation (64-bit mode only). */
static inline void emu_cache_link(struct emu_cpu *c, struct emu_block *prev, int k,
                                  struct emu_block *b)
{
    prev->succ[k] = b;
    prev->succ_rip[k] = c->rip;
    prev->succ_cpl[k] = c->cpl;
    prev->succ_epoch[k] = c->mode == MODE_LONG64 ? c->mmu.epoch : c->mmu.epoch - 1;
    prev->succ_map[k] = c->mmu.map_epoch;
}

/* The block after prev, when prev remembers it (blocks keep their last two
 * successors, so a loop finds its next block without the hash table). */
static inline struct emu_block *emu_cache_next(struct emu_cpu *c, uint64_t pa, unsigned csize)
{
    struct emu_block_cache *bc = c->mmu.cache;
    struct emu_block *prev = c->mmu.prev_block, *b = NULL;
    if (prev && c->mmu.prev_gen == bc->flushes) {
        for (int k = 0; k < 2; k++) {
            struct emu_block *s = prev->succ[k];
            if (s && s->pa == pa && s->csize == csize && emu_block_enter(c, s)) {
                b = s;
                emu_cache_link(c, prev, k, b);
                break;
            }
        }
    }
    if (!b) {
        b = emu_cache_get(c, pa, csize);
        if (b && prev && c->mmu.prev_gen == bc->flushes) {
            emu_cache_link(c, prev, prev->succ_next, b);
            prev->succ_next ^= 1;
        }
    }
    c->mmu.prev_block = b;
    c->mmu.prev_gen = bc->flushes;
    return b;
}

/* In 64-bit mode, the block after the last one when its link still holds
 * (same RIP and CPL, same epoch and map epoch): no translation, no lookup.  NULL: take
 * the long way (emu_cache_next). */
static inline struct emu_block *emu_cache_linked(struct emu_cpu *c)
{
    struct emu_block *prev = c->mmu.prev_block;
    if (!prev || c->mmu.prev_gen != c->mmu.cache->flushes)
        return NULL;
    for (int k = 0; k < 2; k++) {
        if (prev->succ_rip[k] == c->rip && prev->succ_epoch[k] == c->mmu.epoch &&
            prev->succ_map[k] == c->mmu.map_epoch && prev->succ_cpl[k] == c->cpl &&
            prev->succ[k]) {
            c->mmu.prev_block = prev->succ[k];
            return prev->succ[k];
        }
    }
    return NULL;
}

const struct emu_insn *emu_xcache_get(struct emu_cpu *c, uint64_t la);
void emu_xcache_put(struct emu_cpu *c, uint64_t la, const struct emu_insn *d);

/* decode.c */
#define EMU_DECODE_MORE     (-1)   /* the bytes end inside the instruction */
#define EMU_DECODE_TOO_LONG (-2)   /* over 15 bytes: #GP(0) when executed */
int emu_decode_bytes(const uint8_t *p, unsigned avail, unsigned csize, struct emu_insn *d);
bool emu_insn_ends_block(const struct emu_insn *d);
void emu_decode_init(void);

/* Code size (2, 4, 8) of the current mode: what decoding depends on. */
static inline unsigned emu_code_size(const struct emu_cpu *c)
{
    if (c->mode == MODE_LONG64)
        return 8;
    if (c->mode == MODE_REAL)
        return 2;
    return c->seg[S_CS].db ? 4 : 2;
}

static inline uint64_t emu_code_linear(const struct emu_cpu *c, uint64_t rip)
{
    if (c->mode == MODE_LONG64)
        return rip;
    return (c->seg[S_CS].base + rip) & 0xffffffffULL;
}

#endif
