/* The cluster daemon: one process per cluster that holds the cluster's lock
 * and its switch, and serves the cluster's control socket (newline-delimited
 * JSON, docs/api.md): status, partition, degrade, heal, down.  `hostel
 * cluster up` starts it detached; it runs until "down" or SIGTERM. */
#include "mgmt/cluster.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/jail.h"
#include "lib/log.h"

#define MAX_CLIENTS  32
#define MAX_REQUEST  65536

struct client {
    int fd;
    size_t have;
    char buf[MAX_REQUEST];
};

struct cdaemon {
    struct cluster_def def;
    struct net_switch *sw;
    time_t started;
    bool quit, remove;
};

static volatile sig_atomic_t got_term;

/* As root the switch's daemon drops, like a VMM, into a root jail
 * (lib/jail.h) once its sockets listen and before its thread starts: a
 * mount namespace showing only the cluster's folder (given to the jail
 * user), the host's DNS servers and /dev/null and /dev/urandom; the jail
 * user; no capabilities; no new privileges.  It parses every machine's
 * frames, DHCP and DNS.  `down --rm` cannot remove the folder itself from
 * root's clusters folder: it empties it, and the hostel command removes
 * what is left. */
static int confine(void *opaque, struct err *e)
{
    const char *name = opaque;
    if (geteuid() != 0)
        return 0;
    struct jail_config c = { 0 };
    int r = jail_user(&c.uid, &c.gid, e);
    if (r < 0)
        return r;
    if (r > 0) {
        log_warn("cluster %s: the switch runs as root WITHOUT its jail (HOSTEL_JAIL_USER=off)",
                 name);
        return 0;
    }
    char dir[4096], real[PATH_MAX];
    cluster_path(name, NULL, dir, sizeof(dir));
    const char *shown[] = { realpath(dir, real) ? real : dir, "/etc/resolv.conf", "/dev/null",
                            "/dev/urandom" };
    for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
        jail_add(&c, shown[i], i == 0);
    r = jail_enter(&c, e);
    int n = c.npaths;
    jail_config_free(&c);
    if (r == 0)
        log_info("cluster %s: switch jailed: uid %u gid %u, no capabilities, a mount namespace "
                 "showing %d paths", name, (unsigned)c.uid, (unsigned)c.gid, n);
    return r;
}

static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *err_reply(const struct err *e)
{
    return fail("%s", e->msg);
}

/* "from": a list of names, or a string "a,b"; NULL or [] means every other. */
static int peers_of(json_t *from, const char **out, int max, char **scratch)
{
    *scratch = NULL;
    if (!from || json_is_null(from))
        return 0;
    int n = 0;
    if (json_is_string(from)) {
        *scratch = strdup(json_string_value(from));
        char *save = NULL;
        for (char *t = strtok_r(*scratch, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n == max)
                return -E2BIG;
            out[n++] = t;
        }
        return n;
    }
    if (!json_is_array(from))
        return -EINVAL;
    size_t i;
    json_t *v;
    json_array_foreach(from, i, v) {
        if (!json_is_string(v))
            return -EINVAL;
        if (n == max)
            return -E2BIG;
        out[n++] = json_string_value(v);
    }
    return n;
}

/* A percentage as "20%", "20" or a number of percent. */
static int get_percent(json_t *v, double *out)
{
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if (!(x >= 0 && x <= 100))
            return -EINVAL;
        *out = x / 100.0;
        return 0;
    }
    return json_is_string(v) ? switch_parse_percent(json_string_value(v), out) : -EINVAL;
}

/* A duration as "100ms" or a number of milliseconds. */
static int get_duration(json_t *v, uint64_t *ns)
{
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if (!(x >= 0 && x <= 3600e3))
            return -EINVAL;
        *ns = (uint64_t)(x * 1e6);
        return 0;
    }
    return json_is_string(v) ? switch_parse_duration(json_string_value(v), ns) : -EINVAL;
}

static int get_rate(json_t *v, uint64_t *bps)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0 || (x > 0 && x < 8000))
            return -EINVAL;
        *bps = (uint64_t)x;
        return 0;
    }
    return json_is_string(v) ? switch_parse_rate(json_string_value(v), bps) : -EINVAL;
}

