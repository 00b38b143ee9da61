/* CPL 3 round trips (user.h): the INT 0x80 handler that puts the CPU back
 * into the kernel at sysret_to's epilogue (user_asm.S). */
#include "user.h"

volatile struct user_return user_return_seen;
extern char user_return[];
extern volatile uint64_t user_kernel_rsp;

static void on_user_return(struct frame *f)
{
    user_return_seen.cs = f->cs;
    user_return_seen.rip = f->rip;
    user_return_seen.count++;
    f->rip = (uint64_t)(uintptr_t)user_return;
    f->cs = SEL_KCODE;
    f->ss = SEL_KDATA;
    f->rsp = user_kernel_rsp;
    f->rflags = 2;
}

void user_init(void)
{
    extern char _bss_end[];
    if ((uint64_t)(uintptr_t)_bss_end > 0x200000)
        fail(0x7c, "user_init: the image does not fit the first 2 MiB page");
    boot_pml4[0] |= PTE_U;
    boot_pdpt[0] |= PTE_U;
    boot_pd[0] |= PTE_U;
    WRITE_CR(3, READ_CR(3));
    user_entry_init();
}

void user_entry_init(void)
{
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);
    wrmsr(MSR_STAR, (uint64_t)(SEL_UCODE32 | 3) << 48 | (uint64_t)SEL_KCODE << 32);
    idt_set_gate_opts(USER_RETURN_VEC, 0, 3, 1);
    idt_set_handler(USER_RETURN_VEC, on_user_return);
}
