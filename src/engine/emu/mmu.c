/* The software MMU: page walks (4-level long mode, 32-bit and PAE legacy
 * paging), the software TLB, the slow paths of the linear accessors, and
 * physical dispatch to RAM, the local APIC page or the MMIO bus.
 * The hot paths (TLB hits) are inline in ops.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emu/cache.h"
#include "engine/emu/jit.h"
#include "engine/emu/emu.h"
#include "engine/emu/lapic.h"
#include "engine/emu/ops.h"
#include "machine/bus.h"
#include "machine/mem.h"
#include "machine/vm.h"

#define PTE_P    (1ULL << 0)
#define PTE_W    (1ULL << 1)
#define PTE_U    (1ULL << 2)
#define PTE_A    (1ULL << 5)
#define PTE_D    (1ULL << 6)
#define PTE_PS   (1ULL << 7)
#define PTE_G    (1ULL << 8)
#define PTE_NX   (1ULL << 63)
#define PHYS_BITS 40   /* advertised in CPUID 0x80000008 */
#define PTE_ADDR (((1ULL << PHYS_BITS) - 1) & ~0xfffULL)
#define PTE_RSVD_HI (((1ULL << 52) - 1) & ~((1ULL << PHYS_BITS) - 1))

#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)

enum { ACC_R = 0, ACC_W = 1, ACC_X = 2 };

/* ---- physical memory ----------------------------------------------------- */

uint8_t *emu_ram_ptr(struct emu_cpu *c, uint64_t pa, uint64_t len)
{
    struct emu_mmu *m = &c->mmu;
    if (pa < m->ram_low) {
        if (len > m->ram_low - pa)
            return NULL;
        return m->ram + pa;
    }
    if (pa >= MEM_HIGH_START && pa - MEM_HIGH_START < m->ram_high) {
        uint64_t off = pa - MEM_HIGH_START;
        if (len > m->ram_high - off)
            return NULL;
        return m->ram + m->ram_low + off;
    }
    return NULL;
}

/* Live migration's record of written pages (machine/dirty.h): a no-op
 * unless tracking is on. */
static inline void mark_dirty(struct emu_cpu *c, const uint8_t *host, uint64_t len)
{
    if (c->vm)
        mem_mark_dirty_ptr(&c->vm->mem, host, len);
}

static inline int64_t ram_page_index(struct emu_cpu *c, uint64_t pa)
{
    uint8_t *p = emu_ram_ptr(c, pa, 1);
    return p ? (int64_t)((uint64_t)(p - c->mmu.ram) >> 12) : -1;
}

static bool is_apic_page(struct emu_cpu *c, uint64_t pa)
{
    return c->lapic && (c->msr_apic_base & (1ULL << 11)) &&
           (pa & ~0xfffULL) == (c->msr_apic_base & PTE_ADDR);
}

/* A store into RAM that this CPU runs cached code from: stop the current
 * block after this instruction (blocks are revalidated by content when
 * entered).  The mark is dropped so that later stores to a page that only
 * once held code are fast again; entering a block there marks it anew. */
static inline void note_code_write(struct emu_cpu *c, uint64_t pa)
{
    int64_t idx = ram_page_index(c, pa);
    if (idx >= 0 && c->mmu.code_pages && c->mmu.code_pages[idx]) {
        c->mmu.code_pages[idx] = 0;
        c->mmu.blk_stop = 1;
        emu_epoch_end(&c->mmu, EMU_EPOCH_CODE);
    }
}

/* size 1, 2, 4 or 8, within one page. */
static bool phys_rw(struct emu_cpu *c, uint64_t pa, unsigned size, uint64_t *val, bool write)
{
    uint8_t *p = emu_ram_ptr(c, pa, size);
    if (p) {
        if (write) {
            note_code_write(c, pa);
            memcpy(p, val, size);
            mark_dirty(c, p, size);
        } else {
            *val = 0;
            memcpy(val, p, size);
        }
        return true;
    }
    if (is_apic_page(c, pa)) {
        if (write)
            lapic_mmio_write(c->lapic, pa & 0xfff, size, *val);
        else
            *val = lapic_mmio_read(c->lapic, pa & 0xfff, size) & emu_size_mask(size);
        return true;
    }
    if (!c->vm)
        return false;
    if (write) {
        bus_write(&c->vm->mmio, pa, size, *val);
    } else {
        uint64_t v = ~0ULL;
        bus_read(&c->vm->mmio, pa, size, &v);
        *val = v & emu_size_mask(size);
    }
    return true;
}

