/* Unit tests for the console backends: the Ctrl-A escape machine, quitting,
 * file output, and stdin from a pipe (no terminal needed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "fake_vm.h"
#include "host/chardev.h"

static uint8_t got[64];
static _Atomic size_t got_len;   /* the input thread appends */

static size_t take_all(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    for (size_t i = 0; i < len && got_len < sizeof(got); i++)
        got[got_len++] = buf[i];
    return len;
}

static void escape_forwards_plain_bytes(void)
{
    bool after = false;
    uint8_t out = 0;
    CHECK_EQ(chardev_escape_step(&after, 'q', &out), CHARDEV_ESC_FORWARD);
    CHECK_EQ(out, 'q');
    CHECK_EQ(chardev_escape_step(&after, 'x', &out), CHARDEV_ESC_FORWARD);
    CHECK_EQ(out, 'x');
    CHECK(!after);
}

static void escape_commands(void)
{
    bool after = false;
    uint8_t out = 0;
    CHECK_EQ(chardev_escape_step(&after, 0x01, &out), CHARDEV_ESC_NONE);
    CHECK(after);
    CHECK_EQ(chardev_escape_step(&after, 'x', &out), CHARDEV_ESC_QUIT);
    CHECK(!after);
    chardev_escape_step(&after, 0x01, &out);
    CHECK_EQ(chardev_escape_step(&after, 'h', &out), CHARDEV_ESC_HELP);
    chardev_escape_step(&after, 0x01, &out);
    out = 0;
    CHECK_EQ(chardev_escape_step(&after, 'a', &out), CHARDEV_ESC_FORWARD);
    CHECK_EQ(out, 0x01);
    chardev_escape_step(&after, 0x01, &out);
    CHECK_EQ(chardev_escape_step(&after, 'c', &out), CHARDEV_ESC_MONITOR);
    chardev_escape_step(&after, 0x01, &out);
    CHECK_EQ(chardev_escape_step(&after, 'z', &out), CHARDEV_ESC_NONE);  /* unknown: dropped */
    CHECK_EQ(chardev_escape_step(&after, 'z', &out), CHARDEV_ESC_FORWARD);
    CHECK(strstr(chardev_escape_help, "Ctrl-A x") != NULL);
    CHECK(strstr(chardev_escape_help, "\r\n") != NULL);
}

static void quit_stops_the_attached_machine(void)
{
    struct vm vm;
    struct chardev *cd;
    char err[256];
    fake_vm_init(&vm);
    CHECK_EQ(chardev_open(NULL, "none", &cd, err, sizeof(err)), 0);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_attach_vm(cd, &vm);
    chardev_push_input(cd, (const uint8_t *)"ab\x01" "a", 4);
    CHECK_EQ(got_len, 3);
    CHECK(!memcmp(got, "ab\x01", 3));
    CHECK(!vm_stopping(&vm));
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_QUIT);
    CHECK_EQ(got_len, 3);
    chardev_attach_vm(cd, NULL);
    chardev_close(cd);
    fake_vm_destroy(&vm);
}

static void quit_between_machines_stops_the_next(void)
{
    struct vm vm;
    struct chardev *cd;
    char err[256];
    fake_vm_init(&vm);
    CHECK_EQ(chardev_open(NULL, "none", &cd, err, sizeof(err)), 0);
    chardev_push_input(cd, (const uint8_t *)"\x01", 1);
    chardev_push_input(cd, (const uint8_t *)"x", 1);   /* split across reads */
    CHECK(!vm_stopping(&vm));
    chardev_attach_vm(cd, &vm);
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_QUIT);
    chardev_attach_vm(cd, NULL);
    chardev_close(cd);
    fake_vm_destroy(&vm);
}

