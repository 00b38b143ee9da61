/* The execution loop of the software CPU: block lookup, the dispatch of
 * decoded instructions, exceptions (emu_raise longjmps here), events at
 * block boundaries, effective and linear addresses, and the handler table.
 *
 * SYSCALL (0F 05) belongs to system.c, but when c->syscall_hook is set (the
 * user-mode harness, cpu tests) the hook runs instead: RCX and R11 are
 * loaded as SYSCALL would (return RIP, RFLAGS), then the hook is called
 * with c->rip at the SYSCALL and c->next_rip after it; it may change any
 * register, write c->next_rip, or set EMU_EV_STOP in c->events. */
#include <pthread.h>
#include <stdatomic.h>

#include "engine/emu/cache.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"
#include "engine/emu/ops.h"
#include "engine/emu/avx.h"

emu_handler emu_ops[4][256];
emu_handler emu_vex_ops[4][256];
static emu_handler sys_syscall;

_Noreturn void emu_raise(struct emu_cpu *c, int vector, int errcode)
{
    c->exc.vector = vector;
    c->exc.errcode = errcode;
    longjmp(c->jmp, 1);
}

_Noreturn void emu_raise_pf(struct emu_cpu *c, uint64_t addr, uint32_t errcode)
{
    c->exc.cr2 = addr;
    emu_raise(c, EXC_PF, (int)errcode);
}

HANDLER(emu_op_ud)
{
    (void)i;
    emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

static HANDLER(op_syscall)
{
    if (c->syscall_hook) {
        c->gpr[R_RCX] = c->next_rip;
        c->gpr[R_R11] = emu_get_rflags(c);
        c->syscall_hook(c);
        return;
    }
    if (!sys_syscall)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    sys_syscall(c, i);
}

static void ops_init_once(void)
{
    emu_sse_register();
    emu_x87_register();
    emu_system_register();
    emu_arith_register();
    emu_bits_register();
    emu_move_register();
    emu_branch_register();
    emu_string_register();
    emu_bmi_register();
    emu_avx_register();
    sys_syscall = emu_ops[MAP_0F][0x05];
    emu_ops[MAP_0F][0x05] = op_syscall;
    emu_decode_init();
}

void emu_ops_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ops_init_once);
}

/* ---- addresses ----------------------------------------------------------- */

uint64_t emu_linear(struct emu_cpu *c, int seg, uint64_t off, unsigned len, bool write)
{
    if (c->mode == MODE_LONG64) {
        uint64_t la = off;
        if (seg >= S_FS)
            la += c->seg[seg].base;
        if (unlikely(!emu_canonical(la)))
            emu_raise(c, seg == S_SS ? EXC_SS : EXC_GP, 0);
        return la;
    }
    const struct seg_state *s = &c->seg[seg];
    int vec = seg == S_SS ? EXC_SS : EXC_GP;
    if (c->mode != MODE_REAL) {
        if (s->unusable || !s->present)
            emu_raise(c, vec, 0);
        bool code = s->s && (s->type & 8);
        if (write && (code || !(s->type & 2)))
            emu_raise(c, vec, 0);
        if (!write && code && !(s->type & 2))
            emu_raise(c, vec, 0);
        if (s->s && !code && (s->type & 4)) {
            /* Expand-down: valid offsets lie above the limit. */
            uint64_t max = s->db ? 0xffffffffULL : 0xffffULL;
            if (off <= s->limit || off + len - 1 > max)
                emu_raise(c, vec, 0);
            return (s->base + off) & 0xffffffffULL;
        }
    }
    if (len && off + len - 1 > s->limit)
        emu_raise(c, vec, 0);
    return (s->base + off) & 0xffffffffULL;
}

uint64_t emu_ea(struct emu_cpu *c, const struct emu_insn *i)
{
    uint64_t a = (uint64_t)i->disp;
    if (i->base < 16)
        a += c->gpr[i->base];
    else if (i->base == 0xfe)
        a += c->rip + i->len;
    if (i->index < 16)
        a += c->gpr[i->index] << i->scale;
    if (i->adsize != 8)
        a &= emu_size_mask(i->adsize);
    if (likely(c->mode == MODE_LONG64)) {
        if (i->seg >= S_FS)
            a += c->seg[i->seg].base;
        if (unlikely(!emu_canonical(a)))
            emu_raise(c, i->seg == S_SS ? EXC_SS : EXC_GP, 0);
        return a;
    }
    return emu_linear(c, i->seg, a, 1, false);
}

