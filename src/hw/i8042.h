/* The 8042 keyboard controller at 0x60/0x64: enough for Linux's probe (a
 * keyboard and a PS/2 mouse that answer commands) and the reset line. */
#ifndef HOSTEL_I8042_H
#define HOSTEL_I8042_H

#include <stdint.h>

struct vm;
struct i8042;

#define IRQ_I8042_AUX 12   /* the mouse port's ISA line */

int i8042_create(struct vm *vm, struct i8042 **out);
void i8042_destroy(struct i8042 *k);

#endif
