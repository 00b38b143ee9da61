/* Unit tests of emu's MMU: 4-level paging with 4K, 2M and 1G pages, #PF
 * error codes and CR2, U/S, R/W with CR0.WP, NX, reserved bits, accessed
 * and dirty bits, TLB flushes, PCID-tagged TLB entries, the TLB's second
 * way, links between blocks across a remap with one vCPU (whose
 * serializing instructions do not end the epoch); and LOCK atomicity
 * across two threads
 * running two emu CPUs on one RAM buffer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"
#include "machine/bus.h"
#include "machine/vm.h"

#define RAM_SIZE (1u << 20)
#define CODE 0x1000
#define STACK 0x80000
#define PML4 0x70000
#define PDPT 0x71000
#define PD   0x72000
#define PT   0x73000
#define PT2  0x74000
#define PT3  0x75000

#define P 1ULL
#define W 2ULL
#define U 4ULL
#define A 0x20ULL
#define D 0x40ULL
#define PS 0x80ULL
#define NX (1ULL << 63)

static struct emu_cpu *cpu;
static uint8_t *ram;

static uint64_t *pte(uint64_t table, unsigned idx)
{
    return (uint64_t *)(ram + table) + idx;
}

static void setup(const void *code, size_t len, int cpl)
{
    if (!cpu)
        cpu = calloc(1, sizeof(*cpu));
    if (!ram)
        ram = calloc(1, RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    memcpy(ram + CODE, code, len);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, cpl);
    cpu->exc_to_caller = true;
    cpu->rip = CODE;
    cpu->gpr[4] = STACK;

    *pte(PML4, 0) = PDPT | P | W | U;
    *pte(PDPT, 0) = PD | P | W | U;
    *pte(PDPT, 1) = 0 | P | W | U | PS;          /* 1G page at 1 GiB -> 0 */
    *pte(PD, 0) = PT | P | W | U;
    for (unsigned k = 0; k < 256; k++)
        *pte(PT, k) = (k << 12) | P | W | U;      /* identity, first MiB */
    *pte(PD, 1) = 0 | P | W | PS;                 /* 2M page at 2 MiB -> 0, supervisor */
    *pte(PD, 2) = PT2 | P | W | U;
    *pte(PT2, 0) = 0x20000 | P | U;               /* 4 MiB: read-only */
    *pte(PT2, 1) = 0x21000 | P | W | U | NX;      /* no execute */
    *pte(PT2, 2) = 0;                             /* not present */
    *pte(PT2, 3) = 0x23000 | P | W | U | (1ULL << 45);   /* reserved bit */
    cpu->cr3 = PML4;
    cpu->cr0 |= CR0_PG | CR0_WP;
    emu_tlb_flush(cpu, true);
}

static int run(void)
{
    emu_execute(cpu, 1000000);
    return cpu->exc.vector;
}

#define SETUP(cpl, ...) do { static const uint8_t p_[] = { __VA_ARGS__ }; setup(p_, sizeof(p_), cpl); } while (0)

static void test_translation(void)
{
    /* mov rax, [rbx] ; mov rcx, [rdx]; ud2 */
    SETUP(0, 0x48, 0x8b, 0x03, 0x48, 0x8b, 0x0a, 0x0f, 0x0b);
    memcpy(ram + 0x20010, "ABCDEFGH", 8);
    memcpy(ram + 0x5008, "12345678", 8);
    cpu->gpr[3] = 0x400010;
    cpu->gpr[2] = 0x40005008ULL;   /* through the 1G page */
    CHECK_EQ(run(), 6);
    CHECK(memcmp(&cpu->gpr[0], "ABCDEFGH", 8) == 0);
    CHECK(memcmp(&cpu->gpr[1], "12345678", 8) == 0);
    CHECK(*pte(PML4, 0) & A);
    CHECK(*pte(PT2, 0) & A);
    CHECK(!(*pte(PT2, 0) & D));
    /* 2M page, then a write sets D */
    SETUP(0, 0x48, 0x8b, 0x03, 0x48, 0x89, 0x03, 0x0f, 0x0b);
    memcpy(ram + 0x6000, "2Mpage!!", 8);
    cpu->gpr[3] = 0x206000;
    CHECK_EQ(run(), 6);
    CHECK(memcmp(&cpu->gpr[0], "2Mpage!!", 8) == 0);
    CHECK(*pte(PD, 1) & D);
}