bool emu_phys_read(struct emu_cpu *c, uint64_t pa, void *buf, unsigned len)
{
    uint8_t *p = emu_ram_ptr(c, pa, len);
    if (p) {
        memcpy(buf, p, len);
        return true;
    }
    for (unsigned k = 0; k < len; k++) {
        uint64_t v;
        if (!phys_rw(c, pa + k, 1, &v, false))
            return false;
        ((uint8_t *)buf)[k] = (uint8_t)v;
    }
    return true;
}

bool emu_phys_write(struct emu_cpu *c, uint64_t pa, const void *buf, unsigned len)
{
    uint8_t *p = emu_ram_ptr(c, pa, len);
    if (p) {
        for (uint64_t pg = pa & ~0xfffULL; pg < pa + len; pg += 4096)
            note_code_write(c, pg);
        memcpy(p, buf, len);
        mark_dirty(c, p, len);
        return true;
    }
    for (unsigned k = 0; k < len; k++) {
        uint64_t v = ((const uint8_t *)buf)[k];
        if (!phys_rw(c, pa + k, 1, &v, true))
            return false;
    }
    return true;
}

/* ---- page walk ----------------------------------------------------------- */

struct walk {
    uint64_t pa;
    bool w, u, nx, g;
};

/* Reads a paging-structure entry; sets A (and D on the leaf of a write)
 * atomically once the whole walk succeeded, through the saved pointers. */
struct pte_ref {
    uint8_t *host;
    bool wide;
};

static uint64_t pte_load(struct emu_cpu *c, uint64_t addr, bool wide, struct pte_ref *ref)
{
    ref->wide = wide;
    ref->host = emu_ram_ptr(c, addr, wide ? 8 : 4);
    if (ref->host)
        return wide ? __atomic_load_n((uint64_t *)ref->host, __ATOMIC_RELAXED)
                    : __atomic_load_n((uint32_t *)ref->host, __ATOMIC_RELAXED);
    uint64_t v = 0;
    emu_phys_read(c, addr, &v, wide ? 8 : 4);
    return v;
}