static json_t *op_fault(struct cdaemon *d, const char *op, json_t *req)
{
    const char *machine = json_string_value(json_object_get(req, "machine"));
    if (!machine)
        return fail("%s needs a \"machine\"", op);
    const char *peers[SWITCH_MAX_NODES];
    char *scratch;
    int np = peers_of(json_object_get(req, "from"), peers, SWITCH_MAX_NODES, &scratch);
    if (np < 0) {
        free(scratch);
        return fail("\"from\": give a list of machine names (or \"a,b\")");
    }
    struct err e = ERR_INIT;
    int r;
    if (!strcmp(op, "partition")) {
        r = switch_partition(d->sw, machine, peers, np, &e);
    } else {
        struct switch_rule rule = { 0 };
        json_t *v;
        const char *bad = NULL;
        if ((v = json_object_get(req, "loss")) && get_percent(v, &rule.loss) < 0)
            bad = "loss: give a percentage such as \"20%\"";
        if ((v = json_object_get(req, "duplicate")) && get_percent(v, &rule.duplicate) < 0)
            bad = "duplicate: give a percentage such as \"1%\"";
        if ((v = json_object_get(req, "delay")) && get_duration(v, &rule.delay_ns) < 0)
            bad = "delay: give a duration such as \"100ms\"";
        if ((v = json_object_get(req, "jitter")) && get_duration(v, &rule.jitter_ns) < 0)
            bad = "jitter: give a duration such as \"20ms\"";
        if ((v = json_object_get(req, "rate")) && get_rate(v, &rule.rate_bps) < 0)
            bad = "rate: give a rate such as \"1mbit\" (at least 8kbit)";
        if (bad) {
            free(scratch);
            return fail("%s", bad);
        }
        r = switch_degrade(d->sw, machine, peers, np, &rule, &e);
    }
    free(scratch);
    if (r < 0)
        return err_reply(&e);
    if (np)
        log_info("%s %s from %d machines", op, machine, np);
    else
        log_info("%s %s from every other machine", op, machine);
    return json_pack("{s:b}", "ok", 1);
}

static json_t *status(struct cdaemon *d, const char *machine)
{
    json_t *s = switch_status_json(d->sw, machine);
    json_object_set_new(s, "ok", json_true());
    json_object_set_new(s, "pid", json_integer(getpid()));
    json_object_set_new(s, "uptime", json_integer((json_int_t)(time(NULL) - d->started)));
    return s;
}

static json_t *handle(struct cdaemon *d, json_t *req)
{
    const char *op = json_string_value(json_object_get(req, "op"));
    if (!op)
        return fail("request has no \"op\" string");
    if (!strcmp(op, "status"))
        return status(d, json_string_value(json_object_get(req, "machine")));
    if (!strcmp(op, "partition") || !strcmp(op, "degrade"))
        return op_fault(d, op, req);
    if (!strcmp(op, "heal")) {
        struct err e = ERR_INIT;
        if (switch_heal(d->sw, json_string_value(json_object_get(req, "machine")), &e) < 0)
            return err_reply(&e);
        log_info("heal %s", json_string_value(json_object_get(req, "machine")) ?: "all");
        return json_pack("{s:b}", "ok", 1);
    }
    if (!strcmp(op, "down")) {
        json_t *t = json_object_get(req, "timeout");
        int timeout = json_is_integer(t) ? (int)json_integer_value(t) : 30;
        if (timeout < 0 || timeout > 3600)
            return fail("timeout: 0 to 3600 seconds");
        bool rm = json_is_true(json_object_get(req, "rm"));
        log_info("down%s: stopping the machines (%d s each before a kill)", rm ? " --rm" : "",
                 timeout);
        int killed = cluster_stop_machines(&d->def, timeout);
        json_t *reply = json_pack("{s:b, s:i}", "ok", 1, "killed", killed < 0 ? 0 : killed);
        if (rm) {
            struct err e = ERR_INIT;
            /* The machines now; the folder (this daemon's own files) at exit. */
            struct cluster_def only = d->def;
            for (int i = 0; i < only.nmachines; i++) {
                struct machine_config mc;
                char cl[SWITCH_NAME_MAX + 1];
                if (machine_config_load(only.machines[i].name, &mc, NULL) < 0)
                    continue;
                bool mine = cluster_of_spec(&mc.spec, cl, sizeof(cl)) && !strcmp(cl, d->def.name);
                machine_config_free(&mc);
                if (mine && !machine_lock_held(only.machines[i].name) &&
                    machine_remove(only.machines[i].name, &e) < 0) {
                    json_decref(reply);
                    return err_reply(&e);
                }
            }
        }
        d->quit = true;
        d->remove = rm;
        return reply;
    }
    return fail("unknown op '%s' (status, partition, degrade, heal, down)", op);
}

static void reply_to(struct client *c, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n';                /* json_dumps leaves room: the terminator */
    size_t off = 0;
    while (off < len + 1) {
        ssize_t n = send(c->fd, text + off, len + 1 - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;                   /* SO_SNDTIMEO: a client that does not read loses */
        off += (size_t)n;
    }
    free(text);
}

static void client_input(struct cdaemon *d, struct client *c)
{
    ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
    if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->have += (size_t)n;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->have);
        if (!nl) {
            if (c->have == sizeof(c->buf)) {
                reply_to(c, fail("request longer than %d bytes", MAX_REQUEST));
                close(c->fd);
                c->fd = -1;
            }
            return;
        }
        size_t len = (size_t)(nl - c->buf);
        json_error_t je;
        json_t *req = json_loadb(c->buf, len, 0, &je);
        json_t *reply = !req ? fail("malformed request: %s", je.text)
                        : !json_is_object(req) ? fail("malformed request: not a JSON object")
                        : handle(d, req);
        json_decref(req);
        reply_to(c, reply);
        memmove(c->buf, nl + 1, c->have - len - 1);
        c->have -= len + 1;
        if (d->quit)
            return;
    }
}

