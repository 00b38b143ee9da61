/* The 16550A UART behind COM1: registers, 16-byte FIFOs, loopback and a
 * level interrupt, wired to a chardev for the console. */
#ifndef HOSTEL_UART_H
#define HOSTEL_UART_H

#include <stdint.h>

struct vm;
struct chardev;
struct uart;

/* Registers 8 ports at base on vm->pio; transmits to cd and takes its input
 * (cd may be NULL: output dropped, no input). */
int uart_create(struct vm *vm, uint16_t base, unsigned irq, struct chardev *cd,
                struct uart **out);
void uart_destroy(struct uart *u);

#endif
