/* `hostel cluster`: machines declared in one file on a switch of their own,
 * and faults between them.  up reads the file, starts the cluster daemon
 * (the switch), creates and starts the machines and waits for each one's
 * prompt; the fault commands and status go to the daemon's control socket;
 * down stops everything, also when machines or the daemon already died. */
#include "cli/cluster_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/machines.h"
#include "cli/spawn.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/size.h"
#include "mgmt/appliance.h"
#include "mgmt/cluster.h"
#include "mgmt/library.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hostel cluster COMMAND ...\n"
            "\n"
            "Machines declared in one file on a private switch of their own, with\n"
            "faults you inject between them (docs/clusters.md).\n"
            "\n"
            "  up FILE|NAME [--timeout S] [--no-wait]\n"
            "                 create and start every machine of the cluster file (YAML or\n"
            "                 JSON) and wait until each reached its prompt; NAME starts a\n"
            "                 cluster that is down again\n"
            "  ls [--json]    clusters, their state and machines\n"
            "  status NAME [--json]\n"
            "                 machines (state, address, memory), faults and link counters\n"
            "  partition NAME MACHINE [--from A,B]\n"
            "                 cut MACHINE off from A and B (default: every other machine),\n"
            "                 both ways\n"
            "  degrade NAME MACHINE [--from A,B] [--loss P%%] [--delay D] [--jitter J]\n"
            "                 [--rate R] [--duplicate P%%]\n"
            "                 what MACHINE sends (to A and B, default: to every other\n"
            "                 machine) is lost, delayed (100ms, jitter 20ms), limited\n"
            "                 (1mbit) or duplicated, as netem on its interface would\n"
            "  heal NAME [MACHINE]\n"
            "                 remove every fault (or MACHINE's)\n"
            "  down NAME [--rm] [--force] [--timeout S]\n"
            "                 stop every machine (power button, then kill after S seconds,\n"
            "                 default 30; --force: kill at once) and the switch; --rm also\n"
            "                 deletes the machines and the cluster\n");
}

/* ---- helpers ---------------------------------------------------------------- */

static bool is_live(enum machine_state s)
{
    return s == MACHINE_RUNNING || s == MACHINE_PAUSED || s == MACHINE_STARTING;
}


static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *call(const char *name, json_t *req)
{
    struct err e = ERR_INIT;
    json_t *r = cluster_call(name, req, &e);
    if (!r) {
        log_error("%s", e.msg);
        return NULL;
    }
    if (!json_is_true(json_object_get(r, "ok"))) {
        log_error("cluster %s: %s", name, json_string_value(json_object_get(r, "error")) ?: "?");
        json_decref(r);
        return NULL;
    }
    return r;
}

static long rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int machine_pid(const char *name)
{
    char path[4096], text[64] = "";
    int pid = 0;
    if (machine_path(name, "state", path, sizeof(path)) < 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fgets(text, sizeof(text), f) && sscanf(text, "running %d", &pid) != 1 &&
        sscanf(text, "starting %d", &pid) != 1 && sscanf(text, "paused %d", &pid) != 1)
        pid = 0;
    fclose(f);
    return pid;
}

/* Memory a machine of the cluster gets: its own setting or the appliance's. */
static uint64_t machine_memory(const struct cluster_machine *m)
{
    if (m->memory)
        return m->memory;
    struct machine_config mc;
    uint64_t mem = 0;
    if (machine_config_load(m->name, &mc, NULL) == 0) {
        mem = mc.spec.memory;
        machine_config_free(&mc);
    }
    return mem;
}

static uint64_t host_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kib = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return (uint64_t)kib << 10;
}

/* ---- the daemon ---------------------------------------------------------------- */

/* Starts the cluster daemon detached (its stderr in daemon.log) and waits
 * for its "ok".  0, or 1 after saying why. */
static int run_switch(void *opaque, int ready_fd)
{
    return cluster_daemon_run(opaque, ready_fd);
}

static int start_daemon(const char *name)
{
    char log_path[4096];
    cluster_path(name, "daemon.log", log_path, sizeof(log_path));
    char buf[1400];
    /* -v: joins, leases and faults go to daemon.log. */
    ssize_t have = cli_spawn_daemon(log_path, 1, run_switch, (void *)name, buf, sizeof(buf));
    if (have < 0)
        return 1;
    if (strcmp(buf, "ok")) {
        log_error("cluster '%s': the switch did not start: %s", name,
                  cli_daemon_why(buf, have, "its daemon died (see daemon.log in the cluster's folder)"));
        return 1;
    }
    return 0;
}

