/* The translating tier of emu: decoded blocks of 64-bit code become host
 * x86-64 code, emitted directly (x86emit.h) into a per-vCPU code cache.
 * docs/emu-jit.md has the design and the invariants; in short:
 *
 *  - Guest state stays in struct emu_cpu.  Inside a block, guest registers
 *    are cached in host registers (rbx r12 rsi rdi r8-r11) and written
 *    back before anything that can fault or leave; rbp holds the CPU, r15
 *    the retired-instruction count, [rsp] the instruction limit.
 *  - Memory accesses look up emu's TLB inline; a miss, MMIO, a store into
 *    a page holding code or any fault runs the instruction's interpreter
 *    handler from an out-of-line stub, after writing back every register,
 *    the flags, RIP and the instruction count: faults are precise by
 *    construction, and a store into code leaves the block after it.
 *  - Instructions without a code generator run their interpreter handler
 *    the same way, inline; system instructions (HLT, I/O, CR/MSR, far
 *    transfers, ...) are never translated: a block ends before them.
 *  - Every block entry checks pending events and the instruction budget,
 *    then, entered in a new epoch (cache.h: a store into code, an event, a
 *    device's DMA, CPUID...), compares its block's bytes with RAM once
 *    (jit_verify) and leaves if they changed.  Exits chain to translated
 *    successors through a record in the data area that holds while the
 *    map epoch it was made in lasts (no TLB flush: the same RIP still
 *    fetches from the same physical page); the jump cache for indirect
 *    transfers is kept by the same rule.
 *  - A hot translation that ends in a direct CALL or JMP is made again as
 *    a trace that goes on at the target, through further CALLs, JMPs and
 *    the RETs of its CALLs, into other pages (jit_trace); their bytes
 *    are compared as the block's are, their mapping in each map epoch.
 *  - Code is written through one mapping of a memfd and run through
 *    another (W^X); when the cache is full everything is dropped. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/emu/alu.h"
#include "engine/emu/cache.h"
#include "engine/emu/jit_internal.h"
#include "engine/emu/jit.h"
#include "engine/emu/x86emit.h"
#include "engine/emu/x86emit_vex.h"

#define JIT_CODE_SIZE (128u << 20)   /* per vCPU (a distribution boot fills 32 MiB); the data area is half as big */
#define JIT_BLOCK_ROOM (32u << 10)     /* most code one block may need */
#define JIT_MAX_STUBS 512           /* a stack access has two (emit_tlb_stack) */
#define JIT_MAX_INSNS 128           /* instructions in one translation (a trace's; a block has 64 at most) */
_Static_assert(JIT_MAX_INSNS >= EMU_BLOCK_MAX_INSNS, "a block fits a translation");
#define JIT_MAX_GROUPS 32           /* stack groups (emit_stack_group) in one translation */
#define JIT_FOLLOW_BYTES 256         /* most bytes a followed jump decodes */
#define JIT_FOLLOW_INSNS 24          /* most instructions it adds */
#define JIT_MAX_RANGES 16            /* code ranges a trace adds to its block (jit_trace) */
#define JIT_RANGE_BYTES 1024         /* most bytes one of them decodes */
_Static_assert(JIT_FOLLOW_BYTES <= JIT_RANGE_BYTES, "a followed jump's copy is range 0's");

/* ---- configuration ----------------------------------------------------------- */

static int cfg_on = -1;            /* -1: not read from the environment yet */
static int cfg_threshold = 64;   /* see docs/emu-jit.md: fewer translations of code run a few times */
/* Debugging: HOSTEL_EMU_JIT_KINDS=MASK (hex, bit per enum emu_kind) limits
 * code generation to those kinds; the others run by their handlers. */
static uint64_t cfg_kinds = ~0ULL;
/* Tests: every inline TLB lookup misses, so each memory access runs the
 * out-of-line path (the instruction's handler). */
static bool cfg_all_slow;
/* Debugging: HOSTEL_EMU_JIT_DUMP=PREFIX writes PREFIX.idx (code offset,
 * guest RIP, instructions of every translation) as it goes and PREFIX.bin
 * (the code cache) when a vCPU's cache is destroyed; perf reports offsets
 * into the memfd, which are offsets into PREFIX.bin. */
static const char *cfg_dump;
/* With HOSTEL_EMU_JIT_DUMP: how often each opcode ran through its handler
 * from translated code (printed at exit to PREFIX.interp). */
static uint64_t dump_interp[4][256][8];

static void dump_interp_print(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s.interp", cfg_dump);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    for (int m = 0; m < 4; m++)
        for (int o = 0; o < 256; o++)
            for (int g = 0; g < 8; g++)
                if (dump_interp[m][o][g])
                    fprintf(f, "%llu map %d op %02x /%d\n", (unsigned long long)dump_interp[m][o][g], m, o, g);
    fclose(f);
}
static size_t cfg_code_size = JIT_CODE_SIZE;
/* HOSTEL_EMU_JIT_FOLLOW=0 (debugging, measuring): translations do not
 * follow a jump back into their page (jit_follow). */
static bool cfg_follow = true;
/* HOSTEL_EMU_JIT_STACK=0: RSP-based accesses look the TLB up like any
 * other (no stack page, emit_tlb_stack). */
static bool cfg_stack = true;
/* HOSTEL_EMU_JIT_TLS=0: FS-based accesses look the TLB up like any other
 * (no TLS page: emit_tlb). */
static bool cfg_tls = true;
/* HOSTEL_EMU_JIT_TRACE=0 (debugging, measuring): a translation ends at
 * every CALL, JMP and RET instead of going on at its target (jit_trace). */
static bool cfg_trace = true;
/* HOSTEL_EMU_JIT_CROSS=0 (debugging, measuring): a translation ends
 * before an instruction across a page boundary (jit_cross). */
static bool cfg_cross = true;
/* HOSTEL_EMU_JIT_LOOPSLOTS=0 (debugging, measuring): a self loop's
 * accesses look the TLB up like any other (no loop slots, loop_site). */
static bool cfg_loopslots = true;
/* HOSTEL_EMU_JIT_FLAT=0 (debugging, measuring): reads of a flat CPU look
 * the TLB up like any other (emit_flat_read). */
static bool cfg_flat = true;

/* An environment switch set to 0, off or no. */
bool jit_env_off(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no"));
}

static void cfg_init(void)
{
    if (cfg_on >= 0)
        return;
    /* On unless HOSTEL_EMU_JIT=0 (or off, no): the interpreter alone, for
     * differential debugging. */
    cfg_on = !jit_env_off("HOSTEL_EMU_JIT");
    const char *t = getenv("HOSTEL_EMU_JIT_THRESHOLD");
    if (t && *t)
        cfg_threshold = atoi(t) < 0 ? 0 : atoi(t);
    cfg_dump = getenv("HOSTEL_EMU_JIT_DUMP");
    if (cfg_dump)
        atexit(dump_interp_print);
    const char *k = getenv("HOSTEL_EMU_JIT_KINDS");
    if (k && *k)
        cfg_kinds = strtoull(k, NULL, 16);
    cfg_follow = !jit_env_off("HOSTEL_EMU_JIT_FOLLOW");
    cfg_stack = !jit_env_off("HOSTEL_EMU_JIT_STACK");
    cfg_trace = !jit_env_off("HOSTEL_EMU_JIT_TRACE");
    cfg_cross = !jit_env_off("HOSTEL_EMU_JIT_CROSS");
    cfg_loopslots = !jit_env_off("HOSTEL_EMU_JIT_LOOPSLOTS");
    cfg_tls = !jit_env_off("HOSTEL_EMU_JIT_TLS");
    cfg_flat = !jit_env_off("HOSTEL_EMU_JIT_FLAT");
}

void emu_jit_test_follow(bool on)
{
    cfg_init();
    cfg_follow = on;
}

void emu_jit_test_trace(bool on)
{
    cfg_init();
    cfg_trace = on;
}

void emu_jit_test_cross(bool on)
{
    cfg_init();
    cfg_cross = on;
}

void emu_jit_test_loop_slots(bool on)
{
    cfg_init();
    cfg_loopslots = on;
}

void emu_jit_test_slow_paths(bool on)
{
    cfg_all_slow = on;
}

void emu_jit_test_flat(bool on)
{
    cfg_init();
    cfg_flat = on;
}

void emu_jit_test_code_size(size_t bytes)
{
    cfg_code_size = bytes ? (bytes + 4095) & ~(size_t)4095 : JIT_CODE_SIZE;
}

void emu_jit_configure(int on, int threshold)
{
    cfg_init();
    if (on >= 0)
        cfg_on = on;
    if (threshold >= 0)
        cfg_threshold = threshold;
}

bool emu_jit_enabled(void)
{
    cfg_init();
    return cfg_on > 0;
}

/* ---- the code cache ------------------------------------------------------------ */

/* JX_HANDLER: the exit after a handler call that moved RIP, one record
 * per translation for all of them (a handler raises #GP at a transfer to
 * a non-canonical address itself: nothing to undo, unlike JX_DYNAMIC). */
enum { JX_NONE, JX_STATIC, JX_DYNAMIC, JX_HANDLER };

struct jctx;

/* A Jcc side exit a translation counts while it counts heat. */
struct jit_jcc {
    uint64_t rip;             /* the Jcc's */
    uint32_t taken;
};

/* One translation of a block, for one guest RIP and privilege level, in
 * the data area.  Its entry checks that the block still holds the bytes
 * it was made from, compared once an epoch (cache.h). */
struct jit_block_data {
    uint64_t rip;             /* guest RIP of its first instruction */
    uint64_t code;            /* executable address of its entry */
    uint64_t fast;            /* of its entry past the epoch compare: for links (jit_exit.epochs) */
    struct emu_block *blk;
    struct jit_block_data *next;   /* the block's other translations */
    uint32_t verified;        /* the epoch in which the bytes were last compared */
    /* A trace (jit_trace): the map epoch in which its ranges' linear
     * addresses were last seen to fetch from them (jit_same_map); right
     * after verified, as the CPU's map epoch is after its epoch, so that
     * a trace's entry compares both at once. */
    uint32_t map_epoch;
    uint8_t cpl;
    uint8_t ninsn;            /* instructions it runs at most (traces of one block differ) */
    /* The other ranges of guest code it was made from: a followed jump's
     * one (jit_follow, in blk's page) or a trace's (jit_trace, anywhere),
     * compared with their copies whenever blk's bytes are. */
    uint8_t nx;
    struct jit_range *x;
    /* A trace's ranges may lie in other pages than blk's: where their
     * linear addresses fetch from is checked in each map epoch. */
    bool remote;
    /* Not a trace, but it ends in a CALL or JMP one could follow: its
     * entry counts heat down, and at 0 it leaves for the dispatcher to
     * translate it again as a trace (emu_jit_run). */
    bool retrace;
    int32_t heat;
    /* While it counts heat: the Jccs whose side exit it has (emit_jcc),
     * in instruction order, and how often each was taken (jcc_hints). */
    struct jit_jcc *jcc;
    uint8_t njcc, jcc_cap;
    bool loops;   /* a self loop: its runs are its entries, not its trips */
};

/* Jccs that jumped in most runs of a translation while it counted heat
 * (jcc_hints): a trace goes on at their target and leaves when they do
 * not jump (jit_trace), so that the path run most stays in one
 * translation (awk took 8 million side exits per MiB of input, 7.3
 * million of them at Jccs that jumped in more than half of their runs).
 * By guest RIP, one direct-mapped table per code cache: a stale or
 * colliding hint only makes a slower trace, never a wrong one. */
#define JIT_HINTS 4096
#define JIT_MAX_PER_BLOCK 8   /* translations a block keeps findable */

/* A range of guest code a translation went on in after a followed jump
 * (jit_follow) or CALL, JMP or RET (jit_trace): compared with its copy
 * whenever the block's bytes are, its page marked as code as the block's
 * is. */
struct jit_range {
    uint64_t la;              /* linear address of its first byte */
    uint64_t pa;              /* and physical */
    const uint8_t *host;      /* the range in guest RAM */
    const uint8_t *bytes;     /* the copy translated (data area) */
    uint16_t n;
};

/* An exit of a translated block, in the data area (the code reaches it
 * RIP-relative).  The code jumps to target when the guest goes to rip and
 * the epoch and map epoch are still the ones the link was made in. */
struct jit_exit {
    uint64_t target;          /* executable address: a linked translation's fast entry, or the exit path */
    uint64_t rip;             /* JX_STATIC: where it goes; else the last link's RIP */
    /* The CPU's epoch and map epoch (OFF_EPOCH, as one word) when it was
     * linked: while they are the same, the target's bytes are the ones it
     * was translated from and its RIP fetches them, so the link goes past
     * the target's own epoch compare (jit_block_data.fast). */
    uint64_t epochs;
    struct jit_block_data *to;   /* JX_STATIC: the translation linked, NULL: none yet (relink) */
    uint8_t kind;             /* JX_* */
    uint8_t cpl;              /* privilege level of the code it leaves */
    int8_t sp_moved;          /* JX_DYNAMIC: what the transfer added to RSP (RET 8, CALL -8) */
    struct emu_block *src;    /* the block it leaves (successor hints, exec.c) */
    uint64_t from;            /* JX_DYNAMIC: the transfer's RIP */
};

/* The jump cache: translations by guest RIP for indirect transfers (RET,
 * JMP/CALL through a register or memory), one table per privilege level
 * (user, supervisor).  An entry holds while its epoch is the CPU's map
 * epoch: entries of several address spaces (PCID slots, mmu.c) live side
 * by side, and a CR3 switch back to one finds its entries again. */
#define JC_BITS 12
#define JC_SIZE (1u << JC_BITS)
#define JC_SHIFT 5                /* log2 of the entry size */
struct jc_entry {
    uint64_t rip;
    uint64_t code;            /* executable address of the translation */
    uint32_t epoch;           /* map epoch it was made in; odd: empty */
    uint32_t pad[3];
};
_Static_assert(sizeof(struct jc_entry) == 1u << JC_SHIFT, "jump cache index arithmetic");
struct jump_cache {
    struct jc_entry e[2][JC_SIZE];   /* [user][index] */
};

/* Empties the jump cache (a new code cache generation). */
static void jc_clear(struct jump_cache *jc)
{
    for (int u = 0; u < 2; u++)
        for (unsigned k = 0; k < JC_SIZE; k++)
            jc->e[u][k] = (struct jc_entry){ .epoch = 1 };
}

/* The index: the top JC_BITS bits of the low 32 bits of RIP times an odd
 * constant (Fibonacci hashing).  It was the low bits of RIP ^ RIP >> 12,
 * where two return addresses of one RET in busybox awk (0x568108 and
 * 0x566106: 0x108 ^ 0x568 == 0x106 ^ 0x566) took the same entry in turn
 * and sent every return to the dispatcher (test_jump_cache_spread). */
#define JC_MUL 0x9e3779b1u
static inline unsigned jc_index(uint64_t rip)
{
    return ((uint32_t)rip * JC_MUL) >> (32 - JC_BITS);
}

struct emu_jit {
    uint8_t *rx, *rw, *data;  /* code: executable view, writable view; data */
    struct jump_cache *jc;    /* at the start of the data area */
    size_t code_size, data_size;
    intptr_t delta;           /* rx - rw */
    size_t code_base, code_used, data_used;
    size_t populated;         /* code cache bytes mapped ahead (code_populate) */
    uint64_t exit_common;     /* rx address: back to C */
    uint64_t exit_rip;        /* rx address: the same, RIP first set from the record's */
    uint64_t relink;          /* rx address: a static exit whose link's epochs do not hold */
    uint64_t set_cf;          /* rx address: emit_set_cf_routine */
    uint64_t tlb_way1[2][2][2];   /* rx addresses: emit_tlb_way1_routines, [user][write][tag in RDX] */
    uint64_t reset_slots;     /* rx address: emit_reset_slots_routine */
    uint64_t hcall[2];        /* rx addresses: emit_hcall_routine, [user] */
    uint64_t dyn_exit[2];     /* rx addresses: emit_dyn_exit_routines, [user] */
    uint64_t dyn_miss[2];     /* their ends: back to C */
    uint64_t (*enter)(struct emu_cpu *c, uint64_t code);
    uint32_t gen;             /* translations of older generations are gone */
    struct jit_exit *pending; /* the exit taken last, to be linked */
    uint64_t pending_rip;
    int memfd;
    bool all_slow;            /* made under emu_jit_test_slow_paths */
    bool flat;                /* made with cfg_flat (emu_jit_test_flat) */
    struct emu_jit_stats st;
    struct jctx *ctx;         /* translation scratch */
    uint64_t hints[JIT_HINTS];   /* RIPs of Jccs that mostly jump (0: none) */
};

static void *jit_data_alloc(struct emu_jit *j, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (j->data_used + size > j->data_size)
        return NULL;
    void *p = j->data + j->data_used;
    j->data_used += size;
    /* After a flush the area holds what the last generation left there:
     * every record starts from zeros, whatever fields its maker sets. */
    memset(p, 0, size);
    return p;
}

/* Host register conventions of translated code. */
#define RCPU XBP          /* struct emu_cpu * */
#define RCOUNT X15        /* c->insn_count while translated code runs */
#define SLOT_TMP 8        /* [rsp + 8]: a scratch byte (CF across a TLB lookup) */
#define SLOT_TAG 16       /* [rsp + 16]: EMU_TLB_VALID | mmu.tlb_slot, for TLB tags */
/* [rsp + 24..55]: the stack page (emit_tlb_stack): the page and addend
 * of the last RSP-based read (SLOT_STK_R) and write (SLOT_STK_W) that hit
 * the TLB, or SLOT_NO_PAGE after entry and after every handler call. */
#define SLOT_STK_R 24
#define SLOT_STK_W 40
/* [rsp + 56..183]: the loop slots (loop_site): as the stack page, for
 * accesses of a self loop's body through registers it does not change or
 * steps by constants; JIT_LOOP_SLOTS read sites', then as many write
 * sites', in the order the translation has them. */
#define SLOT_LOOP 56
#define JIT_LOOP_SLOTS 4
#define SLOT_LOOP_R(i) (SLOT_LOOP + 16 * (i))
#define SLOT_LOOP_W(i) (SLOT_LOOP + 16 * (JIT_LOOP_SLOTS + (i)))
/* [rsp + 184..215]: the TLS page: the page and addend of the last
 * FS-based read and write that hit the TLB (a user program's thread-local
 * data: malloc's tcache, errno), as the stack page's (emit_tlb). */
#define SLOT_TLS_R (SLOT_LOOP + 32 * JIT_LOOP_SLOTS)
#define SLOT_TLS_W (SLOT_TLS_R + 16)
#define FRAME_SLOTS (SLOT_TLS_W + 16)   /* bytes of slots under the saved registers (8 mod 16: RSP stays aligned) */
_Static_assert(FRAME_SLOTS % 16 == 8, "RSP stays 16-aligned for calls from translated code");
_Static_assert(SLOT_TLS_W < 256, "a stub keeps a slot's offset in a byte");
/* No page: never equal to an address masked as emit_tlb_stack masks it
 * (bits 12-63 and at most bits 0-5 kept), so bit 11.  (It was 1, which
 * a 2- to 8-byte access at linear address 1 equals: that took the addend
 * an earlier run left in the slot: test_stack_page_no_page.) */
#define SLOT_NO_PAGE 0x800

#define OFF_GPR(g)   ((int32_t)(offsetof(struct emu_cpu, gpr) + 8 * (g)))
#define OFF_RIP      ((int32_t)offsetof(struct emu_cpu, rip))
#define OFF_NEXT_RIP ((int32_t)offsetof(struct emu_cpu, next_rip))
#define OFF_LAZY_OP  ((int32_t)offsetof(struct emu_cpu, lazy.op))
#define OFF_LAZY_RES ((int32_t)offsetof(struct emu_cpu, lazy.res))
#define OFF_LAZY_S1  ((int32_t)offsetof(struct emu_cpu, lazy.src1))
#define OFF_LAZY_S2  ((int32_t)offsetof(struct emu_cpu, lazy.src2))
#define OFF_LAZY_AUX ((int32_t)offsetof(struct emu_cpu, lazy.aux))
#define OFF_RFLAGS   ((int32_t)offsetof(struct emu_cpu, rflags))
#define OFF_MXCSR    ((int32_t)offsetof(struct emu_cpu, mxcsr))
#define OFF_JIT_LIMIT ((int32_t)offsetof(struct emu_cpu, jit_limit))
#define OFF_COUNT    ((int32_t)offsetof(struct emu_cpu, insn_count))
#define OFF_EPOCH    ((int32_t)offsetof(struct emu_cpu, mmu.epoch))
#define OFF_RAM      ((int32_t)offsetof(struct emu_cpu, mmu.ram))
#define OFF_FLAT_END ((int32_t)offsetof(struct emu_cpu, mmu.flat_end))
#define OFF_MAP_EPOCH ((int32_t)offsetof(struct emu_cpu, mmu.map_epoch))
#define OFF_TLB_SLOT ((int32_t)offsetof(struct emu_cpu, mmu.tlb_slot))
#define OFF_STOP     ((int32_t)offsetof(struct emu_cpu, mmu.blk_stop))
#define OFF_HCALLS   ((int32_t)offsetof(struct emu_cpu, jit_hcalls))
#define OFF_TLB(u)   ((int32_t)(offsetof(struct emu_cpu, mmu.tlb) + (u) * sizeof(((struct emu_cpu *)0)->mmu.tlb[0])))
/* Way 1 of the TLB (mmu.h) lies this far after way 0, same layout. */
#define TLB_WAY1     ((int32_t)(offsetof(struct emu_cpu, mmu.tlb1) - offsetof(struct emu_cpu, mmu.tlb)))
#define OFF_WAY1_HITS ((int32_t)offsetof(struct emu_cpu, mmu.st.way1_hits))
#define OFF_XMM(n)   ((int32_t)(offsetof(struct emu_cpu, xmm) + 16 * (n)))
#define OFF_SEGBASE(s) ((int32_t)(offsetof(struct emu_cpu, seg) + (s) * sizeof(struct seg_state) + offsetof(struct seg_state, base)))

_Static_assert(offsetof(struct emu_cpu, mmu.map_epoch) == offsetof(struct emu_cpu, mmu.epoch) + 4,
               "a trace's entry compares the epoch and the map epoch at once");
/* The epoch and map epoch as translated code loads them at OFF_EPOCH. */
static inline uint64_t cpu_epochs(const struct emu_cpu *c)
{
    return (uint64_t)c->mmu.epoch | (uint64_t)c->mmu.map_epoch << 32;
}
_Static_assert(offsetof(struct emu_lazy_flags, size) == offsetof(struct emu_lazy_flags, op) + 1,
               "lazy op and size are stored together");
_Static_assert(sizeof(struct emu_tlb_entry) == 64, "TLB index arithmetic assumes 64-byte entries");

/* The routine called at entry and after every handler call (call_rx):
 * [rsp + SLOT_TAG] = the bits every TLB tag of the current PCID slot has
 * (mmu.c; translated code itself never switches PCID: CR3 writes end
 * translations), and no stack page.  Uses RAX. */
static void emit_reset_slots(struct xbuf *b, int32_t under)
{
    x_load(b, 8, XAX, xm(RCPU, OFF_TLB_SLOT));
    x_alu_ri(b, 8, ALU_OR, XAX, EMU_TLB_VALID);
    x_store(b, 8, xm(XSP, under + SLOT_TAG), XAX);
    x_store_imm(b, 8, xm(XSP, under + SLOT_STK_R), SLOT_NO_PAGE);
    x_store_imm(b, 8, xm(XSP, under + SLOT_STK_W), SLOT_NO_PAGE);
    for (int i = 0; i < 2 * JIT_LOOP_SLOTS + 2; i++)   /* the loop slots, then the TLS page's */
        x_store_imm(b, 8, xm(XSP, under + SLOT_LOOP + 16 * i), SLOT_NO_PAGE);
}

static void emit_reset_slots_routine(struct xbuf *b)
{
    emit_reset_slots(b, 8);   /* the return address lies under the slots */
    x8(b, 0xc3);
}

/* The host's MXCSR while translated code runs: the guest's controls when
 * they are 0x1f80 (every exception masked, round to nearest, no DAZ/FZ;
 * else float forms run their handlers, mxcsr_enter) and no flag but the
 * guest's and those float forms raised since; so a float form runs as the
 * host instruction alone, and its flags reach the guest's MXCSR on the
 * way to C (emit_mx_merge: leaving, and before every handler call).
 * emit_mx_sync makes it so on the way in (entry, after a handler call: C
 * may have raised flags, and LDMXCSR or XRSTOR may have cleared the
 * guest's), with a LDMXCSR only when a host control or a flag the guest
 * lacks is there.  Both use [rsp + under + SLOT_TMP]; sync clobbers RAX
 * and RDX, merge reg; both the host flags. */
static void emit_mx_sync(struct xbuf *b, int32_t under)
{
    x_rm(b, 4, 0xae0f, 3, xm(XSP, under + SLOT_TMP), 0);    /* stmxcsr */
    x_load(b, 4, XDX, xm(RCPU, OFF_MXCSR));
    x_alu_ri(b, 4, ALU_AND, XDX, 0x3f);
    x_rr(b, 4, 0xf7, 2, XDX);                               /* not edx */
    x_rm(b, 4, 0x23, XDX, xm(XSP, under + SLOT_TMP), 0);    /* and edx, [slot] */
    x_alu_ri(b, 4, ALU_CMP, XDX, 0x1f80);
    x8(b, 0x74);                                            /* je: as it should be */
    uint8_t *je = b->p;
    x8(b, 0);
    x_store_imm(b, 4, xm(XSP, under + SLOT_TMP), 0x1f80);
    x_rm(b, 4, 0xae0f, 2, xm(XSP, under + SLOT_TMP), 0);    /* ldmxcsr */
    *je = (uint8_t)(b->p - (je + 1));
}

static void emit_mx_merge(struct xbuf *b, int32_t under, int reg)
{
    x_rm(b, 4, 0xae0f, 3, xm(XSP, under + SLOT_TMP), 0);    /* stmxcsr */
    x_load(b, 4, reg, xm(XSP, under + SLOT_TMP));
    x_alu_ri(b, 4, ALU_AND, reg, 0x3f);
    x_alu_mr(b, 4, ALU_OR, xm(RCPU, OFF_MXCSR), reg);
}

/* A handler call from translated code (emit_handler_call): the
 * instruction (first: RSI points at both), its RIP and its index in the
 * translation (the count to store); the RIP after it is RIP + insn.len.
 * 64 bytes: a stub's handler call has one, and they were half of the
 * data area (GCC's cc1 filled it before the code cache). */
struct jit_hcall {
    struct emu_insn insn;
    uint64_t rip;
    uint32_t k;
    int32_t exit_off;         /* the translation's JX_HANDLER record, from this one */
};
_Static_assert(sizeof(struct jit_hcall) <= 64, "a handler call's record fits 64 bytes");

/* The routine of emit_handler_call, shared by every handler call (RSI =
 * its struct jit_hcall; called with RSP 16-aligned): stores RIP, the next
 * RIP (RIP + length) and the count (RCOUNT + k), calls the handler, resets
 * the slots as emit_reset_slots_routine does, and returns when the handler
 * went on to the next instruction and did not stop the block.  Else the
 * handler moved RIP (a fault, a REP slice, a taken LOOP) or stopped the
 * block (a store into code): it drops its return address, counts the
 * instruction done and leaves through the translation's JX_HANDLER record
 * (RAX) for RDX = next_rip, as emit_exit_dynamic's lookup does (one
 * routine per privilege class, u, for its jump cache).  About 100 bytes of
 * code at each call became 12: Python made 13.6 MiB of code at start. */
static void emit_hcall_routine(struct emu_jit *j, struct xbuf *b, int u)
{
    x_load(b, 8, XAX, xm(XSI, (int32_t)offsetof(struct jit_hcall, rip)));
    x_store(b, 8, xm(RCPU, OFF_RIP), XAX);
    x_load(b, 1, XDX, xm(XSI, (int32_t)offsetof(struct jit_hcall, insn.len)));
    x_alu_rr(b, 8, ALU_ADD, XDX, XAX);
    x_store(b, 8, xm(RCPU, OFF_NEXT_RIP), XDX);
    x_load(b, 4, XAX, xm(XSI, (int32_t)offsetof(struct jit_hcall, k)));
    x_alu_rr(b, 8, ALU_ADD, XAX, RCOUNT);
    x_store(b, 8, xm(RCPU, OFF_COUNT), XAX);
    x_rm(b, 8, 0xff, 0, xm(RCPU, OFF_HCALLS), 0);         /* inc qword [jit_hcalls] */
    emit_mx_merge(b, 8, XDX);                             /* the return address under the slots */
    x8(b, 0x56);                                          /* push rsi */
    x_mov_rr(b, 8, XDI, RCPU);
    x_rm(b, 4, 0xff, 2, xm(XSI, (int32_t)offsetof(struct jit_hcall, insn.fn)), 0);   /* call [rsi + fn] */
    emit_mx_sync(b, 16);
    emit_reset_slots(b, 16);   /* the return address and RSI lie under the slots */
    x8(b, 0x5e);                                          /* pop rsi */
    x_load(b, 1, XAX, xm(XSI, (int32_t)offsetof(struct jit_hcall, insn.len)));
    x_alu_rm(b, 8, ALU_ADD, XAX, xm(XSI, (int32_t)offsetof(struct jit_hcall, rip)));
    x_load(b, 8, XDX, xm(RCPU, OFF_NEXT_RIP));
    x_alu_rr(b, 8, ALU_CMP, XDX, XAX);
    x8(b, 0x75);                                          /* jne: leave */
    uint8_t *jne = b->p;
    x8(b, 0);
    x_rm(b, 1, 0x80, 7, xm(RCPU, OFF_STOP), 1);           /* cmp byte [blk_stop], 0 */
    x8(b, 0);
    x8(b, 0x75);                                          /* jne: leave */
    uint8_t *jne2 = b->p;
    x8(b, 0);
    x8(b, 0xc3);
    *jne = (uint8_t)(b->p - (jne + 1));
    *jne2 = (uint8_t)(b->p - (jne2 + 1));
    x_alu_ri(b, 8, ALU_ADD, XSP, 8);                      /* the call's return address */
    x_load(b, 4, XAX, xm(XSI, (int32_t)offsetof(struct jit_hcall, k)));
    x_lea(b, 8, RCOUNT, xmi(RCOUNT, XAX, 0, 1));          /* k + 1 done */
    x_load_sx(b, 4, 8, XAX, xm(XSI, (int32_t)offsetof(struct jit_hcall, exit_off)));
    x_alu_rr(b, 8, ALU_ADD, XAX, XSI);
    x_jmp_abs(b, j->dyn_exit[u]);
}

/* call rel32 to a routine of the code cache (rx address). */
static void call_rx(struct xbuf *b, uint64_t target)
{
    x8(b, 0xe8);
    uint8_t *at = b->p;
    x32(b, 0);
    x_patch32(b, at, target);
}

static void emit_set_cf_routine(struct xbuf *b);
static void emit_tlb_way1_routines(struct emu_jit *j, struct xbuf *b);
static void emit_dyn_exit_routines(struct emu_jit *j, struct xbuf *b);

/* The trampolines: enter(c, code) saves the callee-saved
 * registers, keeps the TLB tag bits at [rsp + 16] and the stack page
 * (none yet) at [rsp + 24..55] ([rsp] and [rsp + 8] are scratch) and jumps
 * to code; exit_common (RAX = the exit record) stores the count and
 * returns RAX; exit_rip, just before it, first stores the record's RIP as
 * the guest's (a static exit's target, the translation's own start: 12
 * or 17 bytes less at each than storing the constant there).  The limit
 * is c->jit_limit (emu_jit_run). */
