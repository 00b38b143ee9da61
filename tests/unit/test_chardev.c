/* Unit tests for the console backends: the Ctrl-A escape machine, quitting,
 * file output, and stdin from a pipe (no terminal needed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "machine/stop.h"
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

/* What Ctrl-A x stops: a machine that takes the quit while it runs (as the
 * board's does) and keeps its first stop reason. */
struct fake_machine {
    _Atomic int stop;        /* enum vm_stop; VM_RUNNING while it runs */
    _Atomic int quits;       /* quit callbacks, taken or not */
};

static bool machine_quit(void *opaque)
{
    struct fake_machine *m = opaque;
    atomic_fetch_add(&m->quits, 1);
    int expected = VM_RUNNING;
    return atomic_compare_exchange_strong(&m->stop, &expected, VM_STOP_QUIT);
}

static void machine_init(struct fake_machine *m)
{
    atomic_init(&m->stop, VM_RUNNING);
    atomic_init(&m->quits, 0);
}

static bool machine_stopping(struct fake_machine *m)
{
    return atomic_load(&m->stop) != VM_RUNNING;
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
    struct fake_machine m;
    struct chardev *cd;
    struct err err = ERR_INIT;
    machine_init(&m);
    CHECK_EQ(chardev_open("none", &cd, &err), 0);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_attach(cd, machine_quit, &m);
    chardev_push_input(cd, (const uint8_t *)"ab\x01" "a", 4);
    CHECK_EQ(got_len, 3);
    CHECK(!memcmp(got, "ab\x01", 3));
    CHECK(!machine_stopping(&m));
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);
    CHECK_EQ(atomic_load(&m.stop), VM_STOP_QUIT);
    CHECK_EQ(got_len, 3);
    chardev_attach(cd, NULL, NULL);
    chardev_close(cd);
}

static void quit_between_machines_stops_the_next(void)
{
    struct fake_machine m;
    struct chardev *cd;
    struct err err = ERR_INIT;
    machine_init(&m);
    CHECK_EQ(chardev_open("none", &cd, &err), 0);
    chardev_push_input(cd, (const uint8_t *)"\x01", 1);
    chardev_push_input(cd, (const uint8_t *)"x", 1);   /* split across reads */
    CHECK(!machine_stopping(&m));
    chardev_attach(cd, machine_quit, &m);
    CHECK_EQ(atomic_load(&m.stop), VM_STOP_QUIT);
    chardev_attach(cd, NULL, NULL);
    chardev_close(cd);
}

/* A machine already on its way down (a reset) does not take the quit: it
 * stays pending and stops the next machine as soon as that one attaches. */
static void quit_refused_waits_for_the_next_machine(void)
{
    struct fake_machine old, next;
    struct chardev *cd;
    struct err err = ERR_INIT;
    machine_init(&old);
    machine_init(&next);
    atomic_store(&old.stop, VM_STOP_RESET);
    CHECK_EQ(chardev_open("none", &cd, &err), 0);
    chardev_attach(cd, machine_quit, &old);
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);
    CHECK_EQ(atomic_load(&old.quits), 1);               /* asked, and it declined */
    CHECK_EQ(atomic_load(&old.stop), VM_STOP_RESET);
    chardev_attach(cd, NULL, NULL);
    chardev_attach(cd, machine_quit, &next);
    CHECK_EQ(atomic_load(&next.stop), VM_STOP_QUIT);
    CHECK_EQ(atomic_load(&next.quits), 1);
    /* Taken: a third machine is not stopped by the same keystrokes. */
    struct fake_machine third;
    machine_init(&third);
    chardev_attach(cd, NULL, NULL);
    chardev_attach(cd, machine_quit, &third);
    CHECK(!machine_stopping(&third));
    CHECK_EQ(atomic_load(&third.quits), 0);
    chardev_attach(cd, NULL, NULL);
    chardev_close(cd);
}

