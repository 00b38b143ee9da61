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
#include "board/cloud_init.h"
#include "board/e820.h"
#include "board/firmware.h"
#include "board/jail_setup.h"
#include "lib/jail.h"
#include "board/layout.h"
#include "board/snapshot.h"
#include "boot/loader.h"
#include "engine/cpuid_model.h"
#include "host/chardev.h"
#include "host/console_hub.h"
#include "host/display.h"
#include "host/vnc.h"
#include "lib/cgroup.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "lib/size.h"
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
    bool firmware;           /* a firmware boot: watch for its "no bootable device" */
    const struct machine_spec *spec;
};

/* The firmware tried every device in the boot order and none booted: it
 * waits forever, so stop with what it said and where it looked. */
static bool firmware_gave_up(struct watchdog *w, const char *line)
{
    if (!w->firmware || strncmp(line, FIRMWARE_NO_BOOT_LINE, strlen(FIRMWARE_NO_BOOT_LINE)))
        return false;
    char order[64];
    spec_format_boot(w->spec, order, sizeof(order));
    log_error("the firmware found no bootable device (boot order %s%s%s%s): is the disk or ISO "
              "bootable (a boot loader such as GRUB installed)?", order,
              w->spec->ndisks ? "" : "; no --disk", w->spec->cdrom ? "" : "; no --cdrom",
              w->spec->tftp || w->spec->bootfile ? "" : "; no tftp=/bootfile= for network boot");
    vm_request_stop(w->vm, VM_STOP_ERROR, 0);
    return true;
}

static void watchdog_tick(void *opaque)
{
    struct watchdog *w = opaque;
    char line[160] = "";
    uint64_t last = chardev_last_output(w->console, line, sizeof(line));
    if (firmware_gave_up(w, line))
        return;
    if (w->spoke || w->secs <= 0)
        return;
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
    struct file_buf bios;        /* firmware boot: the BIOS image instead of a kernel */
    bool loaded;
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
    case VM_STOP_MIGRATED:
        log_info("the machine was migrated: it runs on the receiver now");
        return 0;
    default:
        return 1;
    }
}

static int enter_sandbox(const struct machine_spec *spec, const struct run_host *host,
                         struct err *e)
{
    char *report = host->isolation ? host->isolation->sandbox : NULL;
    size_t len = host->isolation ? sizeof(host->isolation->sandbox) : 0;
    if (sandbox_active())
        return 0;
    if (!spec->sandbox) {
        log_warn("the VMM runs WITHOUT its sandbox (--no-sandbox): a guest that breaks out of a "
                 "device model gets every right this process has");
        if (report)
            snprintf(report, len, "off (--no-sandbox)");
        return 0;
    }
    struct err le = ERR_INIT;
    int r = sandbox_enter(&le);
    if (r == -ENOTSUP) {
        log_warn("the VMM runs WITHOUT its sandbox: %s", le.msg);
        if (report)
            snprintf(report, len, "off: %.180s", le.msg);
        return 0;
    }
    if (r < 0)
        return err_set(e, r, "%s", le.msg);
    log_info("sandbox: seccomp allow-list of %d system calls on every thread (fewer on vCPU "
             "threads), no new privileges", sandbox_allowed_count());
    if (report)
        snprintf(report, len, "on (seccomp: %d system calls allowed, fewer on vCPU threads, the "
                 "rest kill the VMM; no new privileges)", sandbox_allowed_count());
    sandbox_test_hook();
    return 0;
}

/* --cpu-limit and --memory-limit: this process into a cgroup of its own,
 * before guest RAM is allocated (so it is charged there).  What cannot be
 * enforced is said, loudly, and the machine runs anyway. */
static void apply_limits(const struct machine_spec *spec, const struct run_host *host,
                         struct cgroup_place *cg)
{
    struct cgroup_limits lim = { .cpu_milli = spec->cpu_limit_milli,
                                 .memory_max = spec->memory_limit };
    char cpu[700], mem[700], what[64];
    if (!lim.cpu_milli && !lim.memory_max)
        return;
    cgroup_confine(host->name, &lim, cg, cpu, mem, sizeof(cpu));
    if (lim.cpu_milli) {
        spec_format_cpu_limit(lim.cpu_milli, what, sizeof(what));
        if (!strncmp(cpu, "not", 3))
            log_warn("--cpu-limit %s is %s", what, cpu);
        else
            log_info("--cpu-limit %s %s", what, cpu);
        if (host->isolation)
            snprintf(host->isolation->cpu_limit, sizeof(host->isolation->cpu_limit), "%s: %s",
                     what, cpu);
    }
    if (lim.memory_max) {
        format_size(lim.memory_max, what, sizeof(what));
        if (!strncmp(mem, "not", 3))
            log_warn("--memory-limit %s is %s", what, mem);
        else
            log_info("--memory-limit %s %s", what, mem);
        if (host->isolation)
            snprintf(host->isolation->memory_limit, sizeof(host->isolation->memory_limit),
                     "%s: %s", what, mem);
    }
}

