/* The translating tier of emu (jit.c, docs/emu-jit.md): hot decoded blocks
 * of 64-bit code become host x86-64 code, chained block to block.  The
 * interpreter stays the reference: everything the translator does not
 * cover runs there, and HOSTEL_EMU_JIT=0 turns translation off. */
#ifndef HOSTEL_EMU_JIT_H
#define HOSTEL_EMU_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct emu_cpu;
struct emu_block;
struct emu_jit;
struct emu_block_cache;

/* Runs block b (just found and checked by exec.c for this RIP in this
 * epoch) as translated code, translating it once it is hot, and the
 * blocks chained after it while no event is pending and insn_count stays
 * below limit.  False: b has no translation (the interpreter runs it). */
bool emu_jit_run(struct emu_cpu *c, struct emu_block *b, uint64_t limit);

/* Makes bc's code cache now, when translation is on: vcpu_init calls it
 * before the sandbox forbids the memfd it needs on vCPU threads.  A
 * failure is remembered (the interpreter runs everything), not fatal. */
void emu_jit_prepare(struct emu_block_cache *bc);
/* The per-vCPU code cache (owned by the block cache, cache.c). */
void emu_jit_destroy(struct emu_jit *j);
/* Drops every translation (with the decoded blocks they were made from). */
void emu_jit_flush(struct emu_jit *j);

/* Translation on (1) or off (0) for the whole process, and after how many
 * runs a block is translated (0: at once, for tests); -1 keeps a value.
 * The defaults come from HOSTEL_EMU_JIT and HOSTEL_EMU_JIT_THRESHOLD. */
void emu_jit_configure(int on, int threshold);
/* Tests: make every memory access of translated code take its slow path
 * (the instruction's handler, out of line), which a warm TLB rarely does. */
void emu_jit_test_slow_paths(bool on);
/* Tests: whether a flat CPU's translated reads go straight to RAM (the
 * default; HOSTEL_EMU_JIT_FLAT=0 turns it off) or look the TLB up as a
 * machine's do (jit.c emit_flat_read). */
void emu_jit_test_flat(bool on);
/* Tests: the size of code caches made from now on (0: the default). */
void emu_jit_test_code_size(size_t bytes);
/* Tests: whether translations follow a jump back into their page (the
 * default, HOSTEL_EMU_JIT_FOLLOW=0 turns it off). */
void emu_jit_test_follow(bool on);
/* Tests: translations go on through CALL, JMP and RET (the default) or not. */
void emu_jit_test_trace(bool on);
/* Tests: instructions across a page boundary translated (the default) or not. */
void emu_jit_test_cross(bool on);
/* Tests: whether a self loop's accesses through registers it leaves alone
 * or steps use the loop slots (HOSTEL_EMU_JIT_LOOPSLOTS). */
void emu_jit_test_loop_slots(bool on);
/* Tests: entries before a translation is made again as a trace, as a
 * multiple of the threshold (-1: the default or HOSTEL_EMU_JIT_TRACE_HEAT). */
void emu_jit_test_trace_heat(int multiple);
bool emu_jit_enabled(void);

/* Counters, for statistics and tests. */
struct emu_jit_stats {
    uint64_t blocks;        /* translations made */
    uint64_t flushes;       /* times the code cache filled and was emptied */
    uint64_t code_bytes;    /* code in the cache now */
    uint64_t data_bytes;    /* its data area in use now (exit records, copies of guest code...) */
    uint64_t entries;       /* runs entered from the dispatcher */
    uint64_t links;         /* exits linked to a translation */
    uint64_t followed;      /* translations that follow a jump back (two ranges) */
    uint64_t traced;        /* translations that go on through a CALL, JMP or RET (jit_trace) */
    uint64_t jcc_followed;  /* Jccs that traces go on through (their jump, mostly taken: jcc_hints) */
    uint64_t crossed;       /* instructions across a page boundary translated (jit_cross) */
    uint64_t flat_reads;    /* reads generated straight to RAM (a flat CPU's: emit_flat_read) */
    uint64_t failed;        /* blocks left to the interpreter for good: they start with an instruction
                             * only it runs (SYSCALL...), or their code or stubs did not fit */
    uint64_t handler_calls; /* interpreter handlers translated code ran (slow paths: TLB misses, MMIO,
                             * faults; instructions without a code generator) */
};
void emu_jit_get_stats(struct emu_cpu *c, struct emu_jit_stats *s);

#endif