static void input_waits_for_a_receiver(void)
{
    struct chardev *cd;
    char err[256];
    CHECK_EQ(chardev_open(NULL, "none", &cd, err, sizeof(err)), 0);
    CHECK_EQ(chardev_push_input(cd, (const uint8_t *)"early", 5), 5);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    CHECK_EQ(got_len, 5);
    CHECK(!memcmp(got, "early", 5));
    chardev_set_receiver(cd, NULL, NULL);
    chardev_close(cd);
}

static void file_output_appends(void)
{
    char path[] = "/tmp/hostel-test-chardev-XXXXXX";
    int fd = mkstemp(path);
    CHECK(write(fd, "old\n", 4) == 4);
    close(fd);
    char spec[64], err[256];
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct chardev *cd;
    CHECK_EQ(chardev_open(NULL, spec, &cd, err, sizeof(err)), 0);
    chardev_write(cd, (const uint8_t *)"new\n", 4);
    chardev_close(cd);
    char buf[32] = "";
    fd = open(path, O_RDONLY);
    CHECK_EQ(read(fd, buf, sizeof(buf) - 1), 8);
    close(fd);
    CHECK(!strcmp(buf, "old\nnew\n"));
    unlink(path);
}

static void bad_specs_are_refused(void)
{
    struct chardev *cd = (struct chardev *)1;
    char err[256] = "";
    CHECK_EQ(chardev_open(NULL, "tcp:1234", &cd, err, sizeof(err)), -EINVAL);
    CHECK(cd == NULL);
    CHECK(strstr(err, "stdio, file:PATH or none") != NULL);
    CHECK(chardev_open(NULL, "file:/nonexistent-dir/x", &cd, err, sizeof(err)) < 0);
    CHECK(strstr(err, "/nonexistent-dir/x") != NULL);
    chardev_write(NULL, (const uint8_t *)"x", 1);   /* no console: dropped */
}

static void stdin_pipe_forwards_and_eof_keeps_running(void)
{
    struct vm vm;
    struct chardev *cd;
    char err[256];
    int p[2];
    CHECK_EQ(pipe(p), 0);
    int saved = dup(STDIN_FILENO);
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    fake_vm_init(&vm);
    CHECK_EQ(chardev_open(NULL, "stdio", &cd, err, sizeof(err)), 0);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_attach_vm(cd, &vm);
    CHECK(write(p[1], "hello", 5) == 5);
    close(p[1]);                                   /* EOF */
    for (int i = 0; i < 200 && got_len < 5; i++)
        usleep(5000);
    CHECK_EQ(got_len, 5);
    CHECK(!memcmp(got, "hello", 5));
    usleep(20000);
    CHECK(!vm_stopping(&vm));
    chardev_attach_vm(cd, NULL);
    chardev_close(cd);                             /* the input thread ends */
    dup2(saved, STDIN_FILENO);
    close(saved);
    fake_vm_destroy(&vm);
}

static uint8_t sunk[16];
static size_t sunk_len;
static void sink(void *opaque, const uint8_t *buf, size_t len)
{
    CHECK(opaque == (void *)&sunk);
    for (size_t i = 0; i < len && sunk_len < sizeof(sunk); i++)
        sunk[sunk_len++] = buf[i];
}

static void callback_backend_passes_bytes_through(void)
{
    struct chardev *cd;
    struct vm vm;
    fake_vm_init(&vm);
    CHECK_EQ(chardev_open_callback(sink, &sunk, &cd), 0);
    chardev_attach_vm(cd, &vm);
    chardev_write(cd, (const uint8_t *)"out", 3);
    CHECK_EQ(sunk_len, 3);
    CHECK(!memcmp(sunk, "out", 3));
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);     /* no escapes here */
    CHECK_EQ(got_len, 2);
    CHECK(!vm_stopping(&vm));
    chardev_attach_vm(cd, NULL);
    chardev_close(cd);
    fake_vm_destroy(&vm);
}

