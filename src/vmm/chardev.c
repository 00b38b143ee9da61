/* STUB: console backends (owned by the devices helper; replaced). */
#include "vmm/chardev.h"

#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

int chardev_open(struct vm *vm, const char *spec, struct chardev **out, char *err, size_t errlen)
{
    (void)vm; (void)spec; (void)err; (void)errlen;
    *out = NULL;
    return 0;
}
void chardev_close(struct chardev *cd) { (void)cd; }
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
    (void)cd;
    if (write(1, buf, len) < 0) { }
}
void chardev_set_receiver(struct chardev *cd, chardev_receive_fn fn, void *opaque)
{
    (void)cd; (void)fn; (void)opaque;
}
void chardev_input_ready(struct chardev *cd) { (void)cd; }
