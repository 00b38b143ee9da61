/* The I/O APIC at its default base (through the identity map) and the
 * CMOS/RTC index and data ports, for the 64-bit guests that route ISA
 * interrupts through the I/O APIC. */
#ifndef GUEST_IOAPIC_H
#define GUEST_IOAPIC_H

#include "guest.h"

#define IOAPIC_BASE 0xfec00000ull

static inline uint32_t ioapic_read(uint32_t reg)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
    return *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10);
}

static inline void ioapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
    *(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10) = v;
}

/* Fixed delivery, physical destination, edge, active high (ISA lines). */
static inline void ioapic_route(int pin, uint8_t vector, uint32_t apic_id, int masked)
{
    ioapic_write(0x11 + 2 * (uint32_t)pin, apic_id << 24);
    ioapic_write(0x10 + 2 * (uint32_t)pin, vector | (masked ? 1u << 16 : 0));
}

static inline uint8_t cmos_read(uint8_t reg)
{
    outb(0x70, reg);
    return inb(0x71);
}

static inline void cmos_write(uint8_t reg, uint8_t v)
{
    outb(0x70, reg);
    outb(0x71, v);
}

#endif