/* ---- up ---------------------------------------------------------------------------- */

struct watch {
    char *ready;                     /* console text, or NULL: the DHCP lease */
    off_t log_from;                  /* console.log's size before this start */
    bool done;
    double at;
};

static off_t file_size(const char *name, const char *file)
{
    char path[4096];
    struct stat st;
    if (machine_path(name, file, path, sizeof(path)) < 0 || stat(path, &st) < 0)
        return 0;
    return st.st_size;
}

static bool log_has(const char *name, off_t from, const char *text)
{
    char path[4096];
    if (machine_path(name, "console.log", path, sizeof(path)) < 0)
        return false;
    struct file_buf b;
    if (file_read_all(path, &b) < 0)
        return false;
    if ((size_t)from > b.len)
        from = 0;                    /* rotated since */
    bool found = memmem(b.data + from, b.len - (size_t)from, text, strlen(text)) != NULL;
    file_buf_free(&b);
    return found;
}

static bool leased(json_t *status, const char *machine)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(status, "nodes"), i, n)
        if (!strcasecmp(json_string_value(json_object_get(n, "name")) ?: "", machine))
            return json_is_true(json_object_get(n, "lease"));
    return false;
}

/* Waits until every machine reached its prompt (or its lease). */
static int wait_ready(const struct cluster_def *d, struct watch *w, double t0, int timeout_s)
{
    int ready = 0, shown = -1;
    for (;;) {
        json_t *st = NULL;
        for (int i = 0; i < d->nmachines; i++) {
            const struct cluster_machine *m = &d->machines[i];
            if (w[i].done)
                continue;
            char why[256];
            enum machine_state s = machine_state_get(m->name, why, sizeof(why));
            if (!is_live(s)) {
                json_decref(st);
                log_error("machine '%s' is %s%s%s before it was ready (see 'hostel logs %s')",
                          m->name, machine_state_name(s), why[0] ? ": " : "", why, m->name);
                return 1;
            }
            bool ok;
            if (w[i].ready) {
                ok = log_has(m->name, w[i].log_from, w[i].ready);
            } else {
                if (!st)
                    st = cluster_call(d->name, json_pack("{s:s}", "op", "status"), NULL);
                ok = st && leased(st, m->name);
            }
            if (ok) {
                w[i].done = true;
                w[i].at = now_s() - t0;
                ready++;
            }
        }
        json_decref(st);
        if (ready != shown) {
            fprintf(stderr, "hostel: cluster %s: %d/%d machines ready (%.1f s)\n", d->name, ready,
                    d->nmachines, now_s() - t0);
            shown = ready;
        }
        if (ready == d->nmachines)
            return 0;
        if (now_s() - t0 > timeout_s) {
            char list[1024] = "";
            for (int i = 0; i < d->nmachines; i++)
                if (!w[i].done && strlen(list) < sizeof(list) - 80)
                    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                             list[0] ? ", " : "", d->machines[i].name);
            log_error("cluster %s: not ready after %d s: %s (they run on; see 'hostel logs "
                      "NAME', or 'hostel cluster down %s')", d->name, timeout_s, list, d->name);
            return 1;
        }
        usleep(250000);
    }
}

/* The definition as cluster.json keeps it, for comparing two of them. */
static char *def_text(const struct cluster_def *d)
{
    json_t *o = cluster_def_to_json(d);
    json_object_del(o, "source");
    char *t = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    return t;
}

