/* Unit tests for the console hub's log: bounded at CONSOLE_LOG_MAX, its
 * older bytes in console.log.1, rotated through the descriptors it opened
 * at start (a confined VMM may not rename or open files later). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "host/console_hub.h"

static char dir[64], log_path[128], old_path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/hostel-hub-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(log_path, sizeof(log_path), "%s/console.log", dir);
    snprintf(old_path, sizeof(old_path), "%s/console.log.1", dir);
}

static void teardown(void)
{
    unlink(log_path);
    unlink(old_path);
    rmdir(dir);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Byte i of the stream the tests write. */
static uint8_t stream_byte(size_t i)
{
    return (uint8_t)(i * 7 + i / 4096);
}

/* Whether path holds the stream's bytes [from, from + len). */
static int holds(const char *path, size_t from, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    uint8_t *buf = malloc(len);
    ssize_t n = buf ? read(fd, buf, len) : -1;
    close(fd);
    int ok = n == (ssize_t)len;
    for (size_t i = 0; ok && i < len; i++)
        ok = buf[i] == stream_byte(from + i);
    free(buf);
    return ok;
}

static void write_stream(struct console_hub *h, size_t total, size_t chunk)
{
    uint8_t buf[4096];
    for (size_t at = 0; at < total; at += chunk) {
        size_t n = total - at < chunk ? total - at : chunk;
        for (size_t i = 0; i < n; i++)
            buf[i] = stream_byte(at + i);
        console_hub_output(h, buf, n);
    }
}

/* Both files exist from the start; nothing rotates below the bound. */
static void hub_log_files_made_at_start(void)
{
    struct console_hub *h;
    setup();
    CHECK_EQ(console_hub_create(log_path, &h), 0);
    CHECK_EQ(file_size(log_path), 0);
    CHECK_EQ(file_size(old_path), 0);
    write_stream(h, CONSOLE_LOG_MAX, 4096);
    CHECK_EQ(file_size(log_path), CONSOLE_LOG_MAX);
    CHECK_EQ(file_size(old_path), 0);
    console_hub_destroy(h);
    teardown();
}

/* 2.5 MiB in 4000-byte writes: the log never passes the bound, console.log.1
 * holds the bytes just before console.log's, and console.log the newest. */
static void hub_log_rotates_within_bound(void)
{
    struct console_hub *h;
    const size_t total = 5 * CONSOLE_LOG_MAX / 2, chunk = 4000;
    setup();
    CHECK_EQ(console_hub_create(log_path, &h), 0);
    write_stream(h, total, chunk);
    long now = file_size(log_path), old = file_size(old_path);
    CHECK(now > 0 && now <= CONSOLE_LOG_MAX);
    CHECK(old > 0 && old <= CONSOLE_LOG_MAX);
    CHECK(holds(log_path, total - (size_t)now, (size_t)now));
    CHECK(holds(old_path, total - (size_t)now - (size_t)old, (size_t)old));
    console_hub_destroy(h);
    teardown();
}

/* A machine started again appends to what the log holds, and rotates it. */
static void hub_log_keeps_and_rotates_an_old_log(void)
{
    struct console_hub *h;
    setup();
    CHECK_EQ(console_hub_create(log_path, &h), 0);
    write_stream(h, CONSOLE_LOG_MAX - 100, 4096);
    console_hub_destroy(h);
    CHECK_EQ(console_hub_create(log_path, &h), 0);
    CHECK_EQ(file_size(log_path), CONSOLE_LOG_MAX - 100);
    uint8_t more[200];
    for (size_t i = 0; i < sizeof(more); i++)
        more[i] = stream_byte(CONSOLE_LOG_MAX - 100 + i);
    console_hub_output(h, more, sizeof(more));
    CHECK_EQ(file_size(old_path), CONSOLE_LOG_MAX - 100);
    CHECK_EQ(file_size(log_path), 200);
    CHECK(holds(old_path, 0, CONSOLE_LOG_MAX - 100));
    CHECK(holds(log_path, CONSOLE_LOG_MAX - 100, 200));
    console_hub_destroy(h);
    teardown();
}

int main(void)
{
    RUN_TEST(hub_log_files_made_at_start);
    RUN_TEST(hub_log_rotates_within_bound);
    RUN_TEST(hub_log_keeps_and_rotates_an_old_log);
    return CHECK_DONE();
}
