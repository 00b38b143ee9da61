/* VNC through libvncserver (host/vnc.h).  libvncserver speaks RFB; this
 * file owns the listening socket (so the address is exactly the one asked
 * for, IPv4 only, with no IPv6 twin), hands each accepted viewer to the
 * library, and runs the library's event loop on one thread, which is also
 * the only one that asks the display to redraw. */
#include "host/vnc.h"
#include "lib/sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/display.h"
#include "lib/log.h"

struct vnc_server {
    struct display *display;
    rfbScreenInfoPtr screen;
    int listen_fd;
    int wake[2];                 /* a byte on wake[1] stops the thread */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    atomic_int viewers;
    uint64_t generation;         /* the display's, as the screen knows it */
    int fps;
    char address[64];
    char *passwords[2];
    int last_x, last_y;          /* the pointer as the viewers last put it */
    bool have_pointer;
};

/* ---- keys ------------------------------------------------------------------ */

static const struct { unsigned keysym; uint16_t code; } special_keys[] = {
    { 0xff08, 0x0e }, { 0xff09, 0x0f }, { 0xff0d, 0x1c }, { 0xff1b, 0x01 },
    { 0xffff, 0xe053 }, { 0xff50, 0xe047 }, { 0xff51, 0xe04b }, { 0xff52, 0xe048 },
    { 0xff53, 0xe04d }, { 0xff54, 0xe050 }, { 0xff55, 0xe049 }, { 0xff56, 0xe051 },
    { 0xff57, 0xe04f }, { 0xff63, 0xe052 }, { 0xff67, 0xe05d }, { 0xff14, 0x46 },
    { 0xff7f, 0x45 }, { 0xffe1, 0x2a }, { 0xffe2, 0x36 }, { 0xffe3, 0x1d }, { 0xffe4, 0xe01d },
    { 0xffe5, 0x3a }, { 0xffe7, 0x38 }, { 0xffe8, 0xe038 }, { 0xffe9, 0x38 }, { 0xffea, 0xe038 },
    { 0xffeb, 0xe05b }, { 0xffec, 0xe05c }, { 0xfe03, 0xe038 },
    { 0xff8d, 0xe01c }, { 0xffaa, 0x37 }, { 0xffab, 0x4e }, { 0xffad, 0x4a }, { 0xffae, 0x53 },
    { 0xffaf, 0xe035 }, { 0xffb0, 0x52 }, { 0xffb1, 0x4f }, { 0xffb2, 0x50 }, { 0xffb3, 0x51 },
    { 0xffb4, 0x4b }, { 0xffb5, 0x4c }, { 0xffb6, 0x4d }, { 0xffb7, 0x47 }, { 0xffb8, 0x48 },
    { 0xffb9, 0x49 },
};

/* Printable ASCII from 0x20: the key that types it on a US keyboard. */
static const uint8_t ascii_keys[95] = {
    /* space ! " # $ % & ' ( ) * + , - . / */
    0x39, 0x02, 0x28, 0x04, 0x05, 0x06, 0x08, 0x28, 0x0a, 0x0b, 0x09, 0x0d, 0x33, 0x0c, 0x34, 0x35,
    /* 0-9 */
    0x0b, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    /* : ; < = > ? @ */
    0x27, 0x27, 0x33, 0x0d, 0x34, 0x35, 0x03,
    /* A-Z */
    0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32, 0x31, 0x18,
    0x19, 0x10, 0x13, 0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c,
    /* [ \ ] ^ _ ` */
    0x1a, 0x2b, 0x1b, 0x07, 0x0c, 0x29,
    /* a-z */
    0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32, 0x31, 0x18,
    0x19, 0x10, 0x13, 0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c,
    /* { | } ~ */
    0x1a, 0x2b, 0x1b, 0x29,
};

unsigned vnc_keysym_scancode(unsigned keysym)
{
    if (keysym >= 0x20 && keysym < 0x7f)
        return ascii_keys[keysym - 0x20];
    if (keysym >= 0xffbe && keysym <= 0xffc7)          /* F1-F10 */
        return 0x3b + (keysym - 0xffbe);
    if (keysym == 0xffc8 || keysym == 0xffc9)           /* F11, F12 */
        return keysym == 0xffc8 ? 0x57 : 0x58;
    for (size_t i = 0; i < sizeof(special_keys) / sizeof(special_keys[0]); i++)
        if (special_keys[i].keysym == keysym)
            return special_keys[i].code;
    return 0;
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
    struct vnc_server *s = cl->screen->screenData;
    unsigned code = vnc_keysym_scancode((unsigned)keysym);
    if (code)
        display_key(s->display, (uint16_t)code, down);
    else
        log_debug("vnc: keysym 0x%x has no PC key", (unsigned)keysym);
}

