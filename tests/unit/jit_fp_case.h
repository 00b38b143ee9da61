/* The shared half of test_sse_state_checked (test_emu_jit.c) and
 * test_avx_state_checked (test_emu_jit_vex.c): their code is
 * "mov eax, 5; <vector form>; inc eax; ud2" at `code`, translated while
 * the form was usable.  fp_case runs it again from the start with the
 * CR0/CR4/XCR0 the caller set: with vector >= 0 the form faults with it,
 * RIP at the form (code + 5), the MOV before it retired; with -1 it runs
 * to the UD2 at `ud2`. */
#ifndef HOSTEL_JIT_FP_CASE_H
#define HOSTEL_JIT_FP_CASE_H

#include "check.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"

/* The first run (set up by the caller, translated at once): to the UD2;
 * returns the translations' entries so far. */
static uint64_t fp_first_run(struct emu_cpu *c)
{
    emu_execute(c, 100);
    CHECK_EQ(c->exc.vector, EXC_UD);
    CHECK_EQ(c->gpr[R_RAX], 6);
    struct emu_jit_stats st;
    emu_jit_get_stats(c, &st);
    CHECK(st.blocks >= 1);
    return st.entries;
}

/* After the cases: the same translation ran again. */
static void fp_ran_again(struct emu_cpu *c, uint64_t entries)
{
    struct emu_jit_stats st;
    emu_jit_get_stats(c, &st);
    CHECK(st.entries > entries);
}

static void fp_case(struct emu_cpu *c, uint64_t code, int vector, uint64_t ud2)
{
    c->rip = code;
    c->gpr[R_RAX] = 0;
    c->insn_count = 0;
    c->exc.vector = 0;
    emu_execute(c, 100);
    if (vector >= 0) {
        CHECK_EQ(c->exc.vector, vector);
        CHECK_EQ(c->rip, code + 5);
        CHECK_EQ(c->gpr[R_RAX], 5);
        CHECK_EQ(c->insn_count, 1);
    } else {   /* usable again: the translation runs to the end */
        CHECK_EQ(c->exc.vector, EXC_UD);
        CHECK_EQ(c->rip, ud2);
        CHECK_EQ(c->gpr[R_RAX], 6);
    }
}

#endif
