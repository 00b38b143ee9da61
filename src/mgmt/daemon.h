/* The VMM process of a named machine: `hostel start` launches it detached;
 * it holds the machine's lock, serves the control socket, keeps the console
 * log and runs the machine until it powers off. */
#ifndef HOSTEL_DAEMON_H
#define HOSTEL_DAEMON_H

/* Runs the machine.  Writes one line to ready_fd (when >= 0): "ok" once the
 * vCPUs run, or "error: ..." — then closes it.  Returns the exit status. */
/* restore: the name of a snapshot with state to start from, or NULL. */
int machine_daemon_run(const char *name, int ready_fd, const char *restore);

/* A VMM receiving a migrated machine (mgmt/receive.h): writes "ok ADDR"
 * once it listens, then runs the machine it receives as machine_daemon_run
 * does.  Returns the exit status (1 when no machine came). */
struct receive_opts;
int machine_daemon_receive(const struct receive_opts *o, int ready_fd);

#endif
