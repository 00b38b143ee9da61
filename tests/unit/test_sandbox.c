/* Unit tests for the VMM's seccomp sandbox (lib/sandbox.h): in a child
 * process each, what a running VMM does still works, and each forbidden
 * or narrowed-away call kills the process with SIGSYS after a line naming
 * the call.  (The whole VMM under its sandbox: tests/machines/run_isolation.sh.) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/sandbox.h"

/* Runs fn in a child inside the sandbox (after a vCPU filter too when
 * vcpu); returns its wait status, its stderr in out. */
static int in_child(void (*fn)(void), bool vcpu, char *out, size_t len)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        struct err e = ERR_INIT;
        if (sandbox_enter(&e) < 0) {
            fprintf(stderr, "enter: %s\n", e.msg);
            _exit(100);
        }
        if (vcpu && sandbox_enter_vcpu(3, &e) < 0) {
            fprintf(stderr, "vcpu: %s\n", e.msg);
            _exit(101);
        }
        fn();
        _exit(0);
    }
    close(p[1]);
    size_t at = 0;
    ssize_t n;
    while (at + 1 < len && (n = read(p[0], out + at, len - 1 - at)) > 0)
        at += (size_t)n;
    out[at] = 0;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static bool killed_naming(int status, const char *out, const char *call)
{
    char want[96];
    snprintf(want, sizeof(want), "made system call %s (", call);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS && strstr(out, want);
    if (!ok)
        printf("  %s: status 0x%x, stderr: %s\n", call, status, out);
    return ok;
}

static void *thread_main(void *arg)
{
    return arg;
}

/* What the VMM does after it is confined. */
static void allowed_work(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0 || write(fd, "x", 1) != 1)
        _exit(2);
    close(fd);
    int s = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || u < 0)
        _exit(3);
    close(s);
    close(u);
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
        _exit(4);
    void *m = malloc(1 << 20);
    free(m);
    int fl = 1;
    int pp[2];
    if (pipe(pp) < 0 || ioctl(pp[0], FIONBIO, &fl) < 0)   /* type 'T' */
        _exit(5);
    struct sigaction sa = { .sa_handler = SIG_IGN };
    if (sigaction(SIGUSR2, &sa, NULL) < 0)
        _exit(6);
}

static void do_fork(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
}

static void do_exec(void)
{
    char *argv[] = { "/bin/true", NULL };
    execv(argv[0], argv);
}

static void do_packet_socket(void)
{
    socket(AF_PACKET, SOCK_RAW, 0);
}

static void do_foreign_ioctl(void)
{
    int fd = open("/dev/null", O_RDONLY);
    ioctl(fd, 0x1260 /* BLKGETSIZE */, NULL);
}

static void do_sigsys_handler(void)
{
    struct sigaction sa = { .sa_handler = SIG_IGN };
    sigaction(SIGSYS, &sa, NULL);
}

static void do_kill_other(void)
{
    kill(1, 0);
}

static void do_ptrace(void)
{
    syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
}

static void do_unshare(void)
{
    syscall(SYS_unshare, 0);
}

static void do_open(void)
{
    open("/dev/null", O_RDONLY);
}

static void do_vcpu_work(void)
{
    void *m = malloc(4 << 20);
    free(m);
    if (write(2, "", 0) < 0)
        _exit(2);
}

static void sandbox_allows_the_vmm_work(void)
{
    char out[512];
    int st = in_child(allowed_work, false, out, sizeof(out));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        printf("  status 0x%x: %s\n", st, out);
    CHECK(sandbox_allowed_count() == 0);   /* the parent never entered */
}

static void sandbox_kills_and_names(void)
{
    char out[512];
    CHECK(killed_naming(in_child(do_fork, false, out, sizeof(out)), out, "clone"));
    CHECK(killed_naming(in_child(do_exec, false, out, sizeof(out)), out, "execve"));
    CHECK(killed_naming(in_child(do_packet_socket, false, out, sizeof(out)), out, "socket"));
    CHECK(killed_naming(in_child(do_foreign_ioctl, false, out, sizeof(out)), out, "ioctl"));
    CHECK(killed_naming(in_child(do_kill_other, false, out, sizeof(out)), out, "kill"));
    CHECK(killed_naming(in_child(do_ptrace, false, out, sizeof(out)), out, "ptrace"));
    CHECK(killed_naming(in_child(do_unshare, false, out, sizeof(out)), out, "unshare"));
}

static void sigsys_handler_cannot_be_replaced(void)
{
    char out[512];
    int st = in_child(do_sigsys_handler, false, out, sizeof(out));
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

static void vcpu_filter_is_narrower(void)
{
    char out[512];
    int st = in_child(do_vcpu_work, true, out, sizeof(out));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        printf("  status 0x%x: %s\n", st, out);
    st = in_child(do_open, true, out, sizeof(out));
    CHECK(killed_naming(st, out, "openat"));     /* glibc's open() is openat */
    CHECK(strstr(out, "on thread vCPU 3") != NULL);
    /* The same open is fine for the process's other threads. */
    st = in_child(do_open, false, out, sizeof(out));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
#ifndef HOSTEL_HAVE_SECCOMP
    printf("SKIP: sandbox (built without libseccomp: install libseccomp-dev)\n");
    return 0;
#endif
    RUN_TEST(sandbox_allows_the_vmm_work);
    RUN_TEST(sandbox_kills_and_names);
    RUN_TEST(sigsys_handler_cannot_be_replaced);
    RUN_TEST(vcpu_filter_is_narrower);
    return CHECK_DONE();
}
