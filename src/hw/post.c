/* Port 0x80: writes are ignored, reads return all ones as from an empty bus.
 * Registered only so that the port is visibly owned, not "unclaimed". */
#include "hw/post.h"

#include "machine/bus.h"
#include "board/layout.h"
#include "machine/vm.h"

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

int post_create(struct vm *vm)
{
    return bus_register(&vm->pio, PORT_POST, 1, &post_ops, NULL, "post");
}

void post_destroy(struct vm *vm)
{
    bus_unregister(&vm->pio, PORT_POST);
}
