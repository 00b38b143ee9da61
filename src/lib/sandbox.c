/* The VMM's seccomp allow-list (lib/sandbox.h), through libseccomp. */
#include "lib/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef HOSTEL_HAVE_SECCOMP
#include <linux/netlink.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#endif

static bool active;
static int allowed;
static bool counting;
/* What kind of thread this is, for the kill line (read in the handler). */
static __thread char thread_kind[24];

bool sandbox_active(void)
{
    return active;
}

int sandbox_allowed_count(void)
{
    return allowed;
}

static bool test_vcpu, test_net, test_worker;
/* The hook's form per sandbox_thread kind (lib/sandbox.h). */
static bool test_kind[SANDBOX_THREAD_KINDS];
static const char *const kind_hook[SANDBOX_THREAD_KINDS] = { "control", "console", "timer",
                                                              "display" };

#define WAKE_MAX 8
static int wake_fds[WAKE_MAX] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;

void sandbox_wake_on_enter(int fd)
{
    pthread_mutex_lock(&wake_lock);
    for (int i = 0; i < WAKE_MAX; i++)
        if (wake_fds[i] < 0) {
            wake_fds[i] = fd;
            break;
        }
    pthread_mutex_unlock(&wake_lock);
}

void sandbox_wake_forget(int fd)
{
    pthread_mutex_lock(&wake_lock);
    for (int i = 0; i < WAKE_MAX; i++)
        if (wake_fds[i] == fd)
            wake_fds[i] = -1;
    pthread_mutex_unlock(&wake_lock);
}

__attribute__((unused)) static void wake_all(void)
{
    uint64_t one = 1;
    pthread_mutex_lock(&wake_lock);
    for (int i = 0; i < WAKE_MAX; i++)
        if (wake_fds[i] >= 0 && write(wake_fds[i], &one, sizeof(one)) < 0) {
            /* full: it is awake already */
        }
    pthread_mutex_unlock(&wake_lock);
}

void sandbox_test_hook(void)
{
    const char *v = getenv("HOSTEL_TEST_FORBIDDEN_SYSCALL");
    if (!v || !*v || !active)
        return;
    if (!strcmp(v, "vcpu")) {
        test_vcpu = true;    /* vCPU 0 does it, under its own filter */
        return;
    }
    if (!strcmp(v, "net") || !strcmp(v, "worker"))
        return;              /* that kind of thread, under its own (sandbox_enter) */
    for (int k = 0; k < SANDBOX_THREAD_KINDS; k++)
        if (!strcmp(v, kind_hook[k]))
            return;          /* the same */
    /* personality(0xffffffff) only asks; harmless where it is allowed. */
    syscall(SYS_personality, 0xffffffffUL);
}

#ifndef HOSTEL_HAVE_SECCOMP

int sandbox_enter(struct err *e)
{
    return err_set(e, -ENOTSUP, "this hostel was built without libseccomp (install "
                   "libseccomp-dev: scripts/deps.sh, and rebuild)");
}

int sandbox_enter_vcpu(int id, struct err *e)
{
    (void)id;
    (void)e;
    return 0;
}

void sandbox_net_thread_check(void)
{
}

void sandbox_worker_thread_check(void)
{
}

void sandbox_thread_check(enum sandbox_thread kind)
{
    (void)kind;
}

#else

/* Every system call the running VMM makes, by what needs it.  Arguments
 * are narrowed below for the ones that take a dangerous one. */
