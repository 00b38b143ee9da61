/* The software CPU's shared contract: architectural state, the decoded
 * instruction, and the functions the parts of emu provide each other.
 *
 * Who implements what (one job per file):
 *   decode.c        bytes -> struct emu_insn (all maps, prefixes, ModRM/SIB)
 *   cache.c         decoded blocks cached by guest physical address,
 *                   invalidated on writes to code pages
 *   exec.c          the execution loop emu_execute()
 *   alu.c, ...      integer instruction handlers; flags.c lazy flags
 *   sse.c, x87.c    SSE..SSE4.2 and x87 handlers (emu_sse_register, emu_x87_register)
 *   cpuid.c         the one CPUID table hostel advertises (docs/cpuid.md)
 *   mmu.h/mmu.c     paging, TLB, linear memory access, MMIO dispatch
 *   except.c        exception/interrupt delivery through the IDT, triple fault
 *   system.c        CR/MSR/descriptor-table/segment/privileged instructions
 *   lapic.c         the local APIC
 *   emu.c           the engine_ops for "emu": vCPU threads, HLT, kick, state
 *
 * Faults are raised with emu_raise(), which longjmps back to the execution
 * loop.  So a handler performs every access that can fault before it changes
 * any register, and RIP still points at the faulting instruction. */
#ifndef HOSTEL_EMU_CPU_H
#define HOSTEL_EMU_CPU_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/cpu_state.h"

struct vm;
struct vcpu;
struct emu_cpu;
struct emu_insn;
struct emu_lapic;

/* ---- exceptions ---------------------------------------------------------- */

enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};
#define EMU_NO_ERRCODE (-1)

/* Records the exception in cpu->exc and longjmps to cpu->jmp.  cr2 is only
 * meaningful for #PF (set cpu->cr2 through exc.cr2 at delivery). */
_Noreturn void emu_raise(struct emu_cpu *c, int vector, int errcode);
_Noreturn void emu_raise_pf(struct emu_cpu *c, uint64_t addr, uint32_t errcode);

struct emu_exception {
    int vector;          /* -1: none */
    int errcode;         /* EMU_NO_ERRCODE when the vector has none */
    uint64_t cr2;
};

/* ---- lazy flags ---------------------------------------------------------- */

/* The arithmetic flags (CF PF AF ZF SF OF) are kept as the operation that
 * produced them; flags.c computes them only when something reads them. */
enum emu_cc_op {
    CC_OP_EFLAGS = 0,    /* flags are materialized in rflags */
    CC_OP_ADD, CC_OP_ADC, CC_OP_SUB, CC_OP_SBB, CC_OP_LOGIC,
    CC_OP_INC, CC_OP_DEC, CC_OP_NEG,
    CC_OP_SHL, CC_OP_SHR, CC_OP_SAR,
    CC_OP_MUL, CC_OP_IMUL,
    CC_OP_COUNT
};

struct emu_lazy_flags {
    uint8_t op;          /* enum emu_cc_op */
    uint8_t size;        /* operand size in bytes: 1, 2, 4, 8 */
    uint64_t res, src1, src2;   /* meaning depends on op (see flags.c) */
    uint64_t aux;        /* e.g. the carry-in of ADC/SBB, CF for INC/DEC */
};

/* Full RFLAGS with the arithmetic bits computed. */
uint64_t emu_get_rflags(struct emu_cpu *c);
/* Replaces RFLAGS (all bits), leaving lazy mode. */
void emu_set_rflags(struct emu_cpu *c, uint64_t rflags);
/* Condition code 0..15 as in Jcc/SETcc/CMOVcc (low nibble of the opcode). */
bool emu_cond(struct emu_cpu *c, unsigned cc);

/* ---- architectural state ------------------------------------------------- */

typedef union {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
    int8_t sb[16];
    int16_t sw[8];
    int32_t sd[4];
    int64_t sq[2];
    float f[4];
    double df[2];
} __attribute__((aligned(16))) emu_xmm;

