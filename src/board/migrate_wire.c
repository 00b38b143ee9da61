/* Live migration's stream (board/migrate_wire.h). */
#include "board/migrate_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define HDR 12   /* type, length, CRC: u32 each, little-endian */

static const char *const type_names[MIG_TYPE_MAX] = {
    [MIG_HELLO] = "HELLO", [MIG_ACCEPT] = "ACCEPT", [MIG_REFUSE] = "REFUSE",
    [MIG_FILE] = "FILE", [MIG_RAM] = "RAM", [MIG_DISK] = "DISK", [MIG_STATE] = "STATE",
    [MIG_END] = "END", [MIG_READY] = "READY", [MIG_GO] = "GO", [MIG_RUNNING] = "RUNNING",
    [MIG_QUERY] = "QUERY", [MIG_ANSWER] = "ANSWER", [MIG_FRAME] = "FRAME",
    [MIG_DRAIN_END] = "DRAIN_END", [MIG_RELEASED] = "RELEASED",
};

const char *mig_type_name(uint32_t type)
{
    return type < MIG_TYPE_MAX && type_names[type] ? type_names[type] : "unknown";
}

uint32_t mig_crc32(uint32_t c, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = (uint32_t)crc32(c, b, n);
        b += n;
        len -= n;
    }
    return c;
}

uint64_t mig_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void mig_conn_init(struct mig_conn *c, int fd)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->timeout_ms = 30000;
    c->level = 1;
    pthread_mutex_init(&c->send_lock, NULL);
}

void mig_conn_free(struct mig_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->rbuf);
    free(c->zbuf);
    free(c->cbuf);
    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    c->rbuf = c->zbuf = c->cbuf = NULL;
    c->zc = c->zd = NULL;
    pthread_mutex_destroy(&c->send_lock);
}

void mig_conn_shutdown(struct mig_conn *c)
{
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
}

void mig_refuse_linger(struct mig_conn *c, const char *why, int ms)
{
    if (c->fd < 0)
        return;
    mig_send(c, MIG_REFUSE, why, strlen(why), NULL);
    /* Closing with the sender's bytes unread would reset the connection
     * and take the REFUSE with it: end our side, read theirs away until
     * they close (they stop at the REFUSE) or the time is up. */
    shutdown(c->fd, SHUT_WR);
    uint64_t until = mig_now_ns() + (uint64_t)ms * 1000000ull;
    static uint8_t sink[65536];
    while (mig_now_ns() < until) {
        struct pollfd p = { c->fd, POLLIN, 0 };
        int left = (int)((until - mig_now_ns()) / 1000000ull) + 1;
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
    }
}

int mig_peer_refused(struct mig_conn *c, struct err *e)
{
    struct pollfd p = { c->fd, POLLIN, 0 };
    if (c->fd < 0 || poll(&p, 1, 0) <= 0)
        return 0;
    uint32_t type;
    const uint8_t *payload;
    size_t len;
    struct err e2 = ERR_INIT;
    int r = mig_recv(c, &type, &payload, &len, 2000, &e2);
    if (r < 0) {
        *e = e2;
        return r;
    }
    if (type == MIG_REFUSE)
        return err_set(e, -ECONNREFUSED, "the receiver refused: %.*s",
                       (int)(len < 600 ? len : 600), (const char *)payload);
    return err_set(e, -EPROTO, "migration: the receiver sent %s during the copy",
                   mig_type_name(type));
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    size_t n = *cap ? *cap : 65536;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p)
        return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Waits until fd is ready for events; -ETIMEDOUT after timeout_ms. */
static int wait_fd(int fd, short events, int timeout_ms)
{
    for (;;) {
        struct pollfd p = { fd, events, 0 };
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ETIMEDOUT;
        return 0;
    }
}

static int write_all(struct mig_conn *c, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c->fd, POLLOUT, c->timeout_ms);
            if (r < 0)
                return r;
            continue;
        }
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
        c->sent += (uint64_t)n;
    }
    return 0;
}

static int read_all(struct mig_conn *c, uint8_t *p, size_t len, int timeout_ms)
{
    while (len) {
        ssize_t n = recv(c->fd, p, len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c->fd, POLLIN, timeout_ms);
            if (r < 0)
                return r;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;   /* the peer closed the stream */
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
        c->received += (uint64_t)n;
    }
    return 0;
}

