/* The `emu` engine: our software x86-64 CPU behind the engine interface.
 * One host thread per vCPU runs emu_execute() in slices; HLT and
 * wait-for-SIPI sleep on a condition variable until an interrupt, IPI or
 * stop request wakes them, so an idle guest costs no host CPU. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/emu/cache.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"
#include "engine/emu/lapic.h"
#include "engine/emu/state.h"
#include "engine/emu/system.h"
#include "engine/engine.h"
#include "lib/log.h"
#include "machine/vm.h"

/* Instructions per slice: long enough to amortize the loop, short enough
 * that interrupts and stop requests are seen within about a millisecond. */
#define EMU_SLICE 100000
/* A sleeping vCPU re-checks its interrupt sources this often even without a
 * wake-up, so a device that forgets to kick it only adds latency. */
#define EMU_IDLE_POLL_NS 10000000L

/* An event another engine was delivering when its state was saved (emu's
 * own are delivered within one instruction): delivered first on the next run. */
enum { HELD_NONE, HELD_EXCEPTION, HELD_NMI, HELD_INTERRUPT };
struct held_event {
    uint8_t kind, vector;
    bool has_error;
    uint32_t error;
};

struct emu_vcpu {
    struct emu_cpu cpu;          /* first: emu_vcpu_wake finds the rest from it */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    _Atomic int sipi_vector;
    struct held_event held;      /* only the vCPU's thread, or a paused machine, touches it */
    /* Between taking its events and sleeping or parking: the vCPU may store
     * to guest RAM (a dirty-log sync waits for it to take EMU_EV_DIRTY). */
    _Atomic bool active;
};

static pthread_once_t ops_once = PTHREAD_ONCE_INIT;

static void ops_init_once(void)
{
    emu_ops_init();
}

static struct emu_vcpu *vcpu_of_cpu(struct emu_cpu *c)
{
    if (!c->vcpu || !c->vcpu->engine_data)
        return NULL;
    return (struct emu_vcpu *)c->vcpu->engine_data;
}

struct emu_cpu *emu_cpu_of(struct vcpu *v)
{
    struct emu_vcpu *ev = v->engine_data;
    return ev ? &ev->cpu : NULL;
}

void emu_vcpu_wake(struct emu_cpu *c, uint32_t events)
{
    emu_post_events(c, events);
    struct emu_vcpu *ev = vcpu_of_cpu(c);
    if (!ev)
        return;
    pthread_mutex_lock(&ev->lock);
    pthread_cond_broadcast(&ev->cond);
    pthread_mutex_unlock(&ev->lock);
}

void emu_vcpu_sipi(struct emu_cpu *c, uint8_t vector)
{
    struct emu_vcpu *ev = vcpu_of_cpu(c);
    if (ev)
        atomic_store(&ev->sipi_vector, vector);
    emu_vcpu_wake(c, EMU_EV_SIPI);
}

static int emu_probe(struct err *e)
{
    (void)e;
    return 0;
}

/* A device wrote [off, off + len) of guest RAM (mem.h): a vCPU that keeps
 * code decoded from a page in the range starts a new epoch before its next
 * block, so that code is compared with RAM again (cache.h); a write into
 * pages no vCPU runs code from (nearly every disk read and packet) costs
 * nothing.  The device's stores come before the fence here and a vCPU
 * marks a page before it reads the bytes of a block in it
 * (emu_mmu_mark_code): either the vCPU read the new bytes or this sees
 * its mark. */
static void emu_dma_written(void *opaque, uint64_t off, uint64_t len)
{
    struct vm *vm = opaque;
    atomic_thread_fence(memory_order_seq_cst);
    for (int i = 0; i < vm->ncpus; i++) {
        struct emu_vcpu *ev = vm->vcpus[i].engine_data;
        if (ev && emu_mmu_holds_code(&ev->cpu, off, len))
            emu_post_events(&ev->cpu, EMU_EV_CODE);
    }
}

static int emu_vm_init(struct vm *vm, struct err *e)
{
    (void)e;
    pthread_once(&ops_once, ops_init_once);
    vm->engine_data = NULL;
    vm->mem.dma_written = emu_dma_written;
    vm->mem.dma_opaque = vm;
    return 0;
}