/* One boot of the machine, from empty RAM to its stop reason (>= 0), or
 * -errno with e set when it could not start. */
static int boot_once(const struct machine_spec *spec, const struct engine_ops *engine,
                     const struct loaded_files *files, const struct run_host *host,
                     const struct snapshot_file *restore, int ram_fd, bool incoming,
                     struct chardev *console, struct display *display, int *status,
                     struct err *e)
{
    struct vm *vm;
    int r = vm_create_with_ram(spec->cpus, spec->memory, restore ? ram_fd : -1, engine, &vm, e);
    if (r < 0)
        return r;
    /* Under --memory-limit the engine's caches fit in what the limit leaves
     * beside guest RAM and the rest of the VMM (SPEC_VMM_OVERHEAD at least,
     * checked by the spec): they flush sooner rather than push the machine
     * past its cgroup's limit. */
    if (spec->memory_limit)
        vm->engine_cache_max = spec->memory_limit - spec->memory - SPEC_VMM_OTHER;
    struct board_host bh = { .console = console, .bound = host->bound,
                             .bios = files->bios.data, .bios_len = files->bios.len,
                             .ram_restored = restore != NULL, .defer_forwards = incoming,
                             .display = display };
    r = board_create(vm, spec, &bh, e);
    if (r < 0) {
        err_wrap(e, "could not create the board's devices");
        goto out;
    }
    if (spec->cpu && strcmp(spec->cpu, "host")) {
        /* A named model: portable (every engine can show it, so the machine
         * can move between them), v2 or v3 (an x86-64 level). */
        struct cpuid_model *m = calloc(1, sizeof(*m));
        r = !m ? err_set(e, -ENOMEM, "out of memory")
               : !engine->cpuid_set ? err_set(e, -ENOTSUP, "engine %s has one CPU model only",
                                              engine->name)
               : engine_named_cpuid(spec->cpus, spec->cpu, m);
        if (r == 0)
            r = engine->cpuid_set(vm, m, e);
        else if (!err_is_set(e))
            err_set(e, r, "cannot build the CPU model: %s", strerror(-r));
        free(m);
        if (r < 0) {
            err_wrap(e, "--cpu %s", spec->cpu);
            goto out;
        }
    }
    if (incoming) {
        /* Live migration: the sender fills RAM and every model; this
         * returns once the guest is to run here (board/migrate.h).  The
         * stream is the network's: it is parsed inside the sandbox. */
        r = enter_sandbox(spec, host, e);
        if (r == 0)
            r = host->incoming(host->incoming_opaque, vm, e);
        if (r < 0)
            goto out;
        goto run;
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
    if (files->bios.data) {
        /* The firmware builds the rest from fw_cfg; every vCPU starts at the
         * reset vector (APs wait for the firmware's INIT/SIPI). */
        r = vm_create_vcpus(vm, e);
        if (r < 0)
            goto out;
        goto run;
    }
    struct acpi_config acfg = { .ncpus = vm->ncpus, .hpet = spec->hpet };
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
    /* The guest learns its shares' tags from hostel.shares= (the tiny and
     * debian appliances mount each at /mnt/TAG). */
    char cmdline[2048];
    if (spec->nshares) {
        int n = snprintf(cmdline, sizeof(cmdline), "%s%shostel.shares=",
                         spec->cmdline ? spec->cmdline : "", spec->cmdline ? " " : "");
        for (int i = 0; i < spec->nshares && n > 0 && n < (int)sizeof(cmdline); i++)
            n += snprintf(cmdline + n, sizeof(cmdline) - (size_t)n, "%s%s", i ? "," : "",
                          spec->shares[i].tag);
    }
    struct boot_input in = {
        .e820 = map, .e820_count = nmap, .acpi_rsdp = LAYOUT_ACPI,
        .kernel = files->kernel.data, .kernel_len = files->kernel.len,
        .initrd = files->initrd.data, .initrd_len = files->initrd.len,
        .cmdline = spec->nshares ? cmdline : spec->cmdline,
        .kernel_name = spec->kernel, .initrd_name = spec->initrd,
        .vga_text = spec_has_display(spec),
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
run:
    /* Everything is built and open: from here on the process makes only
     * the system calls a running machine needs (a reboot rebuilds the board
     * inside the sandbox; docs/security.md). */
    r = enter_sandbox(spec, host, e);
    if (r < 0)
        goto out;
    struct err start_err = ERR_INIT;
    if (vm_start(vm, &start_err) < 0)
        log_error("%s", start_err.msg);   /* the machine stops at once; we still report */
    if (host->hooks && host->hooks->booted)
        host->hooks->booted(host->hooks->opaque, vm);
    struct watchdog wd = { .vm = vm, .console = console, .boot_ns = now_ns(),
                           .secs = spec->watchdog_s, .firmware = files->bios.data != NULL,
                           .spec = spec };
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
static int make_scratch_disk(uint64_t size, const struct run_host *host, char **path,
                             struct err *e)
{
    /* A named machine's own folder: its VMM may be in its root jail, where
     * that folder is the one place it can write. */
    const char *dir = host->folder ? host->folder
                    : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
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

/* The firmware, or the kernel and initrd, once per run (a reboot reuses them). */
static int load_files(const struct machine_spec *spec, struct loaded_files *files, struct err *e)
{
    if (files->loaded)
        return 0;
    if (spec_firmware(spec) == SPEC_FW_BIOS) {
        char bios_path[4096];
        int r = firmware_load_bios(&files->bios, bios_path, sizeof(bios_path), e);
        if (r < 0)
            return r;
        log_info("firmware %s (%zu KiB)", bios_path, files->bios.len >> 10);
    } else {
        int r = file_read_all(spec->kernel, &files->kernel);
        if (r < 0)
            return err_set(e, r, "cannot read kernel %s: %s", spec->kernel, strerror(-r));
    }
    if (spec->initrd) {
        int r = file_read_all(spec->initrd, &files->initrd);
        if (r < 0) {
            file_buf_free(&files->kernel);
            file_buf_free(&files->bios);
            return err_set(e, r, "cannot read initrd %s: %s", spec->initrd, strerror(-r));
        }
    }
    files->loaded = true;
    return 0;
}

/* --cloud-init / --ssh-key: the NoCloud seed, in a deleted temporary file
 * like a blank disk, attached as one more (read-only) disk. */
static int add_seed_disk(struct machine_spec *spec, const struct run_host *host, struct err *e)
{
    if (spec->ndisks == SPEC_MAX_DISKS)
        return err_set(e, -EINVAL, "--cloud-init/--ssh-key: the seed needs a disk slot, and the "
                       "machine has %d disks already", SPEC_MAX_DISKS);
    char *path;
    int r = make_scratch_disk(0, host, &path, e);
    if (r < 0)
        return err_wrap(e, "the cloud-init seed");
    int fd = atoi(path + strlen("/proc/self/fd/"));
    struct seed_identity who = { .hostname = host->name, .id = host->id };
    r = cloud_init_write_seed(spec, &who, fd, e);
    if (r < 0) {
        free(path);
        return r;
    }
    spec->disks[spec->ndisks++] = (struct spec_disk){ .path = path, .format = BLOCK_FORMAT_RAW,
                                                      .readonly = true, .seed = true };
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

/* --display vnc: the screen and its VNC server, kept across reboots. */
/* --display's password, read from its file (root's, and not shown in the
 * root jail: kept open before it).  "" when none was given. */
static int read_display_password(const struct machine_spec *spec, char *password, size_t len,
                                 struct err *e)
{
    struct spec_display sd;
    password[0] = 0;
    int r = spec_parse_display(spec->display, &sd, e);
    if (r < 0 || !sd.password_file[0])
        return r;
    /* In the root jail (a named machine's daemon enters it first), the fd
     * kept before it (board/jail_setup.c). */
    int fd = jail_open(sd.password_file, O_RDONLY);
    ssize_t got = fd < 0 ? -1 : pread(fd, password, len - 1, 0);
    int en = errno;
    if (fd >= 0)
        close(fd);
    if (got < 0)
        return err_set(e, -en, "--display: cannot read the password file %s: %s",
                       sd.password_file, strerror(en));
    password[got] = 0;
    password[strcspn(password, "\r\n")] = 0;
    if (!password[0])
        return err_set(e, -EINVAL, "--display: the password file %s is empty",
                       sd.password_file);
    return 0;
}

static int start_display(const struct machine_spec *spec, const struct run_host *host,
                         const char *password, struct display **d, struct vnc_server **vnc,
                         struct err *e)
{
    struct spec_display sd;
    int r = spec_parse_display(spec->display, &sd, e);
    if (r < 0)
        return r;
    r = display_create(d);
    if (r < 0)
        return err_set(e, r, "out of memory for the display");
    struct vnc_options vo = { .addr = sd.addr, .port = sd.port,
                              .password = password[0] ? password : NULL };
    r = vnc_server_start(*d, &vo, vnc, e);
    if (r < 0) {
        display_destroy(*d);
        *d = NULL;
        return r;
    }
    fprintf(stderr, "hostel: display: VNC on %s\n", vnc_server_address(*vnc));
    if (host->hooks && host->hooks->display)
        host->hooks->display(host->hooks->opaque, vnc_server_address(*vnc));
    return 0;
}

static void stop_display(const struct run_host *host, struct display *d, struct vnc_server *vnc)
{
    if (vnc && host->hooks && host->hooks->display)
        host->hooks->display(host->hooks->opaque, NULL);
    vnc_server_stop(vnc);
    display_destroy(d);
}

int machine_run(const struct machine_spec *in_spec, const struct run_host *host, int *status,
                struct err *e)
{
    struct display *display = NULL;
    struct vnc_server *vnc = NULL;
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
    struct cgroup_place cg = { 0 };
    apply_limits(&spec, host, &cg);
    for (int i = 0; i < spec.ndisks; i++) {
        struct spec_disk *d = &spec.disks[i];
        if (d->path)
            continue;
        if (d->format == BLOCK_FORMAT_QCOW2) {
            r = err_set(e, -EINVAL, "--disk size=: blank disks are raw; leave out format=qcow2");
            goto out;
        }
        r = make_scratch_disk(d->size, host, &d->path, e);
        if (r < 0)
            goto out;
        d->format = BLOCK_FORMAT_RAW;
    }
    if (spec.cloud_init || spec.ssh_key) {
        r = add_seed_disk(&spec, host, e);
        if (r < 0)
            goto out;
    }
    /* A restore has the kernel in its RAM already: the files are read when
     * the guest first reboots (a restore must not wait for them, nor fail
     * when they moved). The firmware's ROM is part of the board, read now. */
    if ((!host->restore_state || spec_firmware(&spec) == SPEC_FW_BIOS) &&
        (r = load_files(&spec, &files, e)) < 0)
        goto out;
    r = engine_select(spec.engine, &engine, why, sizeof(why), e);
    if (r < 0)
        goto out;
    log_info("engine %s: %s", engine->name, why);
    /* A restore's files, opened before the jail (they lie anywhere). */
    struct snapshot_file snap;
    bool restoring = false;
    int ram_fd = -1;
    if (host->restore_state) {
        r = machine_snapshot_open(host->restore_state, host->restore_ram, &spec, &snap, e);
        if (r == 0 && (ram_fd = open(host->restore_ram, O_RDONLY | O_CLOEXEC)) < 0) {
            r = err_set(e, -errno, "cannot open %s: %s", host->restore_ram, strerror(errno));
            snap_free(&snap);
        }
        if (r < 0)
            goto out;
        restoring = true;
    }
    char display_password[256] = "";
    if (spec_has_display(&spec) &&
        (r = read_display_password(&spec, display_password, sizeof(display_password), e)) < 0)
        goto out_restore;
    /* As root: into the jail now, while this is the only thread (console
     * input, backends and devices make more).  A migration receiver's
     * daemon entered it already, once it knew the machine. */
    if (!host->incoming) {
        struct jail_extra x = { .save_folder = host->save_folder };
        r = machine_jail(&spec, host->folder, &x,
                         host->isolation ? host->isolation->jail : NULL,
                         host->isolation ? sizeof(host->isolation->jail) : 0, e);
        if (r < 0)
            goto out_restore;
    }
    if (host->hooks && host->hooks->confined &&
        (r = host->hooks->confined(host->hooks->opaque, e)) < 0)
        goto out_restore;
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
        goto out_restore;
    if (spec_has_display(&spec))
        r = start_display(&spec, host, display_password, &display, &vnc, e);
    explicit_bzero(display_password, sizeof(display_password));
    if (r < 0) {
        chardev_close(console);
        goto out_restore;
    }
    bool incoming = host->incoming != NULL;
    for (;;) {
        if (!restoring && !files.loaded && (r = load_files(&spec, &files, e)) < 0)
            break;
        r = boot_once(&spec, engine, &files, host, restoring ? &snap : NULL, ram_fd, incoming,
                      console, display, status, e);
        incoming = false;
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
    stop_display(host, display, vnc);
    vm_stats_print();
out_restore:
    if (restoring) {
        snap_free(&snap);
        close(ram_fd);
    }
out:
    cgroup_leave(&cg);
    file_buf_free(&files.kernel);
    file_buf_free(&files.initrd);
    file_buf_free(&files.bios);
    spec_free(&spec);
    return r < 0 ? r : 0;
}