struct emu_x87 {
    long double st[8];       /* physical registers, st(i) = st[(top + i) & 7] */
    uint16_t fcw, fsw, ftw;  /* ftw: full 16-bit tag word (2 bits a register) */
    uint8_t top;
    uint16_t fop;
    uint64_t fip, fdp;
};

enum emu_mode {
    MODE_REAL,      /* CR0.PE = 0 */
    MODE_PROT16,    /* protected mode, CS.D = 0 */
    MODE_PROT32,    /* protected mode, CS.D = 1 */
    MODE_COMPAT,    /* long mode, CS.L = 0 */
    MODE_LONG64,    /* long mode, CS.L = 1 */
};

enum emu_run_state {
    EMU_RUNNING,
    EMU_HALTED,         /* HLT: waits for an interrupt */
    EMU_WAIT_SIPI,      /* AP after INIT: waits for a startup IPI */
};

#include "engine/emu/mmu.h"

struct emu_cpu {
    /* Hot state first. */
    uint64_t gpr[16];
    uint64_t rip;                 /* the instruction being executed */
    uint64_t next_rip;            /* set by the loop to rip + len before a handler runs;
                                   * a handler that transfers control writes the target
                                   * here (exec.c then moves it into rip).  Handlers
                                   * never add the length themselves. */
    uint64_t rflags;              /* non-arithmetic bits; all bits when lazy.op == CC_OP_EFLAGS */
    struct emu_lazy_flags lazy;
    enum emu_mode mode;
    uint8_t cpl;

    struct seg_state seg[6];      /* S_ES .. S_GS, hidden parts included */
    struct seg_state ldtr, tr;
    struct dtable_state gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t dr[8];

    /* MSRs (system.c owns the list; see docs/cpuid.md). */
    uint64_t msr_star, msr_lstar, msr_cstar, msr_sfmask, msr_kernel_gs_base;
    uint64_t msr_tsc_aux, msr_pat, msr_apic_base, msr_misc_enable;
    uint64_t msr_sysenter_cs, msr_sysenter_esp, msr_sysenter_eip;
    uint64_t msr_tsc_deadline;
    uint64_t msr_mtrr_def_type, msr_mtrr_fixed[11], msr_mtrr_var[16];   /* kept across INIT */
    bool mtrr_set;                /* false: the MTRRs read their power-on values (emu/state.c) */
    int64_t tsc_offset;           /* guest TSC = host-clock-derived TSC + offset */

    emu_xmm xmm[16];
    emu_xmm ymm_hi[16];           /* bits 255:128 of YMM0-15 (xsave.c, docs/emu-simd.md) */
    uint64_t xcr0;                /* XSETBV/XGETBV; 1 at reset */
    uint32_t mxcsr;
    struct emu_x87 x87;

    struct emu_mmu mmu;           /* TLB and paging state (mmu.h) */

    /* Execution control. */
    jmp_buf jmp;                  /* emu_raise() returns here */
    struct emu_exception exc;     /* the fault being raised */
    int exc_nesting;              /* for #DF and triple fault */
    bool irq_shadow;              /* one instruction after MOV SS / STI */
    bool nmi_blocked;             /* from NMI delivery to the next IRET (except.c) */
    enum emu_run_state state;
    _Atomic uint32_t events;      /* EMU_EV_* set from other threads: emu_post_events */
    /* The instruction count at which translated code must leave, 0 once
     * an event was posted (emu_post_events): every translation entry
     * compares with it, one check for both (jit.c). */
    _Atomic uint64_t jit_limit;
    /* What translated code may run as host SSE and AVX forms, set by
     * emu_jit_run before each entry (JIT_FP_*, jit_internal.h): CR0, CR4
     * and XCR0 change only through instructions that end translations. */
    uint8_t jit_fp_ok;
    uint64_t insn_count;          /* retired instructions (statistics, bench) */
    uint64_t jit_hcalls;          /* interpreter handlers run from translated code (jit.c) */

    struct emu_lapic *lapic;
    struct vm *vm;                /* NULL in the user-mode harness and cpu tests */
    struct vcpu *vcpu;
    int id;

