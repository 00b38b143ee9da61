/* Segmentation of the software CPU: descriptor reads, segment register
 * loads with their protection checks, far JMP/CALL/RET, IRET, the
 * descriptor-table instructions (LGDT, LTR, ...) and the stack helpers. */
#include <string.h>

#include "engine/emu/system.h"

/* ---- implicit supervisor accesses --------------------------------------- */

/* The MMU checks user pages against c->cpl; the CPU's own accesses to its
 * tables are supervisor accesses whatever the CPL, so run them at CPL 0 and
 * put the CPL back even when they fault.  They are implicit accesses too,
 * which SMAP stops at user pages whatever EFLAGS.AC says (mmu.c). */
static void sup_access(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t *val, bool write)
{
    jmp_buf saved;
    uint8_t cpl = c->cpl;

    memcpy(saved, c->jmp, sizeof(saved));
    c->cpl = 0;
    c->mmu.implicit = true;
    if (setjmp(c->jmp)) {
        c->cpl = cpl;
        c->mmu.implicit = false;
        memcpy(c->jmp, saved, sizeof(saved));
        longjmp(c->jmp, 1);
    }
    if (write)
        emu_write(c, la, size, *val);
    else
        *val = emu_read(c, la, size);
    c->cpl = cpl;
    c->mmu.implicit = false;
    memcpy(c->jmp, saved, sizeof(saved));
}

uint64_t sys_read_sup(struct emu_cpu *c, uint64_t la, unsigned size)
{
    uint64_t v = 0;
    sup_access(c, la, size, &v, false);
    return v;
}

void sys_write_sup(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t val)
{
    sup_access(c, la, size, &val, true);
}

/* Linear addresses of the system tables wrap at 4 GiB outside long mode. */
static uint64_t table_la(struct emu_cpu *c, uint64_t base, uint64_t off)
{
    uint64_t la = base + off;
    return (c->efer & EFER_LMA) ? la : (uint32_t)la;
}

/* ---- descriptors -------------------------------------------------------- */

static uint64_t desc_addr(struct emu_cpu *c, uint16_t sel, unsigned len, int fault_vec)
{
    uint64_t base, limit;
    if (sel & 4) {
        if (c->ldtr.unusable || !c->ldtr.present)
            emu_raise(c, fault_vec, sel_err(sel));
        base = c->ldtr.base;
        limit = c->ldtr.limit;
    } else {
        base = c->gdtr.base;
        limit = c->gdtr.limit;
    }
    if ((uint64_t)(sel & ~7u) + len - 1 > limit)
        emu_raise(c, fault_vec, sel_err(sel));
    return table_la(c, base, sel & ~7u);
}

uint64_t sys_read_desc(struct emu_cpu *c, uint16_t sel, int fault_vec)
{
    return sys_read_sup(c, desc_addr(c, sel, 8, fault_vec), 8);
}

uint64_t sys_read_desc_hi(struct emu_cpu *c, uint16_t sel, int fault_vec)
{
    return sys_read_sup(c, desc_addr(c, sel, 16, fault_vec) + 8, 8);
}

void sys_desc_to_seg(uint64_t d, uint16_t sel, struct seg_state *s)
{
    uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)(((d >> 48) & 0xf) << 16);

    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
    s->type = (d >> 40) & 0xf;
    s->s = (d >> 44) & 1;
    s->dpl = (d >> 45) & 3;
    s->present = (d >> 47) & 1;
    s->avl = (d >> 52) & 1;
    s->l = (d >> 53) & 1;
    s->db = (d >> 54) & 1;
    s->g = (d >> 55) & 1;
    s->limit = s->g ? (limit << 12) | 0xfff : limit;
}

void sys_set_accessed(struct emu_cpu *c, uint16_t sel, uint64_t d)
{
    if (d & (1ULL << 40))
        return;
    /* Only the byte holding the type is written, as hardware does. */
    uint64_t la = desc_addr(c, sel, 8, EXC_GP) + 5;
    sys_write_sup(c, la, 1, ((d >> 40) & 0xff) | 1);
}

void sys_null_seg(struct seg_state *s, uint16_t sel)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->unusable = 1;
}

void sys_real_seg(struct emu_cpu *c, int seg, uint16_t sel)
{
    struct seg_state *s = &c->seg[seg];
    s->selector = sel;
    s->base = (uint64_t)sel << 4;
    /* Real mode keeps the cached limit and attributes ("unreal" mode) but a
     * segment loaded here is always usable. */
    s->present = 1;
    s->unusable = 0;
    s->s = 1;
    if (seg == S_CS) {
        s->type |= 0x8 | 0x2;
        s->dpl = 0;
    } else if (!(s->type & 0x8)) {
        s->type |= 0x2;
    }
    if (seg == S_CS)
        emu_update_mode(c);
}