static void emit_trampolines(struct emu_jit *j)
{
    struct xbuf b = { .p = j->rw, .end = j->rw + 4096, .rx_delta = j->delta };
    j->reset_slots = x_rx(&b);
    emit_reset_slots_routine(&b);
    j->enter = (uint64_t (*)(struct emu_cpu *, uint64_t))(uintptr_t)x_rx(&b);
    static const int saved[] = { XBP, XBX, X12, X13, X14, X15 };
    for (int k = 0; k < 6; k++) {
        x_prefix(&b, 4, XNONE, XNONE, saved[k], false);
        x8(&b, (uint8_t)(0x50 + (saved[k] & 7)));            /* push */
    }
    x_alu_ri(&b, 8, ALU_SUB, XSP, FRAME_SLOTS);   /* calls from translated code see RSP 16-aligned */
    x_mov_rr(&b, 8, RCPU, XDI);
    x_load(&b, 8, RCOUNT, xm(RCPU, OFF_COUNT));
    call_rx(&b, j->reset_slots);
    emit_mx_sync(&b, 0);
    x_rr(&b, 4, 0xff, 4, XSI);                                /* jmp rsi */
    /* relink (RAX = a static exit's record, whose epochs are not the
     * CPU's): a link in the same map epoch to a translation whose bytes
     * were compared in this epoch holds again (the epochs are stored, on
     * to its fast entry); one whose bytes were not goes to its entry,
     * which compares them (and so the next time round holds again);
     * anything else goes back to C.  An epoch ends at each store into
     * code (the Debian appliance ends about 2 000 on its way to login):
     * without this every link would go through C once per epoch. */
    j->relink = x_rx(&b);
    {
        x_load(&b, 8, XCX, xm(XAX, (int32_t)offsetof(struct jit_exit, to)));
        x_test_rr(&b, 8, XCX, XCX);
        uint8_t *none = x_jcc32(&b, 4);                          /* je */
        x_load(&b, 4, XDX, xm(RCPU, OFF_MAP_EPOCH));
        x_alu_rm(&b, 4, ALU_CMP, XDX, xm(XAX, (int32_t)offsetof(struct jit_exit, epochs) + 4));
        uint8_t *other_map = x_jcc32(&b, 5);                     /* jne */
        x_load(&b, 4, XDX, xm(XCX, (int32_t)offsetof(struct jit_block_data, verified)));
        x_alu_rm(&b, 4, ALU_CMP, XDX, xm(RCPU, OFF_EPOCH));
        uint8_t *unchecked = x_jcc32(&b, 5);                     /* jne */
        x_load(&b, 8, XDX, xm(RCPU, OFF_EPOCH));
        x_store(&b, 8, xm(XAX, (int32_t)offsetof(struct jit_exit, epochs)), XDX);
        x_jmp_mem(&b, xm(XAX, (int32_t)offsetof(struct jit_exit, target)));
        x_patch32(&b, unchecked, x_rx(&b));
        x_jmp_mem(&b, xm(XCX, (int32_t)offsetof(struct jit_block_data, code)));
        uint8_t *back = b.p;
        x_patch32(&b, none, (uint64_t)((intptr_t)back + b.rx_delta));
        x_patch32(&b, other_map, (uint64_t)((intptr_t)back + b.rx_delta));
    }
    j->exit_rip = x_rx(&b);
    x_load(&b, 8, XDX, xm(XAX, (int32_t)offsetof(struct jit_exit, rip)));
    x_store(&b, 8, xm(RCPU, OFF_RIP), XDX);
    j->exit_common = x_rx(&b);
    emit_mx_merge(&b, 0, XDX);   /* RAX: the record, returned */
    x_store(&b, 8, xm(RCPU, OFF_COUNT), RCOUNT);
    x_alu_ri(&b, 8, ALU_ADD, XSP, FRAME_SLOTS);
    for (int k = 5; k >= 0; k--) {
        x_prefix(&b, 4, XNONE, XNONE, saved[k], false);
        x8(&b, (uint8_t)(0x58 + (saved[k] & 7)));            /* pop */
    }
    x8(&b, 0xc3);
    j->set_cf = x_rx(&b);
    emit_set_cf_routine(&b);
    emit_tlb_way1_routines(j, &b);
    emit_dyn_exit_routines(j, &b);
    for (int u = 0; u < 2; u++) {
        j->hcall[u] = x_rx(&b);
        emit_hcall_routine(j, &b, u);
    }
    if (b.full)
        abort();   /* the routines outgrew their page: a bug here */
    j->code_base = (size_t)(b.p - j->rw + 63) & ~(size_t)63;
    j->code_used = j->code_base;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
/* The code cache is a memfd (shared memory: no huge pages on most hosts),
 * written through one view and run through the other, so each 4 KiB of
 * code costs two page faults, several microseconds each on a
 * nested-virtualization host (Python starting under hostel-emu-user makes
 * 13 MiB of code: 6 700 faults).  Both views are mapped a MiB at a time,
 * ahead of the code written, with one call each (Linux 5.14; on an older
 * kernel the calls fail and the pages fault in as before). */
static void code_populate(struct emu_jit *j)
{
    if (j->code_used + JIT_BLOCK_ROOM <= j->populated || j->populated == SIZE_MAX)
        return;
    /* 64 KiB ahead at first, twice as much each time up to a MiB: a
     * program that runs briefly makes a few KiB of code (busybox true:
     * 14 KiB), and each KiB mapped ahead costs it a page's zeroing. */
    size_t step = j->populated < (1u << 20) ? (j->populated > (64u << 10) ? j->populated : 64u << 10)
                                            : 1u << 20;
    size_t want = (j->code_used + JIT_BLOCK_ROOM + step - 1) & ~(step - 1);
    if (want > j->code_size)
        want = j->code_size;
    if (madvise(j->rw + j->populated, want - j->populated, MADV_POPULATE_WRITE) != 0 ||
        madvise(j->rx + j->populated, want - j->populated, MADV_POPULATE_READ) != 0) {
        j->populated = SIZE_MAX;   /* not on this kernel: fault them in */
        return;
    }
    j->populated = want;
}

/* code_size: the code cache's size (0: the configured one); the data area
 * is the jump cache and half as much again. */
static int jit_create(struct emu_jit **out, size_t code_size)
{
    struct emu_jit *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->code_size = code_size ? code_size : cfg_code_size;
    j->all_slow = cfg_all_slow;
    j->flat = cfg_flat;
    j->data_size = j->code_size / 2 + sizeof(struct jump_cache);   /* the jump cache first */
    size_t total = j->code_size + j->data_size;
    j->memfd = memfd_create("hostel-emu-jit", MFD_CLOEXEC);
    if (j->memfd < 0 || ftruncate(j->memfd, (off_t)j->code_size) < 0)
        goto fail;
    /* One reservation for the executable view and the data area, so that
     * code reaches its exit records RIP-relative. */
    uint8_t *base = emu_map_aligned(total, PROT_NONE, false);
    if (!base)
        goto fail;
    j->rx = mmap(base, j->code_size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, j->memfd, 0);
    j->data = mmap(base + j->code_size, j->data_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    j->rw = mmap(NULL, j->code_size, PROT_READ | PROT_WRITE, MAP_SHARED, j->memfd, 0);
    if (j->rx == MAP_FAILED || j->data == MAP_FAILED || j->rw == MAP_FAILED) {
        emu_unmap_aligned(base, total);
        if (j->rw != MAP_FAILED)
            munmap(j->rw, j->code_size);
        goto fail;
    }
    /* Exit records are written all over the data area as code is made:
     * huge pages spare a fault per 4 KiB (emu_map_aligned says why).  The
     * code itself is in a memfd (shared memory), which hosts seldom back
     * with huge pages: code_populate.  Not under a budget (code_size
     * given: a machine with a memory limit). */
    if (!code_size)
        madvise(j->data, j->data_size, MADV_HUGEPAGE);
    j->delta = j->rx - j->rw;
    j->gen = 1;
    j->jc = (struct jump_cache *)j->data;
    jc_clear(j->jc);
    j->data_used = (sizeof(struct jump_cache) + 63) & ~(size_t)63;
    emit_trampolines(j);
    *out = j;
    return 0;
fail:
    if (j->memfd >= 0)
        close(j->memfd);
    free(j);
    return -ENOMEM;
}

static void dump_file(const char *suffix, const char *mode, const void *data, size_t len,
                      const char *line)
{
    char path[512];
    snprintf(path, sizeof(path), "%s.%s", cfg_dump, suffix);
    FILE *f = fopen(path, mode);
    if (!f)
        return;
    if (data)
        fwrite(data, 1, len, f);
    if (line)
        fputs(line, f);
    fclose(f);
}

void emu_jit_destroy(struct emu_jit *j)
{
    if (!j)
        return;

    emu_unmap_aligned(j->rx, j->code_size + j->data_size);
    munmap(j->rw, j->code_size);
    close(j->memfd);
    free(j->ctx);
    free(j);
}

void emu_jit_flush(struct emu_jit *j)
{
    if (!j)
        return;
    j->gen++;
    j->code_used = j->code_base;
    j->data_used = (sizeof(struct jump_cache) + 63) & ~(size_t)63;
    jc_clear(j->jc);   /* entries of an older generation are never used */
    j->pending = NULL;
    j->st.code_bytes = 0;
}

void emu_jit_get_stats(struct emu_cpu *c, struct emu_jit_stats *s)
{
    memset(s, 0, sizeof(*s));
    if (c->mmu.cache && c->mmu.cache->jit) {
        *s = c->mmu.cache->jit->st;
        s->data_bytes = c->mmu.cache->jit->data_used;
    }
    s->handler_calls = c->jit_hcalls;
}

/* ---- helpers called from translated code ------------------------------------------ */

/* The other ranges a translation was made from still hold the bytes it
 * was translated from; their pages are marked as code again first when a
 * store dropped the mark (as emu_block_enter does for the block's, which
 * a followed jump's range shares). */
static bool jit_same_ranges(struct emu_cpu *c, const struct jit_block_data *bd)
{
    for (unsigned r = 0; r < bd->nx; r++) {
        const struct jit_range *x = &bd->x[r];
        if (!c->mmu.code_pages[(uint64_t)(x->host - c->mmu.ram) >> 12])
            emu_mmu_mark_code(c, x->pa);
        if (!same_bytes(x->host, x->bytes, x->n))
            return false;
    }
    return true;
}

/* The page the TLB fetches instructions at linear address la from, at
 * this privilege level (no walk, no fault: NULL when neither way holds
 * it), and its physical address. */
static const uint8_t *code_page(struct emu_cpu *c, uint64_t la, uint64_t *pa)
{
    uint64_t tag = tlb_page_tag(c, la & ~0xfffULL);
    unsigned idx = (unsigned)(la >> 12) & (EMU_TLB_SIZE - 1);
    const struct emu_tlb_entry *e = &c->mmu.tlb[c->cpl == 3][idx];
    if (e->vpn_exec != tag) {
        e = &c->mmu.tlb1[c->cpl == 3][idx];
        if (e->vpn_exec != tag)
            return NULL;
    }
    *pa = e->ppn;
    return emu_ram_ptr(c, e->ppn, 4096);
}

/* A trace entered from the dispatcher in another map epoch than the last
 * one: do its ranges' linear addresses still fetch from the pages it was
 * made from?  1: yes (links and the jump cache made in this map epoch
 * hold, as for any translation); 0: the TLB does not say (the interpreter
 * runs the block, which fills it); -1: another page, the translation is
 * stale. */
static int jit_same_map(struct emu_cpu *c, struct jit_block_data *bd)
{
    for (unsigned r = 0; r < bd->nx; r++) {
        const struct jit_range *x = &bd->x[r];
        uint64_t pa;
        const uint8_t *page = code_page(c, x->la, &pa);
        if (!page)
            return 0;
        if (page + (x->la & 0xfff) != x->host)
            return -1;
    }
    bd->map_epoch = c->mmu.map_epoch;
    return 1;
}

/* A chained entry in a new epoch (or a trace's in another map epoch):
 * are the block's bytes (and its other ranges') still the ones
 * translated, and a trace's ranges where its linear addresses fetch
 * from?  (1: yes, run it; 0: leave, the dispatcher decodes again.) */
static uint64_t jit_verify(struct emu_cpu *c, struct jit_block_data *bd)
{
    if (bd->verified != c->mmu.epoch) {
        if (!emu_block_enter(c, bd->blk) || !jit_same_ranges(c, bd))
            return 0;
        bd->verified = c->mmu.epoch;
    }
    if (bd->remote && bd->map_epoch != c->mmu.map_epoch && jit_same_map(c, bd) <= 0)
        return 0;
    return 1;
}

/* The arithmetic flags for SAHF: AH = SF ZF 0 AF 0 PF 1 CF, AL = OF. */
static uint64_t jit_flags_ah(struct emu_cpu *c)
{
    uint64_t f = emu_get_rflags(c);
    return ((f & 0xd5) | 2) << 8 | ((f & RFLAGS_OF) ? 1 : 0);
}

/* Flags one instruction changes alone (BT: CF, BSF/BSR: ZF): the bits
 * in mask (bits 16-31 of arg) get the values of bits 0-15 of arg. */
static void jit_patch_flags(struct emu_cpu *c, uint64_t arg)
{
    flags_update(c, (arg >> 16) & 0xffff, arg & 0xffff);
}

/* The lazy flags of a rotate (ROL/ROR change only CF and OF). */
static void jit_rotate_flags(struct emu_cpu *c, uint64_t r, uint64_t g_size)
{
    int g = (int)(g_size & 0xff);
    unsigned size = (unsigned)(g_size >> 8);
    flags_update(c, RFLAGS_CF | RFLAGS_OF, rotate_flags(g, size, r & emu_size_mask(size)));
}

/* ---- translation state ------------------------------------------------------------- */

/* Host registers that cache guest registers; the first two survive calls.
 * R13 and R14 hold the operands of a lazy record not stored yet (struct
 * pend): they survive calls too. */
static const int8_t cache_regs[] = { XBX, X12, XSI, XDI, X8, X9, X10, X11 };
#define NCACHE ((int)(sizeof(cache_regs) / sizeof(cache_regs[0])))
#define PF1 X13
#define PF2 X14

static bool callee_saved(int h)
{
    return h == XBX || h == X12;
}

/* The lazy record of the last register instruction that set flags, kept
 * in PF1/PF2 instead of memory until something may look at the flags in
 * memory: an exit, a handler, a slow path (where a fault shows them).
 *   ADD, SUB (also CMP): PF1 = src1, src2 = PF2 or imm
 *   LOGIC: PF1 = result        NEG: PF1 = the operand
 *   INC, DEC: PF1 = src1, the CF before in PF2 (0/1) or, with aux_mem, in
 *             the record stored in memory
 *   SHL, SHR, SAR: PF1 = src1, the count in imm
 *   IMUL, MUL: PF1 = result, PF2 = CF = OF (0/1)
 *   PEND_CF (BT): PF2 = CF (0/1); the other flags are those of the
 *             record in memory (stored before) */
#define PEND_CF 0x40   /* not a CC_OP: CF patched into the record in memory */
struct pend {
    int8_t op;                /* CC_OP_*, -1: none */
    uint8_t size;
    bool imm2;                /* ADD/SUB: src2 is imm */
    bool aux_mem;
    int64_t imm;
};

struct ra {
    int8_t host[16];          /* guest register -> host register, -1 */
    int8_t guest[16];         /* host register -> guest register, -1 */
    uint16_t dirty;           /* guest registers newer in the host register */
    uint16_t pinned;          /* host registers the current instruction uses */
    uint16_t fresh;           /* guest registers mapped for writing, not loaded yet */
    uint32_t use[16];         /* host register: last use (eviction order) */
    uint32_t clock;
};

enum { HF_C = 1, HF_O = 2, HF_ZSP = 4, HF_ALL = 7 };
/* Host flags a condition (Jcc/SETcc/CMOVcc low nibble) reads. */
static const uint8_t cc_need[16] = {
    HF_O, HF_O, HF_C, HF_C, HF_ZSP, HF_ZSP, HF_C | HF_ZSP, HF_C | HF_ZSP,
    HF_ZSP, HF_ZSP, HF_ZSP, HF_ZSP, HF_ZSP | HF_O, HF_ZSP | HF_O, HF_ZSP | HF_O, HF_ZSP | HF_O,
};

enum { ST_EXIT, ST_INTERP, ST_STACK, ST_DYNEXIT };
/* What a memory form's stub loads into PF1/PF2 from the record its
 * handler stored, so that the pending record of the fast path holds
 * after the slow path too. */
enum { PF_NONE, PF_S1_S2, PF_S1, PF_RES };

struct stub {
    struct pend pend;         /* the record to store before leaving or calling */
    int mem_op, mem_size;
    uint8_t kind;
    bool restore_flags;       /* ST_INTERP: the instruction sets flags; give host flags back */
    uint8_t reload_pf;        /* ST_INTERP: the fast path leaves a pending record: PF_* */
    uint8_t *from;            /* the rel32 jumping here */
    uint8_t *resume;          /* ST_INTERP: where to continue (writable view) */
    /* ST_INTERP after a TLB compare (stub_way1): way 1 is compared first. */
    bool way1, w1_write;      /* compared: vpn_write (else vpn_read) */
    int8_t w1_tag;            /* the register holding the tag compared */
    /* ST_STACK (emit_tlb): a stack-page miss; the TLB lookup out of line,
     * whose miss goes to stub `inner` (ST_INTERP); size and access. */
    bool st_write;
    uint8_t st_size;
    uint8_t st_slot;          /* 0: the stack page; else the loop slot's [rsp] offset */
    unsigned inner;
    unsigned k, done;         /* instruction index; ST_EXIT, ST_DYNEXIT: instructions retired */
    unsigned k_last;          /* ST_INTERP: the last instruction its handlers run (a group: k + m - 1) */
    int group;                /* ST_INTERP of a stack group: its index in grp[], else -1 */
    bool ymm_dirty;           /* made where host YMM bits 255:128 may be set (jctx.ymm_dirty) */
    bool leave_after;         /* ST_INTERP: after the handler the translation leaves (no resume) */
    /* ST_INTERP that resumes: the host vector registers the main path
     * holds at `resume` (jctx.y0 and yv there, mem_done), which the stub
     * loads again after C (jit_vec_reload); all 256 bits when ymm_dirty. */
    int8_t y0_at;
    uint16_t yv_at;
    bool ydirty_at;
    uint64_t rip;             /* ST_EXIT: guest target */
    uint32_t *count;          /* ST_EXIT of a Jcc: its taken count (jit_jcc) */
    struct ra ra;
};

struct jctx {
    /* Reset for every block (up to `insn`). */
    struct emu_cpu *c;
    struct emu_jit *j;
    struct emu_block *blk;
    struct xbuf b;
    unsigned n, k;
    unsigned nloop[2];         /* loop sites given a slot (emit_tlb): reads, writes */
    uint32_t loop_stable;      /* self loop: guest registers not written, or stepped by constants (loop_regs) */
    bool whole_handler;        /* an instruction ran by its handler before the loop edges made
                               * from here on (emit_interp, a leave_after stub): they check the epoch */
    int32_t tlb;              /* OFF_TLB of the block's privilege level */
    uint64_t entry;           /* executable address of the translation's entry */
    uint64_t checks;          /* ... of its entry checks (past the heat: jit_trace) */
    struct ra ra;
    struct pend pend;         /* a lazy record not stored yet */
    uint8_t hf;               /* HF_*: host flags that equal the guest's */
    int mem_op, mem_size;     /* the lazy record in memory, when known (else -1) */
    bool sets_flags;          /* the instruction being emitted writes the flags */
    bool stk;                 /* the next emit_tlb's address is RSP-based (the stack page) */
    bool tls;                 /* ... FS-based (the TLS page) */
    bool flat;                /* reads go straight to RAM (emit_flat_read) */
    bool sse_checked;         /* CR0.EM/TS and CR4.OSFXSR were checked in this block */
    bool vex_checked;         /* jit_vex.c: the AVX state was checked in this block */
    bool ymm_dirty;           /* a 256-bit form left host YMM bits 255:128 set: a VZEROUPPER
                               * is due before anything but another VEX form (jit_ymm_used) */
    bool mx_checked;          /* the guest's MXCSR controls were found 0x1f80 (mxcsr_enter) and
                               * no handler ran since */
    int8_t y0;                /* jit_vex.c: the guest YMM register host YMM0 holds, or -1 (jit_y0) */
    uint16_t yv;              /* jit_vex.c: guest YMM registers their host register holds (jit_yv) */
    bool stored_record;       /* ... and stored its lazy record */
    unsigned nstubs;
    bool fail;
    unsigned njccf;           /* Jccs jit_trace went on through */
    unsigned ncross;          /* instructions across a page boundary (jit_cross) */
    unsigned nflat;           /* reads straight to RAM (emit_flat_read) */
    bool traced;              /* jit_trace went on through a transfer */
    /* Stack groups (emit_stack_group), for their stubs' slow passes. */
    struct stack_grp {
        unsigned k0, m;
        int8_t hsp;           /* RSP's host register */
        int8_t hr[8];         /* each member's host register, -1: none or through memory */
        bool push;
    } grp[JIT_MAX_GROUPS];
    unsigned ngrp;
    /* Self loops (emit_loop_edge): the first pass records the allocation
     * at the first jump back to the start; the second starts its body
     * with that allocation loaded (`head`), and a jump back that still
     * has it goes to `loop_head` with the registers kept. */
    bool loop_seen;
    struct ra loop_ra;
    const struct ra *head;
    uint64_t loop_head;
    uint8_t live_in;          /* flag groups someone may read before the first instruction */
    uint32_t *xcount;         /* emit_exit_static: the count to add 1 to */
    struct jit_exit *hexit;   /* emit_handler_call's exit record, once made */
    struct jit_block_data *bd;
    /* A followed jump (jit_follow): instruction follow_k jumps to range 0
     * (xr[0], its bytes in xbytes[0]), where the translation goes on. */
    bool follow;
    unsigned follow_k;
    /* A trace (jit_trace): instruction k is a CALL, JMP or RET the
     * translation goes on through (fol[k]), in the nx ranges of xr. */
    bool trace;               /* jit_trace may extend this translation */
    bool fol[JIT_MAX_INSNS];
    unsigned nx;
    /* Filled as needed. */
    struct emu_insn insn[JIT_MAX_INSNS];
    uint64_t ret_to[JIT_MAX_INSNS];   /* a followed RET: the return address of its CALL */
    struct emu_insn flag_insn[JIT_MAX_INSNS];   /* flags_liveness's view of a trace */
    struct jit_range xr[JIT_MAX_RANGES];
    uint8_t xbytes[JIT_MAX_RANGES][JIT_RANGE_BYTES];
    uint64_t rips[JIT_MAX_INSNS + 1];
    bool live[JIT_MAX_INSNS];   /* the flags instruction k sets are read later */
    struct stub stubs[JIT_MAX_STUBS];
    uint16_t uses[JIT_MAX_INSNS];   /* insn_uses of each instruction */
};

/* The RIP after instruction k: with a followed jump the translation's
 * instructions are not one contiguous range, so not rips[k + 1]. */
static inline uint64_t next_rip(const struct jctx *t, unsigned k)
{
    return t->rips[k] + t->insn[k].len;
}

static struct stub *stub_new(struct jctx *t, int kind, uint8_t *from)
{
    if (t->nstubs >= JIT_MAX_STUBS) {
        t->fail = true;
        return &t->stubs[0];
    }
    struct stub *s = &t->stubs[t->nstubs++];
    memset(s, 0, sizeof(*s));
    s->kind = (uint8_t)kind;
    s->from = from;
    s->ra = t->ra;
    s->pend = t->pend;
    s->mem_op = t->mem_op;
    s->mem_size = t->mem_size;
    s->k = s->k_last = t->k;
    s->group = -1;
    s->ymm_dirty = t->ymm_dirty;
    s->y0_at = -1;
    return s;
}

/* Host vector registers hold nothing of the guest's (jctx.y0, yv). */
static void vec_forget(struct jctx *t)
{
    t->y0 = -1;
    t->yv = 0;
}

/* A VZEROUPPER where a 256-bit form left host YMM bits 255:128 set:
 * before C (SSE code pays for a dirty upper state on some hosts), before
 * another translation and before forms other than VEX and kept
 * general-register ones (vec_keeps).  jit_vex.c's forms leave them set
 * (jit_ymm_used), so runs of them share one. */
static void ymm_clean(struct jctx *t)
{
    x_vzeroupper(&t->b);
    t->ymm_dirty = false;
    vec_forget(t);   /* their bits 255:128 are gone */
}

/* Host vector registers given up: before C on the main path (host YMM
 * state is C's after), a loop's jump back, a form that is not kept
 * (vec_keeps); with the VZEROUPPER when bits 255:128 may be set. */
static void vec_release(struct jctx *t)
{
    if (t->ymm_dirty)
        ymm_clean(t);
    else
        vec_forget(t);
}

/* ---- registers ------------------------------------------------------------------- */

static void ra_reset(struct ra *r)
{
    memset(r->host, -1, sizeof(r->host));
    memset(r->guest, -1, sizeof(r->guest));
    r->dirty = r->pinned = r->fresh = 0;
}

static void emit_writeback(struct jctx *t, const struct ra *r)
{
    for (int g = 0; g < 16; g++)
        if (r->host[g] >= 0 && (r->dirty & (1u << g)))
            x_store(&t->b, 8, xm(RCPU, OFF_GPR(g)), r->host[g]);
}

static void emit_reload(struct jctx *t, const struct ra *r, bool caller_saved_only)
{
    for (int g = 0; g < 16; g++)
        if (r->host[g] >= 0 && (!caller_saved_only || !callee_saved(r->host[g])))
            x_load(&t->b, 8, r->host[g], xm(RCPU, OFF_GPR(g)));
}

static void ra_unmap(struct jctx *t, int h)
{
    int g = t->ra.guest[h];
    if (g < 0)
        return;
    if (t->ra.dirty & (1u << g))
        x_store(&t->b, 8, xm(RCPU, OFF_GPR(g)), h);
    t->ra.dirty &= (uint16_t)~(1u << g);
    t->ra.fresh &= (uint16_t)~(1u << g);
    t->ra.host[g] = -1;
    t->ra.guest[h] = -1;
}

/* Writes back and forgets every cached register (before a handler runs). */
static void ra_flush(struct jctx *t)
{
    for (int h = 0; h < 16; h++)
        ra_unmap(t, h);
}

/* The guest registers instruction i may read or write (a superset: all
 * for the forms not told apart here).  Only the register allocator's
 * choice of what to evict uses it. */
static uint16_t insn_uses(const struct emu_insn *i)
{
    uint32_t u = 0;
    if (i->mod != 3) {
        if (i->base < 16)
            u |= 1u << i->base;
        if (i->index < 16)
            u |= 1u << i->index;
    } else {
        u |= 1u << (i->rm & 15);
    }
    const uint32_t reg = 1u << (i->reg & 15), rsp = 1u << R_RSP;
    const uint32_t rax = 1u << R_RAX, rcx = 1u << R_RCX, rdx = 1u << R_RDX;
    switch (i->kind) {
    case EK_JCC: case EK_JMP: case EK_NOP:
        return 0;
    case EK_ALU:
        if (i->map == MAP_1 && i->op < 0x40 && (i->op & 7) >= 4)
            return (uint16_t)rax;                    /* op AL/eAX, imm */
        return (uint16_t)(i->op >= 0x80 ? u : u | reg);
    case EK_TEST:
        if (i->op == 0xa8 || i->op == 0xa9)
            return (uint16_t)rax;
        return (uint16_t)(i->op == 0x84 || i->op == 0x85 ? u | reg : u);
    case EK_INC: case EK_DEC: case EK_NOT: case EK_NEG: case EK_MOV_IMM:
    case EK_SETCC: case EK_BSWAP:
        return (uint16_t)u;
    case EK_MOV:
        return (uint16_t)(i->op >= 0xc6 ? u : u | reg);
    case EK_MOVZX: case EK_MOVSX: case EK_MOVSXD: case EK_LEA: case EK_IMUL:
    case EK_CMOV: case EK_BITSCAN: case EK_BT:
        return (uint16_t)(u | reg);
    case EK_SHIFT:
        return (uint16_t)(i->op >= 0xd2 ? u | rcx : u);
    case EK_MUL: case EK_DIV: case EK_CWD:
        return (uint16_t)(u | rax | rdx);
    case EK_CBW: case EK_MOV_MOFFS:
        return (uint16_t)rax;
    case EK_XCHG:
        return (uint16_t)(i->op >= 0x90 ? u | rax : u | reg);
    case EK_PUSH: case EK_POP: case EK_CALL_IND:
        return (uint16_t)(u | rsp);
    case EK_CALL: case EK_RET:
        return (uint16_t)rsp;
    case EK_LEAVE:
        return (uint16_t)(rsp | 1u << R_RBP);
    case EK_JMP_IND:
        return (uint16_t)u;
    default:
        return 0xffff;
    }
}

/* How far ahead the translation next uses guest register g: the index of
 * the first instruction from the current one on that may (t->uses), n
 * when none does. */
static unsigned next_use(const struct jctx *t, int g)
{
    unsigned k = t->k;
    while (k < t->n && !(t->uses[k] & (1u << g)))
        k++;
    return k;
}

/* A host register for a guest register: a free one, else the one whose
 * guest register is needed furthest ahead (none: the best), a clean one
 * before a dirty one (no store), then the least recently used. */
static int ra_alloc(struct jctx *t)
{
    int best = -1;
    unsigned best_next = 0;
    for (int k = 0; k < NCACHE; k++) {
        int h = cache_regs[k];
        if (t->ra.guest[h] < 0)
            return h;
        if (t->ra.pinned & (1u << h))
            continue;
        int g = t->ra.guest[h];
        unsigned next = next_use(t, g);
        bool dirty = t->ra.dirty & (1u << g);
        bool better = best < 0 || next > best_next;
        if (!better && next == best_next) {
            bool best_dirty = t->ra.dirty & (1u << t->ra.guest[best]);
            better = (best_dirty && !dirty) ||
                     (best_dirty == dirty && t->ra.use[h] < t->ra.use[best]);
        }
        if (better) {
            best = h;
            best_next = next;
        }
    }
    if (best < 0) {
        t->fail = true;   /* cannot happen: an instruction pins at most four */
        return XBX;
    }
    ra_unmap(t, best);
    return best;
}

/* The host register of guest register g, loaded when load is set (a
 * register got for writing is loaded when the same instruction then reads
 * it); it stays pinned for the current instruction. */
static int ra_get(struct jctx *t, int g, bool load)
{
    int h = t->ra.host[g];
    if (h < 0) {
        h = ra_alloc(t);
        t->ra.host[g] = (int8_t)h;
        t->ra.guest[h] = (int8_t)g;
        if (load)
            x_load(&t->b, 8, h, xm(RCPU, OFF_GPR(g)));
        else
            t->ra.fresh |= (uint16_t)(1u << g);
    } else if (load && (t->ra.fresh & (1u << g))) {
        x_load(&t->b, 8, h, xm(RCPU, OFF_GPR(g)));
        t->ra.fresh &= (uint16_t)~(1u << g);
    }
    t->ra.pinned |= (uint16_t)(1u << h);
    t->ra.use[h] = ++t->ra.clock;
    return h;
}

static void ra_dirty(struct jctx *t, int g)
{
    t->ra.dirty |= (uint16_t)(1u << g);
}

/* A call of a C helper that keeps the cached registers: call_begin stores
 * the dirty caller-saved ones, the caller then sets the arguments (RDX,
 * RSI, then RDI: sources are cache registers, which stay valid until
 * overwritten), call_end calls and reloads the caller-saved ones. */
static void call_begin(struct jctx *t)
{
    for (int g = 0; g < 16; g++) {
        int h = t->ra.host[g];
        if (h >= 0 && !callee_saved(h) && (t->ra.dirty & (1u << g)))
            x_store(&t->b, 8, xm(RCPU, OFF_GPR(g)), h);
    }
}

static void call_end(struct jctx *t, const void *fn)
{
    vec_release(t);
    x_call_abs(&t->b, fn);
    emit_reload(t, &t->ra, true);
}

/* ---- guest operands --------------------------------------------------------------- */

/* A byte register operand that is AH..BH (no REX, 4-7): not translated. */
static bool high_byte(const struct emu_insn *i, unsigned size, unsigned r)
{
    return size == 1 && !(i->prefix & PFX_REX) && r >= 4 && r < 8;
}

/* AH..BH (guest register g = 4..7 without REX): bits 8-15 of guest
 * register g - 4, cached in host register h.  hb_extract: dst = the byte,
 * zero-extended.  hb_insert: bits 8-15 of h = the low byte of src (uses
 * RAX).  Both lose the host flags (a SHR, a SHL): a MOV or MOVZX from AH
 * between a compare and its CMOVcc once left the compare's flags behind
 * as SHR's (cpu_diff's chains, test_high_byte_then_cmov). */
static void hb_extract(struct jctx *t, int dst, int h)
{
    x_movzx_rr(&t->b, 2, dst, h);
    x_shift_ri(&t->b, 4, SH_SHR, dst, 8);
    t->hf = 0;
}

static void hb_insert(struct jctx *t, int h, int src)
{
    struct xbuf *b = &t->b;
    x_movzx_rr(b, 1, XAX, src);
    x_shift_ri(b, 4, SH_SHL, XAX, 8);
    x_alu_ri(b, 8, ALU_AND, h, (int64_t)(int32_t)0xffff00ffu);
    x_alu_rr(b, 8, ALU_OR, h, XAX);
    t->hf = 0;
}

/* RCX = the linear address of i's memory operand (64-bit mode: no limits;
 * a non-canonical address misses the TLB and faults in the handler). */
static void emit_ea(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    uint64_t next = t->rips[t->k] + i->len;
    if (i->base == 0xfe) {
        uint64_t a = next + (uint64_t)i->disp;
        if (i->adsize != 8)
            a &= 0xffffffffULL;
        x_mov_ri(b, XCX, a);
    } else if (i->base == 0xff && i->index == 0xff) {
        uint64_t a = (uint64_t)i->disp;
        if (i->adsize != 8)
            a &= 0xffffffffULL;
        x_mov_ri(b, XCX, a);
    } else {
        int hb = i->base < 16 ? ra_get(t, i->base, true) : XNONE;
        int hi = i->index < 16 ? ra_get(t, i->index, true) : XNONE;
        int64_t d = i->disp;
        if (x_fits32(d)) {
            x_lea(b, i->adsize == 8 ? 8 : 4, XCX, xmi(hb, hi, i->scale, (int32_t)d));
        } else {
            x_lea(b, 8, XCX, xmi(hb, hi, i->scale, 0));
            x_mov_ri(b, XDX, (uint64_t)d);
            x_alu_rr(b, 8, ALU_ADD, XCX, XDX);
            if (i->adsize != 8)
                x_mov_rr(b, 4, XCX, XCX);
        }
    }
    if (i->seg == S_FS || i->seg == S_GS)
        x_alu_rm(b, 8, ALU_ADD, XCX, xm(RCPU, OFF_SEGBASE(i->seg)));
    else if (i->base == R_RSP)
        t->stk = true;
    t->tls = i->seg == S_FS;
    t->hf = 0;   /* the ADDs above (every caller looks the TLB up next, which loses them too) */
}

/* Stub s follows a way-0 TLB compare (a jne; EAX = index * 64, the tag
 * in RDX or RCX): its out-of-line code first calls the way-1 routine
 * (emit_tlb_way1_routines), which compares way 1's entry and, on a hit,
 * swaps the two ways' entries; then it goes back to the inline hit path
 * right after the jne, which now finds the page in way 0.  The inline hit
 * path stays as it was; only a way-0 miss pays.  Not with cfg_all_slow
 * (every access runs its handler). */
static void stub_way1(struct jctx *t, struct stub *s, bool write, int tag)
{
    if (cfg_all_slow || t->fail || (tag != XDX && tag != XCX))
        return;
    s->way1 = true;
    s->w1_write = write;
    s->w1_tag = (int8_t)tag;
}

/* The start of stub st (stub_way1): 12 bytes.  A hit leaves every
 * register as the jne found it (host flags are not kept, as the inline
 * hit path does not keep them either); a miss falls through to the
 * handler's path. */
static void emit_way1(struct jctx *t, const struct stub *st)
{
    struct xbuf *b = &t->b;
    call_rx(b, t->j->tlb_way1[t->tlb != OFF_TLB(0)][st->w1_write][st->w1_tag == XDX]);   /* RAX must stay */
    x8(b, 0x75);                     /* jne: a miss, over the jmp */
    x8(b, 5);
    x_jmp_abs(b, (uint64_t)((intptr_t)st->from + 4 + b->rx_delta));
}

/* The routines of way-1 lookups (emit_way1), next to the entry
 * trampolines: for each privilege class (w0 = its OFF_TLB), access
 * (vpn_read or vpn_write) and tag register (RCX or RDX), a compare of
 * way 1's entry at index EAX / 64 that returns ZF clear on a miss or
 * goes to the class's swap, which exchanges way 0's and way 1's entries,
 * counts the hit and returns ZF set.  They keep every register. */
static void emit_tlb_way1_routines(struct emu_jit *j, struct xbuf *b)
{
    for (int u = 0; u < 2; u++) {
        int32_t w0 = OFF_TLB(u);
        uint64_t swap = x_rx(b);
        x8(b, 0x52);   /* push rdx */
        x8(b, 0x56);   /* push rsi */
        for (int32_t off = 0; off < (int32_t)sizeof(struct emu_tlb_entry); off += 8) {
            x_load(b, 8, XDX, xmi(RCPU, XAX, 0, w0 + off));
            x_load(b, 8, XSI, xmi(RCPU, XAX, 0, w0 + TLB_WAY1 + off));
            x_store(b, 8, xmi(RCPU, XAX, 0, w0 + TLB_WAY1 + off), XDX);
            x_store(b, 8, xmi(RCPU, XAX, 0, w0 + off), XSI);
        }
        x_alu_mi(b, 8, ALU_ADD, xm(RCPU, OFF_WAY1_HITS), 1);
        x8(b, 0x5e);   /* pop rsi */
        x8(b, 0x5a);   /* pop rdx */
        x_alu_rr(b, 4, ALU_CMP, XAX, XAX);   /* ZF: a hit */
        x8(b, 0xc3);
        for (int w = 0; w < 2; w++)
            for (int r = 0; r < 2; r++) {
                j->tlb_way1[u][w][r] = x_rx(b);
                int32_t field = w ? (int32_t)offsetof(struct emu_tlb_entry, vpn_write)
                                  : (int32_t)offsetof(struct emu_tlb_entry, vpn_read);
                x_alu_rm(b, 8, ALU_CMP, r ? XDX : XCX, xmi(RCPU, XAX, 0, w0 + TLB_WAY1 + field));
                x_patch32(b, x_jcc32(b, 4), swap);   /* je */
                x8(b, 0xc3);
            }
    }
}

static void emit_tlb_stack(struct jctx *t, unsigned size, bool write, bool sets_flags, int loop_slot);
static bool loop_site(const struct jctx *t, const struct emu_insn *i);

/* A read of a flat CPU (mmu.flat_end, set by emu_flat_update: paging
 * off, RAM from 0 with no hole, no MMIO, no machine; hostel-emu-user and
 * the tests): linear = physical, so below flat_end the host address is
 * RCX + mmu.ram, without the TLB: a compare and an add, whose loads do
 * not wait for the address.  A TLB hit is ten instructions, and its
 * index, the load of its entry's addend and the add lie between the
 * address and the data (awk and gzip spent a quarter of their time in
 * lookups).  Anything else (past the end, a non-canonical address:
 * faults) goes to the stub and the handler, as a TLB miss does; so does
 * every read once flat_end is 0 (paging turned on: emu_flat_update, at
 * CR0 writes and each emu_execute).  Writes keep the TLB, whose write
 * entries catch a store into cached code (a page with code has none):
 * the same through mmu.code_pages inline (the bounds, the page's byte
 * and the next's) measured no faster than the TLB's compare (awk 81.0
 * against 81.2 ms, gzip 75.4 against 77.1, alternated). */
static void emit_flat_read(struct jctx *t, bool sets_flags)
{
    struct xbuf *b = &t->b;
    x_alu_rm(b, 8, ALU_CMP, XCX, xm(RCPU, OFF_FLAT_END));
    struct stub *s = stub_new(t, ST_INTERP, x_jcc32(b, 3));   /* jae */
    s->restore_flags = sets_flags;
    t->sets_flags = sets_flags;
    x_alu_rm(b, 8, ALU_ADD, XCX, xm(RCPU, OFF_RAM));
    t->nflat++;
    t->hf = 0;
}

/* The way-0 compare of a size-byte access at RCX: EAX = its index * 64
 * (from the first byte), RDX = the tag of its last byte's page (valid,
 * the PCID slot: mmu.c), compared with the entry's; the jne follows.  An
 * access across a page boundary never matches. */
static void emit_tlb_compare(struct jctx *t, unsigned size, bool write)
{
    struct xbuf *b = &t->b;
    x_mov_rr(b, 4, XAX, XCX);
    x_rr(b, 4, 0xc1, 5, XAX);                 /* shr eax, 6 */
    x8(b, 6);
    x_alu_ri(b, 4, ALU_AND, XAX, (EMU_TLB_SIZE - 1) << 6);
    if (size == 1)
        x_mov_rr(b, 8, XDX, XCX);
    else
        x_lea(b, 8, XDX, xm(XCX, (int32_t)size - 1));
    x_alu_ri(b, 8, ALU_AND, XDX, -4096);
    x_alu_rm(b, 8, ALU_OR, XDX, xm(XSP, SLOT_TAG));
    int32_t field = write ? (int32_t)offsetof(struct emu_tlb_entry, vpn_write)
                          : (int32_t)offsetof(struct emu_tlb_entry, vpn_read);
    x_alu_rm(b, 8, ALU_CMP, XDX, xmi(RCPU, XAX, 0, t->tlb + field));
}

/* The TLB lookup of a size-byte access at RCX: on a hit RCX becomes the
 * host address; a miss goes to a stub that runs the instruction's
 * handler.  No register allocation may happen after this in the
 * instruction (the stub restores the allocation as it is here). */
static void emit_tlb(struct jctx *t, unsigned size, bool write, bool sets_flags)
{
    struct xbuf *b = &t->b;
    bool stk = t->stk, tls = t->tls;
    t->stk = t->tls = false;
    if (t->flat && !write && !cfg_all_slow && size <= 64) {
        emit_flat_read(t, sets_flags);
        return;
    }
    if (stk && cfg_stack && !cfg_all_slow && size <= 64) {
        emit_tlb_stack(t, size, write, sets_flags, -1);
        return;
    }
    if (tls && cfg_tls && !cfg_all_slow && size <= 64) {
        emit_tlb_stack(t, size, write, sets_flags, write ? SLOT_TLS_W : SLOT_TLS_R);
        return;
    }
    if (!cfg_all_slow && size <= 64 && t->nloop[write] < JIT_LOOP_SLOTS && loop_site(t, &t->insn[t->k])) {
        int i = (int)t->nloop[write]++;
        emit_tlb_stack(t, size, write, sets_flags, write ? SLOT_LOOP_W(i) : SLOT_LOOP_R(i));
        return;
    }
    emit_tlb_compare(t, size, write);
    if (cfg_all_slow)
        x_alu_ri(b, 4, ALU_CMP, XAX, -1);   /* EAX is an index * 64: never equal */
    struct stub *s = stub_new(t, ST_INTERP, x_jcc32(b, 5));   /* jne */
    s->restore_flags = sets_flags;
    t->sets_flags = sets_flags;
    x_alu_rm(b, 8, ALU_ADD, XCX, xmi(RCPU, XAX, 0, t->tlb + (int32_t)offsetof(struct emu_tlb_entry, addend)));
    stub_way1(t, s, write, XDX);
    t->hf = 0;
}

/* emit_tlb for an RSP-based address (pushes, pops, locals): first a
 * compare with the stack page, the page and addend of the last RSP-based
 * access of the same kind that hit the TLB in this run of translated code
 * ([rsp + SLOT_STK_R/W]); on a hit the host address is one add away, no
 * index, and the load of the addend does not wait for the address.  A
 * miss (another page, or no page since entry or the last handler call)
 * goes to a stub that looks the TLB up as emit_tlb does (emit_stack_stub)
 * and, on a hit, makes that page the stack page.  The slots hold only
 * what a TLB hit gave in this run, and are forgotten after every handler
 * call: whatever changes mappings (CR3, INVLPG, a flush, code marks, AC
 * under SMAP) runs in a handler, in C between runs, or ends the epoch.
 * (The same slot for accesses through each base register was tried: it
 * saved four host instructions per hit and no time, docs/emu-jit.md.)
 * loop_slot >= 0: the same with the slot at [rsp + loop_slot] (a loop
 * slot: loop_site; the TLS page's) instead of the stack page; it is its
 * access's only (a write's page is not made a read slot's). */
static void emit_tlb_stack(struct jctx *t, unsigned size, bool write, bool sets_flags, int loop_slot)
{
    struct xbuf *b = &t->b;
    int32_t slot = loop_slot >= 0 ? loop_slot : write ? SLOT_STK_W : SLOT_STK_R;
    /* RDX = the address's page, with its low bits below the access's size
     * rounded up to a power of two kept: an access aligned so cannot
     * cross a page and compares equal; any other (it might cross:
     * test_stack_page_straddle) never equals a page and takes the stub,
     * whose TLB lookup sees a crossing. */
    unsigned align = 1;
    while (align < size)
        align <<= 1;
    x_mov_rr(b, 8, XDX, XCX);
    x_alu_ri(b, 8, ALU_AND, XDX, -4096 | (int64_t)(align - 1));
    x_alu_rm(b, 8, ALU_CMP, XDX, xm(XSP, slot));
    struct stub *sk = stub_new(t, ST_STACK, x_jcc32(b, 5));   /* jne */
    unsigned ski = (unsigned)(sk - t->stubs);
    x_alu_rm(b, 8, ALU_ADD, XCX, xm(XSP, slot + 8));
    /* The TLB lookup's own miss: the handler, as for emit_tlb (its
     * jne is emitted with the ST_STACK stub, which sets `from`). */
    struct stub *si = stub_new(t, ST_INTERP, NULL);
    si->restore_flags = sets_flags;
    t->sets_flags = sets_flags;
    stub_way1(t, si, write, XDX);
    if (t->fail)
        return;
    sk = &t->stubs[ski];
    sk->resume = b->p;
    sk->st_write = write;
    sk->st_size = (uint8_t)size;
    sk->st_slot = (uint8_t)(loop_slot >= 0 ? loop_slot : 0);
    sk->inner = (unsigned)(si - t->stubs);
    t->hf = 0;
}

/* The out-of-line part of emit_tlb_stack: RCX = the address.  The TLB
 * lookup of emit_tlb (the tag from the last byte, the index from the
 * first: an access across a page boundary misses); a hit stores the page
 * and addend as the stack page (a write's also as the read's: a page
 * writable through the TLB is readable) and goes back with RCX = the host
 * address; a miss goes to the inner stub (the handler). */
static void emit_stack_stub(struct jctx *t, struct stub *st)
{
    struct xbuf *b = &t->b;
    emit_tlb_compare(t, st->st_size, st->st_write);
    t->stubs[st->inner].from = x_jcc32(b, 5);   /* jne */
    x_load(b, 8, XAX, xmi(RCPU, XAX, 0, t->tlb + (int32_t)offsetof(struct emu_tlb_entry, addend)));
    x_alu_ri(b, 8, ALU_AND, XDX, -4096);
    int32_t slot = st->st_slot ? st->st_slot : SLOT_STK_R;
    x_store(b, 8, xm(XSP, slot), XDX);
    x_store(b, 8, xm(XSP, slot + 8), XAX);
    if (st->st_write && !st->st_slot) {
        x_store(b, 8, xm(XSP, SLOT_STK_W), XDX);
        x_store(b, 8, xm(XSP, SLOT_STK_W + 8), XAX);
    }
    x_alu_rr(b, 8, ALU_ADD, XCX, XAX);
    x_jmp_abs(b, (uint64_t)((intptr_t)st->resume + b->rx_delta));
}

/* The end of an instruction with a memory stub: the stubs recorded for
 * it resume here, after the handler did all the instruction does. */
static void mem_done(struct jctx *t)
{
    /* The stub gives the host flags back only for flag-setting ones. */
    if (!t->sets_flags)
        t->hf = 0;
    for (unsigned s = 0; s < t->nstubs; s++)
        if (t->stubs[s].kind == ST_INTERP && t->stubs[s].k == t->k && !t->stubs[s].resume) {
            t->stubs[s].resume = t->b.p;
            /* The handler's way comes here with other host vector
             * registers: the stub loads those the main path holds. */
            t->stubs[s].y0_at = t->y0;
            t->stubs[s].yv_at = t->yv;
            t->stubs[s].ydirty_at = t->ymm_dirty;
            /* The allocation must be as the stub saw it (unless the
             * translation leaves after its handler). */
            if (!t->stubs[s].leave_after && memcmp(t->stubs[s].ra.host, t->ra.host, sizeof(t->ra.host)))
                t->fail = true;
            /* A stub that does not give the host flags back (the SSE
             * state check before COMISS, which runs the handler) leaves
             * them as the handler call did. */
            if (!t->stubs[s].restore_flags)
                t->hf = 0;
            /* The stub stored the pending record: memory may hold it or
             * the one before. */
            if (t->stubs[s].pend.op >= 0)
                t->mem_op = -1;
        }
    /* The handler always stores the lazy record of a flag-setting
     * instruction; the fast path only when live: then both agree. */
    if (t->sets_flags && !t->stored_record)
        t->mem_op = -1;
}

/* ---- flags --------------------------------------------------------------------------- */

/* RFLAGS in memory with its six arithmetic flags replaced by those in
 * register val (the others zero); tmp is clobbered.  For the forms whose
 * flags are computed whole (COMISS, SHLD), recorded as CC_OP_EFLAGS. */
static void rflags_set_arith(struct xbuf *b, int tmp, int val)
{
    x_load(b, 8, tmp, xm(RCPU, OFF_RFLAGS));
    x_alu_ri(b, 8, ALU_AND, tmp, ~(int64_t)(RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF));
    x_alu_rr(b, 8, ALU_OR, tmp, val);
    x_store(b, 8, xm(RCPU, OFF_RFLAGS), tmp);
}

/* Stores the lazy record's operation and size (when the memory does not
 * hold it already). */
static void flags_op(struct jctx *t, int op, unsigned size)
{
    t->stored_record = true;
    if (t->mem_op == op && t->mem_size == (int)size)
        return;
    struct xbuf *b = &t->b;
    x8(b, 0x66);
    x_rm(b, 4, 0xc7, 0, xm(RCPU, OFF_LAZY_OP), 2);
    x8(b, (uint8_t)op);
    x8(b, (uint8_t)size);
    t->mem_op = op;
    t->mem_size = (int)size;
}

static uint64_t jit_get_cf(struct emu_cpu *c)
{
    return emu_get_cf(c);
}

/* The routine that stores BT's pending CF (PF2, 0/1) into the lazy record
 * (PEND_CF): the record becomes materialized flags (CC_OP_EFLAGS) with
 * that CF and the other flags of the record before.  A compare, add or
 * logic record of 32 or 64 bits (most of them) is replayed on the host
 * and its flags taken with PUSHF, which is what lazy_compute would say
 * (AF cleared after a logic op, as the interpreter has it); any other
 * record goes to jit_patch_flags.  Called from translated code (RSP
 * 16-aligned); keeps every register but RAX. */
static void emit_set_cf_routine(struct xbuf *b)
{
    static const struct { int op; unsigned size; } fast[] = {
        { CC_OP_SUB, 8 }, { CC_OP_SUB, 4 }, { CC_OP_LOGIC, 8 }, { CC_OP_LOGIC, 4 },
        { CC_OP_ADD, 8 }, { CC_OP_ADD, 4 },
    };
    uint8_t *to_merge[6], *to_logic[2];
    unsigned nm = 0, nl = 0;
    x_rm(b, 4, 0xb70f, XAX, xm(RCPU, OFF_LAZY_OP), 0);        /* movzx eax, word [op]: op | size << 8 */
    for (unsigned k = 0; k < 6; k++) {
        x_alu_ri(b, 4, ALU_CMP, XAX, fast[k].op | (int)fast[k].size << 8);
        uint8_t *next = x_jcc32(b, 5);
        unsigned sz = fast[k].size;
        if (fast[k].op == CC_OP_LOGIC) {
            x_load(b, 8, XAX, xm(RCPU, OFF_LAZY_RES));
            x_test_rr(b, sz, XAX, XAX);
            to_logic[nl++] = x_jmp32(b);
        } else {
            x_load(b, 8, XAX, xm(RCPU, OFF_LAZY_S1));
            x_alu_rm(b, sz, fast[k].op == CC_OP_SUB ? ALU_CMP : ALU_ADD, XAX, xm(RCPU, OFF_LAZY_S2));
            to_merge[nm++] = x_jmp32(b);
        }
        x_patch32(b, next, x_rx(b));
    }
    /* Anything else: the C helper, every caller-saved register kept. */
    static const int keep[] = { XCX, XDX, XSI, XDI, X8, X9, X10, X11 };
    for (int k = 0; k < 8; k++) {
        x_prefix(b, 4, XNONE, XNONE, keep[k], false);
        x8(b, (uint8_t)(0x50 + (keep[k] & 7)));                /* push */
    }
    x_alu_ri(b, 8, ALU_SUB, XSP, 8);                           /* RSP 16-aligned again */
    x_lea(b, 8, XSI, xm(PF2, (int32_t)(RFLAGS_CF << 16)));
    x_mov_rr(b, 8, XDI, RCPU);
    x_call_abs(b, (const void *)jit_patch_flags);
    x_alu_ri(b, 8, ALU_ADD, XSP, 8);
    for (int k = 7; k >= 0; k--) {
        x_prefix(b, 4, XNONE, XNONE, keep[k], false);
        x8(b, (uint8_t)(0x58 + (keep[k] & 7)));                /* pop */
    }
    x8(b, 0xc3);
    /* The host flags are the record's: merge them with CF. */
    for (unsigned k = 0; k < nl; k++)
        x_patch32(b, to_logic[k], x_rx(b));
    x8(b, 0x9c);                                               /* pushfq */
    x8(b, 0x58);                                               /* pop rax */
    x_alu_ri(b, 4, ALU_AND, XAX, RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF);
    uint8_t *join = x_jmp32(b);
    for (unsigned k = 0; k < nm; k++)
        x_patch32(b, to_merge[k], x_rx(b));
    x8(b, 0x9c);
    x8(b, 0x58);
    x_alu_ri(b, 4, ALU_AND, XAX, RFLAGS_OF | RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF);
    x_patch32(b, join, x_rx(b));
    x_alu_rr(b, 4, ALU_OR, XAX, PF2);
    x8(b, 0x51);                                               /* push rcx */
    x_load(b, 8, XCX, xm(RCPU, OFF_RFLAGS));
    x_alu_ri(b, 8, ALU_AND, XCX, ~(int64_t)FLAGS_ARITH);
    x_alu_rr(b, 8, ALU_OR, XCX, XAX);
    x_store(b, 8, xm(RCPU, OFF_RFLAGS), XCX);
    x8(b, 0x59);                                               /* pop rcx */
    x_rm(b, 1, 0xc6, 0, xm(RCPU, OFF_LAZY_OP), 1);             /* mov byte [op], CC_OP_EFLAGS */
    x8(b, CC_OP_EFLAGS);
    x8(b, 0xc3);
}

/* Stores the pending record p (emitted where it is needed: uses RAX, and
 * for an INC/DEC whose CF comes from memory, calls a helper; keep_regs
 * keeps the cached registers across that call). */
static void materialize(struct jctx *t, const struct pend *p, bool keep_regs)
{
    struct xbuf *b = &t->b;
    unsigned sz = p->size;
    switch (p->op) {
    case -1:
        return;
    case CC_OP_ADD: case CC_OP_SUB:
        /* The operands only: lazy_res computes the result. */
        x_store(b, 8, xm(RCPU, OFF_LAZY_S1), PF1);
        if (p->imm2)
            x_store_imm(b, 8, xm(RCPU, OFF_LAZY_S2), (uint64_t)p->imm);
        else
            x_store(b, 8, xm(RCPU, OFF_LAZY_S2), PF2);
        break;
    case CC_OP_LOGIC:
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), PF1);
        break;
    case CC_OP_INC: case CC_OP_DEC:
        if (p->aux_mem) {
            /* The CF before, from the record still in memory. */
            if (keep_regs)
                call_begin(t);
            x_mov_rr(b, 8, XDI, RCPU);
            if (keep_regs) {
                call_end(t, (const void *)jit_get_cf);
            } else {
                vec_release(t);
                x_call_abs(b, (const void *)jit_get_cf);
            }
            x_movzx_rr(b, 1, XAX, XAX);
            x_store(b, 8, xm(RCPU, OFF_LAZY_AUX), XAX);
        } else {
            x_store(b, 8, xm(RCPU, OFF_LAZY_AUX), PF2);
        }
        x_store(b, 8, xm(RCPU, OFF_LAZY_S1), PF1);
        x_store_imm(b, 8, xm(RCPU, OFF_LAZY_S2), 1);
        x_lea(b, 8, XAX, xm(PF1, p->op == CC_OP_DEC ? -1 : 1));
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), XAX);
        break;
    case CC_OP_NEG:
        x_store(b, 8, xm(RCPU, OFF_LAZY_S2), PF1);
        x_mov_rr(b, 8, XAX, PF1);
        x_grp3(b, 8, 3, XAX);
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), XAX);
        break;
    case CC_OP_SHL: case CC_OP_SHR: case CC_OP_SAR:
        x_store(b, 8, xm(RCPU, OFF_LAZY_S1), PF1);
        x_store_imm(b, 8, xm(RCPU, OFF_LAZY_S2), (uint64_t)p->imm);
        x_mov_rr(b, 8, XAX, PF1);
        x_shift_ri(b, sz, p->op == CC_OP_SHL ? SH_SHL : p->op == CC_OP_SHR ? SH_SHR : SH_SAR, XAX,
                   (unsigned)p->imm);
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), XAX);
        break;
    case PEND_CF:
        /* (keeps every register but RAX, so keep_regs needs nothing;
         * not the vector registers: it may call C) */
        vec_release(t);
        x_call_abs(b, (const void *)(uintptr_t)t->j->set_cf);
        t->mem_op = CC_OP_EFLAGS;
        t->mem_size = 0;
        return;
    case CC_OP_IMUL: case CC_OP_MUL:
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), PF1);
        x_store(b, 8, xm(RCPU, OFF_LAZY_AUX), PF2);
        break;
    default:
        t->fail = true;
        return;
    }
    bool saved = t->stored_record;
    flags_op(t, p->op, sz);
    t->stored_record = saved;
}

