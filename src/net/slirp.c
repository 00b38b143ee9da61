/* User-mode networking through libslirp: a NAT, DHCP server and DNS proxy
 * in this process, needing no privileges.  libslirp is not thread-safe, so
 * every call into it after start-up happens on the backend's one thread,
 * which polls slirp's sockets, the device's frame queue and a wake-up fd. */
#include "net/net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HOSTEL_HAVE_SLIRP

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "lib/state.h"
#include "net/trace.h"

#define TX_QUEUE_FRAMES 512
#define MAX_POLLFDS     4096

struct slirp_timer {
    SlirpTimerCb cb;
    void *cb_opaque;
    int64_t expire_ms;              /* -1 when not armed */
    struct slirp_timer *next;
};

struct net_slirp {
    struct net_backend nb;          /* first: the net_backend * is this */
    Slirp *slirp;
    struct net_frame_queue *txq;
    int wake_fd;                    /* notify and stop */
    _Atomic bool stop;
    bool thread_started;
    pthread_t thread;
    struct slirp_timer *timers;
    struct pollfd *pfd;
    unsigned npfd;
    /* Parking the thread, so another may call libslirp (snapshots). */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    _Atomic int park_req;           /* under park_lock: callers wanting it parked */
    bool parked, thread_done;       /* under park_lock */
    pthread_mutex_t state_lock;     /* one save or load at a time */
    /* The forwards listening now (for release_forwards). */
    struct net_forward listening[NET_MAX_FORWARDS];
    int nlistening;
    struct net_trace *trace;        /* HOSTEL_NET_TRACE: the frame log (NULL: none) */
    uint8_t frame[NET_MAX_FRAME];
};

static void park_here(struct net_slirp *s);

bool net_user_available(void)
{
    return true;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- libslirp callbacks (all on the backend thread once it runs) ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;
    if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
        return (ssize_t)len;
    s->nb.rx_frames++;
    net_trace_frame(s->trace, true, buf, len);
    const struct net_hook *h = atomic_load(&s->nb.hook);
    if (h && h->to_guest)
        h->to_guest(h->opaque, buf, len);
    if (s->nb.receive)
        s->nb.receive(s->nb.receive_opaque, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)opaque;
    log_debug("user network: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    struct net_slirp *s = opaque;
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = s->timers;
    s->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct net_slirp *s = opaque;
    for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    if (timer)
        ((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;   /* we ask slirp for its fds on every round instead */
}

static void cb_notify(void *opaque)
{
    struct net_slirp *s = opaque;
    uint64_t one = 1;
    if (write(s->wake_fd, &one, sizeof(one)) < 0) {
        /* saturated: already awake */
    }
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_register_poll_fd,
    .notify = cb_notify,
};

/* ---- the poll loop ---- */

static int to_poll_events(int ev)
{
    int p = 0;
    if (ev & SLIRP_POLL_IN) p |= POLLIN;
    if (ev & SLIRP_POLL_OUT) p |= POLLOUT;
    if (ev & SLIRP_POLL_PRI) p |= POLLPRI;
    if (ev & SLIRP_POLL_ERR) p |= POLLERR;
    if (ev & SLIRP_POLL_HUP) p |= POLLHUP;
    return p;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    if (s->npfd >= MAX_POLLFDS)
        return -1;                   /* slirp treats it as never ready */
    s->pfd[s->npfd].fd = fd;
    s->pfd[s->npfd].events = (short)to_poll_events(events);
    s->pfd[s->npfd].revents = 0;
    return (int)s->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;
    if (idx < 0 || (unsigned)idx >= s->npfd)
        return 0;
    short r = s->pfd[idx].revents;
    int ev = 0;
    if (r & POLLIN) ev |= SLIRP_POLL_IN;
    if (r & POLLOUT) ev |= SLIRP_POLL_OUT;
    if (r & POLLPRI) ev |= SLIRP_POLL_PRI;
    if (r & POLLERR) ev |= SLIRP_POLL_ERR;
    if (r & (POLLHUP | POLLNVAL)) ev |= SLIRP_POLL_HUP;
    return ev;
}

/* Fires expired timers one at a time: a callback may re-arm or free any
 * timer, so the list is scanned afresh after each. Returns the ms until the
 * next one (-1: none). */
static int run_timers(struct net_slirp *s)
{
    for (int guard = 0; guard < 1000; guard++) {
        int64_t now = now_ns() / 1000000;
        struct slirp_timer *due = NULL;
        int64_t next = -1;
        for (struct slirp_timer *t = s->timers; t; t = t->next) {
            if (t->expire_ms < 0)
                continue;
            if (t->expire_ms <= now) {
                due = t;
                break;
            }
            if (next < 0 || t->expire_ms - now < next)
                next = t->expire_ms - now;
        }
        if (!due)
            return next > 60000 ? 60000 : (int)next;
        due->expire_ms = -1;
        net_trace_note(s->trace, "timer");
        due->cb(due->cb_opaque);
    }
    return 0;
}

static void *slirp_thread(void *opaque)
{
    struct net_slirp *s = opaque;
    while (!atomic_load(&s->stop)) {
        sandbox_net_thread_check();
        if (atomic_load(&s->park_req))
            park_here(s);
        int timeout = run_timers(s);
        uint32_t slirp_timeout = timeout < 0 ? UINT32_MAX : (uint32_t)timeout;
        s->npfd = 0;
        cb_add_poll(s->wake_fd, SLIRP_POLL_IN, s);
        cb_add_poll(net_frame_queue_fd(s->txq), SLIRP_POLL_IN, s);
        slirp_pollfds_fill(s->slirp, &slirp_timeout, cb_add_poll, s);
        int ms = slirp_timeout == UINT32_MAX ? -1 : (int)(slirp_timeout > 60000 ? 60000 : slirp_timeout);
        int r = poll(s->pfd, s->npfd, ms);
        if (r < 0 && errno != EINTR) {
            log_error("user network: poll failed: %s; networking stops", strerror(errno));
            break;
        }
        if (s->pfd[0].revents & POLLIN) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0) {
                /* spurious */
            }
        }
        slirp_pollfds_poll(s->slirp, r < 0, cb_get_revents, s);
        /* Frames from the guest; a bounded batch so sockets get their turn. */
        for (int i = 0; i < 256; i++) {
            size_t len = net_frame_queue_get(s->txq, s->frame);
            if (!len)
                break;
            net_trace_frame(s->trace, false, s->frame, len);
            slirp_input(s->slirp, s->frame, (int)len);
        }
    }
    pthread_mutex_lock(&s->park_lock);
    s->thread_done = true;
    pthread_cond_broadcast(&s->park_cond);
    pthread_mutex_unlock(&s->park_lock);
    return NULL;
}

static int slirp_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    int r = net_frame_queue_put(s->txq, frame, len);
    if (r < 0)
        nb->tx_dropped++;
    else
        nb->tx_frames++;
    return r;
}