void sys_load_cs(struct emu_cpu *c, uint16_t sel, uint64_t desc, int cpl)
{
    struct seg_state s;
    sys_set_accessed(c, sel, desc);
    sys_desc_to_seg(desc | (1ULL << 40), (uint16_t)((sel & ~3u) | (unsigned)cpl), &s);
    c->seg[S_CS] = s;
    c->cpl = (uint8_t)cpl;
    emu_update_mode(c);
}

/* Checks a stack segment for the given CPL; returns its descriptor.  vec is
 * the fault for a bad selector (#GP for MOV/POP/RET/IRET, #TS in a stack
 * switch). */
static uint64_t check_ss(struct emu_cpu *c, uint16_t sel, int cpl, int vec, struct seg_state *out)
{
    uint64_t d = sys_read_desc(c, sel, vec);
    sys_desc_to_seg(d, sel, out);
    if ((sel & 3) != cpl || !out->s || (out->type & 8) || !(out->type & 2) || out->dpl != cpl)
        emu_raise(c, vec, sel_err(sel));
    if (!out->present)
        emu_raise(c, EXC_SS, sel_err(sel));
    return d;
}

/* A null SS is allowed in 64-bit mode below CPL 3; keep it usable so the
 * stack works (64-bit mode ignores SS's attributes). */
static void null_ss_64(struct emu_cpu *c, uint16_t sel, int cpl)
{
    struct seg_state *s = &c->seg[S_SS];
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = 3;
    s->s = 1;
    s->present = 1;
    s->dpl = (uint8_t)cpl;
    s->db = 1;
    s->g = 1;
}

static void load_ss_for(struct emu_cpu *c, uint16_t sel, int cpl, bool long64_null_ok)
{
    struct seg_state s;
    if ((sel & ~3u) == 0) {
        if (!long64_null_ok || cpl == 3 || (sel & 3) != cpl)
            emu_raise(c, EXC_GP, 0);
        null_ss_64(c, sel, cpl);
        return;
    }
    uint64_t d = check_ss(c, sel, cpl, EXC_GP, &s);
    sys_set_accessed(c, sel, d);
    s.type |= 1;
    c->seg[S_SS] = s;
}

void emu_load_seg(struct emu_cpu *c, int seg, uint16_t sel)
{
    struct seg_state s;

    if (c->mode == MODE_REAL) {
        sys_real_seg(c, seg, sel);
        if (seg == S_SS)
            c->irq_shadow = true;
        return;
    }
    if (seg == S_SS) {
        load_ss_for(c, sel, c->cpl, c->mode == MODE_LONG64);
        c->irq_shadow = true;
        return;
    }
    if ((sel & ~3u) == 0) {
        sys_null_seg(&c->seg[seg], sel);
        return;
    }
    uint64_t d = sys_read_desc(c, sel, EXC_GP);
    sys_desc_to_seg(d, sel, &s);
    unsigned rpl = sel & 3;
    if (!s.s || ((s.type & 8) && !(s.type & 2)))
        emu_raise(c, EXC_GP, sel_err(sel));
    /* Data and non-conforming code: DPL must be at least CPL and RPL. */
    if ((!(s.type & 8) || !(s.type & 4)) && (s.dpl < c->cpl || s.dpl < rpl))
        emu_raise(c, EXC_GP, sel_err(sel));
    if (!s.present)
        emu_raise(c, EXC_NP, sel_err(sel));
    sys_set_accessed(c, sel, d);
    s.type |= 1;
    c->seg[seg] = s;
}

void sys_null_inaccessible(struct emu_cpu *c)
{
    static const int segs[] = { S_ES, S_DS, S_FS, S_GS };
    for (unsigned k = 0; k < 4; k++) {
        struct seg_state *s = &c->seg[segs[k]];
        if (s->unusable)
            continue;
        bool data_or_nc = !(s->type & 8) || !(s->type & 4);
        if (data_or_nc && s->dpl < c->cpl)
            sys_null_seg(s, 0);
    }
}

/* ---- the TSS ------------------------------------------------------------ */

static uint64_t tss_read(struct emu_cpu *c, uint32_t off, unsigned size)
{
    if (c->tr.unusable || !c->tr.present || (uint64_t)off + size - 1 > c->tr.limit)
        emu_raise(c, EXC_TS, sel_err(c->tr.selector));
    return sys_read_sup(c, table_la(c, c->tr.base, off), size);
}

uint64_t sys_tss_rsp(struct emu_cpu *c, int cpl)
{
    return tss_read(c, 4 + 8 * (uint32_t)cpl, 8);
}

