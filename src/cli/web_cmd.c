/* `hostel web`: a web page served by hostel itself (libmicrohttpd) that
 * lists the machines of the library with their state and where their
 * screens listen, starts, stops, pauses and resumes them (as `hostel
 * start`/`stop` and the control socket do), and shows a machine's serial
 * console (its output as Server-Sent Events, input by POST) in xterm.js
 * and its screen in noVNC (a WebSocket to its VNC server, web_screen.c).
 * Every request carries a random token printed at start (in the URL, then
 * a header), so neither another user nor another web page can drive it.
 * docs/display.md. */
#include "cli/web_cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/web_screen.h"
#include "cli/web_static.h"
#include "lib/file.h"
#include "lib/log.h"
#include "mgmt/library.h"

/* A page's serial console: one attachment to the machine's console hub
 * (which serves one client at a time), read by the event stream, written
 * by the page's input. */
#define WEB_MAX_CONSOLES 16
struct web_console {
    struct web *w;
    int fd;                      /* -1: slot free */
    char name[256];
};

struct web {
    char token[33];
    pthread_mutex_t lock;        /* one action at a time: start/stop fork and wait */
    pthread_mutex_t cons_lock;
    struct web_console cons[WEB_MAX_CONSOLES];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                             MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return MHD_NO;
    enum MHD_Result r = reply(c, status, "application/json", text);
    free(text);
    return r;
}

/* Constant time, so the token cannot be guessed a byte at a time. */
static bool token_ok(const struct web *w, const char *given)
{
    if (!given || strlen(given) != strlen(w->token))
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; given[i]; i++)
        diff |= (unsigned char)(given[i] ^ w->token[i]);
    return diff == 0;
}

static json_t *machines_json(void)
{
    char **names = NULL;
    int n = 0;
    json_t *list = json_array();
    if (machine_list(&names, &n) < 0)
        return list;
    for (int i = 0; i < n; i++) {
        char why[256], path[4096];
        enum machine_state st = machine_state_get(names[i], why, sizeof(why));
        json_t *m = json_pack("{s:s, s:s}", "name", names[i], "state", machine_state_name(st));
        if (st == MACHINE_RUNNING || st == MACHINE_PAUSED) {
            /* The VMM knows best (as `hostel ls` asks it). */
            json_t *live = client_request(names[i], "status", NULL);
            if (live && json_is_string(json_object_get(live, "state")))
                json_object_set(m, "state", json_object_get(live, "state"));
            json_decref(live);
        }
        struct file_buf b;
        if ((st == MACHINE_RUNNING || st == MACHINE_PAUSED) &&
            machine_path(names[i], MACHINE_DISPLAY_FILE, path, sizeof(path)) == 0 &&
            file_read_all(path, &b) == 0) {
            size_t len = strcspn((const char *)b.data, "\n");
            json_object_set_new(m, "display", json_stringn((const char *)b.data,
                                                           len < b.len ? len : b.len));
            file_buf_free(&b);
        }
        json_array_append_new(list, m);
        free(names[i]);
    }
    free(names);
    return list;
}

extern char **environ;

/* `hostel start|stop NAME` as a user would type it, in a child process:
 * the VMM a start forks must not inherit this server's threads and
 * sockets (it would keep the web port open for its whole life).  0, or
 * its exit status with its last error line in e. */
static int run_hostel(const char *verb, const char *name, struct err *e)
{
    char *argv[] = { "hostel", (char *)verb, (char *)name, NULL, NULL };
    if (!strcmp(verb, "stop"))
        argv[3] = "--force";
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_set(e, -errno, "pipe: %s", strerror(errno)), 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    pid_t pid;
    int r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (r != 0) {
        close(p[0]);
        return err_set(e, -r, "cannot run hostel %s: %s", verb, strerror(r)), 1;
    }
    char buf[4096], scratch[512];
    size_t n = 0;
    for (;;) {                          /* its stderr: the first 4 KiB kept, the rest read */
        ssize_t k = n < sizeof(buf) - 1 ? read(p[0], buf + n, sizeof(buf) - 1 - n)
                                        : read(p[0], scratch, sizeof(scratch));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        if (n < sizeof(buf) - 1)
            n += (size_t)k;
    }
    close(p[0]);
    buf[n] = 0;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (code) {
        while (n && buf[n - 1] == '\n')
            buf[--n] = 0;
        const char *last = strrchr(buf, '\n');
        err_set(e, -EINVAL, "%s", last ? last + 1 : buf[0] ? buf : "failed");
    }
    return code;
}