static void check_pf(uint64_t addr, uint32_t err)
{
    CHECK_EQ(cpu->exc.vector, 14);
    CHECK_EQ(cpu->exc.cr2, addr);
    CHECK_EQ(cpu->exc.errcode, err);
    CHECK_EQ(cpu->rip, CODE);
}

static void test_faults(void)
{
    /* write to read-only (WP=1, CPL 0): P|W */
    SETUP(0, 0x89, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 0x400000;
    run();
    check_pf(0x400000, 3);
    /* WP=0: a supervisor write succeeds */
    SETUP(0, 0xc7, 0x03, 0x11, 0x22, 0x33, 0x44, 0x0f, 0x0b);
    cpu->cr0 &= ~CR0_WP;
    cpu->gpr[3] = 0x400000;
    CHECK_EQ(run(), 6);
    CHECK_EQ(ram[0x20000], 0x11);
    /* user read of a supervisor page: P|U */
    SETUP(3, 0x8b, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 0x200000;
    run();
    check_pf(0x200000, 5);
    /* user write to read-only: P|W|U */
    SETUP(3, 0x89, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 0x400008;
    run();
    check_pf(0x400008, 7);
    /* not present read: 0 (user: U) */
    SETUP(3, 0x8b, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 0x402000;
    run();
    check_pf(0x402000, 4);
    /* reserved bit: P|RSVD */
    SETUP(0, 0x8b, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 0x403000;
    run();
    check_pf(0x403000, 9);
    /* execute from an NX page: P|I */
    SETUP(0, 0xff, 0xe3);   /* jmp rbx */
    cpu->gpr[3] = 0x401000;
    ram[0x21000] = 0x90;
    run();
    CHECK_EQ(cpu->exc.vector, 14);
    CHECK_EQ(cpu->exc.cr2, 0x401000);
    CHECK_EQ(cpu->exc.errcode, 0x11);
    CHECK_EQ(cpu->rip, 0x401000);
    /* a write across into a read-only page changes nothing */
    SETUP(0, 0x48, 0x89, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 0x3ffffc;
    cpu->gpr[0] = ~0ULL;
    *pte(PD, 1) = 0;   /* make 2M..4M 4K-mapped: reuse PT for the last page */
    *pte(PD, 1) = PT | P | W | U;
    *pte(PT, 511) = 0x30000 | P | W | U;
    emu_tlb_flush(cpu, true);
    run();
    check_pf(0x400000, 3);
    CHECK_EQ(ram[0x30ffc], 0);
}

static void test_tlb(void)
{
    /* mov rax, [rbx]; ud2 */
    SETUP(0, 0x48, 0x8b, 0x03, 0x0f, 0x0b);
    ram[0x20000] = 1;
    ram[0x22000] = 2;
    cpu->gpr[3] = 0x400000;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 1);
    *pte(PT2, 0) = 0x22000 | P | U;   /* remap without a flush: the stale entry is used */
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 1);
    emu_tlb_flush_page(cpu, 0x400000);
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 2);
}

/* With CR4.PCIDE, a MOV CR3 with bit 63 keeps the TLB entries of the PCID
 * it switches to (and of the one it leaves); without bit 63 the new PCID's
 * entries go.  Shown with a page remapped without INVLPG: a kept entry
 * still reads the old frame, a fresh one the new. */
static void test_pcid(void)
{
    /* mov cr3, rdi; mov rax, [rbx]; ud2 */
    SETUP(0, 0x0f, 0x22, 0xdf, 0x48, 0x8b, 0x03, 0x0f, 0x0b);
    cpu->cr4 |= CR4_PCIDE;
    cpu->cr3 = PML4 | 1;
    emu_tlb_flush(cpu, true);
    ram[0x20000] = 1;
    ram[0x22000] = 2;
    cpu->gpr[3] = 0x400000;
    const uint64_t keep = 1ULL << 63;
    cpu->gpr[7] = PML4 | 1 | keep;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 1);                 /* PCID 1 caches 0x400000 -> 0x20000 */
    *pte(PT2, 0) = 0x22000 | P | U;           /* remapped, no INVLPG */
    cpu->gpr[3] = 0x1000;                     /* PCID 2 reads another page */
    cpu->gpr[7] = PML4 | 2 | keep;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->cr3, PML4 | 2);             /* bit 63 is not kept in CR3 */
    cpu->gpr[3] = 0x400000;
    cpu->gpr[7] = PML4 | 1 | keep;            /* back to PCID 1: its entry is kept */
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 1);
    cpu->gpr[7] = PML4 | 3 | keep;            /* a PCID never used walks the tables */
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 2);
    *pte(PT2, 0) = 0x20000 | P | U;
    cpu->gpr[7] = PML4 | 3;                   /* no bit 63: PCID 3's entries go */
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 1);
    *pte(PT2, 0) = 0x22000 | P | U;
    cpu->gpr[7] = PML4 | 3;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 2);
    /* More PCIDs than the TLB keeps slots for: each still sees its tables. */
    for (unsigned pcid = 10; pcid < 10 + 2 * EMU_PCID_SLOTS; pcid++) {
        *pte(PT2, 0) = (pcid & 1 ? 0x20000 : 0x22000) | P | U;
        cpu->gpr[7] = PML4 | pcid | keep;
        cpu->rip = CODE;
        CHECK_EQ(run(), 6);
        CHECK_EQ(cpu->gpr[0], pcid & 1 ? 1 : 2);
    }
}

