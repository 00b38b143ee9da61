/* `hostel migrate` and `hostel receive`: live migration of a named machine
 * to another VMM, here or on another host, and between engines
 * (docs/migration.md).  The sender's VMM does the work; this follows its
 * progress through the control socket's events. */
#include "cli/migrate_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "board/migrate.h"
#include "cli/client.h"
#include "cli/spawn.h"
#include "lib/log.h"
#include "lib/size.h"
#include "mgmt/daemon.h"
#include "mgmt/library.h"
#include "mgmt/receive.h"

void migrate_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel migrate NAME [tcp:]HOST:PORT [options]   to a receiver elsewhere\n"
            "       hostel migrate NAME --engine kvm|emu [options]   to the other engine, here\n"
            "       hostel migrate NAME --cancel\n"
            "       hostel receive NAME --listen [tcp:]ADDR:PORT [--engine kvm|emu|auto]\n"
            "                      [--allow ADDR[/PREFIX]|any]... [--timeout SECONDS] [--wait]\n"
            "\n"
            "Moves a running machine to another VMM while it runs: its RAM is copied while\n"
            "the guest goes on, then the guest pauses for the rest (about --max-downtime)\n"
            "and runs on at the receiver, its network connections with it.  'hostel receive'\n"
            "waits for it (in another HOSTEL_HOME, or on another host); it accepts senders\n"
            "from loopback only unless --allow says more.  The stream is not encrypted.\n"
            "\n"
            "migrate options:\n"
            "  --max-downtime TIME   the longest pause to aim for (default 300ms)\n"
            "  --bandwidth SIZE      bytes per second at most, e.g. 200M (default: no limit)\n"
            "  --disks copy|shared   copy the disks to the receiver, or use them there by the\n"
            "                        same path (shared storage; the default; --engine: shared)\n"
            "  --no-auto-converge    fail rather than slow the guest down when it writes\n"
            "                        memory faster than it can be sent\n"
            "  --json                progress as JSON lines (the control socket's events)\n");
}

/* ---- following the sender's events ------------------------------------------------- */

static int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
    size_t have = 0;
    while (have < len - 1) {
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return -ETIMEDOUT;
        ssize_t n = read(fd, buf + have, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -ECONNRESET;
        if (buf[have] == '\n') {
            buf[have] = 0;
            return 0;
        }
        have++;
    }
    return -EMSGSIZE;
}

static void mib(json_t *v, char *buf, size_t len)
{
    snprintf(buf, len, "%.1f MiB", (double)json_integer_value(v) / 1048576.0);
}

static void print_progress(json_t *ev, bool tty, const char *name, const char *to)
{
    const char *phase = json_string_value(json_object_get(ev, "phase")) ?: "?";
    double total = (double)json_integer_value(json_object_get(ev, "ram_pages"));
    double sent = (double)json_integer_value(json_object_get(ev, "pages_sent"));
    long long dirty = json_integer_value(json_object_get(ev, "dirty_pages"));
    double rate = json_real_value(json_object_get(ev, "dirty_rate"));
    double exp = json_real_value(json_object_get(ev, "expected_downtime_ms"));
    char bytes[32];
    mib(json_object_get(ev, "bytes"), bytes, sizeof(bytes));
    int round = (int)json_integer_value(json_object_get(ev, "round"));
    int thr = (int)json_integer_value(json_object_get(ev, "throttle_pct"));
    char line[1400];
    if (!strcmp(phase, "ram") || !strcmp(phase, "disk"))
        snprintf(line, sizeof(line), "migrating %s to %s: round %d, %s, %3.0f%% of RAM sent, "
                 "%lld pages dirty (%.0f/s), expected downtime %.0f ms%s", name, to, round, bytes,
                 total ? 100 * (sent > total ? total : sent) / total : 0, dirty, rate, exp,
                 thr ? ", guest throttled" : "");
    else
        snprintf(line, sizeof(line), "migrating %s to %s: %s, %s sent", name, to, phase, bytes);
    if (tty)
        fprintf(stderr, "\r\033[K%s", line);
    else
        fprintf(stderr, "%s\n", line);
}