static json_t *machine_action(struct web *w, const char *name, const char *op)
{
    struct err e = ERR_INIT;
    if (machine_name_check(name, &e) < 0)
        return json_pack("{s:s}", "error", e.msg);
    char path[4096];
    if (machine_path(name, "config.json", path, sizeof(path)) < 0 || access(path, F_OK) < 0)
        return json_pack("{s:s}", "error", "no such machine");
    int r;
    pthread_mutex_lock(&w->lock);
    if (!strcmp(op, "start") || !strcmp(op, "stop")) {
        r = run_hostel(op, name, &e);
    } else if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
        json_t *ans = client_request(name, op, &e);
        r = ans && json_is_true(json_object_get(ans, "ok")) ? 0 : 1;
        if (ans && r) {
            const char *m = json_string_value(json_object_get(ans, "error"));
            err_set(&e, -EINVAL, "%s", m ? m : "refused");
        }
        json_decref(ans);
    } else {
        pthread_mutex_unlock(&w->lock);
        return json_pack("{s:s}", "error", "unknown action: start, stop, pause or resume");
    }
    pthread_mutex_unlock(&w->lock);
    if (r)
        return json_pack("{s:s}", "error", e.msg[0] ? e.msg : "failed");
    return json_pack("{s:b}", "ok", 1);
}

/* ---- the serial console ------------------------------------------------ */

/* Attaches to the machine's console through its control socket, as
 * `hostel console` does: -1 with e set when it does not run. */
