/* A host tap device as network backend: frames go straight to and from the
 * host kernel's interface NAME (/dev/net/tun, IFF_TAP without packet info).
 * A thread reads the tap; sends are non-blocking writes, dropped when the
 * host queue is full (as a real wire would lose them). */
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/jail.h"
#include "lib/log.h"
#include "lib/sandbox.h"

struct net_tap {
    struct net_backend nb;          /* first: the net_backend * is this */
    int fd;
    int wake_fd;
    _Atomic bool stop;
    bool thread_started;
    pthread_t thread;
    char name[IFNAMSIZ];
    uint8_t frame[NET_MAX_FRAME];
};

static void *tap_thread(void *opaque)
{
    struct net_tap *t = opaque;
    struct pollfd pfd[2] = { { .fd = t->fd, .events = POLLIN }, { .fd = t->wake_fd, .events = POLLIN } };
    while (!atomic_load(&t->stop)) {
        sandbox_net_thread_check();
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("tap %s: poll failed: %s; networking stops", t->name, strerror(errno));
            break;
        }
        if (pfd[1].revents)
            continue;                /* stop (checked above) */
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            log_error("tap %s: the device went away; networking stops", t->name);
            break;
        }
        for (int i = 0; i < 64; i++) {
            ssize_t n = read(t->fd, t->frame, sizeof(t->frame));
            if (n < 0)
                break;               /* EAGAIN: drained */
            if (n < NET_MIN_FRAME)
                continue;
            t->nb.rx_frames++;
            if (t->nb.receive)
                t->nb.receive(t->nb.receive_opaque, t->frame, (size_t)n);
        }
    }
    return NULL;
}

static int tap_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_tap *t = (struct net_tap *)nb;
    if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
        return -EMSGSIZE;
    ssize_t n = write(t->fd, frame, len);
    if (n < 0) {
        nb->tx_dropped++;
        return -errno;
    }
    nb->tx_frames++;
    return 0;
}

static void tap_close(struct net_backend *nb)
{
    struct net_tap *t = (struct net_tap *)nb;
    if (t->thread_started) {
        atomic_store(&t->stop, true);
        uint64_t one = 1;
        if (write(t->wake_fd, &one, sizeof(one)) < 0) {
            /* saturated: already awake */
        }
        pthread_join(t->thread, NULL);
    }
    if (t->fd >= 0)
        close(t->fd);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    free(t);
}

static const struct net_backend_ops tap_ops = {
    .name = "tap",
    .send = tap_send,
    .close = tap_close,
    .mode = NET_MODE_TAP,          /* nothing to save: the host kernel keeps the rest */
};

int net_tap_open(const char *name, net_receive_fn receive, void *opaque,
                 struct net_backend **out, struct err *e)
{
    *out = NULL;
    if (!name || !*name || strlen(name) >= IFNAMSIZ)
        return err_set(e, -EINVAL, "--net tap=NAME: give an interface name of 1 to %d "
                       "characters", IFNAMSIZ - 1);
    struct net_tap *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(e, -ENOMEM, "tap %s: out of memory", name);
    t->nb.ops = &tap_ops;
    t->nb.receive = receive;
    t->nb.receive_opaque = opaque;
    t->wake_fd = -1;
    snprintf(t->name, sizeof(t->name), "%s", name);
    int r;
    t->fd = jail_open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);   /* kept: lib/jail.h */
    if (t->fd < 0) {
        r = -errno;
        if (r == -ENOENT || r == -ENODEV)
            err_set(e, r, "tap %s: /dev/net/tun is missing: load the tun module (modprobe tun) "
                    "or use --net user", name);
        else if (r == -EACCES || r == -EPERM)
            err_set(e, r, "tap %s: cannot open /dev/net/tun: %s; run with access to it (or use "
                    "--net user)", name, strerror(-r));
        else
            err_set(e, r, "tap %s: cannot open /dev/net/tun: %s", name, strerror(-r));
        goto fail;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, t->name, sizeof(t->name));
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        r = -errno;
        if (r == -EPERM || r == -EACCES)
            err_set(e, r, "tap %s: not permitted to attach (%s). Create it once for your user: "
                    "sudo ip tuntap add dev %s mode tap user $USER && sudo ip link set %s up; "
                    "or run with CAP_NET_ADMIN; or use --net user",
                    name, strerror(-r), name, name);
        else if (r == -EBUSY)
            err_set(e, r, "tap %s: busy: another program (or another hostel) holds it; pick "
                    "another name", name);
        else
            err_set(e, r, "tap %s: TUNSETIFF failed: %s (is %s a tap device, not a tun?)", name,
                    strerror(-r), name);
        goto fail;
    }
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->wake_fd < 0) {
        r = -errno;
        err_set(e, r, "tap %s: cannot create its wake-up fd: %s", name, strerror(-r));
        goto fail;
    }
    r = -pthread_create(&t->thread, NULL, tap_thread, t);
    if (r < 0) {
        err_set(e, r, "tap %s: cannot start its thread: %s", name, strerror(-r));
        goto fail;
    }
    t->thread_started = true;
    *out = &t->nb;
    return 0;
fail:
    tap_close(&t->nb);
    return r;
}