/* Ctrl-A x goes to the machine attached now, not to one detached before. */
static void quit_goes_to_the_attached_machine_only(void)
{
    struct fake_machine first, second;
    struct chardev *cd;
    struct err err = ERR_INIT;
    machine_init(&first);
    machine_init(&second);
    CHECK_EQ(chardev_open("none", &cd, &err), 0);
    chardev_attach(cd, machine_quit, &first);
    chardev_attach(cd, NULL, NULL);
    chardev_attach(cd, machine_quit, &second);
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);
    CHECK_EQ(atomic_load(&second.stop), VM_STOP_QUIT);
    CHECK(!machine_stopping(&first));
    CHECK_EQ(atomic_load(&first.quits), 0);
    chardev_attach(cd, NULL, NULL);
    chardev_close(cd);
}

static void input_waits_for_a_receiver(void)
{
    struct chardev *cd;
    struct err err = ERR_INIT;
    CHECK_EQ(chardev_open("none", &cd, &err), 0);
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
    char spec[64];
    struct err err = ERR_INIT;
    snprintf(spec, sizeof(spec), "file:%s", path);
    struct chardev *cd;
    CHECK_EQ(chardev_open(spec, &cd, &err), 0);
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
    struct err err = ERR_INIT;
    CHECK_EQ(chardev_open("tcp:1234", &cd, &err), -EINVAL);
    CHECK(cd == NULL);
    CHECK(strstr(err.msg, "stdio, file:PATH or none") != NULL);
    CHECK(chardev_open("file:/nonexistent-dir/x", &cd, &err) < 0);
    CHECK(strstr(err.msg, "/nonexistent-dir/x") != NULL);
    chardev_write(NULL, (const uint8_t *)"x", 1);   /* no console: dropped */
}

static void stdin_pipe_forwards_and_eof_keeps_running(void)
{
    struct fake_machine m;
    struct chardev *cd;
    struct err err = ERR_INIT;
    int p[2];
    CHECK_EQ(pipe(p), 0);
    int saved = dup(STDIN_FILENO);
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    machine_init(&m);
    CHECK_EQ(chardev_open("stdio", &cd, &err), 0);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_attach(cd, machine_quit, &m);
    CHECK(write(p[1], "hello", 5) == 5);
    close(p[1]);                                   /* EOF */
    for (int i = 0; i < 200 && got_len < 5; i++)
        usleep(5000);
    CHECK_EQ(got_len, 5);
    CHECK(!memcmp(got, "hello", 5));
    usleep(20000);
    CHECK(!machine_stopping(&m));
    chardev_attach(cd, NULL, NULL);
    chardev_close(cd);                             /* the input thread ends */
    dup2(saved, STDIN_FILENO);
    close(saved);
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
    struct fake_machine m;
    machine_init(&m);
    CHECK_EQ(chardev_open_callback(sink, &sunk, &cd), 0);
    chardev_attach(cd, machine_quit, &m);
    chardev_write(cd, (const uint8_t *)"out", 3);
    CHECK_EQ(sunk_len, 3);
    CHECK(!memcmp(sunk, "out", 3));
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);     /* no escapes here */
    CHECK_EQ(got_len, 2);
    CHECK(!machine_stopping(&m));
    chardev_attach(cd, NULL, NULL);
    chardev_close(cd);
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
    struct fake_machine m;
    struct chardev *cd;
    struct err err = ERR_INIT;
    /* A terminal session's dispositions: under nohup SIGHUP comes ignored,
     * the console rightly leaves it so, and the SIGHUP case would wait
     * for ever. */
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    machine_init(&m);
    if (chardev_open("stdio", &cd, &err) < 0)
        _exit(10);
    struct termios t;
    tcgetattr(STDIN_FILENO, &t);
    if ((t.c_lflag & (ICANON | ECHO | ISIG)) || !(t.c_oflag & OPOST))
        _exit(11);
    got_len = 0;
    chardev_set_receiver(cd, take_all, NULL);
    chardev_attach(cd, machine_quit, &m);
    chardev_write(cd, (const uint8_t *)"R", 1);
    if (!wait_for_quit)
        for (;;)
            pause();
    for (int i = 0; i < 500 && !machine_stopping(&m); i++)
        usleep(10000);
    if (atomic_load(&m.stop) != VM_STOP_QUIT)
        _exit(12);
    if (got_len != 3 || memcmp(got, "ab\x03", 3))   /* Ctrl-C goes to the guest */
        _exit(13);
    chardev_attach(cd, NULL, NULL);
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
    RUN_TEST(quit_refused_waits_for_the_next_machine);
    RUN_TEST(quit_goes_to_the_attached_machine_only);
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
