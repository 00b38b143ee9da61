/* Character backends for consoles: the interactive terminal (raw mode,
 * Ctrl-A escapes), a file, or nothing.  A device (the UART, later
 * virtio-console) attaches as the receiver of input. */
#ifndef HOSTEL_CHARDEV_H
#define HOSTEL_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct chardev;

/* Called from the chardev's input thread, or from the thread that calls
 * chardev_input_ready() or chardev_set_receiver(); returns how many bytes the
 * device took.  Bytes not taken are offered again after chardev_input_ready(),
 * which a device must call without holding its own lock. */
typedef size_t (*chardev_receive_fn)(void *opaque, const uint8_t *buf, size_t len);

/* spec: "stdio", "file:PATH", "none".  stdio puts the terminal in raw mode
 * (restored at exit, on signals and crashes) and handles Ctrl-A x (quit: the
 * attached machine's quit callback) and Ctrl-A h (help).  On failure e says
 * what could not be opened. */
int chardev_open(const char *spec, struct chardev **out, struct err *e);
void chardev_close(struct chardev *cd);
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len);
void chardev_set_receiver(struct chardev *cd, chardev_receive_fn fn, void *opaque);
void chardev_input_ready(struct chardev *cd);

/* What Ctrl-A x stops: quit(opaque) returns true when it took the request
 * (a machine running), false to keep it for the next machine.  The console
 * outlives reboots: each new machine attaches and detaches (NULL) before it
 * is freed, and a quit typed in between stops the next one at attach. */
void chardev_attach(struct chardev *cd, bool (*quit)(void *opaque), void *opaque);

/* Feeds input as if typed (escapes included); for other front ends such as a
 * control socket, and for tests.  Bytes beyond the input buffer are dropped,
 * as on an overrun serial line; returns how many were kept. */
size_t chardev_push_input(struct chardev *cd, const uint8_t *buf, size_t len);

/* A backend whose output goes to fn (a detached machine's console hub, say)
 * and whose input arrives through chardev_push_input(), passed on as is:
 * no Ctrl-A escapes (the client end handles its own). */
typedef void (*chardev_output_fn)(void *opaque, const uint8_t *buf, size_t len);
int chardev_open_callback(chardev_output_fn fn, void *opaque, struct chardev **out);

/* When the guest last wrote to this console (CLOCK_MONOTONIC ns, 0 never),
 * and its last line of output (for the hang watchdog). */
uint64_t chardev_last_output(struct chardev *cd, char *line, size_t len);

/* The Ctrl-A escape machine, one byte at a time, without a terminal. */
enum chardev_escape_action {
    CHARDEV_ESC_NONE,      /* byte swallowed (the prefix, or an unknown command) */
    CHARDEV_ESC_FORWARD,   /* *out goes to the guest */
    CHARDEV_ESC_QUIT,      /* Ctrl-A x */
    CHARDEV_ESC_HELP,      /* Ctrl-A h */
    CHARDEV_ESC_MONITOR,   /* Ctrl-A c, reserved for a monitor */
};
#define CHARDEV_ESCAPE_CHAR 0x01   /* Ctrl-A */
enum chardev_escape_action chardev_escape_step(bool *after_prefix, uint8_t in, uint8_t *out);

/* The help text Ctrl-A h prints (lines end with \r\n for raw terminals). */
extern const char chardev_escape_help[];

#endif
