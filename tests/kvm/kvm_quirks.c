/* kvm_quirks: asks this host's /dev/kvm, with one tiny hand-built guest per
 * question, whether it gets a few architectural behaviours wrong that our
 * test guests depend on (docs/kvm-hosts.md).  No hostel board is involved:
 * a bare VM, one memory slot, one vCPU, state set with KVM_SET_SREGS/REGS.
 *
 *   kvm_quirks [--json] [-v]      HOSTEL_NO_KVM=1: behave as if /dev/kvm were absent
 *
 * Guest layout (physical = linear where paging is on):
 *   0x1000 GDT   0x2000 IDT   0x3000 TSS   0x4000.. page tables
 *   0x10000 the probe's code   0x11000 one stub per vector: mov $v,%al; out %al,$0xe0; hlt
 *   0x20000 user code   0x70000 kernel stack top   0x78000 IST1 stack top
 * A probe's code ends with out %al,$0xe1 ("done"); an exception reaches the
 * stub of its vector, whose port write names it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#define MEM_SIZE   0x800000u         /* 8 MiB */
#define GDT_ADDR   0x1000u
#define IDT_ADDR   0x2000u
#define TSS_ADDR   0x3000u
#define PML4_ADDR  0x4000u
#define PDPT_ADDR  0x5000u
#define PD_ADDR    0x6000u
#define PD32_ADDR  0x8000u
#define PT32_ADDR  0x9000u
#define PDPT32_ADDR 0xa000u          /* PAE's four PDPTEs (32-byte aligned) */
#define CODE_ADDR  0x10000u
#define STUB_ADDR  0x11000u
#define USER_ADDR  0x20000u
#define STACK_TOP  0x70000u
#define IST1_TOP   0x78000u

#define PORT_VECTOR 0xe0             /* a stub: AL is the vector */
#define PORT_DONE   0xe1             /* the probe's code ran to its end */

/* GDT selectors: SYSCALL/SYSRET's layout, as Linux has it. */
#define SEL_KCODE64 0x08
#define SEL_KDATA   0x10
#define SEL_UCODE32 0x18
#define SEL_UDATA   0x20
#define SEL_UCODE64 0x28
#define SEL_TSS     0x30             /* 16 bytes */
#define SEL_KCODE32 0x40

#define CR0_PE 0x1u
#define CR0_ET 0x10u
#define CR0_NE 0x20u
#define CR0_WP 0x10000u
#define CR0_PG 0x80000000u
#define CR4_PSE 0x10u
#define CR4_PAE 0x20u
#define EFER_SCE 0x1u
#define EFER_LME 0x100u
#define EFER_LMA 0x400u

#define PG_P  0x1u
#define PG_W  0x2u
#define PG_U  0x4u
#define PG_PS 0x80u

#define MSR_STAR  0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u

#define PROBE_SECONDS 3              /* per run: ~10 M instructions at the slowest host seen */

static bool verbose;

/* ---- one bare VM ---- */

struct pvm {
    int sys, vm, cpu;
    int run_size;
    uint8_t *mem;
    struct kvm_run *run;
};

enum exit_kind { X_DONE, X_VECTOR, X_SHUTDOWN, X_INTERNAL, X_HLT, X_TIMEOUT, X_OTHER, X_ERROR };

struct exit_info {
    enum exit_kind kind;
    unsigned vector;                 /* X_VECTOR */
    uint8_t stack[48];               /* X_VECTOR: the handler's stack: the frame pushed */
    unsigned reason, suberror;       /* KVM's exit reason, internal-error suberror */
    uint64_t insn_len;               /* X_INTERNAL with instruction bytes */
    uint8_t insn[16];
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    char what[160];                  /* the exit in words */
};

static struct kvm_run *volatile alarm_run;
static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
    (void)sig;
    alarm_fired = 1;
    if (alarm_run)
        alarm_run->immediate_exit = 1;
}

static void pvm_close(struct pvm *p)
{
    if (p->run && p->run != MAP_FAILED)
        munmap(p->run, (size_t)p->run_size);
    if (p->cpu >= 0)
        close(p->cpu);
    if (p->vm >= 0)
        close(p->vm);
    if (p->sys >= 0)
        close(p->sys);
    if (p->mem && p->mem != MAP_FAILED)
        munmap(p->mem, MEM_SIZE);
    memset(p, 0, sizeof(*p));
    p->sys = p->vm = p->cpu = -1;
}

/* The host's supported CPUID: long mode, SYSCALL and PSE must be in the
 * vCPU's CPUID before KVM accepts EFER.LME or CR4 bits. */
static int set_supported_cpuid(struct pvm *p)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
        if (!c)
            return -ENOMEM;
        c->nent = (uint32_t)n;
        if (ioctl(p->sys, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            int r = ioctl(p->cpu, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
            free(c);
            return r;
        }
        int e = errno;
        free(c);
        if (e != E2BIG)
            return -e;
    }
    return -E2BIG;
}

/* irqchip: the in-kernel LAPIC, IOAPIC and PIC (KVM_CREATE_IRQCHIP), made
 * before the vCPU as KVM requires. */
static int pvm_open_with(struct pvm *p, bool irqchip, char *why, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->sys = p->vm = p->cpu = -1;
    p->sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (p->sys < 0) {
        snprintf(why, len, "cannot open /dev/kvm: %s", strerror(errno));
        return -1;
    }
    p->vm = ioctl(p->sys, KVM_CREATE_VM, 0);
    p->run_size = ioctl(p->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
    p->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p->vm < 0 || p->run_size <= 0 || p->mem == MAP_FAILED) {
        snprintf(why, len, "cannot create a VM: %s", strerror(errno));
        goto fail;
    }
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)p->mem,
    };
    if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
        ioctl(p->vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0) {
        snprintf(why, len, "cannot give the VM memory: %s", strerror(errno));
        goto fail;
    }
    if (irqchip && ioctl(p->vm, KVM_CREATE_IRQCHIP, 0) < 0) {
        snprintf(why, len, "cannot create the in-kernel irqchip: %s", strerror(errno));
        goto fail;
    }
    p->cpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
    if (p->cpu < 0) {
        snprintf(why, len, "cannot create a vCPU: %s", strerror(errno));
        goto fail;
    }
    p->run = mmap(NULL, (size_t)p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->cpu, 0);
    if (p->run == MAP_FAILED) {
        snprintf(why, len, "cannot map the vCPU: %s", strerror(errno));
        goto fail;
    }
    int r = set_supported_cpuid(p);
    if (r < 0) {
        snprintf(why, len, "cannot set the vCPU's CPUID: %s", strerror(-r));
        goto fail;
    }
    return 0;