uint64_t sys_tss_ist(struct emu_cpu *c, int ist)
{
    return tss_read(c, 0x24 + 8 * (uint32_t)(ist - 1), 8);
}

void sys_tss32_stack(struct emu_cpu *c, int cpl, uint16_t *ss, uint32_t *esp)
{
    if ((c->tr.type & 7) == DESC_TSS16_AVAIL) {   /* 16-bit TSS: SP at 2+4n, SS at 4+4n */
        *esp = (uint32_t)tss_read(c, 2 + 4 * (uint32_t)cpl, 2);
        *ss = (uint16_t)tss_read(c, 4 + 4 * (uint32_t)cpl, 2);
        return;
    }
    *esp = (uint32_t)tss_read(c, 4 + 8 * (uint32_t)cpl, 4);
    *ss = (uint16_t)tss_read(c, 8 + 8 * (uint32_t)cpl, 2);
}

/* ---- stack -------------------------------------------------------------- */

unsigned sys_stack_size(struct emu_cpu *c)
{
    if (c->mode == MODE_LONG64)
        return 8;
    return c->seg[S_SS].db ? 4 : 2;
}

uint64_t sys_sp(struct emu_cpu *c)
{
    return c->gpr[R_RSP] & emu_size_mask(sys_stack_size(c));
}

void sys_set_sp(struct emu_cpu *c, uint64_t sp)
{
    unsigned w = sys_stack_size(c);
    if (w == 8)
        c->gpr[R_RSP] = sp;
    else
        c->gpr[R_RSP] = (c->gpr[R_RSP] & ~emu_size_mask(w)) | (sp & emu_size_mask(w));
}

static uint64_t stack_la(struct emu_cpu *c, uint64_t sp, unsigned size, bool write)
{
    if (c->mode == MODE_LONG64) {
        if (!SYS_CANONICAL(sp) || !SYS_CANONICAL(sp + size - 1))
            emu_raise(c, EXC_SS, 0);
        return sp;
    }
    return emu_linear(c, S_SS, sp, size, write);
}

void sys_push(struct emu_cpu *c, unsigned size, uint64_t val)
{
    uint64_t sp = (sys_sp(c) - size) & emu_size_mask(sys_stack_size(c));
    emu_write(c, stack_la(c, sp, size, true), size, val);
    sys_set_sp(c, sp);
}

uint64_t sys_peek(struct emu_cpu *c, uint64_t off, unsigned size)
{
    uint64_t sp = (sys_sp(c) + off) & emu_size_mask(sys_stack_size(c));
    return emu_read(c, stack_la(c, sp, size, false), size);
}

uint64_t sys_pop(struct emu_cpu *c, unsigned size)
{
    uint64_t v = sys_peek(c, 0, size);
    sys_set_sp(c, sys_sp(c) + size);
    return v;
}

/* Several pushes that either all happen or leave RSP alone. */
static void push_n(struct emu_cpu *c, unsigned size, const uint64_t *vals, int n)
{
    uint64_t mask = emu_size_mask(sys_stack_size(c));
    uint64_t sp = sys_sp(c);
    for (int k = 0; k < n; k++) {
        sp = (sp - size) & mask;
        emu_write(c, stack_la(c, sp, size, true), size, vals[k]);
    }
    sys_set_sp(c, sp);
}

/* ---- flags -------------------------------------------------------------- */

void sys_write_flags(struct emu_cpu *c, uint64_t val, unsigned size, bool iret)
{
    uint64_t cur = emu_get_rflags(c);
    uint64_t mask = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF |
                    RFLAGS_DF | RFLAGS_OF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
    if (iret)
        mask |= RFLAGS_RF;
    if (c->cpl == 0) {
        mask |= RFLAGS_IOPL | RFLAGS_IF;
        if (iret)
            mask |= RFLAGS_VIF | RFLAGS_VIP;
    } else if (c->cpl <= sys_iopl(c)) {
        mask |= RFLAGS_IF;
    }
    if (size == 2)
        mask &= 0xffff;
    uint64_t nv = (cur & ~mask) | (val & mask) | RFLAGS_FIXED;
    if (!iret)
        nv &= ~RFLAGS_RF;
    emu_set_rflags(c, nv);
    if (!(cur & RFLAGS_IF) && (nv & RFLAGS_IF))
        emu_post_events(c, EMU_EV_IRQ);
}

/* ---- ModRM helpers ------------------------------------------------------ */

uint64_t sys_read_rm(struct emu_cpu *c, const struct emu_insn *i, unsigned size)
{
    if (i->mod == 3)
        return sys_get_reg(c, i->rm, size);
    return emu_read(c, emu_ea(c, i), size);
}

