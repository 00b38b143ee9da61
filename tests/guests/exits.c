/* exits: the instructions a hypervisor intercepts (CPUID, RDMSR, WRMSR, IN,
 * OUT, HLT, INVLPG, MOV from/to CR) run at CPL 0 in 64-bit mode and again in
 * compatibility mode (a 32-bit code segment under long mode), and must agree:
 * CPUID leaves 0 and 1 the same, EFER the same, an MSR written in one mode
 * read back in the other, CMOS register A through IN the same, CR0/CR3/CR4
 * the same, INVLPG accepted, and HLT woken by a self-IPI taken through the
 * 64-bit IDT from compatibility mode. */
#include "lib/cpu64.h"
#include "lib/ioapic.h"

#define MSR_KERNEL_GS_BASE 0xc0000102
#define VEC_SELF 0x41
#define NRES 20

/* What the 32-bit code saw, one slot per value (see the asm). */
volatile uint32_t cres[NRES];
static volatile int self_ipis;

void compat_exits(void);
__asm__(
    "    .text\n"
    "    .code64\n"
    "    .globl compat_exits\n"
    "compat_exits:\n"
    "    push %rbx\n"
    "    push %rbp\n"
    "    mov %rsp, %rbp\n"
    "    lea 1f(%rip), %rax\n"
    "    pushq $0x18\n"
    "    push %rax\n"
    "    lretq\n"
    "    .code32\n"
    "1:  xor %eax, %eax\n"
    "    xor %ecx, %ecx\n"
    "    cpuid\n"
    "    mov %eax, cres+0\n    mov %ebx, cres+4\n    mov %ecx, cres+8\n    mov %edx, cres+12\n"
    "    mov $1, %eax\n"
    "    xor %ecx, %ecx\n"
    "    cpuid\n"
    "    mov %eax, cres+16\n    mov %ebx, cres+20\n    mov %ecx, cres+24\n    mov %edx, cres+28\n"
    "    mov $0xc0000080, %ecx\n"
    "    rdmsr\n"
    "    mov %eax, cres+32\n    mov %edx, cres+36\n"
    "    mov $0xc0000102, %ecx\n"          /* KERNEL_GS_BASE: long mode wrote it */
    "    rdmsr\n"
    "    mov %eax, cres+40\n    mov %edx, cres+44\n"
    "    mov $0x89abcdef, %eax\n"
    "    mov $0x00007654, %edx\n"
    "    wrmsr\n"
    "    mov $0x0a, %al\n"
    "    out %al, $0x70\n"
    "    in $0x71, %al\n"
    "    movzbl %al, %eax\n"
    "    mov %eax, cres+48\n"
    "    mov %cr0, %eax\n    mov %eax, cres+52\n"
    "    mov %cr3, %eax\n    mov %eax, cres+56\n"
    "    mov %cr4, %eax\n    mov %eax, cres+60\n"
    "    mov %cr4, %eax\n    mov %eax, %cr4\n"  /* MOV to CR4, same value */
    "    invlpg cres\n"
    "    movl $1, cres+64\n"
    "    movl $0, 0xfee00310\n"                 /* self-IPI, pending before HLT */
    "    movl $0x40041, 0xfee00300\n"
    "    sti\n"
    "    hlt\n"
    "    cli\n"
    "    mov self_ipis, %eax\n"
    "    mov %eax, cres+68\n"
    "    ljmp $0x08, $2f\n"
    "    .code64\n"
    "2:  mov %rbp, %rsp\n"
    "    pop %rbp\n"
    "    pop %rbx\n"
    "    ret\n");

static void on_self(struct frame *f)
{
    (void)f;
    self_ipis++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_spurious(struct frame *f)
{
    (void)f;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    uint32_t a = leaf, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    r[0] = a; r[1] = b; r[2] = c; r[3] = d;
}

static void same(const char *what, uint64_t long_mode, uint64_t compat)
{
    if (long_mode != compat)
        fail(2, "%s: %lx in 64-bit mode, %lx in compatibility mode", what, long_mode, compat);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("exits: start\n");
    idt_init();
    pic_init();
    idt_set_handler(VEC_SELF, on_self);
    idt_set_handler(0xff, on_spurious);
    lapic_enable();
    if ((uint64_t)(uintptr_t)cres >= 0x100000000ull)
        fail(1, "the result slots must lie below 4 GiB");

    uint32_t l0[4], l1[4];
    cpuid(0, l0);
    cpuid(1, l1);
    uint64_t efer = rdmsr(MSR_EFER);
    wrmsr(MSR_KERNEL_GS_BASE, 0x0000123456789abcull);
    uint8_t rega = cmos_read(0x0a);
    uint64_t cr0 = READ_CR(0), cr3 = READ_CR(3), cr4 = READ_CR(4);

    compat_exits();

    for (int k = 0; k < 4; k++) {
        same("CPUID 0", l0[k], cres[k]);
        same("CPUID 1", l1[k], cres[4 + k]);
    }
    gprintf("CPUID 0 and 1 agree (%x %x %x %x)\n", cres[0], cres[4], cres[6], cres[7]);
    same("RDMSR EFER", efer, (uint64_t)cres[9] << 32 | cres[8]);
    same("RDMSR KERNEL_GS_BASE written in 64-bit mode", 0x0000123456789abcull,
         (uint64_t)cres[11] << 32 | cres[10]);
    same("RDMSR KERNEL_GS_BASE written in compatibility mode", 0x0000765489abcdefull,
         rdmsr(MSR_KERNEL_GS_BASE));
    gprintf("RDMSR/WRMSR agree (EFER %lx)\n", efer);
    same("IN from CMOS register A", rega & 0x7f, cres[12] & 0x7f);   /* (UIP may change) */
    same("MOV from CR0", (uint32_t)cr0, cres[13]);
    same("MOV from CR3", (uint32_t)cr3, cres[14]);
    same("MOV from CR4", (uint32_t)cr4, cres[15]);
    if (READ_CR(4) != cr4)
        fail(3, "CR4 is %lx after the MOV to CR4 of its own value, was %lx", READ_CR(4), cr4);
    gprintf("IN/OUT, MOV CR agree (CR0 %lx CR4 %lx)\n", cr0, cr4);
    if (cres[16] != 1)
        fail(4, "INVLPG in compatibility mode did not go on");
    if (cres[17] != 1 || self_ipis != 1)
        fail(5, "HLT in compatibility mode: %u self-IPIs seen there, %d in all; expected 1",
             cres[17], self_ipis);
    gprintf("INVLPG and HLT woken by a self-IPI in compatibility mode ok\n");
    gprintf("exits: ok\n");
}
