/* The kvm engine: guest code runs natively through /dev/kvm; port I/O and
 * MMIO exits come back here and go to the board's buses.  The PIC, IOAPIC,
 * LAPIC and PIT live in the host kernel (KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/kvm_priv.h"
#include "engine/kvm_state.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "machine/vm.h"

#define KVM_TSS_ADDR       0xfffbd000ULL
#define KVM_IDENT_MAP_ADDR 0xfffbc000ULL
#define KVM_KICK_SIGNAL    SIGUSR1


/* HOSTEL_NO_KVM=1 makes hostel behave as on a host without /dev/kvm: how
 * tests and CI prove the emu-only path on a host that has one. */
bool kvm_hidden(void)
{
    const char *v = getenv("HOSTEL_NO_KVM");
    return v && *v && strcmp(v, "0");
}

/* An fd of /dev/kvm with every capability hostel needs, or -errno with e
 * saying what is missing. */
static int kvm_open_checked(struct err *e)
{
    if (kvm_hidden())
        return err_set(e, -ENOENT, "/dev/kvm is hidden from hostel (HOSTEL_NO_KVM is set)");
    int fd = jail_open("/dev/kvm", O_RDWR | O_CLOEXEC);    /* kept for the root jail */
    if (fd < 0) {
        int en = errno;
        if (en == ENOENT)
            return err_set(e, -en, "/dev/kvm does not exist (no hardware virtualization here, "
                           "or the kvm module is not loaded)");
        return err_set(e, -en, "cannot open /dev/kvm: %s", strerror(en));
    }
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (v != KVM_API_VERSION) {
        close(fd);
        return err_set(e, -ENOTSUP, "/dev/kvm speaks API version %d, hostel needs %d", v,
                       KVM_API_VERSION);
    }
    static const struct { int cap; const char *name; } need[] = {
        { KVM_CAP_IRQCHIP, "in-kernel irqchip" },
        { KVM_CAP_USER_MEMORY, "user memory" },
        { KVM_CAP_PIT2, "in-kernel PIT" },
        { KVM_CAP_SET_TSS_ADDR, "TSS address" },
        { KVM_CAP_EXT_CPUID, "CPUID" },
        { KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
        { KVM_CAP_SIGNAL_MSI, "MSI injection" },
        { KVM_CAP_IRQ_ROUTING, "interrupt routing" },
    };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
            close(fd);
            return err_set(e, -ENOTSUP, "/dev/kvm lacks %s", need[i].name);
        }
    }
    return fd;
}

static int kvm_probe(struct err *e)
{
    int fd = kvm_open_checked(e);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static void kick_handler(int sig)
{
    (void)sig;
}

static void install_kick_handler_once(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;   /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(KVM_KICK_SIGNAL, &sa, NULL);
}

static void install_kick_handler(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_kick_handler_once);
}

static struct kvm_cpuid2 *get_supported_cpuid(int sys_fd)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
        if (!c)
            return NULL;
        c->nent = (uint32_t)n;
        if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            return c;
        int e = errno;
        free(c);
        if (e != E2BIG)
            return NULL;
    }
    return NULL;
}

static int set_region(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* The PC's wiring, as our own irqchip (hw/irqchip.c) and the MADT describe
 * it: GSI 0-15 reach the 8259 pair (no IRQ 2: the cascade), GSI 0 reaches
 * IOAPIC pin 2 (the interrupt source override) and every other GSI its own
 * pin.  KVM's default routing sends GSI 0 to pin 0, where an ACPI OS never
 * looks for the timer. */
static int set_gsi_routing(int vm_fd)
{
    enum { IOAPIC_PINS = 24 };
    struct kvm_irq_routing *r = calloc(1, sizeof(*r) + 64 * sizeof(r->entries[0]));
    if (!r)
        return -ENOMEM;
    uint32_t n = 0;
    for (uint32_t gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2)
            continue;
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                           .pin = gsi & 7 },
        };
    }
    for (uint32_t gsi = 0; gsi < IOAPIC_PINS; gsi++) {
        if (gsi == 2)
            continue;
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi == 0 ? 2 : gsi },
        };
    }
    r->nr = n;
    int ret = ioctl(vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
    free(r);
    return ret;
}

