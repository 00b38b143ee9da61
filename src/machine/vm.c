/* A machine's life: build it from the config, run its vCPU threads, wait for
 * the reason it stops, report, tear down, and restart on a guest reboot. */
#include "machine/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hw/irqchip.h"
#include "lib/file.h"
#include "lib/log.h"
#include "board/acpi.h"
#include "board/board.h"
#include "host/chardev.h"
#include "host/console_hub.h"
#include "boot/loader.h"

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

void vm_set_irq(struct vm *vm, unsigned gsi, int level)
{
    if (vm->engine->irqchip_in_engine)
        vm->engine->set_irq(vm, gsi, level);
    else if (vm->irqchip)
        irqchip_set_irq(vm->irqchip, gsi, level);
}

void vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    if (vm->engine->irqchip_in_engine)
        vm->engine->signal_msi(vm, addr, data);
    else if (vm->irqchip)
        irqchip_msi(vm->irqchip, addr, data);
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
static void stats_print(void)
{
    if (!getenv("HOSTEL_STATS"))
        return;
    FILE *f = fopen("/proc/self/smaps", "r");
    long total_kb = 0, guest_kb = 0;
    bool in_guest = false;
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        long kb;
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in_guest = strstr(line, "hostel-ram") != NULL;
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
    pthread_mutex_lock(&vm->stop_lock);
    if (atomic_load(&vm->stop) != VM_RUNNING) {
        pthread_mutex_unlock(&vm->stop_lock);
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
    pthread_mutex_unlock(&vm->stop_lock);
    return 0;
}

int vm_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->stop_lock);
    if (guest_clock_paused(&vm->clock)) {
        if (vm->engine->vm_resume)
            vm->engine->vm_resume(vm);
        guest_clock_resume(&vm->clock);
    }
    atomic_store(&vm->pause_req, false);
    pthread_cond_broadcast(&vm->stop_cond);
    pthread_mutex_unlock(&vm->stop_lock);
    return 0;
}

bool vm_paused(struct vm *vm)
{
    return atomic_load(&vm->pause_req);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *vcpu = arg;
    struct vm *vm = vcpu->vm;
    if (vcpu->id == 0 && stats_first_run_ms < 0)
        stats_first_run_ms = ms_since_start();
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
        while (atomic_load(&vm->pause_req) && atomic_load(&vm->stop) == VM_RUNNING)
            pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
        vm->parked--;
        pthread_mutex_unlock(&vm->stop_lock);
    }
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static bool looks_like_prompt(const char *line)
{
    size_t n = strlen(line);
    return n >= 2 && line[n - 1] == ' ' && strchr("#$>:", line[n - 2]);
}

/* The hang watchdog: a guest that has printed nothing for a while and is not
 * sitting at a prompt is probably stuck; say where, once.  Returns true once
 * it has spoken. */
static bool watchdog_check(struct vm *vm, struct chardev *console, uint64_t boot_ns, int secs)
{
    char line[160] = "";
    uint64_t last = chardev_last_output(console, line, sizeof(line));
    uint64_t ref = last > boot_ns ? last : boot_ns;
    uint64_t resumed = guest_clock_resumed_at(&vm->clock);
    if (resumed > ref)
        ref = resumed;   /* a pause is not the guest's silence */
    if (now_ns() - ref < (uint64_t)secs * 1000000000ull || looks_like_prompt(line))
        return false;
    log_warn("the guest has printed nothing for %d s; it may be hung (--watchdog 0 silences "
             "this)", secs);
    if (last)
        log_warn("its last console line: \"%s\"", line);
    else
        log_warn("it has printed nothing at all: is its console on ttyS0 (console=ttyS0)?");
    for (int i = 0; i < vm->ncpus; i++) {
        struct cpu_state st;
        if (vm->engine->get_state(&vm->vcpus[i], &st) == 0)
            cpu_state_print(&st, i, stderr);
    }
    return true;
}

struct loaded_files {
    struct file_buf kernel, initrd;
};