static const char *const allow_plain[] = {
    /* files: disk images, snapshots, save and migration files, logs, the
     * share server (beneath its directory: share/server.c confines it) */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "lseek", "close", "open", "openat", "openat2", "creat", "stat", "fstat",
    "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2", "readlink",
    "readlinkat", "getdents64", "getcwd", "mkdir", "mkdirat", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "rmdir", "link", "linkat", "symlink", "symlinkat", "chmod",
    "fchmod", "fchmodat", "fchown", "fchownat", "lchown", "chown", "utimensat", "truncate",
    "ftruncate", "fallocate", "fsync", "fdatasync", "sync_file_range", "syncfs", "fadvise64",
    "flock", "fcntl", "dup", "dup2", "dup3", "pipe", "pipe2", "statfs", "fstatfs", "mknodat",
    "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr", "listxattr",
    "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    "copy_file_range", "sendfile", "umask", "fchdir",
    /* waiting and waking: device workers, timers, backends */
    "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
    "pselect6", "futex", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
    "gettimeofday", "time", "sched_yield", "sched_getaffinity", "restart_syscall",
    /* memory: guest RAM, the emu translator (memfd), malloc */
    "mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "brk", "msync", "memfd_create",
    "membarrier",
    /* threads and signals (the kvm engine kicks vCPUs with a signal) */
    "set_robust_list", "get_robust_list", "rseq", "exit", "exit_group", "gettid", "getpid",
    "getppid", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigtimedwait",
    "rt_sigpending", "set_tid_address",
    /* identity and the host (asked, never changed) */
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
    "uname", "sysinfo", "getrusage", "times", "getrandom", "getpriority", "getrlimit",
    /* a share's worker or a control client raising, for itself, the file
     * capabilities a root jail kept permitted (lib/jail.h); the other
     * threads' lists leave it out */
    "capget", "capset",
    /* sockets: the control socket, slirp, tap, switch ports, migration */
    "socketpair", "bind", "listen", "accept", "accept4", "connect", "getsockname",
    "getpeername", "setsockopt", "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "sendmmsg", "recvmmsg", "shutdown",
};

/* A vCPU thread: the engine's run loop (KVM_RUN, or the software CPU), the
 * device register handlers it calls (console output, waking device
 * workers, timers, stop requests), malloc, logging, and the kvm engine's
 * kick signal.  Stacked on the process's list, so each call must pass both.
 * ftruncate: serial output rotates console.log through its open descriptors. */
static const char *const allow_vcpu[] = {
    "read", "write", "writev", "pread64", "pwrite64", "futex", "mmap", "munmap", "mprotect",
    "madvise", "mremap", "brk", "clock_gettime", "clock_nanosleep", "nanosleep",
    "gettimeofday", "sched_yield", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait",
    "sigaltstack", "gettid", "getpid", "exit", "exit_group", "restart_syscall", "getrandom",
    "poll", "ppoll", "sendto", "sendmsg", "lseek", "fstat", "newfstatat", "close", "ftruncate",
};

/* A network backend's thread: its sockets (libslirp makes and connects
 * them for the guest's connections; a switch port reconnects), the host's
 * DNS servers read from /etc/resolv.conf (libslirp, by name: hence open
 * and stat), frames to the guest (guest memory, interrupts through KVM
 * ioctls or a signal), timers, malloc.  No mkdir, unlink, rename, link,
 * chmod, chown, truncate, fallocate; no memfd, no clone, no seccomp. */
static const char *const allow_net[] = {
    "read", "write", "readv", "writev", "pread64", "recvfrom", "sendto", "recvmsg", "sendmsg",
    "recvmmsg", "sendmmsg", "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait",
    "epoll_ctl", "futex", "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday",
    "time", "mmap", "munmap", "mprotect", "madvise", "mremap", "brk", "close", "socket",
    "connect", "bind", "listen", "accept", "accept4", "setsockopt", "getsockopt",
    "getsockname", "getpeername", "shutdown", "fcntl", "getrandom", "gettid", "getpid",
    "exit", "exit_group", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
    "restart_syscall", "sched_yield", "open", "openat", "stat", "newfstatat", "statx",
    "fstat", "lseek", "uname",
    /* the VNC server, which takes this list, on a viewer's failed password */
    "access", "faccessat", "faccessat2",
};

/* A virtio device's worker: the guest's requests against disk images
 * (positioned and vector I/O, flush, discard, a qcow2 image growing),
 * console output to the log and to `hostel console` clients, frames to a
 * network backend (its queue's eventfd, a tap's fd, a switch port's
 * socket), random bytes, interrupts (KVM ioctls, a signal to a vCPU),
 * timers for rate limits, malloc, log lines.  No open, no mkdir, unlink,
 * rename, link, chmod, chown; no socket, connect, bind or accept; no memfd,
 * no clone, no seccomp. */
