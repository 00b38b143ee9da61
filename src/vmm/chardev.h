/* Character backends for consoles: the interactive terminal (raw mode,
 * Ctrl-A escapes), a file, or nothing.  A device (the UART, later
 * virtio-console) attaches as the receiver of input. */
#ifndef HOSTEL_CHARDEV_H
#define HOSTEL_CHARDEV_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct chardev;

/* Called from the chardev's input thread; returns how many bytes the device
 * took.  Bytes not taken are offered again after chardev_input_ready(). */
typedef size_t (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t len);

/* spec: "stdio", "file:PATH", "none".  stdio puts the terminal in raw mode
 * (restored at exit, on signals and crashes) and handles Ctrl-A x (quit,
 * vm_request_stop VM_STOP_QUIT) and Ctrl-A h (help). */
int chardev_open(struct vm *vm, const char *spec, struct chardev **out, char *err, size_t errlen);
void chardev_close(struct chardev *cd);
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len);
void chardev_set_receiver(struct chardev *cd, chardev_receive_fn fn, void *opaque);
void chardev_input_ready(struct chardev *cd);

#endif
