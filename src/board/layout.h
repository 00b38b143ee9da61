/* The board's fixed addresses: one table, so ACPI, the memory map and the
 * device wiring agree.  (Where the loaders put their own structures in low
 * memory is boot/boot_layout.h; this map keeps clear of it.) */
#ifndef HOSTEL_LAYOUT_H
#define HOSTEL_LAYOUT_H

#include "boot/boot_layout.h"

/* Low guest memory the board itself uses. */
#define LAYOUT_MPTABLE       0x9fc00ULL   /* EBDA: MP floating pointer + table */
#define LAYOUT_EBDA_START    0x9fc00ULL
#define LAYOUT_ACPI          0xe0000ULL   /* RSDP and tables, 0xe0000-0xfffff */
#define LAYOUT_ACPI_END      0x100000ULL

/* Interrupt controllers and timers (MMIO). */
#define LAYOUT_IOAPIC        0xfec00000ULL
#define LAYOUT_HPET          0xfed00000ULL
#define LAYOUT_LAPIC         0xfee00000ULL
#define LAYOUT_PCI_MMIO      0xc0000000ULL   /* 32-bit BAR window */
#define LAYOUT_PCI_MMIO_END  0xfec00000ULL

/* Port I/O. */
#define PORT_PIC_MASTER      0x20
#define PORT_PIT             0x40
#define PORT_SYSCTL          0x61      /* system control port B: PIT channel 2 gate */
#define PORT_I8042_DATA      0x60
#define PORT_I8042_CMD       0x64
#define PORT_RTC             0x70
#define PORT_POST            0x80
#define PORT_PIC_SLAVE       0xa0
#define PORT_DEBUG_EXIT      0xf4
#define PORT_COM1            0x3f8
#define PORT_ELCR            0x4d0     /* the 8259s' edge/level control registers */
#define PORT_ACPI_PM         0x600     /* the ACPI PM block (hw/acpi_pm.h offsets): */
#define PORT_ACPI_PM1A_EVT   0x600     /* 4 bytes: status, enable */
#define PORT_ACPI_PM1A_CNT   0x604     /* 2 bytes */
#define PORT_ACPI_PM_TMR     0x608     /* 4 bytes, 3.579545 MHz */
#define PORT_ACPI_RESET      0x60c     /* 1 byte, FADT reset register (value 0x0e? any write of 6/0xe resets) */
#define PORT_PCI_CONFIG_ADDR 0xcf8
#define PORT_PCI_CONFIG_DATA 0xcfc

/* Legacy IRQ lines (ISA numbering = GSI, except IRQ0 -> IOAPIC pin 2). */
#define IRQ_PIT   0
#define IRQ_KBD   1
#define IRQ_COM1  4
#define IRQ_RTC   8
#define IRQ_SCI   9
#define IRQ_AUX   12     /* the i8042 mouse port */

#endif