static const char *const allow_worker[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "lseek", "fstat", "newfstatat", "fsync", "fdatasync", "fallocate",
    "ftruncate", "sync_file_range", "fadvise64", "close", "sendto", "sendmsg", "recvfrom",
    "recvmsg", "poll", "ppoll", "futex", "clock_gettime", "clock_nanosleep", "nanosleep",
    "gettimeofday", "time", "sched_yield", "mmap", "munmap", "mprotect", "madvise", "mremap",
    "brk", "getrandom", "gettid", "getpid", "exit", "exit_group", "rt_sigprocmask",
    "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "restart_syscall", "fcntl",
    "eventfd2", "timerfd_settime", "timerfd_gettime", "epoll_ctl", "epoll_wait",
};

/* The console hub's reader (a `hostel console` client's keys into the
 * guest's serial port or virtio console): reading its socket, the device
 * model's input path (interrupts through KVM ioctls or a signal, a
 * worker's eventfd), malloc, log lines.  No files opened or made, no
 * sockets made, no memfd, no clone, no seccomp. */
static const char *const allow_console[] = {
    "read", "write", "writev", "poll", "ppoll", "futex", "close", "clock_gettime",
    "clock_nanosleep", "nanosleep", "gettimeofday", "time", "sched_yield", "mmap", "munmap",
    "mprotect", "madvise", "mremap", "brk", "getrandom", "gettid", "getpid", "exit",
    "exit_group", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
    "restart_syscall", "sendto", "sendmsg", "lseek", "fstat", "newfstatat",
};

/* The control socket's threads run the control API (snapshots, saves,
 * restores, migration: files in the machine's folder, sockets, threads),
 * so they keep the process's list but for what no command does: device
 * nodes, links, owners and extended attributes.  The accept thread takes
 * it; each client's thread inherits it. */
static const char *const deny_control[] = {
    "mknodat", "link", "linkat", "symlink", "symlinkat", "chown", "fchown", "fchownat",
    "lchown", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
    "fremovexattr", "capset",
};

static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                struct scmp_arg_cmp a, struct scmp_arg_cmp b)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;    /* not on this architecture */
    int r = n == 0 ? seccomp_rule_add(ctx, action, nr, 0)
          : n == 1 ? seccomp_rule_add(ctx, action, nr, 1, a)
                   : seccomp_rule_add(ctx, action, nr, 2, a, b);
    if (r == 0 && action == SCMP_ACT_ALLOW && counting)
        allowed++;      /* the process's list, not the vCPUs' */
    return r;
}

#define NO_ARG SCMP_A0(SCMP_CMP_EQ, 0)

/* The narrowed rules every thread shares, clone and socket aside. */
static int shared_narrowed_rules(scmp_filter_ctx ctx)
{
    int r = 0;
    /* ioctl: KVM's (type 0xAE), and type 'T': the terminal's, tun's
     * TUNSETIFF, FIONBIO and FIONREAD. */
    r |= rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0xAE00), NO_ARG);
    r |= rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0x5400), NO_ARG);
    /* Signals only to our own threads. */
    pid_t self = getpid();
    r |= rule(ctx, SCMP_ACT_ALLOW, "tgkill", 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self), NO_ARG);
    /* Any handler but SIGSYS's: the one that names a forbidden call stays.
     * Setting SIGSYS is how that handler ends the process. */
    r |= rule(ctx, SCMP_ACT_ALLOW, "rt_sigaction", 1, SCMP_A0(SCMP_CMP_NE, SIGSYS), NO_ARG);
    r |= rule(ctx, SCMP_ACT_KILL_PROCESS, "rt_sigaction", 1, SCMP_A0(SCMP_CMP_EQ, SIGSYS),
              NO_ARG);
    /* Thread names only. */
    r |= rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME), NO_ARG);
    r |= rule(ctx, SCMP_ACT_ALLOW, "prctl", 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME), NO_ARG);
    return r;
}