/* Stores the pending record now (inline, the registers stay cached). */
static void pend_flush(struct jctx *t)
{
    if (t->pend.op < 0)
        return;
    struct pend p = t->pend;
    t->pend.op = -1;
    materialize(t, &p, true);
}

/* Makes the host flags those of the guest (for a consumer of the flags
 * in `need`): from the pending record, or the one in memory. */
static void need_flags(struct jctx *t, uint8_t need)
{
    if ((t->hf & need) == need)
        return;
    struct xbuf *b = &t->b;
    const struct pend *p = &t->pend;
    unsigned sz = p->size;
    switch (p->op) {
    case CC_OP_SUB:
        if (p->imm2)
            x_alu_ri(b, sz, ALU_CMP, PF1, p->imm);
        else
            x_alu_rr(b, sz, ALU_CMP, PF1, PF2);
        t->hf = HF_ALL;
        return;
    case CC_OP_ADD:
        x_mov_rr(b, 8, XAX, PF1);
        if (p->imm2)
            x_alu_ri(b, sz, ALU_ADD, XAX, p->imm);
        else
            x_alu_rr(b, sz, ALU_ADD, XAX, PF2);
        t->hf = HF_ALL;
        return;
    case CC_OP_LOGIC:
        x_test_rr(b, sz, PF1, PF1);
        t->hf = HF_ALL;
        return;
    case CC_OP_INC: case CC_OP_DEC:
        if (p->aux_mem)
            break;
        x_rr(b, 8, 0xba0f, 4, PF2);                /* bt r14, 0: CF */
        x8(b, 0);
        x_mov_rr(b, 8, XAX, PF1);
        x_incdec(b, sz, p->op == CC_OP_DEC, XAX);   /* keeps CF */
        t->hf = HF_ALL;
        return;
    case CC_OP_NEG:
        x_mov_rr(b, 8, XAX, PF1);
        x_grp3(b, sz, 3, XAX);
        t->hf = HF_ALL;
        return;
    case PEND_CF:
        if (need != HF_C)
            break;
        x_rr(b, 8, 0xba0f, 4, PF2);                /* bt r14, 0: CF */
        x8(b, 0);
        t->hf = HF_C;
        return;
    case CC_OP_SHL: case CC_OP_SHR: case CC_OP_SAR:
        if ((need & HF_O) && p->imm != 1)
            break;
        x_mov_rr(b, 8, XAX, PF1);
        x_shift_ri(b, sz, p->op == CC_OP_SHL ? SH_SHL : p->op == CC_OP_SHR ? SH_SHR : SH_SAR, XAX,
                   (unsigned)p->imm);
        t->hf = p->imm == 1 ? HF_ALL : (HF_C | HF_ZSP);
        return;
    default:
        break;
    }
    pend_flush(t);
    sz = (unsigned)t->mem_size;
    switch (t->mem_op) {
    case CC_OP_SUB:
        x_load(b, 8, XAX, xm(RCPU, OFF_LAZY_S1));
        x_alu_rm(b, sz, ALU_CMP, XAX, xm(RCPU, OFF_LAZY_S2));
        break;
    case CC_OP_ADD:
        x_load(b, 8, XAX, xm(RCPU, OFF_LAZY_S1));
        x_alu_rm(b, sz, ALU_ADD, XAX, xm(RCPU, OFF_LAZY_S2));
        break;
    case CC_OP_LOGIC:
        x_load(b, 8, XAX, xm(RCPU, OFF_LAZY_RES));
        x_test_rr(b, sz, XAX, XAX);
        break;
    default:
        call_begin(t);
        x_mov_rr(b, 8, XDI, RCPU);
        call_end(t, (const void *)jit_flags_ah);
        x8(b, 0x04); x8(b, 0x7f);    /* add al, 0x7f: OF from AL */
        x8(b, 0x9e);                  /* sahf */
        break;
    }
    t->hf = HF_ALL;
}

/* The record of a register instruction that just set flags becomes
 * pending (its operands are in PF1/PF2 already). */
static void pend_set(struct jctx *t, int op, unsigned size, bool imm2, int64_t imm, bool aux_mem)
{
    t->pend = (struct pend){ (int8_t)op, (uint8_t)size, imm2, aux_mem, imm };
}

/* ---- exits ----------------------------------------------------------------------------- */

static struct jit_exit *exit_new(struct jctx *t, int kind, uint64_t rip)
{
    struct jit_exit *x = jit_data_alloc(t->j, sizeof(*x));
    if (!x) {
        t->fail = true;
        static struct jit_exit dummy;
        return &dummy;
    }
    x->kind = (uint8_t)kind;
    x->rip = rip;
    x->epochs = cpu_epochs(t->c) - (1ULL << 32);   /* an older map epoch: not linked */
    x->to = NULL;
    x->cpl = t->c->cpl;
    x->src = t->blk;
    return x;
}

/* A trace's ranges (not a followed jump's, in its block's page) may lie in
 * other pages: checked in each map epoch, and at entry with the epoch. */
static bool ranges_remote(const struct jctx *t)
{
    return t->nx && !t->follow;
}

/* The checks every entry runs (chained jumps and self loops too): the
 * budget for the translation's instructions, which is also the check for
 * pending events (emu_post_events makes c->jit_limit 0), and the epoch
 * its bytes were last compared in; fail[] gets the jumps taken when one
 * fails (events and budget: the same one; epoch). */
static uint8_t *emit_epoch_check(struct jctx *t);
/* Host flags: above when the translation's instructions would pass the
 * budget or an event waits (jit_limit 0). */
static void emit_budget_compare(struct jctx *t)
{
    x_lea(&t->b, 8, XAX, xm(RCOUNT, (int32_t)t->n));
    x_alu_rm(&t->b, 8, ALU_CMP, XAX, xm(RCPU, OFF_JIT_LIMIT));
}

static void emit_entry_checks(struct jctx *t, uint8_t *fail[3], bool epoch)
{
    struct xbuf *b = &t->b;
    emit_budget_compare(t);
    fail[0] = fail[1] = x_jcc32(b, 7);                  /* ja */
    fail[2] = NULL;
    if (epoch)
        fail[2] = emit_epoch_check(t);
}

/* The compare of the epoch the translation's bytes were last compared in
 * (and a trace's map epoch, the next word: however it is entered, its
 * ranges are where they were); returns the jne to patch to where they
 * are compared again (the entry). */
static uint8_t *emit_epoch_check(struct jctx *t)
{
    struct xbuf *b = &t->b;
    unsigned sz = ranges_remote(t) ? 8 : 4;
    x_load(b, sz, XAX, xm(RCPU, OFF_EPOCH));
    x_alu_rm(b, sz, ALU_CMP, XAX, xmrip(&t->bd->verified));
    return x_jcc32(b, 5);
}

/* Moves n values between host registers at once (src[k] to dst[k]; the
 * destinations distinct, the sources distinct): each move whose
 * destination no other move still reads goes first; a cycle is broken
 * through RAX. */
static void parallel_moves(struct xbuf *b, int8_t *src, int8_t *dst, unsigned n)
{
    while (n) {
        unsigned k;
        for (k = 0; k < n; k++) {
            unsigned o;
            for (o = 0; o < n && (o == k || src[o] != dst[k]); o++)
                ;
            if (o == n)
                break;
        }
        if (k == n) {
            /* Only cycles: move 0's destination to RAX, whoever read it
             * reads RAX, and move 0 goes. */
            k = 0;
            x_mov_rr(b, 8, XAX, dst[0]);
            for (unsigned o = 1; o < n; o++)
                if (src[o] == dst[0])
                    src[o] = XAX;
        }
        x_mov_rr(b, 8, dst[k], src[k]);
        src[k] = src[n - 1];
        dst[k] = dst[n - 1];
        n--;
    }
}

/* A self loop's jump back with allocation r: the registers the head does
 * not keep dirty are stored when r has them dirty; the pending record
 * too, unless the body overwrites every flag before anything can look
 * (live_in); the head's registers that r holds in another host register
 * are moved there (parallel_moves), those r does not hold are loaded.
 * Then the entry's checks (events, budget, epoch) run with the registers
 * kept, and the body starts again after its loads.  When a check fails,
 * the head's dirty registers and the record are stored and the entry runs
 * its checks again and leaves (or compares the bytes and loads them
 * again). */
static void emit_loop_edge(struct jctx *t, const struct ra *r, const struct pend *p, unsigned done)
{
    struct xbuf *b = &t->b;
    const struct ra *head = t->head;
    for (int g = 0; g < 16; g++) {
        uint16_t bit = (uint16_t)(1u << g);
        if (r->host[g] >= 0 && (r->dirty & bit) && !(head->host[g] >= 0 && (head->dirty & bit)))
            x_store(b, 8, xm(RCPU, OFF_GPR(g)), r->host[g]);
    }
    bool dead = p && p->op >= 0 && !t->live_in;
    if (p && !dead) {
        struct ra saved = t->ra;
        t->ra = *r;   /* a helper call keeps the registers r holds */
        materialize(t, p, true);
        t->ra = saved;
    }
    int8_t src[16], dst[16];
    unsigned n = 0;
    for (int g = 0; g < 16; g++)
        if (head->host[g] >= 0 && r->host[g] >= 0 && r->host[g] != head->host[g]) {
            src[n] = r->host[g];
            dst[n++] = head->host[g];
        }
    parallel_moves(b, src, dst, n);
    for (int g = 0; g < 16; g++)
        if (head->host[g] >= 0 && r->host[g] < 0)
            x_load(b, 8, head->host[g], xm(RCPU, OFF_GPR(g)));
    if (done)
        x_lea(b, 8, RCOUNT, xm(RCOUNT, (int32_t)done));
    /* Events and budget; the epoch (and a trace's map epoch) only when an
     * instruction of the translation runs by its handler: CPUID's ends
     * the epoch with more than one vCPU and the block goes on.  Else the
     * epoch the entry compared cannot have changed since (a store into
     * code ends it in a memory access's handler, which also stops the
     * block: mmu.c's note_code_write; what else ends one runs in C). */
    uint8_t *fail[3] = { NULL, NULL, NULL };
    if (t->whole_handler) {
        emit_entry_checks(t, fail, true);
        x_patch32(b, x_jmp32(b), t->loop_head);
    } else {
        /* The budget check alone: its jbe is the jump back (one taken
         * branch per trip), a failed check falls through. */
        emit_budget_compare(t);
        x_patch32(b, x_jcc32(b, 6), t->loop_head);   /* jbe */
    }
    for (int k = 0; k < 3; k++)
        if (fail[k])
            x_patch32(b, fail[k], x_rx(b));
    emit_writeback(t, head);
    if (dead)
        materialize(t, p, false);
    x_patch32(b, x_jmp32(b), t->entry);
}

