/* The vCPU state format both engines save and load: every architectural
 * register, the FXSAVE area, the MSRs, pending events, the multiprocessing
 * state and the local APIC (its 4 KiB register page and what the page does
 * not hold), the same bytes whichever engine wrote them, so a vCPU saved on
 * emu loads on kvm and back.  docs/snapshot-cpu.md describes it field by
 * field.  The decoder checks every value an engine could trip over. */
#ifndef HOSTEL_VCPU_SNAP_H
#define HOSTEL_VCPU_SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/cpu_state.h"
#include "lib/err.h"
#include "lib/state.h"

#define VCPU_STATE_VERSION 1

/* Segment attributes, packed as VMX access rights. */
#define VSEG_TYPE     0xfu
#define VSEG_S        (1u << 4)
#define VSEG_DPL(a)   (((a) >> 5) & 3)
#define VSEG_P        (1u << 7)
#define VSEG_AVL      (1u << 12)
#define VSEG_L        (1u << 13)
#define VSEG_DB       (1u << 14)
#define VSEG_G        (1u << 15)
#define VSEG_UNUSABLE (1u << 16)
#define VSEG_VALID    0x1f0ffu

struct vcpu_seg {
    uint64_t base;
    uint32_t limit;          /* byte granular, as expanded by the descriptor's G */
    uint32_t attr;           /* VSEG_*; a segment without P is always VSEG_UNUSABLE */
    uint16_t selector;
};

enum vcpu_mp_state {
    VCPU_MP_RUNNING = 0,
    VCPU_MP_HALTED = 1,      /* in HLT, waiting for an interrupt */
    VCPU_MP_WAIT_SIPI = 2,   /* after INIT, waiting for a startup IPI */
};

#define VCPU_MAX_MSRS 64

struct vcpu_msr {
    uint32_t index;
    uint64_t value;
};

/* FXSAVE area offsets (the 64-bit layout: FIP and FDP are 8 bytes). */
enum {
    FXS_FCW = 0, FXS_FSW = 2, FXS_FTW = 4, FXS_FOP = 6, FXS_FIP = 8, FXS_FDP = 16,
    FXS_MXCSR = 24, FXS_MXCSR_MASK = 28, FXS_ST = 32, FXS_XMM = 160, FXS_END = 416,
};

/* Local APIC register offsets in the 4 KiB page. */
enum {
    APIC_REG_ID = 0x20, APIC_REG_VER = 0x30, APIC_REG_TPR = 0x80, APIC_REG_APR = 0x90,
    APIC_REG_PPR = 0xa0, APIC_REG_EOI = 0xb0, APIC_REG_RRD = 0xc0, APIC_REG_LDR = 0xd0,
    APIC_REG_DFR = 0xe0, APIC_REG_SVR = 0xf0, APIC_REG_ISR = 0x100, APIC_REG_TMR = 0x180,
    APIC_REG_IRR = 0x200, APIC_REG_ESR = 0x280, APIC_REG_LVT_CMCI = 0x2f0,
    APIC_REG_ICR_LO = 0x300, APIC_REG_ICR_HI = 0x310, APIC_REG_LVT_TIMER = 0x320,
    APIC_REG_LVT_THERMAL = 0x330, APIC_REG_LVT_PERF = 0x340, APIC_REG_LVT_LINT0 = 0x350,
    APIC_REG_LVT_LINT1 = 0x360, APIC_REG_LVT_ERROR = 0x370, APIC_REG_TMICT = 0x380,
    APIC_REG_TMCCT = 0x390, APIC_REG_TDCR = 0x3e0,
};
#define APIC_PAGE_SIZE 4096
/* Bits of ICR low the format keeps (delivery status is always idle). */
#define APIC_ICR_LO_VALID 0x000cdfffu

struct vcpu_snap {
    uint64_t gpr[16];                /* R_RAX .. R_R15 */
    uint64_t rip, rflags;
    struct vcpu_seg seg[6];          /* S_ES .. S_GS */
    struct vcpu_seg ldtr, tr;
    struct dtable_state gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, xcr0;
    uint64_t dr[4], dr6, dr7;
    uint8_t fxsave[512];
    bool has_ymm;                    /* the upper halves of YMM0-15 follow */
    uint8_t ymm_hi[16][16];
    uint32_t nmsrs;                  /* ascending by index */
    struct vcpu_msr msrs[VCPU_MAX_MSRS];

