/* The decoded-block cache: a bump arena of blocks and a hash table by
 * physical address.  When the arena fills, everything is dropped at once
 * (blocks are cheap to decode again). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/emu/cache.h"
#include "engine/emu/jit.h"
#include "engine/emu/ops.h"

/* Big enough for what a distribution's boot decodes between flushes (the
 * Debian appliance filled 32 MiB 19 times on the way to its login prompt,
 * and each flush drops every translation too); reserved, so only what is
 * used is host memory. */
#define ARENA_SIZE (128u << 20)
/* The least a budget leaves either (a kernel boot to /init decodes a few
 * MiB between flushes). */
#define MIN_PART (4u << 20)

void emu_cache_split(size_t budget, size_t *arena, size_t *code)
{
    if (!budget) {
        *arena = ARENA_SIZE;
        *code = 0;
        return;
    }
    /* Blocks 2/5, code 2/5, the code's data 1/5: what the Debian
     * appliance's boot used of each. */
    size_t part = budget / 5 * 2 & ~(size_t)0xffff;
    if (part < MIN_PART)
        part = MIN_PART;
    if (part > ARENA_SIZE)
        part = ARENA_SIZE;
    *arena = *code = part;
}

/* The caches are filled on demand, and each first touch of a 4 KiB page
 * is a fault, which on a nested-virtualization host costs 5-15
 * microseconds (Python starting under hostel-emu-user: 22 000 faults and a
 * quarter of its time, bench/README.md).  So they are on transparent huge
 * pages where the host allows ("madvise" mode, the common default), and
 * aligned for them: the part of a mapping before its first 2 MiB boundary
 * gets small pages only (the block hash table, written at random, took 200
 * faults for `busybox true`). */
#define HUGE_PAGE (2u << 20)

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

void *emu_map_aligned(size_t size, int prot, bool huge)
{
    /* Whole huge pages: one cannot back a mapping smaller than itself. */
    size = round_up(size, HUGE_PAGE);
    size_t len = size + HUGE_PAGE;
    uint8_t *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (p + len > a + size)
        munmap(a + size, (size_t)(p + len - (a + size)));
    if (huge && prot != PROT_NONE)
        madvise(a, size, MADV_HUGEPAGE);
    return a;
}

void emu_unmap_aligned(void *p, size_t size)
{
    if (p)
        munmap(p, round_up(size, HUGE_PAGE));
}

void *emu_alloc_huge(size_t size, bool huge)
{
    size_t align = huge ? HUGE_PAGE : 64;
    size_t len = round_up(size, align);
    void *p = aligned_alloc(align, len);
    if (!p)
        return NULL;
    if (huge)
        madvise(p, len, MADV_HUGEPAGE);
    memset(p, 0, size);
    return p;
}

int emu_cache_create(struct emu_block_cache **out, size_t budget)
{
    struct emu_block_cache *bc = emu_alloc_huge(sizeof(*bc), !budget);
    if (!bc)
        return -ENOMEM;
    emu_cache_split(budget, &bc->arena_size, &bc->code_size);
    bc->arena = emu_map_aligned(bc->arena_size, PROT_READ | PROT_WRITE, !budget);
    if (!bc->arena) {
        free(bc);
        return -ENOMEM;
    }
    *out = bc;
    return 0;
}

void emu_cache_destroy(struct emu_block_cache *bc)
{
    if (!bc)
        return;
    emu_unmap_aligned(bc->arena, bc->arena_size);
    emu_jit_destroy(bc->jit);
    free(bc);
}

void emu_cache_flush(struct emu_block_cache *bc)
{
    memset(bc->hash, 0, sizeof(bc->hash));
    memset(bc->xcache, 0, sizeof(bc->xcache));
    bc->used = 0;
    bc->flushes++;
    emu_jit_flush(bc->jit);   /* translations hang off the blocks */
}

