/* `hostel web`'s screen: a WebSocket (libmicrohttpd's connection upgrade,
 * host/websocket.c's framing) carrying the RFB bytes of the machine's own
 * VNC server, unchanged, so noVNC in the page is one more viewer beside
 * any other.  The VNC server keeps refusing WebSockets itself (a page from
 * any site could open one); this bridge is behind hostel web's token. */
#include "cli/web_screen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/websocket.h"
#include "lib/file.h"
#include "mgmt/library.h"

/* Written once when hostel web stops: every bridge sees it and ends (the
 * HTTP server waits for its connections' threads). */
static int stop_fd = -1;

int web_screen_init(void)
{
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return stop_fd < 0 ? -errno : 0;
}

void web_screen_stop(void)
{
    uint64_t one = 1;
    if (stop_fd >= 0 && write(stop_fd, &one, sizeof(one)) < 0)
        return;     /* cannot happen for an eventfd below its maximum */
}

int web_screen_connect(const char *name, struct err *e)
{
    char path[4096], addr[64];
    struct file_buf b;
    if (machine_name_check(name, e) < 0)
        return -1;
    enum machine_state st = machine_state_get(name, NULL, 0);
    if (st != MACHINE_RUNNING && st != MACHINE_PAUSED) {
        err_set(e, -ENOENT, "machine '%s' is not running", name);
        return -1;
    }
    if (machine_path(name, MACHINE_DISPLAY_FILE, path, sizeof(path)) < 0 ||
        file_read_all(path, &b) < 0) {
        err_set(e, -ENOENT, "machine '%s' has no display (hostel set %s --display vnc)",
                name, name);
        return -1;
    }
    /* "vnc ADDR:PORT\n", as the VMM writes it (mgmt/daemon.c). */
    size_t n = b.len < sizeof(addr) - 1 ? b.len : sizeof(addr) - 1;
    memcpy(addr, b.data, n);
    addr[n] = 0;
    file_buf_free(&b);
    addr[strcspn(addr, "\n")] = 0;
    char *colon = strrchr(addr, ':');
    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (strncmp(addr, "vnc ", 4) != 0 || !colon) {
        err_set(e, -EINVAL, "machine '%s': cannot read where its screen listens", name);
        return -1;
    }
    *colon = 0;
    long port = strtol(colon + 1, NULL, 10);
    if (inet_pton(AF_INET, addr + 4, &sa.sin_addr) != 1 || port < 1 || port > 65535) {
        err_set(e, -EINVAL, "machine '%s': cannot read where its screen listens", name);
        return -1;
    }
    sa.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err_set(e, -errno, "machine '%s': cannot connect to its screen: %s", name,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Writes all of iov (changing it): 0, or -1 when the peer is gone. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt) {
        ssize_t k = writev(fd, iov, cnt);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        while (cnt && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt) {
            iov->iov_base = (uint8_t *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t n)
{
    struct iovec iov = { (void *)data, n };
    return writev_all(fd, &iov, 1);
}

/* Header and payload in one write: two would leave the payload waiting
 * for the header's acknowledgement (Nagle), a screen update late. */
static int send_frame(int ws, unsigned opcode, const uint8_t *data, size_t n)
{
    uint8_t h[WS_MAX_HEADER];
    struct iovec iov[2] = { { h, ws_write_header(h, opcode, n) }, { (void *)data, n } };
    return writev_all(ws, iov, 2);
}

/* The browser's frames: data frames' payloads go to the VNC server as
 * they arrive (a frame need not be whole), control frames are answered
 * once whole.  in holds what was read and not used yet.  0 to go on, -1
 * when the connection ends (a close frame, or a protocol error). */
struct ws_in {
    uint8_t buf[65536];
    size_t len;
    struct ws_frame f;
    bool in_frame;               /* f is a data frame whose payload is arriving */
    uint64_t done;               /* its payload bytes passed on so far */
};

static int from_browser(struct ws_in *in, int ws, int vnc)
{
    for (;;) {
        if (!in->in_frame) {
            int r = ws_parse_header(in->buf, in->len, &in->f);
            if (r < 0) {
                static const uint8_t protocol_error[] = { 0x03, 0xea };   /* 1002 */
                send_frame(ws, WS_OP_CLOSE, protocol_error, 2);
                return -1;
            }
            if (r == 0)
                return 0;
            if (in->f.opcode >= WS_OP_CLOSE) {
                size_t whole = in->f.header + (size_t)in->f.len;
                if (in->len < whole)
                    return 0;
                uint8_t *p = in->buf + in->f.header;
                ws_unmask(p, (size_t)in->f.len, in->f.mask, 0);
                int r2 = 0;
                if (in->f.opcode == WS_OP_CLOSE) {
                    send_frame(ws, WS_OP_CLOSE, p, in->f.len >= 2 ? 2 : 0);
                    r2 = -1;
                } else if (in->f.opcode == WS_OP_PING) {
                    r2 = send_frame(ws, WS_OP_PONG, p, (size_t)in->f.len);
                }
                memmove(in->buf, in->buf + whole, in->len - whole);
                in->len -= whole;
                if (r2 < 0)
                    return -1;
                continue;
            }
            memmove(in->buf, in->buf + in->f.header, in->len - in->f.header);
            in->len -= in->f.header;
            in->in_frame = true;
            in->done = 0;
        }
        uint64_t left = in->f.len - in->done;
        size_t n = in->len < left ? in->len : (size_t)left;
        ws_unmask(in->buf, n, in->f.mask, in->done);
        if (n && write_all(vnc, in->buf, n) < 0)
            return -1;
        memmove(in->buf, in->buf + n, in->len - n);
        in->len -= n;
        in->done += n;
        if (in->done < in->f.len)
            return 0;
        in->in_frame = false;
    }
}

struct bridge {
    int vnc;
};

static void bridge_run(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
                       size_t extra_n, MHD_socket ws, struct MHD_UpgradeResponseHandle *urh)
{
    struct bridge *br = cls;
    int vnc = br->vnc;
    (void)c;
    (void)con_cls;
    struct ws_in *in = calloc(1, sizeof(*in));
    uint8_t out[65536];
    bool ok = in != NULL;
    if (ok && extra_n) {
        size_t n = extra_n < sizeof(in->buf) ? extra_n : sizeof(in->buf);
        memcpy(in->buf, extra, n);
        in->len = n;
        ok = from_browser(in, ws, vnc) == 0;
    }
    while (ok) {
        struct pollfd p[3] = { { .fd = ws, .events = POLLIN }, { .fd = vnc, .events = POLLIN },
                               { .fd = stop_fd, .events = POLLIN } };
        if (poll(p, 3, -1) < 0) {
            ok = errno == EINTR;
            continue;
        }
        if (p[2].revents) {
            static const uint8_t going_away[] = { 0x03, 0xe9 };   /* 1001 */
            send_frame(ws, WS_OP_CLOSE, going_away, 2);
            break;
        }
        if (p[0].revents) {
            ssize_t k = read(ws, in->buf + in->len, sizeof(in->buf) - in->len);
            ok = k > 0 && (in->len += (size_t)k, from_browser(in, ws, vnc) == 0);
        }
        if (ok && p[1].revents) {
            ssize_t k = read(vnc, out, sizeof(out));
            if (k <= 0) {
                static const uint8_t going_away[] = { 0x03, 0xe9 };   /* 1001: machine gone */
                send_frame(ws, WS_OP_CLOSE, going_away, 2);
                ok = false;
            } else {
                ok = send_frame(ws, WS_OP_BINARY, out, (size_t)k) == 0;
            }
        }
    }
    free(in);
    close(vnc);
    free(br);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* Whether a comma-separated header value lists word (any case). */
static bool header_lists(const char *value, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = value; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
            t--;
        if (t == wl && !strncasecmp(p, word, wl))
            return true;
        p += n;
    }
    return false;
}

struct MHD_Response *web_screen_upgrade(struct MHD_Connection *c, int vnc, struct err *e)
{
    const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
    const char *conn = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Connection");
    const char *version = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      "Sec-WebSocket-Version");
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *proto = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    "Sec-WebSocket-Protocol");
    char accept[WS_ACCEPT_LEN];
    struct bridge *br = NULL;
    struct MHD_Response *r = NULL;
    if (!upgrade || strcasecmp(upgrade, "websocket") || !header_lists(conn, "upgrade") ||
        !version || strcmp(version, "13") || ws_accept_key(key, accept) < 0) {
        err_set(e, -EINVAL, "the screen is a WebSocket (version 13): this request is not one");
    } else if (!(br = malloc(sizeof(*br))) ||
               !(br->vnc = vnc, r = MHD_create_response_for_upgrade(bridge_run, br))) {
        err_set(e, -ENOMEM, "out of memory");
    }
    if (!r) {
        free(br);
        close(vnc);
        return NULL;
    }
    MHD_add_response_header(r, "Upgrade", "websocket");   /* libmicrohttpd adds Connection */
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    if (proto && header_lists(proto, "binary"))
        MHD_add_response_header(r, "Sec-WebSocket-Protocol", "binary");
    return r;
}