/* The system calls allowed only with some arguments. */
static int narrowed_rules(scmp_filter_ctx ctx)
{
    int r = shared_narrowed_rules(ctx);
    /* Threads, never processes: no fork. */
    r |= rule(ctx, SCMP_ACT_ALLOW, "clone", 1,
              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD), NO_ARG);
    /* clone3 hides its flags in memory the filter cannot read: glibc falls
     * back to clone, which it can. */
    r |= rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NO_ARG, NO_ARG);
    /* Sockets of the families hostel uses; netlink only for routes
     * (getaddrinfo asks which addresses the host has). */
    r |= rule(ctx, SCMP_ACT_ALLOW, "socket", 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX), NO_ARG);
    r |= rule(ctx, SCMP_ACT_ALLOW, "socket", 1, SCMP_A0(SCMP_CMP_EQ, AF_INET), NO_ARG);
    r |= rule(ctx, SCMP_ACT_ALLOW, "socket", 1, SCMP_A0(SCMP_CMP_EQ, AF_INET6), NO_ARG);
    r |= rule(ctx, SCMP_ACT_ALLOW, "socket", 2, SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
              SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
    /* A vCPU thread adds its own, narrower filter when it starts (a filter
     * only ever takes rights away). */
    r |= rule(ctx, SCMP_ACT_ALLOW, "seccomp", 1, SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
              NO_ARG);
    /* Limits: read any of our own; raise only the open-file limit (the
     * share server does, when a reboot builds it anew). */
    r |= rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 2, SCMP_A0(SCMP_CMP_EQ, 0),
              SCMP_A2(SCMP_CMP_EQ, 0));
    r |= rule(ctx, SCMP_ACT_ALLOW, "prlimit64", 2, SCMP_A0(SCMP_CMP_EQ, 0),
              SCMP_A1(SCMP_CMP_EQ, RLIMIT_NOFILE));
    r |= rule(ctx, SCMP_ACT_ALLOW, "setrlimit", 1, SCMP_A0(SCMP_CMP_EQ, RLIMIT_NOFILE), NO_ARG);
    return r;
}

/* Names of system calls by number, resolved before the filter is in: the
 * SIGSYS handler may not call into libseccomp. */
#define NAMES_MAX 512
static char *names[NAMES_MAX];

static size_t put(char *buf, size_t at, size_t len, const char *s)
{
    while (*s && at + 1 < len)
        buf[at++] = *s++;
    return at;
}