/* Leaves to guest RIP `rip` after `done` instructions, through the link
 * when it holds, else back to C (RAX = the exit record). */
static void emit_exit_static(struct jctx *t, const struct ra *r, const struct pend *p, uint64_t rip,
                             unsigned done)
{
    struct xbuf *b = &t->b;
    if (rip == t->rips[0] && !t->head && !t->loop_seen) {
        t->loop_seen = true;
        t->loop_ra = *r;
    }
    if (rip == t->rips[0] && t->head) {
        emit_loop_edge(t, r, p, done);
        return;
    }
    emit_writeback(t, r);
    if (p)
        materialize(t, p, false);
    if (t->xcount)   /* the host flags are no one's after the record */
        x_alu_mi(b, 4, ALU_ADD, xmrip(t->xcount), 1);
    if (done)
        x_lea(b, 8, RCOUNT, xm(RCOUNT, (int32_t)done));
    if (rip == t->rips[0]) {
        /* Back to its own start (a loop): the bytes compared in a new
         * epoch (the entry does it), then straight to the checks of
         * events and budget, past the heat, no link needed.  The map epoch
         * cannot change inside translated code (CR3 writes, INVLPG and
         * flushes end translations), so this RIP still fetches these
         * bytes. */
        x_patch32(b, emit_epoch_check(t), t->entry);
        x_patch32(b, x_jmp32(b), t->checks);
        return;
    }
    struct jit_exit *x = exit_new(t, JX_STATIC, rip);
    x_load(b, 8, XAX, xm(RCPU, OFF_EPOCH));
    x_alu_rm(b, 8, ALU_CMP, XAX, xmrip(&x->epochs));
    uint8_t *jne = x_jcc32(b, 5);
    x_jmp_mem(b, xmrip(&x->target));
    x_patch32(b, jne, x_rx(b));
    x->target = x_rx(b);
    x_lea(b, 8, XAX, xmrip(x));   /* x->rip is rip: links are made only for it */
    x_jmp_abs(b, t->j->relink);
}

/* The jump cache probe of a dynamic exit (RDX = the guest RIP): the entry
 * at RIP's index into rb (ra scratch); a hit with this map epoch jumps to
 * its code.  Returns the two jne's to patch to the miss path. */
static void emit_jc_probe(struct xbuf *b, const struct jc_entry *table, int ra, int rb,
                          uint8_t *jne[2], struct jit_exit *x)
{
    x_imul_rri(b, 4, ra, XDX, (int32_t)JC_MUL);   /* jc_index, times the entry size */
    x_rr(b, 4, 0xc1, 5, ra);                  /* shr ra, 32 - JC_BITS - JC_SHIFT */
    x8(b, 32 - JC_BITS - JC_SHIFT);
    x_alu_ri(b, 4, ALU_AND, ra, (JC_SIZE - 1) << JC_SHIFT);
    x_lea(b, 8, rb, xmrip(table));
    x_alu_rr(b, 8, ALU_ADD, rb, ra);          /* the entry */
    x_alu_rm(b, 8, ALU_CMP, XDX, xm(rb, 0));
    jne[0] = x_jcc32(b, 5);
    x_load(b, 4, ra, xm(RCPU, OFF_MAP_EPOCH));
    x_alu_rm(b, 4, ALU_CMP, ra, xm(rb, (int32_t)offsetof(struct jc_entry, epoch)));
    jne[1] = x_jcc32(b, 5);
    if (x) {
        /* A hit for exit record x, which holds no link of these epochs
         * (none yet: the target was in the jump cache before this exit
         * first ran, and C links only what it finds there): linked to
         * the entry found, which compares its own epoch, so that the next
         * run of the exit to it takes the record's compare instead of
         * this lookup.  A link made in these epochs stays (the first). */
        x_load(b, 8, ra, xm(RCPU, OFF_EPOCH));
        x_alu_rm(b, 8, ALU_CMP, ra, xmrip(&x->epochs));
        uint8_t *kept = x_jcc32(b, 4);   /* je */
        x_store(b, 8, xmrip(&x->epochs), ra);
        x_store(b, 8, xmrip(&x->rip), XDX);
        x_load(b, 8, ra, xm(rb, (int32_t)offsetof(struct jc_entry, code)));
        x_store(b, 8, xmrip(&x->target), ra);
        x_patch32(b, kept, x_rx(b));
    }
    x_jmp_mem(b, xm(rb, (int32_t)offsetof(struct jc_entry, code)));
}

/* A dynamic exit's record, with the count of the done instructions added;
 * the transfer (instruction done - 1) is undone by emu_jit_run when its
 * target is not canonical. */
static struct jit_exit *dyn_exit_new(struct jctx *t, unsigned done)
{
    if (done)
        x_lea(&t->b, 8, RCOUNT, xm(RCOUNT, (int32_t)done));
    struct jit_exit *x = exit_new(t, JX_DYNAMIC, ~0ULL);
    if (done) {
        const struct emu_insn *i = &t->insn[done - 1];
        x->from = t->rips[done - 1];
        x->sp_moved = (int8_t)(i->kind == EK_RET ? 8 : i->kind == EK_CALL_IND ? -8 : 0);
    }
    return x;
}

/* Leaves to the guest RIP in RDX (RET, indirect branches, handlers that
 * moved RIP); the record remembers the last target it was linked for. */
static void emit_exit_dynamic(struct jctx *t, const struct ra *r, const struct pend *p, unsigned done)
{
    struct xbuf *b = &t->b;
    emit_writeback(t, r);
    if (p && p->op >= 0) {
        x_store(b, 8, xm(XSP, 0), XDX);   /* the target, across the record's store */
        materialize(t, p, false);
        x_load(b, 8, XDX, xm(XSP, 0));
    }
    struct jit_exit *x = dyn_exit_new(t, done);
    x_alu_rm(b, 8, ALU_CMP, XDX, xmrip(&x->rip));
    uint8_t *jne1 = x_jcc32(b, 5);
    x_load(b, 8, XAX, xm(RCPU, OFF_EPOCH));
    x_alu_rm(b, 8, ALU_CMP, XAX, xmrip(&x->epochs));
    uint8_t *jne2 = x_jcc32(b, 5);
    x_jmp_mem(b, xmrip(&x->target));
    /* Not the last target: the jump cache entry, when it has this RIP and
     * belongs to this map epoch. */
    x_patch32(b, jne1, x_rx(b));
    x_patch32(b, jne2, x_rx(b));
    uint8_t *miss[2];
    emit_jc_probe(b, &t->j->jc->e[t->c->cpl == 3][0], XAX, XCX, miss, x);
    x_patch32(b, miss[0], x_rx(b));
    x_patch32(b, miss[1], x_rx(b));
    x->target = x_rx(b);
    x_store(b, 8, xm(RCPU, OFF_RIP), XDX);
    x_lea(b, 8, XAX, xmrip(x));
    x_jmp_abs(b, t->j->exit_common);
}

/* The lookup of emit_exit_dynamic, shared: for exits taken seldom, where
 * 100 bytes of code at each would only crowd the hot code (the exit after
 * a handler call, which leaves only when the handler moved RIP: a fault,
 * a REP slice, a taken LOOP).  RAX = the exit record, RDX = the guest RIP;
 * the same last-target compare, jump cache and way back to C, with RCX
 * and RSI as scratch (nothing is live at an exit).  Hot exits keep their
 * own copy: one shared indirect jump would be mispredicted for all. */
static void emit_dyn_exit_routines(struct emu_jit *j, struct xbuf *b)
{
    for (int u = 0; u < 2; u++) {
        j->dyn_exit[u] = x_rx(b);
        x_alu_rm(b, 8, ALU_CMP, XDX, xm(XAX, (int32_t)offsetof(struct jit_exit, rip)));
        uint8_t *jne1 = x_jcc32(b, 5);
        x_load(b, 8, XCX, xm(RCPU, OFF_EPOCH));
        x_alu_rm(b, 8, ALU_CMP, XCX, xm(XAX, (int32_t)offsetof(struct jit_exit, epochs)));
        uint8_t *jne2 = x_jcc32(b, 5);
        x_jmp_mem(b, xm(XAX, (int32_t)offsetof(struct jit_exit, target)));
        x_patch32(b, jne1, x_rx(b));
        x_patch32(b, jne2, x_rx(b));
        uint8_t *miss[2];
        emit_jc_probe(b, &j->jc->e[u][0], XCX, XSI, miss, NULL);   /* RAX stays */
        x_patch32(b, miss[0], x_rx(b));
        x_patch32(b, miss[1], x_rx(b));
        j->dyn_miss[u] = x_rx(b);
        x_store(b, 8, xm(RCPU, OFF_RIP), XDX);
        x_jmp_abs(b, j->exit_common);
    }
}

/* ---- instructions run by their handler ----------------------------------------------- */

/* Calls instruction k's interpreter handler with RIP, next RIP and the
 * count as the interpreter would have them (registers written back by
 * the caller); the routine leaves when it moved RIP or stopped the block,
 * through the translation's one JX_HANDLER record (a record per call
 * made the data area fill before the code cache). */
static void emit_handler_call(struct jctx *t, unsigned k)
{
    struct xbuf *b = &t->b;
    int u = t->c->cpl == 3;
    if (!t->hexit) {
        t->hexit = exit_new(t, JX_HANDLER, ~0ULL);
        t->hexit->target = t->j->dyn_miss[u];
    }
    struct jit_hcall *h = jit_data_alloc(t->j, sizeof(*h));
    if (!h || t->fail) {
        t->fail = true;
        return;
    }
    h->insn = t->insn[k];
    h->rip = t->rips[k];
    h->k = k;
    h->exit_off = (int32_t)((intptr_t)t->hexit - (intptr_t)h);
    x_lea(b, 8, XSI, xmrip(h));
    vec_release(t);
    call_rx(b, t->j->hcall[u]);
}

static void emit_interp(struct jctx *t)
{
    ra_flush(t);
    if (t->pend.op >= 0) {
        struct pend p = t->pend;
        t->pend.op = -1;
        materialize(t, &p, false);
    }
    if (cfg_dump) {
        const struct emu_insn *i = &t->insn[t->k];
        char line[96];
        snprintf(line, sizeof(line), "interp %#llx map %d op %02x /%d mod %d\n",
                 (unsigned long long)t->rips[t->k], i->map, i->op, (i->modrm >> 3) & 7, i->mod);
        dump_file("idx", "a", NULL, 0, line);
        x_mov_ri(&t->b, XAX, (uint64_t)(uintptr_t)&dump_interp[i->map & 3][i->op][(i->modrm >> 3) & 7]);
        x_rm(&t->b, 8, 0xff, 0, xm(XAX, 0), 0);   /* inc qword [rax] */
    }
    t->whole_handler = true;
    emit_handler_call(t, t->k);
    t->hf = 0;
    t->mem_op = -1;
    t->mx_checked = false;   /* LDMXCSR, FXRSTOR, XRSTOR run here */
}

/* ---- integer instructions ---------------------------------------------------------- */

/* Emits dst op= src (src a host register or, when sreg < 0, imm) for an
 * ALU operation; TEST is AND and CMP is SUB without the result.  When its
 * flags are live, a register form's lazy record becomes pending (PF1/PF2),
 * a memory form's (mem) or ADC/SBB's is stored now. */
static void alu_core(struct jctx *t, int op, unsigned size, int dst, int sreg, int64_t imm, bool test,
                     bool mem)
{
    struct xbuf *b = &t->b;
    bool live = t->live[t->k];
    bool writes = op != ALU_CMP && !test;
    bool carry = op == ALU_ADC || op == ALU_SBB;
    int cc = test ? CC_OP_LOGIC : alu_cc_op(op);
    if (carry) {
        need_flags(t, HF_C);
        if (live) {
            x_setcc(b, 2, XAX);                         /* setc al */
            x_movzx_rr(b, 1, XAX, XAX);
            x_store(b, 8, xm(RCPU, OFF_LAZY_AUX), XAX);
        }
    }
    t->pend.op = -1;   /* every flag is written: an older pending record is done with */
    t->hf = HF_ALL;
    if (!live) {
        if (test) {
            if (sreg >= 0) x_test_rr(b, size, dst, sreg);
            else x_test_ri(b, size, dst, (uint64_t)imm);
        } else {
            if (sreg >= 0) x_alu_rr(b, size, op, dst, sreg);
            else x_alu_ri(b, size, op, dst, imm);
        }
        return;
    }
    if (mem && !carry) {
        /* The slow path (the handler) stores the record: its stub loads
         * PF1/PF2 back from it, and the record waits in them the same. */
        uint8_t pf = cc == CC_OP_LOGIC ? PF_RES : sreg >= 0 ? PF_S1_S2 : PF_S1;
        for (unsigned s = 0; s < t->nstubs; s++)
            if (t->stubs[s].kind == ST_INTERP && t->stubs[s].k == t->k && !t->stubs[s].resume)
                t->stubs[s].reload_pf = pf;
    }
    if (!carry) {
        /* The record waits in PF1/PF2. */
        if (cc == CC_OP_LOGIC) {
            if (test) {
                x_mov_rr(b, 8, PF1, dst);
                if (sreg >= 0) x_alu_rr(b, size, ALU_AND, PF1, sreg);
                else x_alu_ri(b, size, ALU_AND, PF1, imm);
            } else {
                if (sreg >= 0) x_alu_rr(b, size, op, dst, sreg);
                else x_alu_ri(b, size, op, dst, imm);
                x_mov_rr(b, 8, PF1, dst);
            }
            pend_set(t, CC_OP_LOGIC, size, false, 0, false);
            return;
        }
        x_mov_rr(b, 8, PF1, dst);
        if (sreg >= 0)
            x_mov_rr(b, 8, PF2, sreg);
        if (sreg >= 0) x_alu_rr(b, size, op, dst, sreg);
        else x_alu_ri(b, size, op, dst, imm);
        pend_set(t, cc, size, sreg < 0, imm, false);
        return;
    }
    /* Stored now. */
    x_store(b, 8, xm(RCPU, OFF_LAZY_S1), dst);
    if (sreg >= 0)
        x_store(b, 8, xm(RCPU, OFF_LAZY_S2), sreg);
    else
        x_store_imm(b, 8, xm(RCPU, OFF_LAZY_S2), (uint64_t)imm);
    int r = dst;
    if (!writes) {
        x_mov_rr(b, 8, XAX, dst);
        r = XAX;
    }
    if (test) {
        if (sreg >= 0) x_alu_rr(b, size, ALU_AND, r, sreg);
        else x_alu_ri(b, size, ALU_AND, r, imm);
    } else {
        int hop = !writes ? ALU_SUB : op;
        if (sreg >= 0) x_alu_rr(b, size, hop, r, sreg);
        else x_alu_ri(b, size, hop, r, imm);
    }
    x_store(b, 8, xm(RCPU, OFF_LAZY_RES), r);
    flags_op(t, cc, size);
}

/* A byte ALU operation of registers where one operand is AH..BH: on
 * copies in RAX (destination) and RDX (source), the result put back
 * (TEST, op ALU_AND: none; an IF test of saved flags, `test $0x2, %ah`). */
static bool emit_alu_high(struct jctx *t, int op, unsigned d, unsigned s, bool imm_form, int64_t imm,
                          bool dh, bool sh, bool test)
{
    if (op == ALU_ADC || op == ALU_SBB)
        return false;   /* their flags code uses RAX */
    int hs = -1;
    if (!imm_form) {
        hs = ra_get(t, (int)(sh ? s - 4 : s), true);
        if (sh) {
            hb_extract(t, XDX, hs);
            hs = XDX;
        }
    }
    int gd = (int)(dh ? d - 4 : d);
    int hd = ra_get(t, gd, true);
    int r = hd;
    if (dh) {
        hb_extract(t, XAX, hd);
        r = XAX;
    }
    alu_core(t, op, 1, r, hs, imm, test, false);
    if (op != ALU_CMP && !test) {
        if (dh)
            hb_insert(t, hd, XAX);
        ra_dirty(t, gd);
    }
    return true;
}

/* The start of a memory form with a register or immediate source: *hs =
 * the source's host register, or -1 for an immediate form, then RCX = the
 * operand's host address (emit_ea, emit_tlb, a flag-setting access);
 * false, nothing emitted: a source in AH..BH (the handler's). */
static bool mem_lookup(struct jctx *t, const struct emu_insn *i, unsigned size, bool imm_form, bool write,
                       int *hs)
{
    *hs = -1;
    if (!imm_form) {
        if (high_byte(i, size, i->reg))
            return false;
        *hs = ra_get(t, i->reg, true);
    }
    emit_ea(t, i);
    emit_tlb(t, size, write, true);
    return true;
}

static void locked_done(struct jctx *t, int cc, unsigned size, bool live);

/* LOCK ADD/SUB/AND/OR/XOR of memory whose flags no one reads (Linux's
 * smp_mb() is LOCK ADD $0 to the stack; set_bit and clear_bit are LOCK
 * OR and AND): the host's locked instruction on the host address, so
 * other vCPUs' atomics on the same guest RAM stay atomic with it; its
 * host flags are the guest's.  A miss, MMIO or fault runs the handler
 * (the interpreter's host atomics). */
static bool emit_alu_locked(struct jctx *t, const struct emu_insn *i, int op, unsigned size, bool imm_form,
                            int64_t imm)
{
    struct xbuf *b = &t->b;
    bool to_mem = i->op >= 0x80 || (i->op & 7) < 2;
    if (i->mod == 3 || !to_mem || t->live[t->k] || op == ALU_ADC || op == ALU_SBB || op == ALU_CMP)
        return false;
    int hs;
    if (!mem_lookup(t, i, size, imm_form, true, &hs))
        return false;
    if (hs >= 0) {
        x_mov_rr(b, 8, XDX, hs);
        x8(b, 0xf0);                                          /* lock */
        x_rm(b, size, (uint32_t)(op << 3 | (size > 1)), XDX, xm(XCX, 0), 0);   /* op [rcx], rdx */
    } else if (size == 1 || imm == (int64_t)(int8_t)imm) {
        x8(b, 0xf0);
        x_rm(b, size, size == 1 ? 0x80 : 0x83, op, xm(XCX, 0), 1);           /* op [rcx], imm8 */
        x8(b, (uint8_t)imm);
    } else {
        x8(b, 0xf0);
        x_rm(b, size, 0x81, op, xm(XCX, 0), size == 2 ? 2 : 4);             /* op [rcx], imm16|32 */
        if (size == 2) {
            x8(b, (uint8_t)imm);
            x8(b, (uint8_t)(imm >> 8));
        } else {
            x32(b, (uint32_t)imm);
        }
    }
    locked_done(t, 0, size, false);
    return true;
}

static bool emit_alu(struct jctx *t, const struct emu_insn *i)
{
    int op = emu_alu_op(i);
    bool imm_form = (i->map == MAP_1 && i->op >= 0x80) || (i->op & 7) >= 4;
    unsigned size = i->op >= 0x80 ? (i->op == 0x81 || i->op == 0x83 ? i->opsize : 1) : op_size_w(i);
    if ((op == ALU_ADC || op == ALU_SBB) && i->mod != 3)
        return false;
    int64_t imm = (int64_t)(i->imm & emu_size_mask(size));
    if (size == 8 || size == 4)
        imm = size == 8 ? (int64_t)i->imm : (int64_t)(int32_t)i->imm;
    if (size == 8 && !x_fits32(imm))
        return false;
    if (i->prefix & PFX_LOCK)
        return emit_alu_locked(t, i, op, size, imm_form, imm);
    if (i->mod == 3) {
        unsigned d, s = 0;
        if (i->op < 0x40 && (i->op & 7) >= 4)
            d = R_RAX;
        else if (i->op < 0x40 && (i->op & 7) >= 2) {
            d = i->reg;
            s = i->rm;
        } else {
            d = i->rm;
            s = i->reg;
        }
        bool dh = high_byte(i, size, d), sh = !imm_form && high_byte(i, size, s);
        if (dh || sh)
            return emit_alu_high(t, op, d, s, imm_form, imm, dh, sh, false);
        int hs = imm_form ? -1 : ra_get(t, (int)s, true);
        int hd = ra_get(t, (int)d, true);
        alu_core(t, op, size, hd, hs, imm, false, false);
        if (op != ALU_CMP)
            ra_dirty(t, (int)d);
        return true;
    }
    /* Memory forms. */
    bool to_mem = i->op >= 0x80 || (i->op & 7) < 2;
    if (!to_mem) {   /* op reg, [mem] */
        if (high_byte(i, size, i->reg))
            return false;
        int hd = ra_get(t, i->reg, true);
        emit_ea(t, i);
        emit_tlb(t, size, false, true);
        x_load(&t->b, size, XDX, xm(XCX, 0));
        alu_core(t, op, size, hd, XDX, 0, false, true);
        if (op != ALU_CMP)
            ra_dirty(t, i->reg);
        mem_done(t);
        return true;
    }
    int hs;
    if (!mem_lookup(t, i, size, imm_form, op != ALU_CMP, &hs))
        return false;
    /* RDX = [mem]; op; store (CMP: no store). */
    x_load(&t->b, size, XDX, xm(XCX, 0));
    alu_core(t, op, size, XDX, hs, imm, false, true);
    if (op != ALU_CMP)
        x_store(&t->b, size, xm(XCX, 0), XDX);
    mem_done(t);
    return true;
}

static bool emit_test(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = op_size_w(i);
    int64_t imm = size == 8 ? (int64_t)i->imm : (int64_t)(i->imm & emu_size_mask(size));
    if (size == 4)
        imm = (int64_t)(int32_t)(uint32_t)i->imm;
    if (size == 8 && !x_fits32(imm))
        return false;
    bool imm_form = i->op == 0xa8 || i->op == 0xa9 || i->op == 0xf6 || i->op == 0xf7;
    unsigned a = i->op == 0xa8 || i->op == 0xa9 ? R_RAX : i->rm;
    if (i->mod == 3) {
        bool dh = high_byte(i, size, a), sh = !imm_form && high_byte(i, size, i->reg);
        if (dh || sh)
            return emit_alu_high(t, ALU_AND, a, i->reg, imm_form, imm, dh, sh, true);
        int hs = imm_form ? -1 : ra_get(t, i->reg, true);
        int ha = ra_get(t, (int)a, true);
        alu_core(t, ALU_AND, size, ha, hs, imm, true, false);
        return true;
    }
    int hs;
    if (!mem_lookup(t, i, size, imm_form, false, &hs))
        return false;
    x_load(&t->b, size, XDX, xm(XCX, 0));
    alu_core(t, ALU_AND, size, XDX, hs, imm, true, true);
    mem_done(t);
    return true;
}

/* INC/DEC of memory: CF is kept, so the lazy record (when live, stored
 * now) needs the CF before, which the caller left in [rsp + SLOT_TMP]. */
static void incdec_mem_core(struct jctx *t, unsigned size, bool dec, int r)
{
    struct xbuf *b = &t->b;
    if (t->live[t->k]) {
        x_rm(b, 4, 0xb60f, XAX, xm(XSP, SLOT_TMP), 0);   /* movzx eax, byte [rsp+8] */
        x_store(b, 8, xm(RCPU, OFF_LAZY_AUX), XAX);
        x_store(b, 8, xm(RCPU, OFF_LAZY_S1), r);
        x_incdec(b, size, dec, r);
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), r);
        x_store_imm(b, 8, xm(RCPU, OFF_LAZY_S2), 1);
        flags_op(t, dec ? CC_OP_DEC : CC_OP_INC, size);
        t->pend.op = -1;
    } else {
        x_incdec(b, size, dec, r);
    }
    t->hf = (uint8_t)((t->hf & HF_C) | HF_O | HF_ZSP);
}

static bool emit_incdec(struct jctx *t, const struct emu_insn *i)
{
    if (i->prefix & PFX_LOCK)
        return false;
    unsigned size = i->op == 0xfe ? 1 : i->opsize;
    bool dec = i->kind == EK_DEC;
    struct xbuf *b = &t->b;
    if (i->op >= 0x40 && i->op <= 0x4f)
        return false;   /* not in 64-bit mode */
    if (i->mod == 3) {
        if (high_byte(i, size, i->rm))
            return false;
        int h = ra_get(t, i->rm, true);
        if (!t->live[t->k]) {
            /* An older pending record keeps the CF it had. */
            x_incdec(b, size, dec, h);
            t->hf = (uint8_t)((t->hf & HF_C) | HF_O | HF_ZSP);
            ra_dirty(t, i->rm);
            return true;
        }
        /* The CF before goes to PF2, or stays in the record in memory. */
        bool aux_mem = !(t->hf & HF_C) && t->pend.op < 0;
        if (!aux_mem) {
            need_flags(t, HF_C);
            x_setcc(b, 2, XAX);
            x_movzx_rr(b, 1, PF2, XAX);
        }
        x_mov_rr(b, 8, PF1, h);
        x_incdec(b, size, dec, h);
        pend_set(t, dec ? CC_OP_DEC : CC_OP_INC, size, false, 0, aux_mem);
        t->hf = aux_mem ? (HF_O | HF_ZSP) : HF_ALL;
        ra_dirty(t, i->rm);
        return true;
    }
    if (t->live[t->k]) {
        /* The CF that INC/DEC keep, saved before anything clobbers it. */
        need_flags(t, HF_C);
        x_rm(b, 1, 0x920f, 0, xm(XSP, SLOT_TMP), 0);   /* setc byte [rsp+8] */
    }
    emit_ea(t, i);
    emit_tlb(t, size, true, true);
    x_load(b, size, XDX, xm(XCX, 0));
    incdec_mem_core(t, size, dec, XDX);
    x_store(b, size, xm(XCX, 0), XDX);
    mem_done(t);
    return true;
}

static bool emit_notneg(struct jctx *t, const struct emu_insn *i)
{
    if (i->mod != 3)
        return false;
    unsigned size = op_size_w(i);
    if (high_byte(i, size, i->rm))
        return false;
    int h = ra_get(t, i->rm, true);
    struct xbuf *b = &t->b;
    if (i->kind == EK_NOT) {
        x_grp3(b, size, 2, h);
    } else {
        t->pend.op = -1;
        if (t->live[t->k]) {
            x_mov_rr(b, 8, PF1, h);
            pend_set(t, CC_OP_NEG, size, false, 0, false);
        }
        x_grp3(b, size, 3, h);
        t->hf = HF_ALL;
    }
    ra_dirty(t, i->rm);
    return true;
}

static bool emit_shift(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = op_size_w(i), bits = size * 8;
    int g = GRP_OF(i);
    bool mem = i->mod != 3;
    if (g == SH_RCL || g == SH_RCR)
        return false;
    if (!mem && high_byte(i, size, i->rm))
        return false;
    if (mem && (i->op == 0xd2 || i->op == 0xd3))
        return false;
    struct xbuf *b = &t->b;
    bool live = t->live[t->k];
    unsigned mask = size == 8 ? 63 : 31;
    if (i->op == 0xd2 || i->op == 0xd3) {   /* by CL */
        if (size < 4 || g == SH_ROL || g == SH_ROR)
            return false;
        int hc = ra_get(t, R_RCX, true);
        int h = ra_get(t, i->rm, true);
        if (live)
            pend_flush(t);   /* a count of 0 keeps the record before: in memory */
        x_mov_rr(b, 4, XCX, hc);
        x_alu_ri(b, 4, ALU_AND, XCX, mask);
        uint8_t *jz = x_jcc32(b, 4);
        if (live) {
            x_store(b, 8, xm(RCPU, OFF_LAZY_S1), h);
            x_store(b, 8, xm(RCPU, OFF_LAZY_S2), XCX);
        }
        x_shift_cl(b, size, g, h);
        if (live) {
            x_store(b, 8, xm(RCPU, OFF_LAZY_RES), h);
            /* not flags_op: the zero-count path keeps the old record */
            int saved_op = t->mem_op, saved_size = t->mem_size;
            t->mem_op = -1;
            flags_op(t, g == SH_SHR ? CC_OP_SHR : g == SH_SAR ? CC_OP_SAR : CC_OP_SHL, size);
            (void)saved_op;
            (void)saved_size;
        }
        uint8_t *jdone = x_jmp32(b);
        x_patch32(b, jz, x_rx(b));
        if (size == 4)
            x_mov_rr(b, 4, h, h);
        x_patch32(b, jdone, x_rx(b));
        ra_dirty(t, i->rm);
        t->hf = 0;
        t->mem_op = -1;
        if (!live)
            t->pend.op = -1;   /* dead: nothing reads what it leaves */
        return true;
    }
    unsigned cnt = i->op <= 0xc1 ? (unsigned)i->imm & mask : 1;
    if (cnt >= bits && g != SH_ROL && g != SH_ROR)
        return false;   /* byte/word shifts by 8..31: CF as emu defines it */
    int h;
    if (live && (g == SH_ROL || g == SH_ROR))
        pend_flush(t);   /* the rotate's record starts from the one in memory */
    if (mem) {
        /* Read-modify-write: the shifted value in RDX, stored back below. */
        emit_ea(t, i);
        emit_tlb(t, size, cnt != 0, cnt != 0);
        h = XDX;
        x_load(b, size, XDX, xm(XCX, 0));
        if (cnt == 0) {
            mem_done(t);
            return true;
        }
    } else {
        h = ra_get(t, i->rm, true);
        if (cnt == 0) {
            if (size == 4)
                x_mov_rr(b, 4, h, h);
            ra_dirty(t, i->rm);
            return true;
        }
    }
    if (g == SH_ROL || g == SH_ROR) {
        x_shift_ri(b, size, g, h, cnt);
        if (mem)
            x_store(b, size, xm(XCX, 0), XDX);
        else
            ra_dirty(t, i->rm);
        if (live) {
            /* Only CF and OF change: the record becomes materialized flags. */
            call_begin(t);
            x_mov_rr(b, 8, XSI, h);
            x_mov_ri(b, XDX, (uint64_t)g | (uint64_t)size << 8);
            x_mov_rr(b, 8, XDI, RCPU);
            call_end(t, (const void *)jit_rotate_flags);
            t->mem_op = CC_OP_EFLAGS;
            t->mem_size = 0;
            t->stored_record = true;
        }
        if (mem)
            mem_done(t);
        t->hf = 0;
        return true;
    }
    int cc = g == SH_SHR ? CC_OP_SHR : g == SH_SAR ? CC_OP_SAR : CC_OP_SHL;
    t->pend.op = -1;   /* every flag is written */
    if (live && !mem) {
        x_mov_rr(b, 8, PF1, h);
        pend_set(t, cc, size, true, cnt, false);
    } else if (live) {
        x_store(b, 8, xm(RCPU, OFF_LAZY_S1), h);
        x_store_imm(b, 8, xm(RCPU, OFF_LAZY_S2), cnt);
    }
    x_shift_ri(b, size, g, h, cnt);
    if (live && mem) {
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), h);
        flags_op(t, cc, size);
    }
    t->hf = cnt == 1 ? HF_ALL : (HF_C | HF_ZSP);
    if (mem) {
        x_store(b, size, xm(XCX, 0), XDX);
        mem_done(t);
    } else {
        ra_dirty(t, i->rm);
    }
    return true;
}

/* SHLD and SHRD of a register (0F A4/A5, AC/AD), 32 or 64 bits, by an
 * immediate or CL (awk's number formatting: 26 000 per MiB of input ran
 * through the handler): the host's instruction.  When the flags are live,
 * SF ZF PF CF as the host leaves them, OF from the destination's sign
 * change and AF clear, as the interpreter's op_shld_shrd defines them
 * (the host's OF and AF are undefined for counts over 1), stored as
 * materialized flags; a count of 0 (CL) leaves flags and record alone. */
static bool emit_shld(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize, bits = size * 8;
    if (i->mod != 3 || (size != 4 && size != 8))
        return false;
    struct xbuf *b = &t->b;
    bool cl = i->op & 1, live = t->live[t->k];
    unsigned mask = size == 8 ? 63 : 31;
    uint32_t op = (uint32_t)0x0f | (uint32_t)i->op << 8;
    int hc = cl ? ra_get(t, R_RCX, true) : -1;
    int hs = ra_get(t, i->reg, true);
    int h = ra_get(t, i->rm, true);
    uint8_t *jz = NULL;
    if (cl) {
        if (live)
            pend_flush(t);   /* a count of 0 keeps the record before: in memory */
        x_mov_rr(b, 4, XCX, hc);
        x_alu_ri(b, 4, ALU_AND, XCX, mask);
        jz = x_jcc32(b, 4);
    } else if (((unsigned)i->imm & mask) == 0) {
        if (size == 4)
            x_mov_rr(b, 4, h, h);
        ra_dirty(t, i->rm);
        return true;
    }
    if (live)
        x_mov_rr(b, 8, XDX, h);
    x_rr(b, size, op, hs, h);
    if (!cl)
        x8(b, (uint8_t)(i->imm & mask));
    if (live) {
        x8(b, 0x9f);                                         /* lahf: SF ZF AF PF CF */
        x8(b, 0x0f); x8(b, 0xb6); x8(b, 0xc4);               /* movzx eax, ah */
        x_alu_ri(b, 4, ALU_AND, XAX, RFLAGS_SF | RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF);
        x_alu_rr(b, size, ALU_XOR, XDX, h);
        x_rr(b, size, 0xc1, 5, XDX);                         /* shr: the sign change */
        x8(b, (uint8_t)(bits - 1));
        x_rr(b, 4, 0xc1, 4, XDX);                            /* shl edx, 11: OF */
        x8(b, 11);
        x_alu_rr(b, 4, ALU_OR, XAX, XDX);
        rflags_set_arith(b, XCX, XAX);
        t->pend.op = -1;
        t->mem_op = -1;
        flags_op(t, CC_OP_EFLAGS, 0);
    }
    if (cl) {
        uint8_t *jdone = x_jmp32(b);
        x_patch32(b, jz, x_rx(b));
        if (size == 4)
            x_mov_rr(b, 4, h, h);
        x_patch32(b, jdone, x_rx(b));
        t->mem_op = -1;   /* either record */
    }
    ra_dirty(t, i->rm);
    t->hf = 0;
    if (!live)
        t->pend.op = -1;   /* dead: nothing reads what it leaves */
    return true;
}