/* ---- the loop ------------------------------------------------------------ */

/* Block-boundary work: returns true when emu_execute must return. */
static bool handle_events(struct emu_cpu *c)
{
    if (c->state != EMU_RUNNING)
        return true;
    uint32_t ev = atomic_load_explicit(&c->events, memory_order_acquire);
    /* Only an event from outside (another vCPU, a device) can tell this
     * vCPU that code was written behind its back (cache.h); the interrupt
     * shadow and single-stepping alone do not end the epoch, nor does an
     * interrupt that waits (IF = 0) until it is taken. */
    if (ev & ~(EMU_EV_IRQ | EMU_EV_NMI))
        emu_epoch_end(&c->mmu, EMU_EPOCH_EVENT);
    if (ev & (EMU_EV_STOP | EMU_EV_INIT | EMU_EV_SIPI | EMU_EV_DIRTY))
        return true;
    if (ev & EMU_EV_CODE)   /* the new epoch is all it asks for */
        atomic_fetch_and(&c->events, ~EMU_EV_CODE);
    if (ev & EMU_EV_FLUSH) {
        atomic_fetch_and(&c->events, ~EMU_EV_FLUSH);
        emu_tlb_flush(c, true);
        emu_cache_flush(c->mmu.cache);
    }
    bool if_on = c->rflags & RFLAGS_IF;
    if ((ev & EMU_EV_NMI) || ((ev & EMU_EV_IRQ) && if_on && !c->irq_shadow)) {
        if (ev & EMU_EV_IRQ)
            atomic_fetch_and(&c->events, ~EMU_EV_IRQ);
        /* Another vCPU that wrote code makes the others take an interrupt
         * (an IPI) before they may run it; with one vCPU, and for devices
         * (EMU_EV_CODE), an interrupt tells nothing about code. */
        emu_epoch_serialize(&c->mmu, EMU_EPOCH_IRQ);
        emu_check_interrupts(c);
        if (c->state != EMU_RUNNING)
            return true;
    }
    return false;
}

static inline bool needs_attention(struct emu_cpu *c)
{
    uint32_t ev = atomic_load_explicit(&c->events, memory_order_relaxed);
    return unlikely(ev != 0 || c->state != EMU_RUNNING || c->irq_shadow ||
                    (c->rflags & RFLAGS_TF));
}

/* An exception longjmp'd out of a block: count the entries that completed
 * before the faulting one (the loop counts a block's entries when it leaves
 * it).  The entries lie in RIP order; fused pairs cannot fault and count
 * their second instruction themselves. */
static void count_done(struct emu_cpu *c, const struct emu_insn *first, unsigned n, uint64_t rip)
{
    for (unsigned k = 0; k < n && rip != c->rip; k++) {
        rip += first[k].len;
        c->insn_count++;
    }
}