/* The bandwidth limit: sleeps until what was sent fits the rate. */
static void pace(struct mig_conn *c)
{
    if (!c->bw_limit)
        return;
    uint64_t now = mig_now_ns();
    if (!c->bw_t0_ns) {
        c->bw_t0_ns = now;
        c->bw_sent0 = c->sent;
        return;
    }
    double due = (double)(c->sent - c->bw_sent0) / (double)c->bw_limit * 1e9;
    double ahead = due - (double)(now - c->bw_t0_ns);
    if (ahead > 1e6) {
        struct timespec ts = { (time_t)(ahead / 1e9), (long)((uint64_t)ahead % 1000000000ull) };
        nanosleep(&ts, NULL);
    }
    /* A window of a few seconds: an idle spell earns no burst. */
    if (now - c->bw_t0_ns > 4000000000ull) {
        c->bw_t0_ns = mig_now_ns();
        c->bw_sent0 = c->sent;
    }
}

static const char *why(int r)
{
    switch (r) {
    case -ECONNRESET:
    case -EPIPE:
        return "the other side closed the connection";
    case -ETIMEDOUT:
        return "the other side stopped answering (timed out)";
    default:
        return strerror(-r);
    }
}

static int send_parts(struct mig_conn *c, uint32_t type, const void *a, size_t alen,
                      const void *b, size_t blen, struct err *e)
{
    if (alen + blen > MIG_MAX_MSG)
        return err_set(e, -EMSGSIZE, "migration: a %s message of %zu bytes is too large",
                       mig_type_name(type), alen + blen);
    uint8_t h[HDR];
    put32(h, type);
    put32(h + 4, (uint32_t)(alen + blen));
    uint32_t crc = mig_crc32(0, h, 8);
    crc = mig_crc32(crc, a, alen);
    crc = mig_crc32(crc, b, blen);
    put32(h + 8, crc);
    pthread_mutex_lock(&c->send_lock);
    pace(c);
    int r = write_all(c, h, HDR);
    if (r == 0 && alen)
        r = write_all(c, a, alen);
    if (r == 0 && blen)
        r = write_all(c, b, blen);
    pthread_mutex_unlock(&c->send_lock);
    if (r < 0)
        return err_set(e, r, "migration: cannot send %s: %s", mig_type_name(type), why(r));
    return 0;
}

int mig_send(struct mig_conn *c, uint32_t type, const void *payload, size_t len, struct err *e)
{
    c->raw_sent += len;
    return send_parts(c, type, payload, len, NULL, 0, e);
}

int mig_send_packed(struct mig_conn *c, uint32_t type, const void *raw, size_t len,
                    struct err *e)
{
    if (len > MIG_MAX_MSG - 5)
        return err_set(e, -EMSGSIZE, "migration: a batch of %zu bytes is too large", len);
    uint8_t h[5];
    c->raw_sent += len;
    if (c->level > 0 && len >= 256) {
        if (!c->zc && !(c->zc = ZSTD_createCCtx()))
            return err_set(e, -ENOMEM, "migration: out of memory for compression");
        size_t bound = ZSTD_compressBound(len);
        if (grow(&c->cbuf, &c->ccap, bound) < 0)
            return err_set(e, -ENOMEM, "migration: out of memory for compression");
        size_t n = ZSTD_compressCCtx(c->zc, c->cbuf, c->ccap, raw, len, c->level);
        if (!ZSTD_isError(n) && n < len - len / 8) {
            h[0] = 1;
            put32(h + 1, (uint32_t)len);
            return send_parts(c, type, h, 5, c->cbuf, n, e);
        }
    }
    h[0] = 0;
    put32(h + 1, (uint32_t)len);
    return send_parts(c, type, h, 5, raw, len, e);
}