fail:
    pvm_close(p);
    return -1;
}

static int pvm_open(struct pvm *p, char *why, size_t len)
{
    return pvm_open_with(p, false, why, len);
}

/* ---- guest memory ---- */

static void put64(struct pvm *p, uint32_t gpa, uint64_t v) { memcpy(p->mem + gpa, &v, 8); }
static void put32(struct pvm *p, uint32_t gpa, uint32_t v) { memcpy(p->mem + gpa, &v, 4); }

static void put_code(struct pvm *p, uint32_t gpa, const uint8_t *code, size_t n)
{
    memcpy(p->mem + gpa, code, n);
}

/* Flat descriptors for every mode a probe uses, a 64-bit TSS with RSP0 and
 * IST1, and a stub per vector. */
static void build_common(struct pvm *p)
{
    put64(p, GDT_ADDR + SEL_KCODE64, 0x00af9a000000ffffull);
    put64(p, GDT_ADDR + SEL_KDATA, 0x00cf92000000ffffull);
    put64(p, GDT_ADDR + SEL_UCODE32, 0x00cffa000000ffffull);
    put64(p, GDT_ADDR + SEL_UDATA, 0x00cff2000000ffffull);
    put64(p, GDT_ADDR + SEL_UCODE64, 0x00affa000000ffffull);
    /* 64-bit available TSS at TSS_ADDR, limit 0x67 */
    put64(p, GDT_ADDR + SEL_TSS, 0x0000890000000067ull | (uint64_t)TSS_ADDR << 16);
    put64(p, GDT_ADDR + SEL_TSS + 8, 0);
    put64(p, GDT_ADDR + SEL_KCODE32, 0x00cf9a000000ffffull);
    put64(p, TSS_ADDR + 4, STACK_TOP);          /* RSP0 */
    put64(p, TSS_ADDR + 0x24, IST1_TOP);        /* IST1 */
    for (unsigned v = 0; v < 256; v++) {
        const uint8_t stub[8] = { 0xb0, (uint8_t)v,        /* mov $v, %al */
                                  0xe6, PORT_VECTOR,       /* out %al, $0xe0 */
                                  0xf4,                    /* hlt */
                                  0xeb, 0xfd,              /* jmp .-1 (the hlt) */
                                  0x90 };
        put_code(p, STUB_ADDR + v * 8, stub, sizeof(stub));
    }
}

/* Every vector to its stub through a 64-bit interrupt gate, DPL 0;
 * ist1 names vectors that switch to IST1. */
static void build_idt64(struct pvm *p, int ist1_vector)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t h = STUB_ADDR + v * 8;
        uint64_t lo = (h & 0xffff) | (uint64_t)SEL_KCODE64 << 16 |
                      (uint64_t)((int)v == ist1_vector ? 1 : 0) << 32 |
                      (uint64_t)0x8e << 40 | ((h >> 16) & 0xffff) << 48;
        put64(p, IDT_ADDR + v * 16, lo);
        put64(p, IDT_ADDR + v * 16 + 8, h >> 32);
    }
}

static void build_idt32(struct pvm *p)
{
    for (unsigned v = 0; v < 256; v++) {
        uint32_t h = STUB_ADDR + v * 8;
        put64(p, IDT_ADDR + v * 8, (h & 0xffff) | (uint64_t)SEL_KCODE32 << 16 |
                                   (uint64_t)0x8e << 40 | (uint64_t)(h >> 16) << 48);
    }
}

/* 4-level tables: the first 8 MiB identity-mapped with 2 MiB pages. */
static void build_pt64(struct pvm *p, uint64_t user)
{
    put64(p, PML4_ADDR, PDPT_ADDR | PG_P | PG_W | user);
    put64(p, PDPT_ADDR, PD_ADDR | PG_P | PG_W | user);
    for (unsigned i = 0; i < MEM_SIZE >> 21; i++)
        put64(p, PD_ADDR + i * 8, (uint64_t)i << 21 | PG_P | PG_W | PG_PS | user);
}

/* ---- vCPU state ---- */

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, bool code64, bool s)
{
    struct kvm_segment g = {
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
        .dpl = dpl, .db = !code64, .s = s, .l = code64, .g = 1,
    };
    return g;
}

static void set_tr_ldt(struct kvm_sregs *s, uint8_t tss_type)
{
    s->tr = (struct kvm_segment){ .base = TSS_ADDR, .limit = 0x67, .selector = SEL_TSS,
                                  .type = tss_type, .present = 1 };
    s->ldt = (struct kvm_segment){ .selector = 0, .type = 2, .present = 1, .limit = 0xffff,
                                   .unusable = 1 };
    s->gdt.base = GDT_ADDR;
    s->gdt.limit = 0x47;
}

/* 32-bit protected mode, flat, CPL 0, paging off, 32-bit IDT. */
static void state_pm32(struct kvm_sregs *s)
{
    s->cs = seg(SEL_KCODE32, 0xb, 0, false, true);
    s->ds = s->es = s->fs = s->gs = s->ss = seg(SEL_KDATA, 0x3, 0, false, true);
    set_tr_ldt(s, 0xb);
    s->idt.base = IDT_ADDR;
    s->idt.limit = 256 * 8 - 1;
    s->cr0 = CR0_PE | CR0_ET | CR0_NE;
    s->cr3 = 0;
    s->cr4 = 0;
    s->efer = 0;
}

/* 64-bit mode at CPL cpl (0 or 3), paging through build_pt64's tables. */
static void state_long(struct kvm_sregs *s, unsigned cpl)
{
    if (cpl == 3) {
        s->cs = seg(SEL_UCODE64 | 3, 0xb, 3, true, true);
        s->ss = seg(SEL_UDATA | 3, 0x3, 3, false, true);
    } else {
        s->cs = seg(SEL_KCODE64, 0xb, 0, true, true);
        s->ss = seg(SEL_KDATA, 0x3, 0, false, true);
    }
    s->ds = s->es = s->fs = s->gs = s->ss;
    set_tr_ldt(s, 0xb);
    s->idt.base = IDT_ADDR;
    s->idt.limit = 256 * 16 - 1;
    s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s->cr3 = PML4_ADDR;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME | EFER_LMA | EFER_SCE;
}