static void slirp_close(struct net_backend *nb)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    if (s->thread_started) {
        atomic_store(&s->stop, true);
        pthread_mutex_lock(&s->park_lock);
        pthread_cond_broadcast(&s->park_cond);    /* a parked thread sees stop */
        pthread_mutex_unlock(&s->park_lock);
        cb_notify(s);
        pthread_join(s->thread, NULL);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp);
    while (s->timers) {
        struct slirp_timer *t = s->timers;
        s->timers = t->next;
        free(t);
    }
    net_frame_queue_destroy(s->txq);
    if (s->wake_fd >= 0) {
        sandbox_wake_forget(s->wake_fd);
        close(s->wake_fd);
    }
    free(s->pfd);
    net_trace_close(s->trace);
    pthread_mutex_destroy(&s->park_lock);
    pthread_cond_destroy(&s->park_cond);
    pthread_mutex_destroy(&s->state_lock);
    free(s);
}

static int slirp_save(struct net_backend *nb, struct state_out *o);
static int slirp_load(struct net_backend *nb, struct state_in *in, struct err *e);
static void slirp_set_receive(struct net_backend *nb, net_receive_fn fn, void *opaque);
static int slirp_add_forwards(struct net_backend *nb, const struct net_options *o,
                              struct err *e);
static void slirp_release_forwards(struct net_backend *nb);
static int slirp_connections(struct net_backend *nb);

static const struct net_backend_ops slirp_ops = {
    .name = "user",
    .send = slirp_send,
    .close = slirp_close,
    .mode = NET_MODE_USER,
    .save = slirp_save,
    .load = slirp_load,
    .set_receive = slirp_set_receive,
    .add_forwards = slirp_add_forwards,
    .release_forwards = slirp_release_forwards,
    .connections = slirp_connections,
};

/* Host port 0 asks for a free port: we pick one and bind it through slirp,
 * which may lose a race for it to another program; then we pick again. */
#define PICK_TRIES 8

