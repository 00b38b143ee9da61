/* A machine's runtime: guest RAM and buses, the engine's machine, the vCPU
 * threads, pause and resume, and stopping.  What devices it has and how it
 * boots is the board's business (board/run.c). */
#include "machine/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/jail.h"
#include "lib/sandbox.h"

static void kick_all(struct vm *vm)
{
    for (int i = 0; i < vm->ncpus; i++)
        if (vm->vcpus[i].engine_data && vm->engine->vcpu_kick)
            vm->engine->vcpu_kick(&vm->vcpus[i]);
}

void vm_request_stop(struct vm *vm, enum vm_stop why, int status)
{
    pthread_mutex_lock(&vm->stop_lock);
    int expected = VM_RUNNING;
    if (atomic_compare_exchange_strong(&vm->stop, &expected, (int)why))
        vm->stop_status = status;
    pthread_cond_broadcast(&vm->stop_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    kick_all(vm);
}

/* HOSTEL_STATS=1: print start-up time and hostel's own memory at exit, for
 * bench/startup.  The start is when main() began. */
static struct timespec stats_t0;
static double stats_first_run_ms = -1;

void vm_stats_mark_start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &stats_t0);
}

static double ms_since_start(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - stats_t0.tv_sec) * 1e3 + (double)(t.tv_nsec - stats_t0.tv_nsec) / 1e6;
}

/* Resident memory of hostel itself: all of it minus the guest RAM mapping. */
void vm_stats_print(void)
{
    if (!getenv("HOSTEL_STATS"))
        return;
    /* In the root jail, through the fd kept before it (no /proc there). */
    int fd = jail_open("/proc/self/smaps", O_RDONLY);
    if (fd >= 0)
        lseek(fd, 0, SEEK_SET);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0)
        close(fd);
    long total_kb = 0, guest_kb = 0;
    bool in_guest = false;
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        long kb;
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in_guest = mem_is_guest_mapping(lo, hi);
        else if (sscanf(line, "Rss: %ld kB", &kb) == 1) {
            total_kb += kb;
            if (in_guest)
                guest_kb += kb;
        }
    }
    if (f)
        fclose(f);
    fprintf(stderr, "hostel-stats: first_vcpu_run_ms=%.3f rss_kib=%ld guest_ram_rss_kib=%ld "
            "own_rss_kib=%ld\n", stats_first_run_ms, total_kb, guest_kb, total_kb - guest_kb);
}

int vm_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->quiesce_lock);
    pthread_mutex_lock(&vm->stop_lock);
    if (atomic_load(&vm->stop) != VM_RUNNING) {
        pthread_mutex_unlock(&vm->stop_lock);
        pthread_mutex_unlock(&vm->quiesce_lock);
        return -ESRCH;
    }
    atomic_store(&vm->pause_req, true);
    pthread_mutex_unlock(&vm->stop_lock);
    kick_all(vm);
    pthread_mutex_lock(&vm->stop_lock);
    while (vm->parked < vm->running_threads && atomic_load(&vm->stop) == VM_RUNNING)
        pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
    /* Every vCPU is parked: guest time stops too, so timers neither run on
     * nor fire in a burst at resume, and the guest sees no jump.  (The RTC
     * keeps the host's wall-clock time, as a real one would.)  Under
     * stop_lock, so a racing resume cannot slip between clock and engine. */
    if (atomic_load(&vm->pause_req) && atomic_load(&vm->stop) == VM_RUNNING &&
        !guest_clock_paused(&vm->clock)) {
        guest_clock_pause(&vm->clock);
        if (vm->engine->vm_pause)
            vm->engine->vm_pause(vm);
    }
    bool paused = atomic_load(&vm->pause_req) && atomic_load(&vm->stop) == VM_RUNNING;
    pthread_mutex_unlock(&vm->stop_lock);
    /* Then the devices' threads, outside stop_lock (a device finishing its
     * request may ask the machine to stop, which takes it). */
    if (paused && vm->quiesce && !vm->quiesced) {
        vm->quiesce(vm, true);
        vm->quiesced = true;
    }
    pthread_mutex_unlock(&vm->quiesce_lock);
    return 0;
}

int vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->quiesce_lock);
    if (vm->quiesced) {
        vm->quiesce(vm, false);
        vm->quiesced = false;
    }
    pthread_mutex_lock(&vm->stop_lock);
    if (guest_clock_paused(&vm->clock)) {
        if (vm->engine->vm_resume)
            vm->engine->vm_resume(vm);
        guest_clock_resume(&vm->clock);
    }
    atomic_store(&vm->pause_req, false);
    pthread_cond_broadcast(&vm->stop_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    pthread_mutex_unlock(&vm->quiesce_lock);
    return 0;
}

bool vm_paused(struct vm *vm)
{
    return atomic_load(&vm->pause_req);
}

