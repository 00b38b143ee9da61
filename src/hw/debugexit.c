/* The debug-exit port: any write stops the machine with the value written;
 * board/run.c turns it into the exit status (v << 1) | 1. */
#include "hw/debugexit.h"

#include <errno.h>
#include <stdlib.h>

#include "machine/bus.h"
#include "machine/stop.h"

struct debugexit {
    struct bus *pio;
    struct stop_request stop;
    uint16_t port;
};

static uint64_t debugexit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque; (void)offset; (void)size;
    return 0;
}

static void debugexit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct debugexit *d = opaque;
    (void)offset;
    if (size < 8)
        value &= (1ULL << (size * 8)) - 1;
    stop_request(&d->stop, VM_STOP_DEBUG_EXIT, (int)(uint32_t)value);
}

static const struct bus_ops debugexit_ops = { .read = debugexit_read, .write = debugexit_write };

int debugexit_create(struct bus *pio, uint16_t port, struct stop_request stop,
                     struct debugexit **out)
{
    struct debugexit *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->pio = pio;
    d->stop = stop;
    d->port = port;
    /* Four ports, as the QEMU reference configuration uses (iosize=4). */
    int r = bus_register(pio, port, 4, &debugexit_ops, d, "debug-exit");
    if (r < 0) {
        free(d);
        return r;
    }
    *out = d;
    return 0;
}

void debugexit_destroy(struct debugexit *d)
{
    if (!d)
        return;
    bus_unregister(d->pio, d->port);
    free(d);
}