static void kvm_vm_destroy(struct vm *vm)
{
    struct kvm_vm *k = vm->engine_data;
    if (!k)
        return;
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->sys_fd >= 0)
        close(k->sys_fd);
    free(k->cpuid);
    free(k->model);
    free(k->msr_index);
    free(k);
    vm->engine_data = NULL;
}

static int kvm_vm_init(struct vm *vm, struct err *e)
{
    struct kvm_vm *k = calloc(1, sizeof(*k));
    int r;

    if (!k)
        return err_set(e, -ENOMEM, "out of memory");
    k->vm_fd = -1;
    vm->engine_data = k;
    k->sys_fd = kvm_open_checked(e);
    if (k->sys_fd < 0) {
        r = k->sys_fd;
        goto fail;
    }
    k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
    if (k->vm_fd < 0) {
        r = err_set(e, -errno, "KVM_CREATE_VM failed: %s", strerror(errno));
        goto fail;
    }
    k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (k->run_size <= 0) {
        r = err_set(e, -EINVAL, "KVM_GET_VCPU_MMAP_SIZE failed");
        goto fail;
    }
    if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0 ||
        ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENT_MAP_ADDR }) < 0) {
        r = err_set(e, -errno, "cannot place KVM's TSS / identity map: %s", strerror(errno));
        goto fail;
    }
    if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        r = err_set(e, -errno, "KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
        goto fail;
    }
    r = set_gsi_routing(k->vm_fd);
    if (r < 0) {
        err_set(e, r, "cannot route interrupts to KVM's IOAPIC (KVM_SET_GSI_ROUTING): %s",
                strerror(-r));
        goto fail;
    }
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        r = err_set(e, -errno, "KVM_CREATE_PIT2 failed: %s", strerror(errno));
        goto fail;
    }
    r = set_region(k->vm_fd, 0, 0, vm->mem.low_size, vm->mem.host);
    if (r == 0 && vm->mem.high_size)
        r = set_region(k->vm_fd, 1, MEM_HIGH_START, vm->mem.high_size,
                       vm->mem.host + vm->mem.low_size);
    if (r < 0) {
        err_set(e, r, "cannot give guest memory to KVM: %s", strerror(-r));
        goto fail;
    }
    k->cpuid = get_supported_cpuid(k->sys_fd);
    if (!k->cpuid) {
        r = err_set(e, errno ? -errno : -EIO, "KVM_GET_SUPPORTED_CPUID failed");
        goto fail;
    }
    /* What snapshots use when the host has it (kvm_snap.c). */
    k->has_xsave = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
    k->has_xcrs = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
    k->has_debugregs = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
    k->has_events = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0;
    r = kvm_read_msr_index(k);
    if (r < 0) {
        err_set(e, r, "KVM_GET_MSR_INDEX_LIST failed: %s", strerror(-r));
        goto fail;
    }
    /* kvmclock starts where the machine's guest clock is (docs/snapshot-cpu.md). */
    struct kvm_clock_data cd;
    memset(&cd, 0, sizeof(cd));
    cd.clock = guest_clock_now(&vm->clock);
    if (ioctl(k->vm_fd, KVM_SET_CLOCK, &cd) < 0)
        log_debug("KVM_SET_CLOCK failed: %s; kvmclock starts at 0", strerror(errno));
    install_kick_handler();
    return 0;
fail:
    kvm_vm_destroy(vm);
    return r;
}

/* The CPUID model under kvm: what the host supports, plus this vCPU's APIC
 * ID and the hypervisor bit. */
static int set_vcpu_cpuid(struct kvm_vm *k, int fd, int id)
{
    struct kvm_cpuid2 *c = kvm_vcpu_cpuid_table(k);
    if (!c)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0x00ffffff) | ((uint32_t)id << 24);
            if (!k->model)
                e->ecx |= 1u << 31;      /* running under a hypervisor */
            break;
        case 0xb:
        case 0x1f:
            e->edx = (uint32_t)id;
            break;
        default:
            break;
        }
    }
    int r = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
    free(c);
    if (r == 0 && k->model)
        kvm_vcpu_model_tsc(k, fd, id);
    return r;
}