static struct emu_block *build(struct emu_cpu *c, struct emu_block_cache *bc, uint64_t pa,
                                     const uint8_t *host, unsigned csize)
{
    struct emu_insn insn[EMU_BLOCK_MAX_INSNS];
    unsigned avail = 4096 - (unsigned)(pa & 0xfff);
    unsigned n = 0, off = 0;

    /* Marked before the bytes are read: a device's DMA into the page from
     * now on is announced to this vCPU (emu_mmu_holds_code). */
    emu_mmu_mark_code(c, pa);
    while (n < EMU_BLOCK_MAX_INSNS && off < avail) {
        unsigned left = avail - off;
        int r = emu_decode_bytes(host + off, left < 15 ? left : 15, csize, &insn[n]);
        if (r == EMU_DECODE_MORE)
            break;   /* crosses the page: decoded alone, uncached */
        if (r == EMU_DECODE_TOO_LONG) {
            n++;
            off += 15;
            break;
        }
        off += (unsigned)r;
        if (emu_insn_ends_block(&insn[n++]))
            break;
    }
    if (n == 0)
        return NULL;
    if (off > avail)
        off = avail;

    n = emu_block_optimize(insn, n);   /* opt.c */

    size_t size = sizeof(struct emu_block) + n * sizeof(struct emu_insn) + off;
    size = (size + 15) & ~(size_t)15;
    if (bc->used + size > bc->arena_size)
        emu_cache_flush(bc);
    struct emu_block *b = (struct emu_block *)(bc->arena + bc->used);
    bc->used += size;
    b->pa = pa;
    b->host = host;
    b->ninsn = (uint8_t)n;
    b->nbytes = (uint16_t)off;
    b->csize = (uint8_t)csize;
    memcpy(b->insn, insn, n * sizeof(struct emu_insn));
    uint8_t *copy = (uint8_t *)&b->insn[n];
    memcpy(copy, host, off);
    b->bytes = copy;
    b->checked = c->mmu.epoch;
    b->succ[0] = b->succ[1] = NULL;
    b->succ_epoch[0] = b->succ_epoch[1] = c->mmu.epoch - 1;
    b->succ_next = 0;
    b->jit_data = NULL;
    b->jit_gen = 0;
    b->jit_hits = 0;
    b->jit_rips = 0;
    b->jit_never = 0;
    unsigned h = hash_pa(pa);
    b->next = bc->hash[h];
    bc->hash[h] = b;
    bc->builds++;
    return b;
}

struct emu_block *emu_cache_get_slow(struct emu_cpu *c, uint64_t pa, unsigned csize)
{
    struct emu_block_cache *bc = c->mmu.cache;
    struct emu_block **pp = &bc->hash[hash_pa(pa)];
    for (struct emu_block *b = *pp; b; pp = &b->next, b = b->next) {
        if (b->pa != pa || b->csize != csize)
            continue;
        emu_mmu_mark_code(c, pa);   /* before the bytes are read: see build() */
        if (likely(same_bytes(b->host, b->bytes, b->nbytes))) {
            b->checked = c->mmu.epoch;
            if (pp != &bc->hash[hash_pa(pa)]) {   /* move to the front */
                *pp = b->next;
                b->next = bc->hash[hash_pa(pa)];
                bc->hash[hash_pa(pa)] = b;
            }
            return b;
        }
        *pp = b->next;   /* stale: the code changed under it */
        bc->stale++;
        break;
    }
    const uint8_t *host = emu_ram_ptr(c, pa, 1);
    if (!host)
        return NULL;
    return build(c, bc, pa, host, csize);
}

/* ---- instructions across a page boundary (64-bit mode) ------------------ */

/* Host pointers to the two pages of an instruction at la, when both have
 * exec translations in the TLB at the current privilege (as a fetch by
 * emu_decode would find them). */
static bool xpages(struct emu_cpu *c, uint64_t la, const uint8_t **h1, const uint8_t **h2)
{
    uint64_t p1 = la & ~0xfffULL, p2 = p1 + 4096;
    struct emu_tlb_entry *e1 = tlb_entry(c, p1), *e2 = tlb_entry(c, p2);
    if (e1->vpn_exec != tlb_page_tag(c, p1) || e2->vpn_exec != tlb_page_tag(c, p2))
        return false;
    *h1 = (const uint8_t *)(uintptr_t)(la + e1->addend);
    *h2 = (const uint8_t *)(uintptr_t)(p2 + e2->addend);
    return true;
}

static inline struct emu_xinsn *xslot(struct emu_cpu *c, uint64_t la)
{
    return &c->mmu.cache->xcache[(la >> 12) & (XCACHE_SIZE - 1)];
}

/* The decoded instruction at la when it was cached and its bytes are
 * unchanged; NULL otherwise. */
const struct emu_insn *emu_xcache_get(struct emu_cpu *c, uint64_t la)
{
    struct emu_xinsn *x = xslot(c, la);
    const uint8_t *h1, *h2;
    if (x->la != la || !la || !xpages(c, la, &h1, &h2))
        return NULL;
    if (memcmp(h1, x->bytes, x->n1) != 0 ||
        memcmp(h2, x->bytes + x->n1, x->insn.len - x->n1) != 0)
        return NULL;
    return &x->insn;
}

/* Keeps d, just decoded by emu_decode at la, when it crosses a page. */
void emu_xcache_put(struct emu_cpu *c, uint64_t la, const struct emu_insn *d)
{
    unsigned n1 = 4096 - (unsigned)(la & 0xfff);
    const uint8_t *h1, *h2;
    if (!la || d->len <= n1 || d->len > 15 || !xpages(c, la, &h1, &h2))
        return;
    struct emu_xinsn *x = xslot(c, la);
    x->la = la;
    x->n1 = (uint8_t)n1;
    memcpy(x->bytes, h1, n1);
    memcpy(x->bytes + n1, h2, d->len - n1);
    x->insn = *d;
}