/* The record of a multiply whose low half is in host register res and
 * whose CF = OF the host flags hold: pending for a register form, stored
 * for a memory form (its slow path stores it too), when live. */
static void mul_record(struct jctx *t, int cc, unsigned size, int res, bool mem)
{
    struct xbuf *b = &t->b;
    t->pend.op = -1;   /* every flag is written */
    if (t->live[t->k] && !mem) {
        x_setcc(b, 0, XAX);                /* seto al */
        x_movzx_rr(b, 1, PF2, XAX);
        x_mov_rr(b, 8, PF1, res);
        pend_set(t, cc, size, false, 0, false);
    } else if (t->live[t->k]) {
        x_setcc(b, 0, XAX);
        x_movzx_rr(b, 1, XAX, XAX);
        x_store(b, 8, xm(RCPU, OFF_LAZY_AUX), XAX);
        x_store(b, 8, xm(RCPU, OFF_LAZY_RES), res);
        flags_op(t, cc, size);
    }
    t->hf = HF_C | HF_O;
}

static bool emit_imul(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    if (size < 2)
        return false;
    struct xbuf *b = &t->b;
    bool three = i->map == MAP_1;
    int hs;
    if (i->mod == 3) {
        hs = ra_get(t, i->rm, true);
    } else {
        hs = XDX;
    }
    int hd = ra_get(t, i->reg, !three || size == 2);
    if (i->mod != 3) {
        emit_ea(t, i);
        emit_tlb(t, size, false, true);
        x_load(b, size, XDX, xm(XCX, 0));
    }
    if (three)
        x_imul_rri(b, size, hd, hs, (int32_t)i->imm);
    else
        x_imul_rr(b, size, hd, hs);
    mul_record(t, CC_OP_IMUL, size, hd, i->mod != 3);
    ra_dirty(t, i->reg);
    if (i->mod != 3)
        mem_done(t);
    return true;
}

/* The registers of F7 /4-/7 (MUL, IMUL, DIV, IDIV) of 32 or 64 bits:
 * r/m (when a register), RAX and RDX (loaded when rdx_in); false: another
 * form, run by its handler. */
static bool f7_operands(struct jctx *t, const struct emu_insn *i, bool rdx_in, int *hs, int *ha, int *hd)
{
    if (i->op != 0xf7 || i->opsize < 4)
        return false;
    *hs = i->mod == 3 ? ra_get(t, i->rm, true) : -1;
    *ha = ra_get(t, R_RAX, true);
    *hd = ra_get(t, R_RDX, rdx_in);
    return true;
}

/* The host's RAX and RDX (a MUL's or DIV's results) into guest RAX and
 * RDX, cached in ha and hd. */
static void rax_rdx_back(struct jctx *t, int ha, int hd)
{
    x_mov_rr(&t->b, 8, ha, XAX);
    x_mov_rr(&t->b, 8, hd, XDX);
    ra_dirty(t, R_RAX);
    ra_dirty(t, R_RDX);
}

/* MUL and one-operand IMUL (F7 /4 /5) of 32 and 64 bits: RDX:RAX =
 * RAX * r/m on the host's own RAX and RDX; CF = OF = the high half is
 * more than the low half's extension (the host computes it the same way). */
static bool emit_mul(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    int hs, ha, hd;
    if (!f7_operands(t, i, false, &hs, &ha, &hd))
        return false;
    struct xbuf *b = &t->b;
    int g = GRP_OF(i);   /* 4: MUL, 5: IMUL */
    if (i->mod != 3) {
        emit_ea(t, i);
        emit_tlb(t, size, false, true);
        x_mov_rr(b, 8, XAX, ha);
        x_rm(b, size, 0xf7, g, xm(XCX, 0), 0);
    } else {
        x_mov_rr(b, 8, XAX, ha);
        x_grp3(b, size, g, hs);
    }
    rax_rdx_back(t, ha, hd);
    mul_record(t, g == 4 ? CC_OP_MUL : CC_OP_IMUL, size, ha, i->mod != 3);
    if (i->mod != 3)
        mem_done(t);
    return true;
}

/* DIV/IDIV r/m32|64 (F7 /6 /7) as the host's, when it cannot fault: DIV
 * when the high half (EDX/RDX) is below the divisor (so the divisor is
 * not 0 and the quotient fits), IDIV when EDX/RDX is the sign extension
 * of EAX/RAX and the divisor is neither 0 nor -1 (so the quotient fits).
 * Anything else (#DE, a wide dividend) runs the handler, which raises or
 * divides as the interpreter does.  The flags are left as they were, as
 * the handler leaves them. */
static bool emit_div(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    int hs, ha, hd;
    if (!f7_operands(t, i, true, &hs, &ha, &hd))
        return false;
    struct xbuf *b = &t->b;
    int g = GRP_OF(i);   /* 6: DIV, 7: IDIV */
    t->sets_flags = false;
    if (i->mod != 3) {
        emit_ea(t, i);
        emit_tlb(t, size, false, false);
        x_load(b, size, XCX, xm(XCX, 0));
        hs = XCX;
    }
    if (g == 6) {
        x_alu_rr(b, size, ALU_CMP, hd, hs);
        stub_new(t, ST_INTERP, x_jcc32(b, 3));     /* jae: divisor 0 or a quotient too wide */
    } else {
        x_mov_rr(b, 8, XAX, ha);
        if (size == 8)
            x8(b, 0x48);
        x8(b, 0x99);                                /* cdq / cqo */
        x_alu_rr(b, size, ALU_CMP, XDX, hd);
        stub_new(t, ST_INTERP, x_jcc32(b, 5));     /* jne: the dividend is wider than size */
        x_lea(b, size, XDX, xm(hs, 1));
        x_alu_ri(b, size, ALU_CMP, XDX, 1);
        stub_new(t, ST_INTERP, x_jcc32(b, 6));     /* jbe: divisor 0 or -1 */
    }
    x_mov_rr(b, 8, XAX, ha);
    x_mov_rr(b, 8, XDX, hd);
    x_grp3(b, size, g, hs);
    rax_rdx_back(t, ha, hd);
    t->hf = 0;
    mem_done(t);
    return true;
}

/* MOV r8, r8 where either is AH..BH (sh, dh). */
static bool emit_mov_high(struct jctx *t, unsigned s, unsigned d, bool sh, bool dh)
{
    int src = ra_get(t, (int)(sh ? s - 4 : s), true);
    if (sh) {
        hb_extract(t, XDX, src);
        src = XDX;
    }
    int gd = (int)(dh ? d - 4 : d);
    int hd = ra_get(t, gd, true);
    if (dh)
        hb_insert(t, hd, src);
    else
        x_mov_rr(&t->b, 1, hd, src);
    ra_dirty(t, gd);
    return true;
}

static bool emit_mov(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    unsigned size = op_size_w(i);
    switch (i->op) {
    case 0x88: case 0x89:
        if (i->mod == 3 && (high_byte(i, size, i->reg) || high_byte(i, size, i->rm)))
            return emit_mov_high(t, i->reg, i->rm, high_byte(i, size, i->reg), high_byte(i, size, i->rm));
        if (high_byte(i, size, i->reg))
            return false;
        if (i->mod == 3) {
            int hs = ra_get(t, i->reg, true);
            int hd = ra_get(t, i->rm, size < 4);
            if (size >= 4 || hs != hd)
                x_mov_rr(b, size, hd, hs);
            ra_dirty(t, i->rm);
            return true;
        } else {
            int hs = ra_get(t, i->reg, true);
            emit_ea(t, i);
            emit_tlb(t, size, true, false);
            x_store(b, size, xm(XCX, 0), hs);
            mem_done(t);
            return true;
        }
    case 0x8a: case 0x8b:
        if (i->mod == 3 && (high_byte(i, size, i->reg) || high_byte(i, size, i->rm)))
            return emit_mov_high(t, i->rm, i->reg, high_byte(i, size, i->rm), high_byte(i, size, i->reg));
        if (high_byte(i, size, i->reg))
            return false;
        if (i->mod == 3) {
            int hs = ra_get(t, i->rm, true);
            int hd = ra_get(t, i->reg, size < 4);
            if (size >= 4 || hs != hd)
                x_mov_rr(b, size, hd, hs);
            ra_dirty(t, i->reg);
            return true;
        } else {
            int hd = ra_get(t, i->reg, size < 4);
            emit_ea(t, i);
            emit_tlb(t, size, false, false);
            if (size >= 4)
                x_load(b, size, hd, xm(XCX, 0));
            else
                x_rm(b, size, size == 1 ? 0x8a : 0x8b, hd, xm(XCX, 0), 0);
            ra_dirty(t, i->reg);
            mem_done(t);
            return true;
        }
    case 0xc6: case 0xc7: {
        uint64_t imm = size == 8 ? i->imm : i->imm & emu_size_mask(size);
        if (i->mod == 3) {
            if (high_byte(i, size, i->rm))
                return false;
            int hd = ra_get(t, i->rm, size < 4);
            if (size >= 4)
                x_mov_ri(b, hd, size == 8 ? imm : (uint32_t)imm);
            else {
                x_rr(b, size, size == 1 ? 0xc6 : 0xc7, 0, hd);
                x_imm(b, size, imm);
            }
            ra_dirty(t, i->rm);
            return true;
        }
        emit_ea(t, i);
        emit_tlb(t, size, true, false);
        x_store_imm(b, size, xm(XCX, 0), imm);
        mem_done(t);
        return true;
    }
    default:
        return false;
    }
}

static bool emit_mov_imm(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    if (i->op < 0xb8 && high_byte(i, 1, i->rm)) {   /* MOV AH..BH, imm8 */
        int h = ra_get(t, i->rm - 4, true);
        x_alu_ri(b, 8, ALU_AND, h, (int64_t)(int32_t)0xffff00ffu);
        x_alu_ri(b, 8, ALU_OR, h, (int64_t)((i->imm & 0xff) << 8));
        t->hf = 0;
        ra_dirty(t, i->rm - 4);
        return true;
    }
    if (i->op < 0xb8) {
        int h = ra_get(t, i->rm, true);
        x_rr(b, 1, 0xc6, 0, h);
        x8(b, (uint8_t)i->imm);
    } else if (i->opsize == 2) {
        int h = ra_get(t, i->rm, true);
        x_rr(b, 2, 0xc7, 0, h);
        x_imm(b, 2, i->imm);
    } else {
        int h = ra_get(t, i->rm, false);
        x_mov_ri(b, h, i->opsize == 8 ? i->imm : (uint32_t)i->imm);
    }
    ra_dirty(t, i->rm);
    return true;
}

static bool emit_movx(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    unsigned ss = i->kind == EK_MOVSXD ? 4 : (i->op & 1) ? 2 : 1;
    unsigned ds = i->opsize;
    bool sx = i->kind != EK_MOVZX;
    if (ds == 2 || (i->kind == EK_MOVSXD && ds != 8))
        return false;
    if (i->mod == 3 && high_byte(i, ss, i->rm)) {   /* from AH..BH */
        hb_extract(t, XAX, ra_get(t, i->rm - 4, true));
        int hd = ra_get(t, i->reg, false);
        if (sx)
            x_movsx_rr(b, 1, ds, hd, XAX);
        else
            x_mov_rr(b, 4, hd, XAX);
        ra_dirty(t, i->reg);
        return true;
    }
    if (i->mod == 3) {
        int hs = ra_get(t, i->rm, true);
        int hd = ra_get(t, i->reg, false);
        if (sx)
            x_movsx_rr(b, ss, ds, hd, hs);
        else
            x_movzx_rr(b, ss, hd, hs);
        ra_dirty(t, i->reg);
        return true;
    }
    int hd = ra_get(t, i->reg, false);
    emit_ea(t, i);
    emit_tlb(t, ss, false, false);
    if (sx)
        x_load_sx(b, ss, ds, hd, xm(XCX, 0));
    else
        x_load(b, ss, hd, xm(XCX, 0));
    ra_dirty(t, i->reg);
    mem_done(t);
    return true;
}

static bool emit_lea(struct jctx *t, const struct emu_insn *i)
{
    if (i->mod == 3 || i->opsize == 2)
        return false;
    struct xbuf *b = &t->b;
    unsigned size = i->opsize == 8 && i->adsize == 8 ? 8 : 4;
    if (i->base == 0xfe || (i->base == 0xff && i->index == 0xff) || !x_fits32(i->disp)) {
        uint64_t a = i->base == 0xfe ? next_rip(t, t->k) + (uint64_t)i->disp : (uint64_t)i->disp;
        if (i->base != 0xfe && i->base != 0xff)
            return false;
        if (i->index != 0xff)
            return false;
        int hd = ra_get(t, i->reg, false);
        x_mov_ri(b, hd, size == 8 ? a : (uint32_t)a);
        ra_dirty(t, i->reg);
        return true;
    }
    int hb = i->base < 16 ? ra_get(t, i->base, true) : XNONE;
    int hi = i->index < 16 ? ra_get(t, i->index, true) : XNONE;
    int hd = ra_get(t, i->reg, false);
    x_lea(b, size, hd, xmi(hb, hi, i->scale, (int32_t)i->disp));
    ra_dirty(t, i->reg);
    return true;
}

/* The end of a host locked form that wrote every flag: when live, its
 * record (kind cc, two operands) waits in PF1/PF2, which its stubs load
 * from the record the handler stored; the host flags are the guest's. */
static void locked_done(struct jctx *t, int cc, unsigned size, bool live)
{
    t->pend.op = -1;   /* every flag is written: an older pending record is done with */
    if (live) {
        pend_set(t, cc, size, false, 0, false);
        for (unsigned s = 0; s < t->nstubs; s++)
            if (t->stubs[s].kind == ST_INTERP && t->stubs[s].k == t->k && !t->stubs[s].resume)
                t->stubs[s].reload_pf = PF_S1_S2;
    }
    t->hf = HF_ALL;
    mem_done(t);
}

/* XCHG r/m32|64, r with memory (always locked on x86) and CMPXCHG
 * r/m32|64, r with memory (LOCK or not: the locked form is the stronger
 * one): on a TLB hit for writing (RAM, not a page holding code; the fill
 * marked it dirty) the host's own locked instruction on the host address,
 * so other vCPUs' atomics on the same guest RAM stay atomic with it; a
 * miss, MMIO or fault runs the handler, which uses the interpreter's host
 * atomics.  CMPXCHG leaves the interpreter's record, a compare of the
 * accumulator with the old memory value, pending in PF1/PF2. */
static bool emit_atomic_mem(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    bool cmpxchg = i->map == MAP_0F;
    if (i->mod == 3 || size < 4)
        return false;
    struct xbuf *b = &t->b;
    int hr = ra_get(t, i->reg, true);
    int ha = cmpxchg ? ra_get(t, R_RAX, true) : -1;
    emit_ea(t, i);
    emit_tlb(t, size, true, cmpxchg);
    if (!cmpxchg) {
        x_rm(b, size, 0x87, hr, xm(XCX, 0), 0);     /* xchg [rcx], r (locked) */
        ra_dirty(t, i->reg);
        mem_done(t);
        return true;
    }
    bool live = t->live[t->k];
    if (live)
        x_mov_rr(b, 8, PF1, ha);                     /* the accumulator before */
    x_mov_rr(b, 8, XAX, ha);
    x8(b, 0xf0);                                     /* lock */
    x_rm(b, size, 0xb10f, hr, xm(XCX, 0), 0);       /* cmpxchg [rcx], r */
    /* RAX is the old memory value either way (unchanged when equal); a
     * 32-bit form leaves RAX's upper half only when equal, as the host's. */
    x_mov_rr(b, 8, ha, XAX);
    ra_dirty(t, R_RAX);
    if (live)
        x_mov_rr(b, 8, PF2, XAX);
    locked_done(t, CC_OP_SUB, size, live);
    return true;
}

/* XADD r/m32|64, r with memory (LOCK or not, as CMPXCHG above): the
 * host's LOCK XADD on a TLB hit for writing; the register gets the old
 * value.  The record is the interpreter's, an ADD of the old value and
 * the register's (op_xadd), pending in PF1/PF2. */
static bool emit_xadd_mem(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    if (i->mod == 3 || size < 4 || i->op != 0xc1)
        return false;
    struct xbuf *b = &t->b;
    int hr = ra_get(t, i->reg, true);
    emit_ea(t, i);
    emit_tlb(t, size, true, true);
    bool live = t->live[t->k];
    if (live)
        x_mov_rr(b, 8, PF2, hr);                     /* the addend */
    x8(b, 0xf0);                                     /* lock */
    x_rm(b, size, 0xc10f, hr, xm(XCX, 0), 0);       /* xadd [rcx], r */
    ra_dirty(t, i->reg);
    if (live)
        x_mov_rr(b, 8, PF1, hr);                     /* the old value */
    locked_done(t, CC_OP_ADD, size, live);
    return true;
}

/* CMPXCHG16B m128 (LOCK or not: the locked form is the stronger one;
 * SLUB's per-CPU freelists): the host's LOCK CMPXCHG16B on the host
 * address of an aligned operand that hit the TLB for writing, so other
 * vCPUs' atomics on the same guest RAM stay atomic with it; misaligned
 * (#GP), a miss, MMIO or a fault runs the handler.  The host instruction
 * takes RDX:RAX and RCX:RBX, so every guest register goes to struct
 * emu_cpu first and the operands come from there.  Only ZF changes: when
 * someone reads the flags, the guest's before (rebuilt on the host and
 * kept at [rsp]) become materialized flags with the new ZF. */
static bool emit_cmpxchg16b(struct jctx *t, const struct emu_insn *i)
{
    if (i->mod == 3 || !(i->rex & 8) || GRP_OF(i) != 1)
        return false;
    struct xbuf *b = &t->b;
    bool live = t->live[t->k];
    ra_flush(t);
    if (live) {
        need_flags(t, HF_ALL);
        x8(b, 0x9c);                                   /* pushfq */
        x8(b, 0x58);                                   /* pop rax */
        x_store(b, 8, xm(XSP, 0), XAX);
    }
    emit_ea(t, i);
    x_test_ri(b, 1, XCX, 15);
    stub_new(t, ST_INTERP, x_jcc32(b, 5));             /* jne: misaligned, the handler's #GP */
    emit_tlb(t, 16, true, false);
    x_mov_rr(b, 8, XSI, XCX);
    x_load(b, 8, XAX, xm(RCPU, OFF_GPR(R_RAX)));
    x_load(b, 8, XDX, xm(RCPU, OFF_GPR(R_RDX)));
    x_load(b, 8, XBX, xm(RCPU, OFF_GPR(R_RBX)));
    x_load(b, 8, XCX, xm(RCPU, OFF_GPR(R_RCX)));
    x8(b, 0xf0);                                       /* lock */
    x_rm(b, 8, 0xc70f, 1, xm(XSI, 0), 0);              /* cmpxchg16b [rsi] */
    x_store(b, 8, xm(RCPU, OFF_GPR(R_RAX)), XAX);     /* the old value when not equal */
    x_store(b, 8, xm(RCPU, OFF_GPR(R_RDX)), XDX);
    if (live) {
        x_setcc(b, 4, XDX);                            /* sete dl */
        x_movzx_rr(b, 1, XDX, XDX);
        x_shift_ri(b, 4, SH_SHL, XDX, 6);              /* ZF */
        x_load(b, 8, XAX, xm(XSP, 0));
        x_alu_ri(b, 4, ALU_AND, XAX, RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF);
        x_alu_rr(b, 4, ALU_OR, XAX, XDX);
        rflags_set_arith(b, XCX, XAX);
        t->pend.op = -1;
        t->mem_op = -1;
        flags_op(t, CC_OP_EFLAGS, 0);
    }
    mem_done(t);
    /* The handler's way leaves its own record; host registers the
     * address used are clobbered here (none is dirty: forgotten). */
    ra_flush(t);
    t->mem_op = -1;
    t->hf = 0;
    return true;
}

/* MOV r, Sreg (the register form: Linux's sync_core() reads CS and SS
 * before its IRET to itself): the selector zero-extended into a 32- or
 * 64-bit register, into the low 16 bits of a 16-bit one (op_mov_from_sreg). */
static bool emit_mov_from_sreg(struct jctx *t, const struct emu_insn *i)
{
    unsigned r = i->reg & 7;
    if (i->mod != 3 || r > S_GS)
        return false;
    int32_t off = (int32_t)(offsetof(struct emu_cpu, seg) + r * sizeof(struct seg_state) +
                            offsetof(struct seg_state, selector));
    int h = ra_get(t, i->rm, i->opsize == 2);
    if (i->opsize == 2)
        x_rm(&t->b, 2, 0x8b, h, xm(RCPU, off), 0);     /* mov r16, [selector] */
    else
        x_rm(&t->b, 4, 0xb70f, h, xm(RCPU, off), 0);   /* movzx r32, word [selector] */
    ra_dirty(t, i->rm);
    return true;
}

static bool emit_xchg(struct jctx *t, const struct emu_insn *i)
{
    if (i->mod != 3)
        return i->op == 0x87 && emit_atomic_mem(t, i);
    unsigned size = i->op >= 0x90 ? i->opsize : op_size_w(i);
    unsigned a = i->op >= 0x90 ? R_RAX : i->reg, c = i->rm;
    if (i->op == 0x90 && (i->rm == 0 || (i->prefix & PFX_REP)))
        return true;   /* NOP, PAUSE */
    if (size < 4 || a == c)
        return false;
    int ha = ra_get(t, (int)a, true), hc = ra_get(t, (int)c, true);
    x_rr(&t->b, size, 0x87, ha, hc);
    ra_dirty(t, (int)a);
    ra_dirty(t, (int)c);
    return true;
}

static bool emit_cbw_cwd(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    unsigned size = i->opsize;
    if (size < 4)
        return false;
    int ha = ra_get(t, R_RAX, true);
    if (i->kind == EK_CBW) {
        x_movsx_rr(b, size == 8 ? 4 : 2, size, ha, ha);
        ra_dirty(t, R_RAX);
        return true;
    }
    int hd = ra_get(t, R_RDX, false);
    x_mov_rr(b, 8, XAX, ha);
    if (size == 8)
        x8(b, 0x48);
    x8(b, 0x99);                         /* cdq / cqo on host RAX:RDX */
    x_mov_rr(b, size, hd, XDX);
    ra_dirty(t, R_RDX);
    return true;
}

static bool emit_bswap(struct jctx *t, const struct emu_insn *i)
{
    if (i->opsize < 4)
        return false;
    int h = ra_get(t, i->rm, true);
    x_bswap(&t->b, i->opsize, h);
    ra_dirty(t, i->rm);
    return true;
}

static bool emit_cmov(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    if (size < 4)
        return false;
    unsigned cc = emu_cc(i);
    struct xbuf *b = &t->b;
    if (i->mod == 3) {
        int hs = ra_get(t, i->rm, true);
        int hd = ra_get(t, i->reg, true);
        need_flags(t, cc_need[cc]);
        x_cmov(b, size, cc, hd, hs);
        ra_dirty(t, i->reg);
        return true;
    }
    int hd = ra_get(t, i->reg, true);
    emit_ea(t, i);
    emit_tlb(t, size, false, false);
    /* The operand is read whatever the condition; it waits in a stack
     * slot while the flags are made valid (which may call a helper). */
    x_load(b, size, XDX, xm(XCX, 0));
    x_store(b, 8, xm(XSP, 0), XDX);
    need_flags(t, cc_need[cc]);
    x_rm(b, size, (uint32_t)(0x400f | (cc << 8)), hd, xm(XSP, 0), 0);
    ra_dirty(t, i->reg);
    mem_done(t);
    return true;
}

static bool emit_setcc(struct jctx *t, const struct emu_insn *i)
{
    unsigned cc = emu_cc(i);
    if (i->mod != 3) {
        /* The condition into [rsp + SLOT_TMP] first: the TLB lookup loses
         * the host flags (and a miss runs the handler, which does it all). */
        need_flags(t, cc_need[cc]);
        x_rm(&t->b, 1, 0x0f | (uint32_t)(0x90 + cc) << 8, 0, xm(XSP, SLOT_TMP), 0);   /* setcc byte [rsp+8] */
        emit_ea(t, i);
        emit_tlb(t, 1, true, false);
        x_rm(&t->b, 4, 0xb60f, XDX, xm(XSP, SLOT_TMP), 0);   /* movzx edx, byte [rsp+8] */
        x_store(&t->b, 1, xm(XCX, 0), XDX);
        mem_done(t);
        return true;
    }
    if (high_byte(i, 1, i->rm))
        return false;
    int h = ra_get(t, i->rm, true);
    need_flags(t, cc_need[cc]);
    x_setcc(&t->b, cc, h);
    ra_dirty(t, i->rm);
    return true;
}

/* CLD, STD: DF in RFLAGS, which the translated REP forms test where
 * they run (emit_rep_string).  The AND/OR loses the host flags. */
static bool emit_cld_std(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    if (i->op == 0xfc) {
        x_rm(b, 4, 0x81, 4, xm(RCPU, OFF_RFLAGS), 4);   /* and dword [rflags], ~DF */
        x32(b, ~(uint32_t)RFLAGS_DF);
    } else {
        x_rm(b, 4, 0x81, 1, xm(RCPU, OFF_RFLAGS), 4);   /* or dword [rflags], DF */
        x32(b, RFLAGS_DF);
    }
    t->hf = 0;
    return true;
}

/* LFENCE, MFENCE, SFENCE: the host's own (translated code's loads and
 * stores are the host's, on guest RAM). */
static bool emit_fence(struct jctx *t, const struct emu_insn *i)
{
    if (i->mod != 3 || GRP_OF(i) < 5 || (i->prefix & (PFX_REP | PFX_REPNE | PFX_OPSIZE)))
        return false;   /* FXSAVE..CLFLUSH; F3/66 forms (INCSSP, ...) */
    struct xbuf *b = &t->b;
    x8(b, 0x0f);
    x8(b, 0xae);
    x8(b, (uint8_t)(0xc0 | (GRP_OF(i) << 3)));
    return true;
}

/* For an instruction with two memory accesses, one of them a push (CALL
 * through memory, PUSH from memory): RSP and every register its address
 * uses mapped before the first lookup, as no allocation may follow one.
 * Returns RSP's host register. */
static int map_push_and_address(struct jctx *t, const struct emu_insn *i)
{
    int hsp = ra_get(t, R_RSP, true);
    if (i->base < 16)
        ra_get(t, i->base, true);
    if (i->index < 16)
        ra_get(t, i->index, true);
    return hsp;
}

/* PUSH r/m64 from memory (the PLT's first entry pushes the GOT's second
 * word): both accesses are looked up before either is made, as CALL
 * through memory does (emit_call_mem), so a miss or fault on either runs
 * the handler, which does the whole PUSH; the source's address is taken
 * with RSP before the push, as the CPU does.  [rsp] holds the value
 * across the second lookup. */
static bool emit_push_mem(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    int hsp = map_push_and_address(t, i);
    emit_ea(t, i);
    emit_tlb(t, 8, false, false);
    x_load(b, 8, XDX, xm(XCX, 0));
    x_store(b, 8, xm(XSP, 0), XDX);
    x_lea(b, 8, XCX, xm(hsp, -8));
    t->stk = true;
    emit_tlb(t, 8, true, false);
    x_load(b, 8, XDX, xm(XSP, 0));
    x_store(b, 8, xm(XCX, 0), XDX);
    x_lea(b, 8, hsp, xm(hsp, -8));
    ra_dirty(t, R_RSP);
    mem_done(t);
    return true;
}

/* PUSH of a 64-bit register or immediate. */
static bool emit_push(struct jctx *t, const struct emu_insn *i)
{
    if (i->op == 0xff)
        return i->opsize == 8 && i->mod != 3 && emit_push_mem(t, i);
    if (i->opsize != 8)
        return false;
    struct xbuf *b = &t->b;
    bool imm = i->op == 0x68 || i->op == 0x6a;
    /* A register not in a host register is pushed from memory: taking
     * one for it would push out another (a prologue saving six
     * callee-saved registers pushed out the arguments it then reads). */
    bool direct = !imm && i->rm != R_RSP && t->ra.host[i->rm] < 0;
    int hs = imm || direct ? -1 : ra_get(t, i->rm, true);
    int hsp = ra_get(t, R_RSP, true);
    x_lea(b, 8, XCX, xm(hsp, -8));
    t->stk = true;
    emit_tlb(t, 8, true, false);
    if (imm) {
        x_store_imm(b, 8, xm(XCX, 0), i->imm);
    } else if (direct) {
        x_load(b, 8, XDX, xm(RCPU, OFF_GPR(i->rm)));
        x_store(b, 8, xm(XCX, 0), XDX);
    } else {
        x_store(b, 8, xm(XCX, 0), hs);
    }
    x_lea(b, 8, hsp, xm(hsp, -8));
    ra_dirty(t, R_RSP);
    mem_done(t);
    return true;
}

static bool emit_pop(struct jctx *t, const struct emu_insn *i)
{
    if (i->opsize != 8 || i->op == 0x8f)
        return false;
    struct xbuf *b = &t->b;
    int hsp = ra_get(t, R_RSP, true);
    /* Into memory when the register is not in a host register (as for
     * PUSH: an epilogue's POPs would push out what the caller reads). */
    bool direct = i->rm != R_RSP && t->ra.host[i->rm] < 0;
    int hd = direct ? -1 : ra_get(t, i->rm, false);
    x_mov_rr(b, 8, XCX, hsp);
    t->stk = true;
    emit_tlb(t, 8, false, false);
    x_load(b, 8, XDX, xm(XCX, 0));
    x_lea(b, 8, hsp, xm(hsp, 8));
    if (direct) {
        x_store(b, 8, xm(RCPU, OFF_GPR(i->rm)), XDX);
    } else {
        x_mov_rr(b, 8, hd, XDX);         /* POP RSP: the popped value wins */
        ra_dirty(t, i->rm);
    }
    ra_dirty(t, R_RSP);
    mem_done(t);
    return true;
}

static bool emit_leave(struct jctx *t, const struct emu_insn *i)
{
    if (i->opsize != 8)
        return false;
    struct xbuf *b = &t->b;
    int hbp = ra_get(t, R_RBP, true);
    int hsp = ra_get(t, R_RSP, false);
    x_mov_rr(b, 8, XCX, hbp);
    t->stk = true;
    emit_tlb(t, 8, false, false);
    x_load(b, 8, XDX, xm(XCX, 0));
    x_lea(b, 8, hsp, xm(hbp, 8));
    x_mov_rr(b, 8, hbp, XDX);
    ra_dirty(t, R_RSP);
    ra_dirty(t, R_RBP);
    mem_done(t);
    return true;
}

/* After the pop of a RET a trace goes through (instruction k; RDX = the
 * address popped): on where its CALL returns to, else leave for RDX. */
static void traced_ret_check(struct jctx *t, unsigned k)
{
    struct xbuf *b = &t->b;
    uint64_t want = t->ret_to[k];
    if (x_fits32((int64_t)want)) {
        x_alu_ri(b, 8, ALU_CMP, XDX, (int64_t)want);
    } else {
        x_mov_ri(b, XAX, want);
        x_alu_rr(b, 8, ALU_CMP, XDX, XAX);
    }
    t->hf = 0;
    struct stub *s = stub_new(t, ST_DYNEXIT, x_jcc32(b, 5));   /* jne */
    s->done = k + 1;
}

/* The PUSHes (or POPs) of a group (stack_group): one register or
 * immediate each, not RSP. */
static bool stack_group_member(const struct jctx *t, unsigned k, int kind)
{
    const struct emu_insn *i = &t->insn[k];
    if (i->kind != kind || i->opsize != 8 || t->fol[k] || (t->follow && k == t->follow_k))
        return false;
    if (kind == EK_PUSH)
        return i->op == 0x68 || i->op == 0x6a || (i->op != 0xff && i->rm != R_RSP);
    return i->op != 0x8f && i->rm != R_RSP;
}

/* A CALL or RET a trace goes on through (emit_traced): a push of the
 * return address, a pop of one. */
static bool traced_call(const struct jctx *t, unsigned k)
{
    return t->fol[k] && t->insn[k].kind == EK_CALL && !(t->follow && k == t->follow_k);
}
static bool traced_ret(const struct jctx *t, unsigned k)
{
    return t->fol[k] && t->insn[k].kind == EK_RET && t->insn[k].op == 0xc3 &&
           !(t->follow && k == t->follow_k);
}