static void tell(int *fd, const char *msg)
{
    if (*fd < 0)
        return;
    if (write(*fd, msg, strlen(msg)) < 0 || write(*fd, "\n", 1) < 0) {
        /* the CLI went away: nothing to tell */
    }
    close(*fd);
    *fd = -1;
}

static int listen_control(const char *path, struct err *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set(e, -ENAMETOOLONG, "control socket path %s is too long for a Unix socket "
                       "(set HOSTEL_HOME to a shorter folder)", path);
    strcpy(sa.sun_path, path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int r = -errno;
        if (fd >= 0)
            close(fd);
        return err_set(e, r, "cannot listen on %s: %s", path, strerror(-r));
    }
    return fd;
}

int cluster_daemon_run(const char *name, int ready_fd)
{
    struct cdaemon d;
    struct err e = ERR_INIT;
    char path[4096], msg[1200];
    memset(&d, 0, sizeof(d));
    d.started = time(NULL);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (cluster_def_load(name, &d.def, &e) < 0) {
        snprintf(msg, sizeof(msg), "error: %s", e.msg);
        tell(&ready_fd, msg);
        return 1;
    }
    cluster_path(name, "lock", path, sizeof(path));
    int lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
        tell(&ready_fd, lock_fd < 0 ? "error: cannot open the cluster's lock"
                                    : "error: the cluster's daemon is already running");
        cluster_def_free(&d.def);
        return 1;
    }
    struct switch_config *sc = calloc(1, sizeof(*sc));
    int ctl = -1, status = 1;
    if (!sc) {
        tell(&ready_fd, "error: out of memory");
        goto out;
    }
    cluster_switch_config(&d.def, sc);
    /* Both sockets listen before the switch confines itself. */
    cluster_path(name, CLUSTER_CONTROL_FILE, path, sizeof(path));
    if ((ctl = listen_control(path, &e)) < 0) {
        snprintf(msg, sizeof(msg), "error: %s", e.msg);
        tell(&ready_fd, msg);
        goto out;
    }
    sc->confine = confine;
    sc->confine_opaque = (void *)name;
    cluster_path(name, SWITCH_SOCKET_FILE, path, sizeof(path));
    if (switch_create(sc, path, &d.sw, &e) < 0) {
        snprintf(msg, sizeof(msg), "error: %s", e.msg);
        tell(&ready_fd, msg);
        goto out;
    }
    char state[4096], text[64];
    cluster_path(name, "state", state, sizeof(state));
    snprintf(text, sizeof(text), "running %d\n", (int)getpid());
    file_write_atomic(state, text, strlen(text));
    log_info("cluster %s: switch up with %d machines", name, d.def.nmachines);
    tell(&ready_fd, "ok");

    struct client *clients = calloc(MAX_CLIENTS, sizeof(*clients));
    if (!clients)
        goto out;
    for (int i = 0; i < MAX_CLIENTS; i++)
        clients[i].fd = -1;
    while (!d.quit && !got_term) {
        struct pollfd pfd[1 + MAX_CLIENTS];
        int who[1 + MAX_CLIENTS], n = 0;
        pfd[n] = (struct pollfd){ .fd = ctl, .events = POLLIN };
        who[n++] = -1;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (clients[i].fd >= 0) {
                pfd[n] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
                who[n++] = i;
            }
        if (poll(pfd, (nfds_t)n, 1000) <= 0)
            continue;
        for (int k = 0; k < n && !d.quit; k++) {
            if (!pfd[k].revents)
                continue;
            if (who[k] < 0) {
                int fd = accept4(ctl, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                    continue;
                struct timeval tv = { 5, 0 };
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                int slot = -1;
                for (int i = 0; i < MAX_CLIENTS; i++)
                    if (clients[i].fd < 0) {
                        slot = i;
                        break;
                    }
                if (slot < 0) {
                    struct client tmp = { .fd = fd };
                    reply_to(&tmp, fail("too many clients"));
                    close(fd);
                    continue;
                }
                clients[slot].fd = fd;
                clients[slot].have = 0;
            } else {
                client_input(&d, &clients[who[k]]);
            }
        }
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    free(clients);
    status = 0;
    log_info("cluster %s: down", name);
out:
    if (ctl >= 0) {
        close(ctl);
        cluster_path(name, CLUSTER_CONTROL_FILE, path, sizeof(path));
        unlink(path);
    }
    switch_destroy(d.sw);
    free(sc);
    cluster_path(name, "state", path, sizeof(path));
    if (d.remove) {
        cluster_path(name, NULL, path, sizeof(path));
        file_remove_tree(path);
    } else {
        file_write_atomic(path, "stopped\n", 8);
    }
    cluster_def_free(&d.def);
    close(lock_fd);
    return status;
}