static int console_open(const char *name, struct err *e)
{
    int fd;
    if (machine_name_check(name, e) < 0)
        return -1;
    if (client_connect(name, &fd) < 0) {
        err_set(e, -ENOENT, "machine '%s' is not running", name);
        return -1;
    }
    const char *req = "{\"op\":\"console\"}\n";
    json_t *reply = NULL;
    if (write(fd, req, strlen(req)) == (ssize_t)strlen(req))
        reply = client_read_reply(fd, e);
    bool ok = reply && json_is_true(json_object_get(reply, "ok"));
    if (reply && !ok)
        err_set(e, -EINVAL, "%s", json_string_value(json_object_get(reply, "error"))
                                      ? json_string_value(json_object_get(reply, "error"))
                                      : "refused");
    json_decref(reply);
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The console's output as Server-Sent Events: one "data:" line of hex per
 * read (binary-safe, no parsing on the way), a comment every 15 s so the
 * connection shows it is alive. */
static ssize_t console_events(void *cls, uint64_t pos, char *buf, size_t max)
{
    int fd = ((struct web_console *)cls)->fd;
    (void)pos;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, 15000);
    if (n == 0)
        return snprintf(buf, max, ": alive\n\n");
    uint8_t in[1024];
    size_t room = (max - 16) / 2;
    ssize_t k = read(fd, in, room < sizeof(in) ? room : sizeof(in));
    if (k <= 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t o = (size_t)snprintf(buf, max, "data: ");
    for (ssize_t i = 0; i < k; i++)
        o += (size_t)snprintf(buf + o, max - o, "%02x", in[i]);
    o += (size_t)snprintf(buf + o, max - o, "\n\n");
    return (ssize_t)o;
}

static void console_close(void *cls)
{
    struct web_console *con = cls;
    pthread_mutex_lock(&con->w->cons_lock);
    close(con->fd);
    con->fd = -1;
    pthread_mutex_unlock(&con->w->cons_lock);
}

static enum MHD_Result console_stream(struct web *w, struct MHD_Connection *c, const char *name)
{
    struct err e = ERR_INIT;
    int fd = console_open(name, &e);
    if (fd < 0)
        return reply_json(c, MHD_HTTP_CONFLICT, json_pack("{s:s}", "error", e.msg));
    struct web_console *con = NULL;
    pthread_mutex_lock(&w->cons_lock);
    for (int i = 0; i < WEB_MAX_CONSOLES && !con; i++)
        if (w->cons[i].fd < 0)
            con = &w->cons[i];
    if (con) {
        con->fd = fd;
        snprintf(con->name, sizeof(con->name), "%s", name);
    }
    pthread_mutex_unlock(&w->cons_lock);
    if (!con) {
        close(fd);
        return reply_json(c, MHD_HTTP_CONFLICT,
                          json_pack("{s:s}", "error", "too many consoles open in pages"));
    }
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 8192, console_events, con, console_close);
    if (!r) {
        console_close(con);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* A request's body, gathered across the handler's calls (at most 4 KiB). */
struct body {
    char data[4096];
    size_t len;
    bool too_long;
};

/* Input goes through the page's own attachment when one is open (a new
 * attachment would take the console away from it), else through one made
 * for it. */
static json_t *console_input(struct web *w, const char *name, const struct body *b)
{
    struct err e = ERR_INIT;
    if (b->too_long)
        return json_pack("{s:s}", "error", "at most 4096 bytes of input at a time");
    ssize_t n = -1;
    bool sent = false;
    pthread_mutex_lock(&w->cons_lock);
    for (int i = 0; i < WEB_MAX_CONSOLES && !sent; i++)
        if (w->cons[i].fd >= 0 && !strcmp(w->cons[i].name, name)) {
            n = write(w->cons[i].fd, b->data, b->len);
            sent = true;
        }
    pthread_mutex_unlock(&w->cons_lock);
    if (!sent) {
        int fd = console_open(name, &e);
        if (fd < 0)
            return json_pack("{s:s}", "error", e.msg);
        n = write(fd, b->data, b->len);
        close(fd);
    }
    if (n != (ssize_t)b->len)
        return json_pack("{s:s}", "error", "the console took only part of the input");
    return json_pack("{s:b, s:I}", "ok", 1, "bytes", (json_int_t)b->len);
}

/* The page: web/index.html from the build, the token put in its script
 * addresses (the browser sends no header for <script src>). */
static enum MHD_Result page(struct MHD_Connection *c, const struct web *w)
{
    char path[4096];
    struct file_buf b;
    snprintf(path, sizeof(path), "%s/index.html", web_static_dir());
    if (file_read_all(path, &b) < 0)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                     "hostel web: the page is not in this build (make builds build/web)\n");
    size_t cap = b.len * 7 + 1, o = 0;   /* "TOKEN" (5) becomes 32 characters */
    char *out = malloc(cap);
    for (size_t i = 0; out && i < b.len;) {
        if (b.len - i >= 5 && !memcmp(b.data + i, "TOKEN", 5)) {
            o += (size_t)snprintf(out + o, cap - o, "%s", w->token);
            i += 5;
        } else {
            out[o++] = (char)b.data[i++];
        }
    }
    file_buf_free(&b);
    if (!out)
        return MHD_NO;
    out[o] = 0;
    enum MHD_Result r = reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", out);
    free(out);
    return r;
}

static enum MHD_Result static_file(struct MHD_Connection *c, const char *file)
{
    bool missing;
    struct MHD_Response *r = web_static(file, &missing);
    if (!r)
        return missing ? reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
                               "not in this build: scripts/web-vendor.sh bundles it from "
                               "Debian's novnc and node-xterm (scripts/deps.sh build)\n")
                       : reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The screen: a WebSocket carrying the machine's VNC server. */
static enum MHD_Result screen(struct MHD_Connection *c, const char *name)
{
    struct err e = ERR_INIT;
    int vnc = web_screen_connect(name, &e);
    if (vnc < 0)
        return reply_json(c, MHD_HTTP_CONFLICT, json_pack("{s:s}", "error", e.msg));
    struct MHD_Response *r = web_screen_upgrade(c, vnc, &e);
    if (!r)
        return reply_json(c, MHD_HTTP_BAD_REQUEST, json_pack("{s:s}", "error", e.msg));
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
    return ret;
}

static void request_done(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls; (void)c; (void)why;
    if (*state && *state != cls)
        free(*state);
    *state = NULL;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    struct web *w = cls;
    (void)version;
    if (!*state) {                      /* headers only so far */
        *state = !strcmp(method, "POST") ? calloc(1, sizeof(struct body)) : (void *)w;
        return *state ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {                 /* a body: kept for console input */
        if (*state != w) {
            struct body *b = *state;
            if (b->len + *upload_size > sizeof(b->data))
                b->too_long = true;
            else {
                memcpy(b->data + b->len, upload, *upload_size);
                b->len += *upload_size;
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hostel-Token");
    if (!tok)
        tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (!token_ok(w, tok))
        return reply(c, MHD_HTTP_FORBIDDEN, "text/plain",
                     "hostel web: the token is missing or wrong (use the URL 'hostel web' "
                     "printed)\n");
    if (!strcmp(method, "GET") && !strcmp(url, "/"))
        return page(c, w);
    if (!strcmp(method, "GET") && !strncmp(url, "/static/", 8))
        return static_file(c, url + 8);
    if (!strcmp(method, "GET") && !strcmp(url, "/api/machines"))
        return reply_json(c, MHD_HTTP_OK, machines_json());
    char name[256];
    const char *slash = !strncmp(url, "/api/machines/", 14) ? strchr(url + 14, '/') : NULL;
    if (slash && (size_t)(slash - url - 14) < sizeof(name)) {
        memcpy(name, url + 14, (size_t)(slash - url - 14));
        name[slash - url - 14] = 0;
    } else {
        slash = NULL;
    }
    if (slash && !strcmp(method, "GET") && !strcmp(slash + 1, "screen"))
        return screen(c, name);
    if (slash && !strcmp(method, "GET") && !strcmp(slash + 1, "console"))
        return console_stream(w, c, name);
    if (slash && !strcmp(method, "POST") && !strcmp(slash + 1, "console")) {
        json_t *ans = console_input(w, name, *state);
        return reply_json(c, json_object_get(ans, "error") ? MHD_HTTP_CONFLICT : MHD_HTTP_OK,
                          ans);
    }
    if (!strcmp(method, "POST") && slash) {
        {
            json_t *ans = machine_action(w, name, slash + 1);
            unsigned status = json_object_get(ans, "error") ? MHD_HTTP_CONFLICT : MHD_HTTP_OK;
            return reply_json(c, status, ans);
        }
    }
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

static volatile sig_atomic_t quit;
static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

int cmd_web(int argc, char **argv)
{
    static const struct option opts[] = { { "listen", required_argument, NULL, 'l' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    const char *listen = "127.0.0.1:8080";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'l') {
            listen = optarg;
        } else if (c == 'h') {
            printf("usage: hostel web [--listen ADDR:PORT]\n\n"
                   "A web page of the machine library: state, where screens listen, start,\n"
                   "stop, pause, resume.  Listens on 127.0.0.1:8080 unless told; every\n"
                   "request needs the token in the URL it prints.  Ctrl-C stops it.\n");
            return 0;
        } else {
            return 1;
        }
    }
    char addr[64];
    const char *colon = strrchr(listen, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    if (!colon || (size_t)(colon - listen) >= sizeof(addr) || *end || port < 1 || port > 65535) {
        log_error("--listen '%s': give ADDR:PORT, such as 127.0.0.1:8080", listen);
        return 1;
    }
    memcpy(addr, listen, (size_t)(colon - listen));
    addr[colon - listen] = 0;
    if (inet_pton(AF_INET, addr[0] ? addr : "127.0.0.1", &sa.sin_addr) != 1) {
        log_error("--listen '%s': '%s' is not an IPv4 address", listen, addr);
        return 1;
    }
    sa.sin_port = htons((uint16_t)port);
    struct web w;
    unsigned char raw[16];
    if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
        log_error("cannot make a token: getrandom: %s", strerror(errno));
        return 1;
    }
    for (int i = 0; i < 16; i++)
        snprintf(w.token + 2 * i, 3, "%02x", raw[i]);
    pthread_mutex_init(&w.lock, NULL);
    pthread_mutex_init(&w.cons_lock, NULL);
    for (int i = 0; i < WEB_MAX_CONSOLES; i++) {
        w.cons[i].w = &w;
        w.cons[i].fd = -1;
    }
    if (web_screen_init() < 0) {
        log_error("cannot make an eventfd: %s", strerror(errno));
        return 1;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_UPGRADE, 0, NULL, NULL,
        handle, &w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, &w,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) {
        log_error("cannot listen on %s (in use, or not an address of this host)", listen);
        return 1;
    }
    char shown[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, shown, sizeof(shown));
    printf("hostel: web console on http://%s:%ld/?token=%s (Ctrl-C stops it)\n", shown, port,
           w.token);
    fflush(stdout);
    signal(SIGPIPE, SIG_IGN);   /* a console whose machine stopped: an error, not death */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!quit)
        pause();
    web_screen_stop();
    MHD_stop_daemon(d);
    pthread_mutex_destroy(&w.lock);
    pthread_mutex_destroy(&w.cons_lock);
    return 0;
}
