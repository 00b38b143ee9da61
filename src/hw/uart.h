/* The 16550A UART behind COM1: registers, 16-byte FIFOs, loopback and a
 * level interrupt, wired to a chardev for the console. */
#ifndef HOSTEL_UART_H
#define HOSTEL_UART_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"

struct chardev;
struct err;
struct state_in;
struct state_out;
struct uart;

/* Registers 8 ports at base on pio, interrupts on irq; transmits to cd and
 * takes its input (cd may be NULL: output dropped, no input). */
int uart_create(struct bus *pio, uint16_t base, struct irq_line irq, struct chardev *cd,
                struct uart **out);
void uart_destroy(struct uart *u);

/* Snapshots: the registers, the receive FIFO and the latched THRE interrupt,
 * in the field order of docs/snapshot-state.md; the interrupt level follows
 * from them and is driven on load.  Save fails only with -ENOMEM; load goes
 * into a fresh UART with the same wiring, refuses any value the chip could
 * not hold (-EINVAL, e says which), and leaves the UART as it was then. */
#define UART_STATE_VERSION 1
int uart_save(struct uart *u, struct state_out *o);
int uart_load(struct uart *u, struct state_in *in, struct err *e);

/* While paused the UART refuses input from its chardev, which keeps it and
 * offers it again after uart_resume.  Output only happens on guest writes,
 * so a paused machine sends nothing. */
void uart_pause(struct uart *u);
void uart_resume(struct uart *u);

#endif
