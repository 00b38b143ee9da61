/* The 16550A UART behind COM1: registers, 16-byte FIFOs, loopback and a
 * level interrupt, wired to a chardev for the console. */
#ifndef HOSTEL_UART_H
#define HOSTEL_UART_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"

struct chardev;
struct uart;

/* Registers 8 ports at base on pio, interrupts on irq; transmits to cd and
 * takes its input (cd may be NULL: output dropped, no input). */
int uart_create(struct bus *pio, uint16_t base, struct irq_line irq, struct chardev *cd,
                struct uart **out);
void uart_destroy(struct uart *u);

#endif