/* One MSR through KVM_SET_MSRS or KVM_GET_MSRS (req): 0 or -1. */
static int msr_io(struct pvm *p, unsigned long req, uint32_t index, uint64_t *value)
{
    union {
        struct kvm_msrs h;
        uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
    } m;
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = 1;
    m.h.entries[0].index = index;
    m.h.entries[0].data = *value;
    if (ioctl(p->cpu, req, &m) != 1)
        return -1;
    *value = m.h.entries[0].data;
    return 0;
}

static int set_msr(struct pvm *p, uint32_t index, uint64_t value)
{
    return msr_io(p, KVM_SET_MSRS, index, &value);
}

static int get_msr(struct pvm *p, uint32_t index, uint64_t *value)
{
    return msr_io(p, KVM_GET_MSRS, index, value);
}

/* Word i of the frame an exception pushed (the stubs push nothing). */
static uint64_t frame64(const struct exit_info *x, unsigned i)
{
    uint64_t v;
    memcpy(&v, x->stack + i * 8, 8);
    return v;
}

static uint32_t frame32(const struct exit_info *x, unsigned i)
{
    uint32_t v;
    memcpy(&v, x->stack + i * 4, 4);
    return v;
}

static void dump_state(const struct exit_info *x)
{
    const struct kvm_regs *r = &x->regs;
    const struct kvm_sregs *s = &x->sregs;
    fprintf(stderr, "    rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
                    "    rsp=%016llx rbp=%016llx rsi=%016llx rdi=%016llx\n"
                    "    r11=%016llx rip=%016llx rflags=%08llx\n",
            r->rax, r->rbx, r->rcx, r->rdx, r->rsp, r->rbp, r->rsi, r->rdi, r->r11, r->rip,
            r->rflags);
    fprintf(stderr, "    cs=%04x dpl=%u l=%u db=%u  ss=%04x dpl=%u  tr=%04x\n",
            s->cs.selector, s->cs.dpl, s->cs.l, s->cs.db, s->ss.selector, s->ss.dpl,
            s->tr.selector);
    fprintf(stderr, "    cr0=%08llx cr2=%016llx cr3=%08llx cr4=%08llx efer=%llx\n",
            s->cr0, s->cr2, s->cr3, s->cr4, s->efer);
}

/* Runs the vCPU until an exit that is not a signal, for at most
 * PROBE_SECONDS; reads back the registers. */
static void pvm_run(struct pvm *p, const char *probe, struct exit_info *x)
{
    memset(x, 0, sizeof(*x));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;            /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm_fired = 0;
    alarm_run = p->run;
    p->run->immediate_exit = 0;
    struct itimerval t = { .it_value = { .tv_sec = PROBE_SECONDS } };
    setitimer(ITIMER_REAL, &t, NULL);
    int r;
    do {
        r = ioctl(p->cpu, KVM_RUN, 0);
    } while (r < 0 && errno == EINTR && !alarm_fired);
    int e = errno;
    memset(&t, 0, sizeof(t));
    setitimer(ITIMER_REAL, &t, NULL);
    alarm_run = NULL;
    p->run->immediate_exit = 0;

    ioctl(p->cpu, KVM_GET_REGS, &x->regs);
    ioctl(p->cpu, KVM_GET_SREGS, &x->sregs);
    if (x->regs.rsp <= MEM_SIZE - sizeof(x->stack))   /* the stubs push nothing */
        memcpy(x->stack, p->mem + x->regs.rsp, sizeof(x->stack));
    if (r < 0 && alarm_fired) {
        x->kind = X_TIMEOUT;
        snprintf(x->what, sizeof(x->what), "no exit within %d s", PROBE_SECONDS);
    } else if (r < 0) {
        x->kind = X_ERROR;
        snprintf(x->what, sizeof(x->what), "KVM_RUN failed: %s", strerror(e));
    } else {
        struct kvm_run *run = p->run;
        x->reason = run->exit_reason;
        if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
            run->io.size == 1 && (run->io.port == PORT_VECTOR || run->io.port == PORT_DONE)) {
            uint8_t v = *((uint8_t *)run + run->io.data_offset);
            if (run->io.port == PORT_DONE) {
                x->kind = X_DONE;
                snprintf(x->what, sizeof(x->what), "reached the end of its code");
            } else {
                x->kind = X_VECTOR;
                x->vector = v;
                snprintf(x->what, sizeof(x->what), "took exception vector %u", v);
            }
        } else if (run->exit_reason == KVM_EXIT_SHUTDOWN) {
            x->kind = X_SHUTDOWN;
            snprintf(x->what, sizeof(x->what), "shut down (triple fault)");
        } else if (run->exit_reason == KVM_EXIT_HLT) {
            x->kind = X_HLT;
            snprintf(x->what, sizeof(x->what), "halted");
        } else if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
            x->kind = X_INTERNAL;
            x->suberror = run->internal.suberror;
            int n = snprintf(x->what, sizeof(x->what), "KVM internal error, suberror %u%s",
                             x->suberror,
                             x->suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)" : "");
            if (x->suberror == KVM_INTERNAL_ERROR_EMULATION && run->emulation_failure.ndata >= 3 &&
                (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
                x->insn_len = run->emulation_failure.insn_size;
                if (x->insn_len > sizeof(x->insn))
                    x->insn_len = sizeof(x->insn);
                memcpy(x->insn, run->emulation_failure.insn_bytes, x->insn_len);
                n += snprintf(x->what + n, sizeof(x->what) - (size_t)n, ", instruction bytes");
                for (unsigned i = 0; i < x->insn_len && i < 4 && n < (int)sizeof(x->what) - 4; i++)
                    n += snprintf(x->what + n, sizeof(x->what) - (size_t)n, " %02x", x->insn[i]);
            }
        } else {
            x->kind = X_OTHER;
            snprintf(x->what, sizeof(x->what), "unexpected exit reason %u", run->exit_reason);
        }
    }
    if (verbose) {
        fprintf(stderr, "  [%s] %s at rip %llx\n", probe, x->what, x->regs.rip);
        dump_state(x);
    }
}


/* ---- starting a guest ---- */

enum mode { M_REAL, M_PM32, M_LONG };

struct start {
    enum mode mode;
    unsigned cpl;                    /* M_LONG: 0 or 3 */
    uint64_t rip, rsp, rflags, rax;
    int ist1_vector;                 /* M_LONG: the vector whose gate names IST1, or -1 */
    uint64_t user;                   /* M_LONG: PG_U on every paging level, or 0 */
};

