/* A machine's life from its spec: build it, run its vCPUs, wait for the
 * reason it stops, report, tear down, and restart on a guest reboot. */
#include "board/run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "board/acpi.h"
#include "board/board.h"
#include "board/e820.h"
#include "board/layout.h"
#include "board/snapshot.h"
#include "boot/loader.h"
#include "host/chardev.h"
#include "host/console_hub.h"
#include "lib/file.h"
#include "lib/log.h"
#include "machine/vm.h"

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
 * sitting at a prompt is probably stuck; say where, once. */
struct watchdog {
    struct vm *vm;
    struct chardev *console;
    uint64_t boot_ns;
    int secs;
    bool spoke;
};

static void watchdog_tick(void *opaque)
{
    struct watchdog *w = opaque;
    if (w->spoke || w->secs <= 0)
        return;
    char line[160] = "";
    uint64_t last = chardev_last_output(w->console, line, sizeof(line));
    uint64_t ref = last > w->boot_ns ? last : w->boot_ns;
    uint64_t resumed = guest_clock_resumed_at(&w->vm->clock);
    if (resumed > ref)
        ref = resumed;   /* a pause is not the guest's silence */
    if (now_ns() - ref < (uint64_t)w->secs * 1000000000ull || looks_like_prompt(line))
        return;
    w->spoke = true;
    log_warn("the guest has printed nothing for %d s; it may be hung (--watchdog 0 silences "
             "this)", w->secs);
    if (last)
        log_warn("its last console line: \"%s\"", line);
    else
        log_warn("it has printed nothing at all: is its console on ttyS0 (console=ttyS0)?");
    for (int i = 0; i < w->vm->ncpus; i++) {
        struct cpu_state st;
        if (w->vm->engine->get_state(&w->vm->vcpus[i], &st) == 0)
            cpu_state_print(&st, i, stderr);
    }
}

struct loaded_files {
    struct file_buf kernel, initrd;
};

/* The exit status for a stop reason, with the message -v shows. */
static int stop_status(struct vm *vm, enum vm_stop why)
{
    switch (why) {
    case VM_STOP_POWEROFF:
        log_info("guest powered off");
        return 0;
    case VM_STOP_DEBUG_EXIT: {
        int status = (vm->stop_status << 1 | 1) & 0xff;
        log_info("guest wrote %d to the debug-exit port: exit status %d", vm->stop_status,
                 status);
        return status;
    }
    case VM_STOP_RESET:
        log_info("guest asked for a reset");
        return 0;
    case VM_STOP_TRIPLE_FAULT: {
        struct cpu_state s;
        int cpu = vm->stop_status;
        log_error("vCPU %d triple-faulted; the machine is stopped", cpu);
        if (cpu >= 0 && cpu < vm->ncpus && vm->engine->get_state(&vm->vcpus[cpu], &s) == 0)
            cpu_state_print(&s, cpu, stderr);
        return 2;
    }
    case VM_STOP_QUIT:
        log_info("quit from the console");
        return 0;
    default:
        return 1;
    }
}

/* One boot of the machine, from empty RAM to its stop reason (>= 0), or
 * -errno with e set when it could not start. */