static void pte_set_bits(struct emu_cpu *c, struct pte_ref *ref, uint64_t bits)
{
    if (!ref->host)
        return;
    uint64_t cur = ref->wide ? __atomic_load_n((uint64_t *)ref->host, __ATOMIC_RELAXED)
                             : __atomic_load_n((uint32_t *)ref->host, __ATOMIC_RELAXED);
    if ((cur & bits) == bits)
        return;   /* already set: spare the locked operation */
    if (ref->wide)
        __atomic_fetch_or((uint64_t *)ref->host, bits, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_or((uint32_t *)ref->host, (uint32_t)bits, __ATOMIC_SEQ_CST);
    mark_dirty(c, ref->host, ref->wide ? 8 : 4);
}

static _Noreturn void page_fault(struct emu_cpu *c, uint64_t la, uint32_t err, int access, bool user)
{
    if (access == ACC_W) err |= PF_W;
    if (user) err |= PF_U;
    if (access == ACC_X && (c->efer & EFER_NXE || c->cr4 & CR4_SMEP)) err |= PF_I;
    emu_raise_pf(c, la, err);
}

/* Walks the page tables for la; raises #PF on a missing or reserved entry
 * or a permission failure for this access. */
static void walk(struct emu_cpu *c, uint64_t la, int access, bool user, struct walk *w)
{
    struct pte_ref refs[5];
    int n = 0;
    uint64_t e, pa;
    bool wr = true, us = true, nx = false, g = false;
    bool nxe = c->efer & EFER_NXE;
    uint64_t rsvd = PTE_RSVD_HI | (nxe ? 0 : PTE_NX);

    if (c->cr4 & CR4_PAE) {
        int level;
        uint64_t table;
        if (c->efer & EFER_LMA) {
            level = 4;
            table = c->cr3 & PTE_ADDR;
        } else {
            /* PAE legacy: the PDPTE has no permission bits. */
            uint64_t pdpte = pte_load(c, (c->cr3 & 0xffffffe0ULL) + ((la >> 30) & 3) * 8, true, &refs[n]);
            if (!(pdpte & PTE_P))
                page_fault(c, la, 0, access, user);
            if (pdpte & (rsvd | 0x1e6))
                page_fault(c, la, PF_P | PF_RSVD, access, user);
            level = 2;
            table = pdpte & PTE_ADDR;
        }
        for (;; level--) {
            unsigned shift = 12 + 9 * (level - 1);
            e = pte_load(c, table + ((la >> shift) & 511) * 8, true, &refs[n++]);
            if (!(e & PTE_P))
                page_fault(c, la, 0, access, user);
            uint64_t r = rsvd;
            if (level == 4)
                r |= PTE_PS;
            if ((e & PTE_PS) && level == 3) r |= 0x3fffe000ULL;
            if ((e & PTE_PS) && level == 2) r |= 0x1fe000ULL;
            if (e & r)
                page_fault(c, la, PF_P | PF_RSVD, access, user);
            wr = wr && (e & PTE_W);
            us = us && (e & PTE_U);
            nx = nx || (nxe && (e & PTE_NX));
            if (level == 1 || ((e & PTE_PS) && level <= 3)) {
                uint64_t off_mask = (1ULL << shift) - 1;
                pa = ((e & PTE_ADDR) & ~off_mask) | (la & off_mask);
                g = e & PTE_G;
                break;
            }
            table = e & PTE_ADDR;
        }
    } else {
        /* 32-bit paging, 4 KiB pages and (CR4.PSE) 4 MiB pages. */
        uint32_t la32 = (uint32_t)la;
        e = pte_load(c, (c->cr3 & 0xfffff000ULL) + (la32 >> 22) * 4, false, &refs[n++]);
        if (!(e & PTE_P))
            page_fault(c, la, 0, access, user);
        wr = e & PTE_W;
        us = e & PTE_U;
        if ((e & PTE_PS) && (c->cr4 & CR4_PSE)) {
            pa = (e & 0xffc00000ULL) | (((e >> 13) & 0xff) << 32) | (la32 & 0x3fffff);
            g = e & PTE_G;
        } else {
            e = pte_load(c, (e & 0xfffff000ULL) + ((la32 >> 12) & 0x3ff) * 4, false, &refs[n++]);
            if (!(e & PTE_P))
                page_fault(c, la, 0, access, user);
            wr = wr && (e & PTE_W);
            us = us && (e & PTE_U);
            pa = (e & 0xfffff000ULL) | (la32 & 0xfff);
            g = e & PTE_G;
        }
    }

    if (user && !us)
        page_fault(c, la, PF_P, access, user);
    if (access == ACC_W && !wr && (user || (c->cr0 & CR0_WP)))
        page_fault(c, la, PF_P, access, user);
    if (access == ACC_X && nx)
        page_fault(c, la, PF_P, access, user);

    for (int k = 0; k < n; k++)
        pte_set_bits(c, &refs[k], PTE_A | (k == n - 1 && access == ACC_W ? PTE_D : 0));
    w->pa = pa;
    w->w = wr;
    w->u = us;
    w->nx = nx;
    w->g = g && (c->cr4 & CR4_PGE);
}

/* ---- translation and the TLB --------------------------------------------- */

/* The four entry arrays, way 0's and way 1's of each privilege class
 * (a = way * 2 + user), for the scans that treat them all alike. */
static inline struct emu_tlb_entry *tlb_array(struct emu_cpu *c, unsigned a)
{
    return a < 2 ? c->mmu.tlb[a] : c->mmu.tlb1[a - 2];
}

/* Way 1's entry at la's index (way 0's is tlb_entry, ops.h). */
static inline struct emu_tlb_entry *tlb_entry1(struct emu_cpu *c, uint64_t la)
{
    return &c->mmu.tlb1[c->cpl == 3][(la >> 12) & (EMU_TLB_SIZE - 1)];
}

static inline bool tlb_holds(const struct emu_tlb_entry *e, uint64_t tag)
{
    return e->vpn_read == tag || e->vpn_write == tag || e->vpn_exec == tag;
}

static inline void tlb_swap(struct emu_tlb_entry *a, struct emu_tlb_entry *b)
{
    struct emu_tlb_entry t = *a;
    *a = *b;
    *b = t;
}

/* Before a fill of la's page (tag, ppn) into way 0: that page's entry
 * in way 1 (it had not the permission asked for) comes back to way 0,
 * or else way 0's entry of another page becomes way 1's, so a page is
 * never in both ways.  Returns way 0's entry. */
static struct emu_tlb_entry *tlb_make_room(struct emu_cpu *c, uint64_t la, uint64_t tag)
{
    struct emu_tlb_entry *e = tlb_entry(c, la), *v = tlb_entry1(c, la);
    if (tlb_holds(v, tag))
        tlb_swap(e, v);
    else if ((e->vpn_read | e->vpn_write | e->vpn_exec) && !tlb_holds(e, tag))
        *v = *e;
    return e;
}

/* After a way-0 miss: when way 1 has the page for this access, the two
 * entries swap (the next access hits inline) and this returns true. */
static bool tlb_way1_lookup(struct emu_cpu *c, uint64_t la, uint64_t tag, int access)
{
    struct emu_tlb_entry *v = tlb_entry1(c, la);
    uint64_t t = access == ACC_R ? v->vpn_read : access == ACC_W ? v->vpn_write : v->vpn_exec;
    if (t != tag || (v->smap && c->mmu.implicit))
        return false;
    tlb_swap(tlb_entry(c, la), v);
    c->mmu.st.way1_hits++;
    return true;
}

static void note_smap(struct emu_cpu *c, uint64_t la)
{
    if (c->mmu.smap_n < 8)
        c->mmu.smap_idx[c->mmu.smap_n] = (uint16_t)((la >> 12) & (EMU_TLB_SIZE - 1));
    if (c->mmu.smap_n <= 8)
        c->mmu.smap_n++;
}

void emu_tlb_drop_smap(struct emu_cpu *c)
{
    unsigned n = c->mmu.smap_n;
    for (unsigned way = 0; way < 2; way++) {   /* supervisor entries of both ways */
        struct emu_tlb_entry *sup = tlb_array(c, way * 2);
        for (unsigned k = 0; k < (n > 8 ? EMU_TLB_SIZE : n); k++) {
            struct emu_tlb_entry *e = &sup[n > 8 ? k : c->mmu.smap_idx[k]];
            if (e->smap) {   /* (fetches are SMEP's business: vpn_exec stays) */
                e->vpn_read = e->vpn_write = 0;
                e->smap = 0;
            }
        }
    }
    c->mmu.smap_n = 0;
}

/* A fill at TLB index k in slot ps (its list: drop_slot). */
static inline void slot_note_fill(struct emu_pcid_slot *ps, unsigned k)
{
    if (ps->nfill < EMU_SLOT_FILLS)
        ps->fill[ps->nfill] = (uint16_t)k;
    if (ps->nfill <= EMU_SLOT_FILLS)
        ps->nfill++;
}

static uint64_t translate(struct emu_cpu *c, uint64_t la, int access)
{
    bool user = c->cpl == 3;
    struct walk w;
    bool dirty;

    c->mmu.st.misses++;

    if (!(c->efer & EFER_LMA))
        la &= 0xffffffffULL;
    else if (!emu_canonical(la))
        emu_raise(c, EXC_GP, 0);

    if (c->cr0 & CR0_PG) {
        c->mmu.st.walks++;
        walk(c, la, access, user, &w);
        /* Fast writes only once the walk of a write has set D. */
        dirty = access == ACC_W;
    } else {
        w.pa = la;
        w.w = w.u = true;
        w.nx = false;
        w.g = false;
        dirty = true;
    }

    /* SMEP: no supervisor fetch from a user page.  SMAP: no supervisor
     * data access to one, unless EFLAGS.AC allows an explicit access
     * (implicit ones, system tables and stack switches, never). */
    bool sup_user = !user && w.u && (c->cr0 & CR0_PG);
    bool fetch_ok = !w.nx && !(sup_user && (c->cr4 & CR4_SMEP));
    bool smap_ac = sup_user && (c->cr4 & CR4_SMAP);
    bool data_ok = !smap_ac || ((c->rflags & RFLAGS_AC) && !c->mmu.implicit);
    if (access == ACC_X ? !fetch_ok : !data_ok)
        page_fault(c, la, PF_P, access, user);

    uint8_t *host = emu_ram_ptr(c, w.pa & ~0xfffULL, 4096);
    if (!host) {
        if (c->mmu.flat_pf || (!c->vm && !is_apic_page(c, w.pa)))
            page_fault(c, la, (c->cr0 & CR0_PG) ? PF_P | PF_RSVD : 0, access, user);
        return w.pa;
    }

    uint64_t tag = tlb_page_tag(c, la & ~0xfffULL);
    struct emu_tlb_entry *e = tlb_make_room(c, la, tag);
    slot_note_fill(&c->mmu.pcid[c->mmu.pcid_cur], (unsigned)(la >> 12) & (EMU_TLB_SIZE - 1));
    uint64_t ppn = w.pa & ~0xfffULL;
    if ((e->vpn_read != tag && e->vpn_write != tag && e->vpn_exec != tag) || e->ppn != ppn) {
        e->vpn_read = e->vpn_write = e->vpn_exec = 0;
    }
    e->ppn = ppn;
    e->addend = (uintptr_t)host - (la & ~0xfffULL);
    e->global = w.g;
    e->smap = smap_ac && data_ok;
    if (e->smap)
        note_smap(c, la);
    e->vpn_read = data_ok ? tag : 0;
    bool writable = user ? w.w : (w.w || !(c->cr0 & CR0_WP));
    int64_t idx = (host - c->mmu.ram) >> 12;
    bool code = c->mmu.code_pages && c->mmu.code_pages[idx];
    if (writable && dirty && !code && data_ok) {
        e->vpn_write = tag;
        mark_dirty(c, host, 4096);   /* stores through this entry mark nothing */
    }
    e->vpn_exec = fetch_ok ? tag : 0;
    return w.pa;
}

uint64_t emu_translate(struct emu_cpu *c, uint64_t la, int access)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    uint64_t tag = tlb_page_tag(c, la & ~0xfffULL);
    uint64_t t = access == ACC_R ? e->vpn_read : access == ACC_W ? e->vpn_write : e->vpn_exec;
    if (t == tag && !(e->smap && c->mmu.implicit))
        return e->ppn | (la & 0xfff);
    if (tlb_way1_lookup(c, la, tag, access))
        return e->ppn | (la & 0xfff);   /* swapped into way 0 */
    return translate(c, la, access);
}

