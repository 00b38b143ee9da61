/* A named machine's VMM sending its machine away (mgmt/migrate_out.h). */
#include "mgmt/migrate_out.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board/board.h"
#include "lib/log.h"
#include "lib/size.h"
#include "machine/vm.h"
#include "mgmt/control.h"

struct migrate_out {
    struct migrate_out_host h;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool active;              /* a migration thread exists (until joined) */
    bool using_vm;            /* migrate_send has not returned */
    bool moved, same_folder;
    pthread_t thread;
    struct mig_sender *sender;
    struct vm *vm;
    char to[300];
    struct mig_params params;
    json_t *last;             /* the last progress, for status */
};

json_t *migrate_progress_json(const struct mig_progress *p, const char *side)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:i, "
                          "s:f}",
                          "event", "migration", "side", side, "phase", p->phase ? p->phase : "?",
                          "round", p->round, "ram_pages", (json_int_t)p->ram_pages,
                          "pages_sent", (json_int_t)p->pages_sent,
                          "dirty_pages", (json_int_t)p->dirty_pages,
                          "disk_bytes_sent", (json_int_t)p->disk_bytes_sent,
                          "disk_dirty_bytes", (json_int_t)p->disk_dirty_bytes,
                          "bytes", (json_int_t)p->bytes_sent, "dirty_rate", p->dirty_rate,
                          "page_rate", p->page_rate,
                          "expected_downtime_ms", p->expected_downtime_ms,
                          "throttle_pct", p->throttle_pct, "elapsed_ms", p->elapsed_ms);
    if (o && p->downtime_ms > 0) {
        json_object_set_new(o, "downtime_ms", json_real(p->downtime_ms));
        json_object_set_new(o, "switchover", json_pack("{s:f, s:f, s:f, s:f}", "pause_ms",
                                                       p->pause_ms, "final_ms", p->final_ms,
                                                       "load_ms", p->load_ms,
                                                       "commit_ms", p->commit_ms));
    }
    if (o && p->message[0])
        json_object_set_new(o, "message", json_string(p->message));
    return o;
}

static void on_progress(void *opaque, const struct mig_progress *p)
{
    struct migrate_out *m = opaque;
    json_t *ev = migrate_progress_json(p, "sender");
    if (!ev)
        return;
    json_object_set_new(ev, "to", json_string(m->to));
    pthread_mutex_lock(&m->lock);
    json_decref(m->last);
    m->last = json_deep_copy(ev);
    pthread_mutex_unlock(&m->lock);
    control_event(*m->h.control, ev);
}

static void on_release(void *opaque, bool same_folder)
{
    struct migrate_out *m = opaque;
    m->same_folder = same_folder;
    if (m->h.release)
        m->h.release(m->h.opaque, m->vm, same_folder);
}

static int on_reclaim(void *opaque, bool same_folder)
{
    struct migrate_out *m = opaque;
    return m->h.reclaim ? m->h.reclaim(m->h.opaque, m->vm, same_folder) : 0;
}

