/* Intel MultiProcessor Specification 1.4 table: the CPUs, the IOAPIC and
 * the ISA interrupt routing for kernels booted without ACPI (acpi=off). */
#include <errno.h>
#include <string.h>

#include "board/acpi.h"
#include "board/layout.h"
#include "board/mptable.h"

#define MP_BUS_PCI   0
#define MP_BUS_ISA   1

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

size_t mptable_size(int ncpus)
{
    /* header + CPUs + 2 buses + IOAPIC + 16 I/O interrupts + 2 local interrupts */
    return 44 + 20 * (size_t)ncpus + 2 * 8 + 8 + 16 * 8 + 2 * 8;
}

static uint8_t *io_int(uint8_t *e, uint8_t type, uint8_t bus_irq, uint8_t ioapic, uint8_t pin)
{
    e[0] = 3;
    e[1] = type;            /* 0 INT, 3 ExtINT */
    put16(e + 2, 0);        /* polarity and trigger conform to the bus */
    e[4] = MP_BUS_ISA;
    e[5] = bus_irq;
    e[6] = ioapic;
    e[7] = pin;
    return e + 8;
}

/* err, not e: e walks the table's entries below. */
int mptable_build(struct guest_mem *m, int ncpus, uint64_t table_at, struct err *err)
{
    size_t len = mptable_size(ncpus);
    uint8_t *fp = mem_ptr(m, LAYOUT_MPTABLE, 16);
    uint8_t *t = mem_ptr(m, table_at, len);
    if (ncpus < 1 || ncpus > 254 || !fp || !t)
        return err_set(err, -EINVAL, "cannot write an MP table for %d CPUs at %#llx", ncpus,
                       (unsigned long long)table_at);
    memset(t, 0, len);
    memcpy(t, "PCMP", 4);
    put16(t + 4, (uint16_t)len);
    t[6] = 4;                                   /* spec revision 1.4 */
    memcpy(t + 8, "HOSTEL  ", 8);
    memcpy(t + 16, "HOSTELVM    ", 12);
    put16(t + 34, (uint16_t)(ncpus + 2 + 1 + 16 + 2));
    put32(t + 36, (uint32_t)LAYOUT_LAPIC);

    uint8_t *e = t + 44;
    for (int i = 0; i < ncpus; i++, e += 20) {
        e[0] = 0;                               /* processor */
        e[1] = (uint8_t)i;                      /* local APIC id */
        e[2] = 0x14;                            /* local APIC version */
        e[3] = 0x01 | (i == 0 ? 0x02 : 0);      /* enabled, bootstrap */
        put32(e + 4, 0x600);                    /* family 6 */
        put32(e + 8, 0x201);                    /* FPU, APIC */
    }
    e[0] = 1; e[1] = MP_BUS_PCI; memcpy(e + 2, "PCI   ", 6); e += 8;
    e[0] = 1; e[1] = MP_BUS_ISA; memcpy(e + 2, "ISA   ", 6); e += 8;
    uint8_t ioapic = (uint8_t)ncpus;
    e[0] = 2; e[1] = ioapic; e[2] = 0x11; e[3] = 1; put32(e + 4, (uint32_t)LAYOUT_IOAPIC); e += 8;
    /* The 8259 on pin 0, IRQ 0 on pin 2 (as the MADT override says), IRQ n on pin n. */
    e = io_int(e, 3, 0, ioapic, 0);
    e = io_int(e, 0, 0, ioapic, 2);
    for (uint8_t irq = 1; irq < 16; irq++)
        if (irq != 2)
            e = io_int(e, 0, irq, ioapic, irq);
    /* ExtINT on LINT0, NMI on LINT1, for every local APIC. */
    e[0] = 4; e[1] = 3; e[4] = MP_BUS_ISA; e[6] = 0xff; e[7] = 0; e += 8;
    e[0] = 4; e[1] = 1; e[4] = MP_BUS_ISA; e[6] = 0xff; e[7] = 1; e += 8;
    t[7] = (uint8_t)-acpi_checksum(t, len);

    memset(fp, 0, 16);
    memcpy(fp, "_MP_", 4);
    put32(fp + 4, (uint32_t)table_at);
    fp[8] = 1;                                  /* length in 16-byte units */
    fp[9] = 4;
    fp[10] = (uint8_t)-acpi_checksum(fp, 16);
    return 0;
}