/* Builds the tables for s->mode and sets the vCPU's state; 0 or -1 (why). */
static int start(struct pvm *p, const struct start *st, char *why, size_t len)
{
    struct kvm_sregs s;
    struct kvm_regs r;
    if (ioctl(p->cpu, KVM_GET_SREGS, &s) < 0) {
        snprintf(why, len, "KVM_GET_SREGS failed: %s", strerror(errno));
        return -1;
    }
    build_common(p);
    switch (st->mode) {
    case M_REAL:
        for (unsigned v = 0; v < 256; v++)                /* IVT: 1100:v*8 */
            put32(p, v * 4, (uint32_t)(STUB_ADDR >> 4) << 16 | v * 8);
        s.cs.selector = CODE_ADDR >> 4;   /* code at CODE_ADDR + IP */
        s.cs.base = CODE_ADDR;
        s.idt.base = 0;
        s.idt.limit = 0x3ff;
        break;
    case M_PM32:
        build_idt32(p);
        state_pm32(&s);
        break;
    case M_LONG:
        build_idt64(p, st->ist1_vector);
        build_pt64(p, st->user);
        state_long(&s, st->cpl);
        break;
    }
    memset(&r, 0, sizeof(r));
    r.rip = st->rip;
    r.rsp = st->rsp;
    r.rflags = st->rflags | 2;
    r.rax = st->rax;
    if (ioctl(p->cpu, KVM_SET_SREGS, &s) < 0 || ioctl(p->cpu, KVM_SET_REGS, &r) < 0) {
        snprintf(why, len, "cannot set the vCPU's state: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the quirks ---- */

struct quirk {
    const char *name;
    const char *about;               /* one line: the behaviour asked about */
    void (*probe)(struct quirk *q);
    int present;                     /* 1, 0, or -1: unknown */
    char detail[512];
};

static void verdict(struct quirk *q, int present, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict(struct quirk *q, int present, const char *fmt, ...)
{
    va_list ap;
    q->present = present;
    va_start(ap, fmt);
    vsnprintf(q->detail, sizeof(q->detail), fmt, ap);
    va_end(ap);
}

/* Opens a fresh VM with code at st->rip and starts it: 0, or -1 with q's
 * verdict set to unknown.  The caller runs it and closes it. */
static int prepare(struct quirk *q, struct pvm *p, const struct start *st,
                   const uint8_t *code, size_t n)
{
    char why[200];
    if (pvm_open(p, why, sizeof(why)) < 0) {
        verdict(q, -1, "%s", why);
        return -1;
    }
    put_code(p, (uint32_t)st->rip + (st->mode == M_REAL ? CODE_ADDR : 0), code, n);
    if (start(p, st, why, sizeof(why)) < 0) {
        verdict(q, -1, "%s", why);
        pvm_close(p);
        return -1;
    }
    return 0;
}

/* Runs code at CODE_ADDR in one mode and says how it ended: the exit in x,
 * its kind returned (X_ERROR when no VM could be made: q says why). */
static enum exit_kind run_code(struct quirk *q, const char *label, enum mode mode,
                               const uint8_t *code, size_t n, struct exit_info *x)
{
    struct pvm p;
    struct start st = { .mode = mode, .rip = CODE_ADDR, .rsp = STACK_TOP, .ist1_vector = -1 };
    if (mode == M_REAL) {
        st.rip = 0;                      /* CS base CODE_ADDR */
        st.rsp = 0x7000;
    }
    if (prepare(q, &p, &st, code, n) < 0) {
        x->kind = X_ERROR;
        return X_ERROR;
    }
    pvm_run(&p, label, x);
    pvm_close(&p);
    return x->kind;
}

/* interrupts@kvm: INT3 in 64-bit mode must go through IDT gate 3 as #BP, a
 * trap whose saved RIP is the next instruction (SDM Vol. 2A, INT n/INTO/
 * INT3/INT1; Vol. 3A, exception and interrupt handling in 64-bit mode). */
static void probe_int3_64(struct quirk *q)
{
    static const uint8_t int3[] = { 0xcc, 0xe6, PORT_DONE };          /* int3; out %al,$0xe1 */
    static const uint8_t int30[] = { 0xcd, 0x30, 0xe6, PORT_DONE };   /* int $0x30 */
    static const uint8_t ud2[] = { 0x0f, 0x0b, 0xe6, PORT_DONE };     /* ud2 */
    struct exit_info x, c, v, pm, rm;

    if (run_code(q, "int3-64: ud2 (control)", M_LONG, ud2, sizeof(ud2), &c) == X_ERROR)
        return;
    if (c.kind != X_VECTOR || c.vector != 6 || frame64(&c, 0) != CODE_ADDR) {
        verdict(q, -1, "the control, UD2 in 64-bit mode, %s instead of #UD through its gate",
                c.what);
        return;
    }
    if (run_code(q, "int3-64: int3", M_LONG, int3, sizeof(int3), &x) == X_ERROR)
        return;
    if (x.kind == X_VECTOR && x.vector == 3 && frame64(&x, 0) == CODE_ADDR + 1) {
        verdict(q, 0, "INT3 in 64-bit mode reached IDT gate 3 with the next RIP saved");
        return;
    }
    /* Neighbours, for the record: which INTs the host does deliver. */
    if (run_code(q, "int3-64: int $0x30", M_LONG, int30, sizeof(int30), &v) == X_ERROR ||
        run_code(q, "int3-64: int3 in 32-bit protected mode", M_PM32, int3, sizeof(int3),
                 &pm) == X_ERROR ||
        run_code(q, "int3-64: int3 in real mode", M_REAL, int3, sizeof(int3), &rm) == X_ERROR)
        return;
    bool v_ok = v.kind == X_VECTOR && v.vector == 0x30;
    bool pm_ok = pm.kind == X_VECTOR && pm.vector == 3;
    bool rm_ok = rm.kind == X_VECTOR && rm.vector == 3;
    char fails[120] = "", works[120] = "";
    snprintf(fails, sizeof(fails), "%s%s%s", !v_ok ? "INT 0x30 in 64-bit mode" : "",
             !v_ok && !pm_ok ? ", " : "", !pm_ok ? "INT3 in 32-bit protected mode" : "");
    snprintf(works, sizeof(works), "%s%s#UD", rm_ok ? "INT3 in real mode" : "",
             rm_ok ? ", " : "");
    verdict(q, 1, "INT3 (CC) at CPL 0 in 64-bit mode: %s at rip %#llx, not #BP through IDT "
            "gate 3%s%s; delivered: %s", x.what, x.regs.rip,
            fails[0] ? "; the same for " : "", fails, works);
}

/* smap@kvm: STAC at CPL 0 sets EFLAGS.AC when CPUID.(7,0):EBX.SMAP is set
 * (SDM Vol. 2B, STAC); without SMAP it is #UD, which says nothing here. */
static void probe_stac(struct quirk *q)
{
    static const uint8_t stac[] = { 0x0f, 0x01, 0xcb, 0xe6, PORT_DONE };   /* stac */
    static const uint8_t ud2[] = { 0x0f, 0x0b, 0xe6, PORT_DONE };
    struct exit_info x, c;

    if (run_code(q, "stac: ud2 (control)", M_LONG, ud2, sizeof(ud2), &c) == X_ERROR)
        return;
    if (c.kind != X_VECTOR || c.vector != 6 || frame64(&c, 0) != CODE_ADDR) {
        verdict(q, -1, "the control, UD2 in 64-bit mode, %s instead of #UD through its gate",
                c.what);
        return;
    }
    if (run_code(q, "stac: stac", M_LONG, stac, sizeof(stac), &x) == X_ERROR)
        return;
    if (x.kind == X_DONE && (x.regs.rflags & (1u << 18))) {
        verdict(q, 0, "STAC at CPL 0 in 64-bit mode set AC");
        return;
    }
    if (x.kind == X_VECTOR && x.vector == 6) {
        verdict(q, -1, "STAC is #UD: the host's CPUID does not advertise SMAP");
        return;
    }
    verdict(q, 1, "STAC (0F 01 CB) at CPL 0 in 64-bit mode: %s at rip "
            "%#llx, not EFLAGS.AC set", x.what, x.regs.rip);
}

/* pm32@kvm: MOV to CR0 setting PG in protected mode with EFER.LME=0 turns
 * on 32-bit paging (CR4.PAE=0) or PAE paging (CR4.PAE=1); neither is a #GP
 * condition of MOV CR0 (SDM Vol. 3A, paging modes; Vol. 2B, MOV to/from
 * control registers).  With EFER.LME=1 the same write enters IA-32e mode:
 * the control. */
static enum exit_kind run_paging_on(struct quirk *q, const char *label, unsigned cr4,
                                    uint64_t efer, uint32_t cr0_more, struct exit_info *x)
{
    /* mov %eax,%cr0; mov 0x1000,%ebx (a read through the new tables); out %al,$0xe1 */
    static const uint8_t code[] = { 0x0f, 0x22, 0xc0, 0x8b, 0x1d, 0x00, 0x10, 0x00, 0x00,
                                    0xe6, PORT_DONE };
    struct pvm p;
    struct start st = { .mode = M_PM32, .rip = CODE_ADDR, .rsp = STACK_TOP, .ist1_vector = -1,
                        .rax = CR0_PE | CR0_ET | CR0_NE | CR0_PG | cr0_more };
    if (prepare(q, &p, &st, code, sizeof(code)) < 0) {
        x->kind = X_ERROR;
        return X_ERROR;
    }
    uint32_t cr3;
    if (efer & EFER_LME) {
        build_pt64(&p, 0);
        cr3 = PML4_ADDR;
    } else if (cr4 & CR4_PAE) {
        put64(&p, PDPT32_ADDR, PD_ADDR | PG_P);          /* PDPTEs: no R/W bit */
        for (unsigned i = 0; i < MEM_SIZE >> 21; i++)
            put64(&p, PD_ADDR + i * 8, (uint64_t)i << 21 | PG_P | PG_W | PG_PS);
        cr3 = PDPT32_ADDR;
    } else if (cr4 & CR4_PSE) {                          /* one 4 MiB page for 0-4 MiB */
        put32(&p, PD32_ADDR, PG_P | PG_W | PG_PS);
        cr3 = PD32_ADDR;
    } else {                                             /* a page table for 0-4 MiB */
        for (unsigned i = 0; i < 1024; i++)
            put32(&p, PT32_ADDR + i * 4, i << 12 | PG_P | PG_W);
        put32(&p, PD32_ADDR, PT32_ADDR | PG_P | PG_W);
        cr3 = PD32_ADDR;
    }
    struct kvm_sregs s;
    ioctl(p.cpu, KVM_GET_SREGS, &s);
    s.cr3 = cr3;
    s.cr4 = cr4;
    s.efer = efer;
    if (ioctl(p.cpu, KVM_SET_SREGS, &s) < 0) {
        verdict(q, -1, "cannot set CR3/CR4/EFER: %s", strerror(errno));
        pvm_close(&p);
        x->kind = X_ERROR;
        return X_ERROR;
    }
    pvm_run(&p, label, x);
    pvm_close(&p);
    if (x->kind == X_DONE && !(x->sregs.cr0 & CR0_PG))
        x->kind = X_OTHER, snprintf(x->what, sizeof(x->what), "ran on with CR0.PG clear");
    return x->kind;
}

/* "vector 13 (error 0) at eip 0x10000", or what else the run did. */
static void paging_outcome(const struct exit_info *x, char *out, size_t len)
{
    if (x->kind == X_VECTOR)
        snprintf(out, len, "vector %u (error %#x) at eip %#x", x->vector, frame32(x, 0),
                 frame32(x, 1));
    else if (x->kind == X_DONE)
        snprintf(out, len, "paging on");
    else
        snprintf(out, len, "%s", x->what);
}

static void probe_legacy_paging(struct quirk *q)
{
    struct exit_info c, x32, xpse, xpae;
    if (run_paging_on(q, "legacy-paging: CR0.PG with EFER.LME=1 (control)", CR4_PAE, EFER_LME,
                      0, &c) == X_ERROR)
        return;
    if (c.kind != X_DONE) {
        verdict(q, -1, "the control, CR0.PG with EFER.LME=1 and CR4.PAE, %s", c.what);
        return;
    }
    if (run_paging_on(q, "legacy-paging: 32-bit paging", 0, 0, 0, &x32) == X_ERROR ||
        run_paging_on(q, "legacy-paging: 32-bit paging, CR4.PSE, CR0.WP, a 4 MiB page",
                      CR4_PSE, 0, CR0_WP, &xpse) == X_ERROR ||
        run_paging_on(q, "legacy-paging: PAE paging", CR4_PAE, 0, 0, &xpae) == X_ERROR)
        return;
    if (x32.kind == X_DONE && xpse.kind == X_DONE && xpae.kind == X_DONE) {
        verdict(q, 0, "32-bit and PAE paging turn on");
        return;
    }
    char a[160], b[160], c2[160];
    paging_outcome(&x32, a, sizeof(a));
    paging_outcome(&xpse, b, sizeof(b));
    paging_outcome(&xpae, c2, sizeof(c2));
    verdict(q, 1, "MOV to CR0 setting PG with EFER.LME=0: 32-bit paging (CR4=0): %s, CR0 stays "
            "%#llx; with CR4.PSE, CR0.WP and a 4 MiB page: %s; PAE paging: %s; "
            "with EFER.LME=1 paging turns on", a, x32.sregs.cr0, b, c2);
}

/* syscall@kvm: SYSCALL from CPL 3 loads CS from STAR[47:32] with DPL 0 and
 * SS from STAR[47:32] + 8 (SDM Vol. 2B, SYSCALL).  Kernel code at LSTAR:
 * mov %cs,%eax; mov %ss,%ebx; out %al,$0xe1 -- IOPL 3 (kept: FMASK 0) lets
 * the OUT through even if the CPU stayed at CPL 3. */
static const uint8_t syscall_kernel[] = { 0x8c, 0xc8, 0x8c, 0xd3, 0xe6, PORT_DONE };
#define STAR_VALUE ((uint64_t)(SEL_UCODE32 | 3) << 48 | (uint64_t)SEL_KCODE64 << 32)

static int syscall_wrong(const struct exit_info *x, char *out, size_t len)
{
    if (x->kind != X_DONE) {
        snprintf(out, len, "%s at rip %#llx", x->what, x->regs.rip);
        return x->kind == X_VECTOR ? 1 : -1;
    }
    if (x->sregs.cs.selector == SEL_KCODE64 && x->sregs.cs.dpl == 0 &&
        (x->regs.rax & 0xffff) == SEL_KCODE64 && x->sregs.ss.selector == SEL_KDATA &&
        x->regs.rcx == USER_ADDR + 2)
        return 0;
    snprintf(out, len, "the code at LSTAR runs with CS %#x DPL %u, SS %#x (KVM_GET_SREGS; "
             "MOV from CS reads %#llx), not CS %#x DPL 0, SS %#x",
             x->sregs.cs.selector, x->sregs.cs.dpl, x->sregs.ss.selector,
             x->regs.rax & 0xffff, SEL_KCODE64, SEL_KDATA);
    return 1;
}

static void probe_syscall_cpl(struct quirk *q)
{
    static const uint8_t user[] = { 0x0f, 0x05, 0xe6, PORT_DONE };   /* syscall */
    /* CPL 0 start for the second run: the guest's own WRMSRs, then IRETQ to
     * CPL 3 at USER_ADDR with IOPL 3. */
    static const uint8_t kernel_entry[] = {
        0xb9, 0x81, 0x00, 0x00, 0xc0,                  /* mov $MSR_STAR,%ecx */
        0x31, 0xc0,                                    /* xor %eax,%eax */
        0xba, SEL_KCODE64, 0x00, SEL_UCODE32 | 3, 0x00, /* mov $STAR>>32,%edx */
        0x0f, 0x30,                                    /* wrmsr */
        0xb9, 0x82, 0x00, 0x00, 0xc0,                  /* mov $MSR_LSTAR,%ecx */
        0xb8, 0x00, 0x00, 0x01, 0x00,                  /* mov $CODE_ADDR,%eax */
        0x31, 0xd2,                                    /* xor %edx,%edx */
        0x0f, 0x30,                                    /* wrmsr */
        0xb9, 0x84, 0x00, 0x00, 0xc0,                  /* mov $MSR_FMASK,%ecx */
        0x31, 0xc0,                                    /* xor %eax,%eax */
        0x0f, 0x30,                                    /* wrmsr */
        0x6a, SEL_UDATA | 3,                           /* push $SS */
        0x68, 0x00, 0x00, 0x06, 0x00,                  /* push $0x60000 (RSP) */
        0x68, 0x02, 0x30, 0x00, 0x00,                  /* push $0x3002 (RFLAGS: IOPL 3) */
        0x6a, SEL_UCODE64 | 3,                         /* push $CS */
        0x68, 0x00, 0x00, 0x02, 0x00,                  /* push $USER_ADDR */
        0x48, 0xcf,                                    /* iretq */
    };
    struct pvm p;
    struct exit_info a, b;
    char wa[240], wb[240];

    /* Run 1: CPL 3 set by KVM_SET_SREGS, MSRs by KVM_SET_MSRS. */
    struct start st = { .mode = M_LONG, .cpl = 3, .rip = USER_ADDR, .rsp = 0x60000,
                        .rflags = 0x3000, .ist1_vector = -1, .user = PG_U };
    if (prepare(q, &p, &st, user, sizeof(user)) < 0)
        return;
    put_code(&p, CODE_ADDR, syscall_kernel, sizeof(syscall_kernel));
    if (set_msr(&p, MSR_STAR, STAR_VALUE) < 0 || set_msr(&p, MSR_LSTAR, CODE_ADDR) < 0 ||
        set_msr(&p, MSR_FMASK, 0) < 0) {
        verdict(q, -1, "KVM_SET_MSRS refused STAR/LSTAR/FMASK");
        pvm_close(&p);
        return;
    }
    pvm_run(&p, "syscall-cpl: from CPL 3 set by KVM_SET_SREGS", &a);
    pvm_close(&p);

    /* Run 2: from CPL 0 as a guest kernel does it. */
    struct start st0 = { .mode = M_LONG, .cpl = 0, .rip = CODE_ADDR + 0x100, .rsp = STACK_TOP,
                         .ist1_vector = -1, .user = PG_U };
    if (prepare(q, &p, &st0, kernel_entry, sizeof(kernel_entry)) < 0)
        return;
    put_code(&p, CODE_ADDR, syscall_kernel, sizeof(syscall_kernel));
    put_code(&p, USER_ADDR, user, sizeof(user));
    pvm_run(&p, "syscall-cpl: from CPL 3 entered by IRETQ", &b);
    pvm_close(&p);

    int ra = syscall_wrong(&a, wa, sizeof(wa)), rb = syscall_wrong(&b, wb, sizeof(wb));
    if (ra == 0 && rb == 0)
        verdict(q, 0, "SYSCALL from CPL 3 reaches LSTAR with CS %#x DPL 0", SEL_KCODE64);
    else if (ra > 0 || rb > 0)
        verdict(q, 1, "after SYSCALL from CPL 3 (STAR[47:32]=%#x) %s%s%s", SEL_KCODE64,
                ra > 0 ? wa : wb,
                ra > 0 && rb > 0 ? "; the same when the guest enters CPL 3 by IRETQ after its "
                                   "own WRMSRs" :
                ra > 0 ? "; entered by IRETQ instead: " : " (entered by IRETQ; from the CPL 3 "
                                                          "KVM_SET_SREGS sets: ",
                ra > 0 && rb > 0 ? "" : ra > 0 ? wb : "fine)");
    else
        verdict(q, -1, "SYSCALL probe ended otherwise: %s; %s", wa, wb);
}

/* doublefault@kvm: a #PF whose delivery page-faults on the stack becomes
 * #DF, and CR2 then holds the second fault's address: "If a second page
 * fault occurs while an earlier page fault is being delivered, the faulting
 * linear address of the second fault will overwrite the contents of CR2"
 * (SDM Vol. 3A, Interrupt 14, the footnote on CR2). */
#define DF_STACK   0x40001000ull       /* not mapped: PDPT entry 1 is empty */
#define DF_ADDRESS 0x40800000ull       /* the first fault: not mapped either */

static void probe_df_cr2(struct quirk *q)
{
    /* mov DF_ADDRESS,%rax; out %al,$0xe1 */
    static const uint8_t code[] = { 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x80, 0x40,
                                    0xe6, PORT_DONE };
    struct pvm p;
    struct exit_info c, x;

    /* Control: the same read with a good stack is a plain #PF with CR2 set. */
    struct start st = { .mode = M_LONG, .rip = CODE_ADDR, .rsp = STACK_TOP, .ist1_vector = 8 };
    if (prepare(q, &p, &st, code, sizeof(code)) < 0)
        return;
    pvm_run(&p, "df-cr2: #PF with a good stack (control)", &c);
    pvm_close(&p);
    if (c.kind != X_VECTOR || c.vector != 14 || c.sregs.cr2 != DF_ADDRESS) {
        verdict(q, -1, "the control, a read of unmapped %#llx, %s with CR2 %#llx instead of "
                "#PF with CR2 %#llx", DF_ADDRESS, c.what, c.sregs.cr2, DF_ADDRESS);
        return;
    }

    st.rsp = DF_STACK;
    if (prepare(q, &p, &st, code, sizeof(code)) < 0)
        return;
    pvm_run(&p, "df-cr2: #PF with RSP on an unmapped page", &x);
    pvm_close(&p);
    if (x.kind != X_VECTOR || x.vector != 8) {
        verdict(q, -1, "the #PF with an unmapped stack %s, not #DF", x.what);
        return;
    }
    uint64_t cr2 = x.sregs.cr2;
    if (cr2 < DF_STACK && cr2 >= DF_STACK - 64) {
        verdict(q, 0, "#DF with CR2 %#llx, the faulting push", (unsigned long long)cr2);
        return;
    }
    verdict(q, 1, "#PF at %#llx with RSP %#llx (unmapped) became #DF, but CR2 is %#llx%s, "
            "not the address of the faulting push just below %#llx",
            DF_ADDRESS, DF_STACK, (unsigned long long)cr2,
            cr2 == DF_ADDRESS ? " (the first fault's address)" : "", DF_STACK);
}

/* kvm/state, snapshots, migration: a vCPU's TSC written with KVM_SET_MSRS
 * reads back as written (SDM Vol. 3B, "Time-Stamp Counter": a write to
 * IA32_TSC sets it), and IA32_TSC_DEADLINE, written in TSC-deadline mode
 * after it, holds the value written until it fires (Vol. 3A, "TSC-Deadline
 * Mode").  Where the MSR write is dropped, hostel moves the vCPU's TSC
 * offset (KVM_VCPU_TSC_OFFSET) instead, as here: the quirk is present when
 * neither way sets the TSC, or the deadline does not read back.  No guest
 * code runs. */
#define TSCD_TSC      123456789012ULL
#define TSCD_DISTANCE 1000000000000ULL
static bool tsc_near(uint64_t wanted, uint64_t got)
{
    return got - wanted + 10000000000ULL < 20000000000ULL;   /* as kvm_snap.c: tsc_took */
}

static void probe_tsc_write(struct quirk *q)
{
    struct pvm p;
    char why[200], how[160] = "";
    if (pvm_open_with(&p, true, why, sizeof(why)) < 0) {
        verdict(q, -1, "%s", why);
        return;
    }
    struct kvm_lapic_state ls;
    uint32_t v;
    uint64_t tsc = 0, deadline = 0;
    if (ioctl(p.cpu, KVM_GET_LAPIC, &ls) < 0) {
        verdict(q, -1, "KVM_GET_LAPIC failed: %s", strerror(errno));
        goto out;
    }
    v = 0x1ff;                                    /* SVR: APIC software-enabled */
    memcpy(ls.regs + 0xf0, &v, 4);
    v = 2u << 17 | 0xec;                          /* LVT timer: TSC-deadline mode */
    memcpy(ls.regs + 0x320, &v, 4);
    if (ioctl(p.cpu, KVM_SET_LAPIC, &ls) < 0) {
        verdict(q, -1, "KVM_SET_LAPIC failed: %s", strerror(errno));
        goto out;
    }
    if (set_msr(&p, 0x10, TSCD_TSC) < 0 || get_msr(&p, 0x10, &tsc) < 0) {
        verdict(q, -1, "KVM_SET_MSRS or KVM_GET_MSRS of the TSC failed");
        goto out;
    }
    if (verbose)
        fprintf(stderr, "  [tsc-write] wrote TSC %llu, read %llu\n", TSCD_TSC,
                (unsigned long long)tsc);
    if (!tsc_near(TSCD_TSC, tsc)) {
        uint64_t off = 0, got = tsc;
        struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
                                     .addr = (uint64_t)(uintptr_t)&off };
        if (ioctl(p.cpu, KVM_HAS_DEVICE_ATTR, &a) < 0 || ioctl(p.cpu, KVM_GET_DEVICE_ATTR, &a) < 0) {
            verdict(q, 1, "the TSC written as %llu with KVM_SET_MSRS reads back as %llu, and "
                    "there is no KVM_VCPU_TSC_OFFSET to set it by", TSCD_TSC,
                    (unsigned long long)tsc);
            goto out;
        }
        off += TSCD_TSC - got;
        if (ioctl(p.cpu, KVM_SET_DEVICE_ATTR, &a) < 0 || get_msr(&p, 0x10, &tsc) < 0 ||
            !tsc_near(TSCD_TSC, tsc)) {
            verdict(q, 1, "the TSC written as %llu with KVM_SET_MSRS reads back as %llu, and "
                    "moving KVM_VCPU_TSC_OFFSET by the difference gives %llu", TSCD_TSC,
                    (unsigned long long)got, (unsigned long long)tsc);
            goto out;
        }
        snprintf(how, sizeof(how), " (KVM_SET_MSRS dropped it: read %llu; set through "
                 "KVM_VCPU_TSC_OFFSET)", (unsigned long long)got);
    }
    if (set_msr(&p, 0x6e0, TSCD_TSC + TSCD_DISTANCE) < 0 || get_msr(&p, 0x6e0, &deadline) < 0) {
        verdict(q, -1, "KVM_SET_MSRS or KVM_GET_MSRS of the TSC deadline failed");
        goto out;
    }
    if (verbose)
        fprintf(stderr, "  [tsc-write] TSC %llu%s; deadline written %llu, read %llu\n",
                (unsigned long long)tsc, how, TSCD_TSC + TSCD_DISTANCE,
                (unsigned long long)deadline);
    if (deadline == TSCD_TSC + TSCD_DISTANCE)
        verdict(q, 0, "the TSC reads back as written%s, and the TSC deadline too", how);
    else
        verdict(q, 1, "the TSC reads back as written%s, but IA32_TSC_DEADLINE written as %llu "
                "(the TSC + 10^12, TSC-deadline mode) reads back as %llu", how,
                TSCD_TSC + TSCD_DISTANCE, (unsigned long long)deadline);
out:
    pvm_close(&p);
}

/* ---- the report ---- */

static struct quirk quirks[] = {
    { "legacy-paging", "32-bit and PAE paging (CR0.PG with EFER.LME=0)", probe_legacy_paging, -1, "" },
    { "int3-64", "INT3 in 64-bit mode through the IDT", probe_int3_64, -1, "" },
    { "df-cr2", "CR2 after a #PF whose delivery page-faults (#DF)", probe_df_cr2, -1, "" },
    { "syscall-cpl", "SYSCALL from CPL 3 loads CS from STAR", probe_syscall_cpl, -1, "" },
    { "stac", "STAC at CPL 0 with SMAP advertised", probe_stac, -1, "" },
    { "tsc-write", "a vCPU's TSC and TSC deadline, set from outside, read back as written", probe_tsc_write, -1, "" },
};
#define NQUIRKS (sizeof(quirks) / sizeof(quirks[0]))

/* What kind of KVM this is: the vendor modules loaded (kvm_intel, kvm_amd,
 * or kvm_pvm, the software "PVM" backend of some nested clouds). */
static void host_modules(char *out, size_t len)
{
    static const char *const mods[] = { "kvm_intel", "kvm_amd", "kvm_pvm" };
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
        if (access(path, F_OK) == 0 && n < len)
            n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "", mods[i]);
    }
    if (!n)
        snprintf(out, len, "unknown (no kvm_intel, kvm_amd or kvm_pvm module)");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kvm_quirks [--json] [-v]\n"
               "Probes /dev/kvm for architectural behaviours it gets wrong (docs/kvm-hosts.md).\n"
               "  --json  one JSON object: {\"kvm\", \"host\", \"quirks\": {NAME: {\"present\", \"detail\"}}}\n"
               "  -v      trace each probe's exit and registers on stderr\n"
               "HOSTEL_NO_KVM=1 behaves as if /dev/kvm did not exist.\n");
}

