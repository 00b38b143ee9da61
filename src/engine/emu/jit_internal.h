/* What jit.c lends the translator's other generators (jit_vex.c): the
 * steps of one instruction's code (registers, the memory operand, the
 * out-of-line handler path, flags), by name, over jit.c's private
 * context.  docs/emu-jit.md says how an instruction is generated. */
#ifndef HOSTEL_EMU_JIT_INTERNAL_H
#define HOSTEL_EMU_JIT_INTERNAL_H

#include <stdbool.h>

#include "engine/emu/cpu.h"
#include "engine/emu/x86emit.h"

struct jctx;

/* Host registers while translated code runs (jit.c): RBP the CPU; RAX,
 * RCX, RDX and XMM/YMM0-2 are free within one instruction; YMM3-15 keep
 * guest vector registers from form to form (jit_yv), and anything else
 * that uses them makes jit.c forget them (vec_keeps). */
#define JIT_RCPU XBP

/* c->jit_fp_ok: SSE forms as host instructions (CR0.EM and TS clear,
 * CR4.OSFXSR set); AVX forms too (and CR4.OSXSAVE, XCR0 SSE and AVX);
 * x87 control forms (CR0.EM and TS clear: FNSTCW). */
#define JIT_FP_SSE 1
#define JIT_FP_AVX 2
#define JIT_FP_X87 4
#define OFF_JIT_FP_OK ((int32_t)offsetof(struct emu_cpu, jit_fp_ok))
uint8_t jit_fp_state(const struct emu_cpu *c);

struct xbuf *jit_buf(struct jctx *t);
/* An environment switch set to 0, off or no (HOSTEL_EMU_JIT_*). */
bool jit_env_off(const char *name);
/* Guest register g in a host register (loaded when load is set); call
 * every jit_gpr of an instruction before its jit_mem_lookup. */
int jit_gpr(struct jctx *t, unsigned g, bool load);
void jit_gpr_written(struct jctx *t, unsigned g);
/* RCX = the linear address of i's memory operand. */
void jit_mem_addr(struct jctx *t, const struct emu_insn *i);
/* RCX (linear) becomes the host address of size bytes, or a TLB miss,
 * MMIO, code page or fault runs the instruction's handler out of line. */
void jit_mem_lookup(struct jctx *t, unsigned size, bool write);
/* Host condition cc (Jcc's low nibble) runs the instruction's handler
 * out of line, then continues after it. */
void jit_slow_if(struct jctx *t, unsigned cc);
/* ... runs it out of line and leaves the translation after it. */
void jit_leave_if(struct jctx *t, unsigned cc);

/* Does anyone read the flags this instruction writes? */
bool jit_flags_live(struct jctx *t);
/* EAX = the arithmetic flags, every other bit 0: stored as the guest's. */
void jit_flags_store(struct jctx *t);
/* The end of a generated instruction (host flags clobbered). */
void jit_insn_end(struct jctx *t, bool wrote_flags);
/* Before a host floating-point instruction and its memory operand's
 * lookup: the check that the guest's MXCSR controls are the host's
 * (0x1f80), once per translation until a handler runs on its main path;
 * other controls run the handler out of line and leave.  RAX and the
 * host flags clobbered, RCX kept.  The flags the form raises stay in the
 * host's MXCSR until the way to C (jit.c, emit_mx_merge). */
void jit_mxcsr_enter(struct jctx *t);
/* A 256-bit form left host YMM bits 255:128 set: jit.c puts the
 * VZEROUPPER before the next non-VEX form, C or exit. */
void jit_ymm_used(struct jctx *t);
/* Host vector registers holding guest YMM registers whole (jit_vex.c's
 * y_load and y_store keep them, writing through to struct emu_cpu):
 * jit_y0, the guest register host YMM0 holds, or -1; jit_yv, a bit per
 * guest register 0-12 that host YMM 3 + g holds.  jit.c forgets them
 * before anything but a VEX or general-register form, at C on the main
 * path, a VZEROUPPER and a loop head; a stub that resumes after C loads
 * them again (jit_vec_reload: y0, yv as at the resume point; all 256
 * bits when dirty, else the low 128 zero-extended). */
int8_t *jit_y0(struct jctx *t);
uint16_t *jit_yv(struct jctx *t);
void jit_vec_reload(struct xbuf *b, int8_t y0, uint16_t yv, bool dirty);
/* Per translation: the AVX state check is done (jit_vex.c). */
bool *jit_vex_checked(struct jctx *t);

/* jit_vex.c: VEX (AVX/AVX2, BMI1/BMI2) forms and TZCNT LZCNT POPCNT MOVBE
 * as host instructions; false: not generated (nothing emitted), the
 * caller runs the handler. */
bool jit_vex_emit(struct jctx *t, const struct emu_insn *i);

#endif
