/* Architectural x86-64 CPU state in an engine-neutral form: what loaders set
 * at boot, what crash reports print, and later what snapshots save. */
#ifndef HOSTEL_CPU_STATE_H
#define HOSTEL_CPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS };

/* Segment register, hidden part included.  Attribute bits follow the
 * descriptor layout (KVM's kvm_segment does the same, unpacked). */
struct seg_state {
    uint64_t base;
    uint32_t limit;      /* expanded: byte granular */
    uint16_t selector;
    uint8_t type;        /* 4 bits */
    uint8_t s, dpl, present, avl, l, db, g;
    uint8_t unusable;
};

struct dtable_state {
    uint64_t base;
    uint16_t limit;
};

struct cpu_state {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    struct seg_state seg[6];     /* indexed by S_* */
    struct seg_state tr, ldt;
    struct dtable_state gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
};

/* Prints registers in the familiar layout, one block, for crash reports. */
struct FILE_;
void cpu_state_print(const struct cpu_state *s, int cpu, void *stdio_file);

/* Flat segments for boot: 64-bit code, 32-bit code, data. */
void cpu_state_flat_seg(struct seg_state *seg, uint16_t selector, bool code, bool long64);

#define RFLAGS_CF  (1ULL << 0)
#define RFLAGS_FIXED (1ULL << 1)
#define RFLAGS_PF  (1ULL << 2)
#define RFLAGS_AF  (1ULL << 4)
#define RFLAGS_ZF  (1ULL << 6)
#define RFLAGS_SF  (1ULL << 7)
#define RFLAGS_TF  (1ULL << 8)
#define RFLAGS_IF  (1ULL << 9)
#define RFLAGS_DF  (1ULL << 10)
#define RFLAGS_OF  (1ULL << 11)
#define RFLAGS_AC  (1ULL << 18)
#define RFLAGS_ID  (1ULL << 21)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)

#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_PGE (1ULL << 7)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_UMIP (1ULL << 11)
#define CR4_FSGSBASE (1ULL << 16)
#define CR4_PCIDE (1ULL << 17)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)

#define EFER_SCE (1ULL << 0)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)
#define EFER_NXE (1ULL << 11)

#endif