static size_t put_num(char *buf, size_t at, size_t len, long v)
{
    char d[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do
        d[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < 23);
    if (v < 0 && at + 1 < len)
        buf[at++] = '-';
    while (n && at + 1 < len)
        buf[at++] = d[--n];
    return at;
}

/* A forbidden call: one line naming it (async-signal-safe: write only),
 * then the process ends; setting SIGSYS's handler is itself fatal under
 * the filter, so nothing in the process can keep running. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char line[256], thread[17] = "";
    int nr = si->si_syscall;
    const char *name = nr >= 0 && nr < NAMES_MAX && names[nr] ? names[nr] : "unknown";
    if (thread_kind[0])
        memcpy(thread, thread_kind, sizeof(thread) - 1);
    else
        prctl(PR_GET_NAME, thread, 0, 0, 0);
    size_t at = put(line, 0, sizeof(line), "hostel: error: sandbox: the VMM made system call ");
    at = put(line, at, sizeof(line), name);
    at = put(line, at, sizeof(line), " (");
    at = put_num(line, at, sizeof(line), nr);
    at = put(line, at, sizeof(line), ") on thread ");
    at = put(line, at, sizeof(line), thread[0] ? thread : "?");
    at = put(line, at, sizeof(line), ", which its seccomp allow-list forbids: killing it "
             "(docs/security.md)\r\n");
    ssize_t w = write(2, line, at);
    (void)w;
    syscall(SYS_rt_sigaction, SIGSYS, NULL, NULL, 8);
    _exit(128 + SIGSYS);
}

/* The threads' own filters, compiled once by sandbox_enter: a thread only
 * hands its program to the kernel (no libseccomp, no allocation on its
 * way in). */
struct thread_filter {
    const char *what;
    const char *const *allow;    /* NULL: the process's list less deny */
    size_t nallow;
    struct sock_filter *bpf;
    unsigned short len;
    const char *const *deny;
    size_t ndeny;
};
#define LIST(a) a, sizeof(a) / sizeof(a[0])
static struct thread_filter vcpu_filter = { "the vCPU threads'", allow_vcpu,
                                            sizeof(allow_vcpu) / sizeof(allow_vcpu[0]), NULL, 0, NULL, 0 };
static struct thread_filter net_filter = { "the network backends' threads'", allow_net,
                                           sizeof(allow_net) / sizeof(allow_net[0]), NULL, 0, NULL, 0 };
static struct thread_filter worker_filter = { "the device workers'", allow_worker,
                                              sizeof(allow_worker) / sizeof(allow_worker[0]),
                                              NULL, 0, NULL, 0 };
/* By enum sandbox_thread.  The timer threads run device callbacks (a rate
 * limit's refill restarting a queue, the RTC's interrupt): a worker's list.
 * The VNC server's thread accepts viewers and talks to them: a network
 * backend's list (libvncserver may read /dev/urandom for its challenge,
 * and calls access() when a viewer's password is wrong). */
static struct thread_filter kind_filter[SANDBOX_THREAD_KINDS] = {
    [SANDBOX_CONTROL] = { "the control socket's threads'", NULL, 0, NULL, 0, LIST(deny_control) },
    [SANDBOX_CONSOLE] = { "the console reader's", LIST(allow_console), NULL, 0, NULL, 0 },
    [SANDBOX_TIMER] = { "the timer threads'", LIST(allow_worker), NULL, 0, NULL, 0 },
    [SANDBOX_DISPLAY] = { "the display server's", LIST(allow_net), NULL, 0, NULL, 0 },
};
static const char *const kind_name[SANDBOX_THREAD_KINDS] = { "control", "console", "timer",
                                                             "display" };

static bool denied(const struct thread_filter *tf, const char *name)
{
    for (size_t i = 0; i < tf->ndeny; i++)
        if (!strcmp(tf->deny[i], name))
            return true;
    return false;
}

static int build_thread_filter(struct thread_filter *tf, struct err *e)
{
    if (tf->bpf)
        return 0;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        return err_set(e, -ENOMEM, "sandbox: seccomp_init failed");
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (size_t i = 0; r == 0 && tf->allow && i < tf->nallow; i++)
        r = rule(ctx, SCMP_ACT_ALLOW, tf->allow[i], 0, NO_ARG, NO_ARG);
    for (size_t i = 0; r == 0 && !tf->allow && i < sizeof(allow_plain) / sizeof(allow_plain[0]);
         i++)
        if (!denied(tf, allow_plain[i]))
            r = rule(ctx, SCMP_ACT_ALLOW, allow_plain[i], 0, NO_ARG, NO_ARG);
    if (r == 0)
        r = (tf->allow ? shared_narrowed_rules(ctx) : narrowed_rules(ctx)) ? -EINVAL : 0;
    int fd = r == 0 ? memfd_create("hostel-thread-filter", MFD_CLOEXEC) : -1;
    if (r == 0 && fd < 0)
        r = -errno;
    if (r == 0)
        r = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    off_t size = r == 0 ? lseek(fd, 0, SEEK_END) : 0;
    if (r == 0 && (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
                   size / (off_t)sizeof(struct sock_filter) > 0xffff))
        r = -EINVAL;
    if (r == 0 && !(tf->bpf = malloc((size_t)size)))
        r = -ENOMEM;
    if (r == 0 && pread(fd, tf->bpf, (size_t)size, 0) != size)
        r = -EIO;
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        free(tf->bpf);
        tf->bpf = NULL;
        return err_set(e, r, "sandbox: cannot build %s filter: %s", tf->what, strerror(-r));
    }
    tf->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    return 0;
}

/* This thread's own filter, stacked on the process's.  No new privileges
 * came with the thread (the process set them before), which is what lets
 * it add a filter. */
static int install_thread_filter(const struct thread_filter *tf)
{
    struct sock_fprog prog = { .len = tf->len, .filter = tf->bpf };
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}

