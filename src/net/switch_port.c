/* A machine's port on hostel's switch (--net switch=NAME): a Unix seqpacket
 * connection to $HOSTEL_HOME/clusters/NAME/switch.sock, one message per
 * Ethernet frame.  A thread reads the switch; sends are non-blocking and
 * dropped when the socket is full, as a wire would lose them.  When the
 * switch goes away the port keeps trying to join it again, so a switch
 * that restarts finds its machines back. */
#include "net/switch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sandbox.h"

#define PORT_SOCKBUF (2 << 20)
#define WELCOME_MS   5000
#define REJOIN_MS    1000

struct net_swport {
    struct net_backend nb;          /* first: the net_backend * is this */
    pthread_mutex_t lock;           /* fd, against a rejoin while the device sends */
    int fd;
    int wake_fd;
    _Atomic bool stop;
    bool thread_started;
    pthread_t thread;
    char name[SWITCH_NAME_MAX + 1];
    char path[4096];
    struct switch_hello hello;
    uint8_t frame[NET_MAX_FRAME];
};

/* Connects and says hello; the switch's welcome decides. */
static int join(struct net_swport *p, int *fd_out, struct err *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(p->path) >= sizeof(sa.sun_path))
        return err_set(e, -ENAMETOOLONG, "switch %s: its socket path %s is too long for a Unix "
                       "socket (set HOSTEL_HOME to a shorter folder)", p->name, p->path);
    strcpy(sa.sun_path, p->path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, -errno, "switch %s: socket: %s", p->name, strerror(errno));
    int r;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(fd);
        if (r == -ENOENT || r == -ECONNREFUSED)
            return err_set(e, r, "switch '%s' is not running (nothing listens on %s): bring "
                           "its cluster up with 'hostel cluster up FILE' (docs/clusters.md)",
                           p->name, p->path);
        return err_set(e, r, "switch %s: cannot connect to %s: %s", p->name, p->path,
                       strerror(-r));
    }
    int sz = PORT_SOCKBUF;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (send(fd, &p->hello, sizeof(p->hello), MSG_NOSIGNAL) != (ssize_t)sizeof(p->hello)) {
        r = -errno;
        close(fd);
        return err_set(e, r ? r : -EIO, "switch %s: cannot say hello: %s", p->name,
                       strerror(errno));
    }
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    struct switch_welcome w;
    r = poll(&pfd, 1, WELCOME_MS);
    ssize_t n = r > 0 ? recv(fd, &w, sizeof(w), 0) : -1;
    if (n != (ssize_t)sizeof(w) || memcmp(w.magic, SWITCH_MAGIC, 4)) {
        close(fd);
        return err_set(e, -EPROTO, "switch %s: no welcome from %s within %d s (is it a hostel "
                       "switch of this version?)", p->name, p->path, WELCOME_MS / 1000);
    }
    w.msg[sizeof(w.msg) - 1] = 0;
    if (w.status < 0) {
        close(fd);
        return err_set(e, w.status, "switch '%s' refused this machine: %s", p->name, w.msg);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    log_info("switch %s: joined as %s", p->name, w.msg);
    *fd_out = fd;
    return 0;
}

static void set_fd(struct net_swport *p, int fd)
{
    pthread_mutex_lock(&p->lock);
    int old = p->fd;
    p->fd = fd;
    pthread_mutex_unlock(&p->lock);
    if (old >= 0)
        close(old);
}