int mig_recv(struct mig_conn *c, uint32_t *type, const uint8_t **payload, size_t *len,
             int timeout_ms, struct err *e)
{
    uint8_t h[HDR];
    if (timeout_ms < 0)
        timeout_ms = c->timeout_ms;
    int r = read_all(c, h, HDR, timeout_ms);
    if (r < 0)
        return err_set(e, r, "migration: %s", why(r));
    uint32_t t = get32(h), n = get32(h + 4), crc = get32(h + 8);
    if (t == 0 || t >= MIG_TYPE_MAX)
        return err_set(e, -EPROTO, "migration: the stream is not hostel's (message type %u)",
                       t);
    if (n > MIG_MAX_MSG)
        return err_set(e, -EPROTO, "migration: a %s message claims %u bytes, more than %u",
                       mig_type_name(t), n, MIG_MAX_MSG);
    if (grow(&c->rbuf, &c->rcap, n ? n : 1) < 0)
        return err_set(e, -ENOMEM, "migration: out of memory for a %u-byte message", n);
    r = read_all(c, c->rbuf, n, c->timeout_ms);
    if (r < 0)
        return err_set(e, r, "migration: in a %s message: %s", mig_type_name(t), why(r));
    uint32_t have = mig_crc32(mig_crc32(0, h, 8), c->rbuf, n);
    if (have != crc)
        return err_set(e, -EBADMSG, "migration: a %s message is damaged (checksum)",
                       mig_type_name(t));
    *type = t;
    *payload = c->rbuf;
    *len = n;
    return 0;
}

int mig_unpack(struct mig_conn *c, const uint8_t *p, size_t len, size_t max,
               const uint8_t **raw, size_t *raw_len, struct err *e)
{
    if (len < 5)
        return err_set(e, -EPROTO, "migration: a batch too short to hold its header");
    uint8_t codec = p[0];
    uint32_t n = get32(p + 1);
    if (n > max)
        return err_set(e, -EPROTO, "migration: a batch claims %u bytes, more than %zu", n, max);
    if (codec == 0) {
        if (len - 5 != n)
            return err_set(e, -EPROTO, "migration: a batch's length does not match its header");
        *raw = p + 5;
        *raw_len = n;
        return 0;
    }
    if (codec != 1)
        return err_set(e, -EPROTO, "migration: unknown batch encoding %u", codec);
    if (!c->zd && !(c->zd = ZSTD_createDCtx()))
        return err_set(e, -ENOMEM, "migration: out of memory for decompression");
    if (grow(&c->zbuf, &c->zcap, n ? n : 1) < 0)
        return err_set(e, -ENOMEM, "migration: out of memory for a %u-byte batch", n);
    unsigned long long claimed = ZSTD_getFrameContentSize(p + 5, len - 5);
    if (claimed != n)
        return err_set(e, -EPROTO, "migration: a compressed batch does not say it holds %u "
                       "bytes", n);
    size_t got = ZSTD_decompressDCtx(c->zd, c->zbuf, n, p + 5, len - 5);
    if (ZSTD_isError(got) || got != n)
        return err_set(e, -EPROTO, "migration: a compressed batch is damaged");
    *raw = c->zbuf;
    *raw_len = n;
    return 0;
}

/* ---- addresses ---------------------------------------------------------------- */

int mig_parse_addr(const char *s, struct mig_addr *a, struct err *e)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->text, sizeof(a->text), "%s", s);
    if (!strncmp(s, "unix:", 5)) {
        struct sockaddr_un *u = (struct sockaddr_un *)&a->ss;
        if (!s[5] || strlen(s + 5) >= sizeof(u->sun_path))
            return err_set(e, -EINVAL, "'%s': a Unix socket path of 1 to %zu bytes", s,
                           sizeof(u->sun_path) - 1);
        u->sun_family = AF_UNIX;
        strcpy(u->sun_path, s + 5);
        a->len = sizeof(*u);
        return 0;
    }
    if (!strncmp(s, "tcp:", 4))
        s += 4;
    char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || !colon[1] || (size_t)(colon - s) >= sizeof(host))
        return err_set(e, -EINVAL, "'%s': write HOST:PORT (tcp:HOST:PORT, [IPv6]:PORT) or "
                       "unix:PATH", a->text);
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return err_set(e, -EINVAL, "'%s': the port must be a number from 0 to 65535", a->text);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res;
    int g = getaddrinfo(host, colon + 1, &hints, &res);
    if (g)
        return err_set(e, -EINVAL, "'%s': cannot resolve %s: %s", a->text, host,
                       gai_strerror(g));
    memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void mig_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char h[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, h, sizeof(h));
        snprintf(buf, len, "%s:%u", h, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in->sin6_addr, h, sizeof(h));
        snprintf(buf, len, "[%s]:%u", h, ntohs(in->sin6_port));
    } else if (ss->ss_family == AF_UNIX) {
        snprintf(buf, len, "unix:%s", ((const struct sockaddr_un *)ss)->sun_path);
    } else {
        snprintf(buf, len, "?");
    }
}