/* One boot of the machine, from empty RAM to its stop reason. */
static int vm_boot_once(const struct vm_config *cfg, const struct engine_ops *engine,
                        const struct loaded_files *files, struct chardev *console,
                        int *status)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    char err[512] = "";
    bool board_done = false;
    int created = 0;
    int r;

    if (!vm)
        return -ENOMEM;
    vm->cfg = cfg;
    vm->engine = engine;
    vm->ncpus = cfg->cpus;
    vm->console = console;
    atomic_init(&vm->stop, VM_RUNNING);
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_cond_init(&vm->stop_cond, NULL);
    bus_init(&vm->pio, "port I/O");
    bus_init(&vm->mmio, "MMIO");
    for (int i = 0; i < vm->ncpus; i++) {
        vm->vcpus[i].vm = vm;
        vm->vcpus[i].id = i;
    }

    r = mem_init(&vm->mem, cfg->memory);
    if (r < 0) {
        log_error("cannot allocate %llu bytes of guest memory: %s",
                  (unsigned long long)cfg->memory, strerror(-r));
        goto out_free;
    }
    r = engine->vm_init(vm);
    if (r < 0) {
        log_error("engine %s could not create the machine: %s", engine->name, strerror(-r));
        goto out_mem;
    }
    r = board_create(vm);
    if (r < 0) {
        log_error("could not create the board's devices: %s", strerror(-r));
        goto out_engine;
    }
    struct acpi_config acfg = { .ncpus = vm->ncpus };
    r = acpi_build(&vm->mem, &acfg, err, sizeof(err));
    if (r < 0) {
        log_error("ACPI tables: %s", err);
        goto out_board;
    }

    struct cpu_state bsp;
    memset(&bsp, 0, sizeof(bsp));
    struct boot_input in = {
        .kernel = files->kernel.data, .kernel_len = files->kernel.len,
        .initrd = files->initrd.data, .initrd_len = files->initrd.len,
        .cmdline = cfg->cmdline, .kernel_name = cfg->kernel, .initrd_name = cfg->initrd,
    };
    r = load_kernel(&vm->mem, &in, &bsp, err, sizeof(err));
    if (r < 0) {
        log_error("%s: %s", cfg->kernel, err);
        goto out_board;
    }

    for (; created < vm->ncpus; created++) {
        r = engine->vcpu_init(&vm->vcpus[created]);
        if (r < 0) {
            log_error("cannot create vCPU %d: %s", created, strerror(-r));
            goto out_vcpus;
        }
    }
    r = engine->set_state(&vm->vcpus[0], &bsp);
    if (r < 0) {
        log_error("cannot set the boot CPU's state: %s", strerror(-r));
        goto out_vcpus;
    }

    int started = 0;
    vm->running_threads = vm->ncpus;
    for (; started < vm->ncpus; started++) {
        r = pthread_create(&vm->vcpus[started].thread, NULL, vcpu_thread, &vm->vcpus[started]);
        if (r) {
            r = -r;
            log_error("cannot start the thread of vCPU %d: %s", started, strerror(-r));
            pthread_mutex_lock(&vm->stop_lock);
            vm->running_threads = started;
            pthread_mutex_unlock(&vm->stop_lock);
            vm_request_stop(vm, VM_STOP_ERROR, r);
            break;
        }
    }
    if (cfg->hooks && cfg->hooks->booted)
        cfg->hooks->booted(cfg->hooks->opaque, vm);

    pthread_mutex_lock(&vm->stop_lock);
    uint64_t boot_ns = now_ns();
    bool warned = false;
    while (atomic_load(&vm->stop) == VM_RUNNING) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts);
        if (!warned && cfg->watchdog_s > 0 && !vm_paused(vm) &&
            atomic_load(&vm->stop) == VM_RUNNING) {
            pthread_mutex_unlock(&vm->stop_lock);
            warned = watchdog_check(vm, console, boot_ns, cfg->watchdog_s);
            pthread_mutex_lock(&vm->stop_lock);
        }
    }
    pthread_mutex_unlock(&vm->stop_lock);
    kick_all(vm);
    for (int i = 0; i < started; i++)
        pthread_join(vm->vcpus[i].thread, NULL);
    if (cfg->hooks && cfg->hooks->stopping)
        cfg->hooks->stopping(cfg->hooks->opaque, vm);

    enum vm_stop why = (enum vm_stop)atomic_load(&vm->stop);
    switch (why) {
    case VM_STOP_POWEROFF:
        *status = 0;
        log_info("guest powered off");
        break;
    case VM_STOP_DEBUG_EXIT:
        *status = (vm->stop_status << 1 | 1) & 0xff;
        log_info("guest wrote %d to the debug-exit port: exit status %d", vm->stop_status,
                 *status);
        break;
    case VM_STOP_RESET:
        *status = 0;
        log_info("guest asked for a reset");
        break;
    case VM_STOP_TRIPLE_FAULT: {
        struct cpu_state s;
        int cpu = vm->stop_status;
        log_error("vCPU %d triple-faulted; the machine is stopped", cpu);
        if (cpu >= 0 && cpu < vm->ncpus && engine->get_state(&vm->vcpus[cpu], &s) == 0)
            cpu_state_print(&s, cpu, stderr);
        *status = 2;
        break;
    }
    case VM_STOP_QUIT:
        *status = 0;
        log_info("quit from the console");
        break;
    default:
        *status = 1;
        break;
    }
    r = (int)why;