/* A PCID's entries are dropped wherever they are, whether few (drop_slot
 * visits the TLB indices its fills went to) or more than that list holds
 * (every index): n pages at 6 MiB cached by PCID 1, remapped without
 * INVLPG; PCID 1 again without bit 63 sees the new frames; emptied and
 * cached again, remapped back, then more PCIDs than the TLB has slots
 * (each reading the n pages, so PCID 1's slot goes to another) all see
 * the new frames. */
static void pcid_pages(unsigned n)
{
    /* mov cr3, rdi; xor eax, eax; 1: movzx edx, byte [rbx]; add eax, edx;
     * add rbx, 0x1000; dec ecx; jnz 1b; ud2 */
    SETUP(0, 0x0f, 0x22, 0xdf, 0x31, 0xc0, 0x0f, 0xb6, 0x13, 0x01, 0xd0,
          0x48, 0x81, 0xc3, 0x00, 0x10, 0x00, 0x00, 0xff, 0xc9, 0x75, 0xf0, 0x0f, 0x0b);
    cpu->cr4 |= CR4_PCIDE;
    cpu->cr3 = PML4 | 1;
    emu_tlb_flush(cpu, true);
    ram[0x20000] = 1;
    ram[0x22000] = 2;
    *pte(PD, 3) = PT3 | P | W | U;
    const uint64_t keep = 1ULL << 63;
    uint64_t frame = 0x20000;
    for (int round = 0; round < 2; round++) {
        for (unsigned k = 0; k < n; k++)
            *pte(PT3, k) = frame | P | U;
        cpu->gpr[7] = PML4 | 1;                   /* PCID 1, emptied, caches the n pages */
        cpu->gpr[3] = 0x600000;
        cpu->gpr[1] = n;
        cpu->rip = CODE;
        CHECK_EQ(run(), 6);
        CHECK_EQ(cpu->gpr[0], n * ram[frame]);
        frame = frame == 0x20000 ? 0x22000 : 0x20000;
        for (unsigned k = 0; k < n; k++)
            *pte(PT3, k) = frame | P | U;         /* remapped, no INVLPG */
        if (round == 0) {
            cpu->gpr[7] = PML4 | 2 | keep;        /* away, and back without bit 63 */
            cpu->gpr[3] = 0x1000;
            cpu->gpr[1] = 1;
            cpu->rip = CODE;
            CHECK_EQ(run(), 6);
            cpu->gpr[7] = PML4 | 1;
            cpu->gpr[3] = 0x600000;
            cpu->gpr[1] = n;
            cpu->rip = CODE;
            CHECK_EQ(run(), 6);
            CHECK_EQ(cpu->gpr[0], n * ram[frame]);
            frame = 0x20000;
            continue;
        }
        for (unsigned pcid = 10; pcid < 10 + 2 * EMU_PCID_SLOTS; pcid++) {
            cpu->gpr[7] = PML4 | pcid | keep;
            cpu->gpr[3] = 0x600000;
            cpu->gpr[1] = n;
            cpu->rip = CODE;
            CHECK_EQ(run(), 6);
            CHECK_EQ(cpu->gpr[0], n * ram[frame]);
        }
    }
}