/* ---- PCID slots --------------------------------------------------------------
 * Entries carry the slot of the PCID they were filled for in their tags, so
 * a CR3 write to another PCID leaves them for when CR3 comes back (as a
 * CPU's TLB does; Linux's page-table isolation switches PCID twice per
 * system call).  Each slot has its own map epoch: links between
 * translations and the jump cache made while it was current hold again
 * when it is current again, for the same linear -> physical map (x86 lets
 * a CPU keep using a PCID's translations until they are invalidated). */

static uint32_t new_map_epoch(struct emu_cpu *c)
{
    c->mmu.map_next += 2;   /* even: jit.c marks unlinked exits with an odd one */
    return c->mmu.map_next;
}

static void set_slot(struct emu_cpu *c, unsigned s)
{
    c->mmu.pcid_cur = (uint8_t)s;
    c->mmu.tlb_slot = (uint64_t)s << 1;
    c->mmu.map_epoch = c->mmu.pcid[s].map_epoch;
}

/* Drops the entries of slot s at TLB index k in all four arrays (both
 * privilege classes, both ways: an entry moves only between ways at its
 * index); returns whether a global one of s stayed there. */
static bool drop_slot_at(struct emu_cpu *c, uint64_t low, unsigned k, bool include_global)
{
    bool kept = false;
    for (unsigned a = 0; a < 4; a++) {
        struct emu_tlb_entry *e = &tlb_array(c, a)[k];
        uint64_t t = e->vpn_read | e->vpn_write | e->vpn_exec;
        if (!t || (t & 0xfff) != low)
            continue;
        if (include_global || !e->global)
            e->vpn_read = e->vpn_write = e->vpn_exec = 0;
        else
            kept = true;
    }
    return kept;
}

