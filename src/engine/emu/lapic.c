/* The local APIC of the software CPU (xAPIC MMIO): interrupt acceptance and
 * priority (IRR/ISR/TMR, TPR/PPR), EOI back to the IOAPIC, the LVTs, the
 * timer (one-shot, periodic, TSC-deadline) on the machine's timer service,
 * and IPIs.  Other threads set IRR; one mutex per LAPIC guards its state,
 * and no lock is held while calling the irqchip or waking a vCPU. */
#include "engine/emu/lapic.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/vcpu_snap.h"
#include "lib/log.h"
#include "machine/timer.h"
#include "machine/vm.h"

/* emu.c (the vCPU glue) records a STARTUP vector and wakes the CPU with
 * EMU_EV_SIPI; declared in emu.h on the emu-sys side. */
void emu_vcpu_sipi(struct emu_cpu *c, uint8_t vector);

#define APIC_VERSION     0x00050014u    /* 6 LVT entries, integrated APIC */
#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_ENABLE (1ULL << 11)
#define APIC_DEFAULT_BASE 0xfee00000ULL   /* where every x86 CPU's APIC starts */

/* Register offsets. */
enum {
    R_ID = 0x20, R_VERSION = 0x30, R_TPR = 0x80, R_APR = 0x90, R_PPR = 0xa0, R_EOI = 0xb0,
    R_RRD = 0xc0, R_LDR = 0xd0, R_DFR = 0xe0, R_SVR = 0xf0, R_ISR = 0x100, R_TMR = 0x180,
    R_IRR = 0x200, R_ESR = 0x280, R_LVT_CMCI = 0x2f0, R_ICR_LO = 0x300, R_ICR_HI = 0x310,
    R_LVT_TIMER = 0x320, R_LVT_THERMAL = 0x330, R_LVT_PERF = 0x340, R_LVT_LINT0 = 0x350,
    R_LVT_LINT1 = 0x360, R_LVT_ERROR = 0x370, R_TIMER_ICR = 0x380, R_TIMER_CCR = 0x390,
    R_TIMER_DCR = 0x3e0,
};

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_CMCI, LVT_COUNT };

#define LVT_MASKED       (1u << 16)
#define LVT_DM(v)        (((v) >> 8) & 7)
#define TIMER_MODE(v)    (((v) >> 17) & 3)
enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };
#define SVR_ENABLE       (1u << 8)
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
/* A periodic timer faster than this would keep a host CPU busy. */
#define MIN_PERIOD_NS    100000ULL

struct emu_lapic {
    pthread_mutex_t lock;
    struct emu_cpu *cpu;
    uint32_t id;                 /* register value: APIC ID in bits 31:24 */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t esr, esr_pending;
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t timer_dcr, timer_icr;
    uint64_t timer_start_ns;     /* when the current count was loaded */
    uint64_t timer_next_ns;      /* the expiry the host timer waits for; 0 none */
    uint64_t tsc_deadline;
    struct timer_service *ts;
    struct timer *timer;
};

static const uint32_t lvt_writable[LVT_COUNT] = {
    [LVT_TIMER] = 0x700ff,       /* vector, mask, mode (incl. TSC-deadline) */
    [LVT_THERMAL] = 0x107ff,
    [LVT_PERF] = 0x107ff,
    [LVT_LINT0] = 0x1a7ff,       /* + polarity, trigger */
    [LVT_LINT1] = 0x1a7ff,
    [LVT_ERROR] = 0x100ff,
    [LVT_CMCI] = 0x107ff,
};

/* ---- helpers ---------------------------------------------------------------- */

static bool hw_enabled(const struct emu_lapic *l)
{
    return __atomic_load_n(&l->cpu->msr_apic_base, __ATOMIC_RELAXED) & APIC_BASE_ENABLE;
}

static bool sw_enabled(const struct emu_lapic *l)
{
    return l->svr & SVR_ENABLE;
}

static bool is_bsp(const struct emu_lapic *l)
{
    return l->cpu->id == 0;
}

static int highest_bit(const uint32_t reg[8])
{
    for (int i = 7; i >= 0; i--)
        if (reg[i])
            return i * 32 + 31 - __builtin_clz(reg[i]);
    return -1;
}

