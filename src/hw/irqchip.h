/* Our own interrupt controllers for engines without an in-kernel irqchip
 * (emu): the 8259 pair and the IOAPIC.  GSI 0-15 go to both (as on a PC);
 * IRQ0 reaches IOAPIC pin 2, matching the MADT override. */
#ifndef HOSTEL_IRQCHIP_H
#define HOSTEL_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/state.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/irqstate.h"

struct irqchip;

/* Where the board puts the chips: the 8259 pair's and the ELCR's ports, the
 * IOAPIC's 4 KiB MMIO window, and the local APICs its messages go to. */
struct irqchip_wiring {
    struct bus *pio, *mmio;
    uint16_t pic_master, pic_slave, elcr;
    uint64_t ioapic_base;
    struct apic_bus apic;
};

int irqchip_create(const struct irqchip_wiring *w, struct irqchip **out);
void irqchip_destroy(struct irqchip *ic);
void irqchip_set_irq(struct irqchip *ic, unsigned gsi, int level);
void irqchip_msi(struct irqchip *ic, uint64_t addr, uint32_t data);
/* The message an MSI address/data pair carries; -EINVAL when the address is
 * outside the 0xfee00000 window. */
int irqchip_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *out);

/* The CPU side of the 8259 (LINT0 in ExtINT mode, or no APIC). */
bool irqchip_pic_pending(struct irqchip *ic);
int irqchip_pic_ack(struct irqchip *ic);        /* returns the vector, or -1 */
/* A local APIC EOI for a level-triggered vector (IOAPIC remote IRR). */
void irqchip_eoi(struct irqchip *ic, uint8_t vector);

/* Whether no controller would pass the line on now: masked in (or not yet
 * initialized) 8259 and masked in the IOAPIC.  A timer may stop while so. */
bool irqchip_gsi_masked(struct irqchip *ic, unsigned gsi);
/* fn(opaque) is called, with no irqchip lock held, when the line stops being
 * masked everywhere.  One watcher a line; fn NULL removes it. */
void irqchip_on_unmask(struct irqchip *ic, unsigned gsi, void (*fn)(void *opaque), void *opaque);

/* State (IRQCHIP_STATE_VERSION, struct irqchip_snap, docs/snapshot-cpu.md):
 * the 8259 pair and the IOAPIC, the same bytes the kvm engine writes for its
 * in-kernel chips.  Save fails only with -ENOMEM.  Load checks everything
 * before it changes anything (-EINVAL with e naming the field), then tells
 * the CPUs what the loaded chips signal (the 8259's INT, level-triggered
 * IOAPIC pins still asserted) and re-checks the masks the PIT waits on. */
int irqchip_save(struct irqchip *ic, struct state_out *o);
int irqchip_load(struct irqchip *ic, struct state_in *in, struct err *e);

/* The board's connectors: a GSI as a device's irq_line, the MSI sink, and the
 * 8259 side of LINT0 that the emu engine's local APICs take. */
struct irq_line irqchip_line(struct irqchip *ic, unsigned gsi);
struct msi_sink irqchip_msi_sink(struct irqchip *ic);
struct ext_intr irqchip_ext_intr(struct irqchip *ic);

#endif
