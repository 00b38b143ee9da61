/* The system level of the software CPU, shared by except.c, system.c and
 * sys_*.c: descriptor tables, segment loads, far transfers, stacks.  The
 * first block is what emu-core's handlers call (FF /3 and FF /5). */
#ifndef HOSTEL_EMU_SYSTEM_H
#define HOSTEL_EMU_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/emu/cpu.h"

/* ---- for emu-core ------------------------------------------------------- */

/* Far JMP / far CALL to sel:off (FF /5, FF /3 with the pointer read from
 * memory; EA and 9A here).  opsize is the instruction's operand size (2, 4
 * or 8): the size of the return address a far call pushes.  next_rip is the
 * address of the following instruction.  Sets RIP (and CS, mode, CPL); raises
 * #GP/#NP/#SS like hardware without changing state. */
void emu_far_jmp(struct emu_cpu *c, uint16_t sel, uint64_t off);
void emu_far_call(struct emu_cpu *c, uint16_t sel, uint64_t off, unsigned opsize,
                  uint64_t next_rip);

/* MOV/POP to a data segment register or SS with every protected-mode check
 * (real mode: base = sel << 4).  Raises #GP/#NP/#SS with the selector. */
void emu_load_seg(struct emu_cpu *c, int seg, uint16_t sel);

/* ---- inside the system level ------------------------------------------- */

#define SYS_CANONICAL(a) emu_canonical(a)

/* Descriptor types (s = 0). */
#define DESC_LDT          0x2
#define DESC_TSS16_AVAIL  0x1
#define DESC_TSS_AVAIL    0x9
#define DESC_TSS_BUSY     0xb
#define DESC_CALL_GATE    0xc
#define DESC_INT_GATE     0xe
#define DESC_TRAP_GATE    0xf

static inline bool seg_is_code(const struct seg_state *s) { return s->s && (s->type & 8); }

/* The error code of a selector fault (EXT = 0). */
static inline int sel_err(uint16_t sel) { return sel & 0xfffc; }

/* Reads the 8-byte descriptor of sel from the GDT or LDT (supervisor access).
 * Raises #GP(sel) (or fault_vec) when outside the table's limit. */
uint64_t sys_read_desc(struct emu_cpu *c, uint16_t sel, int fault_vec);
/* The high 8 bytes of a 16-byte system descriptor in long mode. */
uint64_t sys_read_desc_hi(struct emu_cpu *c, uint16_t sel, int fault_vec);
void sys_desc_to_seg(uint64_t d, uint16_t sel, struct seg_state *s);
/* Sets the accessed bit (type bit 0) of a code/data descriptor in the table. */
void sys_set_accessed(struct emu_cpu *c, uint16_t sel, uint64_t d);

/* Memory accesses as the CPU's own implicit supervisor accesses (descriptor
 * tables, TSS, the stack of an interrupt going to CPL 0) even at CPL 3. */
uint64_t sys_read_sup(struct emu_cpu *c, uint64_t la, unsigned size);
void sys_write_sup(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t val);

/* Loads CS from a checked descriptor with the given CPL, recomputes the mode. */
void sys_load_cs(struct emu_cpu *c, uint16_t sel, uint64_t desc, int cpl);
/* Null segment (64-bit mode, or DS/ES/FS/GS anywhere). */
void sys_null_seg(struct seg_state *s, uint16_t sel);
/* Real-mode and virtual-8086 style load: base = sel << 4. */
void sys_real_seg(struct emu_cpu *c, int seg, uint16_t sel);
/* After a return to an outer level: data segments the new CPL may not use
 * become null (SDM RET/IRET). */
void sys_null_inaccessible(struct emu_cpu *c);

/* The task state segment: stack pointer for a CPL (RSP0..2) or IST1..7. */
uint64_t sys_tss_rsp(struct emu_cpu *c, int cpl);
uint64_t sys_tss_ist(struct emu_cpu *c, int ist);
/* 32-bit TSS: SS:ESP for a CPL. */
void sys_tss32_stack(struct emu_cpu *c, int cpl, uint16_t *ss, uint32_t *esp);