static int kvm_vcpu_init(struct vcpu *vcpu)
{
    struct kvm_vm *k = vcpu->vm->engine_data;
    struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
    int r;

    if (!kv)
        return -ENOMEM;
    kv->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->id);
    if (kv->fd < 0) {
        r = -errno;
        free(kv);
        return r;
    }
    kv->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
    if (kv->run == MAP_FAILED) {
        r = -errno;
        close(kv->fd);
        free(kv);
        return r;
    }
    r = set_vcpu_cpuid(k, kv->fd, vcpu->id);
    if (r < 0) {
        munmap(kv->run, (size_t)k->run_size);
        close(kv->fd);
        free(kv);
        return r;
    }
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    ioctl(kv->fd, KVM_SET_FPU, &fpu);
    vcpu->engine_data = kv;
    return 0;
}

static void kvm_vcpu_destroy(struct vcpu *vcpu)
{
    struct kvm_vm *k = vcpu->vm->engine_data;
    struct kvm_vcpu *kv = vcpu->engine_data;
    if (!kv)
        return;
    munmap(kv->run, (size_t)k->run_size);
    close(kv->fd);
    free(kv);
    vcpu->engine_data = NULL;
}

static void kvm_vcpu_kick(struct vcpu *vcpu)
{
    struct kvm_vcpu *kv = vcpu->engine_data;
    if (!kv)
        return;
    kv->run->immediate_exit = 1;
    if (atomic_load(&kv->thread_known))
        pthread_kill(kv->thread, KVM_KICK_SIGNAL);
}

static void handle_io(struct vm *vm, struct kvm_run *run)
{
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    unsigned size = run->io.size;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint64_t v = 0;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&v, data, size);
            bus_write(&vm->pio, run->io.port, size, v);
        } else {
            bus_read(&vm->pio, run->io.port, size, &v);
            memcpy(data, &v, size);
        }
    }
}

static void handle_mmio(struct vm *vm, struct kvm_run *run)
{
    unsigned size = run->mmio.len;
    uint64_t v = 0;
    if (size > 8)
        return;
    if (run->mmio.is_write) {
        memcpy(&v, run->mmio.data, size);
        bus_write(&vm->mmio, run->mmio.phys_addr, size, v);
    } else {
        bus_read(&vm->mmio, run->mmio.phys_addr, size, &v);
        memcpy(run->mmio.data, &v, size);
    }
}

/* Puts a held TSC back (a pause's or a load's).  Where this host's KVM
 * takes no TSC at all (docs/kvm-hosts.md: tsc-write) that is said once. */
static void tsc_back(struct kvm_vcpu *kv, int id)
{
    static atomic_bool told;
    int r = kvm_vcpu_set_tsc(kv, kv->tsc_frozen_value);
    if (r == -ENOTSUP) {
        if (!atomic_exchange(&told, true))
            log_warn("vCPU %d: this host's KVM does not take a guest's TSC (docs/kvm-hosts.md: "
                     "tsc-write); after a pause or a load the guest's TSC jumps to the host's", id);
    } else if (r < 0) {
        log_warn("vCPU %d: cannot put its TSC back: %s; it jumps by the pause", id, strerror(-r));
    }
}