static int create_machine(const struct cluster_def *d, const struct cluster_machine *m)
{
    char mac[32], mem[32], cpus[16], disk[32], net[128];
    const char *argv[24];
    int n = 0;
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m->mac[0], m->mac[1],
             m->mac[2], m->mac[3], m->mac[4], m->mac[5]);
    snprintf(net, sizeof(net), "switch=%s", d->name);
    argv[n++] = "create";
    argv[n++] = m->name;
    argv[n++] = "--appliance";
    argv[n++] = m->appliance;
    argv[n++] = "--net";
    argv[n++] = net;
    argv[n++] = "--mac";
    argv[n++] = mac;
    if (m->memory) {
        format_size(m->memory, mem, sizeof(mem));
        argv[n++] = "--memory";
        argv[n++] = mem;
    }
    if (m->cpus) {
        snprintf(cpus, sizeof(cpus), "%d", m->cpus);
        argv[n++] = "--cpus";
        argv[n++] = cpus;
    }
    if (m->engine) {
        argv[n++] = "--engine";
        argv[n++] = m->engine;
    }
    if (m->disk_size) {
        format_size(m->disk_size, disk, sizeof(disk));
        argv[n++] = "--disk-size";
        argv[n++] = disk;
    }
    argv[n] = NULL;
    int status = 1;
    /* The same path as `hostel create`: same checks, same messages. */
    optind = 1;
    fflush(stdout);
    int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    if (saved >= 0 && devnull >= 0)
        dup2(devnull, 1);            /* its "created NAME": up prints its own table */
    machines_dispatch(n, (char **)argv, &status);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, 1);
        close(saved);
    }
    if (devnull >= 0)
        close(devnull);
    return status;
}