static int add_forward(struct net_slirp *s, const struct net_forward *f, uint16_t reuse,
                       uint16_t *bound_port, struct err *e)
{
    struct in_addr host = { f->host_addr }, guest;
    char spec[64];
    inet_pton(AF_INET, NET_USER_GUEST, &guest);
    if (f->guest_addr)
        guest.s_addr = f->guest_addr;
    net_format_forward(f, spec, sizeof(spec));
    if (f->host_port) {
        if (slirp_add_hostfwd(s->slirp, f->udp, host, f->host_port, guest, f->guest_port) < 0)
            return err_set(e, -EADDRINUSE,
                           "--forward %s: cannot listen on the host (port in use, or below 1024 "
                           "without privileges); choose another host port, or 0 for any free "
                           "one", spec);
        *bound_port = f->host_port;
        return 0;
    }
    for (int i = 0; i < PICK_TRIES; i++) {
        uint16_t port = reuse;
        if (i > 0 || !port) {
            int r = net_pick_free_port(f->udp, f->host_addr, &port);
            if (r < 0)
                return err_set(e, r, "--forward %s: cannot find a free port on the host "
                               "address: %s", spec, strerror(-r));
        }
        if (slirp_add_hostfwd(s->slirp, f->udp, host, port, guest, f->guest_port) == 0) {
            *bound_port = port;
            return 0;
        }
    }
    return err_set(e, -EADDRINUSE, "--forward %s: no free host port could be bound in %d tries",
                   spec, PICK_TRIES);
}

/* Sets up every forward, tells the user where each one listens, and
 * reports the ports in o->bound. */
static int add_forwards(struct net_slirp *s, const struct net_options *o, struct err *e)
{
    struct net_forward done[NET_MAX_FORWARDS];
    int n = o->nforwards < NET_MAX_FORWARDS ? o->nforwards : NET_MAX_FORWARDS;
    for (int i = 0; i < n; i++) {
        const struct net_forward *f = &o->forwards[i];
        uint16_t reuse = 0;
        if (o->bound && o->bound[i].host_port && o->bound[i].udp == f->udp &&
            o->bound[i].host_addr == f->host_addr && o->bound[i].guest_port == f->guest_port)
            reuse = o->bound[i].host_port;       /* the port of the boot before */
        done[i] = *f;
        int r = add_forward(s, f, reuse, &done[i].host_port, e);
        if (r < 0)
            return r;
    }
    for (int i = 0; i < n; i++) {
        s->listening[i] = done[i];
        s->nlistening = i + 1;
    }
    for (int i = 0; i < n; i++) {
        char a[INET_ADDRSTRLEN];
        struct in_addr in = { done[i].host_addr };
        inet_ntop(AF_INET, &in, a, sizeof(a));
        fprintf(stderr, "hostel: forward %s %s:%u -> guest port %u\n", done[i].udp ? "udp" : "tcp",
                a, done[i].host_port, done[i].guest_port);
        if (o->bound)
            o->bound[i] = done[i];
    }
    return 0;
}

int net_slirp_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                   struct net_backend **out, struct err *e)
{
    struct net_slirp *s = calloc(1, sizeof(*s));
    int r;
    *out = NULL;
    if (!s)
        return err_set(e, -ENOMEM, "user network: out of memory");
    s->nb.ops = &slirp_ops;
    pthread_mutex_init(&s->park_lock, NULL);
    pthread_cond_init(&s->park_cond, NULL);
    pthread_mutex_init(&s->state_lock, NULL);
    s->nb.receive = receive;
    s->nb.receive_opaque = opaque;
    s->trace = net_trace_open("user networking");
    s->nb.trace = s->trace;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->pfd = calloc(MAX_POLLFDS, sizeof(*s->pfd));
    if (s->wake_fd < 0 || !s->pfd) {
        r = s->wake_fd < 0 ? -errno : -ENOMEM;
        err_set(e, r, "user network: cannot create its wake-up fd: %s", strerror(-r));
        goto fail;
    }
    r = net_frame_queue_create(TX_QUEUE_FRAMES, &s->txq);
    if (r < 0) {
        err_set(e, r, "user network: cannot create its frame queue: %s", strerror(-r));
        goto fail;
    }

    unsigned mtu = net_link_mtu(o);
    SlirpConfig cfg = {
        .version = o->user_net.network ? 4 : 3,
        .restricted = o->restrict_outbound,
        .in_enabled = true,
        .in6_enabled = false,
        .vhostname = "hostel",
        .if_mtu = mtu,
        .if_mru = mtu,
    };
    inet_pton(AF_INET, NET_USER_NETWORK, &cfg.vnetwork);
    inet_pton(AF_INET, NET_USER_NETMASK, &cfg.vnetmask);
    inet_pton(AF_INET, NET_USER_HOST, &cfg.vhost);
    inet_pton(AF_INET, NET_USER_GUEST, &cfg.vdhcp_start);
    inet_pton(AF_INET, NET_USER_DNS, &cfg.vnameserver);
    if (o->user_net.network) {
        /* A gateway on a cluster's switch: its network, and the switch's
         * own DHCP and DNS instead of libslirp's. */
        cfg.vnetwork.s_addr = o->user_net.network;
        cfg.vnetmask.s_addr = o->user_net.netmask;
        cfg.vhost.s_addr = o->user_net.host;
        cfg.vdhcp_start.s_addr = htonl(ntohl(o->user_net.network) | 2);
        cfg.vnameserver.s_addr = o->user_net.host;
        cfg.disable_dns = o->user_net.no_dhcp_dns;
        cfg.disable_dhcp = o->user_net.no_dhcp_dns;
    }
    if (o->tftp_root[0]) {
        cfg.tftp_path = o->tftp_root;
    }
    if (o->bootfile[0])
        cfg.bootfile = o->bootfile;
    s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
    if (!s->slirp) {
        r = err_set(e, -ENOMEM, "user network: libslirp refused its configuration");
        goto fail;
    }
    r = o->defer_forwards ? 0 : add_forwards(s, o, e);
    if (r < 0)
        goto fail;
    /* Woken when the sandbox comes, to put its own filter in at once. */
    sandbox_wake_on_enter(s->wake_fd);
    r = -pthread_create(&s->thread, NULL, slirp_thread, s);
    if (r < 0) {
        err_set(e, r, "user network: cannot start its thread: %s", strerror(-r));
        goto fail;
    }
    s->thread_started = true;
    *out = &s->nb;
    return 0;
fail:
    slirp_close(&s->nb);
    return r;
}

