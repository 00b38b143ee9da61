/* The named-machine commands: create, start, ls, console, stop, pause,
 * resume, restart, info, logs, set, rm, ssh (and the internal vmm). */
#ifndef HOSTEL_MACHINES_H
#define HOSTEL_MACHINES_H

#include <stdbool.h>

/* Returns true and sets *status when argv[0] names a machine command. */
bool machines_dispatch(int argc, char **argv, int *status);
void machines_usage(void *stdio_file);

/* Starts a named machine's VMM detached and waits until it runs (or says
 * why not); restore names a snapshot with state to start from, or NULL.
 * 0, or 1 after printing the error. */
int machine_start(const char *name, const char *restore);
/* Asks a running machine's VMM to quit at once and waits until it has
 * (its lock is free); 0 when it is stopped. */
int machine_kill_wait(const char *name, int timeout_s);

#endif
