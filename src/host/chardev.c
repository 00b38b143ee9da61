/* Console backends: the terminal (raw mode restored on every way out, an
 * input thread with Ctrl-A escapes), an append-only file, or nothing. */
#include "host/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lib/jail.h"


#define INPUT_BUFFER 4096

enum chardev_kind { CD_STDIO, CD_FILE, CD_NONE, CD_CALLBACK };

struct chardev {
    enum chardev_kind kind;
    int out_fd;                 /* -1: output dropped */
    int in_fd;                  /* -1: no input */
    chardev_output_fn out_fn;   /* CD_CALLBACK */
    void *out_opaque;
    bool escapes;               /* Ctrl-A commands are interpreted */
    pthread_mutex_t write_lock; /* keeps bytes from concurrent writers whole */
    /* For the hang watchdog: when the guest last wrote, and its last line. */
    uint64_t last_output_ns;    /* under write_lock */
    char line[160], last_line[160];
    size_t line_len;

    pthread_mutex_t lock;       /* receiver, vm, pending input, escape state */
    chardev_receive_fn recv;
    void *recv_opaque;
    bool (*quit)(void *opaque);   /* the attached machine's Ctrl-A x */
    void *quit_opaque;
    bool quit_pending;
    bool after_prefix;
    uint8_t pending[INPUT_BUFFER];
    size_t pending_len;

    int wake[2];                /* wakes the input thread to close */
    _Atomic bool closing;
    bool thread_started;
    pthread_t thread;
};

const char chardev_escape_help[] =
    "\r\nhostel console escapes (press Ctrl-A, then a key):\r\n"
    "  Ctrl-A x   quit: stop the machine and exit\r\n"
    "  Ctrl-A h   show this help\r\n"
    "  Ctrl-A a   send a literal Ctrl-A to the guest\r\n"
    "  Ctrl-A c   monitor (not yet)\r\n";

enum chardev_escape_action chardev_escape_step(bool *after_prefix, uint8_t in, uint8_t *out)
{
    if (!*after_prefix) {
        if (in == CHARDEV_ESCAPE_CHAR) {
            *after_prefix = true;
            return CHARDEV_ESC_NONE;
        }
        *out = in;
        return CHARDEV_ESC_FORWARD;
    }
    *after_prefix = false;
    switch (in) {
    case 'x': case 'X':
        return CHARDEV_ESC_QUIT;
    case 'h': case 'H': case '?':
        return CHARDEV_ESC_HELP;
    case 'a': case 'A': case CHARDEV_ESCAPE_CHAR:
        *out = CHARDEV_ESCAPE_CHAR;
        return CHARDEV_ESC_FORWARD;
    case 'c': case 'C':
        return CHARDEV_ESC_MONITOR;
    default:
        return CHARDEV_ESC_NONE;   /* unknown command: drop it, like the prefix */
    }
}

/* ---- the terminal: raw mode and its restoration ------------------------ */

/* One terminal per process, so this state is global; the handlers only read
 * it and call async-signal-safe tcsetattr. */
static struct termios saved_termios;
static volatile sig_atomic_t terminal_raw;
static bool atexit_registered;

static const int fatal_signals[] = { SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGTRAP };
/* SIGPIPE too: `hostel run | head` must not leave the terminal raw. */
static const int quit_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE };
#define NSIGNALS (sizeof(fatal_signals) / sizeof(int) + sizeof(quit_signals) / sizeof(int))
static struct {
    int sig;
    struct sigaction old;
    bool installed;
} saved_handlers[NSIGNALS];

static void restore_terminal(void)
{
    if (terminal_raw) {
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
        terminal_raw = 0;
    }
}

/* Put the terminal back, then die of the signal as we would have without us
 * (SA_RESETHAND has already restored the default action). */