static int cmd_up(int argc, char **argv)
{
    static const struct option opts[] = { { "timeout", required_argument, NULL, 't' },
                                          { "no-wait", no_argument, NULL, 'n' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    int timeout = 900, c;
    bool no_wait = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:nh", opts, NULL)) != -1) {
        if (c == 't')
            timeout = atoi(optarg);
        else if (c == 'n')
            no_wait = true;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else
            return 1;
    }
    if (optind + 1 != argc) {
        log_error("'hostel cluster up' takes one cluster file (or the name of a cluster)");
        return 1;
    }
    const char *what = argv[optind];
    double t0 = now_s();
    struct cluster_def *d = calloc(1, sizeof(*d));
    struct watch *w = calloc(CLUSTER_MAX_MACHINES, sizeof(*w));
    struct err e = ERR_INIT;
    int r = 1;
    if (!d || !w) {
        log_error("out of memory");
        goto out;
    }
    struct stat st;
    if (stat(what, &st) == 0 && S_ISREG(st.st_mode)) {
        if (cluster_def_load_file(what, d, &e) < 0) {
            log_error("%s", e.msg);
            goto out;
        }
    } else if (cluster_def_load(what, d, &e) < 0) {
        if (e.code == -ENOENT)
            log_error("no cluster file '%s', and no cluster named so (see 'hostel cluster ls')",
                      what);
        else
            log_error("%s", e.msg);
        goto out;
    }
    /* Everything is checked before anything is made: the machines' names,
     * the appliances and their readiness text. */
    uint64_t total = 0;
    for (int i = 0; i < d->nmachines; i++) {
        struct cluster_machine *m = &d->machines[i];
        struct machine_config mc;
        if (machine_config_load(m->name, &mc, NULL) == 0) {
            char cl[SWITCH_NAME_MAX + 1];
            bool mine = cluster_of_spec(&mc.spec, cl, sizeof(cl)) && !strcmp(cl, d->name);
            machine_config_free(&mc);
            if (!mine) {
                log_error("a machine named '%s' exists and is not on cluster '%s': remove it "
                          "('hostel rm %s') or rename the cluster's", m->name, d->name, m->name);
                goto out;
            }
        }
        struct appliance app;
        if (appliance_open(m->appliance, &app, &e) < 0) {
            log_error("machine '%s': %s", m->name, e.msg);
            goto out;
        }
        /* Kept as a folder: a later 'up NAME' may run from anywhere. */
        free(m->appliance);
        m->appliance = strdup(app.dir);
        const char *ready = m->ready ? m->ready : app.ready;
        w[i].ready = ready ? strdup(ready) : NULL;
        total += m->memory ? m->memory : app.memory;
        appliance_free(&app);
    }
    bool was_up = cluster_up(d->name);
    if (was_up) {
        struct cluster_def old;
        if (cluster_def_load(d->name, &old, &e) == 0) {
            char *a = def_text(d), *b = def_text(&old);
            bool same = a && b && !strcmp(a, b);
            free(a);
            free(b);
            cluster_def_free(&old);
            if (!same) {
                log_error("cluster '%s' is up with another definition: take it down first "
                          "('hostel cluster down %s')", d->name, d->name);
                goto out;
            }
        }
    }
    if (cluster_def_save(d, &e) < 0) {
        log_error("%s", e.msg);
        goto out;
    }
    if (!was_up && start_daemon(d->name))
        goto out;
    int made = 0, started = 0;
    for (int i = 0; i < d->nmachines; i++) {
        struct cluster_machine *m = &d->machines[i];
        struct machine_config mc;
        if (machine_config_load(m->name, &mc, NULL) < 0) {
            if (create_machine(d, m)) {
                log_error("cluster %s: machine '%s' could not be created; the others stay "
                          "('hostel cluster down %s --rm' removes them)", d->name, m->name,
                          d->name);
                goto out;
            }
            made++;
        } else {
            machine_config_free(&mc);
        }
    }
    for (int i = 0; i < d->nmachines; i++) {
        struct cluster_machine *m = &d->machines[i];
        enum machine_state s = machine_state_get(m->name, NULL, 0);
        if (is_live(s)) {
            w[i].log_from = 0;
            continue;
        }
        w[i].log_from = file_size(m->name, "console.log");
        if (machine_start(m->name, NULL)) {
            log_error("cluster %s: machine '%s' did not start; the others run on", d->name,
                      m->name);
            goto out;
        }
        started++;
    }
    char avail[32], tot[32];
    format_size_human(total, tot, sizeof(tot));
    format_size_human(host_available(), avail, sizeof(avail));
    fprintf(stderr, "hostel: cluster %s: %d machine%s (%d created, %d started), guest memory "
            "%s in all, %s available on the host\n", d->name, d->nmachines,
            d->nmachines == 1 ? "" : "s", made, started, tot, avail);
    if (!no_wait && (r = wait_ready(d, w, t0, timeout)) != 0)
        goto out;
    printf("%-20s %-15s %-17s %8s %s\n", "MACHINE", "ADDRESS", "MAC", "MEMORY",
           no_wait ? "" : "READY");
    for (int i = 0; i < d->nmachines; i++) {
        const struct cluster_machine *m = &d->machines[i];
        char ip[32], mac[32], mem[32], at[32] = "";
        switch_format_ip(m->ip, ip, sizeof(ip));
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m->mac[0], m->mac[1],
                 m->mac[2], m->mac[3], m->mac[4], m->mac[5]);
        format_size(machine_memory(m), mem, sizeof(mem));
        if (!no_wait)
            snprintf(at, sizeof(at), "%.1f s", w[i].at);
        printf("%-20s %-15s %-17s %8s %s\n", m->name, ip, mac, mem, at);
    }
    char netw[40];
    switch_format_ip(d->network, netw, sizeof(netw));
    printf("cluster %s is up: %d machine%s on %s/%d, %s (%.1f s)\n", d->name, d->nmachines,
           d->nmachines == 1 ? "" : "s",
           netw, d->prefix, no_wait ? "started" : "all ready", now_s() - t0);
    r = 0;
out:
    if (w)
        for (int i = 0; i < CLUSTER_MAX_MACHINES; i++)
            free(w[i].ready);
    free(w);
    if (d)
        cluster_def_free(d);
    free(d);
    return r;
}

/* ---- down ---------------------------------------------------------------------------- */