int main(int argc, char **argv)
{
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "-v")) {
            verbose = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "kvm_quirks: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    /* Whether there is a KVM to ask at all. */
    const char *kvm = "available";
    char why[200] = "", host[128];
    const char *no_kvm = getenv("HOSTEL_NO_KVM");
    host_modules(host, sizeof(host));
    if (no_kvm && !strcmp(no_kvm, "1")) {
        kvm = "absent";
        snprintf(why, sizeof(why), "HOSTEL_NO_KVM=1: behaving as if /dev/kvm did not exist");
    } else {
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            kvm = errno == ENOENT ? "absent" : "unusable";
            snprintf(why, sizeof(why), "cannot open /dev/kvm: %s", strerror(errno));
        } else {
            int v = ioctl(fd, KVM_GET_API_VERSION, 0), vm = -1;
            if (v != KVM_API_VERSION) {
                kvm = "unusable";
                snprintf(why, sizeof(why), "/dev/kvm speaks API version %d, not %d", v,
                         KVM_API_VERSION);
            } else if ((vm = ioctl(fd, KVM_CREATE_VM, 0)) < 0) {
                kvm = "unusable";
                snprintf(why, sizeof(why), "/dev/kvm cannot create a VM: %s", strerror(errno));
            }
            if (vm >= 0)
                close(vm);
            close(fd);
        }
    }

    for (size_t i = 0; i < NQUIRKS; i++) {
        if (strcmp(kvm, "available"))
            verdict(&quirks[i], -1, "%s", why);
        else
            quirks[i].probe(&quirks[i]);
    }

    if (json) {
        json_t *root = json_object(), *qs = json_object();
        json_object_set_new(root, "kvm", json_string(kvm));
        if (why[0])
            json_object_set_new(root, "why", json_string(why));
        json_object_set_new(root, "host", json_string(host));
        for (size_t i = 0; i < NQUIRKS; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "present", quirks[i].present < 0 ? json_null() :
                                              json_boolean(quirks[i].present));
            json_object_set_new(o, "detail", json_string(quirks[i].detail));
            json_object_set_new(o, "about", json_string(quirks[i].about));
            json_object_set_new(qs, quirks[i].name, o);
        }
        json_object_set_new(root, "quirks", qs);
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!text) {
            fprintf(stderr, "kvm_quirks: out of memory\n");
            return 1;
        }
        puts(text);
        free(text);
    } else {
        printf("kvm: %s%s%s (host: %s)\n", kvm, why[0] ? ": " : "", why, host);
        for (size_t i = 0; i < NQUIRKS; i++) {
            const struct quirk *q = &quirks[i];
            if (q->present > 0)
                printf("quirk %s: present (%s)\n", q->name, q->detail);
            else if (q->present == 0)
                printf("quirk %s: absent\n", q->name);
            else
                printf("quirk %s: unknown (%s)\n", q->name, q->detail);
        }
    }
    return 0;
}