/* VNC sends where the pointer is; a PS/2 mouse reports movement. */
static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
    struct vnc_server *s = cl->screen->screenData;
    int dx = s->have_pointer ? x - s->last_x : 0, dy = s->have_pointer ? y - s->last_y : 0;
    int dz = (mask & 16 ? 1 : 0) - (mask & 8 ? 1 : 0);
    s->last_x = x;
    s->last_y = y;
    s->have_pointer = true;
    display_pointer(s->display, dx, dy, dz, (unsigned)mask & 7);
}

static void on_gone(rfbClientPtr cl)
{
    struct vnc_server *s = cl->screen->screenData;
    atomic_fetch_sub(&s->viewers, 1);
    log_info("vnc: a viewer left %s", s->address);
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
    struct vnc_server *s = cl->screen->screenData;
    cl->clientGoneHook = on_gone;
    atomic_fetch_add(&s->viewers, 1);
    log_info("vnc: a viewer connected to %s", s->address);
    return RFB_CLIENT_ACCEPT;
}

/* ---- the screen ------------------------------------------------------------ */

static void vnc_log(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    buf[strcspn(buf, "\n")] = 0;
    log_debug("libvncserver: %s", buf);
}

/* The screen's pixels are the display's: 0x00RRGGBB words. */
static void set_format(rfbScreenInfoPtr sc)
{
    sc->serverFormat.redShift = 16;
    sc->serverFormat.greenShift = 8;
    sc->serverFormat.blueShift = 0;
}

/* Brings the screen up to date with the display; called with viewers. */
static void update(struct vnc_server *s, bool full)
{
    display_lock(s->display);
    struct display_rect r = display_refresh(s->display, full);
    int w, h;
    uint32_t *px = display_pixels(s->display, &w, &h, NULL);
    if (px && display_generation(s->display) != s->generation) {
        s->generation = display_generation(s->display);
        rfbNewFramebuffer(s->screen, (char *)px, w, h, 8, 3, 4);
        set_format(s->screen);
        r = (struct display_rect){ 0, 0, w, h };
    }
    if (px && r.w)
        rfbMarkRectAsModified(s->screen, r.x, r.y, r.x + r.w, r.y + r.h);
    display_unlock(s->display);
}

static void accept_viewer(struct vnc_server *s)
{
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (fd >= FD_SETSIZE) {   /* libvncserver waits with select() */
        log_warn("vnc: too many open files for another viewer");
        close(fd);
        return;
    }
    /* A VNC viewer waits for the server to speak first.  Whatever talks
     * first is a browser (HTTP, a WebSocket upgrade, TLS): libvncserver
     * would speak WebSocket to it, and then any web page the user opens
     * could reach this loopback port and type into the machine.  Refused. */
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, 50) > 0) {
        char peek[4] = "";
        ssize_t n = recv(fd, peek, sizeof(peek), MSG_PEEK);
        log_warn("vnc: refused a connection to %s that spoke first (%s): only VNC viewers "
                 "are served, not web pages", s->address,
                 n >= 3 && !memcmp(peek, "GET", 3) ? "HTTP" : "not VNC");
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    update(s, true);
    rfbNewClient(s->screen, fd);
}

static void *vnc_thread(void *opaque)
{
    struct vnc_server *s = opaque;
    long period_us = 1000000L / s->fps;
    while (!atomic_load(&s->stop)) {
        sandbox_thread_check(SANDBOX_DISPLAY);
        bool watched = atomic_load(&s->viewers) > 0;
        /* Nobody watching: sleep until a viewer knocks (no redraws at all). */
        struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN },
                               { .fd = s->wake[0], .events = POLLIN } };
        int n = poll(p, 2, watched ? 0 : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN)
            accept_viewer(s);
        if (atomic_load(&s->viewers) > 0) {
            update(s, false);
            rfbProcessEvents(s->screen, period_us);
        }
    }
    return NULL;
}

static int listen_on(const char *addr, int port, int *fd_out, int *port_out)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return -EINVAL;
    int lo = port ? port : 5900, hi = port ? port : 5999, r = -EADDRINUSE;
    for (int p = lo; p <= hi; p++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return -errno;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sa.sin_port = htons((uint16_t)p);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 8) == 0) {
            *fd_out = fd;
            *port_out = p;
            return 0;
        }
        r = -errno;
        close(fd);
        if (r != -EADDRINUSE)
            break;
    }
    return r;
}