void sys_write_rm(struct emu_cpu *c, const struct emu_insn *i, unsigned size, uint64_t v)
{
    if (i->mod == 3)
        sys_set_reg(c, i->rm, size, v);
    else
        emu_write(c, emu_ea(c, i), size, v);
}

/* ---- far transfers ------------------------------------------------------ */

/* Checks a code segment target of JMP/CALL (same privilege only: call gates
 * are not supported, a gap documented in docs/emu.md). */
static uint64_t check_far_target(struct emu_cpu *c, uint16_t sel, uint64_t off)
{
    struct seg_state s;
    if ((sel & ~3u) == 0)
        emu_raise(c, EXC_GP, 0);
    uint64_t d = sys_read_desc(c, sel, EXC_GP);
    sys_desc_to_seg(d, sel, &s);
    if (!s.s || !(s.type & 8))
        emu_raise(c, EXC_GP, sel_err(sel));
    if (s.type & 4) {
        if (s.dpl > c->cpl)
            emu_raise(c, EXC_GP, sel_err(sel));
    } else if ((sel & 3) > c->cpl || s.dpl != c->cpl) {
        emu_raise(c, EXC_GP, sel_err(sel));
    }
    if (!s.present)
        emu_raise(c, EXC_NP, sel_err(sel));
    bool long_target = (c->efer & EFER_LMA) && s.l;
    if ((c->efer & EFER_LMA) && s.l && s.db)
        emu_raise(c, EXC_GP, sel_err(sel));
    if (long_target ? !SYS_CANONICAL(off) : off > s.limit)
        emu_raise(c, EXC_GP, 0);
    return d;
}

void emu_far_jmp(struct emu_cpu *c, uint16_t sel, uint64_t off)
{
    if (c->mode == MODE_REAL) {
        sys_real_seg(c, S_CS, sel);
        c->next_rip = off;
        return;
    }
    uint64_t d = check_far_target(c, sel, off);
    sys_load_cs(c, sel, d, c->cpl);
    c->next_rip = off;
}

void emu_far_call(struct emu_cpu *c, uint16_t sel, uint64_t off, unsigned opsize,
                  uint64_t next_rip)
{
    uint64_t vals[2] = { c->seg[S_CS].selector, next_rip };
    if (c->mode == MODE_REAL) {
        push_n(c, opsize, vals, 2);
        sys_real_seg(c, S_CS, sel);
        c->next_rip = off;
        return;
    }
    uint64_t d = check_far_target(c, sel, off);
    push_n(c, opsize, vals, 2);
    sys_load_cs(c, sel, d, c->cpl);
    c->next_rip = off;
}

/* The code segment of a RET/IRET; returns the descriptor. */
static uint64_t check_return_cs(struct emu_cpu *c, uint16_t sel, struct seg_state *s)
{
    unsigned rpl = sel & 3;
    if ((sel & ~3u) == 0)
        emu_raise(c, EXC_GP, 0);
    uint64_t d = sys_read_desc(c, sel, EXC_GP);
    sys_desc_to_seg(d, sel, s);
    if (rpl < c->cpl || !s->s || !(s->type & 8))
        emu_raise(c, EXC_GP, sel_err(sel));
    if ((s->type & 4) ? s->dpl > rpl : s->dpl != rpl)
        emu_raise(c, EXC_GP, sel_err(sel));
    if (!s->present)
        emu_raise(c, EXC_NP, sel_err(sel));
    if ((c->efer & EFER_LMA) && s->l && s->db)
        emu_raise(c, EXC_GP, sel_err(sel));
    return d;
}

/* Checks the SS an outward return loads; *d gets its descriptor, 0 for a
 * null selector allowed in 64-bit mode. */
static void check_return_ss(struct emu_cpu *c, uint16_t sel, unsigned cpl, bool target64,
                            uint64_t *d)
{
    struct seg_state s;
    if ((sel & ~3u) == 0) {
        if (!target64 || cpl == 3 || (sel & 3) != cpl)
            emu_raise(c, EXC_GP, 0);
        *d = 0;
        return;
    }
    *d = check_ss(c, sel, (int)cpl, EXC_GP, &s);
}

static void commit_ss(struct emu_cpu *c, uint16_t sel, uint64_t d, unsigned cpl)
{
    if (!d) {
        null_ss_64(c, sel, (int)cpl);
        return;
    }
    struct seg_state s;
    sys_set_accessed(c, sel, d);
    sys_desc_to_seg(d | (1ULL << 40), sel, &s);
    c->seg[S_SS] = s;
}

static void set_rsp_sized(struct emu_cpu *c, uint64_t sp, unsigned size)
{
    if (c->mode == MODE_LONG64 || c->seg[S_SS].db)
        c->gpr[R_RSP] = sp & emu_size_mask(size < 4 ? 4 : size);
    else
        c->gpr[R_RSP] = (c->gpr[R_RSP] & ~0xffffULL) | (sp & 0xffff);
}