static int cmd_down(int argc, char **argv)
{
    static const struct option opts[] = { { "rm", no_argument, NULL, 'r' },
                                          { "force", no_argument, NULL, 'f' },
                                          { "timeout", required_argument, NULL, 't' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    bool rm = false, force = false;
    int timeout = 30, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "rft:h", opts, NULL)) != -1) {
        if (c == 'r')
            rm = true;
        else if (c == 'f')
            force = true;
        else if (c == 't')
            timeout = atoi(optarg);
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else
            return 1;
    }
    if (optind + 1 != argc) {
        log_error("'hostel cluster down' takes the cluster's name");
        return 1;
    }
    const char *name = argv[optind];
    struct cluster_def *d = calloc(1, sizeof(*d));
    struct err e = ERR_INIT;
    int r = 1;
    if (!d || cluster_def_load(name, d, &e) < 0) {
        log_error("%s", d ? e.msg : "out of memory");
        free(d);
        return 1;
    }
    int killed = 0;
    bool was_up = cluster_up(name);
    if (was_up) {
        json_t *rep = call(name, json_pack("{s:s, s:b, s:i}", "op", "down", "rm", rm, "timeout",
                                           force ? 0 : timeout));
        if (rep) {
            killed = (int)json_integer_value(json_object_get(rep, "killed"));
            json_decref(rep);
        }
        /* The daemon exits once it answered; one that does not is ended. */
        for (int i = 0; i < 100 && cluster_up(name); i++)
            usleep(100000);
        if (cluster_up(name)) {
            char path[4096], text[64] = "";
            int pid = 0;
            cluster_path(name, "state", path, sizeof(path));
            FILE *f = fopen(path, "r");
            if (f) {
                if (fgets(text, sizeof(text), f))
                    sscanf(text, "running %d", &pid);
                fclose(f);
            }
            if (pid > 0)
                kill(pid, SIGKILL);
            for (int i = 0; i < 50 && cluster_up(name); i++)
                usleep(100000);
        }
    }
    /* Whatever the daemon did (or could not do, having died): nothing of the
     * cluster may run any more. */
    int k = cluster_stop_machines(d, force ? 0 : timeout);
    if (k > 0)
        killed += k;
    int still = 0;
    for (int i = 0; i < d->nmachines; i++)
        if (machine_lock_held(d->machines[i].name)) {
            log_error("machine '%s' still runs", d->machines[i].name);
            still++;
        }
    if (!still && rm) {
        char dir[4096];
        cluster_path(name, NULL, dir, sizeof(dir));
        /* The daemon empties it as it exits, and removes it unless it is
         * in its root jail (then the folder stays, to be removed here). */
        for (int i = 0; i < 50 && access(dir, F_OK) == 0 && was_up && cluster_up(name); i++)
            usleep(100000);
        if (access(dir, F_OK) == 0 && cluster_remove(d, &e) < 0) {
            log_error("%s", e.msg);
            goto out;
        }
    }
    if (still)
        goto out;
    if (killed && force)
        fprintf(stderr, "hostel: %d machines stopped at once (--force)\n", killed);
    else if (killed)
        fprintf(stderr, "hostel: %d machines did not power off within %d s and were stopped by "
                "force\n", killed, timeout);
    printf("cluster %s is down%s\n", name, rm ? " and removed" : "");
    r = 0;
out:
    cluster_def_free(d);
    free(d);
    return r;
}

/* ---- ls and status ---------------------------------------------------------------------- */

static json_t *cluster_json(const char *name, bool with_links)
{
    struct cluster_def *d = calloc(1, sizeof(*d));
    struct err e = ERR_INIT;
    if (!d)
        return NULL;
    if (cluster_def_load(name, d, &e) < 0) {
        free(d);
        return json_pack("{s:s, s:s, s:s}", "name", name, "state", "damaged", "error", e.msg);
    }
    bool up = cluster_up(name);
    json_t *live = up ? cluster_call(name, json_pack("{s:s}", "op", "status"), NULL) : NULL;
    json_t *o = cluster_def_to_json(d);
    json_object_del(o, "version");
    json_object_set_new(o, "state", json_string(up ? "up" : "down"));
    int running = 0;
    uint64_t mem_total = 0;
    size_t i;
    json_t *jm;
    json_array_foreach(json_object_get(o, "machines"), i, jm) {
        const struct cluster_machine *m = &d->machines[i];
        char why[256];
        enum machine_state s = machine_state_get(m->name, why, sizeof(why));
        struct machine_config mc;
        bool exists = machine_config_load(m->name, &mc, NULL) == 0;
        if (exists)
            machine_config_free(&mc);
        json_object_set_new(jm, "state", json_string(exists ? machine_state_name(s) : "absent"));
        if (why[0])
            json_object_set_new(jm, "reason", json_string(why));
        uint64_t mem = machine_memory(m);
        mem_total += mem;
        json_object_set_new(jm, "memory", json_integer((json_int_t)mem));
        if (is_live(s)) {
            running++;
            int pid = machine_pid(m->name);
            long kib = pid > 0 ? rss_kib(pid) : -1;
            if (pid > 0)
                json_object_set_new(jm, "pid", json_integer(pid));
            if (kib >= 0)
                json_object_set_new(jm, "rss", json_integer((json_int_t)kib << 10));
        }
        size_t k;
        json_t *n;
        json_array_foreach(json_object_get(live, "nodes"), k, n)
            if (!strcasecmp(json_string_value(json_object_get(n, "name")) ?: "", m->name)) {
                json_object_set(jm, "connected", json_object_get(n, "connected"));
                json_object_set(jm, "lease", json_object_get(n, "lease"));
            }
    }
    json_object_set_new(o, "running", json_integer(running));
    json_object_set_new(o, "memory", json_integer((json_int_t)mem_total));
    if (live) {
        json_object_set(o, "faults", json_object_get(live, "faults"));
        json_object_set(o, "switch_pid", json_object_get(live, "pid"));
        json_object_set(o, "service", json_object_get(live, "service"));
        /* Machines that joined ad hoc (hostel run --net switch=NAME). */
        json_t *adhoc = json_array(), *n;
        size_t k;
        json_array_foreach(json_object_get(live, "nodes"), k, n)
            if (!json_is_true(json_object_get(n, "fixed")))
                json_array_append(adhoc, n);
        json_object_set_new(o, "adhoc", adhoc);
        if (with_links)
            json_object_set(o, "links", json_object_get(live, "links"));
        json_object_set(o, "forwards", json_object_get(live, "forwards"));
    }
    json_decref(live);
    cluster_def_free(d);
    free(d);
    return o;
}