int sandbox_enter(struct err *e)
{
    if (active)
        return 0;
    for (int nr = 0; nr < NAMES_MAX; nr++)
        if (!names[nr])
            names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    /* What libc loads lazily, loaded now: the first gmtime_r (the RTC, on a
     * vCPU thread) would open /etc/localtime, which a vCPU may not. */
    tzset();
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return err_set(e, -errno, "sandbox: cannot set the SIGSYS handler: %s", strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return err_set(e, -errno, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    if (build_thread_filter(&vcpu_filter, e) < 0 || build_thread_filter(&net_filter, e) < 0 ||
        build_thread_filter(&worker_filter, e) < 0)
        return e ? e->code : -EINVAL;
    for (int k = 0; k < SANDBOX_THREAD_KINDS; k++)
        if (build_thread_filter(&kind_filter[k], e) < 0)
            return e ? e->code : -EINVAL;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx)
        return err_set(e, -ENOMEM, "sandbox: seccomp_init failed");
    int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    /* A binary tree over the system call numbers, not a list of 175
     * comparisons: every system call pays for the filter. */
    if (r == 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    allowed = 0;
    counting = true;
    for (size_t i = 0; r == 0 && i < sizeof(allow_plain) / sizeof(allow_plain[0]); i++)
        r = rule(ctx, SCMP_ACT_ALLOW, allow_plain[i], 0, NO_ARG, NO_ARG);
    if (r == 0)
        r = narrowed_rules(ctx) ? -EINVAL : 0;
    counting = false;
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0)
        return err_set(e, r, "sandbox: cannot install the seccomp filter: %s (--no-sandbox runs "
                       "without it)", strerror(-r));
    /* The test hook's network form, known before any backend thread can
     * see the sandbox active. */
    const char *hook = getenv("HOSTEL_TEST_FORBIDDEN_SYSCALL");
    test_net = hook && !strcmp(hook, "net");
    test_worker = hook && !strcmp(hook, "worker");
    for (int k = 0; k < SANDBOX_THREAD_KINDS; k++)
        test_kind[k] = hook && !strcmp(hook, kind_hook[k]);
    __atomic_store_n(&active, true, __ATOMIC_RELEASE);
    wake_all();
    return 0;
}

int sandbox_enter_vcpu(int id, struct err *e)
{
    if (!active)
        return 0;
    size_t at = 5;
    memcpy(thread_kind, "vCPU ", at);
    if (id >= 10)
        thread_kind[at++] = (char)('0' + id / 10 % 10);
    thread_kind[at++] = (char)('0' + id % 10);
    thread_kind[at] = 0;
    int r = install_thread_filter(&vcpu_filter);
    if (r < 0)
        return err_set(e, r, "sandbox: cannot install vCPU %d's seccomp filter: %s", id,
                       strerror(-r));
    if (id == 0 && test_vcpu) {
        /* The test hook's vCPU form: a call the process may make but a
         * vCPU may not. */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            close(fd);
    }
    return 0;
}

/* Whether this thread has its own filter in (read only by itself). */
static __thread bool thread_filtered;

static void thread_check(const struct thread_filter *tf, const char *kind, bool test,
                         bool control)
{
    if (thread_filtered || !__atomic_load_n(&active, __ATOMIC_ACQUIRE))
        return;
    thread_filtered = true;
    snprintf(thread_kind, sizeof(thread_kind), "%s", kind);
    int r = install_thread_filter(tf);
    if (r < 0) {
        char line[160];
        int n = snprintf(line, sizeof(line), "hostel: warning: sandbox: cannot install %s "
                         "filter: %s\n", tf->what, strerror(-r));
        ssize_t w = write(2, line, n > 0 ? (size_t)n : 0);
        (void)w;
        return;
    }
    /* The test hook: a call allowed to the process only. */
    if (test && control)
        syscall(SYS_mknodat, AT_FDCWD, "", 0, 0);
    else if (test)
        syscall(SYS_unlinkat, AT_FDCWD, "", 0);
}

void sandbox_net_thread_check(void)
{
    thread_check(&net_filter, "net backend", test_net, false);
}

void sandbox_worker_thread_check(void)
{
    thread_check(&worker_filter, "device worker", test_worker, false);
}

void sandbox_thread_check(enum sandbox_thread kind)
{
    if (kind >= 0 && kind < SANDBOX_THREAD_KINDS)
        thread_check(&kind_filter[kind], kind_name[kind], test_kind[kind], kind == SANDBOX_CONTROL);
}

#endif