/* Waits up to ms for the child's output to contain c; false on timeout. */
static bool wait_for_byte(int master, char c, int ms)
{
    char buf[256];
    for (int waited = 0; waited < ms; waited += 10) {
        struct pollfd p = { .fd = master, .events = POLLIN };
        if (poll(&p, 1, 10) > 0) {
            ssize_t n = read(master, buf, sizeof(buf));
            for (ssize_t i = 0; i < n; i++)
                if (buf[i] == c)
                    return true;
        }
    }
    return false;
}

/* Child side: a console on a real terminal (the pty), reporting with a
 * marker byte once raw mode is on. */
static void terminal_child(bool wait_for_quit)
{
    struct vm vm;
    struct chardev *cd;
    char err[256];
    fake_vm_init(&vm);
    if (chardev_open(NULL, "stdio", &cd, err, sizeof(err)) < 0)
        _exit(10);
    struct termios t;
    tcgetattr(STDIN_FILENO, &t);
    if ((t.c_lflag & (ICANON | ECHO | ISIG)) || !(t.c_oflag & OPOST))
        _exit(11);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_attach_vm(cd, &vm);
    chardev_write(cd, (const uint8_t *)"R", 1);
    if (!wait_for_quit)
        for (;;)
            pause();
    for (int i = 0; i < 500 && !vm_stopping(&vm); i++)
        usleep(10000);
    if (atomic_load(&vm.stop) != VM_STOP_QUIT)
        _exit(12);
    if (got_len != 3 || memcmp(got, "ab\x03", 3))   /* Ctrl-C goes to the guest */
        _exit(13);
    chardev_attach_vm(cd, NULL);
    chardev_close(cd);
    tcgetattr(STDIN_FILENO, &t);
    _exit((t.c_lflag & ICANON) ? 0 : 14);
}

static void terminal_raw_mode_and_quit(void)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    CHECK(pid >= 0);
    if (pid < 0)
        return;
    if (pid == 0)
        terminal_child(true);
    CHECK(wait_for_byte(master, 'R', 5000));
    CHECK(write(master, "ab\x03", 3) == 3);
    CHECK(write(master, "\x01x", 2) == 2);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    close(master);
}

static void terminal_restored_on_signal(int sig)
{
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    if (pid < 0)
        return;
    if (pid == 0)
        terminal_child(false);
    CHECK(wait_for_byte(master, 'R', 5000));
    struct termios t;
    CHECK_EQ(tcgetattr(master, &t), 0);
    CHECK(!(t.c_lflag & ICANON));
    kill(pid, sig);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), sig);
    CHECK_EQ(tcgetattr(master, &t), 0);
    CHECK(t.c_lflag & ICANON);
    close(master);
}

static void terminal_restored_on_sigterm(void) { terminal_restored_on_signal(SIGTERM); }
static void terminal_restored_on_sighup(void) { terminal_restored_on_signal(SIGHUP); }
static void terminal_restored_on_sigabrt(void) { terminal_restored_on_signal(SIGABRT); }

int main(void)
{
    RUN_TEST(escape_forwards_plain_bytes);
    RUN_TEST(escape_commands);
    RUN_TEST(quit_stops_the_attached_machine);
    RUN_TEST(quit_between_machines_stops_the_next);
    RUN_TEST(input_waits_for_a_receiver);
    RUN_TEST(file_output_appends);
    RUN_TEST(bad_specs_are_refused);
    RUN_TEST(stdin_pipe_forwards_and_eof_keeps_running);
    RUN_TEST(callback_backend_passes_bytes_through);
    int probe = posix_openpt(O_RDWR | O_NOCTTY);
    if (probe >= 0) {
        close(probe);
        RUN_TEST(terminal_raw_mode_and_quit);
        RUN_TEST(terminal_restored_on_sigterm);
        RUN_TEST(terminal_restored_on_sighup);
        RUN_TEST(terminal_restored_on_sigabrt);
    } else {
        printf("SKIP: terminal tests (no pseudo-terminals here: %s)\n", strerror(errno));
    }
    return CHECK_DONE();
}