static int boot_once(const struct machine_spec *spec, const struct engine_ops *engine,
                     const struct loaded_files *files, const struct run_host *host,
                     const struct snapshot_file *restore, int ram_fd,
                     struct chardev *console, int *status, struct err *e)
{
    struct vm *vm;
    int r = vm_create_with_ram(spec->cpus, spec->memory, restore ? ram_fd : -1, engine, &vm, e);
    if (r < 0)
        return r;
    struct board_host bh = { .console = console, .bound = host->bound };
    r = board_create(vm, spec, &bh, e);
    if (r < 0) {
        err_wrap(e, "could not create the board's devices");
        goto out;
    }
    if (restore) {
        /* RAM holds the guest as it was; the tables and kernel with it. */
        r = vm_create_vcpus(vm, e);
        if (r == 0)
            r = machine_snapshot_load(vm, restore, false, e);
        if (r < 0) {
            err_wrap(e, "cannot restore %s", host->restore_state);
            goto out;
        }
        log_info("restored from %s", host->restore_state);
        goto run;
    }
    struct acpi_config acfg = { .ncpus = vm->ncpus };
    r = acpi_build(&vm->mem, &acfg, e);
    if (r < 0) {
        err_wrap(e, "ACPI tables");
        goto out;
    }
    struct e820_entry map[32];
    int nmap = e820_build(&vm->mem, map, 32);
    if (nmap < 0) {
        r = err_set(e, nmap, "cannot build the e820 memory map: %s", strerror(-nmap));
        goto out;
    }
    struct cpu_state bsp;
    memset(&bsp, 0, sizeof(bsp));
    struct boot_input in = {
        .e820 = map, .e820_count = nmap, .acpi_rsdp = LAYOUT_ACPI,
        .kernel = files->kernel.data, .kernel_len = files->kernel.len,
        .initrd = files->initrd.data, .initrd_len = files->initrd.len,
        .cmdline = spec->cmdline, .kernel_name = spec->kernel, .initrd_name = spec->initrd,
    };
    r = load_kernel(&vm->mem, &in, &bsp, e);
    if (r < 0) {
        err_wrap(e, "%s", spec->kernel);
        goto out;
    }
    r = vm_create_vcpus(vm, e);
    if (r < 0)
        goto out;
    r = engine->set_state(&vm->vcpus[0], &bsp);
    if (r < 0) {
        err_set(e, r, "cannot set the boot CPU's state: %s", strerror(-r));
        goto out;
    }
run:;
    struct err start_err = ERR_INIT;
    if (vm_start(vm, &start_err) < 0)
        log_error("%s", start_err.msg);   /* the machine stops at once; we still report */
    if (host->hooks && host->hooks->booted)
        host->hooks->booted(host->hooks->opaque, vm);
    struct watchdog wd = { .vm = vm, .console = console, .boot_ns = now_ns(),
                           .secs = spec->watchdog_s };
    enum vm_stop stop = vm_wait(vm, watchdog_tick, &wd);
    if (host->hooks && host->hooks->stopping)
        host->hooks->stopping(host->hooks->opaque, vm);
    *status = stop_status(vm, stop);
    r = (int)stop;
out:
    /* Devices first: their threads (PIT, timers) may still deliver to vCPUs. */
    board_destroy(vm);
    vm_destroy(vm);
    return r;
}

/* --disk size=SIZE on `hostel run`: a sparse raw file that is unlinked at
 * once and reached through /proc/self/fd, so nothing is left behind however
 * hostel ends.  The fd stays open until exit. */