/* Drops slot s's entries (all, or the non-global ones): at the indices
 * its fills went to when they were few (an address space switched to
 * for a moment: a short process, a PTI switch), else at every index.  The
 * indices of the global entries kept are the slot's list again. */
static void drop_slot(struct emu_cpu *c, unsigned s, bool include_global)
{
    uint64_t low = EMU_TLB_VALID | (uint64_t)s << 1;
    struct emu_pcid_slot *ps = &c->mmu.pcid[s];
    unsigned n = ps->nfill;
    ps->nfill = 0;
    if (n <= EMU_SLOT_FILLS) {
        for (unsigned i = 0; i < n; i++)   /* kept ones move down the list in place */
            if (drop_slot_at(c, low, ps->fill[i], include_global))
                ps->fill[ps->nfill++] = ps->fill[i];
    } else {
        for (unsigned k = 0; k < EMU_TLB_SIZE; k++)
            if (drop_slot_at(c, low, k, include_global))
                slot_note_fill(ps, k);
    }
    ps->map_epoch = new_map_epoch(c);
}

static unsigned current_pcid(const struct emu_cpu *c)
{
    return (c->cr4 & CR4_PCIDE) ? (unsigned)(c->cr3 & 0xfff) : 0;
}

/* The slot of the current PCID; a new one (its old entries dropped) when
 * it has none. */
