/* libFuzzer target for the control socket (src/mgmt/control.c): the input
 * is what a client sends over one connection, newline-delimited JSON
 * requests of any shape, framed, parsed and dispatched by the real server
 * (its accept thread and a client thread) on a Unix socket, for a machine
 * between boots (no vm: the machine stubs below must never be reached).
 * Every reply must be a JSON object on its own line. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/console_hub.h"
#include "machine/vm.h"
#include "mgmt/control.h"

/* The machine side, never called while no machine is set. */
bool vm_paused(struct vm *vm) { (void)vm; abort(); }
int vm_pause(struct vm *vm) { (void)vm; abort(); }
int vm_resume(struct vm *vm) { (void)vm; abort(); }
void vm_request_stop(struct vm *vm, enum vm_stop why, int status) { (void)vm; (void)why; (void)status; abort(); }
int console_hub_attach(struct console_hub *h, int fd) { (void)h; (void)fd; abort(); }

static struct control *fz_ctl;
static int fz_ctl_threads;        /* this process's threads between inputs */

static int fz_ctl_count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        abort();
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}
static struct sockaddr_un fz_ctl_addr = { .sun_family = AF_UNIX };

static void fz_ctl_cleanup(void)
{
    unlink(fz_ctl_addr.sun_path);
}

static void fz_ctl_setup(void)
{
    snprintf(fz_ctl_addr.sun_path, sizeof(fz_ctl_addr.sun_path), "/tmp/hostel-fuzz-control-%d.sock",
             (int)getpid());
    static const struct run_isolation iso = { .sandbox = "seccomp", .jail = "none" };
    struct control_info info = { .name = "fuzz", .engine = "emu", .engine_requested = "auto",
                                 .engine_why = "fuzzing", .cpus = 1, .memory = 64 << 20,
                                 .isolation = &iso };
    struct err e = ERR_INIT;
    if (control_start(fz_ctl_addr.sun_path, &info, &fz_ctl, &e) < 0)
        abort();
    control_set_forwards(fz_ctl, "[{\"proto\":\"tcp\",\"host\":2222,\"guest\":22}]");
    atexit(fz_ctl_cleanup);
    fz_ctl_threads = fz_ctl_count_threads();
}

/* Every line of the replies parses as a JSON object. */
static void fz_ctl_check(char *buf, size_t len)
{
    buf[len] = 0;
    char *line = buf;
    for (char *nl; (nl = memchr(line, '\n', len - (size_t)(line - buf))); line = nl + 1) {
        *nl = 0;
        json_error_t je;
        json_t *r = json_loads(line, 0, &je);
        if (!json_is_object(r))
            abort();
        json_decref(r);
    }
}

/* One connection: the input sent (then our side's writing shut), the
 * replies read until the server closes it, or until it goes quiet (a
 * "subscribe" keeps the connection for events). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char reply[1 << 22];
    if (!fz_ctl)
        fz_ctl_setup();
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&fz_ctl_addr, sizeof(fz_ctl_addr)) < 0)
        abort();
    size_t sent = 0, got = 0;
    bool open_w = true;
    for (;;) {
        struct pollfd p = { fd, POLLIN | (open_w ? POLLOUT : 0), 0 };
        if (poll(&p, 1, 200) <= 0)
            break;                                     /* quiet: a subscriber */
        if (open_w && (p.revents & POLLOUT)) {
            ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN)
                sent = size;                           /* the server hung up */
            if (sent == size) {
                shutdown(fd, SHUT_WR);
                open_w = false;
            }
        }
        if (p.revents & (POLLIN | POLLHUP)) {
            ssize_t r = recv(fd, reply + got, sizeof(reply) - 1 - got, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN))
                break;
            if (r > 0)
                got += (size_t)r;
            if (got == sizeof(reply) - 1)
                abort();                               /* 4 MiB of replies: runaway */
        }
    }
    close(fd);
    /* The server's client thread frees its buffer after closing its end:
     * wait for it to go, so the input's allocations are all settled (a
     * leak check would otherwise race it). */
    for (int i = 0; i < 2000 && fz_ctl_count_threads() > fz_ctl_threads; i++)
        usleep(500);
    /* A reply cut short by the server closing after a too-long request is
     * still whole lines; a last partial line cannot happen. */
    fz_ctl_check(reply, got);
    return 0;
}
