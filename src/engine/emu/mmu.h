/* The software MMU: 4-level paging (and 32-bit/PAE paging for the boot
 * paths), a software TLB, and the linear memory accessors every handler
 * uses.  Accessors raise #PF/#GP through emu_raise; MMIO pages go to
 * vm->mmio; writes to pages holding cached code invalidate those blocks.
 * (Implemented in mmu.c by emu-core; the fast paths are inline in ops.h.) */
#ifndef HOSTEL_EMU_MMU_H
#define HOSTEL_EMU_MMU_H

#include <stdbool.h>
#include <stdint.h>

struct emu_cpu;
struct emu_block_cache;
struct emu_block;

#define EMU_TLB_BITS 10
#define EMU_TLB_SIZE (1u << EMU_TLB_BITS)
/* A TLB tag is the page-aligned linear address with this bit set, and the
 * PCID slot it was filled for (mmu.tlb_slot); 0 (the state of a zeroed
 * entry) never matches. */
#define EMU_TLB_VALID 1ULL
/* PCIDs whose TLB entries are kept at once (tag bits 1-4); CR3 writes
 * between them keep entries and links (see emu_mmu_load_cr3). */
#define EMU_PCID_SLOTS 16

/* TLB indices a slot's entries may sit at (drop_slot visits only these
 * instead of all 4 096 entries; more fills than this: all of them). */
#define EMU_SLOT_FILLS 192

struct emu_pcid_slot {
    uint16_t pcid;
    bool used;
    uint32_t map_epoch;  /* map epoch of this address space (even numbers) */
    /* Indices of the fills made in this slot since its last drop (and
     * of the global entries a drop kept); nfill > EMU_SLOT_FILLS: too
     * many to list. */
    uint16_t nfill;
    uint16_t fill[EMU_SLOT_FILLS];
};

struct emu_tlb_entry {
    uint64_t vpn_read;   /* (linear page address | EMU_TLB_VALID), or 0 */
    uint64_t vpn_write;  /* only set once the dirty bit is set and the page holds no cached code */
    uint64_t vpn_exec;
    uintptr_t addend;    /* host = guest linear + addend (RAM pages only) */
    uint64_t ppn;        /* guest physical page address (pa & ~0xfff) */
    uint64_t global;     /* the translation came from a global page */
    uint64_t smap;       /* a supervisor translation of a user page, made with
                          * CR4.SMAP and EFLAGS.AC set: dropped when AC clears */
    uint64_t pad[1];     /* 64 bytes: the entry address is a shift of the index */
};

/* Why epochs ended and what that cost (HOSTEL_EMU_STATS=1 prints them):
 * for finding where a guest's time goes, not part of its state. */
enum emu_epoch_why {
    EMU_EPOCH_EXECUTE,   /* an emu_execute call */
    EMU_EPOCH_EVENT,     /* an event from another thread (EMU_EV_CODE...) */
    EMU_EPOCH_IRQ,       /* an interrupt taken with other vCPUs */
    EMU_EPOCH_CR3,       /* a CR3 load */
    EMU_EPOCH_FLUSH,     /* a TLB flush (CR0/CR4/EFER, all of it) */
    EMU_EPOCH_INVLPG,    /* a one-page flush */
    EMU_EPOCH_CODE,      /* this vCPU stored into a page it runs code from */
    EMU_EPOCH_CPUID,
    EMU_EPOCH_NWHY
};

struct emu_mmu_stats {
    uint64_t epochs[EMU_EPOCH_NWHY];
    uint64_t compares;   /* blocks compared with RAM when entered in a new epoch */
    uint64_t walks;      /* TLB misses that walked the page tables */
    uint64_t misses;     /* lookups that missed both TLB ways (paging on or off) */
    uint64_t way1_hits;  /* way-0 misses that the TLB's way 1 answered (interpreter
                          * and translated code) */
    uint64_t cr3_loads, cr3_kept;   /* CR3 writes; of them, to a PCID whose entries stayed */
};