static int cmd_ls(int argc, char **argv)
{
    bool as_json = argc > 1 && !strcmp(argv[1], "--json");
    if (argc > 1 && !as_json) {
        log_error("'hostel cluster ls' takes only --json");
        return 1;
    }
    char **names;
    int n;
    if (cluster_list(&names, &n) < 0) {
        log_error("cannot list clusters");
        return 1;
    }
    json_t *all = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = cluster_json(names[i], false);
        if (o)
            json_array_append_new(all, o);
        free(names[i]);
    }
    free(names);
    if (as_json) {
        char *t = json_dumps(all, JSON_INDENT(2));
        printf("%s\n", t);
        free(t);
    } else {
        printf("%-20s %-6s %-9s %-18s %8s %s\n", "CLUSTER", "STATE", "MACHINES", "NETWORK",
               "MEMORY", "FAULTS");
        size_t i;
        json_t *o;
        json_array_foreach(all, i, o) {
            char m[32], mem[32];
            snprintf(m, sizeof(m), "%lld/%zu",
                     (long long)json_integer_value(json_object_get(o, "running")),
                     json_array_size(json_object_get(o, "machines")));
            format_size((uint64_t)json_integer_value(json_object_get(o, "memory")), mem,
                        sizeof(mem));
            printf("%-20s %-6s %-9s %-18s %8s %zu\n", json_string_value(json_object_get(o, "name")),
                   json_string_value(json_object_get(o, "state")), m,
                   json_string_value(json_object_get(o, "network")) ?: "-", mem,
                   json_array_size(json_object_get(o, "faults")));
        }
    }
    json_decref(all);
    return 0;
}

static void print_fault(json_t *f)
{
    const char *type = json_string_value(json_object_get(f, "type"));
    const char *m = json_string_value(json_object_get(f, "machine"));
    json_t *peers = json_object_get(f, "peers");
    char list[1024] = "";
    if (json_is_string(peers)) {
        snprintf(list, sizeof(list), "every other machine");
    } else {
        size_t i;
        json_t *p;
        json_array_foreach(peers, i, p)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                     json_string_value(p));
    }
    if (!strcmp(type, "partition")) {
        printf("  partition  %s <-> %s\n", m, list);
        return;
    }
    printf("  degrade    %s -> %s:", m, list);
    json_t *v;
    if ((v = json_object_get(f, "loss")))
        printf(" loss %g%%", json_real_value(v) * 100);
    if ((v = json_object_get(f, "delay")))
        printf(" delay %s", json_string_value(v));
    if ((v = json_object_get(f, "jitter")))
        printf(" jitter %s", json_string_value(v));
    if ((v = json_object_get(f, "rate")))
        printf(" rate %s", json_string_value(v));
    if ((v = json_object_get(f, "duplicate")))
        printf(" duplicate %g%%", json_real_value(v) * 100);
    printf("\n");
}