static unsigned find_slot(struct emu_cpu *c, bool *fresh)
{
    unsigned pcid = current_pcid(c);
    for (unsigned s = 0; s < EMU_PCID_SLOTS; s++)
        if (c->mmu.pcid[s].used && c->mmu.pcid[s].pcid == pcid) {
            *fresh = false;
            return s;
        }
    unsigned s = c->mmu.pcid_victim;
    for (unsigned k = 0; k < EMU_PCID_SLOTS; k++)
        if (!c->mmu.pcid[k].used) {
            s = k;
            break;
        }
    if (s == c->mmu.pcid_victim)
        c->mmu.pcid_victim = (uint8_t)((s + 1) % EMU_PCID_SLOTS);
    drop_slot(c, s, true);
    c->mmu.pcid[s].used = true;
    c->mmu.pcid[s].pcid = (uint16_t)pcid;
    *fresh = true;
    return s;
}

void emu_mmu_load_cr3(struct emu_cpu *c, bool keep)
{
    emu_epoch_serialize(&c->mmu, EMU_EPOCH_CR3);
    bool fresh;
    unsigned s = find_slot(c, &fresh);
    c->mmu.st.cr3_loads++;
    c->mmu.st.cr3_kept += !fresh && keep;
    if (!fresh && !keep)
        drop_slot(c, s, false);
    set_slot(c, s);
}

void emu_tlb_flush(struct emu_cpu *c, bool include_global)
{
    emu_epoch_serialize(&c->mmu, EMU_EPOCH_FLUSH);
    for (unsigned a = 0; a < 4; a++)
        for (unsigned k = 0; k < EMU_TLB_SIZE; k++) {
            struct emu_tlb_entry *e = &tlb_array(c, a)[k];
            if (include_global || !e->global)
                e->vpn_read = e->vpn_write = e->vpn_exec = 0;
        }
    if (include_global) {
        /* Everything goes, PCIDs included (CR0/CR4 changes, restores):
         * the current PCID starts again in slot 0. */
        memset(c->mmu.pcid, 0, sizeof(c->mmu.pcid));
        c->mmu.pcid_victim = 0;
        bool fresh;
        set_slot(c, find_slot(c, &fresh));
        return;
    }
    for (unsigned s = 0; s < EMU_PCID_SLOTS; s++)
        c->mmu.pcid[s].map_epoch = new_map_epoch(c);
    c->mmu.map_epoch = c->mmu.pcid[c->mmu.pcid_cur].map_epoch;
}

/* INVLPG: the page goes from every PCID (more than x86 asks), and no
 * link made before holds. */
void emu_tlb_flush_page(struct emu_cpu *c, uint64_t la)
{
    emu_epoch_serialize(&c->mmu, EMU_EPOCH_INVLPG);
    for (unsigned a = 0; a < 4; a++) {
        struct emu_tlb_entry *e = &tlb_array(c, a)[(la >> 12) & (EMU_TLB_SIZE - 1)];
        e->vpn_read = e->vpn_write = e->vpn_exec = 0;
    }
    for (unsigned s = 0; s < EMU_PCID_SLOTS; s++)
        c->mmu.pcid[s].map_epoch = new_map_epoch(c);
    c->mmu.map_epoch = c->mmu.pcid[c->mmu.pcid_cur].map_epoch;
}

void emu_tlb_drop_writes(struct emu_cpu *c)
{
    for (unsigned a = 0; a < 4; a++)
        for (unsigned k = 0; k < EMU_TLB_SIZE; k++)
            tlb_array(c, a)[k].vpn_write = 0;
}

