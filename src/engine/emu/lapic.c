/* STUB: local APIC (owned by emu-irq; replaced). */
#include <errno.h>
#include <stddef.h>

#include "engine/emu/lapic.h"

int lapic_create(struct emu_cpu *c, struct emu_lapic **out) { (void)c; *out = NULL; return -ENOSYS; }
void lapic_destroy(struct emu_lapic *l) { (void)l; }
void lapic_reset(struct emu_lapic *l) { (void)l; }
uint64_t lapic_mmio_read(struct emu_lapic *l, uint64_t o, unsigned s) { (void)l; (void)o; (void)s; return 0; }
void lapic_mmio_write(struct emu_lapic *l, uint64_t o, unsigned s, uint64_t v) { (void)l; (void)o; (void)s; (void)v; }
int lapic_pending(struct emu_lapic *l) { (void)l; return -1; }
int lapic_ack(struct emu_lapic *l) { (void)l; return -1; }
void lapic_set_tpr(struct emu_lapic *l, uint8_t cr8) { (void)l; (void)cr8; }
uint8_t lapic_get_tpr(struct emu_lapic *l) { (void)l; return 0; }
void lapic_set_tsc_deadline(struct emu_lapic *l, uint64_t tsc) { (void)l; (void)tsc; }
uint64_t lapic_get_tsc_deadline(struct emu_lapic *l) { (void)l; return 0; }
void lapic_deliver(struct vm *vm, const struct apic_msg *msg) { (void)vm; (void)msg; }