void vm_throttle(struct vm *vm, bool park)
{
    pthread_mutex_lock(&vm->stop_lock);
    atomic_store(&vm->throttle, park);
    if (!park)
        pthread_cond_broadcast(&vm->stop_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    if (park)
        kick_all(vm);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    if (vcpu->id == 0 && stats_first_run_ms < 0)
        stats_first_run_ms = ms_since_start();
    /* The guest's register accesses reach device models on this thread
     * first: it gets a narrower list than the rest of the process. */
    struct err se = ERR_INIT;
    if (sandbox_enter_vcpu(vcpu->id, &se) < 0) {
        log_error("%s", se.msg);
        vm_request_stop(vm, VM_STOP_ERROR, se.code);
    }
    for (;;) {
        int r = vm->engine->vcpu_run(vcpu);
        if (r < 0 && atomic_load(&vm->stop) == VM_RUNNING) {
            log_error("vCPU %d stopped: %s", vcpu->id, strerror(-r));
            vm_request_stop(vm, VM_STOP_ERROR, r);
        }
        pthread_mutex_lock(&vm->stop_lock);
        if (atomic_load(&vm->stop) != VM_RUNNING) {
            vm->running_threads--;
            pthread_cond_broadcast(&vm->stop_cond);
            pthread_mutex_unlock(&vm->stop_lock);
            return NULL;
        }
        /* Paused: park until resumed or stopped. */
        vm->parked++;
        pthread_cond_broadcast(&vm->stop_cond);
        while ((atomic_load(&vm->pause_req) || atomic_load(&vm->throttle)) &&
               atomic_load(&vm->stop) == VM_RUNNING)
            pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
        vm->parked--;
        pthread_mutex_unlock(&vm->stop_lock);
    }
}


static void stop_request_vm(void *opaque, enum vm_stop why, int status)
{
    vm_request_stop(opaque, why, status);
}

struct stop_request vm_stop_request(struct vm *vm)
{
    return (struct stop_request){ .stop = stop_request_vm, .opaque = vm };
}

/* The buses, locks and the struct itself: what vm_create makes first. */
static void vm_free_shell(struct vm *vm)
{
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    pthread_mutex_destroy(&vm->stop_lock);
    pthread_mutex_destroy(&vm->quiesce_lock);
    pthread_cond_destroy(&vm->stop_cond);
    free(vm);
}

int vm_create(int ncpus, uint64_t memory, const struct engine_ops *engine, struct vm **out,
              struct err *e)
{
    return vm_create_with_ram(ncpus, memory, -1, engine, out, e);
}

int vm_create_with_ram(int ncpus, uint64_t memory, int ram_fd, const struct engine_ops *engine,
                       struct vm **out, struct err *e)
{
    if (ncpus < 1 || ncpus > VM_MAX_CPUS)
        return err_set(e, -EINVAL, "--cpus %d is out of range (1 to %d)", ncpus, VM_MAX_CPUS);
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return err_set(e, -ENOMEM, "out of memory for a machine");
    vm->engine = engine;
    vm->ncpus = ncpus;
    atomic_init(&vm->stop, VM_RUNNING);
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_mutex_init(&vm->quiesce_lock, NULL);
    pthread_cond_init(&vm->stop_cond, NULL);
    bus_init(&vm->pio, "port I/O");
    bus_init(&vm->mmio, "MMIO");
    for (int i = 0; i < vm->ncpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].id = i;
    }
    int r = ram_fd >= 0 ? mem_init_from_file(&vm->mem, memory, ram_fd) : mem_init(&vm->mem, memory);
    if (r < 0) {
        err_set(e, r, ram_fd >= 0 ? "cannot map the saved guest RAM (%llu bytes): %s"
                                  : "cannot allocate %llu bytes of guest memory: %s",
                (unsigned long long)memory, strerror(-r));
        goto fail;
    }
    r = engine->vm_init(vm, e);
    if (r < 0) {
        err_wrap(e, "engine %s could not create the machine", engine->name);
        mem_destroy(&vm->mem);
        goto fail;
    }
    *out = vm;
    return 0;
fail:
    vm_free_shell(vm);
    return r;
}

static int vcpus_created(const struct vm *vm)
{
    int n = 0;
    while (n < vm->ncpus && vm->vcpus[n].engine_data)
        n++;
    return n;
}

int vm_create_vcpus(struct vm *vm, struct err *e)
{
    for (int i = vcpus_created(vm); i < vm->ncpus; i++) {
        int r = vm->engine->vcpu_init(&vm->vcpus[i]);
        if (r < 0)
            return err_set(e, r, "cannot create vCPU %d: %s", i, strerror(-r));
    }
    return 0;
}

int vm_start(struct vm *vm, struct err *e)
{
    pthread_mutex_lock(&vm->stop_lock);
    vm->running_threads = vm->ncpus;
    pthread_mutex_unlock(&vm->stop_lock);
    for (; vm->started < vm->ncpus; vm->started++) {
        int r = pthread_create(&vm->vcpus[vm->started].thread, NULL, vcpu_thread,
                               &vm->vcpus[vm->started]);
        if (r) {
            pthread_mutex_lock(&vm->stop_lock);
            vm->running_threads = vm->started;
            pthread_mutex_unlock(&vm->stop_lock);
            vm_request_stop(vm, VM_STOP_ERROR, -r);
            return err_set(e, -r, "cannot start the thread of vCPU %d: %s", vm->started,
                           strerror(r));
        }
    }
    return 0;
}

enum vm_stop vm_wait(struct vm *vm, void (*tick)(void *opaque), void *opaque)
{
    pthread_mutex_lock(&vm->stop_lock);
    while (atomic_load(&vm->stop) == VM_RUNNING) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts);
        if (tick && !vm_paused(vm) && atomic_load(&vm->stop) == VM_RUNNING) {
            pthread_mutex_unlock(&vm->stop_lock);
            tick(opaque);
            pthread_mutex_lock(&vm->stop_lock);
        }
    }
    pthread_mutex_unlock(&vm->stop_lock);
    kick_all(vm);
    for (int i = 0; i < vm->started; i++)
        pthread_join(vm->vcpus[i].thread, NULL);
    vm->started = 0;
    return (enum vm_stop)atomic_load(&vm->stop);
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    for (int i = vcpus_created(vm) - 1; i >= 0; i--)
        vm->engine->vcpu_destroy(&vm->vcpus[i]);
    vm->engine->vm_destroy(vm);
    mem_destroy(&vm->mem);
    vm_free_shell(vm);
}
