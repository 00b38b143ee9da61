/* Starting a detached daemon (a machine's VMM, a receiver, a cluster's
 * switch) the way `hostel start` does, and reading its first word. */
#ifndef HOSTEL_CLI_SPAWN_H
#define HOSTEL_CLI_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* Runs fn(opaque, ready_fd) in a process of its own session that outlives
 * the CLI (a double fork): stdin and stdout on /dev/null, stderr appended to
 * log_path (NULL or unopenable: /dev/null), log_verbosity set to verbosity
 * unless it is negative.  fn writes one line to ready_fd when it is up ("ok
 * ...") or gives up ("error: ..."), and its return value is the daemon's
 * exit status.  Waits for that line (or for the daemon to go without one)
 * and puts it, newline cut, into reply.  Returns its length (0: the daemon
 * died without a word), or -1 when it could not be started (said why). */
ssize_t cli_spawn_daemon(const char *log_path, int verbosity, int (*fn)(void *opaque, int ready_fd),
                         void *opaque, char *reply, size_t len);

/* What to tell the user about a reply that is not "ok": its text without
 * the "error: " prefix, or died when the daemon said nothing. */
const char *cli_daemon_why(const char *reply, ssize_t have, const char *died);

#endif