/* A RET that ends the translation (emit_transfer: a dynamic exit). */
static bool final_ret(const struct jctx *t, unsigned k)
{
    const struct emu_insn *i = &t->insn[k];
    return k == t->n - 1 && !t->fol[k] && !(t->follow && k == t->follow_k) && i->kind == EK_RET &&
           i->op == 0xc3 && i->opsize == 8 && (cfg_kinds >> EK_RET & 1);
}

/* How many stack accesses in a row start at instruction k, 0 when fewer
 * than two (at most 8: 64 bytes of stack): PUSHes, after a CALL a trace
 * goes through (a callee's prologue saving the callee-saved registers),
 * or POPs, before a RET a trace goes through or the translation ends
 * with (its epilogue). */
static unsigned stack_group(const struct jctx *t, unsigned k)
{
    if (cfg_all_slow || !cfg_stack || t->ngrp >= JIT_MAX_GROUPS)
        return 0;
    int kind = traced_call(t, k) ? EK_PUSH : t->insn[k].kind;
    if ((kind != EK_PUSH && kind != EK_POP) || !(cfg_kinds >> kind & 1))
        return 0;
    unsigned m = traced_call(t, k);
    while (m < 8 && k + m < t->n && stack_group_member(t, k + m, kind))
        m++;
    if (kind == EK_POP && m && m < 8 && k + m < t->n && (traced_ret(t, k + m) || final_ret(t, k + m)))
        m++;
    return m >= 2 ? m : 0;
}

/* Member g of stack group gp: its access at [RCX + off] (RCX a host
 * address), and for a POP into a host register, that register newer
 * (inline: the slow pass loads the same registers). */
static void group_access(struct jctx *t, const struct stack_grp *gp, unsigned g, int32_t off,
                         bool inline_pass)
{
    struct xbuf *b = &t->b;
    const struct emu_insn *i = &t->insn[gp->k0 + g];
    int hr = gp->hr[g];
    if (i->kind == EK_CALL) {
        uint64_t ret = next_rip(t, gp->k0 + g);
        if (x_fits32((int64_t)ret)) {
            x_store_imm(b, 8, xm(XCX, off), ret);
        } else {
            x_mov_ri(b, XAX, ret);
            x_store(b, 8, xm(XCX, off), XAX);
        }
    } else if (i->kind == EK_RET) {
        x_load(b, 8, XDX, xm(XCX, off));   /* compared after the group */
    } else if (!gp->push) {
        if (hr >= 0) {
            x_load(b, 8, hr, xm(XCX, off));
            if (inline_pass)
                ra_dirty(t, i->rm);
        } else {
            x_load(b, 8, XAX, xm(XCX, off));
            x_store(b, 8, xm(RCPU, OFF_GPR(i->rm)), XAX);
        }
    } else if (i->op == 0x68 || i->op == 0x6a) {
        x_store_imm(b, 8, xm(XCX, off), i->imm);
    } else if (hr >= 0) {
        x_store(b, 8, xm(XCX, off), hr);
    } else {
        x_load(b, 8, XDX, xm(RCPU, OFF_GPR(i->rm)));
        x_store(b, 8, xm(XCX, off), XDX);
    }
}

/* Where member g of a group of m lies, from RSP before the group. */
static int32_t group_offset(const struct stack_grp *gp, unsigned g)
{
    return gp->push ? -8 * (int32_t)(g + 1) : 8 * (int32_t)g;
}

/* The m stack accesses of a group (stack_group) from instruction t->k
 * on, with one TLB lookup for all their 8 * m bytes (emit_tlb: index from
 * the first byte, tag from the last, so a group across a page boundary
 * never hits), then the stores (loads) at their places and one move of
 * RSP; a traced RET last compares the address popped as emit_traced does,
 * one that ends the translation leaves for it (true: the translation
 * ended).
 * The lookup's miss goes out of line (emit_group_slow) to a lookup of
 * each member's own 8 bytes, so a group across a page boundary (every
 * call, for a function called at the same stack depth) costs about as
 * much as its accesses did one by one; only a miss there (or a
 * misaligned RSP) runs the m instructions' handlers one after the other
 * (the stub's k_last), each of which may fault with what came before it
 * done, as in the interpreter (a CALL's or RET's leaves: it moves RIP).
 * No register is taken after the lookup: registers no host register
 * holds go through RDX (emit_push). */
static bool emit_stack_group(struct jctx *t, unsigned m)
{
    struct xbuf *b = &t->b;
    struct stack_grp *gp = &t->grp[t->ngrp];
    gp->k0 = t->k;
    gp->m = m;
    gp->push = t->insn[t->k].kind != EK_POP;
    int hsp = ra_get(t, R_RSP, true);
    gp->hsp = (int8_t)hsp;
    for (unsigned g = 0; g < m; g++) {
        const struct emu_insn *i = &t->insn[gp->k0 + g];
        bool reg = i->kind == (gp->push ? EK_PUSH : EK_POP) && !(i->op == 0x68 || i->op == 0x6a);
        gp->hr[g] = (int8_t)(!reg || t->ra.host[i->rm] < 0 ? -1 : ra_get(t, i->rm, gp->push));
    }
    int32_t len = 8 * (int32_t)m;
    int32_t base = gp->push ? -len : 0;   /* the group's lowest byte, from RSP */
    x_lea(b, 8, XCX, xm(hsp, base));
    t->stk = false;
    emit_tlb(t, (unsigned)len, gp->push, false);
    struct stub *st = &t->stubs[t->nstubs - 1];
    st->k_last = gp->k0 + m - 1;
    st->group = (int)t->ngrp++;
    st->way1 = false;   /* the slow pass looks each member up */
    for (unsigned g = 0; g < m; g++)
        group_access(t, gp, g, group_offset(gp, g) - base, true);
    x_lea(b, 8, hsp, xm(hsp, gp->push ? -len : len));
    ra_dirty(t, R_RSP);
    mem_done(t);
    unsigned kl = gp->k0 + m - 1;
    if (t->insn[kl].kind != EK_RET)
        return false;
    if (t->fol[kl]) {
        traced_ret_check(t, kl);
        return false;
    }
    emit_exit_dynamic(t, &t->ra, &t->pend, kl + 1);   /* as emit_transfer's RET */
    return true;
}

/* The start of a stack group's stub (emit_stack_group): each member's
 * 8 bytes looked up in the TLB (way 0, then way 1) and accessed through
 * its own entry, then RSP moved and back.  A miss (or a member across a
 * page boundary: RSP not 8-aligned) falls through to the handlers, which
 * do the whole group again from its start: what the members before did
 * here they do the same (a push stores the same value to the same place,
 * a pop loads the same value), and those before the miss hit the TLB
 * here, so none of them can fault there: a fault leaves the members
 * before it done and the rest not, as in the interpreter. */
static void emit_group_slow(struct jctx *t, const struct stub *st)
{
    struct xbuf *b = &t->b;
    const struct stack_grp *gp = &t->grp[st->group];
    uint8_t *miss[8];
    for (unsigned g = 0; g < gp->m; g++) {
        x_lea(b, 8, XCX, xm(gp->hsp, group_offset(gp, g)));
        emit_tlb_compare(t, 8, gp->push);
        uint8_t *hit = x_jcc32(b, 4);   /* je */
        /* Way 1 (emit_way1): a hit there comes to way 0. */
        call_rx(b, t->j->tlb_way1[t->tlb != OFF_TLB(0)][gp->push][1]);
        miss[g] = x_jcc32(b, 5);   /* jne */
        x_patch32(b, hit, x_rx(b));
        x_alu_rm(b, 8, ALU_ADD, XCX, xmi(RCPU, XAX, 0, t->tlb + (int32_t)offsetof(struct emu_tlb_entry, addend)));
        group_access(t, gp, g, 0, false);
    }
    int32_t len = 8 * (int32_t)gp->m;
    x_lea(b, 8, gp->hsp, xm(gp->hsp, gp->push ? -len : len));
    x_jmp_abs(b, (uint64_t)((intptr_t)st->resume + b->rx_delta));
    for (unsigned g = 0; g < gp->m; g++)
        x_patch32(b, miss[g], x_rx(b));
}

/* Stores the flag changes of BT (CF) or BSF/BSR (ZF) when live: the
 * host flag `cc` (setcc) becomes the guest flag `bit`; everything else is
 * kept, so the record in memory is updated by a helper. */
static void patch_flag(struct jctx *t, unsigned cc, uint64_t bit)
{
    struct xbuf *b = &t->b;
    x_setcc(b, cc, XAX);
    x_movzx_rr(b, 1, XAX, XAX);
    if (bit != 1) {
        x_rr(b, 4, 0xc1, 4, XAX);            /* shl eax, log2(bit) */
        x8(b, (uint8_t)__builtin_ctzll(bit));
    }
    x_alu_ri(b, 4, ALU_OR, XAX, (int64_t)(bit << 16));
    x_store(b, 8, xm(XSP, 0), XAX);          /* across the stores of pend_flush */
    pend_flush(t);
    call_begin(t);
    x_load(b, 8, XSI, xm(XSP, 0));
    x_mov_rr(b, 8, XDI, RCPU);
    call_end(t, (const void *)jit_patch_flags);
    t->mem_op = CC_OP_EFLAGS;
    t->mem_size = 0;
    t->stored_record = true;
}

/* BT BTS BTR BTC of a register (by an immediate or a register) or of
 * memory by an immediate (a register offset into memory is a bit string:
 * its handler). */
static bool emit_bt(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    bool byimm = i->op == 0xba;
    int g = byimm ? GRP_OF(i) - 4 : (i->op >> 3) & 3;   /* 0 BT, 1 BTS, 2 BTR, 3 BTC */
    if (size < 2 || (i->prefix & PFX_LOCK) || (!byimm && i->mod != 3 && i->adsize != 8))
        return false;
    struct xbuf *b = &t->b;
    bool live = t->live[t->k];
    static const uint32_t host_op[4] = { 0xa30f, 0xab0f, 0xb30f, 0xbb0f };
    unsigned bitoff = (unsigned)i->imm & (size * 8 - 1);
    if (live)
        pend_flush(t);   /* the record BT's CF goes into (PEND_CF) */
    int hs = byimm ? -1 : ra_get(t, i->reg, true);
    int h;
    if (i->mod == 3) {
        h = ra_get(t, i->rm, true);
    } else {
        emit_ea(t, i);
        if (!byimm) {
            /* A bit string (Pascal's sets): the register's offset is
             * signed; its operand-sized word is part of the address, the
             * bit within it is what the host's register form takes. */
            unsigned lg = (unsigned)__builtin_ctz(size);   /* log2 of the operand size */
            if (size == 8)
                x_mov_rr(b, 8, XAX, hs);
            else if (size == 4)
                x_rr(b, 8, 0x63, XAX, hs);             /* movsxd rax, hs */
            else
                x_rr(b, 8, 0xbf0f, XAX, hs);           /* movsx rax, hs16 */
            x_shift_ri(b, 8, SH_SAR, XAX, (uint8_t)(lg + 3));   /* the word: offset / bits */
            x_lea(b, 8, XCX, xmi(XCX, XAX, (uint8_t)lg, 0));     /* + word * size */
        }
        emit_tlb(t, size, g != 0, true);
        x_load(b, size, XDX, xm(XCX, 0));
        h = XDX;
    }
    if (byimm) {
        x_rr(b, size, 0xba0f, 4 + g, h);
        x8(b, (uint8_t)bitoff);
    } else {
        x_rr(b, size, host_op[g], hs, h);
    }
    if (i->mod != 3 && g != 0)
        x_store(b, size, xm(XCX, 0), XDX);
    else if (i->mod == 3 && g != 0)
        ra_dirty(t, i->rm);
    /* After the slow path too, the host CF is BT's (the stub gives the
     * host flags back). */
    if (i->mod != 3)
        mem_done(t);
    if (live) {
        x_setcc(b, 2, XAX);                        /* setc al */
        x_movzx_rr(b, 1, PF2, XAX);
        pend_set(t, PEND_CF, size, false, 0, false);
    }
    t->hf = HF_C;
    return true;
}

/* BSF/BSR (and TZCNT, which runs as BSF) of a 32/64-bit register or
 * memory: a zero source leaves the destination and sets ZF. */
static bool emit_bitscan(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    if (size < 4)
        return false;
    struct xbuf *b = &t->b;
    uint32_t op = i->op == 0xbc ? 0xbc0f : 0xbd0f;
    int hd = ra_get(t, i->reg, true);
    if (i->mod == 3) {
        int hs = ra_get(t, i->rm, true);
        x_rr(b, size, op, XAX, hs);
    } else {
        emit_ea(t, i);
        emit_tlb(t, size, false, true);
        x_rm(b, size, op, XAX, xm(XCX, 0), 0);
    }
    x_cmov(b, 8, 5, hd, XAX);            /* cmovnz: a 32-bit result is zero-extended */
    ra_dirty(t, i->reg);
    if (t->live[t->k])
        patch_flag(t, 4, RFLAGS_ZF);     /* setz */
    t->hf = 0;
    if (i->mod != 3)
        mem_done(t);
    return true;
}

/* ---- SSE ------------------------------------------------------------------------------
 * Integer, bitwise and move forms run as the same host instruction (the
 * host is x86-64 too) on XMM0/XMM1 loaded from c->xmm; the MXCSR-dependent
 * floating-point forms keep their handlers. */

/* A host SSE instruction: mandatory prefix (0, 0x66, 0xf3, 0xf2), opcode
 * (0F xx, 0F 38 xx, 0F 3A xx as in x_ops), reg field, and a register
 * (rm_reg >= 0) or memory operand; w: REX.W. */
static void x_sse(struct xbuf *b, uint8_t mp, uint32_t op, int reg, int rm_reg, struct xmem m, bool w,
                  int imm)
{
    uint8_t *q = x_room(b);
    if (mp)
        *q++ = mp;
    if (rm_reg >= 0) {
        q = e_prefix(q, w ? 8 : 4, reg, XNONE, rm_reg, false);
        q = e_ops(q, op);
        *q++ = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm_reg & 7));
    } else {
        q = e_prefix(q, w ? 8 : 4, reg, m.index, m.base == XRIP ? XNONE : m.base, false);
        q = e_ops(q, op);
        q = e_modrm_mem(b, q, reg, m, imm >= 0 ? 1 : 0);
    }
    if (imm >= 0)
        *q++ = (uint8_t)imm;
    b->p = q;
}

#define XMM0 0
#define XMM1 1
#define OP_MOVDQU_LOAD  0x6f0f     /* F3 */
#define OP_MOVDQU_STORE 0x7f0f     /* F3 */

static void xmm_load(struct xbuf *b, int x, int g)
{
    x_sse(b, 0xf3, OP_MOVDQU_LOAD, x, -1, xm(RCPU, OFF_XMM(g)), false, -1);
}

static void xmm_store(struct xbuf *b, int g, int x)
{
    x_sse(b, 0xf3, OP_MOVDQU_STORE, x, -1, xm(RCPU, OFF_XMM(g)), false, -1);
}

/* CR0.EM, CR0.TS and CR4.OSFXSR (sse_check) once a block: they change only
 * through instructions that end blocks.  A failure runs the handler, which
 * raises #UD or #NM. */
uint8_t jit_fp_state(const struct emu_cpu *c)
{
    if (c->cr0 & (CR0_EM | CR0_TS))
        return 0;
    uint8_t ok = JIT_FP_X87;
    if (c->cr4 & CR4_OSFXSR) {
        ok |= JIT_FP_SSE;
        if ((c->cr4 & CR4_OSXSAVE) && (c->xcr0 & 6) == 6)
            ok |= JIT_FP_AVX;
    }
    return ok;
}

/* FNSTCW m16 (D9 /7; busybox awk stores the x87 control word around each
 * number it formats: 26 000 per MiB of input ran through the handler):
 * the word in struct emu_x87 stored; CR0.EM or TS (jit_fp_state) runs the
 * handler, which raises #NM (after the TLB lookup, whose miss runs it
 * too: #NM comes first either way, as in x87_check). */
static bool emit_fnstcw(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    emit_ea(t, i);
    emit_tlb(t, 2, true, false);
    x_rm(b, 1, 0xf6, 0, xm(RCPU, OFF_JIT_FP_OK), 1);    /* test byte [jit_fp_ok], X87 */
    x8(b, JIT_FP_X87);
    stub_new(t, ST_INTERP, x_jcc32(b, 4));              /* je: EM or TS */
    x_load(b, 2, XDX, xm(RCPU, (int32_t)offsetof(struct emu_cpu, x87.fcw)));
    x_store(b, 2, xm(XCX, 0), XDX);
    t->hf = 0;
    mem_done(t);
    return true;
}

static void sse_check_once(struct jctx *t)
{
    if (t->sse_checked)
        return;
    struct xbuf *b = &t->b;
    x_rm(b, 1, 0xf6, 0, xm(RCPU, OFF_JIT_FP_OK), 1);    /* test byte [jit_fp_ok], SSE */
    x8(b, JIT_FP_SSE);
    stub_new(t, ST_INTERP, x_jcc32(b, 4));              /* je: not as host forms */
    t->sse_checked = true;
    t->hf = 0;
}

/* The memory operand of an SSE instruction: RCX = host address of size
 * bytes, a 16-byte alignment check first when aligned. */
static void sse_mem(struct jctx *t, const struct emu_insn *i, unsigned size, bool write, bool aligned)
{
    struct xbuf *b = &t->b;
    emit_ea(t, i);
    sse_check_once(t);
    if (aligned) {
        x_test_ri(b, 1, XCX, 15);
        stub_new(t, ST_INTERP, x_jcc32(b, 5));
    }
    emit_tlb(t, size, write, false);
}

/* Before a host floating-point instruction (here and jit_vex.c), and
 * before its memory operand's TLB lookup (whose stub resumes after the
 * check): guest MXCSR controls other than the host's (0x1f80: every
 * exception masked, round to nearest, no DAZ/FZ) run the handler out of
 * line, and the translation leaves after it.  Once per translation until
 * a handler runs on its main path (LDMXCSR, FXRSTOR and XRSTOR run by
 * their handlers; a stub's handler runs the same instruction).  The
 * host's MXCSR needs nothing here: translated code always runs with it at
 * 0x1f80 plus flags the guest has or a float form since raised, which go
 * into the guest's MXCSR on the way to C (emit_mx_sync, emit_mx_merge).
 * Clobbers RAX and the flags; RCX (a memory operand) survives. */
static void mxcsr_enter(struct jctx *t)
{
    if (t->mx_checked)
        return;
    struct xbuf *b = &t->b;
    x_load(b, 4, XAX, xm(RCPU, OFF_MXCSR));
    x_alu_ri(b, 4, ALU_AND, XAX, ~0x3f);
    x_alu_ri(b, 4, ALU_CMP, XAX, 0x1f80);
    stub_new(t, ST_INTERP, x_jcc32(b, 5))->leave_after = true;
    t->mx_checked = true;
    t->hf = 0;
}

/* Scalar floating point: ADD SUB MUL DIV MIN MAX SQRT of SS/SD, CVTSI2SS/SD,
 * CVT(T)SS2SI and CVT(T)SD2SI (awk's number formatting: 26 000 handler
 * calls per MiB of input) and (U)COMISS/SD, as the same host instruction when the guest's MXCSR
 * controls are the host's (0x1f80: every exception masked, round to
 * nearest, no DAZ/FZ), so results and raised flags are the same; else the
 * handler.  The host's MXCSR flags are cleared before, and the ones the
 * instruction raised go into the guest's MXCSR after (sse.c does the same
 * around its host operations). */
static bool emit_sse_scalar(struct jctx *t, const struct emu_insn *i, uint8_t mp)
{
    bool comis = (i->op == 0x2e || i->op == 0x2f) && (mp == 0 || mp == 0x66);
    bool arith = (mp == 0xf2 || mp == 0xf3) &&
                 (i->op == 0x51 || (i->op >= 0x58 && i->op <= 0x5f && i->op != 0x5a && i->op != 0x5b));
    bool cvt = (mp == 0xf2 || mp == 0xf3) && i->op == 0x2a;
    bool to_int = (mp == 0xf2 || mp == 0xf3) && (i->op == 0x2c || i->op == 0x2d);
    if (!comis && !arith && !cvt && !to_int)
        return false;
    struct xbuf *b = &t->b;
    bool w = (cvt || to_int) && (i->rex & 8);
    bool dbl = comis ? mp == 0x66 : mp == 0xf2;
    unsigned size = cvt ? (w ? 8 : 4) : dbl ? 8 : 4;
    uint32_t map_op = 0x0f | (uint32_t)i->op << 8;
    int hs = cvt && i->mod == 3 ? ra_get(t, i->rm, true) : -1;
    int hd = to_int ? ra_get(t, i->reg, false) : -1;   /* before the TLB lookup: no allocation after */
    if (i->mod != 3)
        emit_ea(t, i);
    sse_check_once(t);
    mxcsr_enter(t);   /* before the lookup: its stub resumes after the check */
    if (i->mod != 3)
        emit_tlb(t, size, false, comis);
    t->sets_flags = comis;
    if (to_int) {
        /* The integer indefinite value and IE for NaN and out of range,
         * PE when inexact (CVT: rounded by MXCSR.RC, nearest here), as
         * the host's; a 32-bit result zero-extended, as the guest's. */
        if (i->mod != 3) {
            x_sse(b, mp, map_op, hd, -1, xm(XCX, 0), w, -1);
        } else {
            xmm_load(b, XMM0, i->rm);
            x_sse(b, mp, map_op, hd, XMM0, xm(0, 0), w, -1);
        }
        ra_dirty(t, i->reg);
        mem_done(t);
        return true;
    }
    xmm_load(b, XMM0, i->reg);
    if (i->mod == 3 && !cvt)
        xmm_load(b, XMM1, i->rm);
    if (i->mod != 3)
        x_sse(b, mp, map_op, XMM0, -1, xm(XCX, 0), w, -1);
    else
        x_sse(b, mp, map_op, XMM0, cvt ? hs : XMM1, xm(0, 0), w, -1);
    if (comis)
        x8(b, 0x9f);                                         /* lahf: ZF PF CF */
    else
        xmm_store(b, i->reg, XMM0);
    if (comis) {
        /* The arithmetic flags: ZF PF CF as compared, OF SF AF clear.  After
         * the stores, SAHF gives the host those flags back (OF: the OR). */
        t->pend.op = -1;
        x8(b, 0x0f); x8(b, 0xb6); x8(b, 0xd4);               /* movzx edx, ah */
        x_alu_ri(b, 4, ALU_AND, XDX, RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF);
        rflags_set_arith(b, XCX, XDX);
        x8(b, 0x9e);                                         /* sahf: the host flags again */
        t->mem_op = -1;
        flags_op(t, CC_OP_EFLAGS, 0);
        t->stored_record = false;   /* the slow path's handler stores its own kind */
        t->hf = HF_ALL;   /* OF: cleared by the OR above */
    }
    mem_done(t);
    return true;
}

/* 66-prefixed (and for a few, unprefixed) xmm, xmm/m128 operations the
 * host runs the same way: integer arithmetic, compares, logic, shuffles,
 * unpacks, packs.  imm: they take an imm8. */
