/* The PC board: the explicit list of devices a machine gets, created in one
 * readable function, torn down in reverse. */
#ifndef HOSTEL_BOARD_H
#define HOSTEL_BOARD_H

struct vm;

/* Creates every device on vm->pio / vm->mmio.  When the engine has no
 * in-kernel irqchip it also creates our PIC, IOAPIC and PIT (hw/irqchip, hw/pit). */
int board_create(struct vm *vm);
void board_destroy(struct vm *vm);

#endif
