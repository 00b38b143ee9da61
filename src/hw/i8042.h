/* The 8042 keyboard controller at 0x60/0x64: enough for Linux's probe (a
 * keyboard and a PS/2 mouse that answer commands) and the reset line. */
#ifndef HOSTEL_I8042_H
#define HOSTEL_I8042_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"

struct i8042;

/* The data and command ports on pio; the keyboard's and the mouse port's
 * interrupt lines; the CPU reset line (command 0xfe) stops the machine
 * through reset. */
int i8042_create(struct bus *pio, uint16_t data_port, uint16_t cmd_port, struct irq_line kbd,
                 struct irq_line aux, struct stop_request reset, struct i8042 **out);
void i8042_destroy(struct i8042 *k);

#endif