    /* Hooks used outside a full machine (user-mode harness, cpu tests):
     * when set, SYSCALL calls this instead of entering the kernel. */
    void (*syscall_hook)(struct emu_cpu *c);
    void *user;
    /* Test and user-mode: emu_execute() returns with exc.vector >= 0
     * instead of delivering exceptions through the IDT, RIP at the faulting
     * instruction; INT n/INT3/INTO (traps) return with RIP after theirs,
     * once the IDT gate's DPL let them through (else #GP(vec * 8 + 2)). */
    bool exc_to_caller;
};

#define EMU_EV_IRQ     (1u << 0)   /* an interrupt may be pending: recheck */
#define EMU_EV_STOP    (1u << 1)   /* the machine is stopping */
#define EMU_EV_INIT    (1u << 2)
#define EMU_EV_SIPI    (1u << 3)
#define EMU_EV_NMI     (1u << 4)
#define EMU_EV_FLUSH   (1u << 5)   /* code cache or TLB must be flushed */
#define EMU_EV_DIRTY   (1u << 6)   /* migration: drop TLB write permissions before the
                                    * next instruction (emu_vcpu_run does it) */
#define EMU_EV_CODE    (1u << 7)   /* a device wrote RAM (DMA): check code before running it */

/* ---- decoded instructions ------------------------------------------------ */

typedef void (*emu_handler)(struct emu_cpu *c, const struct emu_insn *i);

#define PFX_LOCK   (1u << 0)
#define PFX_REP    (1u << 1)   /* F3 */
#define PFX_REPNE  (1u << 2)   /* F2 */
#define PFX_OPSIZE (1u << 3)   /* 66 */
#define PFX_ADSIZE (1u << 4)   /* 67 */
#define PFX_REX    (1u << 5)   /* a REX prefix was present (byte regs: SPL.. not AH..) */
#define PFX_SEG    (1u << 6)   /* explicit segment override */
#define PFX_VEX    (1u << 7)   /* VEX-encoded (C4/C5): pp is in REP/REPNE/OPSIZE, R X B W in rex */

enum emu_map { MAP_1 = 0, MAP_0F = 1, MAP_0F38 = 2, MAP_0F3A = 3 };

struct emu_insn {
    emu_handler fn;
    uint8_t len;          /* instruction length in bytes */
    uint8_t map;          /* enum emu_map */
    uint8_t op;           /* opcode byte within the map */
    uint8_t prefix;       /* PFX_* */
    uint8_t rex;          /* the REX byte (0 if none) */
    uint8_t opsize;       /* 2, 4 or 8: operand size for non-byte forms */
    uint8_t adsize;       /* 2, 4 or 8 */
    uint8_t seg;          /* effective segment S_* for the memory operand */
    uint8_t modrm;
    uint8_t mod;          /* 0..3; 3 = register operand */
    uint8_t reg;          /* ModRM.reg with REX.R (0..15) */
    uint8_t rm;           /* ModRM.rm with REX.B (0..15) when mod == 3 */
    uint8_t base;         /* memory operand: base register, 0xff none, 0xfe RIP */
    uint8_t index;        /* index register, 0xff none */
    uint8_t scale;        /* 0..3 */
    uint8_t kind;         /* enum emu_kind (ops.h): what the instruction does */
    int64_t disp;
    uint64_t imm;         /* first immediate (sign- or zero-extended per opcode) */
    uint64_t imm2;        /* second immediate (ENTER, far pointers); with PFX_VEX:
                           * VEX.vvvv in bits 3:0, VEX.L in bit 4 (VEX_VVVV, VEX_L) */
};

#define VEX_VVVV(i) ((unsigned)((i)->imm2 & 15))
#define VEX_L(i)    ((unsigned)(((i)->imm2 >> 4) & 1))
#define VEX_W(i)    (((i)->rex & 8) != 0)

/* Linear address of the memory operand (segment base added, address-size
 * wrap and, outside 64-bit mode, limit checks for len bytes). */
uint64_t emu_ea(struct emu_cpu *c, const struct emu_insn *i);
uint64_t emu_linear(struct emu_cpu *c, int seg, uint64_t offset, unsigned len, bool write);

