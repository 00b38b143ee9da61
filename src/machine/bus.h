/* The I/O buses both engines dispatch to: one for port I/O, one for MMIO.
 * A device registers a range with a small table of callbacks; it never knows
 * which engine runs the CPU. */
#ifndef HOSTEL_BUS_H
#define HOSTEL_BUS_H

#include <pthread.h>
#include <stdint.h>

struct bus_ops {
    /* offset is relative to the registered base; size is 1, 2, 4 or 8.
     * Devices lock themselves: callbacks may run on any vCPU thread. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_range {
    uint64_t base, len;
    const struct bus_ops *ops;
    void *opaque;
    const char *name;
};

struct bus {
    const char *name;            /* "pio" or "mmio", for messages */
    struct bus_range *ranges;    /* sorted by base, non-overlapping */
    int count, cap;
    pthread_rwlock_t lock;       /* PCI BAR moves re-register at run time */
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);
/* -EEXIST when the range overlaps one already registered. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
                 void *opaque, const char *name);
int bus_unregister(struct bus *b, uint64_t base);

/* Unclaimed reads return all ones, unclaimed writes are dropped (as on a PC).
 * Return 0 when a device claimed the access, -ENOENT otherwise. */
int bus_read(struct bus *b, uint64_t addr, unsigned size, uint64_t *value);
int bus_write(struct bus *b, uint64_t addr, unsigned size, uint64_t value);

#endif
