/* STUB: PIC + IOAPIC models (owned by the emu-interrupts helper; replaced). */
#include "hw/irqchip.h"

#include <errno.h>
#include <stddef.h>

int irqchip_create(struct vm *vm, struct irqchip **out) { (void)vm; *out = NULL; return -ENOSYS; }
void irqchip_destroy(struct irqchip *ic) { (void)ic; }
void irqchip_set_irq(struct irqchip *ic, unsigned gsi, int level) { (void)ic; (void)gsi; (void)level; }
void irqchip_msi(struct irqchip *ic, uint64_t addr, uint32_t data) { (void)ic; (void)addr; (void)data; }
bool irqchip_pic_pending(struct irqchip *ic) { (void)ic; return false; }
int irqchip_pic_ack(struct irqchip *ic) { (void)ic; return -1; }
void irqchip_eoi(struct irqchip *ic, uint8_t vector) { (void)ic; (void)vector; }