static int kvm_vcpu_run(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    struct kvm_vcpu *kv = vcpu->engine_data;
    struct kvm_run *run = kv->run;

    kv->thread = pthread_self();
    atomic_store(&kv->thread_known, true);
    /* Loaded (or paused) and started without a resume: the TSC goes on from
     * the value it was given, not from when that was. */
    if (kv->tsc_frozen) {
        kv->tsc_frozen = false;
        tsc_back(kv, vcpu->id);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, KVM_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    while (!vm_stopping(vm)) {
        if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                run->immediate_exit = 0;
                continue;
            }
            int e = errno;
            log_error("vCPU %d: KVM_RUN failed: %s", vcpu->id, strerror(e));
            vm_request_stop(vm, VM_STOP_ERROR, -e);
            return -e;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            handle_io(vm, run);
            break;
        case KVM_EXIT_MMIO:
            handle_mmio(vm, run);
            break;
        case KVM_EXIT_HLT:
            /* Only without an in-kernel LAPIC; ours always has one. */
            break;
        case KVM_EXIT_SHUTDOWN:
            vm_request_stop(vm, VM_STOP_TRIPLE_FAULT, vcpu->id);
            return 0;
        case KVM_EXIT_SYSTEM_EVENT:
            if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
                vm_request_stop(vm, VM_STOP_RESET, 0);
            else
                vm_request_stop(vm, VM_STOP_POWEROFF, 0);
            return 0;
        case KVM_EXIT_FAIL_ENTRY:
            log_error("vCPU %d: KVM could not enter the guest (hardware reason 0x%llx)",
                      vcpu->id,
                      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            vm_request_stop(vm, VM_STOP_ERROR, -EIO);
            return -EIO;
        case KVM_EXIT_INTERNAL_ERROR:
            if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
                /* The host's KVM emulates (some of) the guest's code and its
                 * emulator does not know this instruction (docs/kvm-hosts.md:
                 * nested "PVM" hosts emulate kernel code). */
                char bytes[64] = "";
                size_t n = 0;
                if (run->emulation_failure.ndata >= 3 &&
                    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
                    unsigned len = run->emulation_failure.insn_size;
                    if (len > sizeof(run->emulation_failure.insn_bytes))
                        len = sizeof(run->emulation_failure.insn_bytes);
                    n += (size_t)snprintf(bytes, sizeof(bytes), ", instruction bytes");
                    for (unsigned i = 0; i < len && i < 8 && n < sizeof(bytes) - 4; i++)
                        n += (size_t)snprintf(bytes + n, sizeof(bytes) - n, " %02x",
                                              run->emulation_failure.insn_bytes[i]);
                }
                log_error("vCPU %d: KVM internal error (suberror 1): this host's KVM could "
                          "not emulate a guest instruction (emulation failure%s); the guest "
                          "cannot run on this host's /dev/kvm, run it with --engine emu "
                          "(docs/kvm-hosts.md)", vcpu->id, bytes);
            } else {
                log_error("vCPU %d: KVM internal error (suberror %u)", vcpu->id,
                          run->internal.suberror);
            }
            {
                struct cpu_state s;
                if (engine_kvm.get_state(vcpu, &s) == 0)
                    cpu_state_print(&s, vcpu->id, stderr);
            }
            vm_request_stop(vm, VM_STOP_ERROR, -EIO);
            return -EIO;
        case KVM_EXIT_INTR:
            break;
        default:
            log_error("vCPU %d: unexpected KVM exit reason %u", vcpu->id, run->exit_reason);
            vm_request_stop(vm, VM_STOP_ERROR, -EIO);
            return -EIO;
        }
    }
    return 0;
}