static void test_pcid_drop_few_and_many(void)
{
    pcid_pages(100);   /* fewer than EMU_SLOT_FILLS: the slot's list */
    pcid_pages(300);   /* more: every index */
}

/* The second TLB way: two pages 4 MiB apart (one TLB index) alternate
 * without page walks; INVLPG, a CR3 load and the dirty-log sync reach an
 * entry held in way 1 as one in way 0.  0x5000 (identity) and 0x405000
 * (-> 0x25000) share index 5. */
static void test_tlb_second_way(void)
{
    /* 1: mov rax, [rbx]; add [rdx], rax; dec ecx; jnz 1b; ud2 */
    SETUP(0, 0x48, 0x8b, 0x03, 0x48, 0x01, 0x02, 0xff, 0xc9, 0x75, 0xf6, 0x0f, 0x0b);
    *pte(PT2, 5) = 0x25000 | P | W | U;
    ram[0x5000] = 3;
    cpu->gpr[3] = 0x5000;
    cpu->gpr[2] = 0x405000;
    cpu->gpr[1] = 1000;
    uint64_t walks = cpu->mmu.st.misses;
    CHECK_EQ(run(), 6);
    CHECK_EQ(*(uint64_t *)(ram + 0x25000), 3000);
    CHECK(cpu->mmu.st.misses - walks < 10);        /* not one per access */
    CHECK(cpu->mmu.st.way1_hits > 0);
    /* Both pages are held, one in each way, both writable. */
    struct emu_tlb_entry *e0 = &cpu->mmu.tlb[0][5], *e1 = &cpu->mmu.tlb1[0][5];
    CHECK(e0->vpn_read && e1->vpn_read);
    CHECK((e0->vpn_read ^ e1->vpn_read) == 0x400000);
    /* A store to the page way 0 holds for reading only: both writable. */
    cpu->gpr[3] = 0x405000;
    cpu->gpr[2] = 0x5000;
    cpu->gpr[1] = 1;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK(e0->vpn_write && e1->vpn_write);

    /* The dirty-log sync takes write permission from way 1 too: the next
     * store to each page walks again. */
    emu_tlb_drop_writes(cpu);
    CHECK(!e0->vpn_write && !e1->vpn_write);
    walks = cpu->mmu.st.misses;
    cpu->gpr[3] = 0x5000;
    cpu->gpr[2] = 0x405000;
    cpu->gpr[1] = 1;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK(cpu->mmu.st.misses > walks);
    CHECK_EQ(*(uint64_t *)(ram + 0x25000), 3000 + 3003);   /* 0x5000 holds 3 + 3000 */

    /* INVLPG of the page way 1 holds: a remap is seen. */
    cpu->gpr[2] = 0x405000;
    cpu->gpr[3] = 0x5000;
    cpu->gpr[1] = 1;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);   /* 0x405000 (the store) last: 0x5000 sits in way 1 */
    CHECK_EQ(e1->vpn_read & ~0xfffULL, 0x5000);
    *pte(PT, 5) = 0x26000 | P | W | U;
    ram[0x26000] = 7;
    emu_tlb_flush_page(cpu, 0x5000);
    cpu->gpr[1] = 1;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 7);

    /* A CR3 load drops the non-global entries of way 1 as of way 0. */
    cpu->gpr[1] = 1;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(e1->vpn_read & ~0xfffULL, 0x5000);
    *pte(PT, 5) = 0x27000 | P | W | U;
    ram[0x27000] = 9;
    emu_mmu_load_cr3(cpu, false);
    CHECK(!e1->vpn_read && !e0->vpn_read);
    cpu->gpr[1] = 1;
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 9);
}