static void emu_vm_destroy(struct vm *vm)
{
    emu_cpuid_model_free(vm);
}

static int emu_vcpu_init(struct vcpu *v)
{
    struct vm *vm = v->vm;
    /* Half a MiB, most of it TLBs: on a huge page where the host allows,
     * one fault instead of 130 (emu_alloc_huge). */
    struct emu_vcpu *ev = emu_alloc_huge(sizeof(struct emu_vcpu), !vm->engine_cache_max);
    if (!ev)
        return -ENOMEM;
    struct emu_cpu *c = &ev->cpu;
    c->vm = vm;
    c->vcpu = v;
    c->id = v->id;
    c->mmu.ram = vm->mem.host;
    c->mmu.ram_low = vm->mem.low_size;
    c->mmu.ram_high = vm->mem.high_size;
    atomic_init(&c->events, 0);
    atomic_init(&ev->sipi_vector, -1);
    pthread_mutex_init(&ev->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ev->cond, &ca);
    pthread_condattr_destroy(&ca);
    v->engine_data = ev;

    int r = lapic_create(c, &c->lapic);
    if (r == -ENOSYS) {
        c->lapic = NULL;   /* no local APIC model: the 8259 drives the BSP */
    } else if (r < 0) {
        log_error("cannot create the local APIC of vCPU %d: %s", v->id, strerror(-r));
        v->engine_data = NULL;
        pthread_cond_destroy(&ev->cond);
        pthread_mutex_destroy(&ev->lock);
        free(ev);
        return r;
    }
    r = emu_mmu_init(c);
    if (r < 0) {
        log_error("out of memory for the code cache of vCPU %d: lower --memory or free host "
                  "memory", v->id);
        v->engine_data = NULL;
        lapic_destroy(c->lapic);
        pthread_cond_destroy(&ev->cond);
        pthread_mutex_destroy(&ev->lock);
        free(ev);
        return r;
    }
    emu_cpu_reset(c);
    emu_mtrr_power_on(c);
    /* Alone, this vCPU is the only writer of RAM that does not announce its
     * writes (devices raise EMU_EV_CODE): its slices need not end the epoch
     * (cache.h).  With others, the slice boundary stays one. */
    c->mmu.writes_announced = !c->mmu.smp;
    /* Application processors wait for INIT/SIPI from the boot processor. */
    c->state = v->id == 0 ? EMU_RUNNING : EMU_WAIT_SIPI;
    return 0;
}

static void emu_vcpu_destroy(struct vcpu *v)
{
    struct emu_vcpu *ev = v->engine_data;
    if (!ev)
        return;
    if (ev->cpu.lapic)
        lapic_destroy(ev->cpu.lapic);
    emu_mmu_destroy(&ev->cpu);
    pthread_cond_destroy(&ev->cond);
    pthread_mutex_destroy(&ev->lock);
    v->engine_data = NULL;
    free(ev);
}

/* INIT: the CPU resets and (an AP) waits for a startup IPI. */
static void handle_init(struct emu_vcpu *ev)
{
    struct emu_cpu *c = &ev->cpu;
    uint64_t apic_base = c->msr_apic_base;
    emu_cpu_reset(c);
    c->msr_apic_base = apic_base;
    ev->held.kind = HELD_NONE;
    /* A startup IPI may already be recorded: the guest sent it after this
     * INIT, and the thread only now gets to both.  Keep it. */
    c->state = c->id == 0 ? EMU_RUNNING : EMU_WAIT_SIPI;
}

/* SIPI: real mode at vector * 0x1000 (CS = vector << 8, IP = 0). */
static void handle_sipi(struct emu_vcpu *ev)
{
    struct emu_cpu *c = &ev->cpu;
    int vec = atomic_exchange(&ev->sipi_vector, -1);
    if (c->state != EMU_WAIT_SIPI || vec < 0)
        return;
    c->seg[S_CS].selector = (uint16_t)(vec << 8);
    c->seg[S_CS].base = (uint64_t)vec << 12;
    c->rip = c->next_rip = 0;
    c->state = EMU_RUNNING;
    emu_post_events(c, EMU_EV_FLUSH);
}

