/* Interrupts as a device sees them: a line it raises and lowers, and a sink
 * for MSI messages.  The board connects each to an interrupt controller
 * (ours in hw/irqchip, or KVM's in the host kernel); a device never knows
 * which.  Also the two small contracts between our controllers and the emu
 * engine's local APICs: the message the IOAPIC and MSIs send to LAPICs, and
 * the 8259's side of LINT0 (ExtINT). */
#ifndef HOSTEL_IRQ_H
#define HOSTEL_IRQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One interrupt line: set(opaque, n, level).  An unconnected line (set NULL)
 * goes nowhere, which is what a device under test without one wants. */
struct irq_line {
    void (*set)(void *opaque, unsigned n, int level);
    void *opaque;
    unsigned n;
};

static inline void irq_set(const struct irq_line *l, int level)
{
    if (l->set)
        l->set(l->opaque, l->n, level);
}

/* Edge-triggered devices pulse: 1 then 0. */
static inline void irq_pulse(const struct irq_line *l)
{
    irq_set(l, 1);
    irq_set(l, 0);
}

/* Where a device's MSI writes go (address and data as the guest programmed). */
struct msi_sink {
    void (*send)(void *opaque, uint64_t addr, uint32_t data);
    void *opaque;
};

static inline void msi_send(const struct msi_sink *s, uint64_t addr, uint32_t data)
{
    if (s->send)
        s->send(s->opaque, addr, data);
}

/* A message to local APICs (from the IOAPIC, an MSI, or another vCPU's ICR). */
enum apic_delivery { APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
                     APIC_DM_INIT = 5, APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7 };
struct apic_msg {
    uint32_t dest;         /* APIC ID (physical) or logical mask */
    bool dest_logical;
    uint8_t delivery;      /* enum apic_delivery */
    uint8_t vector;
    bool level_triggered;
    bool assert;           /* level: asserted */
};

/* Where our IOAPIC and MSIs deliver: the emu engine's local APICs. */
struct apic_bus {
    void (*deliver)(void *opaque, const struct apic_msg *msg);
    void *opaque;
};

/* What a local APIC needs of the interrupt controllers outside it: the
 * 8259's output (LINT0 as ExtINT, or the CPU's INTR pin with the APIC off)
 * and the EOI broadcast the IOAPIC's level-triggered pins wait for. */
struct ext_intr {
    bool (*pending)(void *opaque);
    int (*ack)(void *opaque);                   /* the vector, or -1 */
    void (*eoi)(void *opaque, uint8_t vector);
    void *opaque;
};

#endif