static int cmd_status(int argc, char **argv)
{
    bool as_json = false;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (!name)
            name = argv[i];
        else {
            log_error("unexpected argument '%s'", argv[i]);
            return 1;
        }
    }
    if (!name) {
        log_error("'hostel cluster status' takes the cluster's name");
        return 1;
    }
    struct cluster_def probe;
    struct err e = ERR_INIT;
    if (cluster_def_load(name, &probe, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    cluster_def_free(&probe);
    json_t *o = cluster_json(name, true);
    if (as_json) {
        char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(o);
        return 0;
    }
    char mem[32];
    format_size((uint64_t)json_integer_value(json_object_get(o, "memory")), mem, sizeof(mem));
    printf("cluster %s: %s, network %s%s, %lld/%zu machines running, guest memory %s\n", name,
           json_string_value(json_object_get(o, "state")),
           json_string_value(json_object_get(o, "network")),
           json_is_true(json_object_get(o, "nat")) ? " (NAT to the host's networks)" : "",
           (long long)json_integer_value(json_object_get(o, "running")),
           json_array_size(json_object_get(o, "machines")), mem);
    printf("%-16s %-8s %-15s %-17s %7s %7s %s\n", "MACHINE", "STATE", "ADDRESS", "MAC", "MEMORY",
           "RSS", "NETWORK");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(o, "machines"), i, m) {
        char rss[32] = "-", net[64] = "-";
        format_size((uint64_t)json_integer_value(json_object_get(m, "memory")), mem, sizeof(mem));
        if (json_object_get(m, "rss"))
            format_size_human((uint64_t)json_integer_value(json_object_get(m, "rss")), rss, sizeof(rss));
        if (json_object_get(m, "connected"))
            snprintf(net, sizeof(net), "%s%s",
                     json_is_true(json_object_get(m, "connected")) ? "joined" : "not joined",
                     json_is_true(json_object_get(m, "lease")) ? ", leased" : "");
        printf("%-16s %-8s %-15s %-17s %7s %7s %s\n", json_string_value(json_object_get(m, "name")),
               json_string_value(json_object_get(m, "state")),
               json_string_value(json_object_get(m, "address")),
               json_string_value(json_object_get(m, "mac")), mem, rss, net);
        if (json_object_get(m, "reason"))
            printf("  %s: %s\n", json_string_value(json_object_get(m, "name")),
                   json_string_value(json_object_get(m, "reason")));
    }
    json_array_foreach(json_object_get(o, "adhoc"), i, m)
        printf("%-16s %-8s %-15s %-17s %7s %7s %s\n", json_string_value(json_object_get(m, "name")),
               "ad hoc", json_string_value(json_object_get(m, "address")) ?: "-",
               json_string_value(json_object_get(m, "mac")), "-", "-",
               json_is_true(json_object_get(m, "connected")) ? "joined" : "left");
    json_t *faults = json_object_get(o, "faults");
    printf("faults:%s\n", json_array_size(faults) ? "" : " none");
    json_array_foreach(faults, i, m)
        print_fault(m);
    json_t *fw = json_object_get(o, "forwards");
    json_array_foreach(fw, i, m)
        printf("forward  %s %s:%lld -> %s port %lld\n",
               json_string_value(json_object_get(m, "proto")),
               json_string_value(json_object_get(m, "host_addr")),
               (long long)json_integer_value(json_object_get(m, "host_port")),
               json_string_value(json_object_get(m, "machine")),
               (long long)json_integer_value(json_object_get(m, "guest_port")));
    json_t *links = json_object_get(o, "links");
    if (json_array_size(links)) {
        printf("links (frames):\n  %-16s %-16s %9s %9s %9s %9s\n", "FROM", "TO", "SENT",
               "DROPPED", "DELAYED", "DUPLICATED");
        json_array_foreach(links, i, m)
            printf("  %-16s %-16s %9lld %9lld %9lld %9lld\n",
                   json_string_value(json_object_get(m, "from")),
                   json_string_value(json_object_get(m, "to")),
                   (long long)json_integer_value(json_object_get(m, "sent")),
                   (long long)json_integer_value(json_object_get(m, "dropped")),
                   (long long)json_integer_value(json_object_get(m, "delayed")),
                   (long long)json_integer_value(json_object_get(m, "duplicated")));
    }
    json_decref(o);
    return 0;
}