uint64_t emu_execute(struct emu_cpu *c, uint64_t max_insns)
{
    emu_ops_init();
    if (!c->mmu.ready && emu_mmu_init(c) < 0)
        return 0;   /* vcpu_init allocates it first and reports a failure there */
    uint64_t start = c->insn_count;
    c->exc.vector = -1;
    emu_flat_update(c);   /* the caller may have changed CR0 or RAM (tests, state loads) */
    if (!c->mmu.writes_announced)
        emu_epoch_end(&c->mmu, EMU_EPOCH_EXECUTE);   /* see cache.h */

    /* What count_done needs after a longjmp; written once per block. */
    const struct emu_insn *volatile blk_first = NULL;
    volatile unsigned blk_n = 0;
    volatile uint64_t blk_rip = 0;

    c->mmu.prev_block = NULL;
    if (setjmp(c->jmp)) {
        count_done(c, blk_first, blk_n, blk_rip);
        blk_n = 0;
        c->mmu.blk_stop = 0;
        c->mmu.prev_block = NULL;
        if (c->exc_to_caller)
            return c->insn_count - start;
        int vec = c->exc.vector, err = c->exc.errcode;
        if (vec == EXC_PF)
            c->cr2 = c->exc.cr2;
        emu_deliver_exception(c, vec, err, false, c->rip);
        c->mmu.blk_stop = 0;
        c->exc.vector = -1;
    }

    while (c->insn_count - start < max_insns) {
        uint64_t budget = max_insns - (c->insn_count - start);
        bool single = false, trap = false;
        if (needs_attention(c)) {
            if (handle_events(c))
                break;
            c->mmu.blk_stop = 0;   /* an interrupt delivered there sets it */
            single = c->irq_shadow;
            trap = c->rflags & RFLAGS_TF;
        }

        struct emu_insn one;
        const struct emu_insn *i, *end, *x = NULL;
        bool xput = false;
        struct emu_block *b = c->mode == MODE_LONG64 ? emu_cache_linked(c) : NULL;
        if (!b) {
            if (unlikely(c->mode != MODE_LONG64 && c->rip > c->seg[S_CS].limit))
                emu_raise(c, EXC_GP, 0);   /* fetch beyond the code segment limit */
            uint64_t la = emu_code_linear(c, c->rip);
            unsigned csize = emu_code_size(c);
            struct emu_tlb_entry *e = tlb_entry(c, la);
            uint64_t pa = e->vpn_exec == tlb_page_tag(c, la & ~0xfffULL)
                              ? e->ppn | (la & 0xfff) : emu_translate(c, la, 2);
            /* Near the end of a page the instruction may cross it: blocks
             * cannot hold those, the cross-page cache does (cache.c). */
            bool near_end = c->mode == MODE_LONG64 && (la & 0xfff) > 4096 - 15;
            if (near_end && (x = emu_xcache_get(c, la)) != NULL)
                c->mmu.prev_block = NULL;
            else
                b = emu_cache_next(c, pa, csize);
            xput = near_end && !b;
        }
        /* Translated code (jit.c) runs whole blocks and the ones chained
         * to them; it leaves on events and before the budget ends. */
        if (b && !single && !trap && emu_jit_run(c, b, start + max_insns))
            continue;
        if (likely(b && !single && !trap && 2u * b->ninsn <= budget)) {   /* entries: 1 or 2 insns */
            i = b->insn;
            end = i + b->ninsn;
        } else if (x) {
            i = x;
            end = i + 1;
        } else {
            /* One instruction alone, as decoded: single steps, the
             * interrupt shadow, the end of the budget, page-crossing code.
             * (Block entries may stand for two instructions.) */
            emu_decode(c, c->rip, &one);
            if (xput)
                emu_xcache_put(c, c->rip, &one);
            i = &one;
            end = i + 1;
        }

        /* Handlers that move RIP themselves (exception delivery) also set
         * next_rip and blk_stop, so one compare of next_rip per entry finds
         * every way out: a taken branch (blocks run on past conditional
         * branches), a REP slice, a store into code, a mode change. */
        const struct emu_insn *first = i;
        uint64_t rip = c->rip;
        blk_first = first;
        blk_rip = rip;
        blk_n = (unsigned)(end - first);
        for (;;) {
            uint64_t next = rip + i->len;
            c->next_rip = next;
            i->fn(c, i);
            i++;
            uint64_t nr = c->next_rip;
            c->rip = nr;
            if (unlikely(nr != next || c->mmu.blk_stop)) {
                c->mmu.blk_stop = 0;
                break;
            }
            if (i == end)
                break;
            rip = nr;
        }
        blk_n = 0;
        c->insn_count += (uint64_t)(i - first);
        if (single)
            c->irq_shadow = false;
        if (trap) {
            c->dr[6] |= 1ULL << 14;   /* BS: single step */
            if (c->exc_to_caller) {
                c->exc.vector = EXC_DB;
                c->exc.errcode = EMU_NO_ERRCODE;
                break;
            }
            emu_deliver_exception(c, EXC_DB, EMU_NO_ERRCODE, false, c->rip);
            c->mmu.blk_stop = 0;
        }
    }
    return c->insn_count - start;
}
