/* Control socket server: accepts clients on a Unix socket, reads JSON
 * requests line by line and answers each; "console" turns the connection
 * into the machine's console, "subscribe" into a stream of events. */
#include "mgmt/control.h"
#include "lib/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/console_hub.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "machine/vm.h"

#define MAX_SUBSCRIBERS 16
#define MAX_REQUEST 65536

struct control {
    int listen_fd;
    int wake[2];
    pthread_t thread;
    bool serving;               /* thread started */
    char *path;
    struct control_info info;
    pthread_mutex_t lock;
    struct vm *vm;              /* under lock */
    int busy;                   /* snapshot ops using vm without the lock; under lock */
    pthread_cond_t idle;        /* busy dropped to 0 */
    json_t *forwards;           /* under lock; NULL: none */
    time_t booted_at;
    int subscribers[MAX_SUBSCRIBERS];
    int nsub;
    char phase[32];             /* under lock: the state before a machine runs */
    char busy_reason[256];      /* under lock: "" when ops may change the machine */
    dev_t sock_dev;             /* the socket file we made: removed at the end only */
    ino_t sock_ino;             /* if it is still ours */
};

static void send_json(int fd, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n';
    size_t off = 0;
    while (off <= len) {
        ssize_t w = send(fd, text + off, len + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(text);
}

static json_t *error_reply(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static const char *state_of(struct control *c)
{
    if (!c->vm)
        return c->phase[0] ? c->phase : "starting";
    if (atomic_load(&c->vm->stop) != VM_RUNNING)
        return "stopping";
    return vm_paused(c->vm) ? "paused" : "running";
}

/* The ops the info.snapshot callback answers: the machine's state and disks. */
static bool state_op(const char *op)
{
    return !strcmp(op, "snapshot") || !strcmp(op, "save") || !strcmp(op, "restore") ||
           !strcmp(op, "compact");
}

/* Handles one request; returns 1 when the connection now belongs to
 * someone else (console, subscription). */
static int handle_request(struct control *c, int fd, const char *line)
{
    json_error_t je;
    json_t *req = json_loads(line, 0, &je);
    if (!req || !json_is_object(req)) {
        send_json(fd, error_reply("malformed request: %s (send one JSON object per line, "
                                  "e.g. {\"op\":\"status\"})", req ? "not an object" : je.text));
        json_decref(req);
        return 0;
    }
    const char *op = json_string_value(json_object_get(req, "op"));
    if (!op) {
        send_json(fd, error_reply("request has no \"op\" string%s", ""));
        json_decref(req);
        return 0;
    }
    int handed_over = 0;
    pthread_mutex_lock(&c->lock);
    struct vm *vm = c->vm;
    if (!strcmp(op, "status")) {
        json_t *st = json_pack("{s:b, s:s, s:s, s:s, s:i, s:I, s:I, s:i}", "ok", 1,
                               "name", c->info.name, "state", state_of(c),
                               "engine", c->info.engine, "cpus", c->info.cpus,
                               "memory", (json_int_t)c->info.memory,
                               "uptime", (json_int_t)(vm ? time(NULL) - c->booted_at : 0),
                               "pid", (int)getpid());
        if (st && c->info.engine_requested)
            json_object_set_new(st, "engine_requested", json_string(c->info.engine_requested));
        if (st && c->info.engine_why)
            json_object_set_new(st, "engine_why", json_string(c->info.engine_why));
        if (st && c->forwards)
            json_object_set_new(st, "forwards", json_deep_copy(c->forwards));
        const struct run_isolation *iso = c->info.isolation;
        if (st && iso) {
            json_t *io = json_object();
            if (iso->sandbox[0])
                json_object_set_new(io, "sandbox", json_string(iso->sandbox));
            if (iso->jail[0])
                json_object_set_new(io, "jail", json_string(iso->jail));
            if (iso->cpu_limit[0])
                json_object_set_new(io, "cpu_limit", json_string(iso->cpu_limit));
            if (iso->memory_limit[0])
                json_object_set_new(io, "memory_limit", json_string(iso->memory_limit));
            json_object_set_new(st, "isolation", io);
        }
        json_t *mig = c->info.migration_status ? c->info.migration_status(c->info.opaque) : NULL;
        if (st && mig)
            json_object_set_new(st, "migration", mig);
        else
            json_decref(mig);
        send_json(fd, st);
    } else if (c->busy_reason[0] &&
               (!strcmp(op, "pause") || !strcmp(op, "resume") || !strcmp(op, "stop") ||
                state_op(op))) {
        send_json(fd, error_reply("%s", c->busy_reason));
    } else if (!strcmp(op, "migrate") || !strcmp(op, "migrate_cancel")) {
        if (!c->info.migrate) {
            send_json(fd, error_reply("this machine cannot be migrated from here", NULL));
        } else if (!vm || atomic_load(&vm->stop) != VM_RUNNING) {
            send_json(fd, error_reply("the machine is not running", NULL));
        } else {
            c->busy++;
            pthread_mutex_unlock(&c->lock);
            json_t *reply = c->info.migrate(c->info.opaque, vm, op, req);
            send_json(fd, reply);
            pthread_mutex_lock(&c->lock);
            if (--c->busy == 0)
                pthread_cond_broadcast(&c->idle);
        }
    } else if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
        bool pause = !strcmp(op, "pause");
        if (!vm || atomic_load(&vm->stop) != VM_RUNNING) {
            send_json(fd, error_reply("the machine is not running", NULL));
        } else if (pause == vm_paused(vm)) {
            send_json(fd, error_reply("the machine is already %s", pause ? "paused" : "running"));
        } else {
            pthread_mutex_unlock(&c->lock);
            if (pause)
                vm_pause(vm);
            else
                vm_resume(vm);
            pthread_mutex_lock(&c->lock);
            send_json(fd, json_pack("{s:b, s:s}", "ok", 1, "state", state_of(c)));
            pthread_mutex_unlock(&c->lock);
            control_event_state(c, pause ? "paused" : "running");
            pthread_mutex_lock(&c->lock);
        }
    } else if (!strcmp(op, "stop")) {
        if (!vm) {
            send_json(fd, error_reply("the machine is not running", NULL));
        } else if (!vm->power_button) {
            send_json(fd, error_reply("this machine has no ACPI power button; use kill", NULL));
        } else {
            if (vm_paused(vm))
                vm_resume(vm);
            vm->power_button(vm);
            send_json(fd, json_pack("{s:b}", "ok", 1));
        }
    } else if (state_op(op)) {
        if (!vm || atomic_load(&vm->stop) != VM_RUNNING) {
            send_json(fd, error_reply("the machine is not running", NULL));
        } else if (!c->info.snapshot) {
            send_json(fd, error_reply("this machine cannot save its state here", NULL));
        } else {
            c->busy++;   /* vm stays until we are done (control_set_vm waits) */
            pthread_mutex_unlock(&c->lock);
            json_t *reply = c->info.snapshot(c->info.opaque, vm, op, req);
            send_json(fd, reply);
            pthread_mutex_lock(&c->lock);
            if (--c->busy == 0)
                pthread_cond_broadcast(&c->idle);
        }
    } else if (!strcmp(op, "kill")) {
        if (vm)
            vm_request_stop(vm, VM_STOP_QUIT, 0);
        send_json(fd, json_pack("{s:b}", "ok", 1));
    } else if (!strcmp(op, "console")) {
        if (!c->info.hub) {
            send_json(fd, error_reply("this machine has no attachable console", NULL));
        } else {
            send_json(fd, json_pack("{s:b}", "ok", 1));
            console_hub_attach(c->info.hub, fd);
            handed_over = 1;
        }
    } else if (!strcmp(op, "subscribe")) {
        if (c->nsub == MAX_SUBSCRIBERS) {
            send_json(fd, error_reply("too many subscribers", NULL));
        } else {
            send_json(fd, json_pack("{s:b, s:s}", "ok", 1, "state", state_of(c)));
            c->subscribers[c->nsub++] = fd;
            handed_over = 1;
        }
    } else {
        send_json(fd, error_reply("unknown op '%s' (status, pause, resume, stop, kill, console, "
                                  "subscribe, snapshot, save, migrate, migrate_cancel)", op));
    }
    pthread_mutex_unlock(&c->lock);
    json_decref(req);
    return handed_over;
}

struct client {
    struct control *c;
    int fd;
};

static void *client_main(void *arg)
{
    struct client *cl = arg;
    char *buf = malloc(MAX_REQUEST + 1);
    size_t have = 0;
    int fd = cl->fd;
    while (buf) {
        ssize_t n = recv(fd, buf + have, MAX_REQUEST - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        char *nl;
        int gone = 0;
        while ((nl = memchr(buf, '\n', have))) {
            *nl = 0;
            size_t used = (size_t)(nl - buf) + 1;
            if (nl > buf && handle_request(cl->c, fd, buf)) {
                gone = 1;
                break;
            }
            memmove(buf, buf + used, have - used);
            have -= used;
        }
        if (gone) {
            fd = -1;
            break;
        }
        if (have == MAX_REQUEST) {
            send_json(fd, error_reply("request longer than %s bytes", "65536"));
            break;
        }
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    free(cl);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct control *c = arg;
    /* Before this thread's seccomp list (which forbids capset); its
     * clients' threads inherit them. */
    int cr = c->info.file_caps ? jail_raise_file_caps() : 0;
    if (cr < 0)
        log_warn("control socket: cannot take its file capabilities: %s", strerror(-cr));
    for (;;) {
        struct pollfd p[2] = { { c->listen_fd, POLLIN, 0 }, { c->wake[0], POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        sandbox_thread_check(SANDBOX_CONTROL);
        int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct client *cl = malloc(sizeof(*cl));
        pthread_t t;
        if (!cl) {
            close(fd);
            continue;
        }
        cl->c = c;
        cl->fd = fd;
        if (pthread_create(&t, NULL, client_main, cl)) {
            close(fd);
            free(cl);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

int control_open(const char *socket_path, const struct control_info *info,
                 struct control **out, struct err *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(socket_path) >= sizeof(sa.sun_path))
        return err_set(e, -ENAMETOOLONG, "control socket path %s is too long for a Unix socket "
                       "(set HOSTEL_HOME to a shorter folder)", socket_path);
    strcpy(sa.sun_path, socket_path);
    struct control *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(e, -ENOMEM, "out of memory for the control socket");
    c->info = *info;
    c->path = strdup(socket_path);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->idle, NULL);
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* The caller holds the machine's lock, so a socket file left here is stale. */
    unlink(socket_path);
    if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(c->listen_fd, 16) < 0 || pipe2(c->wake, O_CLOEXEC) < 0) {
        int en = errno;
        if (c->listen_fd >= 0)
            close(c->listen_fd);
        free(c->path);
        free(c);
        return err_set(e, -en, "cannot listen on %s: %s", socket_path, strerror(en));
    }
    struct stat st;
    if (stat(socket_path, &st) == 0) {
        c->sock_dev = st.st_dev;
        c->sock_ino = st.st_ino;
    }
    *out = c;
    return 0;
}

int control_serve(struct control *c, struct err *e)
{
    if (c->serving)
        return 0;
    if (pthread_create(&c->thread, NULL, accept_main, c))
        return err_set(e, -EAGAIN, "cannot start the control thread");
    c->serving = true;
    return 0;
}

int control_start(const char *socket_path, const struct control_info *info,
                  struct control **out, struct err *e)
{
    int r = control_open(socket_path, info, out, e);
    if (r == 0 && (r = control_serve(*out, e)) < 0) {
        control_stop(*out);
        *out = NULL;
    }
    return r;
}

void control_set_forwards(struct control *c, const char *json_list)
{
    json_t *list = json_list ? json_loads(json_list, 0, NULL) : NULL;
    if (list && !json_is_array(list)) {
        json_decref(list);
        list = NULL;
    }
    pthread_mutex_lock(&c->lock);
    json_decref(c->forwards);
    c->forwards = list;
    pthread_mutex_unlock(&c->lock);
}

void control_set_vm(struct control *c, struct vm *vm)
{
    pthread_mutex_lock(&c->lock);
    while (!vm && c->busy)
        pthread_cond_wait(&c->idle, &c->lock);
    c->vm = vm;
    if (vm)
        c->booted_at = time(NULL);
    pthread_mutex_unlock(&c->lock);
}

void control_event_state(struct control *c, const char *state)
{
    control_event(c, json_pack("{s:s, s:s}", "event", "state", "state", state));
}

void control_set_phase(struct control *c, const char *phase)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    snprintf(c->phase, sizeof(c->phase), "%s", phase ? phase : "");
    pthread_mutex_unlock(&c->lock);
}

void control_set_busy_reason(struct control *c, const char *why)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    snprintf(c->busy_reason, sizeof(c->busy_reason), "%s", why ? why : "");
    pthread_mutex_unlock(&c->lock);
}

void control_event(struct control *c, json_t *ev)
{
    if (!c || !ev) {
        json_decref(ev);
        return;
    }
    char *text = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n';
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nsub;) {
        bool ok = false;
        ok = send(c->subscribers[i], text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) ==
             (ssize_t)(len + 1);
        if (!ok) {
            close(c->subscribers[i]);
            c->subscribers[i] = c->subscribers[--c->nsub];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&c->lock);
    free(text);
}

void control_stop(struct control *c)
{
    if (!c)
        return;
    if (write(c->wake[1], "x", 1) < 0) { }
    if (c->serving)
        pthread_join(c->thread, NULL);
    close(c->listen_fd);
    /* Only our own socket: after a migration in the same folder the file
     * is the receiver's. */
    struct stat st;
    if (stat(c->path, &st) == 0 && st.st_dev == c->sock_dev && st.st_ino == c->sock_ino)
        unlink(c->path);
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->nsub; i++)
        close(c->subscribers[i]);
    pthread_mutex_unlock(&c->lock);
    free(c->path);
    /* Client threads may still be answering; the struct is leaked on purpose
     * as the process exits right after. */
}