static bool sse_binary(const struct emu_insn *i, uint8_t mp, bool *imm, bool *m128)
{
    uint8_t op = i->op;
    *imm = false;
    *m128 = true;
    if (i->map == MAP_0F) {
        if (mp == 0x66 && ((op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
                           (op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xdf) ||
                           (op >= 0xe0 && op <= 0xe5) || (op >= 0xe8 && op <= 0xef) ||
                           (op >= 0xf1 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe)))
            return true;
        if ((mp == 0 || mp == 0x66) && ((op >= 0x54 && op <= 0x57) || op == 0x14 || op == 0x15))
            return true;
        if ((mp == 0 || mp == 0x66) && op == 0xc6)
            return *imm = true;
        if (op == 0x70 && mp)            /* pshufd, pshufhw, pshuflw */
            return *imm = true;
        return false;
    }
    if (mp != 0x66)
        return false;
    if (i->map == MAP_0F38) {
        if (op <= 0x0b || (op >= 0x1c && op <= 0x1e) || op == 0x28 || op == 0x29 || op == 0x2b ||
            (op >= 0x37 && op <= 0x40))
            return true;
        if ((op >= 0x20 && op <= 0x25) || (op >= 0x30 && op <= 0x35)) {
            *m128 = false;               /* pmovsx/zx read 16..64 bits: registers only */
            return i->mod == 3;
        }
        return false;
    }
    if (i->map == MAP_0F3A && (op == 0x0c || op == 0x0d || op == 0x0e || op == 0x0f))
        return *imm = true;
    return false;
}

static bool emit_sse(struct jctx *t, const struct emu_insn *i)
{
    if (i->map == MAP_1 || (i->prefix & PFX_VEX))
        return false;   /* VEX forms: jit_vex.c */
    /* The mandatory prefix as emu's SSE decoding picks it (sse_mp). */
    uint8_t mp = (i->prefix & PFX_REPNE) ? 0xf2 : (i->prefix & PFX_REP) ? 0xf3
               : (i->prefix & PFX_OPSIZE) ? 0x66 : 0;
    struct xbuf *b = &t->b;
    bool imm, m128;
    bool w = i->rex & 8;
    uint32_t map_op = i->map == MAP_0F ? 0x0f | (uint32_t)i->op << 8
                    : i->map == MAP_0F38 ? 0x380f | (uint32_t)i->op << 16
                                         : 0x3a0f | (uint32_t)i->op << 16;
    if (sse_binary(i, mp, &imm, &m128)) {
        if (i->mod != 3 && !m128)
            return false;
        if (i->mod != 3) {
            sse_mem(t, i, 16, false, true);
            x_sse(b, 0xf3, OP_MOVDQU_LOAD, XMM1, -1, xm(XCX, 0), false, -1);
        } else {
            sse_check_once(t);
            xmm_load(b, XMM1, i->rm);
        }
        xmm_load(b, XMM0, i->reg);
        x_sse(b, mp, map_op, XMM0, XMM1, xm(0, 0), false, imm ? (int)(i->imm & 0xff) : -1);
        xmm_store(b, i->reg, XMM0);
        mem_done(t);
        return true;
    }
    if (i->map != MAP_0F)
        return false;
    if (emit_sse_scalar(t, i, mp))
        return true;
    switch (i->op) {
    case 0x71: case 0x72: case 0x73:     /* 66: shifts of xmm by imm8 */
        if (mp != 0x66 || i->mod != 3)
            return false;
        sse_check_once(t);
        xmm_load(b, XMM0, i->rm);
        x_sse(b, 0x66, map_op, GRP_OF(i), XMM0, xm(0, 0), false, (int)(i->imm & 0xff));
        xmm_store(b, i->rm, XMM0);
        mem_done(t);
        return true;
    case 0x10: case 0x28: case 0x6f: {   /* loads: movups/movupd/movss/movsd, movaps/pd, movdqa/u */
        bool full = i->op == 0x10 ? (mp == 0 || mp == 0x66) : true;
        if (i->op == 0x6f && mp != 0x66 && mp != 0xf3)
            return false;
        if (i->op == 0x28 && mp != 0 && mp != 0x66)
            return false;
        bool aligned = i->op == 0x28 || (i->op == 0x6f && mp == 0x66);
        if (full) {
            if (i->mod != 3) {
                sse_mem(t, i, 16, false, aligned);
                x_sse(b, 0xf3, OP_MOVDQU_LOAD, XMM0, -1, xm(XCX, 0), false, -1);
            } else {
                sse_check_once(t);
                xmm_load(b, XMM0, i->rm);
            }
            xmm_store(b, i->reg, XMM0);
        } else if (i->mod != 3) {        /* movss/movsd from memory: the rest is zeroed */
            sse_mem(t, i, mp == 0xf3 ? 4 : 8, false, false);
            x_sse(b, mp, 0x100f, XMM0, -1, xm(XCX, 0), false, -1);
            xmm_store(b, i->reg, XMM0);
        } else {                         /* register: the low lane only */
            sse_check_once(t);
            xmm_load(b, XMM0, i->reg);
            xmm_load(b, XMM1, i->rm);
            x_sse(b, mp, 0x100f, XMM0, XMM1, xm(0, 0), false, -1);
            xmm_store(b, i->reg, XMM0);
        }
        mem_done(t);
        return true;
    }
    case 0x11: case 0x29: case 0x7f: {   /* stores */
        bool full = i->op == 0x11 ? (mp == 0 || mp == 0x66) : true;
        if (i->op == 0x7f && mp != 0x66 && mp != 0xf3)
            return false;
        if (i->op == 0x29 && mp != 0 && mp != 0x66)
            return false;
        bool aligned = i->op == 0x29 || (i->op == 0x7f && mp == 0x66);
        if (full) {
            if (i->mod != 3) {
                sse_mem(t, i, 16, true, aligned);
                xmm_load(b, XMM0, i->reg);
                x_sse(b, 0xf3, OP_MOVDQU_STORE, XMM0, -1, xm(XCX, 0), false, -1);
            } else {
                sse_check_once(t);
                xmm_load(b, XMM0, i->reg);
                xmm_store(b, i->rm, XMM0);
            }
        } else if (i->mod != 3) {
            sse_mem(t, i, mp == 0xf3 ? 4 : 8, true, false);
            xmm_load(b, XMM0, i->reg);
            x_sse(b, mp, 0x110f, XMM0, -1, xm(XCX, 0), false, -1);
        } else {
            sse_check_once(t);
            xmm_load(b, XMM0, i->rm);
            xmm_load(b, XMM1, i->reg);
            x_sse(b, mp, 0x100f, XMM0, XMM1, xm(0, 0), false, -1);
            xmm_store(b, i->rm, XMM0);
        }
        mem_done(t);
        return true;
    }
    case 0x6e: {                         /* 66: movd/movq xmm, r/m32|64 */
        if (mp != 0x66)
            return false;
        unsigned size = w ? 8 : 4;
        if (i->mod == 3) {
            int h = ra_get(t, i->rm, true);
            sse_check_once(t);
            x_sse(b, 0x66, 0x6e0f, XMM0, h, xm(0, 0), w, -1);
        } else {
            sse_mem(t, i, size, false, false);
            x_sse(b, 0x66, 0x6e0f, XMM0, -1, xm(XCX, 0), w, -1);
        }
        xmm_store(b, i->reg, XMM0);
        mem_done(t);
        return true;
    }
    case 0x7e: {                         /* 66: movd/movq r/m32|64, xmm; F3: movq xmm, xmm/m64 */
        if (mp == 0xf3) {
            if (i->mod == 3) {
                sse_check_once(t);
                xmm_load(b, XMM1, i->rm);
                x_sse(b, 0xf3, 0x7e0f, XMM0, XMM1, xm(0, 0), false, -1);
            } else {
                sse_mem(t, i, 8, false, false);
                x_sse(b, 0xf3, 0x7e0f, XMM0, -1, xm(XCX, 0), false, -1);
            }
            xmm_store(b, i->reg, XMM0);
            mem_done(t);
            return true;
        }
        if (mp != 0x66)
            return false;
        unsigned size = w ? 8 : 4;
        if (i->mod == 3) {
            int h = ra_get(t, i->rm, false);
            sse_check_once(t);
            xmm_load(b, XMM0, i->reg);
            x_sse(b, 0x66, 0x7e0f, XMM0, h, xm(0, 0), w, -1);
            ra_dirty(t, i->rm);
        } else {
            sse_mem(t, i, size, true, false);
            xmm_load(b, XMM0, i->reg);
            x_sse(b, 0x66, 0x7e0f, XMM0, -1, xm(XCX, 0), w, -1);
        }
        mem_done(t);
        return true;
    }
    case 0xd6:                           /* 66: movq xmm/m64, xmm */
        if (mp != 0x66)
            return false;
        if (i->mod == 3) {
            sse_check_once(t);
            xmm_load(b, XMM1, i->reg);
            x_sse(b, 0xf3, 0x7e0f, XMM0, XMM1, xm(0, 0), false, -1);
            xmm_store(b, i->rm, XMM0);
        } else {
            sse_mem(t, i, 8, true, false);
            xmm_load(b, XMM0, i->reg);
            x_sse(b, 0x66, 0xd60f, XMM0, -1, xm(XCX, 0), false, -1);
        }
        mem_done(t);
        return true;
    case 0x12: case 0x16:                /* movlps/movhps (none), movlpd/movhpd (66) xmm, m64 */
        if (i->mod == 3 || (mp != 0 && mp != 0x66))
            return false;                    /* movhlps/movlhps; F3/F2: movsldup, movddup, movshdup */
        sse_mem(t, i, 8, false, false);
        xmm_load(b, XMM0, i->reg);
        x_sse(b, mp, map_op, XMM0, -1, xm(XCX, 0), false, -1);
        xmm_store(b, i->reg, XMM0);
        mem_done(t);
        return true;
    case 0x13: case 0x17:                /* movlps/movhps (none), movlpd/movhpd (66) m64, xmm */
        if (i->mod == 3 || (mp != 0 && mp != 0x66))
            return false;
        sse_mem(t, i, 8, true, false);
        xmm_load(b, XMM0, i->reg);
        x_sse(b, mp, map_op, XMM0, -1, xm(XCX, 0), false, -1);
        mem_done(t);
        return true;
    case 0xd7: case 0x50: {              /* pmovmskb r32, xmm (66); movmskps/pd (none/66) */
        if (i->mod != 3 || (i->op == 0xd7 ? mp != 0x66 : (mp != 0 && mp != 0x66)))
            return false;
        int h = ra_get(t, i->reg, false);
        sse_check_once(t);
        xmm_load(b, XMM0, i->rm);
        x_sse(b, mp, map_op, h, XMM0, xm(0, 0), false, -1);
        ra_dirty(t, i->reg);
        mem_done(t);
        return true;
    }
    default:
        return false;
    }
}

/* ---- for jit_vex.c (jit_internal.h): the same steps, by name ------------------------ */

struct xbuf *jit_buf(struct jctx *t) { return &t->b; }
int jit_gpr(struct jctx *t, unsigned g, bool load) { return ra_get(t, (int)g, load); }
void jit_gpr_written(struct jctx *t, unsigned g) { ra_dirty(t, (int)g); }
void jit_mem_addr(struct jctx *t, const struct emu_insn *i) { emit_ea(t, i); }
void jit_mem_lookup(struct jctx *t, unsigned size, bool write) { emit_tlb(t, size, write, false); }
void jit_slow_if(struct jctx *t, unsigned cc) { stub_new(t, ST_INTERP, x_jcc32(&t->b, cc)); }
void jit_leave_if(struct jctx *t, unsigned cc) { stub_new(t, ST_INTERP, x_jcc32(&t->b, cc))->leave_after = true; }
bool jit_flags_live(struct jctx *t) { return t->live[t->k]; }
bool *jit_vex_checked(struct jctx *t) { return &t->vex_checked; }
void jit_ymm_used(struct jctx *t) { t->ymm_dirty = true; }
int8_t *jit_y0(struct jctx *t) { return &t->y0; }
uint16_t *jit_yv(struct jctx *t) { return &t->yv; }
void jit_mxcsr_enter(struct jctx *t) { mxcsr_enter(t); }

void jit_insn_end(struct jctx *t, bool wrote_flags)
{
    mem_done(t);
    t->hf = 0;
    if (wrote_flags) {
        /* Live or not, a slow path's handler stored its own record. */
        t->pend.op = -1;
        t->mem_op = -1;
    }
}

/* EAX = the arithmetic flags (every other bit 0): the instruction's
 * record becomes "materialized" (CC_OP_EFLAGS), as flags_update leaves it. */
void jit_flags_store(struct jctx *t)
{
    struct xbuf *b = &t->b;
    t->pend.op = -1;   /* every arithmetic flag is written */
    x_alu_mi(b, 8, ALU_AND, xm(RCPU, (int32_t)offsetof(struct emu_cpu, rflags)), ~(int64_t)FLAGS_ARITH);
    x_alu_mr(b, 8, ALU_OR, xm(RCPU, (int32_t)offsetof(struct emu_cpu, rflags)), XAX);
    flags_op(t, CC_OP_EFLAGS, 0);
}

/* ---- string instructions ------------------------------------------------------------ */

/* For REP STOS/MOVS: out = the host address of guest address h (a
 * cached register) when the count*size bytes from there stay in one page
 * and the TLB has it for reading or writing; else to the stub (the
 * handler).  Uses RAX and out. */
static void rep_page(struct jctx *t, int h, int hc, unsigned sh, bool write, int out)
{
    struct xbuf *b = &t->b;
    x_mov_rr(b, 4, XAX, hc);
    if (sh)
        x_shift_ri(b, 4, SH_SHL, XAX, sh);
    x_mov_rr(b, 4, out, h);
    x_alu_ri(b, 4, ALU_AND, out, 0xfff);
    x_alu_rr(b, 4, ALU_ADD, XAX, out);
    x_alu_ri(b, 4, ALU_CMP, XAX, 4096);
    stub_new(t, ST_INTERP, x_jcc32(b, 7));              /* ja: crosses into the next page */
    x_mov_rr(b, 8, out, h);
    x_mov_rr(b, 4, XAX, out);
    x_shift_ri(b, 4, SH_SHR, XAX, 6);
    x_alu_ri(b, 4, ALU_AND, XAX, (EMU_TLB_SIZE - 1) << 6);
    x_alu_ri(b, 8, ALU_AND, out, -4096);
    x_alu_rm(b, 8, ALU_OR, out, xm(XSP, SLOT_TAG));
    int32_t field = write ? (int32_t)offsetof(struct emu_tlb_entry, vpn_write)
                          : (int32_t)offsetof(struct emu_tlb_entry, vpn_read);
    x_alu_rm(b, 8, ALU_CMP, out, xmi(RCPU, XAX, 0, t->tlb + field));
    if (cfg_all_slow)
        x_alu_ri(b, 4, ALU_CMP, XAX, -1);   /* never equal: the handler's path */
    struct stub *s = stub_new(t, ST_INTERP, x_jcc32(b, 5));
    x_mov_rr(b, 8, out, h);
    x_alu_rm(b, 8, ALU_ADD, out, xmi(RCPU, XAX, 0, t->tlb + (int32_t)offsetof(struct emu_tlb_entry, addend)));
    stub_way1(t, s, write, out);
}

/* REP STOS and REP MOVS (64-bit addresses, no FS/GS source): when DF is
 * clear and the whole destination (and source) lies in one page the TLB
 * lets us write (read), it is the host's own REP STOS/MOVS on the host
 * addresses, which keeps x86's element order for overlaps too (the host
 * RSI/RDI saved around it); else, and for more than a page, the handler
 * (ops_string.c, which also slices long ones). */
static bool emit_rep_string(struct jctx *t, const struct emu_insn *i)
{
    bool movs = i->op == 0xa4 || i->op == 0xa5;
    if (!(i->prefix & (PFX_REP | PFX_REPNE)) || i->adsize != 8 ||
        (movs && (i->seg == S_FS || i->seg == S_GS)))
        return false;
    struct xbuf *b = &t->b;
    unsigned size = op_size_w(i), sh = (unsigned)__builtin_ctz(size);
    int hc = ra_get(t, R_RCX, true);
    int hd = ra_get(t, R_RDI, true);
    int ha = movs ? ra_get(t, R_RSI, true) : ra_get(t, R_RAX, true);
    t->hf = 0;
    x_test_rr(b, 8, hc, hc);
    uint8_t *jzero = x_jcc32(b, 4);                     /* je: nothing to do */
    x_rm(b, 4, 0xf7, 0, xm(RCPU, OFF_RFLAGS), 4);       /* test dword [rflags], DF */
    x32(b, RFLAGS_DF);
    stub_new(t, ST_INTERP, x_jcc32(b, 5));
    x_alu_ri(b, 8, ALU_CMP, hc, 4096 >> sh);
    stub_new(t, ST_INTERP, x_jcc32(b, 7));              /* ja: more than a page */
    rep_page(t, hd, hc, sh, true, XCX);                 /* RCX = the host destination */
    if (movs)
        rep_page(t, ha, hc, sh, false, XDX);            /* RDX = the host source */
    /* The host's REP STOS/MOVS: RCX = the count, RDI (RSI) = where, RAX
     * = the value (STOS), taken from the cache registers before RSI and
     * RDI (cache registers themselves) change. */
    x_store(b, 8, xm(XSP, 0), XDI);
    x_store(b, 8, xm(XSP, SLOT_TMP), XSI);
    if (movs) {
        x_mov_rr(b, 8, XAX, hc);
        x_mov_rr(b, 8, XDI, XCX);
        x_mov_rr(b, 8, XSI, XDX);
        x_mov_rr(b, 8, XCX, XAX);
    } else {
        x_mov_rr(b, 8, XDX, hc);
        x_mov_rr(b, 8, XAX, ha);
        x_mov_rr(b, 8, XDI, XCX);
        x_mov_rr(b, 8, XCX, XDX);
    }
    if (size == 2)
        x8(b, 0x66);
    x8(b, 0xf3);
    if (size == 8)
        x8(b, 0x48);                                    /* REX.W: after the legacy prefixes */
    x8(b, (uint8_t)((movs ? 0xa4 : 0xaa) | (size > 1)));
    x_load(b, 8, XDI, xm(XSP, 0));
    x_load(b, 8, XSI, xm(XSP, SLOT_TMP));
    x_lea(b, 8, hd, xmi(hd, hc, sh, 0));
    if (movs)
        x_lea(b, 8, ha, xmi(ha, hc, sh, 0));
    x_alu_rr(b, 4, ALU_XOR, hc, hc);
    ra_dirty(t, R_RDI);
    ra_dirty(t, R_RCX);
    if (movs)
        ra_dirty(t, R_RSI);
    x_patch32(b, jzero, x_rx(b));
    t->sets_flags = false;
    mem_done(t);
    return true;
}

/* ---- control transfer: these end the translation ----------------------------------- */

static void emit_jcc(struct jctx *t, const struct emu_insn *i)
{
    unsigned cc = emu_cc(i);
    need_flags(t, cc_need[cc]);
    uint64_t target = next_rip(t, t->k) + i->imm;
    struct stub *s = stub_new(t, ST_EXIT, x_jcc32(&t->b, cc));
    s->rip = target;
    s->done = t->k + 1;
    struct jit_block_data *bd = t->bd;
    if (bd->njcc < bd->jcc_cap && target != t->rips[0]) {   /* not a loop's jump back */
        struct jit_jcc *p = &bd->jcc[bd->njcc++];
        p->rip = t->rips[t->k];
        s->count = &p->taken;
    }
}

/* A Jcc that jumps back to the translation's start (a loop): the jump
 * back (emit_loop_edge, or the entry's checks) follows inline, behind a
 * Jcc of the opposite condition to where the code goes on when it does
 * not jump (a stub that leaves when the Jcc ends the translation, else
 * the rest of it), so a trip round the loop takes one branch, not two.
 * True: the Jcc ended the translation. */
static bool emit_jcc_back(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    unsigned cc = emu_cc(i) ^ 1;
    need_flags(t, cc_need[cc]);
    if (t->k + 1 == t->n) {
        struct stub *s = stub_new(t, ST_EXIT, x_jcc32(b, cc));
        s->rip = next_rip(t, t->k);
        s->done = t->k + 1;
        emit_exit_static(t, &t->ra, &t->pend, t->rips[0], t->k + 1);
        return true;
    }
    uint8_t *on = x_jcc32(b, cc);
    /* The jump back's code is not on the way on: what it stores or
     * clobbers is not the state there. */
    struct ra ra = t->ra;
    struct pend pend = t->pend;
    uint8_t hf = t->hf;
    int mop = t->mem_op, msz = t->mem_size;
    emit_exit_static(t, &ra, &pend, t->rips[0], t->k + 1);
    t->ra = ra;
    t->pend = pend;
    t->hf = hf;
    t->mem_op = mop;
    t->mem_size = msz;
    x_patch32(b, on, x_rx(b));
    return false;
}

/* A followed jump (jit_follow): the translation goes on at its target, so
 * a JMP generates nothing and a Jcc leaves when it does not jump. */
static void emit_followed(struct jctx *t, const struct emu_insn *i)
{
    if (i->kind != EK_JCC)
        return;
    unsigned cc = emu_cc(i) ^ 1;
    need_flags(t, cc_need[cc]);
    struct stub *s = stub_new(t, ST_EXIT, x_jcc32(&t->b, cc));
    s->rip = next_rip(t, t->k);
    s->done = t->k + 1;
}

/* A CALL's push once RCX holds its host address: the return address
 * stored, RSP (cached in hsp) moved down, the instruction's stubs resumed. */
static void call_push_done(struct jctx *t, int hsp)
{
    struct xbuf *b = &t->b;
    uint64_t ret = next_rip(t, t->k);
    if (x_fits32((int64_t)ret)) {
        x_store_imm(b, 8, xm(XCX, 0), ret);
    } else {
        x_mov_ri(b, XAX, ret);
        x_store(b, 8, xm(XCX, 0), XAX);
    }
    x_lea(b, 8, hsp, xm(hsp, -8));
    ra_dirty(t, R_RSP);
    mem_done(t);
}

/* CALL rel32 / CALL r/m64 push the return address first. */
static bool emit_call_push(struct jctx *t)
{
    struct xbuf *b = &t->b;
    int hsp = ra_get(t, R_RSP, true);
    x_lea(b, 8, XCX, xm(hsp, -8));
    t->stk = true;
    emit_tlb(t, 8, true, false);
    call_push_done(t, hsp);
    return true;
}

/* CALL through memory (a function pointer: qsort's comparator, a
 * vtable): both accesses are looked up before either is made, so a miss
 * or fault on either runs the handler, which does the whole call; the
 * target ends in RDX as emit_exit_dynamic wants it, on the slow path too
 * (emit_handler_call leaves it there when the handler went on to the next
 * instruction). */
static bool emit_call_mem(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    int hsp = map_push_and_address(t, i);
    x_lea(b, 8, XCX, xm(hsp, -8));
    t->stk = true;
    emit_tlb(t, 8, true, false);
    x_store(b, 8, xm(XSP, 0), XCX);              /* the push's host address */
    emit_ea(t, i);
    emit_tlb(t, 8, false, false);
    x_load(b, 8, XDX, xm(XCX, 0));               /* the target */
    x_load(b, 8, XCX, xm(XSP, 0));
    call_push_done(t, hsp);
    emit_exit_dynamic(t, &t->ra, &t->pend, t->k + 1);
    return true;
}

/* RET's pop: RDX = the return address, RSP moved up. */
static void emit_ret_pop(struct jctx *t)
{
    struct xbuf *b = &t->b;
    int hsp = ra_get(t, R_RSP, true);
    x_mov_rr(b, 8, XCX, hsp);
    t->stk = true;
    emit_tlb(t, 8, false, false);
    x_load(b, 8, XDX, xm(XCX, 0));
    x_lea(b, 8, hsp, xm(hsp, 8));
    ra_dirty(t, R_RSP);
    mem_done(t);
}

/* A transfer a trace goes on through (jit_trace): a JMP generates
 * nothing, a CALL pushes its return address, a RET pops one and goes on
 * where its CALL would return to when that is the address popped, else
 * leaves for the one popped.  (Their slow paths run the handler, which
 * moves RIP elsewhere than after the instruction: they leave.) */
static void emit_traced(struct jctx *t, const struct emu_insn *i)
{
    if (i->kind == EK_JCC) {
        emit_followed(t, i);   /* leaves when it does not jump */
    } else if (i->kind == EK_CALL) {
        emit_call_push(t);
    } else if (i->kind == EK_RET) {
        emit_ret_pop(t);
        traced_ret_check(t, t->k);
    }
}

/* Translates a control transfer at the end of the block; false: run it
 * by its handler. */
static bool emit_transfer(struct jctx *t, const struct emu_insn *i)
{
    struct xbuf *b = &t->b;
    unsigned done = t->k + 1;
    switch (i->kind) {
    case EK_JMP:
        if (i->opsize != 8)
            return false;
        emit_exit_static(t, &t->ra, &t->pend, next_rip(t, t->k) + i->imm, done);
        return true;
    case EK_CALL:
        if (i->opsize != 8)
            return false;
        emit_call_push(t);
        emit_exit_static(t, &t->ra, &t->pend, next_rip(t, t->k) + i->imm, done);
        return true;
    case EK_RET:
        if (i->opsize != 8 || i->op != 0xc3)
            return false;
        emit_ret_pop(t);
        emit_exit_dynamic(t, &t->ra, &t->pend, done);
        return true;
    case EK_JMP_IND: case EK_CALL_IND: {
        if (i->opsize != 8)
            return false;
        if (i->mod == 3) {
            if (i->rm == R_RSP)
                return false;
            int h = ra_get(t, i->rm, true);
            if (i->kind == EK_CALL_IND) {
                x_mov_rr(b, 8, XDX, h);
                /* emit_call_push uses RCX/RDX/RAX: keep the target in R11's
                 * memory slot? Simpler: push first, then reload the target. */
                emit_call_push(t);
                x_mov_rr(b, 8, XDX, h);
            } else {
                x_mov_rr(b, 8, XDX, h);
            }
            emit_exit_dynamic(t, &t->ra, &t->pend, done);
            return true;
        }
        if (i->kind == EK_CALL_IND)
            return emit_call_mem(t, i);
        emit_ea(t, i);
        emit_tlb(t, 8, false, false);
        x_load(b, 8, XDX, xm(XCX, 0));
        mem_done(t);
        emit_exit_dynamic(t, &t->ra, &t->pend, done);
        return true;
    }
    default:
        return false;
    }
}

/* ---- the block ----------------------------------------------------------------------- */

static bool is_transfer(const struct emu_insn *i)
{
    switch (i->kind) {
    case EK_JMP: case EK_CALL: case EK_RET: case EK_JMP_IND: case EK_CALL_IND:
        return true;
    default:
        return false;
    }
}

/* A non-VEX instruction before which host vector registers keep what
 * jit_vex.c left there (jctx.y0, yv) and bits 255:128 may stay set: a
 * general-register form translated with host general registers alone,
 * whose C (a handler, a helper) forgets them (vec_release) and whose
 * resuming stubs load them again (jit_vec_reload).  Not a transfer, a
 * stack group's PUSH/POP/LEAVE or a followed jump, which leave or call C
 * on the main path; not SSE, x87 or anything else only its handler
 * knows (EK_OTHER but the general-register ones jit_vex.c makes), which
 * may use host vector registers or write the guest's. */
static bool vec_keeps(const struct jctx *t, const struct emu_insn *i)
{
    if (is_transfer(i) || (t->follow && t->k == t->follow_k) || t->fol[t->k])
        return false;
    switch (i->kind) {
    case EK_OTHER:   /* but TZCNT LZCNT POPCNT MOVBE (jit_vex.c: general registers) */
        return (i->map == MAP_0F && (i->op == 0xbc || i->op == 0xbd || i->op == 0xb8)) ||
               (i->map == MAP_0F38 && (i->op == 0xf0 || i->op == 0xf1));
    case EK_INVALID: case EK_PUSH: case EK_POP: case EK_LEAVE:
        return false;
    default:
        return true;
    }
}

static bool emit_insn(struct jctx *t, const struct emu_insn *i)
{
    t->stk = false;   /* emit_ea's note is for the emit_tlb of its own instruction */
    if (!(cfg_kinds >> i->kind & 1))
        return false;
    switch (i->kind) {
    case EK_ALU: return emit_alu(t, i);
    case EK_TEST: return i->op == 0xf6 || i->op == 0xf7 ? (i->mod == 3 ? emit_test(t, i) : emit_test(t, i)) : emit_test(t, i);
    case EK_INC: case EK_DEC: return emit_incdec(t, i);
    case EK_NOT: case EK_NEG: return emit_notneg(t, i);
    case EK_SHIFT: return emit_shift(t, i);
    case EK_IMUL: return emit_imul(t, i);
    case EK_MUL: return emit_mul(t, i);
    case EK_DIV: return emit_div(t, i);
    case EK_MOV: return emit_mov(t, i);
    case EK_MOV_IMM: return emit_mov_imm(t, i);
    case EK_MOVZX: case EK_MOVSX: case EK_MOVSXD: return emit_movx(t, i);
    case EK_LEA: return emit_lea(t, i);
    case EK_XCHG: return emit_xchg(t, i);
    case EK_CBW: case EK_CWD: return emit_cbw_cwd(t, i);
    case EK_NOP: return true;
    case EK_BSWAP: return emit_bswap(t, i);
    case EK_CMOV: return emit_cmov(t, i);
    case EK_SETCC: return emit_setcc(t, i);
    case EK_PUSH: return emit_push(t, i);
    case EK_POP: return emit_pop(t, i);
    case EK_LEAVE: return emit_leave(t, i);
    case EK_BT: return emit_bt(t, i);
    case EK_BITSCAN: return emit_bitscan(t, i);
    case EK_OTHER:
        if (i->map == MAP_1 && (i->op == 0xaa || i->op == 0xab || i->op == 0xa4 || i->op == 0xa5))
            return emit_rep_string(t, i);
        if (i->map == MAP_0F && i->op == 0xb1)
            return emit_atomic_mem(t, i);
        if (i->map == MAP_0F && i->op == 0xc1)
            return emit_xadd_mem(t, i);
        if (i->map == MAP_0F && i->op == 0xc7)
            return emit_cmpxchg16b(t, i);
        if (i->map == MAP_1 && i->op == 0x8c)
            return emit_mov_from_sreg(t, i);
        if (i->map == MAP_1 && (i->op == 0xfc || i->op == 0xfd))
            return emit_cld_std(t, i);
        if (i->map == MAP_0F && i->op == 0xae && emit_fence(t, i))
            return true;
        if (i->map == MAP_0F && (i->op == 0xa4 || i->op == 0xa5 || i->op == 0xac || i->op == 0xad))
            return emit_shld(t, i);
        if (i->map == MAP_1 && i->op == 0xd9 && i->mod != 3 && GRP_OF(i) == 7)
            return emit_fnstcw(t, i);
        return emit_sse(t, i) || jit_vex_emit(t, i);
    default: return false;
    }
}

/* Emits the out-of-line stubs recorded while emitting the block. */
static void emit_stubs(struct jctx *t)
{
    struct xbuf *b = &t->b;
    for (unsigned s = 0; s < t->nstubs && !t->fail; s++) {
        struct stub *st = &t->stubs[s];
        x_patch32(b, st->from, x_rx(b));
        /* Host vector registers: the stub's own (y0_at, yv_at, ymm_dirty). */
        vec_forget(t);
        t->ymm_dirty = false;
        if (st->kind == ST_STACK) {   /* no C: its inner stub's VZEROUPPER */
            emit_stack_stub(t, st);
            continue;
        }
        /* Host YMM bits 255:128 clean before C or the next translation
         * (jctx.ymm_dirty); an ST_INTERP's way-1 compare comes first. */
        if (st->ymm_dirty && st->kind != ST_INTERP)
            x_vzeroupper(b);
        if (st->kind == ST_EXIT) {
            t->mem_op = st->mem_op;
            t->mem_size = st->mem_size;
            t->xcount = st->count;
            emit_exit_static(t, &st->ra, &st->pend, st->rip, st->done);
            t->xcount = NULL;
            continue;
        }
        if (st->kind == ST_DYNEXIT) {   /* RDX: the guest RIP */
            t->mem_op = st->mem_op;
            t->mem_size = st->mem_size;
            emit_exit_dynamic(t, &st->ra, &st->pend, st->done);
            continue;
        }
        /* ST_INTERP: the instruction's handler does it all (TLB miss,
         * MMIO, code page, fault), then the fast path continues. */
        if (!st->resume) {
            t->fail = true;
            break;
        }
        if (st->group >= 0)
            emit_group_slow(t, st);
        if (st->way1)
            emit_way1(t, st);
        if (st->ymm_dirty)
            x_vzeroupper(b);
        emit_writeback(t, &st->ra);
        t->mem_op = st->mem_op;
        t->mem_size = st->mem_size;
        materialize(t, &st->pend, false);   /* the flags a fault must show */
        for (unsigned k = st->k; k <= st->k_last; k++)   /* a group's one by one (emit_stack_group) */
            emit_handler_call(t, k);
        if (st->leave_after) {   /* a loop edge here checks the epoch too */
            struct ra none;
            ra_reset(&none);
            t->whole_handler = true;
            emit_exit_static(t, &none, NULL, next_rip(t, st->k), st->k + 1);
            continue;
        }
        if (st->restore_flags) {
            x_mov_rr(b, 8, XDI, RCPU);
            x_call_abs(b, (const void *)jit_flags_ah);
            x8(b, 0x04); x8(b, 0x7f);
            x8(b, 0x9e);
        }
        emit_reload(t, &st->ra, false);
        if (st->reload_pf == PF_RES) {
            x_load(b, 8, PF1, xm(RCPU, OFF_LAZY_RES));
        } else if (st->reload_pf) {
            x_load(b, 8, PF1, xm(RCPU, OFF_LAZY_S1));
            if (st->reload_pf == PF_S1_S2)
                x_load(b, 8, PF2, xm(RCPU, OFF_LAZY_S2));
        }
        jit_vec_reload(b, st->y0_at, st->yv_at, st->ydirty_at);
        x_jmp_abs(b, (uint64_t)((intptr_t)st->resume + b->rx_delta));
    }
}

/* Which instructions' flags someone can see (opt.c's liveness): only
 * theirs are stored in the lazy record. */
static void flags_liveness(struct jctx *t)
{
    uint8_t live[JIT_MAX_INSNS];
    /* A JMP a trace goes on through is not there: no barrier. */
    const struct emu_insn *insn = t->insn;
    if (t->nx) {
        for (unsigned k = 0; k < t->n; k++) {
            t->flag_insn[k] = t->insn[k];
            if (t->fol[k] && t->flag_insn[k].kind == EK_JMP)
                t->flag_insn[k].kind = EK_NOP;
        }
        insn = t->flag_insn;
    }
    t->live_in = emu_flags_live(insn, t->n, live);
    for (unsigned k = 0; k < t->n; k++) {
        struct emu_flag_use u;
        emu_flag_use(&insn[k], &u);
        t->live[k] = (live[k] & u.may) != 0;
    }
}

/* A direct jump (JMP rel, or Jcc taken) the translation can follow. */
static bool followable(const struct emu_insn *i)
{
    return (i->kind == EK_JCC || i->kind == EK_JMP) && i->opsize == 8 && (cfg_kinds >> i->kind & 1);
}

/* Loops of two blocks (gzip's longest_match: a compare that fails at once,
 * then the step to the next candidate and a jump back to the compare):
 * instruction n - 1 jumps back to a target below the translation's start
 * in the same page.  When the code there, decoded straight on (past the
 * fall-through of its Jccs), reaches a direct jump to the translation's
 * start within JIT_FOLLOW_INSNS instructions and JIT_FOLLOW_BYTES bytes,
 * without a system instruction or another transfer, those instructions
 * are appended: instruction n - 1 continues there when it jumps (a Jcc's
 * fall-through becomes the side exit), and the closing jump is a jump to
 * the translation's own start, a self loop (emit_loop_edge).  The bytes
 * are copied for jit_verify: the same page as the block, so the same
 * physical page and code mark, and the same map epoch.  Returns the new
 * instruction count, or 0 (nothing followed). */
static unsigned jit_follow(struct jctx *t, const struct emu_block *blk, unsigned n)
{
    const struct emu_insn *i = &t->insn[n - 1];
    uint64_t start = t->rips[0], target = next_rip(t, n - 1) + (uint64_t)i->imm;
    if (!cfg_follow || !followable(i) || target >= start || (target ^ start) >> 12)
        return 0;
    unsigned avail = 4096 - (unsigned)(target & 4095);
    if (avail > JIT_FOLLOW_BYTES)
        avail = JIT_FOLLOW_BYTES;
    uint8_t *copy = t->xbytes[0];
    memcpy(copy, blk->host - (start - target), avail);
    unsigned off = 0, m = n;
    uint64_t rip = target;
    while (m < JIT_MAX_INSNS && m - n < JIT_FOLLOW_INSNS && off < avail) {
        struct emu_insn *d = &t->insn[m];
        unsigned left = avail - off;
        int r = emu_decode_bytes(copy + off, left < 15 ? left : 15, 8, d);
        if (r <= 0 || d->kind == EK_INVALID)
            return 0;
        if (emu_insn_ends_block(d) && d->kind != EK_JMP)
            return 0;   /* a system instruction or another transfer */
        t->rips[m++] = rip;
        off += (unsigned)r;
        rip += (unsigned)r;
        if (followable(d) && rip + (uint64_t)d->imm == start) {
            t->follow = true;
            t->follow_k = n - 1;
            t->xr[0] = (struct jit_range){ .la = target, .pa = blk->pa - (start - target),
                                           .host = blk->host - (start - target), .bytes = copy,
                                           .n = (uint16_t)off };
            t->nx = 1;
            t->rips[m] = rip;
            return m;
        }
        if (d->kind == EK_JMP)
            return 0;
    }
    return 0;
}

static unsigned jcc_hint_index(uint64_t rip)
{
    return (unsigned)(rip ^ (rip >> 12)) & (JIT_HINTS - 1);
}

/* Whether instruction i at rip is a Jcc a trace goes on through (its
 * target, jcc_hints). */
static bool jcc_hot(const struct jctx *t, const struct emu_insn *i, uint64_t rip)
{
    return t->trace && cfg_trace && i->kind == EK_JCC && i->opsize == 8 && (cfg_kinds >> EK_JCC & 1) &&
           t->j->hints[jcc_hint_index(rip)] == rip;
}

/* Makes the code at executable address at a jump to to (jmp rel32;
 * at least 5 bytes of code there: an epoch compare or the heat). */
static void jmp_patch(struct emu_jit *j, uint64_t at, uint64_t to)
{
    uint8_t *w = (uint8_t *)(uintptr_t)(at - (uint64_t)j->delta);
    int32_t rel = (int32_t)((int64_t)to - (int64_t)(at + 5));
    w[0] = 0xe9;
    memcpy(w + 1, &rel, 4);
}

/* A translation's heat is spent: its Jccs that jumped in more than half
 * of the runs that reached them (the runs that reached the first: all;
 * each side exit before a Jcc takes its runs away) become hints for the
 * traces made from now on; the others drop theirs; one that 16 runs or
 * fewer reached says nothing. */
static void jcc_hints(struct emu_jit *j, const struct jit_block_data *bd, uint32_t runs)
{
    for (unsigned k = 0; k < bd->njcc; k++) {
        if (runs < 16)
            break;   /* too few runs reached it to say */
        const struct jit_jcc *p = &bd->jcc[k];
        uint64_t *h = &j->hints[jcc_hint_index(p->rip)];
        /* A self loop's Jccs are reached on every trip, which nothing
         * counts: one that jumped more than twice a run jumps on trips
         * (a branch inside the loop), one that jumped at most once a run
         * may be the loop's exit, whose hint would make a trace that
         * goes on at the exit's target and leaves the loop on every trip
         * (awk's field splitting: two translations and two links per
         * character). */
        if (bd->loops ? (uint64_t)p->taken > 2 * (uint64_t)runs : (uint64_t)p->taken * 2 > runs)
            *h = p->rip;
        else if (*h == p->rip)
            *h = 0;
        if (!bd->loops)   /* a loop's exit took its runs away after the trips before it */
            runs = p->taken < runs ? runs - p->taken : 0;
    }
}

/* Whether instruction n - 1 is a transfer jit_trace can go on through,
 * and where to: a direct CALL or JMP, a Jcc with a hint (its target), or
 * a RET whose CALL the translation followed (rets: the return addresses
 * of the CALLs followed, nret). */
static bool trace_target(const struct jctx *t, unsigned n, const uint64_t *rets, unsigned nret,
                         uint64_t *target)
{
    const struct emu_insn *i = &t->insn[n - 1];
    if (!cfg_trace || i->opsize != 8 || !(cfg_kinds >> i->kind & 1))
        return false;
    if (jcc_hot(t, i, t->rips[n - 1]) || i->kind == EK_JMP || i->kind == EK_CALL)
        *target = next_rip(t, n - 1) + (uint64_t)i->imm;
    else if (i->kind == EK_RET && i->op == 0xc3 && nret)
        *target = rets[nret - 1];
    else
        return false;
    return true;
}

/* Whether a trace may go on after instruction n - 1: a transfer, or a Jcc
 * with a hint. */
static bool goes_on(const struct jctx *t, unsigned n)
{
    return is_transfer(&t->insn[n - 1]) || jcc_hot(t, &t->insn[n - 1], t->rips[n - 1]);
}

/* Whether the translation's first n instructions hold one at rip. */
static bool trace_has(const struct jctx *t, unsigned n, uint64_t rip)
{
    for (unsigned k = 0; k < n; k++)
        if (t->rips[k] == rip)
            return true;
    return false;
}

/* Decodes instructions m, m + 1, ... straight on from copy (avail bytes
 * at rip), as a block is but past a Jcc only when it has no hint: up to
 * and with a transfer or a Jcc with a hint, or up to a system
 * instruction, an instruction not whole in the copy (*stop set) or
 * JIT_MAX_INSNS.  Returns the new count; *off: the bytes taken. */
static unsigned decode_on(struct jctx *t, unsigned m, const uint8_t *copy, unsigned avail, uint64_t rip,
                          unsigned *off, bool *stop)
{
    *off = 0;
    *stop = false;
    while (m < JIT_MAX_INSNS && *off < avail) {
        struct emu_insn *d = &t->insn[m];
        unsigned left = avail - *off;
        int r = emu_decode_bytes(copy + *off, left < 15 ? left : 15, 8, d);
        if (r <= 0 || d->kind == EK_INVALID) {
            *stop = true;   /* also an instruction that crosses the page (jit_cross) */
            break;
        }
        bool end = emu_insn_ends_block(d);
        if (end && !is_transfer(d)) {
            *stop = true;   /* HLT, I/O, CR/MSR...: the interpreter's */
            break;
        }
        bool hot = jcc_hot(t, d, rip);
        t->rips[m++] = rip;
        *off += (unsigned)r;
        rip += (unsigned)r;
        if (end || hot)
            break;
    }
    t->rips[m] = rip;
    return m;
}

/* An instruction across a page boundary (python3's _PyAccu_Accumulate
 * has a CMP at 0x5d7ff9-0x5d8000): blocks stop before one (cache.c), and
 * each run left the translation there for the dispatcher, which ran it
 * alone and entered the translation after it: 200 000 times in
 * bench/emu-user's python3 workload, 60% of its entries from the
 * dispatcher.  When the translation's n instructions end at rips[n]
 * fewer than 15 bytes before the end of its page, the one there
 * (decoded from copies of the rest of this page, code_rest at most 14
 * bytes, and the start of the next page as the TLB fetches it: code_page)
 * is appended and decoding goes on in the next page (decode_on).  Two
 * ranges: the rest of this page and the start of the next, each page
 * marked as code before its bytes are copied, compared whenever the
 * block's bytes are (jit_same_ranges), the next page's linear address
 * checked in another map epoch (jit_same_map), as a trace's are.  Returns
 * the new count (n: nothing appended; *stop: do not go on after it). */
static unsigned jit_cross(struct jctx *t, unsigned n, const uint8_t *code_rest, uint64_t pa_rest,
                          bool *stop)
{
    uint64_t rip = t->rips[n];
    unsigned n1 = 4096 - (unsigned)(rip & 4095);
    *stop = true;
    if (!cfg_cross || n == 0 || n >= JIT_MAX_INSNS || n1 >= 15 || t->nx + 2 > JIT_MAX_RANGES ||
        t->follow)
        return n;
    uint64_t p2 = rip + n1, pa2;
    const uint8_t *page = code_page(t->c, p2, &pa2);
    if (!page)
        return n;
    struct jit_range *xa = &t->xr[t->nx], *xb = &t->xr[t->nx + 1];
    uint8_t *ca = t->xbytes[t->nx], *cb = t->xbytes[t->nx + 1];
    emu_mmu_mark_code(t->c, pa2);   /* before the bytes are read: see build() */
    unsigned avail = 4096 < JIT_RANGE_BYTES ? 4096 : JIT_RANGE_BYTES;
    memcpy(ca, code_rest, n1);
    memcpy(cb, page, avail);
    uint8_t whole[15];
    memcpy(whole, ca, n1);
    memcpy(whole + n1, cb, 15 - n1);
    struct emu_insn *d = &t->insn[n];
    int r = emu_decode_bytes(whole, 15, 8, d);
    if (r <= (int)n1 || d->kind == EK_INVALID || (emu_insn_ends_block(d) && !is_transfer(d)))
        return n;   /* not one across the boundary, or the interpreter's */
    t->rips[n] = rip;
    unsigned m = n + 1, off = (unsigned)r - n1;
    t->rips[m] = rip + (unsigned)r;
    *stop = false;
    if (!emu_insn_ends_block(d) && !jcc_hot(t, d, rip)) {
        unsigned more;
        m = decode_on(t, m, cb + off, avail - off, p2 + off, &more, stop);
        off += more;
    }
    *xa = (struct jit_range){ .la = rip, .pa = pa_rest, .host = code_rest, .bytes = ca, .n = (uint16_t)n1 };
    *xb = (struct jit_range){ .la = p2, .pa = pa2, .host = page, .bytes = cb, .n = (uint16_t)off };
    t->nx += 2;
    t->ncross++;
    return m;
}

/* Traces: when the translation's n instructions end with a direct CALL
 * or JMP, a Jcc with a hint (jcc_hints: it jumped in most runs; the
 * trace leaves when it does not), or a RET whose CALL it followed, it
 * goes on at the target (awk and sort leave a translation at a CALL or
 * RET most of the time; each exit and entry stores and loads the guest
 * registers and the flags).  The target's code is decoded straight on
 * from a copy (past its Jccs' fall-through, as a block is, but for a Jcc
 * with a hint) up to the next transfer or such Jcc, which
 * may be followed again, a system instruction, the end of its page, or
 * JIT_MAX_INSNS in all; never into code the translation already
 * holds (a loop ends it as before).  The code must be where the TLB
 * fetches it from now (code_page: no walk); its page is marked as code
 * before the copy is taken, as a block's is, so that a store into it
 * ends the epoch, and the copy is compared whenever the block's bytes
 * are (jit_same_ranges).  Another map epoch may map the linear address
 * elsewhere: the dispatcher checks again before it enters the trace
 * (jit_same_map); links and the jump cache hold within a map epoch.
 * A followed CALL pushes its return address and goes on; a followed RET
 * pops, compares with that address and goes on, or leaves for the one
 * popped (ST_DYNEXIT).  Returns the new instruction count. */
static unsigned jit_trace(struct jctx *t, unsigned n)
{
    uint64_t rets[JIT_MAX_INSNS];
    unsigned nret = 0;
    while (n < JIT_MAX_INSNS && t->nx < JIT_MAX_RANGES) {
        struct emu_insn *i = &t->insn[n - 1];
        uint64_t next = next_rip(t, n - 1), target;
        if (!trace_target(t, n, rets, nret, &target))
            break;
        if (target == t->rips[0] || trace_has(t, n, target))
            break;
        uint64_t pa;
        const uint8_t *page = code_page(t->c, target, &pa);
        if (!page)
            break;
        struct jit_range *x = &t->xr[t->nx];
        uint8_t *copy = t->xbytes[t->nx];
        unsigned avail = 4096 - (unsigned)(target & 4095);
        if (avail > JIT_RANGE_BYTES)
            avail = JIT_RANGE_BYTES;
        emu_mmu_mark_code(t->c, pa);   /* before the bytes are read: see build() */
        memcpy(copy, page + (target & 4095), avail);
        unsigned off, m;
        bool stop;
        m = decode_on(t, n, copy, avail, target, &off, &stop);
        if (m == n)
            break;   /* nothing to go on with: instruction n - 1 leaves */
        t->fol[n - 1] = true;
        t->traced = true;
        t->njccf += i->kind == EK_JCC;
        if (i->kind == EK_CALL) {
            rets[nret++] = next;
        } else if (i->kind == EK_RET) {
            t->ret_to[n - 1] = target;
            nret--;
        }
        x->la = target;
        x->pa = pa + (target & 4095);
        x->host = page + (target & 4095);
        x->bytes = copy;
        x->n = (uint16_t)off;
        t->nx++;
        n = m;
        if (stop && (target & 4095) + off + 15 > 4096)
            n = jit_cross(t, n, page + (target & 4095) + off, pa + (target & 4095) + off, &stop);
        if (stop || !goes_on(t, n))
            break;   /* the translation ends there with a static exit */
    }
    return n;
}

/* Decodes the block again (entries in b may be fused) and picks the
 * translated prefix: up to a system instruction or the end, or through a
 * jump that closes a loop (jit_follow). */
static unsigned jit_decode(struct jctx *t, const struct emu_block *blk)
{
    unsigned off = 0, n = 0;
    uint64_t rip = t->c->rip;
    while (n < JIT_MAX_INSNS && off < blk->nbytes) {
        struct emu_insn *i = &t->insn[n];
        unsigned left = blk->nbytes - off;
        int r = emu_decode_bytes(blk->bytes + off, left < 15 ? left : 15, 8, i);
        if (r <= 0 || i->kind == EK_INVALID)
            break;
        bool end = emu_insn_ends_block(i);
        if (end && !is_transfer(i))
            break;   /* HLT, I/O, CR/MSR, far transfers, INT, ...: the interpreter's */
        t->rips[n] = rip;
        off += (unsigned)r;
        rip += (unsigned)r;
        n++;
        unsigned m = jit_follow(t, blk, n);
        if (m)
            return m;
        if (end || jcc_hot(t, i, t->rips[n - 1]))
            break;
    }
    t->rips[n] = rip;
    if (off == blk->nbytes && n && !emu_insn_ends_block(&t->insn[n - 1]) &&
        !jcc_hot(t, &t->insn[n - 1], t->rips[n - 1])) {
        bool stop;
        n = jit_cross(t, n, blk->host + off, blk->pa + off, &stop);
        if (stop)
            return n;
    }
    if (t->trace && n && goes_on(t, n))
        n = jit_trace(t, n);
    return n;
}

/* A self loop is translated again with its registers kept across the
 * jump back when that jump holds any cached register. */
static bool loop_worth(const struct ra *r)
{
    for (int g = 0; g < 16; g++)
        if (r->host[g] >= 0)
            return true;
    return false;
}

/* Whether jit_trace could go on from the end of the translation: its
 * last instruction is a direct CALL or JMP (no CALL followed: no RET). */
static bool trace_could(const struct jctx *t)
{
    uint64_t target;
    return trace_target(t, t->n, NULL, 0, &target);
}

/* Entries (by links or the dispatcher; a self loop's jumps back do not
 * count) that a translation that could be a trace runs before it is made
 * one (emu_jit_run): code run a few thousand times (most of a boot's) is
 * not worth the bigger translations, whose code repeats what other
 * translations hold (docs/emu-jit.md has the numbers).  With the default
 * threshold of 64: 16384 entries; HOSTEL_EMU_JIT_TRACE_HEAT sets the
 * multiple of the threshold. */
static int cfg_heat = -1;
static int32_t trace_heat(void)
{
    if (cfg_heat < 0) {
        const char *h = getenv("HOSTEL_EMU_JIT_TRACE_HEAT");
        cfg_heat = h && *h ? atoi(h) : 256;
    }
    return cfg_heat * cfg_threshold;
}

void emu_jit_test_trace_heat(int multiple)
{
    cfg_heat = multiple;
}

/* The guest registers instruction i may write (a superset; all for the
 * kinds not told apart here).  *step: the register, when i only adds a
 * constant to it (ADD/SUB r, imm; INC/DEC r; LEA r, [r + d]), else -1. */
static uint32_t insn_writes(const struct emu_insn *i, int *step)
{
    *step = -1;
    uint32_t reg = 1u << (i->reg & 15), rm = i->mod == 3 ? 1u << (i->rm & 15) : 0;
    const uint32_t rsp = 1u << R_RSP;
    switch (i->kind) {
    case EK_JCC: case EK_JMP: case EK_NOP: case EK_TEST:
        return 0;
    case EK_BT:                                      /* BTS/BTR/BTC write r/m */
        return (i->op == 0xba ? GRP_OF(i) != 4 : i->op != 0xa3) ? rm : 0;
    case EK_ALU: {
        int op = emu_alu_op(i);
        if (op == 7)   /* CMP */
            return 0;
        bool imm = i->map == MAP_1 && (i->op >= 0x80 || (i->op & 7) >= 4);
        if (imm && i->mod == 3 && (op == 0 || op == 5) && i->op >= 0x80)
            *step = i->rm & 15;
        if (i->map == MAP_1 && i->op < 0x40 && (i->op & 7) >= 4)
            return 1u << R_RAX;                      /* op AL/eAX, imm */
        if (i->op >= 0x80)
            return rm;                               /* op r/m, imm */
        return (i->op & 2) ? reg : rm;               /* 02/03: to reg; 00/01: to r/m */
    }
    case EK_INC: case EK_DEC:
        if (i->mod == 3)
            *step = i->rm & 15;
        return rm;
    case EK_LEA:
        if (i->base == i->reg && i->index == 0xff)
            *step = i->reg & 15;
        return reg;
    case EK_MOV:
        return (i->op == 0x8a || i->op == 0x8b) ? reg : rm;
    case EK_MOVZX: case EK_MOVSX: case EK_MOVSXD: case EK_IMUL: case EK_CMOV: case EK_BITSCAN:
        return reg;
    case EK_MOV_IMM: case EK_BSWAP: case EK_SETCC: case EK_NOT: case EK_NEG: case EK_SHIFT:
        return rm;
    case EK_PUSH:
        return rsp;
    case EK_POP:
        return rsp | rm;
    case EK_CALL: case EK_CALL_IND: case EK_RET:
        return rsp;
    case EK_LEAVE:
        return rsp | 1u << R_RBP;
    case EK_OTHER:
        /* The 0F maps (SSE, VEX, BMI, CMPXCHG, CPUID, RDTSC, PCMPxSTRI):
         * their operands, VEX.vvvv, and what some write implicitly. */
        if (i->map != MAP_1)
            return reg | rm | ((i->prefix & PFX_VEX) ? 1u << VEX_VVVV(i) : 0) |
                   1u << R_RAX | 1u << R_RCX | 1u << R_RDX | 1u << R_RBX;
        return 0xffff;
    default:
        return 0xffff;
    }
}

/* A self loop (t->head): the guest registers the translation leaves as
 * they are or only steps by constants: an address made of them (and a
 * displacement) stays in one page for many runs of the body. */
static void loop_regs(struct jctx *t)
{
    uint32_t written = 0;
    /* The body: up to the last jump back to the start (what comes after
     * it runs once per entry). */
    unsigned end = t->n;
    for (unsigned k = 0; k < t->n; k++) {
        const struct emu_insn *i = &t->insn[k];
        if ((i->kind == EK_JCC || i->kind == EK_JMP) && next_rip(t, k) + i->imm == t->rips[0])
            end = k + 1;
    }
    for (unsigned k = 0; k < end; k++) {
        int step;
        uint32_t w = insn_writes(&t->insn[k], &step);
        if (step < 0)
            written |= w;
    }
    t->loop_stable = ~written & 0xffff;
}

/* Whether instruction i's memory operand gets a loop slot (emit_tlb):
 * in a self loop translated with its registers kept (t->head), an
 * address made of a displacement and registers the body does not change
 * or steps by constants (loop_regs) stays in one page for many passes,
 * and the slot's compare and add (as the stack page's: the addend's load
 * does not wait for the address) replace the TLB's index, compare and
 * add.  Which accesses get one is a guess for speed only: a slot holds
 * nothing but what a TLB hit gave in this run of translated code, as the
 * stack page.  A page per access site for every access was slower
 * (docs/emu-jit.md: sites that hop between pages miss every time). */
static bool loop_site(const struct jctx *t, const struct emu_insn *i)
{
    if (!t->head || !cfg_loopslots || i->mod == 3 || i->kind == EK_INVALID)
        return false;
    if (i->base < 16 && !(t->loop_stable & (1u << i->base)))
        return false;
    if (i->index < 16 && !(t->loop_stable & (1u << i->index)))
        return false;
    return true;
}

/* trace: let jit_trace go on through CALL, JMP and RET (and Jccs with a
 * hint, jcc_hints). */
static struct jit_block_data *translate(struct emu_cpu *c, struct emu_jit *j, struct emu_block *blk,
                                        bool trace)
{
    if (!j->ctx && !(j->ctx = malloc(sizeof(*j->ctx))))
        return NULL;
    struct jctx *t = j->ctx;
    struct ra head;
    bool use_head = false, tried_head = false;
again:
    memset(t, 0, offsetof(struct jctx, insn));
    t->head = use_head ? &head : NULL;
    t->c = c;
    t->j = j;
    t->blk = blk;
    t->trace = trace;
    t->n = jit_decode(t, blk);
    if (t->n == 0)
        return NULL;
    if (j->code_used + JIT_BLOCK_ROOM > j->code_size || j->data_used + JIT_BLOCK_ROOM > j->data_size)
        return NULL;
    code_populate(j);
    t->b.p = j->rw + j->code_used;
    t->b.end = j->rw + j->code_size;
    t->b.rx_delta = j->delta;
    t->tlb = OFF_TLB(c->cpl == 3);
    t->flat = cfg_flat && c->mmu.flat_end;
    t->mem_op = -1;
    t->pend.op = -1;
    t->sse_checked = false;
    ra_reset(&t->ra);
    flags_liveness(t);
    if (t->head)
        loop_regs(t);
    for (unsigned k = 0; k < t->n; k++)
        t->uses[k] = insn_uses(&t->insn[k]);
    size_t data_mark = j->data_used;

    struct xbuf *b = &t->b;
    uint64_t entry = x_rx(b);
    t->entry = entry;
    struct jit_block_data *bd = jit_data_alloc(j, sizeof(*bd));
    if (!bd)
        return NULL;
    bd->blk = blk;
    bd->verified = c->mmu.epoch;
    bd->rip = t->rips[0];
    bd->cpl = c->cpl;
    bd->code = entry;
    if (t->nx) {
        struct jit_range *x = jit_data_alloc(j, t->nx * sizeof(*x));
        if (!x)
            return NULL;
        for (unsigned r = 0; r < t->nx; r++) {
            x[r] = t->xr[r];
            uint8_t *copy = jit_data_alloc(j, x[r].n);
            if (!copy)
                return NULL;
            memcpy(copy, t->xr[r].bytes, x[r].n);
            x[r].bytes = copy;
        }
        bd->x = x;
        bd->nx = (uint8_t)t->nx;
        bd->remote = ranges_remote(t);
        bd->map_epoch = c->mmu.map_epoch;
    }
    t->bd = bd;
    /* The entry (the dispatcher's, the jump cache's): entered in a new
     * epoch, the bytes compared again.  Then the fast entry, where links
     * come in (jit_exit.epochs): the heat (translated again as a trace
     * when hot), then pending events and the budget. */
    uint8_t *jver = emit_epoch_check(t);
    bd->fast = x_rx(b);
    uint8_t *fast_at = b->p;
    uint8_t *jhot = NULL;
    unsigned njcc = 0;
    for (unsigned k = 0; k < t->n; k++)
        njcc += t->insn[k].kind == EK_JCC && !(t->follow && k == t->follow_k);
    if (!trace && (trace_could(t) || njcc) && trace_heat() > 0) {
        bd->retrace = true;
        bd->heat = trace_heat();
        if (njcc && !(bd->jcc = jit_data_alloc(j, njcc * sizeof(*bd->jcc))))
            return NULL;
        bd->jcc_cap = (uint8_t)njcc;
        x_alu_mi(b, 4, ALU_SUB, xmrip(&bd->heat), 1);
        jhot = x_jcc32(b, 4);                              /* je */
    }
    /* A self loop's jump back comes here, past the heat: a loop of a few
     * instructions would wait on the count's store every time round. */
    t->checks = x_rx(b);
    uint8_t *fail[3];
    emit_entry_checks(t, fail, false);
    uint8_t *jev = fail[0], *jbud = fail[1];
    if (t->head) {
        /* A self loop: the registers its jump back keeps (emit_loop_edge). */
        for (int g = 0; g < 16; g++)
            if (head.host[g] >= 0)
                x_load(b, 8, head.host[g], xm(RCPU, OFF_GPR(g)));
        t->ra = head;
        t->loop_head = x_rx(b);
    }

    bool ended = false;
    vec_forget(t);   /* the loop head: whatever host vector registers hold */
    for (t->k = 0; t->k < t->n && !t->fail; t->k++) {
        const struct emu_insn *i = &t->insn[t->k];
        t->ra.pinned = t->ra.fresh = 0;
        t->sets_flags = t->stored_record = false;
        if (!(i->prefix & PFX_VEX) && !vec_keeps(t, i))
            vec_release(t);
        unsigned m = stack_group(t, t->k);
        if (m) {
            bool left = emit_stack_group(t, m);
            t->k += m - 1;
            if (left) {
                ended = true;
                break;
            }
            continue;
        }
        if (t->follow && t->k == t->follow_k) {
            emit_followed(t, i);
            continue;
        }
        if (t->fol[t->k]) {
            emit_traced(t, i);
            continue;
        }
        if (i->kind == EK_JCC && i->opsize == 8 && (cfg_kinds >> EK_JCC & 1)) {
            if (next_rip(t, t->k) + i->imm == t->rips[0]) {
                vec_release(t);   /* the loop head has them clean */
                if (emit_jcc_back(t, i)) {
                    ended = true;
                    break;
                }
                continue;
            }
            emit_jcc(t, i);
            continue;
        }
        if (is_transfer(i)) {
            uint8_t *mark = b->p;
            struct ra saved = t->ra;
            unsigned ns = t->nstubs;
            int mop = t->mem_op, msz = t->mem_size;
            struct pend pend = t->pend;
            bool mxc = t->mx_checked;
            if ((cfg_kinds >> i->kind & 1) && emit_transfer(t, i)) {
                ended = true;
                break;
            }
            b->p = mark;
            t->ra = saved;
            t->nstubs = ns;
            t->mem_op = mop;
            t->mem_size = msz;
            t->pend = pend;
            t->mx_checked = mxc;
            /* Run by its handler: it moves next_rip, the call leaves. */
            emit_interp(t);
            ended = true;   /* a transfer always leaves: the handler call exits */
            struct ra none;
            ra_reset(&none);
            x_load(b, 8, XDX, xm(RCPU, OFF_NEXT_RIP));
            emit_exit_dynamic(t, &none, NULL, t->k + 1);
            break;
        }
        uint8_t *mark = b->p;
        struct ra saved = t->ra;
        unsigned ns = t->nstubs;
        int mop = t->mem_op, msz = t->mem_size;
        uint8_t hf = t->hf;
        struct pend pend = t->pend;
        bool ssec = t->sse_checked, ydirty = t->ymm_dirty, mxc = t->mx_checked;
        if (!emit_insn(t, i)) {
            b->p = mark;
            t->ra = saved;
            t->nstubs = ns;
            t->mem_op = mop;
            t->mem_size = msz;
            t->hf = hf;
            t->pend = pend;
            t->sse_checked = ssec;
            t->ymm_dirty = ydirty;
            t->mx_checked = mxc;
            if (t->ymm_dirty)
                ymm_clean(t);   /* the handler is C */
            emit_interp(t);
        }
    }
    if (!ended && !t->fail) {
        if (t->ymm_dirty)
            ymm_clean(t);
        emit_exit_static(t, &t->ra, &t->pend, t->rips[t->n], t->n);
    }
    /* The bytes compared again in a new epoch: unchanged, on; changed,
     * leave (the dispatcher decodes the block again). */
    x_patch32(b, jver, x_rx(b));
    x_mov_rr(b, 8, XDI, RCPU);
    x_lea(b, 8, XSI, xmrip(bd));
    x_call_abs(b, (const void *)jit_verify);
    x_test_rr(b, 4, XAX, XAX);
    uint8_t *jok = x_jcc32(b, 5);
    x_patch32(b, jok, (uint64_t)((intptr_t)fast_at + b->rx_delta));
    /* Entry exit: heat, events, budget or stale bytes; RIP is the block's. */
    if (jhot)
        x_patch32(b, jhot, x_rx(b));
    x_patch32(b, jev, x_rx(b));
    x_patch32(b, jbud, x_rx(b));
    struct jit_exit *x = exit_new(t, JX_NONE, t->rips[0]);
    x_lea(b, 8, XAX, xmrip(x));
    x_jmp_abs(b, j->exit_rip);
    emit_stubs(t);
    if (t->fail || b->full) {
        j->data_used = data_mark;
        if (!use_head)
            return NULL;
        use_head = false;   /* the second pass failed: the first one's code */
        goto again;
    }
    if (!use_head && !tried_head && t->loop_seen && loop_worth(&t->loop_ra)) {
        head = t->loop_ra;
        head.pinned = head.fresh = 0;
        use_head = tried_head = true;
        j->data_used = data_mark;
        goto again;
    }
    bd->loops = t->head || t->loop_seen;   /* jcc_hints */
    size_t used = (size_t)(b->p - (j->rw + j->code_used));
    /* Each translation starts a cache line: with 16-byte starts a change
     * of code size elsewhere moved awk_float's loop 3-4% slower, the same
     * host instructions (bench/README.md). */
    j->code_used = (j->code_used + used + 63) & ~(size_t)63;
    j->st.blocks++;
    if (t->follow)
        j->st.followed++;
    else if (t->traced)
        j->st.traced++;
    j->st.crossed += t->ncross;
    j->st.flat_reads += t->nflat;
    j->st.jcc_followed += t->njccf;
    j->st.code_bytes = j->code_used - j->code_base;
    if (cfg_dump) {
        char line[128];
        snprintf(line, sizeof(line), "%#zx %#llx %u %zu\n", (size_t)(entry - (uint64_t)(uintptr_t)j->rx),
                 (unsigned long long)t->rips[0], t->n, used);
        dump_file("idx", "a", NULL, 0, line);
        if (ranges_remote(t)) {
            snprintf(line, sizeof(line), "trace %#llx through %u ranges\n",
                     (unsigned long long)t->rips[0], t->nx);
            dump_file("idx", "a", NULL, 0, line);
        }
        if (t->follow) {
            snprintf(line, sizeof(line), "follow %#llx -> %#llx %u bytes\n",
                     (unsigned long long)t->rips[t->follow_k], (unsigned long long)t->xr[0].la,
                     t->xr[0].n);
            dump_file("idx", "a", NULL, 0, line);
        }
        static int bin = -1;
        if (bin < 0) {
            char path[512];
            snprintf(path, sizeof(path), "%s.bin", cfg_dump);
            bin = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (bin >= 0 && pwrite(bin, j->rw, j->code_base, 0) < 0) {
                close(bin);
                bin = -1;
            }
        }
        if (bin >= 0 && pwrite(bin, j->rw + (entry - (uint64_t)(uintptr_t)j->rx), used,
                               (off_t)(entry - (uint64_t)(uintptr_t)j->rx)) < 0)
            bin = -1;
    }
    bd->ninsn = (uint8_t)t->n;
    /* Findable from the block (newest first, the oldest forgotten: links
     * and the jump cache may still reach it, which is harmless). */
    bd->next = NULL;
    if (blk->jit_gen == j->gen && blk->jit_data) {
        bd->next = blk->jit_data;
        struct jit_block_data *o = bd;
        for (int k = 1; o->next; k++, o = o->next)
            if (k == JIT_MAX_PER_BLOCK) {
                o->next = NULL;
                break;
            }
    }
    blk->jit_data = bd;
    blk->jit_gen = j->gen;
    return bd;
}

/* ---- running ------------------------------------------------------------------------- */

void emu_jit_prepare(struct emu_block_cache *bc)
{
    if (emu_jit_enabled() && !bc->jit && !bc->jit_failed && jit_create(&bc->jit, bc->code_size) < 0)
        bc->jit_failed = true;
}

/* A bit per RIP in emu_block.jit_rips: the page number's bits, as the same
 * physical code runs at other pages in other processes. */
static inline uint64_t jit_rip_bit(uint64_t rip)
{
    return 1ULL << ((rip ^ rip >> 12 ^ rip >> 18 ^ rip >> 24 ^ rip >> 30) & 63);
}

/* The translation of b for rip at cpl, moved to the front of b's list (a
 * library's code runs in many processes at as many addresses: the one
 * running now is likely to be asked for again).  Every step is a cache miss
 * on the dispatcher's path, so jit_rips first says when none can match. */
static struct jit_block_data *jit_find(struct emu_block *b, uint64_t rip, uint8_t cpl)
{
    if (!(b->jit_rips & jit_rip_bit(rip)))
        return NULL;
    struct jit_block_data **pp = (struct jit_block_data **)&b->jit_data;
    for (struct jit_block_data *bd = *pp; bd; pp = &bd->next, bd = bd->next) {
        if (bd->rip != rip || bd->cpl != cpl)
            continue;
        if (bd != b->jit_data) {
            *pp = bd->next;
            bd->next = b->jit_data;
            b->jit_data = bd;
        }
        return bd;
    }
    return NULL;
}

static __attribute__((noinline)) bool jit_run(struct emu_cpu *c, struct emu_block *b, uint64_t limit);

bool emu_jit_run(struct emu_cpu *c, struct emu_block *b, uint64_t limit)
{
    if (!emu_jit_enabled() || b->csize != 8 || c->mode != MODE_LONG64)
        return false;
    /* Most calls while a program starts: a block not hot yet, with no
     * translation (jit_find would find none), counted here without the
     * frame of jit_run (1% of a compiler's start under emu, in host
     * instructions). */
    const struct emu_jit *j = c->mmu.cache->jit;
    if (j && b->jit_gen == j->gen && !b->jit_rips && !b->jit_never &&
        b->jit_hits < (uint32_t)cfg_threshold && j->all_slow == cfg_all_slow && j->flat == cfg_flat) {
        b->jit_hits++;
        return false;
    }
    return jit_run(c, b, limit);
}

static bool jit_run(struct emu_cpu *c, struct emu_block *b, uint64_t limit)
{
    struct emu_block_cache *bc = c->mmu.cache;
    struct emu_jit *j = bc->jit;
    if (!j) {
        if (bc->jit_failed || jit_create(&bc->jit, bc->code_size) < 0) {
            bc->jit_failed = true;
            return false;
        }
        j = bc->jit;
    }
    if (j->all_slow != cfg_all_slow || j->flat != cfg_flat) {
        emu_jit_flush(j);   /* tests switched the kind of memory access */
        j->all_slow = cfg_all_slow;
        j->flat = cfg_flat;
    }
    /* Translations of an older generation are gone: the block must become
     * hot again before it is translated again (after a full cache, only
     * the code that still runs often comes back). */
    if (b->jit_gen != j->gen) {
        b->jit_gen = j->gen;
        b->jit_data = NULL;
        b->jit_hits = 0;
        b->jit_rips = 0;
    }
    /* The translation made for this RIP and privilege level. */
    struct jit_block_data *bd = jit_find(b, c->rip, c->cpl);
    if (bd && bd->verified != c->mmu.epoch && !jit_same_ranges(c, bd)) {
        /* exec.c compared b's bytes, but the range of a followed jump or
         * of a trace changed: that translation is gone (links to it leave
         * at its entry, jit_verify); it is made again once hot.  jit_find
         * put it first in the list. */
        b->jit_data = bd->next;
        bd = NULL;
    }
    if (bd && bd->remote && bd->map_epoch != c->mmu.map_epoch) {
        int same = jit_same_map(c, bd);
        if (same == 0)
            return false;
        if (same < 0) {
            b->jit_data = bd->next;   /* another page there now: as above */
            bd = NULL;
        }
    }
    if (!bd) {
        if (b->jit_never)
            return false;
        if (b->jit_hits < (uint32_t)cfg_threshold) {
            b->jit_hits++;
            return false;
        }
        bool trace = trace_heat() == 0;
        bd = translate(c, j, b, trace);
        if (!bd && (j->code_used + JIT_BLOCK_ROOM > j->code_size ||
                    j->data_used + JIT_BLOCK_ROOM > j->data_size)) {
            /* Full: drop every translation and start again. */
            emu_jit_flush(j);
            j->st.flushes++;
            bd = translate(c, j, b, trace);
        }
        if (!bd) {
            b->jit_never = 1;
            j->st.failed++;
            return false;
        }
        b->jit_rips |= jit_rip_bit(c->rip);
        /* Another RIP for the same bytes (the page mapped elsewhere, as a
         * shared library in the next process) must be as hot on its own:
         * code a process runs once is not translated again for each. */
        b->jit_hits = 0;
    }
    if (bd->retrace && bd->heat <= 0) {
        /* Hot: translated again as a trace, going on at the Jccs that
         * mostly jumped, whose entry the old one's now jumps to (links to
         * it, made in other translations, stay).  The code cache is per
         * vCPU: nobody runs the bytes patched. */
        bd->retrace = false;
        jcc_hints(j, bd, (uint32_t)trace_heat());
        struct jit_block_data *tr = translate(c, j, b, true);
        if (tr) {
            /* Its entry jumps to the trace's entry, its fast entry (the
             * heat's 13 bytes) to the trace's fast one: a link into the
             * old one was made before the trace, so while its epochs hold
             * they held when the trace was made (epochs only grow). */
            jmp_patch(j, bd->code, tr->code);
            jmp_patch(j, bd->fast, tr->fast);
            /* The old one is not entered from here again: a trace is
             * entered from here after its checks (budget, map epoch). */
            for (struct jit_block_data *o = tr; o->next; o = o->next)
                if (o->next == bd) {
                    o->next = bd->next;
                    break;
                }
            b->jit_rips |= jit_rip_bit(c->rip);
            bd = tr;
        }
    }
    if (c->insn_count + bd->ninsn > limit)
        return false;
    /* Link the exit that led here, when it went to this very RIP. */
    struct jit_exit *p = j->pending;
    if (p && j->pending_rip == c->rip && p->cpl == c->cpl && p->kind != JX_NONE) {
        p->target = bd->fast;
        p->rip = c->rip;
        p->epochs = cpu_epochs(c);
        p->to = bd;
        j->st.links++;
    }
    j->st.entries++;
    /* exec.c found b for this RIP and compared it in this epoch. */
    bd->verified = c->mmu.epoch;
    /* The jump cache learns every translation run from here. */
    struct jump_cache *jc = j->jc;
    struct jc_entry *je = &jc->e[c->cpl == 3][jc_index(c->rip)];
    je->epoch = c->mmu.map_epoch;
    je->rip = c->rip;
    je->code = bd->code;
    /* Events that make translated code leave: the ones the dispatcher acts
     * on now (IF and NMI blocking cannot change inside translated code). */
    uint64_t evmask = EMU_EV_STOP | EMU_EV_INIT | EMU_EV_SIPI | EMU_EV_FLUSH | EMU_EV_CODE |
                      EMU_EV_DIRTY;
    if (!c->nmi_blocked)
        evmask |= EMU_EV_NMI;
    if (c->rflags & RFLAGS_IF)
        evmask |= EMU_EV_IRQ;
    /* The limit, or 0 when one of those events is pending: posted before
     * this store, it is seen here; after, its poster's store of 0 wins
     * (emu_post_events). */
    atomic_store(&c->jit_limit, limit);
    if (atomic_load(&c->events) & evmask)
        atomic_store(&c->jit_limit, 0);
    c->jit_fp_ok = jit_fp_state(c);
    struct jit_exit *x = (struct jit_exit *)(uintptr_t)j->enter(c, bd->code);
    c->mmu.blk_stop = 0;
    if (unlikely(x->kind == JX_DYNAMIC && !emu_canonical(c->rip))) {
        /* RET, JMP or CALL to a non-canonical address: x86 raises #GP(0)
         * at the transfer, with nothing of it done.  Back to it (RSP as
         * before; a CALL's push stays written below RSP), and its
         * interpreter handler raises it (test_noncanonical_branch): run
         * here, as the block at its RIP may be translated again. */
        c->gpr[R_RSP] -= (uint64_t)(int64_t)x->sp_moved;
        c->rip = x->from;
        c->insn_count--;
        j->pending = NULL;
        c->mmu.prev_block = NULL;
        struct emu_insn one;
        emu_decode(c, c->rip, &one);
        c->next_rip = c->rip + one.len;
        one.fn(c, &one);
        /* Another vCPU wrote a canonical return address meanwhile. */
        c->rip = c->next_rip;
        c->insn_count++;
        return true;
    }
    j->pending = x;
    j->pending_rip = c->rip;
    /* The successor hints of the block left (exec.c's fast lookup). */
    c->mmu.prev_block = x->src;
    c->mmu.prev_gen = bc->flushes;
    return true;
}
