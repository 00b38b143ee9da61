/* The 8042 keyboard controller at 0x60/0x64: enough for Linux's probe (a
 * keyboard and a PS/2 mouse that answer commands) and the reset line. */
#ifndef HOSTEL_I8042_H
#define HOSTEL_I8042_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"

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

/* Snapshots: controller RAM, status, output port, where the next data byte
 * goes, the keyboard's and the mouse's command state, and the bytes waiting
 * for the output buffer (field order in docs/snapshot-state.md).  Both
 * interrupt levels follow from them and are driven on load.  Save fails
 * only with -ENOMEM; load goes into a fresh controller with the same
 * wiring, refuses what it could not hold (-EINVAL, e says which) and then
 * leaves it as it was.  No thread and no host input: nothing to pause. */
#define I8042_STATE_VERSION 1
int i8042_save(struct i8042 *k, struct state_out *o);
int i8042_load(struct i8042 *k, struct state_in *in, struct err *e);

#endif
