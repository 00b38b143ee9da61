/* Port 0x80, the POST diagnostic port: claimed so writes (Linux's I/O delay,
 * firmware progress codes) are quietly absorbed. */
#ifndef HOSTEL_POST_H
#define HOSTEL_POST_H

#include <stdint.h>

#include "machine/bus.h"

/* No state: snapshots have nothing to save or load for it. */
int post_create(struct bus *pio, uint16_t port);
void post_destroy(struct bus *pio, uint16_t port);

#endif
