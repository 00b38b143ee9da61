/* The VMM's seccomp confinement: once a machine is built, every thread of
 * the process may make only the system calls on one allow-list (what the
 * vCPUs, device workers, network backends, the share server and the
 * control socket do), some only with the arguments they use.  Any other
 * system call kills the whole process after one log line naming it.
 * docs/isolation.md says what this stops and what it does not. */
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
 * sockets made or connected, no memfd; docs/isolation.md).  The guest's
 * MMIO and port I/O reach the device models on these threads first.
 * 0 when the process is not in the sandbox (nothing to narrow). */
int sandbox_enter_vcpu(int id, struct err *e);
/* How many system calls the allow-list names (for messages). */
int sandbox_allowed_count(void);

/* The test hook (docs/isolation.md): with HOSTEL_TEST_FORBIDDEN_SYSCALL
 * set in its environment, the VMM makes a system call the list forbids
 * right after entering the sandbox, to prove it is killed and named; set
 * to "vcpu", vCPU 0 opens /dev/null (allowed to the process, not to a
 * vCPU) right after its own filter is in. */
void sandbox_test_hook(void);

#endif