static void tune(int fd, int family)
{
    if (family == AF_UNIX)
        return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    int idle = 10, intvl = 5, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int mig_connect(const struct mig_addr *a, int timeout_ms, int *out, struct err *e)
{
    int family = a->ss.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, -errno, "cannot create a socket: %s", strerror(errno));
    int r = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    if (r < 0 && errno == EINPROGRESS) {
        r = wait_fd(fd, POLLOUT, timeout_ms);
        if (r == 0) {
            int err = 0;
            socklen_t l = sizeof(err);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
            errno = err;
            r = err ? -1 : 0;
        } else {
            errno = -r;
            r = -1;
        }
    }
    if (r < 0) {
        int en = errno;
        close(fd);
        return err_set(e, -en, "cannot connect to %s: %s%s", a->text, strerror(en),
                       en == ECONNREFUSED ? " (is 'hostel receive' listening there?)" : "");
    }
    tune(fd, family);
    *out = fd;
    return 0;
}

int mig_listen(const struct mig_addr *a, int *out, struct mig_addr *bound, struct err *e)
{
    int family = a->ss.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set(e, -errno, "cannot create a socket: %s", strerror(errno));
    int one = 1;
    if (family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    else
        unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 4) < 0) {
        int en = errno;
        close(fd);
        return err_set(e, -en, "cannot listen on %s: %s", a->text, strerror(en));
    }
    if (bound) {
        *bound = *a;
        bound->len = sizeof(bound->ss);
        getsockname(fd, (struct sockaddr *)&bound->ss, &bound->len);
        mig_format_addr(&bound->ss, bound->text, sizeof(bound->text));
    }
    *out = fd;
    return 0;
}

void mig_allow_default(struct mig_allow *a)
{
    memset(a, 0, sizeof(*a));
    mig_allow_add(a, "127.0.0.0/8", NULL);
    mig_allow_add(a, "::1", NULL);
}

int mig_allow_add(struct mig_allow *a, const char *s, struct err *e)
{
    if (!strcmp(s, "any")) {
        a->any = true;
        return 0;
    }
    if (a->n == MIG_ALLOW_MAX)
        return err_set(e, -ENOSPC, "--allow: at most %d addresses", MIG_ALLOW_MAX);
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    int prefix = -1;
    if (slash) {
        char *end;
        *slash = 0;
        prefix = (int)strtol(slash + 1, &end, 10);
        if (*end || !slash[1] || prefix < 0)
            return err_set(e, -EINVAL, "--allow %s: the prefix length must be a number", s);
    }
    typeof(a->e[0]) *x = &a->e[a->n];
    memset(x, 0, sizeof(*x));
    if (inet_pton(AF_INET, buf, x->addr) == 1) {
        x->family = AF_INET;
        if (prefix < 0)
            prefix = 32;
        if (prefix > 32)
            return err_set(e, -EINVAL, "--allow %s: an IPv4 prefix is at most 32", s);
    } else if (inet_pton(AF_INET6, buf, x->addr) == 1) {
        x->family = AF_INET6;
        if (prefix < 0)
            prefix = 128;
        if (prefix > 128)
            return err_set(e, -EINVAL, "--allow %s: an IPv6 prefix is at most 128", s);
    } else {
        return err_set(e, -EINVAL, "--allow %s: give an IP address (10.1.2.3, 10.0.0.0/8, "
                       "::1) or 'any'", s);
    }
    x->prefix = prefix;
    a->n++;
    return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)full))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool mig_allow_match(const struct mig_allow *a, const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_UNIX || a->any)
        return true;
    uint8_t addr[16];
    int family = ss->ss_family;
    if (family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    } else if (family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            family = AF_INET;
            memcpy(addr, &in6->s6_addr[12], 4);
        } else {
            memcpy(addr, in6, 16);
        }
    } else {
        return false;
    }
    for (int i = 0; i < a->n; i++)
        if (a->e[i].family == family && prefix_match(addr, a->e[i].addr, a->e[i].prefix))
            return true;
    return false;
}
