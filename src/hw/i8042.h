/* The 8042 keyboard controller at 0x60/0x64 with a PS/2 keyboard and mouse
 * behind it: they answer Linux's and the firmware's probes, and carry the
 * keys and pointer of a display's viewers (host/display.h); the reset line. */
#ifndef HOSTEL_I8042_H
#define HOSTEL_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"

struct display;
struct err;
struct i8042;
struct state_in;
struct state_out;

/* The data and command ports on pio; the keyboard's and the mouse port's
 * interrupt lines; the CPU reset line (command 0xfe) stops the machine
 * through reset. */
int i8042_create(struct bus *pio, uint16_t data_port, uint16_t cmd_port, struct irq_line kbd,
                 struct irq_line aux, struct stop_request reset, struct i8042 **out);
void i8042_destroy(struct i8042 *k);

/* Keys and pointer from d's viewers reach the keyboard and the mouse (NULL
 * detaches).  They are sent only as a real device would: the keyboard when
 * scanning and its port enabled, the mouse when reporting is on, a byte at
 * a time when the output buffer is empty, from a 256-byte buffer per
 * device; an event that does not fit in it is dropped whole. */
void i8042_attach_display(struct i8042 *k, struct display *d);
/* The same events directly (tests): set-1 scan codes as host/display.h
 * says; the keyboard sends them in the scan code set the guest chose (set 2
 * unless the controller translates); buttons bit 0 left, 1 middle, 2 right. */
void i8042_key(struct i8042 *k, uint16_t scancode, bool down);
void i8042_pointer(struct i8042 *k, int dx, int dy, unsigned buttons);
/* While the machine is paused, host input is dropped, and so are bytes of
 * it not yet sent (a snapshot never sees a key arrive halfway). */
void i8042_pause(struct i8042 *k);
void i8042_resume(struct i8042 *k);

/* Snapshots: controller RAM, status, output port, where the next data byte
 * goes, the keyboard's and the mouse's command state (version 2 adds the
 * keyboard's scanning flag and scan code set), and the bytes waiting
 * for the output buffer (field order in docs/snapshot-state.md).  Both
 * interrupt levels follow from them and are driven on load.  Save fails
 * only with -ENOMEM; load goes into a fresh controller with the same
 * wiring, refuses what it could not hold (-EINVAL, e says which) and then
 * leaves it as it was.  No thread; host input is dropped while paused. */
#define I8042_STATE_VERSION 2
int i8042_save(struct i8042 *k, struct state_out *o);
int i8042_load(struct i8042 *k, struct state_in *in, struct err *e);

#endif
