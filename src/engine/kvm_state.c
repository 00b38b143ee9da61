/* struct cpu_state <-> struct kvm_regs / kvm_sregs. */
#include "engine/kvm_state.h"

#include <string.h>

static void seg_from_kvm(struct seg_state *d, const struct kvm_segment *s)
{
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->type = s->type;
    d->s = s->s;
    d->dpl = s->dpl;
    d->present = s->present;
    d->avl = s->avl;
    d->l = s->l;
    d->db = s->db;
    d->g = s->g;
    d->unusable = s->unusable;
}

static void seg_to_kvm(struct kvm_segment *d, const struct seg_state *s)
{
    memset(d, 0, sizeof(*d));
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->type = s->type;
    d->s = s->s;
    d->dpl = s->dpl;
    d->present = s->present;
    d->avl = s->avl;
    d->l = s->l;
    d->db = s->db;
    d->g = s->g;
    d->unusable = s->unusable || !s->present;
}

void kvm_state_from_kvm(struct cpu_state *s, const struct kvm_regs *r, const struct kvm_sregs *sr)
{
    memset(s, 0, sizeof(*s));
    s->gpr[R_RAX] = r->rax; s->gpr[R_RCX] = r->rcx; s->gpr[R_RDX] = r->rdx;
    s->gpr[R_RBX] = r->rbx; s->gpr[R_RSP] = r->rsp; s->gpr[R_RBP] = r->rbp;
    s->gpr[R_RSI] = r->rsi; s->gpr[R_RDI] = r->rdi;
    s->gpr[R_R8] = r->r8;   s->gpr[R_R9] = r->r9;   s->gpr[R_R10] = r->r10;
    s->gpr[R_R11] = r->r11; s->gpr[R_R12] = r->r12; s->gpr[R_R13] = r->r13;
    s->gpr[R_R14] = r->r14; s->gpr[R_R15] = r->r15;
    s->rip = r->rip;
    s->rflags = r->rflags;
    seg_from_kvm(&s->seg[S_ES], &sr->es);
    seg_from_kvm(&s->seg[S_CS], &sr->cs);
    seg_from_kvm(&s->seg[S_SS], &sr->ss);
    seg_from_kvm(&s->seg[S_DS], &sr->ds);
    seg_from_kvm(&s->seg[S_FS], &sr->fs);
    seg_from_kvm(&s->seg[S_GS], &sr->gs);
    seg_from_kvm(&s->tr, &sr->tr);
    seg_from_kvm(&s->ldt, &sr->ldt);
    s->gdt.base = sr->gdt.base;
    s->gdt.limit = sr->gdt.limit;
    s->idt.base = sr->idt.base;
    s->idt.limit = sr->idt.limit;
    s->cr0 = sr->cr0; s->cr2 = sr->cr2; s->cr3 = sr->cr3; s->cr4 = sr->cr4; s->cr8 = sr->cr8;
    s->efer = sr->efer;
    s->apic_base = sr->apic_base;
}

void kvm_state_to_kvm(const struct cpu_state *s, struct kvm_regs *r, struct kvm_sregs *sr)
{
    memset(r, 0, sizeof(*r));
    r->rax = s->gpr[R_RAX]; r->rcx = s->gpr[R_RCX]; r->rdx = s->gpr[R_RDX];
    r->rbx = s->gpr[R_RBX]; r->rsp = s->gpr[R_RSP]; r->rbp = s->gpr[R_RBP];
    r->rsi = s->gpr[R_RSI]; r->rdi = s->gpr[R_RDI];
    r->r8 = s->gpr[R_R8];   r->r9 = s->gpr[R_R9];   r->r10 = s->gpr[R_R10];
    r->r11 = s->gpr[R_R11]; r->r12 = s->gpr[R_R12]; r->r13 = s->gpr[R_R13];
    r->r14 = s->gpr[R_R14]; r->r15 = s->gpr[R_R15];
    r->rip = s->rip;
    r->rflags = s->rflags | RFLAGS_FIXED;
    seg_to_kvm(&sr->es, &s->seg[S_ES]);
    seg_to_kvm(&sr->cs, &s->seg[S_CS]);
    seg_to_kvm(&sr->ss, &s->seg[S_SS]);
    seg_to_kvm(&sr->ds, &s->seg[S_DS]);
    seg_to_kvm(&sr->fs, &s->seg[S_FS]);
    seg_to_kvm(&sr->gs, &s->seg[S_GS]);
    seg_to_kvm(&sr->tr, &s->tr);
    seg_to_kvm(&sr->ldt, &s->ldt);
    sr->tr.unusable = 0;   /* VMX requires a usable TR */
    sr->gdt.base = s->gdt.base;
    sr->gdt.limit = s->gdt.limit;
    sr->idt.base = s->idt.base;
    sr->idt.limit = s->idt.limit;
    sr->cr0 = s->cr0; sr->cr2 = s->cr2; sr->cr3 = s->cr3; sr->cr4 = s->cr4; sr->cr8 = s->cr8;
    sr->efer = s->efer;
    if (s->apic_base)
        sr->apic_base = s->apic_base;
}