/* A store into code through an entry held in way 1 is still seen, by
 * translated code too: linear 0x5000 and 0x405000 both map frame 0x5000
 * (one TLB index).  Written through both (0x5000's writable entry moves
 * to way 1), the frame then runs code through 0x405000, which takes
 * write permission from every entry of the frame; the store through
 * 0x5000 must reach the code's next run. */
static void test_code_store_through_way1(void)
{
    SETUP(0, 0x48, 0x89, 0x87, 0x00, 0x01, 0, 0,   /* mov [rdi+0x100], rax */
          0x48, 0x89, 0x86, 0x00, 0x01, 0, 0,         /* mov [rsi+0x100], rax */
          0xff, 0xd6,                                 /* call rsi */
          0x89, 0xc3,                                 /* mov ebx, eax */
          0xc6, 0x47, 0x01, 0x02,                     /* mov byte [rdi+1], 2 */
          0xff, 0xd6,                                 /* call rsi */
          0x01, 0xc3,                                 /* add ebx, eax */
          0x0f, 0x0b);                                /* ud2 */
    static const uint8_t f[] = { 0xb8, 0x01, 0, 0, 0, 0xc3 };   /* mov eax, 1; ret */
    memcpy(ram + 0x5000, f, sizeof(f));
    *pte(PT2, 5) = 0x5000 | P | W | U;
    cpu->gpr[7] = 0x5000;
    cpu->gpr[6] = 0x405000;
    emu_jit_configure(1, 0);   /* translated at once */
    CHECK_EQ(run(), 6);
    emu_jit_configure(-1, 64);
    CHECK_EQ(cpu->gpr[3], 3);
    CHECK_EQ(ram[0x5001], 2);
}

/* One vCPU in the VMM (writes_announced, no other vCPUs): CPUID and CR3
 * loads do not end the epoch, so nothing is compared again, but a link
 * from a block to the block at the next RIP must still see a remap of that
 * RIP (the link holds only within its map epoch).  The loop calls 0x600000
 * twice and remaps it to other code in between, in one emu_execute call;
 * run interpreted and translated at once. */
static void test_remap_one_vcpu(void)
{
    for (int jit_at_once = 0; jit_at_once < 2; jit_at_once++) {
        emu_jit_configure(-1, jit_at_once ? 0 : 64);
        SETUP(0,
              0xe8, 0xfb, 0xef, 0x5f, 0x00,   /* top: call 0x600000 (from 0x1005) */
              0x4c, 0x01, 0xc0,               /* add rax, r8 */
              0x49, 0x89, 0xc0,               /* mov r8, rax */
              0x48, 0x89, 0x13,               /* mov [rbx], rdx: the PTE of 0x600000 */
              0x0f, 0xa2,                     /* cpuid (clobbers eax ebx ecx edx) */
              0x0f, 0x22, 0xdf,               /* mov cr3, rdi */
              0x48, 0x89, 0xf3,               /* mov rbx, rsi */
              0x4c, 0x89, 0xca,               /* mov rdx, r9 */
              0xff, 0xcd,                     /* dec ebp */
              0x75, 0xe3,                     /* jnz top */
              0x0f, 0x0b);                    /* ud2 */
        static const uint8_t one[] = { 0xb8, 0x01, 0, 0, 0, 0xc3 };   /* mov eax, 1; ret */
        static const uint8_t two[] = { 0xb8, 0x02, 0, 0, 0, 0xc3 };   /* mov eax, 2; ret */
        memcpy(ram + 0x30000, one, sizeof(one));
        memcpy(ram + 0x31000, two, sizeof(two));
        *pte(PD, 3) = PT3 | P | W | U;
        *pte(PT3, 0) = 0x30000 | P | W | U;
        cpu->mmu.writes_announced = true;
        cpu->gpr[7] = PML4;
        cpu->gpr[3] = cpu->gpr[6] = PT3;
        cpu->gpr[2] = cpu->gpr[9] = 0x31000 | P | W | U;
        cpu->gpr[5] = 2;
        uint32_t epoch = cpu->mmu.epoch;
        CHECK_EQ(run(), 6);
        CHECK_EQ(cpu->gpr[8], 3);   /* 1 from the first page, 2 from the second */
        CHECK_EQ(cpu->mmu.epoch, epoch);
        /* With another vCPU both end the epoch (they serialize). */
        cpu->mmu.smp = true;
        *pte(PT3, 0) = 0x30000 | P | W | U;
        cpu->gpr[7] = PML4;
        cpu->gpr[3] = cpu->gpr[6] = PT3;
        cpu->gpr[2] = cpu->gpr[9] = 0x31000 | P | W | U;
        cpu->gpr[5] = 2;
        cpu->gpr[8] = 0;
        cpu->rip = CODE;
        emu_tlb_flush(cpu, true);
        epoch = cpu->mmu.epoch;
        CHECK_EQ(run(), 6);
        CHECK_EQ(cpu->gpr[8], 3);
        CHECK(cpu->mmu.epoch - epoch >= 4);   /* two CPUIDs, two CR3 loads at least */
        cpu->mmu.smp = false;
    }
    emu_jit_configure(-1, 64);
}