static void restore_and_reraise(int sig)
{
    int saved_errno = errno;
    restore_terminal();
    raise(sig);
    errno = saved_errno;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_and_reraise;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    unsigned n = 0;
    for (size_t i = 0; i < sizeof(quit_signals) / sizeof(int); i++, n++)
        saved_handlers[n].sig = quit_signals[i];
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(int); i++, n++)
        saved_handlers[n].sig = fatal_signals[i];
    for (unsigned i = 0; i < NSIGNALS; i++) {
        struct sigaction old;
        saved_handlers[i].installed = false;
        if (sigaction(saved_handlers[i].sig, NULL, &old) < 0)
            continue;
        /* Leave alone a signal someone else already handles or ignores
         * (an engine's fault handler, nohup's SIGHUP). */
        if (old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
            continue;
        if (sigaction(saved_handlers[i].sig, &sa, &saved_handlers[i].old) == 0)
            saved_handlers[i].installed = true;
    }
}

static void uninstall_handlers(void)
{
    for (unsigned i = 0; i < NSIGNALS; i++)
        if (saved_handlers[i].installed) {
            sigaction(saved_handlers[i].sig, &saved_handlers[i].old, NULL);
            saved_handlers[i].installed = false;
        }
}

static int enter_raw_mode(struct err *e)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) < 0)
        return err_set(e, -errno, "cannot read the terminal's settings: %s", strerror(errno));
    saved_termios = t;
    /* Like cfmakeraw, except output processing: our own messages and guests
     * that print bare \n still start lines at column 0. */
    t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (!atexit_registered) {
        atexit(restore_terminal);
        atexit_registered = true;
    }
    install_handlers();
    terminal_raw = 1;
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0) {
        int en = errno;
        terminal_raw = 0;
        uninstall_handlers();
        return err_set(e, -en, "cannot put the terminal in raw mode: %s", strerror(en));
    }
    return 0;
}

/* ---- input -------------------------------------------------------------- */

static void wake_thread(struct chardev *cd)
{
    if (cd->wake[1] >= 0) {
        char c = 1;
        /* A full pipe already means "wake up": ignore EAGAIN. */
        if (write(cd->wake[1], &c, 1) < 0) { }
    }
}

static void write_stderr(const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

static void request_quit_locked(struct chardev *cd)
{
    /* A machine already on its way down (a reset) would ignore the request:
     * keep it for the next one.  (A paused machine still takes it.) */
    if (!cd->quit || !cd->quit(cd->quit_opaque))
        cd->quit_pending = true;
}

/* Offers pending input to the receiver; the lock is held so that
 * chardev_set_receiver(NULL) waits for a call in progress. */
static void deliver_locked(struct chardev *cd)
{
    while (cd->pending_len && cd->recv) {
        size_t n = cd->recv(cd->recv_opaque, cd->pending, cd->pending_len);
        if (n == 0)
            break;
        if (n > cd->pending_len)
            n = cd->pending_len;
        memmove(cd->pending, cd->pending + n, cd->pending_len - n);
        cd->pending_len -= n;
    }
}

size_t chardev_push_input(struct chardev *cd, const uint8_t *buf, size_t len)
{
    size_t kept = 0;
    if (!cd)
        return 0;
    pthread_mutex_lock(&cd->lock);
    for (size_t i = 0; i < len; i++) {
        uint8_t out = buf[i];
        enum chardev_escape_action a = CHARDEV_ESC_FORWARD;
        if (cd->escapes)
            a = chardev_escape_step(&cd->after_prefix, buf[i], &out);
        switch (a) {
        case CHARDEV_ESC_FORWARD:
            if (cd->pending_len < sizeof(cd->pending)) {
                cd->pending[cd->pending_len++] = out;
                kept++;
            }
            break;
        case CHARDEV_ESC_QUIT:
            request_quit_locked(cd);
            break;
        case CHARDEV_ESC_HELP:
            write_stderr(chardev_escape_help);
            break;
        case CHARDEV_ESC_MONITOR:
            write_stderr("\r\nhostel: the monitor is not there yet (Ctrl-A h for help)\r\n");
            break;
        case CHARDEV_ESC_NONE:
            break;
        }
    }
    deliver_locked(cd);
    pthread_mutex_unlock(&cd->lock);
    return kept;
}

static void *input_thread(void *arg)
{
    struct chardev *cd = arg;
    bool eof = false;
    uint8_t buf[256];

    while (!cd->closing) {
        struct pollfd fds[2] = {
            { .fd = cd->wake[0], .events = POLLIN },
            { .fd = cd->in_fd, .events = POLLIN },
        };
        int r = poll(fds, eof ? 1 : 2, -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents) {
            while (read(cd->wake[0], buf, sizeof(buf)) > 0) { }
            if (cd->closing)
                break;
        }
        if (!eof && fds[1].revents) {
            ssize_t n = read(cd->in_fd, buf, sizeof(buf));
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                /* End of input stops reading, not the machine. */
                eof = true;
                continue;
            }
            chardev_push_input(cd, buf, (size_t)n);
        }
    }
    return NULL;
}