/* ---- snapshots ---- */

/* On the backend's thread, at the top of its loop: waits while someone
 * else uses libslirp. */
static void park_here(struct net_slirp *s)
{
    pthread_mutex_lock(&s->park_lock);
    s->parked = true;
    pthread_cond_broadcast(&s->park_cond);
    while (atomic_load(&s->park_req) && !atomic_load(&s->stop))
        pthread_cond_wait(&s->park_cond, &s->park_lock);
    s->parked = false;
    pthread_mutex_unlock(&s->park_lock);
}

/* Returns once the thread is parked (or not running): libslirp is ours. */
static void park(struct net_slirp *s)
{
    pthread_mutex_lock(&s->park_lock);
    atomic_fetch_add(&s->park_req, 1);
    if (s->thread_started) {
        cb_notify(s);
        while (!s->parked && !s->thread_done)
            pthread_cond_wait(&s->park_cond, &s->park_lock);
    }
    pthread_mutex_unlock(&s->park_lock);
}

static void unpark(struct net_slirp *s)
{
    pthread_mutex_lock(&s->park_lock);
    atomic_fetch_sub(&s->park_req, 1);
    pthread_cond_broadcast(&s->park_cond);
    pthread_mutex_unlock(&s->park_lock);
}

static ssize_t write_out(const void *buf, size_t len, void *opaque)
{
    st_put_bytes(opaque, buf, len);
    return (ssize_t)len;
}

struct reader {
    const uint8_t *p;
    size_t len, off;
};

/* Never past the end: a short read is what libslirp sees as the end. */
static ssize_t read_in(void *buf, size_t len, void *opaque)
{
    struct reader *r = opaque;
    size_t n = len < r->len - r->off ? len : r->len - r->off;
    memcpy(buf, r->p + r->off, n);
    r->off += n;
    return (ssize_t)n;
}

/* The largest libslirp state we take: its own is about a hundred bytes. */
#define SLIRP_STATE_MAX 65536

/* Fields: libslirp's state version (u32), the length of its bytes (u32),
 * the bytes of slirp_state_save. */
static int slirp_save(struct net_backend *nb, struct state_out *o)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    struct state_out tmp;
    state_out_init(&tmp);
    pthread_mutex_lock(&s->state_lock);
    park(s);
    slirp_state_save(s->slirp, write_out, &tmp);
    unpark(s);
    pthread_mutex_unlock(&s->state_lock);
    st_put_u32(o, (uint32_t)slirp_state_version());
    st_put_u32(o, (uint32_t)tmp.len);
    st_put_bytes(o, tmp.data, tmp.len);
    bool ok = state_out_ok(&tmp);
    state_out_free(&tmp);
    return ok && state_out_ok(o) ? 0 : -ENOMEM;
}