static void set_bit(uint32_t reg[8], int v) { reg[v >> 5] |= 1u << (v & 31); }
static void clear_bit(uint32_t reg[8], int v) { reg[v >> 5] &= ~(1u << (v & 31)); }
static bool test_bit(const uint32_t reg[8], int v) { return reg[v >> 5] & (1u << (v & 31)); }

static uint32_t ppr(const struct emu_lapic *l)
{
    int isrv = highest_bit(l->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

static uint32_t apr(const struct emu_lapic *l)
{
    int irrv = highest_bit(l->irr), isrv = highest_bit(l->isr);
    int top = irrv > isrv ? irrv : isrv;
    uint32_t cls = top < 0 ? 0 : (uint32_t)top & 0xf0;
    return (l->tpr & 0xf0) >= cls ? l->tpr & 0xff : cls;
}

/* The fixed vector the CPU would take now, or -1 (lock held). */
static int fixed_pending(const struct emu_lapic *l)
{
    if (!hw_enabled(l) || !sw_enabled(l))
        return -1;
    int v = highest_bit(l->irr);
    if (v < 0 || ((uint32_t)v & 0xf0) <= (ppr(l) & 0xf0))
        return -1;
    return v;
}

/* Does the 8259 reach this CPU (lock held)? */
static bool extint_wired(const struct emu_lapic *l)
{
    uint32_t lint0 = l->lvt[LVT_LINT0];
    if (!(lint0 & LVT_MASKED) && LVT_DM(lint0) == APIC_DM_EXTINT && hw_enabled(l))
        return true;
    /* With its APIC off, the BSP takes the PIC directly (virtual wire). */
    return is_bsp(l) && (!hw_enabled(l) || !sw_enabled(l));
}

/* The 8259's side of LINT0, as the board wired it (vm->ext_intr). */
static const struct ext_intr *pic_of(const struct emu_lapic *l)
{
    return l->cpu->vm && l->cpu->vm->ext_intr.pending ? &l->cpu->vm->ext_intr : NULL;
}

static bool pic_pending(const struct ext_intr *x)
{
    return x && x->pending(x->opaque);
}

static void wake(struct emu_lapic *l, uint32_t ev)
{
    emu_vcpu_wake(l->cpu, ev);
}

/* ---- the timer -------------------------------------------------------------- */

static uint64_t timer_divisor(const struct emu_lapic *l)
{
    uint32_t v = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
    return v == 7 ? 1 : 2ULL << v;
}

/* Nanoseconds per timer tick at the current divide (EMU_LAPIC_TIMER_HZ divides 1e9). */
_Static_assert(1000000000ULL % EMU_LAPIC_TIMER_HZ == 0, "whole nanoseconds per APIC tick");
static uint64_t tick_ns(const struct emu_lapic *l)
{
    return timer_divisor(l) * (1000000000ULL / EMU_LAPIC_TIMER_HZ);
}

/* Guest ns since the current count was loaded; negative when a loaded
 * timer's count starts later (docs/snapshot-cpu.md: another engine's
 * faster timer left more time than this one's full count takes). */
static int64_t since_start(const struct emu_lapic *l, uint64_t now)
{
    return (int64_t)(now - l->timer_start_ns);
}

static uint32_t current_count(const struct emu_lapic *l, uint64_t now)
{
    uint32_t mode = TIMER_MODE(l->lvt[LVT_TIMER]);
    if (l->timer_icr == 0 || mode == TIMER_TSC_DEADLINE)
        return 0;
    int64_t el = since_start(l, now);
    uint64_t ticks = el > 0 ? (uint64_t)el / tick_ns(l) : 0;
    if (mode == TIMER_PERIODIC)
        return (uint32_t)(l->timer_icr - ticks % l->timer_icr);
    return ticks >= l->timer_icr ? 0 : (uint32_t)(l->timer_icr - ticks);
}

static uint64_t period_ns(const struct emu_lapic *l)
{
    uint64_t p = (uint64_t)l->timer_icr * tick_ns(l);
    return p < MIN_PERIOD_NS ? MIN_PERIOD_NS : p;
}

static void timer_fired(void *opaque);

/* Guest time, which stops while the machine is paused; a CPU without a
 * machine (unit tests) runs on the host clock. */
static uint64_t lapic_now(const struct emu_lapic *l)
{
    return guest_clock_now(l->cpu->vm ? &l->cpu->vm->clock : NULL);
}

static int ensure_timer(struct emu_lapic *l)
{
    if (l->timer)
        return 0;
    int r = l->cpu->vm ? timer_service_get_clock(&l->cpu->vm->clock, &l->ts)
                       : timer_service_get(l, &l->ts);
    if (r < 0)
        return r;
    r = timer_new(l->ts, timer_fired, l, &l->timer);
    if (r < 0) {
        timer_service_put(l->ts);
        l->ts = NULL;
    }
    return r;
}

/* Re-plans the host timer after the LVT, count, divide or deadline changed
 * (lock held).  Only an unmasked timer keeps a host timer armed. */
static void timer_replan(struct emu_lapic *l, uint64_t now)
{
    uint32_t lvt = l->lvt[LVT_TIMER];
    uint64_t at = 0;
    switch (TIMER_MODE(lvt)) {
    case TIMER_ONESHOT:
        if (l->timer_icr) {
            at = l->timer_start_ns + (uint64_t)l->timer_icr * tick_ns(l);
            if ((int64_t)(at - now) <= 0)
                at = 0;               /* expired already (perhaps while masked) */
        }
        break;
    case TIMER_PERIODIC:
        if (l->timer_icr) {
            uint64_t p = period_ns(l);
            int64_t el = since_start(l, now);
            uint64_t k = el > 0 ? (uint64_t)el / p + 1 : 1;
            at = l->timer_start_ns + k * p;
        }
        break;
    case TIMER_TSC_DEADLINE:
        if (l->tsc_deadline) {
            uint64_t tsc = emu_rdtsc(l->cpu);
            uint64_t delta = l->tsc_deadline > tsc ? l->tsc_deadline - tsc : 0;
            /* Rounded up: the interrupt never comes before the TSC passed it. */
            at = now + (uint64_t)(((unsigned __int128)delta * 1000000000ULL + EMU_TSC_HZ - 1) /
                                  EMU_TSC_HZ);
            if (at == 0)
                at = 1;
        }
        break;
    default:
        break;
    }
    if (lvt & LVT_MASKED && TIMER_MODE(lvt) != TIMER_TSC_DEADLINE)
        at = 0;
    l->timer_next_ns = at;
    if (at) {
        if (ensure_timer(l) < 0) {
            log_error("lapic %d: cannot start the timer service; the APIC timer is off",
                      l->cpu->id);
            l->timer_next_ns = 0;
            return;
        }
        timer_arm(l->timer, at);
    } else if (l->timer) {
        timer_cancel(l->timer);
    }
}

static void timer_fired(void *opaque)
{
    struct emu_lapic *l = opaque;
    bool raised = false;
    pthread_mutex_lock(&l->lock);
    uint64_t now = lapic_now(l);
    if (!l->timer_next_ns) {
        pthread_mutex_unlock(&l->lock);
        return;
    }
    if (now < l->timer_next_ns) {
        timer_arm(l->timer, l->timer_next_ns);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    uint32_t lvt = l->lvt[LVT_TIMER];
    if (!(lvt & LVT_MASKED)) {
        int v = lvt & 0xff;
        if (v >= 16) {
            set_bit(l->irr, v);
            clear_bit(l->tmr, v);
            raised = true;
        } else {
            l->esr_pending |= ESR_RECV_ILLEGAL;
        }
    }
    switch (TIMER_MODE(lvt)) {
    case TIMER_PERIODIC:
        timer_replan(l, now);     /* late by several periods: one interrupt */
        break;
    case TIMER_TSC_DEADLINE:
        l->tsc_deadline = 0;
        l->timer_next_ns = 0;
        break;
    default:
        l->timer_next_ns = 0;
        break;
    }
    pthread_mutex_unlock(&l->lock);
    if (raised)
        wake(l, EMU_EV_IRQ);
}

void lapic_set_tsc_deadline(struct emu_lapic *l, uint64_t tsc)
{
    pthread_mutex_lock(&l->lock);
    l->tsc_deadline = tsc;
    if (TIMER_MODE(l->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE)
        timer_replan(l, lapic_now(l));
    pthread_mutex_unlock(&l->lock);
}

uint64_t lapic_get_tsc_deadline(struct emu_lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint64_t v = TIMER_MODE(l->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
    pthread_mutex_unlock(&l->lock);
    return v;
}

/* ---- life ------------------------------------------------------------------- */

static void reset_locked(struct emu_lapic *l)
{
    l->id = (uint32_t)l->cpu->id << 24;
    l->tpr = l->ldr = 0;
    l->dfr = 0xffffffff;
    l->svr = 0xff;
    l->esr = l->esr_pending = 0;
    l->icr_lo = l->icr_hi = 0;
    for (int i = 0; i < LVT_COUNT; i++)
        l->lvt[i] = LVT_MASKED;
    memset(l->irr, 0, sizeof(l->irr));
    memset(l->isr, 0, sizeof(l->isr));
    memset(l->tmr, 0, sizeof(l->tmr));
    l->timer_dcr = l->timer_icr = 0;
    l->timer_start_ns = 0;
    l->tsc_deadline = 0;
    l->timer_next_ns = 0;
    if (l->timer)
        timer_cancel(l->timer);
}

int lapic_create(struct emu_cpu *c, struct emu_lapic **out)
{
    struct emu_lapic *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->cpu = c;
    pthread_mutex_init(&l->lock, NULL);
    if (c->msr_apic_base == 0)      /* power-on value, unless emu_cpu_reset set it */
        c->msr_apic_base = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (c->id == 0 ? APIC_BASE_BSP : 0);
    reset_locked(l);
    *out = l;
    return 0;
}

void lapic_destroy(struct emu_lapic *l)
{
    if (!l)
        return;
    if (l->timer) {
        timer_free(l->timer);              /* waits for a callback in flight */
        timer_service_put(l->ts);
    }
    pthread_mutex_destroy(&l->lock);
    free(l);
}

void lapic_reset(struct emu_lapic *l)
{
    pthread_mutex_lock(&l->lock);
    reset_locked(l);
    pthread_mutex_unlock(&l->lock);
}

/* ---- state ------------------------------------------------------------------ */

static const uint16_t lvt_offset[LVT_COUNT] = {
    [LVT_TIMER] = R_LVT_TIMER, [LVT_THERMAL] = R_LVT_THERMAL, [LVT_PERF] = R_LVT_PERF,
    [LVT_LINT0] = R_LVT_LINT0, [LVT_LINT1] = R_LVT_LINT1, [LVT_ERROR] = R_LVT_ERROR,
    [LVT_CMCI] = R_LVT_CMCI,
};

void lapic_save(struct emu_lapic *l, uint8_t *page, uint64_t *timer_ns, uint32_t *esr_pending)
{
    memset(page, 0, APIC_PAGE_SIZE);
    pthread_mutex_lock(&l->lock);
    uint64_t now = lapic_now(l);
    apic_page_set(page, R_ID, l->id);
    apic_page_set(page, R_TPR, l->tpr);
    apic_page_set(page, R_LDR, l->ldr);
    apic_page_set(page, R_DFR, l->dfr);
    apic_page_set(page, R_SVR, l->svr);
    for (int i = 0; i < 8; i++) {
        apic_page_set(page, R_ISR + 16 * i, l->isr[i]);
        apic_page_set(page, R_TMR + 16 * i, l->tmr[i]);
        apic_page_set(page, R_IRR + 16 * i, l->irr[i]);
    }
    apic_page_set(page, R_ESR, l->esr);
    apic_page_set(page, R_ICR_LO, l->icr_lo & APIC_ICR_LO_VALID);
    apic_page_set(page, R_ICR_HI, l->icr_hi);
    for (int i = 0; i < LVT_COUNT; i++)
        apic_page_set(page, lvt_offset[i], l->lvt[i]);
    apic_page_set(page, R_TIMER_ICR, l->timer_icr);
    apic_page_set(page, R_TIMER_DCR, l->timer_dcr);
    uint64_t left = 0;
    uint32_t mode = TIMER_MODE(l->lvt[LVT_TIMER]);
    if (l->timer_icr && (mode == TIMER_ONESHOT || mode == TIMER_PERIODIC)) {
        uint64_t period = (uint64_t)l->timer_icr * tick_ns(l);
        int64_t el = since_start(l, now);
        if (el < 0)
            left = period + (uint64_t)-el;
        else if (mode == TIMER_ONESHOT)
            left = (uint64_t)el >= period ? 0 : period - (uint64_t)el;
        else
            left = period - (uint64_t)el % period;
    }
    *timer_ns = left;
    *esr_pending = l->esr_pending;
    pthread_mutex_unlock(&l->lock);
}

void lapic_load(struct emu_lapic *l, const uint8_t *page, uint64_t timer_ns, uint32_t esr_pending)
{
    pthread_mutex_lock(&l->lock);
    uint64_t now = lapic_now(l);
    l->id = apic_page_get(page, R_ID);
    l->tpr = apic_page_get(page, R_TPR);
    l->ldr = apic_page_get(page, R_LDR);
    l->dfr = apic_page_get(page, R_DFR);
    l->svr = apic_page_get(page, R_SVR);
    for (int i = 0; i < 8; i++) {
        l->isr[i] = apic_page_get(page, R_ISR + 16 * i);
        l->tmr[i] = apic_page_get(page, R_TMR + 16 * i);
        l->irr[i] = apic_page_get(page, R_IRR + 16 * i);
    }
    l->esr = apic_page_get(page, R_ESR);
    l->esr_pending = esr_pending;
    l->icr_lo = apic_page_get(page, R_ICR_LO);
    l->icr_hi = apic_page_get(page, R_ICR_HI);
    for (int i = 0; i < LVT_COUNT; i++)
        l->lvt[i] = apic_page_get(page, lvt_offset[i]);
    l->timer_icr = apic_page_get(page, R_TIMER_ICR);
    l->timer_dcr = apic_page_get(page, R_TIMER_DCR);
    l->tsc_deadline = 0;
    l->timer_start_ns = now;
    uint32_t mode = TIMER_MODE(l->lvt[LVT_TIMER]);
    if (l->timer_icr && (mode == TIMER_ONESHOT || mode == TIMER_PERIODIC)) {
        uint64_t period = (uint64_t)l->timer_icr * tick_ns(l);
        if (mode == TIMER_PERIODIC && timer_ns == 0)
            timer_ns = period;                       /* reloading this instant */
        l->timer_start_ns = now - (period - timer_ns);   /* modulo 2^64: may lie ahead */
    }
    timer_replan(l, now);
    bool more = fixed_pending(l) >= 0;
    pthread_mutex_unlock(&l->lock);
    if (more)
        wake(l, EMU_EV_IRQ);
}

/* ---- acceptance ------------------------------------------------------------- */

int lapic_pending(struct emu_lapic *l)
{
    pthread_mutex_lock(&l->lock);
    bool extint = extint_wired(l);
    int v = fixed_pending(l);
    pthread_mutex_unlock(&l->lock);
    if (extint && pic_pending(pic_of(l)))
        return LAPIC_VECTOR_EXTINT;
    return v;
}

int lapic_ack(struct emu_lapic *l)
{
    pthread_mutex_lock(&l->lock);
    bool extint = extint_wired(l);
    pthread_mutex_unlock(&l->lock);
    if (extint && pic_pending(pic_of(l)))
        return pic_of(l)->ack(pic_of(l)->opaque);
    pthread_mutex_lock(&l->lock);
    int v = fixed_pending(l);
    if (v >= 0) {
        clear_bit(l->irr, v);
        set_bit(l->isr, v);
    }
    pthread_mutex_unlock(&l->lock);
    return v;
}

/* Sets IRR for a fixed/lowest-priority message; returns whether to wake. */
static bool accept_fixed(struct emu_lapic *l, uint8_t vector, bool level)
{
    pthread_mutex_lock(&l->lock);
    if (vector < 16) {
        l->esr_pending |= ESR_RECV_ILLEGAL;
        pthread_mutex_unlock(&l->lock);
        return false;
    }
    set_bit(l->irr, vector);
    if (level)
        set_bit(l->tmr, vector);
    else
        clear_bit(l->tmr, vector);
    pthread_mutex_unlock(&l->lock);
    return true;
}

static void eoi(struct emu_lapic *l)
{
    pthread_mutex_lock(&l->lock);
    int v = highest_bit(l->isr);
    bool level = false;
    if (v >= 0) {
        clear_bit(l->isr, v);
        level = test_bit(l->tmr, v);
    }
    bool more = fixed_pending(l) >= 0;
    pthread_mutex_unlock(&l->lock);
    if (level && pic_of(l))
        pic_of(l)->eoi(pic_of(l)->opaque, (uint8_t)v);
    if (more)
        wake(l, EMU_EV_IRQ);
}

/* ---- routing ---------------------------------------------------------------- */

static bool matches(struct emu_lapic *l, uint32_t dest, bool logical)
{
    pthread_mutex_lock(&l->lock);
    bool m;
    dest &= 0xff;
    if (!logical) {
        m = dest == 0xff || (l->id >> 24) == dest;
    } else if (dest == 0xff) {
        m = true;
    } else if ((l->dfr >> 28) == 0xf) {              /* flat: a bit per APIC */
        m = ((l->ldr >> 24) & dest) != 0;
    } else {                                         /* cluster: 4-bit id + 4-bit mask */
        uint32_t ldr = l->ldr >> 24;
        m = (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf) != 0;
    }
    pthread_mutex_unlock(&l->lock);
    return m;
}

static void deliver_one(struct emu_lapic *l, const struct apic_msg *msg)
{
    switch (msg->delivery) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (msg->level_triggered && !msg->assert)
            return;
        if (accept_fixed(l, msg->vector, msg->level_triggered))
            wake(l, EMU_EV_IRQ);
        break;
    case APIC_DM_NMI:
        wake(l, EMU_EV_NMI);
        break;
    case APIC_DM_INIT:
        if (msg->level_triggered && !msg->assert)
            return;                                  /* INIT level de-assert: no-op */
        wake(l, EMU_EV_INIT);
        break;
    case APIC_DM_STARTUP:
        emu_vcpu_sipi(l->cpu, msg->vector);
        break;
    case APIC_DM_EXTINT:
        wake(l, EMU_EV_IRQ);                         /* lapic_pending asks the PIC */
        break;
    default:                                         /* SMI: no SMM */
        break;
    }
}

static struct emu_lapic *lapic_of(struct vm *vm, int i)
{
    struct emu_cpu *c = emu_cpu_of(&vm->vcpus[i]);
    return c ? c->lapic : NULL;
}

enum { SH_NONE = 0, SH_SELF = 1, SH_ALL = 2, SH_OTHERS = 3 };

static void route(struct vm *vm, struct emu_lapic *src, const struct apic_msg *msg, int shorthand)
{
    if (shorthand == SH_SELF || !vm) {
        if (src && (shorthand == SH_SELF || shorthand == SH_ALL ||
                    (shorthand == SH_NONE && matches(src, msg->dest, msg->dest_logical))))
            deliver_one(src, msg);
        return;
    }
    bool lowest = msg->delivery == APIC_DM_LOWEST;
    for (int i = 0; i < vm->ncpus && i < VM_MAX_CPUS; i++) {
        struct emu_lapic *l = lapic_of(vm, i);
        if (!l)
            continue;
        if (shorthand == SH_OTHERS && l == src)
            continue;
        bool hit;
        if (shorthand == SH_NONE)
            hit = hw_enabled(l) && matches(l, msg->dest, msg->dest_logical);
        else
            hit = hw_enabled(l);
        /* The 8259's wire reaches the BSP whatever its APIC state. */
        if (msg->delivery == APIC_DM_EXTINT && i == 0)
            hit = true;
        if (!hit)
            continue;
        deliver_one(l, msg);
        if (lowest)
            break;                                   /* lowest priority: the first target */
    }
}

void lapic_deliver(struct vm *vm, const struct apic_msg *msg)
{
    /* A stopped machine tears its vCPUs down while device threads and
     * timers may still raise lines: drop those messages.  (A paused one
     * keeps accepting them, so level interrupts are not lost.) */
    if (atomic_load_explicit(&vm->stop, memory_order_acquire) != VM_RUNNING)
        return;
    route(vm, NULL, msg, SH_NONE);
}

static void send_ipi(struct emu_lapic *l, uint32_t lo, uint32_t hi)
{
    struct apic_msg msg = {
        .dest = hi >> 24,
        .dest_logical = lo & (1u << 11),
        .delivery = (lo >> 8) & 7,
        .vector = (uint8_t)lo,
        .level_triggered = lo & (1u << 15),
        .assert = lo & (1u << 14),
    };
    int shorthand = (lo >> 18) & 3;
    if ((msg.delivery == APIC_DM_FIXED || msg.delivery == APIC_DM_LOWEST) && msg.vector < 16) {
        pthread_mutex_lock(&l->lock);
        l->esr_pending |= ESR_SEND_ILLEGAL;
        pthread_mutex_unlock(&l->lock);
        return;
    }
    /* Edge IPIs always assert. */
    if (!msg.level_triggered)
        msg.assert = true;
    route(l->cpu->vm, l, &msg, shorthand);
}

/* ---- MMIO ------------------------------------------------------------------- */

static uint32_t read_reg(struct emu_lapic *l, uint32_t reg)
{
    if (reg >= R_ISR && reg < R_ISR + 0x80)
        return l->isr[(reg - R_ISR) >> 4];
    if (reg >= R_TMR && reg < R_TMR + 0x80)
        return l->tmr[(reg - R_TMR) >> 4];
    if (reg >= R_IRR && reg < R_IRR + 0x80)
        return l->irr[(reg - R_IRR) >> 4];
    switch (reg) {
    case R_ID: return l->id;
    case R_VERSION: return APIC_VERSION;
    case R_TPR: return l->tpr;
    case R_APR: return apr(l);
    case R_PPR: return ppr(l);
    case R_LDR: return l->ldr;
    case R_DFR: return l->dfr;
    case R_SVR: return l->svr;
    case R_ESR: return l->esr;
    case R_ICR_LO: return l->icr_lo;                 /* delivery status: always idle */
    case R_ICR_HI: return l->icr_hi;
    case R_LVT_TIMER: return l->lvt[LVT_TIMER];
    case R_LVT_THERMAL: return l->lvt[LVT_THERMAL];
    case R_LVT_PERF: return l->lvt[LVT_PERF];
    case R_LVT_LINT0: return l->lvt[LVT_LINT0];
    case R_LVT_LINT1: return l->lvt[LVT_LINT1];
    case R_LVT_ERROR: return l->lvt[LVT_ERROR];
    case R_LVT_CMCI: return l->lvt[LVT_CMCI];
    case R_TIMER_ICR: return l->timer_icr;
    case R_TIMER_CCR: return current_count(l, lapic_now(l));
    case R_TIMER_DCR: return l->timer_dcr;
    default: return 0;                               /* EOI, RRD, reserved */
    }
}

uint64_t lapic_mmio_read(struct emu_lapic *l, uint64_t offset, unsigned size)
{
    offset &= 0xfff;
    unsigned byte = offset & 0xf;
    /* Registers are 32 bits wide at 16-byte strides; a qword read at the
     * start gets the register zero-extended, anything else past it reads 0. */
    if (size == 8 ? byte != 0 : byte + size > 4)
        return 0;
    pthread_mutex_lock(&l->lock);
    uint64_t v = read_reg(l, (uint32_t)offset & 0xff0);
    pthread_mutex_unlock(&l->lock);
    v >>= byte * 8;
    return size >= 4 ? v & 0xffffffff : v & ((1ULL << (size * 8)) - 1);
}

static void write_lvt(struct emu_lapic *l, int idx, uint32_t val, uint64_t now)
{
    uint32_t old = l->lvt[idx];
    uint32_t v = (val & lvt_writable[idx]) | (old & ~lvt_writable[idx] & (1u << 14));
    if (!sw_enabled(l))
        v |= LVT_MASKED;
    l->lvt[idx] = v;
    if (idx == LVT_TIMER) {
        if (TIMER_MODE(v) != TIMER_MODE(old)) {
            /* A mode switch stops the timer, as on hardware. */
            l->timer_icr = 0;
            l->tsc_deadline = 0;
        }
        timer_replan(l, now);
    }
}

/* Returns what must happen after the lock is dropped. */
enum { AFTER_NONE, AFTER_EOI, AFTER_IPI, AFTER_WAKE };

static int write_reg(struct emu_lapic *l, uint32_t reg, uint32_t val)
{
    uint64_t now = lapic_now(l);
    switch (reg) {
    case R_ID:
        l->id = val & 0xff000000;
        break;
    case R_TPR: {
        uint32_t old = l->tpr;
        l->tpr = val & 0xff;
        if (l->tpr < old && fixed_pending(l) >= 0)
            return AFTER_WAKE;
        break;
    }
    case R_EOI:
        return AFTER_EOI;
    case R_LDR:
        l->ldr = val & 0xff000000;
        break;
    case R_DFR:
        l->dfr = val | 0x0fffffff;
        break;
    case R_SVR:
        l->svr = val & 0x3ff;
        if (!(l->svr & SVR_ENABLE)) {
            for (int i = 0; i < LVT_COUNT; i++)
                l->lvt[i] |= LVT_MASKED;
            timer_replan(l, now);
        }
        return AFTER_WAKE;                           /* the PIC path may open or close */
    case R_ESR:
        l->esr = l->esr_pending;
        l->esr_pending = 0;
        break;
    case R_ICR_LO:
        l->icr_lo = val & 0x000cdfff;
        return AFTER_IPI;
    case R_ICR_HI:
        l->icr_hi = val & 0xff000000;
        break;
    case R_LVT_TIMER: write_lvt(l, LVT_TIMER, val, now); break;
    case R_LVT_THERMAL: write_lvt(l, LVT_THERMAL, val, now); break;
    case R_LVT_PERF: write_lvt(l, LVT_PERF, val, now); break;
    case R_LVT_LINT0: write_lvt(l, LVT_LINT0, val, now); return AFTER_WAKE;
    case R_LVT_LINT1: write_lvt(l, LVT_LINT1, val, now); break;
    case R_LVT_ERROR: write_lvt(l, LVT_ERROR, val, now); break;
    case R_LVT_CMCI: write_lvt(l, LVT_CMCI, val, now); break;
    case R_TIMER_ICR:
        if (TIMER_MODE(l->lvt[LVT_TIMER]) == TIMER_TSC_DEADLINE)
            break;                                   /* ignored in TSC-deadline mode */
        l->timer_icr = val;
        l->timer_start_ns = now;
        timer_replan(l, now);
        break;
    case R_TIMER_DCR: {
        /* Keep the current count where it is; only its speed changes. */
        uint32_t cur = current_count(l, now);
        l->timer_dcr = val & 0xb;
        if (l->timer_icr && cur) {
            uint64_t done = (uint64_t)(l->timer_icr - cur) * tick_ns(l);
            l->timer_start_ns = now - done;
            timer_replan(l, now);
        }
        break;
    }
    default:                                         /* read-only or reserved */
        break;
    }
    return AFTER_NONE;
}

void lapic_mmio_write(struct emu_lapic *l, uint64_t offset, unsigned size, uint64_t val)
{
    offset &= 0xfff;
    if ((offset & 0xf) != 0 || size < 4)
        return;                                      /* only aligned 32-bit writes are defined */
    pthread_mutex_lock(&l->lock);
    int after = write_reg(l, (uint32_t)offset & 0xff0, (uint32_t)val);
    uint32_t lo = l->icr_lo, hi = l->icr_hi;
    pthread_mutex_unlock(&l->lock);
    switch (after) {
    case AFTER_EOI:
        eoi(l);
        break;
    case AFTER_IPI:
        send_ipi(l, lo, hi);
        break;
    case AFTER_WAKE:
        wake(l, EMU_EV_IRQ);
        break;
    }
}

void lapic_set_tpr(struct emu_lapic *l, uint8_t cr8)
{
    pthread_mutex_lock(&l->lock);
    uint32_t old = l->tpr;
    l->tpr = (uint32_t)(cr8 & 0xf) << 4;
    bool more = l->tpr < old && fixed_pending(l) >= 0;
    pthread_mutex_unlock(&l->lock);
    if (more)
        wake(l, EMU_EV_IRQ);
}

uint8_t lapic_get_tpr(struct emu_lapic *l)
{
    pthread_mutex_lock(&l->lock);
    uint8_t v = (uint8_t)(l->tpr >> 4);
    pthread_mutex_unlock(&l->lock);
    return v;
}