/* ---- faults ------------------------------------------------------------------------------ */

static int cmd_fault(int argc, char **argv)
{
    static const struct option opts[] = { { "from", required_argument, NULL, 'F' },
                                          { "loss", required_argument, NULL, 'l' },
                                          { "delay", required_argument, NULL, 'd' },
                                          { "jitter", required_argument, NULL, 'j' },
                                          { "rate", required_argument, NULL, 'r' },
                                          { "duplicate", required_argument, NULL, 'u' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    const char *op = argv[0];
    bool degrade = !strcmp(op, "degrade");
    json_t *req = json_pack("{s:s}", "op", op);
    int c, nrules = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *key = NULL;
        switch (c) {
        case 'F': key = "from"; break;
        case 'l': key = "loss"; break;
        case 'd': key = "delay"; break;
        case 'j': key = "jitter"; break;
        case 'r': key = "rate"; break;
        case 'u': key = "duplicate"; break;
        case 'h':
            usage(stdout);
            json_decref(req);
            return 0;
        default:
            json_decref(req);
            return 1;
        }
        if (!degrade && c != 'F') {
            log_error("--%s is for 'hostel cluster degrade'", key);
            json_decref(req);
            return 1;
        }
        json_object_set_new(req, key, json_string(optarg));
        nrules += c != 'F';
    }
    if (optind + 2 != argc) {
        log_error("'hostel cluster %s' takes the cluster's name and a machine (see 'hostel "
                  "cluster --help')", op);
        json_decref(req);
        return 1;
    }
    if (degrade && !nrules) {
        log_error("'hostel cluster degrade' needs at least one of --loss, --delay, --jitter, "
                  "--rate, --duplicate");
        json_decref(req);
        return 1;
    }
    const char *name = argv[optind];
    json_object_set_new(req, "machine", json_string(argv[optind + 1]));
    json_t *r = call(name, req);
    if (!r)
        return 1;
    json_decref(r);
    return 0;
}

static int cmd_heal(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || argv[1][0] == '-') {
        if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            usage(stdout);
            return 0;
        }
        log_error("'hostel cluster heal' takes the cluster's name and, optionally, a machine");
        return 1;
    }
    json_t *req = json_pack("{s:s}", "op", "heal");
    if (argc == 3)
        json_object_set_new(req, "machine", json_string(argv[2]));
    json_t *r = call(argv[1], req);
    if (!r)
        return 1;
    json_decref(r);
    return 0;
}

/* ---- for `hostel info` ------------------------------------------------------------------ */

void cluster_info_json(const char *machine, const struct machine_spec *spec, json_t *o)
{
    char name[SWITCH_NAME_MAX + 1];
    if (!cluster_of_spec(spec, name, sizeof(name)))
        return;
    json_object_set_new(o, "cluster", json_string(name));
    if (!cluster_up(name))
        return;
    json_t *st = cluster_call(name, json_pack("{s:s, s:s}", "op", "status", "machine", machine),
                              NULL);
    if (!st)
        return;
    json_t *n = json_array_get(json_object_get(st, "nodes"), 0);
    if (n && json_object_get(n, "address"))
        json_object_set(o, "address", json_object_get(n, "address"));
    json_object_set(o, "links", json_object_get(st, "links"));
    json_object_set(o, "faults", json_object_get(st, "faults"));
    json_decref(st);
}

int cmd_cluster(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *sub = argv[1];
    argc--;
    argv++;
    if (!strcmp(sub, "up"))
        return cmd_up(argc, argv);
    if (!strcmp(sub, "down"))
        return cmd_down(argc, argv);
    if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
        return cmd_ls(argc, argv);
    if (!strcmp(sub, "status"))
        return cmd_status(argc, argv);
    if (!strcmp(sub, "partition") || !strcmp(sub, "degrade"))
        return cmd_fault(argc, argv);
    if (!strcmp(sub, "heal"))
        return cmd_heal(argc, argv);
    if (!strcmp(sub, "daemon") && argc == 2)
        return cluster_daemon_run(argv[1], -1);   /* internal: the daemon in the foreground */
    log_error("unknown cluster command '%s' (see 'hostel cluster --help')", sub);
    return 1;
}