static uint64_t ip_for_target(struct emu_cpu *c, uint64_t ip, unsigned size)
{
    if (c->mode == MODE_LONG64)
        return ip;
    return ip & emu_size_mask(size < 4 ? size : 4);
}

static void do_retf(struct emu_cpu *c, const struct emu_insn *i, uint16_t imm)
{
    unsigned size = i->opsize;
    uint64_t ip = sys_peek(c, 0, size);
    uint16_t sel = (uint16_t)sys_peek(c, size, 2);

    if (c->mode == MODE_REAL) {
        sys_set_sp(c, sys_sp(c) + 2 * size + imm);
        sys_real_seg(c, S_CS, sel);
        c->next_rip = ip & emu_size_mask(size);
        return;
    }
    struct seg_state cs;
    uint64_t d = check_return_cs(c, sel, &cs);
    unsigned rpl = sel & 3;
    bool target64 = (c->efer & EFER_LMA) && cs.l;
    if (target64 ? !SYS_CANONICAL(ip) : (ip & emu_size_mask(size)) > cs.limit)
        emu_raise(c, EXC_GP, 0);
    if (rpl == c->cpl) {
        sys_set_sp(c, sys_sp(c) + 2 * size + imm);
        sys_load_cs(c, sel, d, c->cpl);
        c->next_rip = ip_for_target(c, ip, size);
        return;
    }
    uint64_t nsp = sys_peek(c, 2 * size + imm, size);
    uint16_t nss = (uint16_t)sys_peek(c, 3 * size + imm, 2);
    uint64_t ssd;
    check_return_ss(c, nss, rpl, target64, &ssd);
    sys_load_cs(c, sel, d, (int)rpl);
    commit_ss(c, nss, ssd, rpl);
    set_rsp_sized(c, nsp + imm, size);
    c->next_rip = ip_for_target(c, ip, size);
    sys_null_inaccessible(c);
}

static void op_retf_imm(struct emu_cpu *c, const struct emu_insn *i)
{
    do_retf(c, i, (uint16_t)i->imm);
}

static void op_retf(struct emu_cpu *c, const struct emu_insn *i)
{
    do_retf(c, i, 0);
}

static void do_iret(struct emu_cpu *c, const struct emu_insn *i);

/* IRET also ends NMI blocking (once it completed without a fault). */
static void op_iret(struct emu_cpu *c, const struct emu_insn *i)
{
    do_iret(c, i);
    if (c->nmi_blocked) {
        c->nmi_blocked = false;
        if (atomic_load(&c->events) & EMU_EV_NMI)
            c->mmu.blk_stop = 1;
    }
}

static void do_iret(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    uint64_t ip = sys_peek(c, 0, size);
    uint16_t sel = (uint16_t)sys_peek(c, size, 2);
    uint64_t fl = sys_peek(c, 2 * size, size);

    if (c->mode == MODE_REAL) {
        sys_set_sp(c, sys_sp(c) + 3 * size);
        sys_write_flags(c, fl, size, true);
        sys_real_seg(c, S_CS, sel);
        c->next_rip = ip & emu_size_mask(size);
        return;
    }
    /* Task returns (NT) and returns to virtual-8086 mode are not supported. */
    if (c->rflags & RFLAGS_NT)
        emu_raise(c, EXC_GP, 0);
    if (!(c->efer & EFER_LMA) && size == 4 && (fl & RFLAGS_VM) && c->cpl == 0)
        emu_raise(c, EXC_GP, 0);

    struct seg_state cs;
    uint64_t d = check_return_cs(c, sel, &cs);
    unsigned rpl = sel & 3;
    bool target64 = (c->efer & EFER_LMA) && cs.l;
    bool outer = rpl > c->cpl;
    bool pop_ss = outer || c->mode == MODE_LONG64;
    uint64_t nsp = 0, ssd = 0;
    uint16_t nss = 0;
    if (target64 ? !SYS_CANONICAL(ip) : (ip & emu_size_mask(size)) > cs.limit)
        emu_raise(c, EXC_GP, 0);
    if (pop_ss) {
        nsp = sys_peek(c, 3 * size, size);
        nss = (uint16_t)sys_peek(c, 4 * size, 2);
        check_return_ss(c, nss, rpl, target64, &ssd);
    }
    /* Every check passed: commit.  Flags follow the rules of the old CPL. */
    if (!pop_ss)
        sys_set_sp(c, sys_sp(c) + 3 * size);
    sys_write_flags(c, fl, size, true);
    sys_load_cs(c, sel, d, (int)rpl);
    if (pop_ss) {
        commit_ss(c, nss, ssd, rpl);
        set_rsp_sized(c, nsp, size);
    }
    c->next_rip = ip_for_target(c, ip, size);
    if (outer)
        sys_null_inaccessible(c);
}