struct emu_mmu {
    struct emu_tlb_entry tlb[2][EMU_TLB_SIZE];   /* [user][index] */
    /* Way 1, same index: the entry way 0 held before a fill of another
     * page there (its victim).  Looked at only after a way-0 miss
     * (emu_translate, and the stubs of translated code), so pages 4 MiB
     * apart stop evicting each other.  Every invalidation treats both
     * ways alike; a page is never in both. */
    struct emu_tlb_entry tlb1[2][EMU_TLB_SIZE];
    uint8_t *ram;        /* guest RAM mapping (struct guest_mem) */
    uint64_t ram_low, ram_high;   /* sizes below 4G / at 4G */
    /* Set up lazily by emu_mmu_init() (first emu_execute). */
    bool ready;
    bool flat_pf;        /* emu_cpu_init_flat: outside RAM is a #PF, not MMIO */
    /* Where translated reads stop going straight to RAM (jit.c, emit_tlb):
     * while paging is off on a flat CPU (emu_cpu_init_flat: hostel-emu-user,
     * the tests), linear = physical = an offset into `ram`, and a read of
     * [a, a + 64) with a < flat_end is RAM with nothing to check.  0 (no
     * read goes straight) everywhere else; emu_flat_update() sets it at each
     * emu_execute and CR0 write. */
    uint64_t flat_end;
    bool smp;            /* the machine has other vCPUs (that may write our code) */
    /* Every writer of guest RAM other than this vCPU announces its writes
     * (EMU_EV_CODE: the VMM's devices, on a machine with one vCPU), so
     * emu_execute calls need not end the epoch (callers that write RAM
     * themselves between calls, as tests do, leave it false). */
    bool writes_announced;
    uint8_t *code_pages; /* one byte per RAM page: this CPU cached code from it
                          * (read by device threads: see emu_mmu_holds_code) */
    uint64_t npages;
    struct emu_block_cache *cache;   /* cache.c */
    uint8_t blk_stop;               /* a store hit cached code: leave the block */
    uint32_t epoch;      /* cache.c: blocks are rechecked against RAM once an epoch */
    uint32_t map_epoch;  /* jit.c: ends when linear -> physical may change (TLB flush):
                          * links between translations hold within one; each
                          * PCID slot has its own (even), restored when CR3
                          * returns to it unflushed */
    uint32_t map_next;   /* the last map epoch handed out */
    uint64_t tlb_slot;   /* current PCID slot << 1: part of every TLB tag */
    uint8_t pcid_cur, pcid_victim;
    struct emu_pcid_slot pcid[EMU_PCID_SLOTS];
    struct emu_block *prev_block;    /* the block run last (successor hint) */
    uint64_t prev_gen;               /* cache flush count when it was */
    /* SMAP: supervisor TLB entries of user pages exist only while AC is
     * set; these name them (smap_n > 8: too many, scan them all). */
    bool implicit;       /* a system-table or stack-switch access (sys_seg.c) */
    uint8_t smap_n;
    uint16_t smap_idx[8];
    struct emu_mmu_stats st;
};

/* Sets mmu.flat_end for c as it is now: RAM from 0 to ram_low with no
 * hole, no paging, no machine (no MMIO, no other writers: a flat CPU's RAM
 * is plain memory); 63 bytes short of the end, so that an access of up to
 * 64 bytes starting below it ends in RAM.  0 otherwise. */
void emu_flat_update(struct emu_cpu *c);

/* Ends the epoch (cache.h): every block is compared with RAM again when next
 * entered. */
static inline void emu_epoch_end(struct emu_mmu *m, enum emu_epoch_why why)
{
    m->epoch++;
    m->st.epochs[why]++;
}