out_vcpus:
    /* Devices first: their threads (PIT, timers) may still deliver to vCPUs. */
    board_destroy(vm);
    board_done = true;
    for (int i = created - 1; i >= 0; i--)
        engine->vcpu_destroy(&vm->vcpus[i]);
out_board:
    if (!board_done)
        board_destroy(vm);
out_engine:
    engine->vm_destroy(vm);
out_mem:
    mem_destroy(&vm->mem);
out_free:
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    pthread_mutex_destroy(&vm->stop_lock);
    pthread_cond_destroy(&vm->stop_cond);
    free(vm);
    return r;
}

/* A detached machine's console: the chardev talks to the console hub. */
static void hub_output(void *opaque, const uint8_t *buf, size_t len)
{
    console_hub_output(opaque, buf, len);
}

static void hub_input(void *opaque, const uint8_t *buf, size_t len)
{
    chardev_push_input(opaque, buf, len);
}

int vm_run(const struct vm_config *cfg, int *status)
{
    const struct engine_ops *engine;
    char why[256] = "";
    struct loaded_files files;
    memset(&files, 0, sizeof(files));
    struct chardev *console = NULL;
    char err[512] = "";
    int r;

    *status = 1;
    if (cfg->cpus < 1 || cfg->cpus > VM_MAX_CPUS) {
        log_error("--cpus %d is out of range (1 to %d)", cfg->cpus, VM_MAX_CPUS);
        return -EINVAL;
    }
    r = file_read_all(cfg->kernel, &files.kernel);
    if (r < 0) {
        log_error("cannot read kernel %s: %s", cfg->kernel, strerror(-r));
        return r;
    }
    if (cfg->initrd) {
        r = file_read_all(cfg->initrd, &files.initrd);
        if (r < 0) {
            log_error("cannot read initrd %s: %s", cfg->initrd, strerror(-r));
            goto out;
        }
    }
    r = engine_select(cfg->engine, &engine, why, sizeof(why));
    if (r < 0) {
        log_error("%s", why);
        goto out;
    }
    log_info("engine %s: %s", engine->name, why);
    log_info("%d vCPU%s, %llu MiB of memory", cfg->cpus, cfg->cpus > 1 ? "s" : "",
             (unsigned long long)(cfg->memory >> 20));

    if (cfg->console_hub) {
        r = chardev_open_callback(hub_output, cfg->console_hub, &console);
        if (r == 0)
            console_hub_set_input(cfg->console_hub, hub_input, console);
        else
            snprintf(err, sizeof(err), "%s", strerror(-r));
    } else {
        r = chardev_open(NULL, cfg->serial, &console, err, sizeof(err));
    }
    if (r < 0) {
        log_error("serial console: %s", err);
        goto out;
    }
    for (;;) {
        r = vm_boot_once(cfg, engine, &files, console, status);
        if (r != VM_STOP_RESET || cfg->no_reboot)
            break;
        log_info("rebooting");
    }
    if (cfg->console_hub)
        console_hub_set_input(cfg->console_hub, NULL, NULL);
    chardev_close(console);
    stats_print();
out:
    file_buf_free(&files.kernel);
    file_buf_free(&files.initrd);
    return r < 0 ? r : 0;
}