static int kvm_get_state(struct vcpu *vcpu, struct cpu_state *s)
{
    struct kvm_vcpu *kv = vcpu->engine_data;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(kv->fd, KVM_GET_REGS, &regs) < 0 || ioctl(kv->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    kvm_state_from_kvm(s, &regs, &sregs);
    return 0;
}

static int kvm_set_state(struct vcpu *vcpu, const struct cpu_state *s)
{
    struct kvm_vcpu *kv = vcpu->engine_data;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(kv->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    kvm_state_to_kvm(s, &regs, &sregs);
    if (ioctl(kv->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(kv->fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

static int kvm_set_irq(struct vm *vm, unsigned gsi, int level)
{
    struct kvm_vm *k = vm->engine_data;
    struct kvm_irq_level l = { .irq = gsi, .level = (uint32_t)level };
    return ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct kvm_vm *k = vm->engine_data;
    struct kvm_msi m = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
                         .data = data };
    return ioctl(k->vm_fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
}

/* A pause parks our vCPU threads, but the host kernel's clocks go on: the
 * guest's kvmclock (Linux's clocksource under KVM), its TSC, and the in-kernel
 * PIT and LAPIC timers.  Like QEMU, put kvmclock back where the pause found
 * it, so guest time does not jump, and the TSCs too (a snapshot of the paused
 * machine saves those values); the in-kernel timers still follow host time
 * (docs/irq.md). */
static void kvm_vm_pause(struct vm *vm)
{
    struct kvm_vm *k = vm->engine_data;
    /* Every vCPU is parked: hold their TSCs (a snapshot taken now saves
     * these), and put them back at the resume. */
    for (int i = 0; i < vm->ncpus; i++) {
        struct kvm_vcpu *kv = vm->vcpus[i].engine_data;
        if (kv && !kv->tsc_frozen)
            kv->tsc_frozen = kvm_vcpu_get_tsc(kv, &kv->tsc_frozen_value) == 0;
    }
    k->clock_saved = ioctl(k->vm_fd, KVM_GET_CLOCK, &k->paused_clock) == 0;
    if (!k->clock_saved) {
        log_warn("KVM_GET_CLOCK failed: %s; the guest's clock will jump by the pause",
                 strerror(errno));
        return;
    }
    /* One guest time for the machine (what a snapshot saves): the later of
     * kvmclock and the guest clock, so neither goes backwards. */
    uint64_t g = guest_clock_now(&vm->clock);
    if (k->paused_clock.clock < g)
        k->paused_clock.clock = g;
    else
        guest_clock_set(&vm->clock, k->paused_clock.clock);
}

static void kvm_vm_resume(struct vm *vm)
{
    struct kvm_vm *k = vm->engine_data;
    for (int i = 0; i < vm->ncpus; i++) {
        struct kvm_vcpu *kv = vm->vcpus[i].engine_data;
        if (kv && kv->tsc_frozen) {
            kv->tsc_frozen = false;
            tsc_back(kv, i);
        }
    }
    if (!k->clock_saved)
        return;
    k->clock_saved = false;
    struct kvm_clock_data d;
    memset(&d, 0, sizeof(d));
    d.clock = k->paused_clock.clock;
    if (ioctl(k->vm_fd, KVM_SET_CLOCK, &d) < 0) {
        log_warn("KVM_SET_CLOCK failed: %s; the guest's clock jumps by the pause",
                 strerror(errno));
        return;
    }
    /* Tells the guest's kvmclock it was stopped by the host, so its
     * soft-lockup watchdog does not blame itself; EINVAL when the guest has
     * not enabled kvmclock, which is fine. */
    for (int i = 0; i < vm->ncpus; i++) {
        struct kvm_vcpu *kv = vm->vcpus[i].engine_data;
        if (kv)
            ioctl(kv->fd, KVM_KVMCLOCK_CTRL, 0);
    }
}

/* A ROM (the firmware at the top of 4 GiB): a read-only memory slot, so the
 * CPU fetches and reads it natively and only writes exit (as MMIO, which
 * the board's ROM device drops). */
static int kvm_map_rom(struct vm *vm, uint64_t gpa, void *host, uint64_t len)
{
    struct kvm_vm *k = vm->engine_data;
    if (ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
        return -ENOTSUP;
    struct kvm_userspace_memory_region r = {
        .slot = 2 + k->next_rom_slot,
        .flags = KVM_MEM_READONLY,
        .guest_phys_addr = gpa,
        .memory_size = len,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return -errno;
    k->next_rom_slot++;
    return 0;
}

const struct engine_ops engine_kvm = {
    .map_rom = kvm_map_rom,
    .name = "kvm",
    .probe = kvm_probe,
    .vm_init = kvm_vm_init,
    .vm_destroy = kvm_vm_destroy,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .get_state = kvm_get_state,
    .set_state = kvm_set_state,
    .save_vcpu = kvm_save_vcpu,
    .load_vcpu = kvm_load_vcpu,
    .save_irqchip = kvm_save_irqchip,
    .load_irqchip = kvm_load_irqchip,
    .vm_pause = kvm_vm_pause,
    .vm_resume = kvm_vm_resume,
    .dirty_start = kvm_dirty_start,
    .dirty_sync = kvm_dirty_sync,
    .dirty_stop = kvm_dirty_stop,
    .cpuid_get = kvm_cpuid_get,
    .cpuid_set = kvm_cpuid_set,
    .irqchip_in_engine = true,
    .set_irq = kvm_set_irq,
    .signal_msi = kvm_signal_msi,
};