static void *port_thread(void *opaque)
{
    struct net_swport *p = opaque;
    bool told = false;
    while (!atomic_load(&p->stop)) {
        sandbox_net_thread_check();
        if (p->fd < 0) {
            /* Gone: wait a second (or the stop), then try to join again. */
            struct pollfd w = { .fd = p->wake_fd, .events = POLLIN };
            if (poll(&w, 1, REJOIN_MS) > 0)
                continue;
            int fd;
            struct err e = ERR_INIT;
            if (join(p, &fd, &e) == 0) {
                set_fd(p, fd);
                log_warn("switch %s: joined again", p->name);
                told = false;
            } else if (!told) {
                log_warn("%s; retrying every second", e.msg);
                told = true;
            }
            continue;
        }
        struct pollfd pfd[2] = { { .fd = p->fd, .events = POLLIN },
                                 { .fd = p->wake_fd, .events = POLLIN } };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("switch %s: poll failed: %s; networking stops", p->name, strerror(errno));
            break;
        }
        if (pfd[1].revents)
            continue;                /* stop (checked above) */
        bool gone = pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL);
        for (int i = 0; i < 64 && (pfd[0].revents & POLLIN); i++) {
            ssize_t n = recv(p->fd, p->frame, sizeof(p->frame), MSG_DONTWAIT);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    gone = true;
                break;
            }
            if (n == 0) {
                gone = true;         /* the switch closed us */
                break;
            }
            if (n < NET_MIN_FRAME)
                continue;
            p->nb.rx_frames++;
            if (p->nb.receive)
                p->nb.receive(p->nb.receive_opaque, p->frame, (size_t)n);
        }
        if (gone) {
            log_warn("switch %s went away: the machine's network is down until it is back",
                     p->name);
            set_fd(p, -1);
        }
    }
    return NULL;
}

static int port_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_swport *p = (struct net_swport *)nb;
    if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
        return -EMSGSIZE;
    pthread_mutex_lock(&p->lock);
    ssize_t n = p->fd >= 0 ? send(p->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) : -1;
    int err = p->fd >= 0 ? errno : ENOTCONN;
    pthread_mutex_unlock(&p->lock);
    if (n < 0) {
        nb->tx_dropped++;
        return -err;
    }
    nb->tx_frames++;
    return 0;
}

static void port_close(struct net_backend *nb)
{
    struct net_swport *p = (struct net_swport *)nb;
    if (p->thread_started) {
        atomic_store(&p->stop, true);
        uint64_t one = 1;
        if (write(p->wake_fd, &one, sizeof(one)) < 0) {
            /* saturated: already awake */
        }
        pthread_join(p->thread, NULL);
    }
    if (p->fd >= 0)
        close(p->fd);
    if (p->wake_fd >= 0)
        close(p->wake_fd);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static const struct net_backend_ops switch_port_ops = {
    .name = "switch",
    .send = port_send,
    .close = port_close,
    .mode = NET_MODE_SWITCH,       /* nothing to save: the switch keeps the rest */
};

int net_switch_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                    struct net_backend **out, struct err *e)
{
    *out = NULL;
    char label[64];
    struct net_swport *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(e, -ENOMEM, "switch port: out of memory");
    p->fd = p->wake_fd = -1;
    pthread_mutex_init(&p->lock, NULL);
    p->nb.ops = &switch_port_ops;
    p->nb.receive = receive;
    p->nb.receive_opaque = opaque;
    int r = net_switch_parse(o->switch_spec ? o->switch_spec : "", p->name, sizeof(p->name),
                             label, sizeof(label), e);
    if (r < 0)
        goto fail;
    r = net_switch_path(p->name, SWITCH_SOCKET_FILE, p->path, sizeof(p->path));
    if (r < 0) {
        err_set(e, r, "switch %s: cannot make its socket's path: %s", p->name, strerror(-r));
        goto fail;
    }
    memcpy(p->hello.magic, SWITCH_MAGIC, 4);
    memcpy(p->hello.mac, o->mac, 6);
    p->hello.pid = (uint32_t)getpid();
    snprintf(p->hello.label, sizeof(p->hello.label), "%s", label);
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0) {
        r = err_set(e, -errno, "switch %s: eventfd: %s", p->name, strerror(errno));
        goto fail;
    }
    int fd;
    if ((r = join(p, &fd, e)) < 0)
        goto fail;
    p->fd = fd;
    r = -pthread_create(&p->thread, NULL, port_thread, p);
    if (r < 0) {
        err_set(e, r, "switch %s: cannot start its thread: %s", p->name, strerror(-r));
        goto fail;
    }
    p->thread_started = true;
    *out = &p->nb;
    return 0;
fail:
    port_close(&p->nb);
    return r;
}