int vnc_server_start(struct display *d, const struct vnc_options *o, struct vnc_server **out,
                     struct err *e)
{
    const char *addr = o->addr && *o->addr ? o->addr : "127.0.0.1";
    struct in_addr in;
    if (inet_pton(AF_INET, addr, &in) != 1)
        return err_set(e, -EINVAL, "VNC: '%s' is not an IPv4 address", addr);
    bool loopback = (ntohl(in.s_addr) >> 24) == 127;
    if (!loopback && !(o->password && *o->password))
        return err_set(e, -EPERM, "VNC on %s would let anyone on the network take the "
                       "machine's screen and keyboard: listen on 127.0.0.1 (and tunnel, e.g. "
                       "ssh -L), or give a password (--display vnc=%s:PORT,password-file=FILE)",
                       addr, addr);
    struct vnc_server *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory");
    s->display = d;
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    s->fps = o->fps > 0 ? o->fps : 30;
    int port = 0, r = listen_on(addr, o->port, &s->listen_fd, &port);
    if (r < 0) {
        if (o->port)
            err_set(e, r, "VNC: cannot listen on %s:%d: %s", addr, o->port, strerror(-r));
        else
            err_set(e, r, "VNC: no free port from 5900 to 5999 on %s: %s", addr, strerror(-r));
        goto fail;
    }
    snprintf(s->address, sizeof(s->address), "%s:%d", addr, port);
    if (pipe2(s->wake, O_CLOEXEC) < 0) {
        r = err_set(e, -errno, "VNC: pipe: %s", strerror(errno));
        goto fail;
    }
    rfbLog = vnc_log;
    rfbErr = vnc_log;
    /* A first picture (the device draws the real one when a viewer comes). */
    display_lock(d);
    display_refresh(d, true);
    int w = 640, h = 480;
    uint32_t *px = display_pixels(d, &w, &h, NULL);
    if (!px) {
        display_resize(d, 640, 400);
        px = display_pixels(d, &w, &h, NULL);
    }
    s->generation = display_generation(d);
    display_unlock(d);
    int argc = 0;
    s->screen = rfbGetScreen(&argc, NULL, w, h, 8, 3, 4);
    if (!s->screen || !px) {
        r = err_set(e, -ENOMEM, "VNC: cannot set up the screen");
        goto fail;
    }
    rfbScreenInfoPtr sc = s->screen;
    sc->screenData = s;
    sc->frameBuffer = (char *)px;
    set_format(sc);
    sc->desktopName = "hostel";
    sc->port = 0;            /* we listen ourselves: libvncserver opens no socket */
    sc->ipv6port = 0;
    sc->autoPort = FALSE;
    sc->httpPort = 0;
    sc->alwaysShared = TRUE; /* several viewers at once */
    sc->cursor = NULL;       /* the guest draws its own pointer: none over its picture */
    sc->kbdAddEvent = on_key;
    sc->ptrAddEvent = on_pointer;
    sc->newClientHook = on_new_client;
    if (o->password && *o->password) {
        s->passwords[0] = strdup(o->password);
        sc->authPasswdData = s->passwords;
        sc->passwordCheck = rfbCheckPasswordByList;
    }
    rfbInitServer(sc);
    if (pthread_create(&s->thread, NULL, vnc_thread, s) != 0) {
        r = err_set(e, -EAGAIN, "VNC: cannot start its thread");
        goto fail;
    }
    s->started = true;
    *out = s;
    return 0;
fail:
    vnc_server_stop(s);
    return r;
}

const char *vnc_server_address(const struct vnc_server *s)
{
    return s->address;
}

int vnc_server_viewers(struct vnc_server *s)
{
    return atomic_load(&s->viewers);
}

void vnc_server_stop(struct vnc_server *s)
{
    if (!s)
        return;
    if (s->started) {
        atomic_store(&s->stop, true);
        if (write(s->wake[1], "x", 1) < 0) {
            /* the flag alone stops it within a frame */
        }
        pthread_join(s->thread, NULL);
    }
    if (s->screen) {
        rfbShutdownServer(s->screen, TRUE);
        s->screen->frameBuffer = NULL;
        rfbScreenCleanup(s->screen);
    }
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    free(s->passwords[0]);
    free(s);
}