/* Stack helpers on the current SS (address size from mode / SS.B). */
unsigned sys_stack_size(struct emu_cpu *c);        /* 2, 4 or 8: width of rSP */
uint64_t sys_sp(struct emu_cpu *c);
void sys_set_sp(struct emu_cpu *c, uint64_t sp);
void sys_push(struct emu_cpu *c, unsigned size, uint64_t val);
uint64_t sys_pop(struct emu_cpu *c, unsigned size);
/* Reads at rSP + off without popping. */
uint64_t sys_peek(struct emu_cpu *c, uint64_t off, unsigned size);

/* Register access by operand size (32-bit writes zero-extend). */
static inline uint64_t sys_get_reg(struct emu_cpu *c, int r, unsigned size)
{
    return c->gpr[r] & emu_size_mask(size);
}

static inline void sys_set_reg(struct emu_cpu *c, int r, unsigned size, uint64_t v)
{
    if (size >= 4)
        c->gpr[r] = size == 4 ? (uint32_t)v : v;
    else
        c->gpr[r] = (c->gpr[r] & ~emu_size_mask(size)) | (v & emu_size_mask(size));
}

/* ModRM r/m operand (register or memory). */
uint64_t sys_read_rm(struct emu_cpu *c, const struct emu_insn *i, unsigned size);
void sys_write_rm(struct emu_cpu *c, const struct emu_insn *i, unsigned size, uint64_t v);

/* Handlers follow emu-core's convention (ops.h): the loop sets
 * c->next_rip = rip + len before a handler runs and moves it into rip after;
 * a control transfer writes c->next_rip.  Delivery (except.c) sets c->rip
 * directly, so a handler that delivers copies it back to c->next_rip. */

/* Privilege checks. */
static inline void sys_require_cpl0(struct emu_cpu *c)
{
    if (c->cpl != 0)
        emu_raise(c, EXC_GP, 0);
}
static inline unsigned sys_iopl(struct emu_cpu *c) { return (c->rflags >> 12) & 3; }

/* Flags the CPU itself writes (POPF, IRET): applies a popped value with the
 * rules of the current CPL and IOPL.  size is the operand size. */
void sys_write_flags(struct emu_cpu *c, uint64_t val, unsigned size, bool iret);

/* Marks that decoded code must be dropped (mode or paging changes). */
void sys_mode_changed(struct emu_cpu *c);

/* Register functions for the tables (system.c calls them). */
void emu_sys_seg_register(void);
void emu_sys_msr_register(void);
void emu_sys_io_register(void);

/* MSR access (also for the state save path); -1 for an unknown MSR. */
int emu_rdmsr(struct emu_cpu *c, uint32_t msr, uint64_t *val);
int emu_wrmsr(struct emu_cpu *c, uint32_t msr, uint64_t val);

/* INT n, INT3, INTO: delivers vec as a software interrupt returning to the
 * next instruction, or with c->exc_to_caller hands it to the caller (except.c). */
void emu_soft_interrupt(struct emu_cpu *c, int vec);

/* Reports a triple fault: the CPU shuts down (halted, IF clear) and
 * c->exc.vector is EMU_EXC_TRIPLE; with a machine, it is asked to stop with
 * VM_STOP_TRIPLE_FAULT. */
#define EMU_EXC_TRIPLE 256
void sys_triple_fault(struct emu_cpu *c);

#define RFLAGS_IOPL  (3ULL << 12)
#define RFLAGS_NT    (1ULL << 14)
#define RFLAGS_RF    (1ULL << 16)
#define RFLAGS_VM    (1ULL << 17)
#define RFLAGS_VIF   (1ULL << 19)
#define RFLAGS_VIP   (1ULL << 20)

#endif