/* Decodes one instruction from fetched bytes.  Returns its length, or
 * raises #UD / #GP (length over 15) through emu_raise.  fetch() reads code
 * bytes at linear addresses (faults raise #PF). */
int emu_decode(struct emu_cpu *c, uint64_t rip, struct emu_insn *out);

/* Handler tables, by map and opcode byte.  Prefix-selected forms (66/F2/F3)
 * are told apart inside the handler.  NULL entries are #UD. */
extern emu_handler emu_ops[4][256];
/* VEX-encoded instructions (maps 0F, 0F38, 0F3A; MAP_1 unused).  NULL is #UD. */
extern emu_handler emu_vex_ops[4][256];
void emu_bmi_register(void);    /* ops_bmi.c: BMI1/BMI2 (VEX) and TZCNT */
void emu_sse_register(void);    /* sse.c: fills the SSE entries of emu_ops */
void emu_x87_register(void);    /* x87.c: fills D8..DF */
void emu_system_register(void); /* system.c: fills the privileged/system entries */
void emu_ops_init(void);        /* exec.c: fills everything, once (calls the three above) */

/* xsave.c: the XSAVE feature set.  0F AE /4 /5 /6 (XSAVE, XRSTOR, XSAVEOPT),
 * 0F C7 /4 (XSAVEC), 0F 01 D0/D1 (XGETBV, XSETBV); the XCR0 bits this CPU
 * accepts (CPUID 0xD.0). */
void emu_xsave_0fae(struct emu_cpu *c, const struct emu_insn *i);
void emu_xsavec(struct emu_cpu *c, const struct emu_insn *i);
void emu_xgetbv(struct emu_cpu *c);
void emu_xsetbv(struct emu_cpu *c);
uint64_t emu_xcr0_supported(struct emu_cpu *c);

/* ---- execution ----------------------------------------------------------- */

/* Runs up to max_insns instructions (fewer when an event needs attention:
 * HLT, a pending interrupt, EMU_EV_STOP).  Exceptions raised inside are
 * delivered through the IDT (emu_deliver_exception).  Returns the number of
 * instructions executed. */
uint64_t emu_execute(struct emu_cpu *c, uint64_t max_insns);

/* except.c: deliver a pending exception or an external interrupt vector
 * through the IDT (real-mode IVT, protected-mode and long-mode gates, IST,
 * stack switch on privilege change).  Faults while delivering escalate to
 * #DF, then to a triple fault (vm_request_stop). */
void emu_deliver_exception(struct emu_cpu *c, int vector, int errcode, bool is_soft_int,
                           uint64_t next_rip);
/* Checks LAPIC/PIC for a deliverable interrupt (IF=1, no shadow) and delivers it. */
bool emu_check_interrupts(struct emu_cpu *c);

/* Recomputes c->mode from CR0/EFER/CS (after mode-changing instructions). */
void emu_update_mode(struct emu_cpu *c);

/* Reset state (power-on / INIT) and conversion to/from struct cpu_state. */
void emu_cpu_reset(struct emu_cpu *c);
void emu_cpu_get_state(const struct emu_cpu *c, struct cpu_state *s);
void emu_cpu_set_state(struct emu_cpu *c, const struct cpu_state *s);

/* cpuid.c */
void emu_cpuid(struct emu_cpu *c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* Guest TSC now. */
uint64_t emu_rdtsc(struct emu_cpu *c);
#define EMU_TSC_HZ 2000000000ULL   /* advertised in CPUID 0x15/0x16 */

/* Register access helpers for handlers. */
/* Posts events to c (from any thread): translated code running on c
 * leaves at its next entry check (jit_limit), the dispatcher acts. */
static inline void emu_post_events(struct emu_cpu *c, uint32_t events)
{
    atomic_fetch_or(&c->events, events);
    atomic_store(&c->jit_limit, 0);
}

static inline uint64_t emu_size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* A 64-bit address is canonical when bits 63-47 are all equal (4-level paging). */
static inline bool emu_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

#endif