    uint8_t mp_state;                /* enum vcpu_mp_state */
    bool exc_valid;                  /* an exception being delivered */
    uint8_t exc_vector;
    bool exc_has_error;
    uint32_t exc_error;
    bool irq_valid;                  /* an external interrupt being delivered */
    uint8_t irq_vector;
    bool nmi_injected, nmi_pending, nmi_masked;
    bool int_shadow;                 /* after STI or MOV SS */
    bool smm, smi_pending;

    uint8_t lapic[APIC_PAGE_SIZE];   /* derived registers (VER, APR, PPR, TMCCT) are 0 */
    uint64_t lapic_timer_ns;         /* one-shot/periodic: time until the count next reaches 0 */
    uint32_t lapic_esr_pending;      /* errors the next ESR write makes visible */
};

/* The MSRs every save carries, ascending (the table in docs/snapshot-cpu.md). */
extern const uint32_t vcpu_arch_msrs[];
extern const unsigned vcpu_arch_msr_count;
/* MSRs an engine saves only when they differ from their reset value (kvm's
 * paravirtual MSRs, ...); another engine may load them only at that value. */
struct vcpu_extra_msr {
    uint32_t index;
    uint64_t reset;
    const char *what;
};
extern const struct vcpu_extra_msr vcpu_extra_msrs[];
extern const unsigned vcpu_extra_msr_count;
const struct vcpu_extra_msr *vcpu_extra_msr(uint32_t index);

/* Writes s in the format (the caller filled it from its engine). */
void vcpu_snap_encode(const struct vcpu_snap *s, struct state_out *o);
/* Reads and checks one vCPU: -EINVAL with e naming the field when anything
 * is out of range or inconsistent, s then undefined. */
int vcpu_snap_decode(struct state_in *in, struct vcpu_snap *s, struct err *e);

/* MSR lookups in a decoded or half-filled snapshot. */
bool vcpu_snap_msr(const struct vcpu_snap *s, uint32_t index, uint64_t *value);
/* Adds or replaces; false when the list is full. */
bool vcpu_snap_set_msr(struct vcpu_snap *s, uint32_t index, uint64_t value);

/* Segments and the CPU's own struct seg_state. */
void vcpu_seg_from(struct vcpu_seg *d, const struct seg_state *s);
void vcpu_seg_to(struct seg_state *d, const struct vcpu_seg *s);

/* Little-endian fields of the FXSAVE area and the APIC page. */
static inline uint32_t snap_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void snap_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint16_t snap_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline void snap_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline uint64_t snap_get64(const uint8_t *p)
{
    return (uint64_t)snap_get32(p) | (uint64_t)snap_get32(p + 4) << 32;
}
static inline void snap_put64(uint8_t *p, uint64_t v)
{
    snap_put32(p, (uint32_t)v);
    snap_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t apic_page_get(const uint8_t *page, unsigned reg) { return snap_get32(page + reg); }
static inline void apic_page_set(uint8_t *page, unsigned reg, uint32_t v) { snap_put32(page + reg, v); }

/* The APIC timer's divide configuration as a divisor (1 to 128). */
static inline uint32_t apic_tdcr_divisor(uint32_t tdcr)
{
    uint32_t v = (tdcr & 3) | ((tdcr >> 1) & 4);
    return v == 7 ? 1 : 2u << v;
}

/* The registers the page carries and the bits of each a guest can set: the
 * rest of the page is 0 in the format. */
struct apic_reg_desc {
    uint16_t offset;
    uint32_t valid;
    const char *name;
};
extern const struct apic_reg_desc apic_page_regs[];
extern const unsigned apic_page_reg_count;

/* x86 architectural constants the checks share. */
#define VCPU_CANONICAL(a) ((uint64_t)((int64_t)((a) << 16) >> 16) == (a))

#endif