static void test_legacy_paging(void)
{
    /* 32-bit paging: PD at 0x70000, 4K PT at 0x73000 for 0..4M (identity),
     * a 4M PSE page at 0x00400000 -> 0. */
    SETUP(0, 0x8b, 0x03, 0x0f, 0x0b);   /* mov eax, [rbx] */
    memset(ram + PML4, 0, 0x5000);
    uint32_t *pd = (uint32_t *)(ram + PML4), *pt = (uint32_t *)(ram + PT);
    pd[0] = PT | P | W | U;
    for (unsigned k = 0; k < 256; k++)
        pt[k] = (k << 12) | P | W | U;
    pd[1] = 0 | P | W | 0x80;
    cpu->mode = MODE_PROT32;
    cpu->efer = 0;
    cpu->cr4 = CR4_PSE;
    for (int k = 0; k < 6; k++) {
        cpu->seg[k].l = 0;
        cpu->seg[k].db = 1;
    }
    emu_tlb_flush(cpu, true);
    memcpy(ram + 0x5004, "pse!", 4);
    cpu->gpr[3] = 0x405004;
    CHECK_EQ(run(), 6);
    CHECK(memcmp(&cpu->gpr[0], "pse!", 4) == 0);
    CHECK(pd[1] & A);

    /* PAE legacy: PDPT at 0x71000 (32-byte aligned), PD at 0x72000, PT at 0x73000. */
    SETUP(0, 0x8b, 0x03, 0x0f, 0x0b);
    memset(ram + PML4, 0, 0x5000);
    uint64_t *pdpt = (uint64_t *)(ram + PDPT);
    pdpt[0] = PD | P;
    *pte(PD, 0) = PT | P | W | U;
    for (unsigned k = 0; k < 256; k++)
        *pte(PT, k) = (k << 12) | P | W | U;
    *pte(PD, 3) = 0x0 | P | W | PS;   /* 2M page at 6M -> 0 */
    cpu->mode = MODE_PROT32;
    cpu->efer = 0;
    cpu->cr4 = CR4_PAE;
    cpu->cr3 = PDPT;
    for (int k = 0; k < 6; k++) {
        cpu->seg[k].l = 0;
        cpu->seg[k].db = 1;
    }
    emu_tlb_flush(cpu, true);
    memcpy(ram + 0x6008, "pae!", 4);
    cpu->gpr[3] = 0x606008;
    CHECK_EQ(run(), 6);
    CHECK(memcmp(&cpu->gpr[0], "pae!", 4) == 0);
}

/* MMIO outside RAM goes to vm->mmio. */
static uint64_t last_write, reads;
static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    reads++;
    return 0x1122334455667788ULL >> (8 * (8 - size)) ^ off;
}
static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
    (void)opaque;
    last_write = (off << 56) | ((uint64_t)size << 48) | (v & 0xffffffffffffULL);
}
static const struct bus_ops dev_ops = { dev_read, dev_write };

