/* Printing and construction helpers for struct cpu_state. */
#include "engine/cpu_state.h"

#include <stdio.h>
#include <string.h>

void cpu_state_flat_seg(struct seg_state *seg, uint16_t selector, bool code, bool long64)
{
    memset(seg, 0, sizeof(*seg));
    seg->base = 0;
    seg->limit = 0xffffffff;
    seg->selector = selector;
    seg->type = code ? 0xb : 0x3;   /* execute/read accessed, read/write accessed */
    seg->s = 1;
    seg->present = 1;
    seg->g = 1;
    seg->l = code && long64;
    seg->db = !(code && long64);
}

static void print_seg(FILE *f, const char *name, const struct seg_state *s)
{
    fprintf(f, "%-3s=%04x %016llx %08x type=%x s=%u dpl=%u p=%u l=%u db=%u g=%u\r\n",
            name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl,
            s->present, s->l, s->db, s->g);
}

void cpu_state_print(const struct cpu_state *s, int cpu, void *stdio_file)
{
    static const char *names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                     "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
    static const char *segs[6] = { "es", "cs", "ss", "ds", "fs", "gs" };
    FILE *f = stdio_file;
    fprintf(f, "vCPU %d state:\r\n", cpu);
    for (int i = 0; i < 16; i += 2)
        fprintf(f, "%-3s=%016llx  %-3s=%016llx\r\n", names[i], (unsigned long long)s->gpr[i],
                names[i + 1], (unsigned long long)s->gpr[i + 1]);
    fprintf(f, "rip=%016llx  rflags=%016llx\r\n", (unsigned long long)s->rip,
            (unsigned long long)s->rflags);
    for (int i = 0; i < 6; i++)
        print_seg(f, segs[i], &s->seg[i]);
    print_seg(f, "tr", &s->tr);
    print_seg(f, "ldt", &s->ldt);
    fprintf(f, "gdt=%016llx/%04x idt=%016llx/%04x\r\n", (unsigned long long)s->gdt.base,
            s->gdt.limit, (unsigned long long)s->idt.base, s->idt.limit);
    fprintf(f, "cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\r\n",
            (unsigned long long)s->cr0, (unsigned long long)s->cr2, (unsigned long long)s->cr3,
            (unsigned long long)s->cr4, (unsigned long long)s->efer);
}