/* Reads events until the migration completes or fails; 0 or 1. */
static int follow(int sub, const char *name, const char *to, bool as_json)
{
    bool tty = isatty(2) && !as_json;
    char buf[65536];
    time_t last_line = 0;
    for (;;) {
        int r = read_line(sub, buf, sizeof(buf), 600000);
        if (r < 0) {
            if (tty)
                fprintf(stderr, "\n");
            log_error("lost the sender's progress (%s): see 'hostel info %s'",
                      r == -ETIMEDOUT ? "no event for 10 minutes" : "its VMM closed the socket",
                      name);
            return 1;
        }
        json_t *ev = json_loads(buf, 0, NULL);
        const char *kind = json_string_value(json_object_get(ev, "event"));
        if (!kind || strcmp(kind, "migration")) {
            json_decref(ev);
            continue;
        }
        if (as_json) {
            printf("%s\n", buf);
            fflush(stdout);
        }
        const char *phase = json_string_value(json_object_get(ev, "phase")) ?: "?";
        const char *message = json_string_value(json_object_get(ev, "message"));
        if (!strcmp(phase, "completed")) {
            if (tty)
                fprintf(stderr, "\r\033[K");
            char bytes[32];
            mib(json_object_get(ev, "bytes"), bytes, sizeof(bytes));
            if (!as_json)
                printf("migrated %s to %s in %.2f s: paused %.0f ms, %s sent, %d round%s\n",
                       name, to, json_real_value(json_object_get(ev, "elapsed_ms")) / 1000,
                       json_real_value(json_object_get(ev, "downtime_ms")), bytes,
                       (int)json_integer_value(json_object_get(ev, "round")),
                       json_integer_value(json_object_get(ev, "round")) == 1 ? "" : "s");
            json_decref(ev);
            return 0;
        }
        if (!strcmp(phase, "failed")) {
            if (tty)
                fprintf(stderr, "\n");
            log_error("migration of %s to %s failed: %s", name, to,
                      message ? message : "(see the VMM's vmm.log)");
            json_decref(ev);
            return 1;
        }
        if (message && !as_json) {
            if (tty)
                fprintf(stderr, "\r\033[K");
            fprintf(stderr, "hostel: %s\n", message);
        }
        if (!as_json && (tty || time(NULL) != last_line)) {
            print_progress(ev, tty, name, to);
            last_line = time(NULL);
        }
        json_decref(ev);
    }
}

static int subscribe(const char *name, int *fd_out)
{
    int fd;
    struct err e = ERR_INIT;
    if (client_connect(name, &fd) < 0) {
        log_error("machine '%s' is not running", name);
        return -1;
    }
    const char *req = "{\"op\":\"subscribe\"}\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        log_error("cannot talk to the VMM of '%s'", name);
        return -1;
    }
    json_t *reply = client_read_reply(fd, &e);
    bool ok = reply && json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    if (!ok) {
        close(fd);
        log_error("cannot follow the VMM of '%s': %s", name, e.msg[0] ? e.msg : "refused");
        return -1;
    }
    *fd_out = fd;
    return 0;
}

/* ---- a receiver VMM, detached (like hostel start) ---------------------------------- */

static int run_receiver(void *opaque, int ready_fd)
{
    return machine_daemon_receive(opaque, ready_fd);
}

static int spawn_receiver(const struct receive_opts *o, char *addr, size_t len)
{
    /* vmm.log in the machine's folder once there is one. */
    char dir[4096], log_path[4096];
    machine_path(o->name, "", dir, sizeof(dir));
    machine_path(o->name, "vmm.log", log_path, sizeof(log_path));
    struct stat sb;
    char buf[1024];
    ssize_t have = cli_spawn_daemon(stat(dir, &sb) == 0 ? log_path : NULL, -1, run_receiver,
                                    (void *)o, buf, sizeof(buf));
    if (have < 0)
        return -1;
    if (strncmp(buf, "ok ", 3)) {
        log_error("cannot receive machine '%s': %s", o->name,
                  cli_daemon_why(buf, have, "the receiving VMM died (see its vmm.log)"));
        return -1;
    }
    snprintf(addr, len, "%.390s", buf + 3);
    return 0;
}

