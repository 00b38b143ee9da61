/* The x87 FPU of emu (D8..DF and FWAIT).  Registers are host 80-bit long
 * doubles; arithmetic runs on the host FPU under the guest's control word
 * and the status it reports is merged into the guest FSW, so results,
 * flags and condition codes match real hardware (docs/emu-simd.md). */
#include <math.h>

#include "engine/emu/sse.h"

#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_TOP 0x3800
#define FSW_C3 0x4000
#define FSW_B  0x8000
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

#define TAG_EMPTY 3

/* ---- state helpers ---- */

/* Bits 13-15 of FCW read as 0 and bit 6 as 1. */
uint16_t emu_x87_fcw_norm(uint16_t v)
{
    return (v & 0x1f3f) | 0x40;
}

uint16_t emu_x87_fsw(const struct emu_cpu *c)
{
    return (c->x87.fsw & ~FSW_TOP) | ((c->x87.top & 7) << 11);
}

void emu_x87_set_fsw(struct emu_cpu *c, uint16_t fsw)
{
    c->x87.top = (fsw >> 11) & 7;
    c->x87.fsw = fsw;
}

void emu_x87_init(struct emu_cpu *c)
{
    c->x87.fcw = 0x37f;
    c->x87.fsw = 0;
    c->x87.top = 0;
    c->x87.ftw = 0xffff;
    c->x87.fop = 0;
    c->x87.fip = c->x87.fdp = 0;
}

static unsigned tag_of(const struct emu_cpu *c, unsigned phys)
{
    return (c->x87.ftw >> (2 * phys)) & 3;
}

static void set_tag(struct emu_cpu *c, unsigned phys, unsigned tag)
{
    c->x87.ftw = (c->x87.ftw & ~(3u << (2 * phys))) | (tag << (2 * phys));
}

uint8_t emu_x87_abridged_tags(const struct emu_cpu *c)
{
    uint8_t t = 0;
    for (unsigned k = 0; k < 8; k++)
        if (tag_of(c, k) != TAG_EMPTY)
            t |= 1u << k;
    return t;
}

void emu_x87_set_abridged_tags(struct emu_cpu *c, uint8_t tags)
{
    for (unsigned k = 0; k < 8; k++)
        set_tag(c, k, (tags & (1u << k)) ? 0 : TAG_EMPTY);
}

static uint16_t exponent_of(long double v)
{
    uint16_t e;
    memcpy(&e, (uint8_t *)&v + 8, 2);
    return e;
}

static uint64_t mantissa_of(long double v)
{
    uint64_t m;
    memcpy(&m, &v, 8);
    return m;
}

/* The architectural tag (valid, zero, special) of a non-empty register. */
static unsigned precise_tag(long double v)
{
    uint16_t e = exponent_of(v) & 0x7fff;
    uint64_t m = mantissa_of(v);
    if (e == 0)
        return m ? 2 : 1;
    if (e == 0x7fff || !(m >> 63))
        return 2;
    return 0;
}

static uint16_t full_tags(const struct emu_cpu *c)
{
    uint16_t t = 0;
    for (unsigned k = 0; k < 8; k++) {
        unsigned tag = tag_of(c, k) == TAG_EMPTY ? TAG_EMPTY : precise_tag(c->x87.st[k]);
        t |= tag << (2 * k);
    }
    return t;
}

static long double indefinite(void)
{
    long double v = 0;
    uint64_t m = 0xc000000000000000ull;
    uint16_t e = 0xffff;
    memcpy(&v, &m, 8);
    memcpy((uint8_t *)&v + 8, &e, 2);
    return v;
}

static unsigned phys(const struct emu_cpu *c, unsigned i)
{
    return (c->x87.top + i) & 7;
}

static bool is_empty(const struct emu_cpu *c, unsigned i)
{
    return tag_of(c, phys(c, i)) == TAG_EMPTY;
}

/* Raises a pending unmasked exception (#MF) at a waiting instruction. */
static void x87_check(struct emu_cpu *c, bool waiting)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
    if (waiting && (c->x87.fsw & FSW_ES) && (c->cr0 & CR0_NE))
        emu_raise(c, EXC_MF, EMU_NO_ERRCODE);
}

/* Merges exception flags; unmasked ones set ES/B (the fault comes at the
 * next waiting instruction, as on hardware). */
static void x87_flags(struct emu_cpu *c, uint16_t flags)
{
    c->x87.fsw |= flags & (0x3f | FSW_SF);
    if (flags & ~c->x87.fcw & 0x3f)
        c->x87.fsw |= FSW_ES | FSW_B;
}

/* Stack fault: IE|SF, C1 tells overflow (1) from underflow (0). */
static void stack_fault(struct emu_cpu *c, bool overflow)
{
    c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (overflow ? FSW_C1 : 0);
    x87_flags(c, FSW_IE | FSW_SF);
}

static long double st_get(struct emu_cpu *c, unsigned i)
{
    return c->x87.st[phys(c, i)];
}

static void st_set(struct emu_cpu *c, unsigned i, long double v)
{
    c->x87.st[phys(c, i)] = v;
    set_tag(c, phys(c, i), 0);
}

static void x87_pop(struct emu_cpu *c)
{
    set_tag(c, phys(c, 0), TAG_EMPTY);
    c->x87.top = (c->x87.top + 1) & 7;
}

static void x87_push(struct emu_cpu *c, long double v)
{
    unsigned t = (c->x87.top - 1) & 7;
    if (tag_of(c, t) != TAG_EMPTY) {
        stack_fault(c, true);
        if (!(c->x87.fcw & FSW_IE))
            return;
        c->x87.top = t;
        st_set(c, 0, indefinite());
        return;
    }
    c->x87.top = t;
    st_set(c, 0, v);
    c->x87.fsw &= ~FSW_C1;
}

/* Reads st(i) for an operation; an empty register is a stack underflow and
 * yields false (the masked response is then the caller's). */
static bool st_read(struct emu_cpu *c, unsigned i, long double *v)
{
    if (is_empty(c, i)) {
        stack_fault(c, false);
        return false;
    }
    *v = st_get(c, i);
    return true;
}

/* ---- the host FPU bridge ---- */

static inline uint16_t xh_enter_cw(uint16_t cw)
{
    uint16_t saved;
    __asm__ volatile("fnstcw %0" : "=m"(saved));
    __asm__ volatile("fnclex\n\tfldcw %0" : : "m"(cw));
    return saved;
}

/* The guest's FCW, unmasked exceptions included: only for operations whose
 * host stack effect is the same when an exception aborts them. */
