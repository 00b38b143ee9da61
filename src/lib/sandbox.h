/* The VMM's seccomp confinement: once a machine is built, every thread of
 * the process may make only the system calls on one allow-list (what the
 * vCPUs, device workers, network backends, the share server and the
 * control socket do), some only with the arguments they use.  Any other
 * system call kills the whole process after one log line naming it.
 * docs/security.md says what this stops and what it does not. */
#ifndef HOSTEL_SANDBOX_H
#define HOSTEL_SANDBOX_H

#include <stdbool.h>

#include "lib/err.h"

/* Sets PR_SET_NO_NEW_PRIVS and installs the filter on every thread of
 * the process (threads made later inherit it).  Once in, there is no way
 * out: a second call is a no-op.  -ENOTSUP (e says so) when this hostel
 * was built without libseccomp. */
int sandbox_enter(struct err *e);
bool sandbox_active(void);

/* A vCPU thread, at its start, once the process is in the sandbox: a
 * second, narrower filter on this thread alone (no files opened, no
 * sockets made or connected, no memfd; docs/security.md).  The guest's
 * MMIO and port I/O reach the device models on these threads first.
 * 0 when the process is not in the sandbox (nothing to narrow). */
int sandbox_enter_vcpu(int id, struct err *e);
/* A network backend's thread (libslirp's, a tap's, a switch port's): a
 * narrower filter on this thread alone, once the process is in the
 * sandbox (no making, renaming or removing files, no memfd, no new threads,
 * no seccomp; docs/security.md).  These threads exist before the sandbox
 * does, so each calls this at the top of its loop: the first call after
 * the process entered the sandbox installs the filter, later ones return
 * at once.  A failure is logged and the thread runs under the process's
 * list alone. */
void sandbox_net_thread_check(void);
/* The same for a virtio device's worker thread (called before it reads
 * the guest's requests): file I/O on open fds only (no open, no making or
 * removing files), no socket or connect, no memfd, no clone, no seccomp.
 * Not for virtio-fs, whose requests name files. */
void sandbox_worker_thread_check(void);
/* The other thread kinds, each with its own list stacked on the
 * process's (docs/security.md): the control socket's accept thread (its
 * clients' threads inherit it), the console hub's reader, the timer
 * threads (the timer service's, the RTC's), the VNC server's thread.
 * Called at the top of the thread's loop, like the two above. */
enum sandbox_thread {
    SANDBOX_CONTROL,
    SANDBOX_CONSOLE,
    SANDBOX_TIMER,
    SANDBOX_DISPLAY,
    SANDBOX_THREAD_KINDS
};
void sandbox_thread_check(enum sandbox_thread kind);
/* An eventfd that sandbox_enter writes 1 to once the process is in (a
 * backend thread's wake-up, so it takes its filter without waiting for
 * traffic); forgotten before it is closed.  At most 8 at a time. */
void sandbox_wake_on_enter(int fd);
void sandbox_wake_forget(int fd);
/* How many system calls the allow-list names (for messages). */
int sandbox_allowed_count(void);

/* The test hook (docs/security.md): with HOSTEL_TEST_FORBIDDEN_SYSCALL
 * set in its environment, the VMM makes a system call the list forbids
 * right after entering the sandbox, to prove it is killed and named; set
 * to "vcpu", vCPU 0 opens /dev/null (allowed to the process, not to a
 * vCPU) right after its own filter is in; set to "net", a network
 * backend's thread removes a file (unlinkat of "", allowed to the process,
 * not to it) right after its filter is in; "worker": the same on a virtio
 * device's worker; "control", "console", "timer", "display": the same on
 * that kind of thread (sandbox_thread_check; mknodat for control, whose
 * list keeps unlinkat). */
void sandbox_test_hook(void);

#endif