static int slirp_load(struct net_backend *nb, struct state_in *in, struct err *e)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    uint32_t version = st_get_u32(in), len = st_get_u32(in);
    if (in->bad)
        return err_set(e, -EINVAL, "user network: the saved state is cut short");
    if (version != (uint32_t)slirp_state_version())
        return err_set(e, -EINVAL, "user network: the state was saved by a libslirp with state "
                       "version %u; this one (%s) reads version %d", version,
                       slirp_version_string(), slirp_state_version());
    if (len > SLIRP_STATE_MAX || len > in->len - in->off)
        return err_set(e, -EINVAL, "user network: the saved state claims %u bytes of libslirp "
                       "state, more than %s", len,
                       len > SLIRP_STATE_MAX ? "libslirp ever saves" : "there are");
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes)
        return err_set(e, -ENOMEM, "user network: out of memory loading its state");
    st_get_bytes(in, bytes, len);

    struct state_out fresh;
    state_out_init(&fresh);
    int r = 0;
    pthread_mutex_lock(&s->state_lock);
    park(s);
    /* libslirp's reader trusts its input (a short read yields zeros, and a
     * saved connection's buffer sizes are taken as they come), so we only
     * hand it what we can vouch for: no connections (libslirp keeps them
     * for guest forwards only, and hostel makes none), and exactly as many
     * bytes as this libslirp writes for a state without them. */
    slirp_state_save(s->slirp, write_out, &fresh);
    if (!state_out_ok(&fresh)) {
        r = err_set(e, -ENOMEM, "user network: out of memory loading its state");
    } else if (len == 0 || bytes[0] != 0) {
        r = err_set(e, -EINVAL, "user network: the saved state holds guest-forward "
                    "connections (or none of libslirp's), which hostel never makes");
    } else if (len != fresh.len) {
        r = err_set(e, -EINVAL, "user network: the saved libslirp state has %u bytes; this "
                    "libslirp writes %zu for the same version", len, fresh.len);
    } else {
        struct reader rd = { bytes, len, 0 };
        int lr = slirp_state_load(s->slirp, (int)version, read_in, &rd);
        if (lr < 0 || rd.off != len)
            r = err_set(e, -EINVAL, "user network: libslirp refused the saved state (%s)",
                        lr < 0 ? strerror(-lr) : "not all of it was read");
    }
    unpark(s);
    pthread_mutex_unlock(&s->state_lock);
    state_out_free(&fresh);
    free(bytes);
    return r;
}

/* ---- live migration ---- */

static void slirp_set_receive(struct net_backend *nb, net_receive_fn fn, void *opaque)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    park(s);
    s->nb.receive = fn;
    s->nb.receive_opaque = opaque;
    unpark(s);
}

static int slirp_add_forwards(struct net_backend *nb, const struct net_options *o,
                              struct err *e)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    park(s);
    int r = add_forwards(s, o, e);
    unpark(s);
    return r;
}

static void slirp_release_forwards(struct net_backend *nb)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    park(s);
    for (int i = 0; i < s->nlistening; i++) {
        struct in_addr host = { s->listening[i].host_addr };
        slirp_remove_hostfwd(s->slirp, s->listening[i].udp, host, s->listening[i].host_port);
    }
    s->nlistening = 0;
    unpark(s);
}

/* libslirp keeps its connections to itself; its report for people
 * (slirp_connection_info) is all it says, one line each:
 * "  TCP[ESTABLISHED]   23  127.0.0.1 45678  10.0.2.15  22  0  0". */
static int slirp_connections(struct net_backend *nb)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    park(s);
    char *info = slirp_connection_info(s->slirp);
    unpark(s);
    if (!info)
        return -ENOMEM;
    int n = 0;
    for (char *l = info; (l = strstr(l, "TCP[")); l += 4) {
        static const char *const idle[] = { "HOST_FORWARD]", "NONE]", "CLOSED]", "LISTEN]",
                                            "TIME_WAIT]" };
        bool counts = true;
        for (size_t i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
            if (!strncmp(l + 4, idle[i], strlen(idle[i])))
                counts = false;
        n += counts;
    }
    free(info);
    return n;
}

#else /* !HOSTEL_HAVE_SLIRP */

bool net_user_available(void)
{
    return false;
}

int net_slirp_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                   struct net_backend **out, struct err *e)
{
    (void)o;
    (void)receive;
    (void)opaque;
    *out = NULL;
    return err_set(e, -ENOTSUP, "user networking needs libslirp, which this hostel was built "
                   "without: install libslirp-dev (scripts/deps.sh) and rebuild, or use --net "
                   "tap=NAME");
}

#endif