static inline uint16_t xh_enter(const struct emu_cpu *c)
{
    return xh_enter_cw(c->x87.fcw);
}

/* Every exception masked: for operations that push or pop (an aborted one
 * would leave the host stack different from what the compiler expects);
 * x87_aborted() then decides from the flags. */
static inline uint16_t xh_enter_masked(const struct emu_cpu *c)
{
    return xh_enter_cw(c->x87.fcw | 0x3f);
}

/* Each host operation stores its status word into xsw and clears the
 * exception flags in the same asm statement: moves the compiler adds
 * afterwards (FSTP of the result) would clear C1, and, as waiting
 * instructions, would trap on an unmasked exception.  The host runs with
 * the guest's FCW, so an unmasked exception gets hardware's response
 * (operands left alone, or the bias-adjusted result of OE/UE). */
static __thread uint16_t xsw;

/* An unmasked invalid, denormal or divide-by-zero exception: the
 * instruction does not complete (no store, no pop).  Compares still report:
 * "unordered" for an invalid operand, the real result for a denormal. */
/* What an aborted instruction reports: the pre-computation exceptions
 * only (a masked host run also computed, raising PE/UE/OE and C1). */
static void x87_abort_flags(struct emu_cpu *c, uint16_t sw)
{
    c->x87.fsw &= ~FSW_C1;
    x87_flags(c, sw & (FSW_IE | FSW_DE | FSW_ZE | FSW_SF));
}

static bool x87_invalid_unmasked(const struct emu_cpu *c, uint16_t sw)
{
    return sw & ~c->x87.fcw & FSW_IE;
}

static bool x87_aborted(const struct emu_cpu *c, uint16_t sw)
{
    return sw & ~c->x87.fcw & (FSW_IE | FSW_DE | FSW_ZE);
}

static inline uint16_t xh_leave(uint16_t saved)
{
    __asm__ volatile("fnclex\n\tfldcw %0" : : "m"(saved));
    return xsw;
}

enum { OP_ADD, OP_MUL, OP_COM, OP_COMP, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR };

/* a op b for the D8 /r ordering of operations (a is the destination). */
static long double host_arith(struct emu_cpu *c, unsigned op, long double a, long double b)
{
    long double r;
    uint16_t h = xh_enter(c), sw;
    switch (op) {
    case OP_ADD: __asm__ volatile("fadd %%st(1), %%st\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case OP_MUL: __asm__ volatile("fmul %%st(1), %%st\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case OP_SUB: __asm__ volatile("fsub %%st(1), %%st\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case OP_SUBR: __asm__ volatile("fsubr %%st(1), %%st\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case OP_DIV: __asm__ volatile("fdiv %%st(1), %%st\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    default: __asm__ volatile("fdivr %%st(1), %%st\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    }
    sw = xh_leave(h);
    c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (sw & FSW_C1);
    x87_flags(c, sw);
    return r;
}

/* st0 op m32/m64 with the host's memory form, so operand exceptions
 * (DE, IE on SNaN) come in hardware's order of priority. */
#define AM(insn, var) \
    __asm__ volatile(insn " %[m]\n\tfnstsw %[sw]\n\tfnclex" : "+t"(r), [sw] "=m"(xsw) : [m] "m"(var))
static long double host_arith_mem(struct emu_cpu *c, unsigned op, long double a, uint64_t bits,
                                  unsigned size, uint16_t *swp)
{
    long double r = a;
    float f;
    double d;
    uint16_t h;
    uint32_t b32 = (uint32_t)bits;
    memcpy(&f, &b32, 4);
    memcpy(&d, &bits, 8);
    h = xh_enter(c);
    switch (op * 2 + (size == 8)) {
    case OP_ADD * 2: AM("fadds", f); break;
    case OP_ADD * 2 + 1: AM("faddl", d); break;
    case OP_MUL * 2: AM("fmuls", f); break;
    case OP_MUL * 2 + 1: AM("fmull", d); break;
    case OP_COM * 2: case OP_COMP * 2: AM("fcoms", f); break;
    case OP_COM * 2 + 1: case OP_COMP * 2 + 1: AM("fcoml", d); break;
    case OP_SUB * 2: AM("fsubs", f); break;
    case OP_SUB * 2 + 1: AM("fsubl", d); break;
    case OP_SUBR * 2: AM("fsubrs", f); break;
    case OP_SUBR * 2 + 1: AM("fsubrl", d); break;
    case OP_DIV * 2: AM("fdivs", f); break;
    case OP_DIV * 2 + 1: AM("fdivl", d); break;
    case OP_DIVR * 2: AM("fdivrs", f); break;
    default: AM("fdivrl", d); break;
    }
    *swp = xh_leave(h);
    return r;
}

static void arith_mem_float(struct emu_cpu *c, const struct emu_insn *i, uint64_t bits, unsigned size)
{
    unsigned op = i->reg & 7;
    uint16_t sw;
    long double r = host_arith_mem(c, op, st_get(c, 0), bits, size, &sw);
    if (op == OP_COM || op == OP_COMP) {
        c->x87.fsw = (c->x87.fsw & ~FSW_CC) | (sw & FSW_CC);
        if (x87_invalid_unmasked(c, sw))
            c->x87.fsw = (c->x87.fsw & ~FSW_CC) | FSW_C0 | FSW_C2 | FSW_C3;
        x87_flags(c, sw);
        if (op == OP_COMP && !x87_aborted(c, sw))
            x87_pop(c);
        return;
    }
    c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (sw & FSW_C1);
    x87_flags(c, sw);
    if (x87_aborted(c, sw))
        return;
    st_set(c, 0, r);
}

/* Compares a with b; returns host RFLAGS (ZF PF CF) and merges the status. */
static uint64_t host_compare(struct emu_cpu *c, long double a, long double b, bool unordered_quiet)
{
    uint64_t fl;
    uint16_t h = xh_enter(c), sw;
    if (unordered_quiet)
        __asm__ volatile("fucomi %%st(1), %%st\n\tpushfq\n\tpopq %0\n\tfnstsw %[sw]\n\tfnclex" : "=r"(fl), [sw] "=m"(xsw) : "t"(a), "u"(b) : "cc");
    else
        __asm__ volatile("fcomi %%st(1), %%st\n\tpushfq\n\tpopq %0\n\tfnstsw %[sw]\n\tfnclex" : "=r"(fl), [sw] "=m"(xsw) : "t"(a), "u"(b) : "cc");
    sw = xh_leave(h);
    x87_flags(c, sw);
    return fl & (RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF);
}

static void set_cc_from_flags(struct emu_cpu *c, uint64_t fl)
{
    uint16_t cc = 0;
    if (fl & RFLAGS_CF)
        cc |= FSW_C0;
    if (fl & RFLAGS_PF)
        cc |= FSW_C2;
    if (fl & RFLAGS_ZF)
        cc |= FSW_C3;
    c->x87.fsw = (c->x87.fsw & ~FSW_CC) | cc;
}

/* Converts memory formats to the register format through the host, so
 * SNaN and denormal operands raise what hardware raises. */
static long double load_f32(struct emu_cpu *c, uint32_t bits)
{
    float f;
    long double r;
    uint16_t h;
    memcpy(&f, &bits, 4);
    h = xh_enter_masked(c);
    __asm__ volatile("flds %2\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "m"(f));
    x87_flags(c, xh_leave(h));
    return r;
}

static long double load_f64(struct emu_cpu *c, uint64_t bits)
{
    double f;
    long double r;
    uint16_t h;
    memcpy(&f, &bits, 8);
    h = xh_enter_masked(c);
    __asm__ volatile("fldl %2\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "m"(f));
    x87_flags(c, xh_leave(h));
    return r;
}

static long double load_m80(const uint8_t raw[10])
{
    long double r = 0;
    memcpy(&r, raw, 10);
    return r;
}

/* Store conversions; *sw gets the status (C1 round-up, exceptions). */
static uint32_t store_f32(struct emu_cpu *c, long double v, uint16_t *sw)
{
    float f;
    uint32_t bits;
    uint16_t h = xh_enter(c);
    __asm__ volatile("fsts %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(f), [sw] "=m"(xsw) : "t"(v));
    *sw = xh_leave(h);
    memcpy(&bits, &f, 4);
    return bits;
}

static uint64_t store_f64(struct emu_cpu *c, long double v, uint16_t *sw)
{
    double f;
    uint64_t bits;
    uint16_t h = xh_enter(c);
    __asm__ volatile("fstl %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(f), [sw] "=m"(xsw) : "t"(v));
    *sw = xh_leave(h);
    memcpy(&bits, &f, 8);
    return bits;
}

/* FIST/FISTP/FISTTP to 16/32/64 bits (host conversion: overflow and NaN
 * give the integer indefinite with IE). */
static uint64_t store_int(struct emu_cpu *c, long double v, unsigned size, bool trunc, uint16_t *sw)
{
    int16_t w = 0;
    int32_t d = 0;
    int64_t q = 0;
    uint16_t h = xh_enter_masked(c);
    if (trunc) {
        long double t = v;
        switch (size) {
        case 2: __asm__ volatile("fisttps %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(w), [sw] "=m"(xsw) : "t"(t) : "st"); break;
        case 4: __asm__ volatile("fisttpl %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(d), [sw] "=m"(xsw) : "t"(t) : "st"); break;
        default: __asm__ volatile("fisttpll %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(q), [sw] "=m"(xsw) : "t"(t) : "st"); break;
        }
    } else {
        switch (size) {
        case 2: __asm__ volatile("fists %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(w), [sw] "=m"(xsw) : "t"(v)); break;
        case 4: __asm__ volatile("fistl %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(d), [sw] "=m"(xsw) : "t"(v)); break;
        default: {
            long double t = v;
            __asm__ volatile("fistpll %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(q), [sw] "=m"(xsw) : "t"(t) : "st");
            break;
        }
        }
    }
    *sw = xh_leave(h);
    return size == 2 ? (uint16_t)w : size == 4 ? (uint32_t)d : (uint64_t)q;
}

/* ---- operand helpers ---- */

static void note_insn(struct emu_cpu *c, const struct emu_insn *i, uint64_t ea)
{
    c->x87.fip = c->rip;
    c->x87.fop = ((i->op & 7) << 8) | i->modrm;
    if (i->mod != 3)
        c->x87.fdp = ea;
}

/* FST/FSTP to a 32- or 64-bit memory operand.  An empty ST(0) stores the
 * indefinite when IE is masked; an unmasked fault leaves memory alone. */
static void fst_real(struct emu_cpu *c, const struct emu_insn *i, uint64_t ea, unsigned size,
                     bool pop)
{
    long double v;
    uint64_t bits;
    uint16_t sw;
    x87_check(c, true);
    if (!st_read(c, 0, &v)) {
        if (!(c->x87.fcw & FSW_IE))
            return;
        bits = size == 4 ? 0xffc00000ull : 0xfff8000000000000ull;
    } else {
        bits = size == 4 ? store_f32(c, v, &sw) : store_f64(c, v, &sw);
        c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (sw & FSW_C1);
        x87_flags(c, sw);
        if (sw & ~c->x87.fcw & (FSW_IE | FSW_DE | FSW_OE | FSW_UE))
            return;
    }
    lin_write(c, ea, size, bits);
    note_insn(c, i, ea);
    if (pop)
        x87_pop(c);
}

/* Result delivery for "st(dst) = value, maybe pop". */
static void st_write_pop(struct emu_cpu *c, unsigned dst, long double v, bool pop)
{
    st_set(c, dst, v);
    if (pop)
        x87_pop(c);
}

/* The two-operand arithmetic of D8/DC/DA/DE: dst = a op b. */
static void arith_into(struct emu_cpu *c, unsigned op, unsigned dst, long double a, long double b, bool pop)
{
    long double r = host_arith(c, op, a, b);
    if (x87_aborted(c, xsw))
        return;
    st_write_pop(c, dst, r, pop);
}

static void compare_st0(struct emu_cpu *c, long double b, bool have_b, unsigned pops, bool quiet)
{
    long double a;
    if (!have_b || !st_read(c, 0, &a)) {
        if (!have_b)
            stack_fault(c, false);
        c->x87.fsw |= FSW_CC & ~FSW_C1;     /* unordered, masked or not */
        if (!(c->x87.fcw & FSW_IE))
            return;
    } else {
        uint64_t fl = host_compare(c, a, b, quiet);
        /* an unmasked invalid operand still reports "unordered", but
         * nothing is popped */
        if (x87_invalid_unmasked(c, xsw))
            fl = RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF;
        set_cc_from_flags(c, fl);
        c->x87.fsw &= ~FSW_C1;
        if (x87_aborted(c, xsw))
            return;
    }
    while (pops--)
        x87_pop(c);
}

/* Memory forms with st0 empty: the underflow comes before the operand
 * is converted (no DE/IE from the operand). */
static bool arith_mem_underflow(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    if (!is_empty(c, 0))
        return false;
    stack_fault(c, false);
    if (op == OP_COM || op == OP_COMP) {
        c->x87.fsw |= FSW_C0 | FSW_C2 | FSW_C3;   /* unordered, masked or not */
        if ((c->x87.fcw & FSW_IE) && op == OP_COMP)
            x87_pop(c);
    } else if (c->x87.fcw & FSW_IE) {
        st_set(c, 0, indefinite());
    }
    return true;
}

/* D8 / DC / DA / DE memory forms: st0 = st0 op m */
static void arith_mem(struct emu_cpu *c, const struct emu_insn *i, long double m)
{
    unsigned op = i->reg & 7;
    long double a;
    if (op == OP_COM || op == OP_COMP) {
        compare_st0(c, m, true, op == OP_COMP, false);
        return;
    }
    if (!st_read(c, 0, &a)) {
        if (c->x87.fcw & FSW_IE)
            st_set(c, 0, indefinite());
        return;
    }
    arith_into(c, op, 0, a, m, false);
}

/* D8 / DC / DE register forms. */
static void arith_reg(struct emu_cpu *c, const struct emu_insn *i, bool to_sti, bool pop)
{
    unsigned op = i->reg & 7, r = i->rm & 7;
    long double a, b;
    if (op == OP_COM || op == OP_COMP) {
        bool ok = st_read(c, r, &b);
        compare_st0(c, b, ok, op == OP_COMP, false);
        return;
    }
    if (is_empty(c, 0) || is_empty(c, r)) {
        stack_fault(c, false);
        if (c->x87.fcw & FSW_IE)
            st_write_pop(c, to_sti ? r : 0, indefinite(), pop);
        return;
    }
    a = st_get(c, 0);
    b = st_get(c, r);
    if (!to_sti) {
        arith_into(c, op, 0, a, b, false);
    } else {
        /* DC/DE: the Intel encoding swaps SUB/SUBR and DIV/DIVR meaning:
         * /4 is FSUBR st(i) = st0 - st(i), /5 FSUB st(i) = st(i) - st0. */
        switch (op) {
        case OP_ADD: case OP_MUL: arith_into(c, op, r, b, a, pop); break;
        case OP_SUB: arith_into(c, OP_SUB, r, a, b, pop); break;     /* fsubr */
        case OP_SUBR: arith_into(c, OP_SUB, r, b, a, pop); break;    /* fsub */
        case OP_DIV: arith_into(c, OP_DIV, r, a, b, pop); break;     /* fdivr */
        default: arith_into(c, OP_DIV, r, b, a, pop); break;         /* fdiv */
        }
    }
}

/* ---- D9: loads, stores, control, constants and transcendental ---- */

static void fld_const(struct emu_cpu *c, unsigned which)
{
    long double r;
    uint16_t h = xh_enter(c);
    switch (which) {
    case 0: __asm__ volatile("fld1\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    case 1: __asm__ volatile("fldl2t\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    case 2: __asm__ volatile("fldl2e\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    case 3: __asm__ volatile("fldpi\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    case 4: __asm__ volatile("fldlg2\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    case 5: __asm__ volatile("fldln2\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    default: __asm__ volatile("fldz\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw)); break;
    }
    (void)xh_leave(h);
    x87_push(c, r);
}

/* Unary operations on st0 done by the host. */
enum { U_F2XM1, U_SQRT, U_RNDINT, U_SIN, U_COS };

static void unary(struct emu_cpu *c, unsigned which)
{
    long double a, r;
    uint16_t h, sw;
    if (!st_read(c, 0, &a)) {
        /* the masked response computes on the indefinite: "in range" */
        if (which == U_SIN || which == U_COS)
            c->x87.fsw &= ~FSW_C2;
        if (c->x87.fcw & FSW_IE)
            st_set(c, 0, indefinite());
        return;
    }
    h = xh_enter(c);
    switch (which) {
    case U_F2XM1: __asm__ volatile("f2xm1\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a)); break;
    case U_SQRT: __asm__ volatile("fsqrt\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a)); break;
    case U_RNDINT: __asm__ volatile("frndint\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a)); break;
    case U_SIN: __asm__ volatile("fsin\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a)); break;
    default: __asm__ volatile("fcos\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a)); break;
    }
    sw = xh_leave(h);
    {
        /* C2 reports an out-of-range operand of FSIN/FCOS (st0 unchanged) */
        uint16_t cc = (which == U_SIN || which == U_COS) ? (FSW_C1 | FSW_C2) : FSW_C1;
        c->x87.fsw = (c->x87.fsw & ~cc) | (sw & cc);
        x87_flags(c, sw);
        if (x87_aborted(c, sw) || (sw & cc & FSW_C2))
            return;
    }
    st_set(c, 0, r);
}

/* st0 and st1 in, results by the host: fscale, fprem, fprem1 (st0 result),
 * fpatan, fyl2x, fyl2xp1 (st1 result, pop). */
enum { B_SCALE, B_PREM, B_PREM1, B_PATAN, B_YL2X, B_YL2XP1 };

static void binary01(struct emu_cpu *c, unsigned which)
{
    long double a, b, r;
    uint16_t h, sw;
    bool pops = which >= B_PATAN;
    if (is_empty(c, 0) || is_empty(c, 1)) {
        stack_fault(c, false);
        if (which == B_PREM || which == B_PREM1)
            c->x87.fsw &= ~FSW_C2;
        if (c->x87.fcw & FSW_IE)
            st_write_pop(c, pops ? 1 : 0, indefinite(), pops);
        return;
    }
    a = st_get(c, 0);
    b = st_get(c, 1);
    h = pops ? xh_enter_masked(c) : xh_enter(c);
    switch (which) {
    case B_SCALE: __asm__ volatile("fscale\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case B_PREM: __asm__ volatile("fprem\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case B_PREM1: __asm__ volatile("fprem1\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b)); break;
    case B_PATAN: __asm__ volatile("fpatan\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b) : "st(1)"); break;
    case B_YL2X: __asm__ volatile("fyl2x\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b) : "st(1)"); break;
    default: __asm__ volatile("fyl2xp1\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "0"(a), "u"(b) : "st(1)"); break;
    }
    sw = xh_leave(h);
    if (x87_aborted(c, sw)) {
        x87_abort_flags(c, sw);
        if (which == B_PREM || which == B_PREM1)
            c->x87.fsw &= ~FSW_C2;
        return;
    }
    if ((which == B_PREM || which == B_PREM1) && ((sw & FSW_IE) || isnan(a) || isnan(b)))
        c->x87.fsw &= ~(FSW_C1 | FSW_C2);   /* NaN or invalid: no quotient bits */
    else if (which == B_PREM || which == B_PREM1)
        c->x87.fsw = (c->x87.fsw & ~FSW_CC) | (sw & FSW_CC);
    else
        c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (sw & FSW_C1);
    x87_flags(c, sw);
    st_write_pop(c, pops ? 1 : 0, r, pops);
}

/* fxtract, fptan, fsincos: replace st0 and push a second result. */
enum { P_XTRACT, P_TAN, P_SINCOS };

static void pushing2(struct emu_cpu *c, unsigned which)
{
    long double a, r0, r1;
    uint16_t h, sw;
    if (!st_read(c, 0, &a)) {
        if (which != P_XTRACT)
            c->x87.fsw &= ~FSW_C2;
        if (c->x87.fcw & FSW_IE) {
            st_set(c, 0, indefinite());
            c->x87.top = (c->x87.top - 1) & 7;
            st_set(c, 0, indefinite());
        }
        return;
    }
    if (!is_empty(c, 7)) {
        stack_fault(c, true);
        if (which != P_XTRACT)
            c->x87.fsw &= ~FSW_C2;
        if (c->x87.fcw & FSW_IE) {
            st_set(c, 0, indefinite());
            c->x87.top = (c->x87.top - 1) & 7;
            st_set(c, 0, indefinite());
        }
        return;
    }
    h = xh_enter_masked(c);
    switch (which) {
    case P_XTRACT: __asm__ volatile("fxtract\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r0), "=u"(r1), [sw] "=m"(xsw) : "0"(a)); break;
    case P_TAN: __asm__ volatile("fptan\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r0), "=u"(r1), [sw] "=m"(xsw) : "0"(a)); break;
    default: __asm__ volatile("fsincos\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r0), "=u"(r1), [sw] "=m"(xsw) : "0"(a)); break;
    }
    sw = xh_leave(h);
    if (x87_aborted(c, sw)) {
        x87_abort_flags(c, sw);
        if (which != P_XTRACT)
            c->x87.fsw &= ~FSW_C2;
        return;
    }
    {
        uint16_t cc = which == P_XTRACT ? FSW_C1 : (FSW_C1 | FSW_C2);
        c->x87.fsw = (c->x87.fsw & ~cc) | (sw & cc);
    }
    x87_flags(c, sw);
    if ((sw & FSW_C2) && which != P_XTRACT) {
        /* operand out of range: st0 unchanged, nothing pushed */
        return;
    }
    st_set(c, 0, r1);
    c->x87.top = (c->x87.top - 1) & 7;
    st_set(c, 0, r0);
}

static void fxam(struct emu_cpu *c)
{
    long double v = st_get(c, 0);
    uint16_t e = exponent_of(v), cc;
    uint64_t m = mantissa_of(v);
    unsigned ex = e & 0x7fff;
    if (is_empty(c, 0))
        cc = FSW_C3 | FSW_C0;
    else if (ex == 0)
        cc = m ? (FSW_C3 | FSW_C2) : FSW_C3;
    else if (!(m >> 63))
        cc = 0;                                     /* unsupported */
    else if (ex == 0x7fff)
        cc = (m << 1) ? FSW_C0 : (FSW_C2 | FSW_C0); /* NaN : infinity */
    else
        cc = FSW_C2;
    if (e & 0x8000)
        cc |= FSW_C1;
    c->x87.fsw = (c->x87.fsw & ~FSW_CC) | cc;
}

/* FNSTENV / FLDENV image: 28 bytes (14 with a 16-bit operand size). */
static unsigned env_size(const struct emu_insn *i)
{
    return i->opsize == 2 ? 14 : 28;
}

static void env_store(struct emu_cpu *c, const struct emu_insn *i, uint8_t *img)
{
    uint32_t v[7];
    v[0] = 0xffff0000u | c->x87.fcw;
    v[1] = 0xffff0000u | emu_x87_fsw(c);
    v[2] = 0xffff0000u | full_tags(c);
    v[3] = (uint32_t)c->x87.fip;
    v[4] = (uint32_t)c->x87.fop << 16;
    v[5] = (uint32_t)c->x87.fdp;
    v[6] = 0xffff0000u;
    if (env_size(i) == 28) {
        memcpy(img, v, 28);
    } else {
        /* 16-bit protected-mode layout: FCW FSW FTW IP CS DP DS, no opcode */
        v[4] = 0;
        for (unsigned k = 0; k < 7; k++) {
            uint16_t w = (uint16_t)v[k];
            memcpy(img + 2 * k, &w, 2);
        }
    }
}

static void env_load(struct emu_cpu *c, const struct emu_insn *i, const uint8_t *img)
{
    uint32_t v[7];
    if (env_size(i) == 28) {
        memcpy(v, img, 28);
    } else {
        for (unsigned k = 0; k < 7; k++) {
            uint16_t w;
            memcpy(&w, img + 2 * k, 2);
            v[k] = w;
        }
    }
    c->x87.fcw = emu_x87_fcw_norm((uint16_t)v[0]);
    emu_x87_set_fsw(c, (uint16_t)v[1]);
    for (unsigned k = 0; k < 8; k++)
        set_tag(c, k, ((v[2] >> (2 * k)) & 3) == TAG_EMPTY ? TAG_EMPTY : 0);
    c->x87.fip = v[3];
    c->x87.fdp = v[5];
    /* the restored status decides pending exceptions */
    if (c->x87.fsw & ~c->x87.fcw & 0x3f)
        c->x87.fsw |= FSW_ES | FSW_B;
    else
        c->x87.fsw &= ~(FSW_ES | FSW_B);
}

static void h_d9(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        uint8_t img[28];
        switch (op) {
        case 0: {                                  /* fld m32 */
            uint32_t bits;
            x87_check(c, true);
            bits = (uint32_t)lin_read(c, ea, 4);
            note_insn(c, i, ea);
            if (!is_empty(c, 7)) {
                x87_push(c, 0);     /* overflow: no operand conversion */
                return;
            }
            {
                /* an unmasked SNaN operand is not pushed (a denormal is) */
                long double v = load_f32(c, bits);
                if (x87_invalid_unmasked(c, xsw)) {
                    c->x87.fsw &= ~FSW_C1;
                    return;
                }
                x87_push(c, v);
            }
            return;
        }
        case 2: case 3:                            /* fst/fstp m32 */
            fst_real(c, i, ea, 4, op == 3);
            return;
        case 4:                                    /* fldenv */
            x87_check(c, false);
            sse_read_buf(c, ea, img, env_size(i));
            env_load(c, i, img);
            return;
        case 5: {                                  /* fldcw */
            uint16_t cw;
            x87_check(c, false);
            cw = (uint16_t)lin_read(c, ea, 2);
            c->x87.fcw = emu_x87_fcw_norm(cw);
            if (c->x87.fsw & ~c->x87.fcw & 0x3f)
                c->x87.fsw |= FSW_ES | FSW_B;
            else
                c->x87.fsw &= ~(FSW_ES | FSW_B);
            return;
        }
        case 6:                                    /* fnstenv */
            x87_check(c, false);
            env_store(c, i, img);
            sse_write_buf(c, ea, img, env_size(i));
            c->x87.fcw |= 0x3f;
            return;
        case 7:                                    /* fnstcw */
            x87_check(c, false);
            lin_write(c, ea, 2, c->x87.fcw);
            return;
        default:
            emu_sse_ud(c, i);
        }
    }
    x87_check(c, true);
    note_insn(c, i, 0);
    switch (i->modrm & 0xf8) {
    case 0xc0: {                                   /* fld st(i) */
        long double v;
        if (!st_read(c, i->rm & 7, &v)) {
            if (!(c->x87.fcw & FSW_IE))
                return;
            c->x87.top = (c->x87.top - 1) & 7;
            st_set(c, 0, indefinite());
            return;
        }
        x87_push(c, v);
        return;
    }
    case 0xc8: {                                   /* fxch st(i) */
        unsigned r = i->rm & 7;
        long double a = st_get(c, 0), b = st_get(c, r);
        bool ea = is_empty(c, 0), eb = is_empty(c, r);
        if (ea || eb) {
            stack_fault(c, false);
            if (!(c->x87.fcw & FSW_IE))
                return;
            if (ea)
                a = indefinite();
            if (eb)
                b = indefinite();
        }
        st_set(c, 0, b);
        st_set(c, r, a);
        c->x87.fsw &= ~FSW_C1;
        return;
    }
    case 0xd8: {                                   /* fstp1 st(i) (alias) */
        /* Intel CPUs copy an empty ST(0) to ST(i), empty tag and all,
         * without a stack fault (FSTP8/FSTP9, DF D0+i/D8+i, do fault). */
        unsigned r = i->rm & 7;
        if (is_empty(c, 0)) {
            c->x87.st[phys(c, r)] = st_get(c, 0);
            set_tag(c, phys(c, r), TAG_EMPTY);
        } else {
            st_set(c, r, st_get(c, 0));
        }
        x87_pop(c);
        return;
    }
    }
    switch (i->modrm) {
    case 0xd0: return;                             /* fnop */
    case 0xe0: case 0xe1: {                        /* fchs, fabs */
        long double v;
        uint8_t *p;
        if (!st_read(c, 0, &v)) {
            if (c->x87.fcw & FSW_IE)
                st_set(c, 0, indefinite());
            return;
        }
        p = (uint8_t *)&v + 9;
        *p = i->modrm == 0xe0 ? (*p ^ 0x80) : (*p & 0x7f);
        st_set(c, 0, v);
        c->x87.fsw &= ~FSW_C1;
        return;
    }
    case 0xe4: {                                   /* ftst */
        long double v;
        bool ok = st_read(c, 0, &v);
        (void)v;
        if (ok)
            compare_st0(c, 0.0L, true, 0, false);
        else
            c->x87.fsw |= FSW_C0 | FSW_C2 | FSW_C3;
        return;
    }
    case 0xe5: fxam(c); return;
    case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
        fld_const(c, i->modrm - 0xe8);
        return;
    case 0xf0: unary(c, U_F2XM1); return;
    case 0xf1: binary01(c, B_YL2X); return;
    case 0xf2: pushing2(c, P_TAN); return;
    case 0xf3: binary01(c, B_PATAN); return;
    case 0xf4: pushing2(c, P_XTRACT); return;
    case 0xf5: binary01(c, B_PREM1); return;
    case 0xf6: c->x87.top = (c->x87.top - 1) & 7; c->x87.fsw &= ~FSW_C1; return;  /* fdecstp */
    case 0xf7: c->x87.top = (c->x87.top + 1) & 7; c->x87.fsw &= ~FSW_C1; return;  /* fincstp */
    case 0xf8: binary01(c, B_PREM); return;
    case 0xf9: binary01(c, B_YL2XP1); return;
    case 0xfa: unary(c, U_SQRT); return;
    case 0xfb: pushing2(c, P_SINCOS); return;
    case 0xfc: unary(c, U_RNDINT); return;
    case 0xfd: binary01(c, B_SCALE); return;
    case 0xfe: unary(c, U_SIN); return;
    case 0xff: unary(c, U_COS); return;
    default: emu_sse_ud(c, i);
    }
}

/* ---- D8 DA DC DE: arithmetic ---- */

static void h_d8(struct emu_cpu *c, const struct emu_insn *i)
{
    x87_check(c, true);
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        uint32_t bits = (uint32_t)lin_read(c, ea, 4);
        note_insn(c, i, ea);
        if (arith_mem_underflow(c, i))
            return;
        arith_mem_float(c, i, bits, 4);
        return;
    }
    note_insn(c, i, 0);
    arith_reg(c, i, false, false);
}

static void h_dc(struct emu_cpu *c, const struct emu_insn *i)
{
    x87_check(c, true);
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        uint64_t bits = lin_read(c, ea, 8);
        note_insn(c, i, ea);
        if (arith_mem_underflow(c, i))
            return;
        arith_mem_float(c, i, bits, 8);
        return;
    }
    note_insn(c, i, 0);
    arith_reg(c, i, true, false);
}

static bool fcmov_cond(struct emu_cpu *c, unsigned sel)
{
    static const uint8_t cc[4] = { 2, 4, 6, 0xa };   /* B, E, BE, P */
    return emu_cond(c, cc[sel & 3]);
}

static void fcmov(struct emu_cpu *c, const struct emu_insn *i, bool negate)
{
    long double v;
    unsigned r = i->rm & 7;
    if (is_empty(c, 0) || is_empty(c, r)) {
        stack_fault(c, false);
        if (c->x87.fcw & FSW_IE)
            st_set(c, 0, indefinite());
        return;
    }
    v = st_get(c, r);
    if (fcmov_cond(c, i->reg) != negate)
        st_set(c, 0, v);
}

static void h_da(struct emu_cpu *c, const struct emu_insn *i)
{
    x87_check(c, true);
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        int32_t v = (int32_t)lin_read(c, ea, 4);
        note_insn(c, i, ea);
        if (arith_mem_underflow(c, i))
            return;
        arith_mem(c, i, (long double)v);
        return;
    }
    note_insn(c, i, 0);
    if (i->modrm == 0xe9) {                        /* fucompp */
        long double b;
        bool ok = st_read(c, 1, &b);
        compare_st0(c, b, ok, 2, true);
        return;
    }
    if ((i->reg & 7) < 4) {
        fcmov(c, i, false);
        return;
    }
    emu_sse_ud(c, i);
}

static void h_de(struct emu_cpu *c, const struct emu_insn *i)
{
    x87_check(c, true);
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        int16_t v = (int16_t)lin_read(c, ea, 2);
        note_insn(c, i, ea);
        if (arith_mem_underflow(c, i))
            return;
        arith_mem(c, i, (long double)v);
        return;
    }
    note_insn(c, i, 0);
    if ((i->reg & 7) == OP_COMP) {                 /* fcompp (DE D9) */
        long double b;
        bool ok;
        if (i->modrm != 0xd9)
            emu_sse_ud(c, i);
        ok = st_read(c, 1, &b);
        compare_st0(c, b, ok, 2, false);
        return;
    }
    if ((i->reg & 7) == OP_COM) {                  /* fcomp5 st(i) (alias of fcomp) */
        struct emu_insn j = *i;
        j.reg = (uint8_t)((i->reg & ~7u) | OP_COMP);
        arith_reg(c, &j, true, true);
        return;
    }
    arith_reg(c, i, true, true);
}

/* ---- DB DD DF: integer and 80-bit loads/stores, misc ---- */

static void fist_common(struct emu_cpu *c, const struct emu_insn *i, uint64_t ea, unsigned size,
                        bool trunc, bool pop)
{
    long double v;
    uint64_t r;
    (void)i;
    uint16_t sw;
    if (!st_read(c, 0, &v)) {
        if (!(c->x87.fcw & FSW_IE))
            return;
        r = size == 2 ? 0x8000 : size == 4 ? 0x80000000u : 0x8000000000000000ull;
    } else {
        r = store_int(c, v, size, trunc, &sw);
        if (sw & ~c->x87.fcw & FSW_IE) {
            x87_abort_flags(c, sw);
            return;
        }
        c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (sw & FSW_C1);
        x87_flags(c, sw);
    }
    lin_write(c, ea, size, r);
    if (pop)
        x87_pop(c);
}

static void fucomi(struct emu_cpu *c, const struct emu_insn *i, bool quiet, bool pop)
{
    long double a, b;
    const uint64_t mask = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF;
    uint64_t fl;
    if (is_empty(c, 0) || is_empty(c, i->rm & 7)) {
        stack_fault(c, false);
        fl = RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF;   /* unordered, masked or not */
        if (!(c->x87.fcw & FSW_IE)) {
            emu_set_rflags(c, (emu_get_rflags(c) & ~mask) | fl);
            return;
        }
    } else {
        a = st_get(c, 0);
        b = st_get(c, i->rm & 7);
        fl = host_compare(c, a, b, quiet);
        if (x87_aborted(c, xsw)) {
            if (x87_invalid_unmasked(c, xsw))
                fl = RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF;
            emu_set_rflags(c, (emu_get_rflags(c) & ~mask) | fl);
            return;
        }
    }
    emu_set_rflags(c, (emu_get_rflags(c) & ~mask) | fl);
    if (pop)
        x87_pop(c);
}

static void h_db(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        x87_check(c, true);
        switch (op) {
        case 0: {                                  /* fild m32 */
            int32_t v = (int32_t)lin_read(c, ea, 4);
            note_insn(c, i, ea);
            x87_push(c, (long double)v);
            return;
        }
        case 1: case 2: case 3:                    /* fisttp, fist, fistp m32 */
            note_insn(c, i, ea);
            fist_common(c, i, ea, 4, op == 1, op != 2);
            return;
        case 5: {                                  /* fld m80 */
            uint8_t raw[10];
            sse_read_buf(c, ea, raw, 10);
            note_insn(c, i, ea);
            x87_push(c, load_m80(raw));
            return;
        }
        case 7: {                                  /* fstp m80 */
            long double v;
            if (!st_read(c, 0, &v)) {
                if (!(c->x87.fcw & FSW_IE))
                    return;
                v = indefinite();
            }
            sse_write_buf(c, ea, &v, 10);
            note_insn(c, i, ea);
            c->x87.fsw &= ~FSW_C1;
            x87_pop(c);
            return;
        }
        default:
            emu_sse_ud(c, i);
        }
    }
    switch (i->modrm) {
    case 0xe0: case 0xe1: case 0xe4:               /* feni, fdisi, fsetpm: no-ops */
        x87_check(c, false);
        return;
    case 0xe2:                                     /* fnclex */
        x87_check(c, false);
        c->x87.fsw &= ~(0x3f | FSW_SF | FSW_ES | FSW_B);
        return;
    case 0xe3:                                     /* fninit */
        x87_check(c, false);
        emu_x87_init(c);
        return;
    }
    x87_check(c, true);
    note_insn(c, i, 0);
    if (op < 4) {
        fcmov(c, i, true);
        return;
    }
    if (op == 5 || op == 6) {                      /* fucomi, fcomi */
        fucomi(c, i, op == 5, false);
        return;
    }
    emu_sse_ud(c, i);
}

static void h_dd(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        switch (op) {
        case 0: {                                  /* fld m64 */
            uint64_t bits;
            x87_check(c, true);
            bits = lin_read(c, ea, 8);
            note_insn(c, i, ea);
            if (!is_empty(c, 7)) {
                x87_push(c, 0);     /* overflow: no operand conversion */
                return;
            }
            {
                /* an unmasked SNaN operand is not pushed (a denormal is) */
                long double v = load_f64(c, bits);
                if (x87_invalid_unmasked(c, xsw)) {
                    c->x87.fsw &= ~FSW_C1;
                    return;
                }
                x87_push(c, v);
            }
            return;
        }
        case 1:                                    /* fisttp m64 */
            x87_check(c, true);
            note_insn(c, i, ea);
            fist_common(c, i, ea, 8, true, true);
            return;
        case 2: case 3:                            /* fst/fstp m64 */
            fst_real(c, i, ea, 8, op == 3);
            return;
        case 4: {                                  /* frstor */
            uint8_t img[28 + 80];
            unsigned es = env_size(i);
            x87_check(c, false);
            sse_read_buf(c, ea, img, es + 80);
            env_load(c, i, img);
            for (unsigned k = 0; k < 8; k++) {
                long double v = load_m80(img + es + 10 * k);
                c->x87.st[phys(c, k)] = v;
            }
            return;
        }
        case 6: {                                  /* fnsave */
            uint8_t img[28 + 80];
            unsigned es = env_size(i);
            x87_check(c, false);
            env_store(c, i, img);
            for (unsigned k = 0; k < 8; k++)
                memcpy(img + es + 10 * k, &c->x87.st[phys(c, k)], 10);
            sse_write_buf(c, ea, img, es + 80);
            emu_x87_init(c);
            return;
        }
        case 7:                                    /* fnstsw m16 */
            x87_check(c, false);
            lin_write(c, ea, 2, emu_x87_fsw(c));
            return;
        default:
            emu_sse_ud(c, i);
        }
    }
    x87_check(c, true);
    note_insn(c, i, 0);
    switch (op) {
    case 0:                                        /* ffree */
        set_tag(c, phys(c, i->rm & 7), TAG_EMPTY);
        c->x87.fsw &= ~FSW_C1;
        return;
    case 1: {                                      /* fxch4 alias */
        struct emu_insn j = *i;
        j.modrm = 0xc8 | (i->rm & 7);
        h_d9(c, &j);
        return;
    }
    case 2: case 3: {                              /* fst/fstp st(i) */
        long double v;
        if (!st_read(c, 0, &v)) {
            if (!(c->x87.fcw & FSW_IE))
                return;
            v = indefinite();
        }
        st_set(c, i->rm & 7, v);
        c->x87.fsw &= ~FSW_C1;
        if (op == 3)
            x87_pop(c);
        return;
    }
    case 4: case 5: {                              /* fucom, fucomp */
        long double b;
        bool ok = st_read(c, i->rm & 7, &b);
        compare_st0(c, b, ok, op == 5, true);
        return;
    }
    default:
        emu_sse_ud(c, i);
    }
}

static void h_df(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    if (i->mod != 3) {
        uint64_t ea = emu_ea(c, i);
        x87_check(c, true);
        switch (op) {
        case 0: {                                  /* fild m16 */
            int16_t v = (int16_t)lin_read(c, ea, 2);
            note_insn(c, i, ea);
            x87_push(c, (long double)v);
            return;
        }
        case 1: case 2: case 3:                    /* fisttp, fist, fistp m16 */
            note_insn(c, i, ea);
            fist_common(c, i, ea, 2, op == 1, op != 2);
            return;
        case 4: {                                  /* fbld m80 */
            uint8_t raw[10];
            long double r;
            uint16_t h;
            sse_read_buf(c, ea, raw, 10);
            note_insn(c, i, ea);
            h = xh_enter_masked(c);
            __asm__ volatile("fbld %2\n\tfnstsw %[sw]\n\tfnclex" : "=t"(r), [sw] "=m"(xsw) : "m"(*(const uint8_t(*)[10])raw));
            x87_flags(c, xh_leave(h));
            x87_push(c, r);
            return;
        }
        case 5: {                                  /* fild m64 */
            int64_t v = (int64_t)lin_read(c, ea, 8);
            note_insn(c, i, ea);
            x87_push(c, (long double)v);
            return;
        }
        case 6: {                                  /* fbstp m80 */
            uint8_t raw[10];
            long double v;
            uint16_t h, sw;
            if (!st_read(c, 0, &v)) {
                if (!(c->x87.fcw & FSW_IE))
                    return;
                v = indefinite();
            }
            h = xh_enter_masked(c);
            __asm__ volatile("fbstp %0\n\tfnstsw %[sw]\n\tfnclex" : "=m"(*(uint8_t(*)[10])raw), [sw] "=m"(xsw) : "t"(v) : "st");
            sw = xh_leave(h);
            if (sw & ~c->x87.fcw & FSW_IE) {
                x87_abort_flags(c, sw);
                return;
            }
            c->x87.fsw = (c->x87.fsw & ~FSW_C1) | (sw & FSW_C1);
            x87_flags(c, sw);
            sse_write_buf(c, ea, raw, 10);
            note_insn(c, i, ea);
            x87_pop(c);
            return;
        }
        default:                                   /* fistp m64 */
            note_insn(c, i, ea);
            fist_common(c, i, ea, 8, false, true);
            return;
        }
    }
    if (i->modrm == 0xe0) {                        /* fnstsw ax */
        x87_check(c, false);
        c->gpr[R_RAX] = (c->gpr[R_RAX] & ~0xffffull) | emu_x87_fsw(c);
        return;
    }
    x87_check(c, true);
    note_insn(c, i, 0);
    switch (op) {
    case 0:                                        /* ffreep */
        set_tag(c, phys(c, i->rm & 7), TAG_EMPTY);
        c->x87.fsw &= ~FSW_C1;
        x87_pop(c);
        return;
    case 1: case 2: case 3: {                      /* fxch7, fstp8, fstp9 (aliases) */
        /* As FXCH (D9 C8+i) and FSTP st(i) (DD D8+i) */
        struct emu_insn j = *i;
        j.modrm = (uint8_t)((op == 1 ? 0xc8 : 0xd8) | (i->rm & 7));
        j.reg = (uint8_t)((i->reg & ~7u) | (op == 1 ? 1 : 3));
        if (op == 1)
            h_d9(c, &j);
        else
            h_dd(c, &j);
        note_insn(c, i, 0);                        /* FOP: this instruction's bytes */
        return;
    }
    case 5: case 6:                                /* fucomip, fcomip */
        fucomi(c, i, op == 5, true);
        return;
    default:
        emu_sse_ud(c, i);
    }
}

/* 9B: FWAIT faults on a pending unmasked exception. */
static void h_fwait(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if ((c->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
    if ((c->x87.fsw & FSW_ES) && (c->cr0 & CR0_NE))
        emu_raise(c, EXC_MF, EMU_NO_ERRCODE);
}

void emu_x87_register(void)
{
    emu_ops[MAP_1][0xd8] = h_d8;
    emu_ops[MAP_1][0xd9] = h_d9;
    emu_ops[MAP_1][0xda] = h_da;
    emu_ops[MAP_1][0xdb] = h_db;
    emu_ops[MAP_1][0xdc] = h_dc;
    emu_ops[MAP_1][0xdd] = h_dd;
    emu_ops[MAP_1][0xde] = h_de;
    emu_ops[MAP_1][0xdf] = h_df;
    emu_ops[MAP_1][0x9b] = h_fwait;
}
