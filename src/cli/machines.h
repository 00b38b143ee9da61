/* The named-machine commands: create, start, ls, console, stop, pause,
 * resume, restart, info, logs, set, rm, ssh (and the internal vmm). */
#ifndef HOSTEL_MACHINES_H
#define HOSTEL_MACHINES_H

#include <stdbool.h>

/* Returns true and sets *status when argv[0] names a machine command. */
bool machines_dispatch(int argc, char **argv, int *status);
void machines_usage(void *stdio_file);

#endif