static int make_scratch_disk(uint64_t size, char **path, struct err *e)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/hostel-disk-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return err_set(e, -errno, "--disk size=: cannot create a temporary file in %s: %s "
                       "(set TMPDIR)", dir, strerror(errno));
    unlink(tmpl);
    if (ftruncate(fd, (off_t)size) < 0) {
        int r = -errno;
        close(fd);
        return err_set(e, r, "--disk size=: cannot make a %llu-byte file in %s: %s",
                       (unsigned long long)size, dir, strerror(-r));
    }
    if (asprintf(path, "/proc/self/fd/%d", fd) < 0) {
        close(fd);
        return err_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

static int load_files(const struct machine_spec *spec, struct loaded_files *files, struct err *e)
{
    int r = file_read_all(spec->kernel, &files->kernel);
    if (r < 0)
        return err_set(e, r, "cannot read kernel %s: %s", spec->kernel, strerror(-r));
    if (spec->initrd) {
        r = file_read_all(spec->initrd, &files->initrd);
        if (r < 0) {
            file_buf_free(&files->kernel);
            return err_set(e, r, "cannot read initrd %s: %s", spec->initrd, strerror(-r));
        }
    }
    return 0;
}

static void hub_output(void *opaque, const uint8_t *buf, size_t len)
{
    console_hub_output(opaque, buf, len);
}

static void hub_input(void *opaque, const uint8_t *buf, size_t len)
{
    chardev_push_input(opaque, buf, len);
}

int machine_run(const struct machine_spec *in_spec, const struct run_host *host, int *status,
                struct err *e)
{
    static const struct run_host no_host;
    const struct engine_ops *engine;
    struct machine_spec spec;
    struct loaded_files files;
    struct chardev *console = NULL;
    char why[700] = "";
    int r;

    *status = 1;
    if (!host)
        host = &no_host;
    memset(&files, 0, sizeof(files));
    r = spec_check(in_spec, e);
    if (r < 0)
        return r;
    spec_copy(&spec, in_spec);
    for (int i = 0; i < spec.ndisks; i++) {
        struct spec_disk *d = &spec.disks[i];
        if (d->path)
            continue;
        if (d->format == BLOCK_FORMAT_QCOW2) {
            r = err_set(e, -EINVAL, "--disk size=: blank disks are raw; leave out format=qcow2");
            goto out;
        }
        r = make_scratch_disk(d->size, &d->path, e);
        if (r < 0)
            goto out;
        d->format = BLOCK_FORMAT_RAW;
    }
    /* A restore has the kernel in its RAM already: the files are read when
     * the guest first reboots (a restore must not wait for them, nor fail
     * when they moved). */
    if (!host->restore_state && (r = load_files(&spec, &files, e)) < 0)
        goto out;
    r = engine_select(spec.engine, &engine, why, sizeof(why), e);
    if (r < 0)
        goto out;
    log_info("engine %s: %s", engine->name, why);
    log_info("%d vCPU%s, %llu MiB of memory", spec.cpus, spec.cpus > 1 ? "s" : "",
             (unsigned long long)(spec.memory >> 20));

    bool use_hub = host->hub && !strcmp(spec.serial, "stdio");
    if (use_hub) {
        r = chardev_open_callback(hub_output, host->hub, &console);
        if (r == 0)
            console_hub_set_input(host->hub, hub_input, console);
        else
            err_set(e, r, "serial console: %s", strerror(-r));
    } else {
        r = chardev_open(spec.serial, &console, e);
        if (r < 0)
            err_wrap(e, "serial console");
    }
    if (r < 0)
        goto out;
    struct snapshot_file snap;
    bool restoring = false;
    int ram_fd = -1;
    if (host->restore_state) {
        r = machine_snapshot_open(host->restore_state, host->restore_ram, &spec, &snap, e);
        if (r == 0 && (ram_fd = open(host->restore_ram, O_RDONLY | O_CLOEXEC)) < 0) {
            r = err_set(e, -errno, "cannot open %s: %s", host->restore_ram, strerror(errno));
            snap_free(&snap);
        }
        if (r < 0) {
            chardev_close(console);
            goto out;
        }
        restoring = true;
    }
    for (;;) {
        if (!restoring && !files.kernel.data && (r = load_files(&spec, &files, e)) < 0)
            break;
        r = boot_once(&spec, engine, &files, host, restoring ? &snap : NULL, ram_fd, console,
                      status, e);
        if (restoring) {
            restoring = false;
            snap_free(&snap);
            close(ram_fd);
            ram_fd = -1;
        }
        if (r != VM_STOP_RESET || spec.no_reboot)
            break;
        log_info("rebooting");
    }
    if (use_hub)
        console_hub_set_input(host->hub, NULL, NULL);
    chardev_close(console);
    vm_stats_print();
out:
    file_buf_free(&files.kernel);
    file_buf_free(&files.initrd);
    spec_free(&spec);
    return r < 0 ? r : 0;
}
