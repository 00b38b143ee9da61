/* The debug-exit port (QEMU's isa-debug-exit): a guest writes v and hostel
 * exits with status (v << 1) | 1.  Test guests end this way. */
#ifndef HOSTEL_DEBUGEXIT_H
#define HOSTEL_DEBUGEXIT_H

#include <stdint.h>

struct vm;
struct debugexit;

int debugexit_create(struct vm *vm, uint16_t port, struct debugexit **out);
void debugexit_destroy(struct debugexit *d);

#endif
