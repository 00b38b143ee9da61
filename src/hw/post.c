/* Port 0x80: writes are ignored, reads return all ones as from an empty bus.
 * Registered only so that the port is visibly owned, not "unclaimed". */
#include "hw/post.h"

static uint64_t post_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque; (void)offset;
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void post_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)opaque; (void)offset; (void)size; (void)value;
}

static const struct bus_ops post_ops = { .read = post_read, .write = post_write };

int post_create(struct bus *pio, uint16_t port)
{
    return bus_register(pio, port, 1, &post_ops, NULL, "post");
}

void post_destroy(struct bus *pio, uint16_t port)
{
    bus_unregister(pio, port);
}
