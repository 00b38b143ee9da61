/* The debug-exit port (QEMU's isa-debug-exit): a guest writes v and hostel
 * exits with status (v << 1) | 1.  Test guests end this way. */
#ifndef HOSTEL_DEBUGEXIT_H
#define HOSTEL_DEBUGEXIT_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/stop.h"

struct debugexit;

/* Four ports at port on pio; a write stops the machine through stop.
 * Snapshots: no state (reads are 0, a write acts at once), so nothing to
 * save or load, and no thread to pause. */
int debugexit_create(struct bus *pio, uint16_t port, struct stop_request stop,
                     struct debugexit **out);
void debugexit_destroy(struct debugexit *d);

#endif