/* ---- open, close, write ------------------------------------------------- */

static int open_stdio(struct chardev *cd, struct err *e)
{
    cd->out_fd = STDOUT_FILENO;
    if (isatty(STDIN_FILENO)) {
        /* In the background a terminal read or tcsetattr would stop us
         * (SIGTTIN/SIGTTOU): then the console is output only. */
        if (tcgetpgrp(STDIN_FILENO) != getpgrp())
            return 0;
        int r = enter_raw_mode(e);
        if (r < 0)
            return r;
    }
    cd->in_fd = STDIN_FILENO;
    return 0;
}

int chardev_open(const char *spec, struct chardev **out, struct err *e)
{
    struct chardev *cd;
    int r;

    *out = NULL;
    if (!spec)
        spec = "stdio";
    cd = calloc(1, sizeof(*cd));
    if (!cd)
        return err_set(e, -ENOMEM, "out of memory");
    cd->out_fd = cd->in_fd = -1;
    cd->wake[0] = cd->wake[1] = -1;
    cd->escapes = true;
    pthread_mutex_init(&cd->lock, NULL);
    pthread_mutex_init(&cd->write_lock, NULL);

    if (!strcmp(spec, "stdio")) {
        cd->kind = CD_STDIO;
        r = open_stdio(cd, e);
        if (r < 0)
            goto fail;
    } else if (!strncmp(spec, "file:", 5) && spec[5]) {
        cd->kind = CD_FILE;
        /* In the root jail, the fd kept before it (board/jail_setup.c). */
        cd->out_fd = jail_active() ? jail_open(spec + 5, O_WRONLY | O_APPEND)
                                   : open(spec + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (cd->out_fd < 0) {
            r = err_set(e, -errno, "cannot open %s for writing: %s", spec + 5, strerror(errno));
            goto fail;
        }
    } else if (!strcmp(spec, "none")) {
        cd->kind = CD_NONE;
    } else {
        r = err_set(e, -EINVAL, "unknown console '%s': choose stdio, file:PATH or none", spec);
        goto fail;
    }

    if (pipe2(cd->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        r = err_set(e, -errno, "cannot create the console's wakeup pipe: %s", strerror(errno));
        goto fail;
    }
    if (cd->in_fd >= 0) {
        r = pthread_create(&cd->thread, NULL, input_thread, cd);
        if (r) {
            r = err_set(e, -r, "cannot start the console input thread: %s", strerror(r));
            goto fail;
        }
        cd->thread_started = true;
    }
    *out = cd;
    return 0;

fail:
    chardev_close(cd);
    return r;
}

int chardev_open_callback(chardev_output_fn fn, void *opaque, struct chardev **out)
{
    struct chardev *cd = calloc(1, sizeof(*cd));
    *out = NULL;
    if (!cd)
        return -ENOMEM;
    cd->kind = CD_CALLBACK;
    cd->out_fd = cd->in_fd = -1;
    cd->wake[0] = cd->wake[1] = -1;
    cd->out_fn = fn;
    cd->out_opaque = opaque;
    pthread_mutex_init(&cd->lock, NULL);
    pthread_mutex_init(&cd->write_lock, NULL);
    *out = cd;
    return 0;
}

void chardev_close(struct chardev *cd)
{
    if (!cd)
        return;
    if (cd->thread_started) {
        cd->closing = true;
        wake_thread(cd);
        pthread_join(cd->thread, NULL);
    }
    if (cd->kind == CD_STDIO && terminal_raw) {
        restore_terminal();
        uninstall_handlers();
    }
    if (cd->kind == CD_FILE && cd->out_fd >= 0)
        close(cd->out_fd);
    for (int i = 0; i < 2; i++)
        if (cd->wake[i] >= 0)
            close(cd->wake[i]);
    pthread_mutex_destroy(&cd->lock);
    pthread_mutex_destroy(&cd->write_lock);
    free(cd);
}

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Remembers the last complete, non-empty console line (write_lock held). */
static void track_output(struct chardev *cd, const uint8_t *buf, size_t len)
{
    cd->last_output_ns = mono_ns();
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (c == '\n' || c == '\r') {
            if (cd->line_len) {
                cd->line[cd->line_len] = 0;
                memcpy(cd->last_line, cd->line, cd->line_len + 1);
                cd->line_len = 0;
            }
        } else if (c >= 0x20 && c < 0x7f && cd->line_len < sizeof(cd->line) - 1) {
            cd->line[cd->line_len++] = (char)c;
        }
    }
}

uint64_t chardev_last_output(struct chardev *cd, char *line, size_t len)
{
    if (!cd)
        return 0;
    pthread_mutex_lock(&cd->write_lock);
    uint64_t t = cd->last_output_ns;
    if (line && len)
        snprintf(line, len, "%s", cd->line_len ? (cd->line[cd->line_len] = 0, cd->line)
                                               : cd->last_line);
    pthread_mutex_unlock(&cd->write_lock);
    return t;
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
    if (cd) {
        pthread_mutex_lock(&cd->write_lock);
        track_output(cd, buf, len);
        pthread_mutex_unlock(&cd->write_lock);
    }
    if (cd && cd->out_fn) {
        pthread_mutex_lock(&cd->write_lock);
        cd->out_fn(cd->out_opaque, buf, len);
        pthread_mutex_unlock(&cd->write_lock);
        return;
    }
    if (!cd || cd->out_fd < 0)
        return;
    pthread_mutex_lock(&cd->write_lock);
    while (len) {
        ssize_t n = write(cd->out_fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = { .fd = cd->out_fd, .events = POLLOUT };
            if (poll(&p, 1, 1000) <= 0)
                break;   /* nobody reads the output: drop it, keep running */
            continue;
        }
        if (n <= 0)
            break;
        buf += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&cd->write_lock);
}

void chardev_set_receiver(struct chardev *cd, chardev_receive_fn fn, void *opaque)
{
    if (!cd)
        return;
    pthread_mutex_lock(&cd->lock);
    cd->recv = fn;
    cd->recv_opaque = opaque;
    deliver_locked(cd);   /* input typed between machines goes to the new one */
    pthread_mutex_unlock(&cd->lock);
}

void chardev_input_ready(struct chardev *cd)
{
    if (!cd)
        return;
    pthread_mutex_lock(&cd->lock);
    deliver_locked(cd);
    pthread_mutex_unlock(&cd->lock);
}

void chardev_attach(struct chardev *cd, bool (*quit)(void *opaque), void *opaque)
{
    if (!cd)
        return;
    pthread_mutex_lock(&cd->lock);
    cd->quit = quit;
    cd->quit_opaque = opaque;
    if (quit && cd->quit_pending && quit(opaque))
        cd->quit_pending = false;
    pthread_mutex_unlock(&cd->lock);
}