static void test_mmio(void)
{
    static struct vm vm;
    bus_init(&vm.mmio, "mmio");
    CHECK_EQ(bus_register(&vm.mmio, 0xfe000000, 0x1000, &dev_ops, NULL, "dev"), 0);
    /* mov eax, [rbx+8]; mov [rbx+0x10], cx; ud2 (paging on: identity 1G page) */
    SETUP(0, 0x8b, 0x43, 0x08, 0x66, 0x89, 0x4b, 0x10, 0x0f, 0x0b);
    *pte(PDPT, 3) = 0xc0000000 | P | W | PS;   /* 3G..4G identity */
    cpu->vm = &vm;
    cpu->mmu.flat_pf = false;
    cpu->gpr[3] = 0xfe000000;
    cpu->gpr[1] = 0xbeef;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0x11223344 ^ 8);
    CHECK_EQ(last_write, (0x10ULL << 56) | (2ULL << 48) | 0xbeef);
    cpu->vm = NULL;
    bus_destroy(&vm.mmio);
}

/* ---- LOCK atomicity ------------------------------------------------------ */

#define ITERS 200000
static uint8_t *shared_ram;

static void *worker(void *arg)
{
    struct emu_cpu *c = arg;
    emu_execute(c, ~0ULL >> 1);
    return NULL;
}

static void test_lock_two_threads(void)
{
    /* mov ecx, ITERS; l: lock inc qword [0x2000]; mov edx, 1; lock xadd [0x2008], rdx;
     * lock cmpxchg-free add: lock add qword [0x2010], 2; loop l; ud2 */
    uint8_t code[] = { 0xb9, ITERS & 0xff, (ITERS >> 8) & 0xff, (ITERS >> 16) & 0xff, 0,
                       0xf0, 0x48, 0xff, 0x04, 0x25, 0x00, 0x20, 0, 0,
                       0xba, 0x01, 0, 0, 0,
                       0xf0, 0x48, 0x0f, 0xc1, 0x14, 0x25, 0x08, 0x20, 0, 0,
                       0xf0, 0x48, 0x83, 0x04, 0x25, 0x10, 0x20, 0, 0, 0x02,
                       0xe2, 0xdc, 0x0f, 0x0b };
    shared_ram = calloc(1, RAM_SIZE);
    memcpy(shared_ram + CODE, code, sizeof(code));
    struct emu_cpu *c[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        c[k] = calloc(1, sizeof(*c[k]));
        emu_cpu_init_flat(c[k], shared_ram, RAM_SIZE, 0);
        c[k]->exc_to_caller = true;
        c[k]->rip = CODE;
        c[k]->gpr[4] = STACK - 0x1000 * k;
        c[k]->gpr[2] = 1;
        c[k]->id = k;
    }
    for (int k = 0; k < 2; k++)
        pthread_create(&t[k], NULL, worker, c[k]);
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    uint64_t v[3];
    memcpy(v, shared_ram + 0x2000, sizeof(v));
    CHECK_EQ(c[0]->exc.vector, 6);
    CHECK_EQ(c[1]->exc.vector, 6);
    CHECK_EQ(v[0], 2 * ITERS);
    CHECK_EQ(v[1], 2 * ITERS);
    CHECK_EQ(v[2], 4 * ITERS);
    for (int k = 0; k < 2; k++) {
        emu_mmu_destroy(c[k]);
        free(c[k]);
    }
    free(shared_ram);
}

int main(void)
{
    RUN_TEST(test_translation);
    RUN_TEST(test_faults);
    RUN_TEST(test_tlb);
    RUN_TEST(test_pcid);
    RUN_TEST(test_pcid_drop_few_and_many);
    RUN_TEST(test_tlb_second_way);
    RUN_TEST(test_code_store_through_way1);
    RUN_TEST(test_remap_one_vcpu);
    RUN_TEST(test_legacy_paging);
    RUN_TEST(test_mmio);
    RUN_TEST(test_lock_two_threads);
    return CHECK_DONE();
}