/* The mark is published before the caller reads the code's bytes (the
 * fence), so that a device thread's DMA into the page either came before
 * that read or sees the mark (emu_mmu_holds_code). */
void emu_mmu_mark_code(struct emu_cpu *c, uint64_t pa)
{
    int64_t idx = ram_page_index(c, pa);
    if (idx < 0 || c->mmu.code_pages[idx])
        return;
    __atomic_store_n(&c->mmu.code_pages[idx], 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint64_t ppn = pa & ~0xfffULL;
    for (unsigned a = 0; a < 4; a++)
        for (unsigned k = 0; k < EMU_TLB_SIZE; k++)
            if (tlb_array(c, a)[k].ppn == ppn)
                tlb_array(c, a)[k].vpn_write = 0;
}

bool emu_mmu_holds_code(struct emu_cpu *c, uint64_t off, uint64_t len)
{
    const uint8_t *marks = __atomic_load_n(&c->mmu.code_pages, __ATOMIC_ACQUIRE);
    uint64_t npages = c->mmu.npages;
    if (!marks || !len)
        return false;
    for (uint64_t pg = off >> 12, last = (off + len - 1) >> 12; pg <= last && pg < npages; pg++)
        if (__atomic_load_n(&marks[pg], __ATOMIC_RELAXED))
            return true;
    return false;
}

/* ---- linear accessors (slow paths) --------------------------------------- */

static inline bool crosses(uint64_t la, unsigned len)
{
    return (la & 0xfff) + len > 4096;
}

uint64_t emu_read(struct emu_cpu *c, uint64_t la, unsigned size)
{
    uint64_t v = 0;
    if (unlikely(crosses(la, size))) {
        uint8_t b[8];
        emu_read_buf(c, la, b, size);
        memcpy(&v, b, size);
        return v;
    }
    uint64_t pa = emu_translate(c, la, ACC_R);
    if (!phys_rw(c, pa, size, &v, false))
        page_fault(c, la, 0, ACC_R, c->cpl == 3);
    return v;
}

void emu_write(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t val)
{
    if (unlikely(crosses(la, size))) {
        emu_write_buf(c, la, &val, size);
        return;
    }
    uint64_t pa = emu_translate(c, la, ACC_W);
    if (!phys_rw(c, pa, size, &val, true))
        page_fault(c, la, 0, ACC_W, c->cpl == 3);
}

static void rw_buf(struct emu_cpu *c, uint64_t la, void *buf, unsigned len, int access)
{
    uint8_t *b = buf;
    /* Linear addresses wrap: at 2^64 in 64-bit mode, else at 4 GiB, so an
     * access at the top continues at page 0 (the first byte faults first). */
    uint64_t wrap = c->mode == MODE_LONG64 ? ~0ULL : 0xffffffffULL;
    /* Translate every page first so that a fault leaves memory untouched. */
    uint64_t pas[3];
    unsigned npg = (unsigned)(((la & 0xfff) + len + 0xfff) >> 12);
    for (unsigned k = 0; k < npg && k < 3; k++)
        pas[k] = emu_translate(c, k ? ((la & ~0xfffULL) + 4096ULL * k) & wrap : la, access) & ~0xfffULL;
    for (unsigned done = 0, k = 0; done < len; k++) {
        uint64_t cur = (la + done) & wrap;
        unsigned chunk = 4096 - (cur & 0xfff);
        if (chunk > len - done) chunk = len - done;
        uint64_t pa = k < 3 ? pas[k] | (cur & 0xfff) : emu_translate(c, cur, access);
        bool ok = access == ACC_W ? emu_phys_write(c, pa, b + done, chunk)
                                  : emu_phys_read(c, pa, b + done, chunk);
        if (!ok)
            page_fault(c, cur, 0, access, c->cpl == 3);
        done += chunk;
    }
}

void emu_read_buf(struct emu_cpu *c, uint64_t la, void *buf, unsigned len)
{
    rw_buf(c, la, buf, len, ACC_R);
}

void emu_write_buf(struct emu_cpu *c, uint64_t la, const void *buf, unsigned len)
{
    rw_buf(c, la, (void *)buf, len, ACC_W);
}

void emu_fetch(struct emu_cpu *c, uint64_t la, void *buf, unsigned len)
{
    rw_buf(c, la, buf, len, ACC_X);
}

void *emu_rmw_ptr(struct emu_cpu *c, uint64_t la, unsigned size)
{
    if (crosses(la, size))
        return NULL;
    uint64_t pa = emu_translate(c, la, ACC_W);
    uint8_t *p = emu_ram_ptr(c, pa, size);
    if (p) {
        note_code_write(c, pa);
        /* Before the caller's store, but within its instruction: a sync
         * waits for every vCPU to reach an instruction boundary. */
        mark_dirty(c, p, size);
    }
    return p;
}

/* ---- setup --------------------------------------------------------------- */

int emu_mmu_init(struct emu_cpu *c)
{
    struct emu_mmu *m = &c->mmu;
    if (m->ready)
        return 0;
    if (!m->ram && c->vm) {
        m->ram = c->vm->mem.host;
        m->ram_low = c->vm->mem.low_size;
        m->ram_high = c->vm->mem.high_size;
    }
    m->npages = (m->ram_low + m->ram_high + 4095) >> 12;
    m->smp = c->vm && c->vm->ncpus > 1;
    if (!m->code_pages)
        __atomic_store_n(&m->code_pages, calloc(m->npages ? m->npages : 1, 1), __ATOMIC_RELEASE);
    size_t budget = c->vm && c->vm->engine_cache_max && c->vm->ncpus > 0
                        ? (size_t)(c->vm->engine_cache_max / (uint64_t)c->vm->ncpus) : 0;
    if (!m->code_pages || (!m->cache && emu_cache_create(&m->cache, budget) < 0))
        return -ENOMEM;   /* the caller reports it: vcpu_init, before the guest runs */
    emu_jit_prepare(m->cache);   /* its memfd, before the sandbox (lib/sandbox.h) */
    m->ready = true;
    return 0;
}

void emu_mmu_destroy(struct emu_cpu *c)
{
    struct emu_mmu *m = &c->mmu;
    if (!m->ready)
        return;
    free(m->code_pages);
    m->code_pages = NULL;
    emu_cache_destroy(m->cache);
    m->cache = NULL;
    m->ready = false;
}

void emu_flat_update(struct emu_cpu *c)
{
    const struct emu_mmu *m = &c->mmu;
    bool flat = m->flat_pf && !c->vm && !(c->cr0 & CR0_PG) && (c->efer & EFER_LMA) &&
                !m->ram_high && m->ram_low > 64 && m->ram;
    c->mmu.flat_end = flat ? m->ram_low - 63 : 0;
}

void emu_cpu_init_flat(struct emu_cpu *c, uint8_t *ram, uint64_t size, int cpl)
{
    emu_mmu_destroy(c);
    memset(c->gpr, 0, sizeof(c->gpr));
    c->rip = c->next_rip = 0;
    emu_set_rflags(c, RFLAGS_IF | RFLAGS_FIXED);
    c->mode = MODE_LONG64;
    c->cpl = (uint8_t)cpl;
    for (int s = 0; s < 6; s++) {
        struct seg_state *sg = &c->seg[s];
        memset(sg, 0, sizeof(*sg));
        sg->limit = 0xffffffff;
        sg->present = 1;
        sg->s = 1;
        sg->g = 1;
        sg->dpl = (uint8_t)cpl;
        sg->type = s == S_CS ? 0xb : 0x3;
        sg->l = s == S_CS;
        sg->db = s != S_CS;
        sg->selector = (uint16_t)((s == S_CS ? 0x08 : 0x10) | (cpl ? 0x23 - 0x20 + (s == S_CS ? 0x20 : 0x18) : 0));
    }
    c->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_MP;
    c->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
    c->xcr0 = emu_xcr0_supported(c);   /* as Linux sets it for a process */
    c->efer = EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE;
    c->cr2 = c->cr3 = c->cr8 = 0;
    c->mxcsr = 0x1f80;
    c->x87.fcw = 0x37f;
    c->x87.ftw = 0xffff;
    c->state = EMU_RUNNING;
    c->exc.vector = -1;
    c->irq_shadow = false;
    memset(c->mmu.tlb, 0, sizeof(c->mmu.tlb));
    memset(c->mmu.tlb1, 0, sizeof(c->mmu.tlb1));
    c->mmu.ram = ram;
    c->mmu.ram_low = size;
    c->mmu.ram_high = 0;
    c->mmu.flat_pf = true;
    c->mmu.blk_stop = 0;
    emu_mmu_init(c);
}
