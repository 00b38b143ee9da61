/* 64-bit helpers for the test guests: IDT with C handlers, expected-fault
 * recovery, TSS, 4 KiB mappings, local APIC and 8259 set-up. */
#include "cpu64.h"

struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, zero;
} __attribute__((packed));

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

extern char isr_stubs[];
extern uint64_t gdt_tss[2];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static isr_fn handlers[256];
static struct tss64 tss __attribute__((aligned(16)));
volatile uint64_t fault_recover;
volatile struct fault_info last_fault;

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
    "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void fault_reset(void)
{
    fault_recover = 0;
    memset((void *)&last_fault, 0, sizeof(last_fault));
}

void isr_dispatch(struct frame *f);
void isr_dispatch(struct frame *f)
{
    uint64_t v = f->vector & 0xff;
    if (v < 32 && fault_recover) {
        last_fault.vector = v;
        last_fault.error = f->error;
        last_fault.cr2 = READ_CR(2);
        last_fault.rip = f->rip;
        last_fault.cs = f->cs;
        last_fault.count++;
        f->rip = fault_recover;
        fault_recover = 0;
        return;
    }
    if (handlers[v]) {
        handlers[v](f);
        return;
    }
    gprintf("guest error: unexpected interrupt %u (%s) error %lx at rip %lx cs %lx cr2 %lx rsp %lx\n",
            (unsigned)v, v < 32 && exc_names[v] ? exc_names[v] : "irq", f->error, f->rip, f->cs,
            READ_CR(2), f->rsp);
    guest_exit(0x7f);
}

void idt_set_gate_opts(int vec, int ist, int dpl, int present)
{
    uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * vec);
    struct idt_gate *g = &idt[vec & 0xff];
    g->off0 = (uint16_t)a;
    g->sel = SEL_KCODE;
    g->ist = (uint8_t)(ist & 7);
    g->type = (uint8_t)((present ? 0x80 : 0) | (dpl & 3) << 5 | 0x0e);   /* interrupt gate */
    g->off1 = (uint16_t)(a >> 16);
    g->off2 = (uint32_t)(a >> 32);
    g->zero = 0;
}

void idt_set_gate_type(int vec, int type)
{
    struct idt_gate *g = &idt[vec & 0xff];
    g->type = (uint8_t)((g->type & 0xe0) | (type & 0x1f));
}

void idt_init(void)
{
    for (int i = 0; i < 256; i++)
        idt_set_gate_opts(i, 0, 0, 1);
    idt_load();
}

void idt_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = {
        sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" :: "m"(d) : "memory");
}

void idt_set_handler(int vec, isr_fn fn)
{
    handlers[vec & 0xff] = fn;
}

void tss_install(uint64_t rsp0, uint64_t ist1)
{
    memset(&tss, 0, sizeof(tss));
    tss.rsp[0] = rsp0;
    tss.ist[0] = ist1;
    tss.iomap_base = sizeof(tss);       /* no I/O bitmap */
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
    gdt_tss[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
                 ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt_tss[1] = base >> 32;
    __asm__ volatile("ltr %w0" :: "r"(SEL_TSS) : "memory");
}

void tss_set_stack(int which, uint64_t rsp)
{
    if (which == 0)
        tss.rsp[0] = rsp;
    else if (which >= 1 && which <= 7)
        tss.ist[which - 1] = rsp;
}

static uint64_t table_pool[16][512] __attribute__((aligned(4096)));
static int table_used;

static uint64_t *next_table(uint64_t *entry)
{
    if (!(*entry & PTE_P)) {
        if (table_used >= 16)
            fail(0x7e, "map_page: out of page tables");
        uint64_t *t = table_pool[table_used++];
        memset(t, 0, 4096);
        *entry = (uint64_t)(uintptr_t)t | PTE_P | PTE_W | PTE_U;
    }
    if (*entry & PTE_PS)
        fail(0x7e, "map_page: address is inside a large page");
    return (uint64_t *)(uintptr_t)(*entry & PTE_ADDR);
}

uint64_t *map_page(uint64_t va, uint64_t pa, uint64_t flags)
{
    uint64_t *pdpt = next_table(&boot_pml4[(va >> 39) & 511]);
    uint64_t *pd = next_table(&pdpt[(va >> 30) & 511]);
    uint64_t *pt = next_table(&pd[(va >> 21) & 511]);
    uint64_t *pte = &pt[(va >> 12) & 511];
    *pte = (pa & PTE_ADDR) | flags;
    invlpg(va);
    return pte;
}

void lapic_enable(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if ((base & PTE_ADDR & 0xfffff000ull) != LAPIC_BASE)
        fail(0x7d, "IA32_APIC_BASE is %lx, expected base %llx", base, LAPIC_BASE);
    wrmsr(MSR_APIC_BASE, base | (1u << 11));
    lapic_write(LAPIC_SVR, 0x100 | 0xff);
}

void pic_init(void)
{
    outb(0x20, 0x11); outb(0xa0, 0x11);     /* ICW1: edge, cascade, ICW4 follows */
    outb(0x21, 0x20); outb(0xa1, 0x28);     /* ICW2: vector bases */
    outb(0x21, 0x04); outb(0xa1, 0x02);     /* ICW3: slave on IR2 */
    outb(0x21, 0x01); outb(0xa1, 0x01);     /* ICW4: 8086 mode */
    outb(0x21, 0xff); outb(0xa1, 0xff);
}