static void op_jmp_far(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_LONG64)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    emu_far_jmp(c, (uint16_t)i->imm2, i->imm & emu_size_mask(i->opsize));
}

static void op_call_far(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_LONG64)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    emu_far_call(c, (uint16_t)i->imm2, i->imm & emu_size_mask(i->opsize), i->opsize,
                 c->next_rip);
}

/* ---- segment register moves --------------------------------------------- */

static unsigned stack_opsize(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_LONG64)
        return (i->prefix & PFX_OPSIZE) ? 2 : 8;
    return i->opsize;
}

static void push_seg(struct emu_cpu *c, const struct emu_insn *i, int seg)
{
    sys_push(c, stack_opsize(c, i), c->seg[seg].selector);
}

static void pop_seg(struct emu_cpu *c, const struct emu_insn *i, int seg)
{
    unsigned size = stack_opsize(c, i);
    uint16_t sel = (uint16_t)sys_peek(c, 0, 2);
    emu_load_seg(c, seg, sel);
    sys_set_sp(c, sys_sp(c) + size);
}

static void no64(struct emu_cpu *c)
{
    if (c->mode == MODE_LONG64)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

static void op_push_es(struct emu_cpu *c, const struct emu_insn *i) { no64(c); push_seg(c, i, S_ES); }
static void op_pop_es(struct emu_cpu *c, const struct emu_insn *i) { no64(c); pop_seg(c, i, S_ES); }
static void op_push_cs(struct emu_cpu *c, const struct emu_insn *i) { no64(c); push_seg(c, i, S_CS); }
static void op_push_ss(struct emu_cpu *c, const struct emu_insn *i) { no64(c); push_seg(c, i, S_SS); }
static void op_pop_ss(struct emu_cpu *c, const struct emu_insn *i) { no64(c); pop_seg(c, i, S_SS); }
static void op_push_ds(struct emu_cpu *c, const struct emu_insn *i) { no64(c); push_seg(c, i, S_DS); }
static void op_pop_ds(struct emu_cpu *c, const struct emu_insn *i) { no64(c); pop_seg(c, i, S_DS); }
static void op_push_fs(struct emu_cpu *c, const struct emu_insn *i) { push_seg(c, i, S_FS); }
static void op_pop_fs(struct emu_cpu *c, const struct emu_insn *i) { pop_seg(c, i, S_FS); }
static void op_push_gs(struct emu_cpu *c, const struct emu_insn *i) { push_seg(c, i, S_GS); }
static void op_pop_gs(struct emu_cpu *c, const struct emu_insn *i) { pop_seg(c, i, S_GS); }

static void op_mov_from_sreg(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned r = i->reg & 7;
    if (r > S_GS)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint16_t sel = c->seg[r].selector;
    if (i->mod == 3)
        sys_set_reg(c, i->rm, i->opsize, sel);   /* zero-extended */
    else
        emu_write(c, emu_ea(c, i), 2, sel);
}

static void op_mov_to_sreg(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned r = i->reg & 7;
    if (r > S_GS || r == S_CS)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    emu_load_seg(c, (int)r, (uint16_t)sys_read_rm(c, i, 2));
}

/* LES/LDS/LSS/LFS/LGS: offset then selector in memory. */
static void load_far_ptr(struct emu_cpu *c, const struct emu_insn *i, int seg)
{
    if (i->mod == 3)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint64_t ea = emu_ea(c, i);
    uint64_t off = emu_read(c, ea, i->opsize);
    uint64_t sel_la = ea + i->opsize;
    if (c->mode != MODE_LONG64)
        sel_la = (uint32_t)sel_la;
    uint16_t sel = (uint16_t)emu_read(c, sel_la, 2);
    emu_load_seg(c, seg, sel);
    sys_set_reg(c, i->reg, i->opsize, off);
}

static void op_les(struct emu_cpu *c, const struct emu_insn *i) { no64(c); load_far_ptr(c, i, S_ES); }
static void op_lds(struct emu_cpu *c, const struct emu_insn *i) { no64(c); load_far_ptr(c, i, S_DS); }
static void op_lss(struct emu_cpu *c, const struct emu_insn *i) { load_far_ptr(c, i, S_SS); }
static void op_lfs(struct emu_cpu *c, const struct emu_insn *i) { load_far_ptr(c, i, S_FS); }
static void op_lgs(struct emu_cpu *c, const struct emu_insn *i) { load_far_ptr(c, i, S_GS); }

/* ---- 0F 00: LDT, task register, VERR/VERW ------------------------------- */

static void load_ldt(struct emu_cpu *c, uint16_t sel)
{
    struct seg_state s;
    if ((sel & ~3u) == 0) {
        sys_null_seg(&c->ldtr, sel);
        return;
    }
    if (sel & 4)
        emu_raise(c, EXC_GP, sel_err(sel));
    uint64_t d = sys_read_desc(c, sel, EXC_GP);
    sys_desc_to_seg(d, sel, &s);
    if (s.s || s.type != DESC_LDT)
        emu_raise(c, EXC_GP, sel_err(sel));
    if (!s.present)
        emu_raise(c, EXC_NP, sel_err(sel));
    if (c->efer & EFER_LMA) {
        uint64_t hi = sys_read_desc_hi(c, sel, EXC_GP);
        if (!SYS_CANONICAL(s.base | (hi << 32)))
            emu_raise(c, EXC_GP, sel_err(sel));
        s.base |= hi << 32;
    }
    c->ldtr = s;
}

static void load_tr(struct emu_cpu *c, uint16_t sel)
{
    struct seg_state s;
    if ((sel & ~3u) == 0)
        emu_raise(c, EXC_GP, 0);
    if (sel & 4)
        emu_raise(c, EXC_GP, sel_err(sel));
    uint64_t d = sys_read_desc(c, sel, EXC_GP);
    sys_desc_to_seg(d, sel, &s);
    bool ok = !s.s && (s.type == DESC_TSS_AVAIL ||
                       (s.type == DESC_TSS16_AVAIL && !(c->efer & EFER_LMA)));
    if (!ok)
        emu_raise(c, EXC_GP, sel_err(sel));
    if (!s.present)
        emu_raise(c, EXC_NP, sel_err(sel));
    if (c->efer & EFER_LMA) {
        uint64_t hi = sys_read_desc_hi(c, sel, EXC_GP);
        if (!SYS_CANONICAL(s.base | (hi << 32)))
            emu_raise(c, EXC_GP, sel_err(sel));
        s.base |= hi << 32;
    }
    /* Mark the TSS busy in the GDT. */
    sys_write_sup(c, desc_addr(c, sel, 8, EXC_GP) + 5, 1, ((d >> 40) & 0xff) | 2);
    s.type |= 2;
    c->tr = s;
}

static bool verify_seg(struct emu_cpu *c, uint16_t sel, bool write)
{
    struct seg_state s;
    uint64_t base = (sel & 4) ? c->ldtr.base : c->gdtr.base;
    uint64_t limit = (sel & 4) ? c->ldtr.limit : c->gdtr.limit;
    if ((sel & ~3u) == 0 || ((sel & 4) && c->ldtr.unusable) || (uint64_t)(sel | 7) > limit)
        return false;
    sys_desc_to_seg(sys_read_sup(c, table_la(c, base, sel & ~7u), 8), sel, &s);
    if (!s.s)
        return false;
    if (write)
        return !(s.type & 8) && (s.type & 2) && s.dpl >= c->cpl && s.dpl >= (sel & 3);
    if ((s.type & 8) && !(s.type & 2))
        return false;
    if ((s.type & 0xc) == 0xc)   /* conforming code: no privilege check */
        return true;
    return s.dpl >= c->cpl && s.dpl >= (sel & 3);
}

/* UMIP: SGDT, SIDT, SLDT, SMSW and STR are privileged when CR4.UMIP is set. */
static void umip_check(struct emu_cpu *c)
{
    if ((c->cr4 & CR4_UMIP) && c->cpl > 0)
        emu_raise(c, EXC_GP, 0);
}

static void op_grp6(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_REAL)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned op = i->reg & 7;
    switch (op) {
    case 0:   /* SLDT */
    case 1: { /* STR */
        umip_check(c);
        uint16_t sel = op == 0 ? c->ldtr.selector : c->tr.selector;
        if (i->mod == 3)
            sys_set_reg(c, i->rm, i->opsize, sel);
        else
            emu_write(c, emu_ea(c, i), 2, sel);
        break;
    }
    case 2:
    case 3: {
        sys_require_cpl0(c);
        uint16_t sel = (uint16_t)sys_read_rm(c, i, 2);
        if (op == 2)
            load_ldt(c, sel);
        else
            load_tr(c, sel);
        break;
    }
    case 4:
    case 5: {
        uint16_t sel = (uint16_t)sys_read_rm(c, i, 2);
        bool ok = verify_seg(c, sel, op == 5);
        uint64_t fl = emu_get_rflags(c);
        emu_set_rflags(c, ok ? fl | RFLAGS_ZF : fl & ~RFLAGS_ZF);
        break;
    }
    default:
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    }
}