static void *migrate_main(void *opaque)
{
    struct migrate_out *m = opaque;
    struct mig_source src = {
        .vm = m->vm, .spec = m->h.spec, .config_json = m->h.config_json,
        .folder = m->h.folder, .bound = m->h.bound, .nbound = m->h.nbound, .opaque = m,
        .progress = on_progress, .release = on_release, .reclaim = on_reclaim,
    };
    struct err e = ERR_INIT;
    int r = migrate_send(&src, m->to, &m->params, &m->sender, &e);
    pthread_mutex_lock(&m->lock);
    struct mig_sender *s = m->sender;
    m->using_vm = false;
    m->sender = NULL;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    control_set_busy_reason(*m->h.control, NULL);
    if (r < 0) {
        log_error("migration to %s failed: %s", m->to, e.msg);
        migrate_sender_free(s);
        pthread_mutex_lock(&m->lock);
        m->active = false;   /* another may start */
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        return NULL;
    }
    /* The guest runs there; say so before lingering for old connections. */
    bool same = false;
    pthread_mutex_lock(&m->lock);
    m->moved = true;
    pthread_mutex_unlock(&m->lock);
    if (m->h.moved) {
        same = m->same_folder;   /* what the release said */
        m->h.moved(m->h.opaque, same, m->to);
    }
    migrate_drain(s);
    pthread_mutex_lock(&m->lock);
    m->active = false;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

struct migrate_out *migrate_out_create(const struct migrate_out_host *h)
{
    struct migrate_out *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->h = *h;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    return m;
}

static json_t *fail(const char *fmt, const char *arg)
{
    char msg[600];
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

/* "300ms", "1.5s", "300" (ms) */
static int parse_ms(json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s)
        return -EINVAL;
    char *end;
    double x = strtod(s, &end);
    if (end == s || x <= 0)
        return -EINVAL;
    if (!strcmp(end, "s"))
        x *= 1000;
    else if (*end && strcmp(end, "ms"))
        return -EINVAL;
    *out = (uint64_t)(x + 0.5);
    return *out ? 0 : -EINVAL;
}

json_t *migrate_out_request(struct migrate_out *m, struct vm *vm, const char *op, json_t *req)
{
    if (!strcmp(op, "migrate_cancel")) {
        pthread_mutex_lock(&m->lock);
        bool running = m->sender != NULL;
        if (running)
            migrate_cancel(&m->sender);
        pthread_mutex_unlock(&m->lock);
        return running ? json_pack("{s:b}", "ok", 1) : fail("no migration is in progress", NULL);
    }
    const char *to = json_string_value(json_object_get(req, "to"));
    if (!to || !*to)
        return fail("migrate needs \"to\": where the receiver listens (tcp:HOST:PORT)", NULL);
    struct mig_params p = { 0 };
    json_t *v;
    if ((v = json_object_get(req, "max_downtime_ms")) && parse_ms(v, &p.max_downtime_ms) < 0)
        return fail("max_downtime_ms: a duration such as 300 or \"300ms\"", NULL);
    if ((v = json_object_get(req, "bandwidth"))) {
        if (json_is_integer(v) && json_integer_value(v) > 0)
            p.bandwidth = (uint64_t)json_integer_value(v);
        else if (!json_is_string(v) || parse_size(json_string_value(v), &p.bandwidth) < 0 ||
                 !p.bandwidth)
            return fail("bandwidth: bytes per second, such as 200M", NULL);
    }
    const char *disks = json_string_value(json_object_get(req, "disks"));
    if (disks && strcmp(disks, "copy") && strcmp(disks, "shared"))
        return fail("disks: \"copy\" or \"shared\", not '%s'", disks);
    p.copy_disks = disks && !strcmp(disks, "copy");
    p.no_auto_converge = json_is_false(json_object_get(req, "auto_converge"));
    if (vm_paused(vm))
        return fail("the machine is paused: resume it before migrating it", NULL);
    struct err se = ERR_INIT;
    if (board_savable(vm, &se) < 0)
        return fail("%s", se.msg);
    pthread_mutex_lock(&m->lock);
    if (m->active) {
        pthread_mutex_unlock(&m->lock);
        return fail(m->moved ? "the machine has been migrated already"
                             : "a migration is in progress (migrate_cancel stops it)", NULL);
    }
    snprintf(m->to, sizeof(m->to), "%s", to);
    m->params = p;
    m->vm = vm;
    m->using_vm = true;
    m->active = true;
    json_decref(m->last);
    m->last = NULL;
    m->sender = NULL;   /* migrate_send fills it in as it starts */
    pthread_mutex_unlock(&m->lock);
    control_set_busy_reason(*m->h.control, "a migration is in progress ('hostel migrate NAME "
                            "--cancel' stops it)");
    if (pthread_create(&m->thread, NULL, migrate_main, m) == 0) {
        pthread_detach(m->thread);
    } else {
        pthread_mutex_lock(&m->lock);
        m->active = m->using_vm = false;
        pthread_mutex_unlock(&m->lock);
        control_set_busy_reason(*m->h.control, NULL);
        return fail("cannot start the migration's thread", NULL);
    }
    log_info("migrating to %s%s", to, p.copy_disks ? " (copying the disks)" : "");
    return json_pack("{s:b, s:s, s:s}", "ok", 1, "state", "migrating", "to", to);
}

json_t *migrate_out_status(struct migrate_out *m)
{
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->lock);
    json_t *o = m->last ? json_deep_copy(m->last) : NULL;
    pthread_mutex_unlock(&m->lock);
    if (o)
        json_object_del(o, "event");
    return o;
}

void migrate_out_vm_gone(struct migrate_out *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    while (m->using_vm) {
        if (m->sender)
            migrate_cancel(&m->sender);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&m->cond, &m->lock, &ts);
    }
    pthread_mutex_unlock(&m->lock);
}

bool migrate_out_finish(struct migrate_out *m, bool *same_folder)
{
    if (!m)
        return false;
    pthread_mutex_lock(&m->lock);
    while (m->active)
        pthread_cond_wait(&m->cond, &m->lock);
    pthread_mutex_unlock(&m->lock);
    bool moved = m->moved;
    if (same_folder)
        *same_folder = m->same_folder;
    json_decref(m->last);
    free(m->h.config_json);
    free(m->h.folder);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m);
    return moved;
}