/* ---- hostel migrate ------------------------------------------------------------------ */

int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "max-downtime", required_argument, NULL, 'd' },
        { "bandwidth", required_argument, NULL, 'b' },
        { "disks", required_argument, NULL, 'k' },
        { "engine", required_argument, NULL, 'e' },
        { "no-auto-converge", no_argument, NULL, 'n' },
        { "cancel", no_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    const char *downtime = NULL, *bandwidth = NULL, *disks = NULL, *engine = NULL;
    bool no_ac = false, cancel = false, as_json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': downtime = optarg; break;
        case 'b': bandwidth = optarg; break;
        case 'k': disks = optarg; break;
        case 'e': engine = optarg; break;
        case 'n': no_ac = true; break;
        case 'c': cancel = true; break;
        case 'j': as_json = true; break;
        case 'h': migrate_usage(stdout); return 0;
        default: return 1;
        }
    }
    int npos = argc - optind;
    if (npos < 1 || npos > 2 || (cancel && npos != 1) || (!cancel && !engine && npos != 2) ||
        (engine && npos != 1)) {
        migrate_usage(stderr);
        return 1;
    }
    const char *name = argv[optind];
    struct err e = ERR_INIT;
    if (machine_name_check(name, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (cancel) {
        json_t *r = client_call(name, json_pack("{s:s}", "op", "migrate_cancel"), &e);
        bool ok = r && json_is_true(json_object_get(r, "ok"));
        if (!ok)
            log_error("%s", r ? json_string_value(json_object_get(r, "error")) : e.msg);
        else
            printf("cancelled the migration of %s\n", name);
        json_decref(r);
        return ok ? 0 : 1;
    }
    if (disks && strcmp(disks, "copy") && strcmp(disks, "shared")) {
        log_error("--disks copy or --disks shared, not '%s'", disks);
        return 1;
    }
    uint64_t bw = 0;
    if (bandwidth && (parse_size(bandwidth, &bw) < 0 || !bw)) {
        log_error("--bandwidth '%s': bytes per second, such as 200M", bandwidth);
        return 1;
    }
    json_t *status = client_request(name, "status", &e);
    if (!status || !json_is_true(json_object_get(status, "ok"))) {
        log_error("machine '%s' is not running: only a running machine migrates", name);
        json_decref(status);
        return 1;
    }
    char to[400];
    if (engine) {
        const char *now = json_string_value(json_object_get(status, "engine"));
        if (strcmp(engine, "kvm") && strcmp(engine, "emu")) {
            log_error("--engine kvm or --engine emu, not '%s'", engine);
            json_decref(status);
            return 1;
        }
        if (now && !strcmp(now, engine)) {
            log_error("machine '%s' runs on %s already", name, engine);
            json_decref(status);
            return 1;
        }
        if (disks && !strcmp(disks, "copy")) {
            log_error("--engine moves the machine within its folder: its disks stay where "
                      "they are (no --disks copy)");
            json_decref(status);
            return 1;
        }
        /* A receiver for the same machine in its own folder, on a private socket. */
        char sock[4096];
        machine_path(name, "migrate.sock", sock, sizeof(sock));
        char listen[4200];
        snprintf(listen, sizeof(listen), "unix:%s", sock);
        struct receive_opts o = { .name = name, .listen = listen, .engine = engine,
                                  .same_folder = true, .timeout_s = 60 };
        mig_allow_default(&o.allow);
        if (spawn_receiver(&o, to, sizeof(to)) < 0) {
            json_decref(status);
            return 1;
        }
        disks = "shared";
    } else {
        snprintf(to, sizeof(to), "%s", argv[optind + 1]);
    }
    json_decref(status);
    int sub;
    if (subscribe(name, &sub) < 0)
        return 1;
    json_t *req = json_pack("{s:s, s:s}", "op", "migrate", "to", to);
    if (downtime)
        json_object_set_new(req, "max_downtime_ms", json_string(downtime));
    if (bw)
        json_object_set_new(req, "bandwidth", json_integer((json_int_t)bw));
    if (disks)
        json_object_set_new(req, "disks", json_string(disks));
    if (no_ac)
        json_object_set_new(req, "auto_converge", json_false());
    json_t *reply = client_call(name, req, &e);
    if (!reply || !json_is_true(json_object_get(reply, "ok"))) {
        log_error("cannot migrate %s: %s", name,
                  reply ? json_string_value(json_object_get(reply, "error")) : e.msg);
        json_decref(reply);
        close(sub);
        return 1;
    }
    json_decref(reply);
    int r = follow(sub, name, engine ? engine : to, as_json);
    close(sub);
    if (r == 0 && engine && !as_json)
        printf("%s runs on %s now\n", name, engine);
    return r;
}

/* ---- hostel receive ------------------------------------------------------------------ */

int cmd_receive(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "engine", required_argument, NULL, 'e' },
        { "allow", required_argument, NULL, 'a' },
        { "timeout", required_argument, NULL, 't' },
        { "wait", no_argument, NULL, 'w' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    struct receive_opts o = { .log_in_folder = true };
    bool wait = false, as_json = false, allow_given = false;
    struct err e = ERR_INIT;
    int c;
    optind = 1;
    memset(&o.allow, 0, sizeof(o.allow));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': o.listen = optarg; break;
        case 'e': o.engine = optarg; break;
        case 'a':
            allow_given = true;
            if (mig_allow_add(&o.allow, optarg, &e) < 0) {
                log_error("%s", e.msg);
                return 1;
            }
            break;
        case 't': o.timeout_s = atoi(optarg); break;
        case 'w': wait = true; break;
        case 'j': as_json = true; break;
        case 'h': migrate_usage(stdout); return 0;
        default: return 1;
        }
    }
    if (optind + 1 != argc || !o.listen) {
        migrate_usage(stderr);
        return 1;
    }
    o.name = argv[optind];
    if (machine_name_check(o.name, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (o.engine && strcmp(o.engine, "kvm") && strcmp(o.engine, "emu") &&
        strcmp(o.engine, "auto")) {
        log_error("--engine kvm, emu or auto, not '%s'", o.engine);
        return 1;
    }
    if (!allow_given)
        mig_allow_default(&o.allow);
    struct mig_addr a;
    if (mig_parse_addr(o.listen, &a, &e) < 0) {
        log_error("--listen %s", e.msg);
        return 1;
    }
    char addr[400];
    if (spawn_receiver(&o, addr, sizeof(addr)) < 0)
        return 1;
    if (as_json)
        printf("{\"name\":\"%s\",\"state\":\"incoming\",\"listen\":\"%s\"}\n", o.name, addr);
    else
        printf("waiting for machine %s on %s\n", o.name, addr);
    fflush(stdout);
    if (!wait)
        return 0;
    /* Until it runs here, or the receiver gives up. */
    for (;;) {
        char why[256];
        enum machine_state st = machine_state_get(o.name, why, sizeof(why));
        if (st == MACHINE_RUNNING) {
            if (as_json)
                printf("{\"name\":\"%s\",\"state\":\"running\"}\n", o.name);
            else
                printf("received %s: it runs here now\n", o.name);
            return 0;
        }
        if (st != MACHINE_INCOMING && st != MACHINE_STARTING && !machine_lock_held(o.name)) {
            if (as_json)
                printf("{\"name\":\"%s\",\"state\":\"failed\"}\n", o.name);
            log_error("no machine was received (see %s's vmm.log, if it is still there)",
                      o.name);
            return 1;
        }
        usleep(200000);
    }
}