/* ---- 0F 01 memory forms: descriptor tables, MSW, INVLPG ------------------ */

void emu_sys_grp7_mem(struct emu_cpu *c, const struct emu_insn *i);
void emu_sys_grp7_mem(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    bool long64 = c->mode == MODE_LONG64;
    switch (op) {
    case 0:   /* SGDT */
    case 1: { /* SIDT */
        umip_check(c);
        const struct dtable_state *t = op == 0 ? &c->gdtr : &c->idtr;
        uint64_t ea = emu_ea(c, i);
        uint64_t base = long64 ? t->base : (uint32_t)t->base;
        emu_write(c, ea, 2, t->limit);
        emu_write(c, long64 ? ea + 2 : (uint32_t)(ea + 2), long64 ? 8 : 4, base);
        break;
    }
    case 2:   /* LGDT */
    case 3: { /* LIDT */
        sys_require_cpl0(c);
        uint64_t ea = emu_ea(c, i);
        uint16_t limit = (uint16_t)emu_read(c, ea, 2);
        uint64_t base = emu_read(c, long64 ? ea + 2 : (uint32_t)(ea + 2), long64 ? 8 : 4);
        if (!long64 && i->opsize == 2)
            base &= 0xffffff;
        if (long64 && !SYS_CANONICAL(base))
            emu_raise(c, EXC_GP, 0);
        struct dtable_state *t = op == 2 ? &c->gdtr : &c->idtr;
        t->base = base;
        t->limit = limit;
        break;
    }
    case 4:   /* SMSW m16 */
        umip_check(c);
        emu_write(c, emu_ea(c, i), 2, (uint16_t)c->cr0);
        break;
    case 6: { /* LMSW m16 */
        sys_require_cpl0(c);
        uint16_t v = (uint16_t)emu_read(c, emu_ea(c, i), 2);
        /* PE can be set but not cleared; MP, EM, TS are loaded. */
        uint64_t cr0 = (c->cr0 & ~0xeULL) | (v & 0xf) | (c->cr0 & CR0_PE);
        c->cr0 = cr0;
        emu_update_mode(c);
        break;
    }
    case 7:   /* INVLPG */
        sys_require_cpl0(c);
        emu_tlb_flush_page(c, emu_ea(c, i));
        break;
    default:
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    }
}