static void deliver_held(struct emu_vcpu *ev)
{
    struct emu_cpu *c = &ev->cpu;
    struct held_event h = ev->held;
    ev->held.kind = HELD_NONE;
    switch (h.kind) {
    case HELD_EXCEPTION:
        emu_deliver_exception(c, h.vector, h.has_error ? (int)h.error : EMU_NO_ERRCODE, false,
                              c->rip);
        break;
    case HELD_NMI:
        c->nmi_blocked = true;
        emu_deliver_exception(c, EXC_NMI, EMU_NO_ERRCODE, false, c->rip);
        break;
    case HELD_INTERRUPT:
        emu_deliver_exception(c, h.vector, EMU_NO_ERRCODE, false, c->rip);
        break;
    default:
        break;
    }
}

/* Sleeps until an event arrives, the machine stops, or the poll interval
 * passes. */
static void idle_wait(struct emu_vcpu *ev)
{
    struct emu_cpu *c = &ev->cpu;
    const uint32_t wake = EMU_EV_IRQ | EMU_EV_STOP | EMU_EV_INIT | EMU_EV_SIPI | EMU_EV_NMI;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += EMU_IDLE_POLL_NS;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ev->lock);
    while (!(atomic_load(&c->events) & wake) && !vm_stopping(c->vm)) {
        if (pthread_cond_timedwait(&ev->cond, &ev->lock, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&ev->lock);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *mode_name(enum emu_mode m)
{
    switch (m) {
    case MODE_REAL: return "real";
    case MODE_PROT16: return "prot16";
    case MODE_PROT32: return "prot32";
    case MODE_COMPAT: return "compat";
    case MODE_LONG64: return "long64";
    }
    return "?";
}

/* HOSTEL_EMU_STATS=1: one line a second per vCPU on stderr (speed, where
 * it runs), for finding where a guest is stuck and how fast emu is. */
static void print_stats(struct emu_cpu *c, uint64_t *last_ns, uint64_t *last_insns)
{
    uint64_t t = now_ns();
    if (t - *last_ns < 1000000000ULL)
        return;
    double mips = (double)(c->insn_count - *last_insns) * 1e3 / (double)(t - *last_ns);
    struct emu_jit_stats js;
    emu_jit_get_stats(c, &js);
    fprintf(stderr, "emu: vCPU %d %.1f MIPS, %llu insns, rip %016llx cpl %u %s%s; translated %llu blocks "
            "(%llu KiB, %llu flushes, %llu given up), %llu entries, %llu links, %llu handler calls\r\n", c->id,
            mips, (unsigned long long)c->insn_count, (unsigned long long)c->rip, c->cpl,
            mode_name(c->mode),
            c->state == EMU_HALTED ? " halted" : c->state == EMU_WAIT_SIPI ? " wait-sipi" : "",
            (unsigned long long)js.blocks, (unsigned long long)(js.code_bytes >> 10),
            (unsigned long long)js.flushes, (unsigned long long)js.failed, (unsigned long long)js.entries,
            (unsigned long long)js.links, (unsigned long long)js.handler_calls);
    const struct emu_mmu_stats *m = &c->mmu.st;
    fprintf(stderr, "emu: vCPU %d epochs: %llu execute, %llu event, %llu irq, %llu cr3, %llu flush, "
            "%llu invlpg, %llu code, %llu cpuid; %llu compares, %llu walks (%llu way-1 hits), %llu cr3 loads "
            "(%llu kept), %llu blocks decoded (%llu stale, %llu arena flushes)\r\n", c->id,
            (unsigned long long)m->epochs[EMU_EPOCH_EXECUTE], (unsigned long long)m->epochs[EMU_EPOCH_EVENT],
            (unsigned long long)m->epochs[EMU_EPOCH_IRQ], (unsigned long long)m->epochs[EMU_EPOCH_CR3],
            (unsigned long long)m->epochs[EMU_EPOCH_FLUSH], (unsigned long long)m->epochs[EMU_EPOCH_INVLPG],
            (unsigned long long)m->epochs[EMU_EPOCH_CODE], (unsigned long long)m->epochs[EMU_EPOCH_CPUID],
            (unsigned long long)m->compares, (unsigned long long)m->walks, (unsigned long long)m->way1_hits,
            (unsigned long long)m->cr3_loads, (unsigned long long)m->cr3_kept,
            (unsigned long long)(c->mmu.cache ? c->mmu.cache->builds : 0),
            (unsigned long long)(c->mmu.cache ? c->mmu.cache->stale : 0),
            (unsigned long long)(c->mmu.cache ? c->mmu.cache->flushes : 0));
    *last_ns = t;
    *last_insns = c->insn_count;
}

static int emu_vcpu_run(struct vcpu *v)
{
    struct emu_vcpu *ev = v->engine_data;
    struct emu_cpu *c = &ev->cpu;
    struct vm *vm = v->vm;
    const char *st = getenv("HOSTEL_EMU_STATS");
    bool stats = st && *st && strcmp(st, "0");
    uint64_t last_ns = now_ns(), last_insns = 0;

    /* A kick (pause, stop) leaves EMU_EV_STOP set; we are called again on resume. */
    atomic_fetch_and(&c->events, ~EMU_EV_STOP);
    while (!vm_stopping(vm)) {
        if (stats)
            print_stats(c, &last_ns, &last_insns);
        atomic_store(&ev->active, true);
        uint32_t e = atomic_fetch_and(&c->events,
                                      ~(EMU_EV_INIT | EMU_EV_SIPI | EMU_EV_IRQ | EMU_EV_DIRTY));
        if (e & EMU_EV_DIRTY)
            emu_tlb_drop_writes(c);   /* before any store: see emu_dirty_sync */
        if (e & EMU_EV_INIT)
            handle_init(ev);
        if (e & EMU_EV_SIPI)
            handle_sipi(ev);
        if (ev->held.kind != HELD_NONE)
            deliver_held(ev);
        if (c->state == EMU_WAIT_SIPI) {
            atomic_store(&ev->active, false);
            idle_wait(ev);
            continue;
        }
        emu_check_interrupts(c);
        if (c->state == EMU_HALTED) {
            atomic_store(&ev->active, false);
            idle_wait(ev);
            continue;
        }
        emu_execute(c, EMU_SLICE);
    }
    atomic_store(&ev->active, false);
    return 0;
}

/* ---- live migration -------------------------------------------------------- */

/* Stores to RAM mark vm->mem's bitmap themselves (mmu.c): a fill of a TLB
 * entry with write permission marks its page, so dropping every such
 * permission makes the next store to any page mark it again.  A vCPU
 * drops its own at its next instruction boundary (EMU_EV_DIRTY); this
 * returns once each vCPU has, or is asleep or parked (then it drops them
 * before it next runs a store). */
static int emu_dirty_sync(struct vm *vm, uint64_t *bitmap)
{
    (void)bitmap;   /* the marks are in vm->mem's bitmap, which the caller took */
    for (int i = 0; i < vm->ncpus; i++) {
        struct emu_cpu *c = emu_cpu_of(&vm->vcpus[i]);
        if (c)
            emu_post_events(c, EMU_EV_DIRTY);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < vm->ncpus; i++) {
        struct emu_vcpu *ev = vm->vcpus[i].engine_data;
        if (!ev)
            continue;
        while ((atomic_load(&ev->cpu.events) & EMU_EV_DIRTY) && atomic_load(&ev->active)) {
            struct timespec now, nap = { 0, 20000 };
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec > 5)
                return -ETIMEDOUT;   /* a vCPU stuck inside one instruction */
            nanosleep(&nap, NULL);
        }
    }
    return 0;
}

static int emu_dirty_start(struct vm *vm)
{
    return emu_dirty_sync(vm, NULL);
}

static void emu_vcpu_kick(struct vcpu *v)
{
    struct emu_cpu *c = emu_cpu_of(v);
    if (c)
        emu_vcpu_wake(c, EMU_EV_STOP);
}

static int emu_get_state(struct vcpu *v, struct cpu_state *out)
{
    struct emu_cpu *c = emu_cpu_of(v);
    if (!c)
        return -EINVAL;
    emu_cpu_get_state(c, out);
    return 0;
}

static int emu_set_state(struct vcpu *v, const struct cpu_state *in)
{
    struct emu_cpu *c = emu_cpu_of(v);
    if (!c)
        return -EINVAL;
    emu_cpu_set_state(c, in);
    c->state = EMU_RUNNING;
    return 0;
}

/* Like KVM_GET_MP_STATE, a save first takes an INIT or startup IPI that
 * arrived while the vCPU was parked: the format has no "INIT pending". */
static int emu_save_vcpu(struct vcpu *v, struct state_out *o, struct err *e)
{
    struct emu_vcpu *ev = v->engine_data;
    if (!ev)
        return err_set(e, -EINVAL, "vCPU %d does not exist", v->id);
    struct emu_cpu *c = &ev->cpu;
    uint32_t pending = atomic_fetch_and(&c->events, ~(EMU_EV_INIT | EMU_EV_SIPI));
    if (pending & EMU_EV_INIT)
        handle_init(ev);
    if (pending & EMU_EV_SIPI)
        handle_sipi(ev);
    struct vcpu_snap *s = malloc(sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory saving vCPU %d", v->id);
    emu_state_save(c, s);
    const struct held_event *h = &ev->held;
    s->exc_valid = h->kind == HELD_EXCEPTION;
    s->irq_valid = h->kind == HELD_INTERRUPT;
    s->nmi_injected = h->kind == HELD_NMI;
    if (s->exc_valid) {
        s->exc_vector = h->vector;
        s->exc_has_error = h->has_error;
        s->exc_error = h->has_error ? h->error : 0;
    } else if (s->irq_valid) {
        s->irq_vector = h->vector;
    }
    vcpu_snap_encode(s, o);
    free(s);
    return state_out_ok(o) ? 0 : err_set(e, -ENOMEM, "out of memory saving vCPU %d", v->id);
}

static int emu_load_vcpu(struct vcpu *v, struct state_in *in, struct err *e)
{
    struct emu_vcpu *ev = v->engine_data;
    if (!ev)
        return err_set(e, -EINVAL, "vCPU %d does not exist", v->id);
    struct emu_cpu *c = &ev->cpu;
    struct vcpu_snap *s = malloc(sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory loading vCPU %d", v->id);
    int r = vcpu_snap_decode(in, s, e);
    if (r == 0)
        r = emu_state_check(c, s, e);
    if (r < 0) {
        free(s);
        return err_wrap(e, "vCPU %d", v->id);
    }
    atomic_fetch_and(&c->events, ~(EMU_EV_INIT | EMU_EV_SIPI));
    atomic_store(&ev->sipi_vector, -1);
    emu_state_load(c, s);
    ev->held = (struct held_event){ HELD_NONE, 0, false, 0 };
    if (s->exc_valid)
        ev->held = (struct held_event){ HELD_EXCEPTION, s->exc_vector, s->exc_has_error,
                                        s->exc_error };
    else if (s->nmi_injected)
        ev->held.kind = HELD_NMI;
    else if (s->irq_valid)
        ev->held = (struct held_event){ HELD_INTERRUPT, s->irq_vector, false, 0 };
    free(s);
    return 0;
}

const struct engine_ops engine_emu = {
    .name = "emu",
    .probe = emu_probe,
    .vm_init = emu_vm_init,
    .vm_destroy = emu_vm_destroy,
    .vcpu_init = emu_vcpu_init,
    .vcpu_destroy = emu_vcpu_destroy,
    .vcpu_run = emu_vcpu_run,
    .vcpu_kick = emu_vcpu_kick,
    .get_state = emu_get_state,
    .set_state = emu_set_state,
    .save_vcpu = emu_save_vcpu,
    .load_vcpu = emu_load_vcpu,
    .dirty_start = emu_dirty_start,
    .dirty_sync = emu_dirty_sync,
    .cpuid_get = emu_cpuid_get,
    .cpuid_set = emu_cpuid_set,
    .irqchip_in_engine = false,
    .apic_deliver = lapic_deliver,
};
