/* Console hub for detached machines: log file with rotation, one attached
 * client, input forwarded to the guest. */
#include "host/console_hub.h"
#include "lib/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct console_hub {
    pthread_mutex_t lock;
    int log_fd;                 /* console.log, read-write, appending */
    int old_fd;                 /* console.log.1, opened with it */
    size_t log_size;
    int client_fd;              /* -1 when none */
    pthread_t reader;
    int reader_running;
    int wake[2];                /* tells the reader to give up its client */
    console_hub_input_fn input;
    void *input_opaque;
};

int console_hub_create(const char *log_path, struct console_hub **out)
{
    char old[4200];
    size_t len = strlen(log_path);
    if (len + sizeof(".1") > sizeof(old))
        return -ENAMETOOLONG;
    memcpy(old, log_path, len);
    memcpy(old + len, ".1", sizeof(".1"));
    struct console_hub *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    h->client_fd = -1;
    h->old_fd = -1;
    /* Both files now: rotating later runs on a vCPU or device worker of a
     * confined VMM, which may not open or rename files (docs/security.md). */
    h->log_fd = open(log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (h->log_fd >= 0)
        h->old_fd = open(old, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (h->log_fd < 0 || h->old_fd < 0 || pipe2(h->wake, O_CLOEXEC) < 0) {
        int e = errno;
        if (h->log_fd >= 0)
            close(h->log_fd);
        if (h->old_fd >= 0)
            close(h->old_fd);
        free(h);
        return -e;
    }
    struct stat st;
    if (fstat(h->log_fd, &st) == 0)
        h->log_size = (size_t)st.st_size;
    *out = h;
    return 0;
}

static void stop_reader(struct console_hub *h)
{
    if (!h->reader_running)
        return;
    if (write(h->wake[1], "x", 1) < 0) { }
    pthread_join(h->reader, NULL);
    h->reader_running = 0;
    char buf[16];
    while (read(h->wake[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf)) { }
}

void console_hub_destroy(struct console_hub *h)
{
    if (!h)
        return;
    stop_reader(h);
    if (h->client_fd >= 0)
        close(h->client_fd);
    close(h->log_fd);
    close(h->old_fd);
    close(h->wake[0]);
    close(h->wake[1]);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* console.log's bytes become console.log.1's, and console.log starts
 * empty, through the descriptors alone (copy, then truncate).  A failed
 * copy loses the older bytes; a failed truncation stops the log rather
 * than let it grow past its bound. */
static void rotate_locked(struct console_hub *h)
{
    uint8_t buf[16384];
    bool ok = ftruncate(h->old_fd, 0) == 0;
    for (off_t off = 0; ok;) {
        ssize_t n = pread(h->log_fd, buf, sizeof(buf), off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        for (ssize_t done = 0; ok && done < n;) {
            ssize_t w = pwrite(h->old_fd, buf + done, (size_t)(n - done), off + done);
            if (w < 0 && errno == EINTR)
                continue;
            ok = w > 0;
            done += ok ? w : 0;
        }
        off += n;
    }
    if (ftruncate(h->log_fd, 0) < 0) {
        close(h->log_fd);
        h->log_fd = -1;
    }
    h->log_size = 0;
}

void console_hub_output(struct console_hub *h, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&h->lock);
    if (h->log_fd >= 0) {
        if (h->log_size + len > CONSOLE_LOG_MAX)
            rotate_locked(h);
        if (h->log_fd >= 0 && write(h->log_fd, buf, len) > 0)
            h->log_size += len;
    }
    if (h->client_fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(h->client_fd, buf + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;   /* a client that cannot keep up loses output; the log keeps it */
            off += (size_t)w;
        }
    }
    pthread_mutex_unlock(&h->lock);
}

void console_hub_set_input(struct console_hub *h, console_hub_input_fn fn, void *opaque)
{
    pthread_mutex_lock(&h->lock);
    h->input = fn;
    h->input_opaque = opaque;
    pthread_mutex_unlock(&h->lock);
}

static void *reader_main(void *arg)
{
    struct console_hub *h = arg;
    pthread_mutex_lock(&h->lock);
    int fd = h->client_fd;
    pthread_mutex_unlock(&h->lock);
    sandbox_thread_check(SANDBOX_CONSOLE);
    for (;;) {
        struct pollfd p[2] = { { fd, POLLIN, 0 }, { h->wake[0], POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            return NULL;   /* replaced or shutting down: the new owner closes fd */
        uint8_t buf[512];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        pthread_mutex_lock(&h->lock);
        console_hub_input_fn fn = h->input;
        void *op = h->input_opaque;
        pthread_mutex_unlock(&h->lock);
        if (fn)
            fn(op, buf, (size_t)n);
    }
    /* The client went away: detach it. */
    pthread_mutex_lock(&h->lock);
    if (h->client_fd == fd) {
        close(fd);
        h->client_fd = -1;
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int console_hub_attach(struct console_hub *h, int fd)
{
    stop_reader(h);
    pthread_mutex_lock(&h->lock);
    if (h->client_fd >= 0)
        close(h->client_fd);
    h->client_fd = fd;
    pthread_mutex_unlock(&h->lock);
    int r = pthread_create(&h->reader, NULL, reader_main, h);
    if (r) {
        pthread_mutex_lock(&h->lock);
        close(fd);
        h->client_fd = -1;
        pthread_mutex_unlock(&h->lock);
        return -r;
    }
    h->reader_running = 1;
    return 0;
}