/* SMSW r and LMSW r (register forms of 0F 01 /4 and /6). */
void emu_sys_msw_reg(struct emu_cpu *c, const struct emu_insn *i);
void emu_sys_msw_reg(struct emu_cpu *c, const struct emu_insn *i)
{
    if ((i->reg & 7) == 4) {
        umip_check(c);
        sys_set_reg(c, i->rm, i->opsize, c->cr0 & emu_size_mask(i->opsize));
    } else {
        sys_require_cpl0(c);
        uint16_t v = (uint16_t)c->gpr[i->rm];
        c->cr0 = (c->cr0 & ~0xeULL) | (v & 0xf) | (c->cr0 & CR0_PE);
        emu_update_mode(c);
    }
}

void emu_sys_seg_register(void)
{
    emu_ops[MAP_1][0x06] = op_push_es;
    emu_ops[MAP_1][0x07] = op_pop_es;
    emu_ops[MAP_1][0x0e] = op_push_cs;
    emu_ops[MAP_1][0x16] = op_push_ss;
    emu_ops[MAP_1][0x17] = op_pop_ss;
    emu_ops[MAP_1][0x1e] = op_push_ds;
    emu_ops[MAP_1][0x1f] = op_pop_ds;
    emu_ops[MAP_1][0x8c] = op_mov_from_sreg;
    emu_ops[MAP_1][0x8e] = op_mov_to_sreg;
    emu_ops[MAP_1][0x9a] = op_call_far;
    emu_ops[MAP_1][0xea] = op_jmp_far;
    emu_ops[MAP_1][0xc4] = op_les;
    emu_ops[MAP_1][0xc5] = op_lds;
    emu_ops[MAP_1][0xca] = op_retf_imm;
    emu_ops[MAP_1][0xcb] = op_retf;
    emu_ops[MAP_1][0xcf] = op_iret;
    emu_ops[MAP_0F][0x00] = op_grp6;
    emu_ops[MAP_0F][0xa0] = op_push_fs;
    emu_ops[MAP_0F][0xa1] = op_pop_fs;
    emu_ops[MAP_0F][0xa8] = op_push_gs;
    emu_ops[MAP_0F][0xa9] = op_pop_gs;
    emu_ops[MAP_0F][0xb2] = op_lss;
    emu_ops[MAP_0F][0xb4] = op_lfs;
    emu_ops[MAP_0F][0xb5] = op_lgs;
}