/* A serializing instruction or event (a CR3 load, a TLB flush, INVLPG,
 * CPUID, an interrupt taken): where x86 lets a CPU run code another CPU
 * wrote.  Without other vCPUs nobody writes code unannounced (a device's
 * DMA raises EMU_EV_CODE, this vCPU's own stores end the epoch as they
 * land, each emu_execute call ends it unless writes_announced),
 * so the epoch goes on and the blocks entered next are not compared. */
static inline void emu_epoch_serialize(struct emu_mmu *m, enum emu_epoch_why why)
{
    if (m->smp)
        emu_epoch_end(m, why);
}

/* EFLAGS.AC went from 1 to 0: drop the supervisor translations of user
 * pages that SMAP allowed only because of it. */
void emu_tlb_drop_smap(struct emu_cpu *c);

/* Data accessors by linear address.  size 1, 2, 4, 8; unaligned and
 * page-crossing accesses are handled. */
uint64_t emu_read(struct emu_cpu *c, uint64_t la, unsigned size);
void emu_write(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t val);
void emu_read_buf(struct emu_cpu *c, uint64_t la, void *buf, unsigned len);
void emu_write_buf(struct emu_cpu *c, uint64_t la, const void *buf, unsigned len);
/* Instruction fetch (execute permission, NX). */
void emu_fetch(struct emu_cpu *c, uint64_t la, void *buf, unsigned len);
/* Host pointer for an aligned, non-page-crossing read-modify-write in RAM
 * (LOCK-prefixed ops do host atomics on it), write permission checked and
 * dirty bits set.  NULL when the target is MMIO or crosses a page. */
void *emu_rmw_ptr(struct emu_cpu *c, uint64_t la, unsigned size);
/* Guest physical address of a linear address for the given access
 * (0 read, 1 write, 2 exec); raises #PF. */
uint64_t emu_translate(struct emu_cpu *c, uint64_t la, int access);

void emu_tlb_flush(struct emu_cpu *c, bool include_global);
/* After a CR3 write: switches to the TLB entries of the new PCID (0 without
 * CR4.PCIDE), dropping its non-global ones unless keep (bit 63 of the
 * written value with CR4.PCIDE). */
void emu_mmu_load_cr3(struct emu_cpu *c, bool keep);
void emu_tlb_flush_page(struct emu_cpu *c, uint64_t la);
/* Live migration: takes write permission from every TLB entry, so the next
 * store to each page fills again, and a fill with write permission marks
 * the page in vm->mem's dirty bitmap (machine/dirty.h).  Every store to
 * RAM goes through a vpn_write entry or the slow paths here, which mark
 * too: a translator must keep it so (docs/migration.md). */
void emu_tlb_drop_writes(struct emu_cpu *c);

/* Physical accessors (page walks, descriptor tables in real mode, DMA-less). */
bool emu_phys_read(struct emu_cpu *c, uint64_t pa, void *buf, unsigned len);
bool emu_phys_write(struct emu_cpu *c, uint64_t pa, const void *buf, unsigned len);

/* Lazy per-CPU setup (RAM from c->vm when not set, code cache) and its
 * release; emu_execute calls init, the vCPU owner calls destroy. */
/* Allocates the code cache; -ENOMEM when the host has no memory for it. */
int emu_mmu_init(struct emu_cpu *c);
void emu_mmu_destroy(struct emu_cpu *c);
/* Host pointer of a guest physical RAM range, NULL when not all RAM. */
uint8_t *emu_ram_ptr(struct emu_cpu *c, uint64_t pa, uint64_t len);
/* Marks a RAM page as holding cached code (cache.c): this CPU's stores to it
 * then take the slow path, which stops a block that modifies itself. */
void emu_mmu_mark_code(struct emu_cpu *c, uint64_t pa);
/* Whether [off, off + len) of guest RAM (offsets into the mapping) shares a
 * page with code this CPU keeps decoded: safe from any thread (a device's,
 * after its DMA; see emu.c). */
bool emu_mmu_holds_code(struct emu_cpu *c, uint64_t off, uint64_t len);

#endif
