/* The board's fixed addresses: one table, so loaders, ACPI and devices agree. */
#ifndef HOSTEL_LAYOUT_H
#define HOSTEL_LAYOUT_H

/* Low guest memory used by the loaders. */
#define LAYOUT_BOOT_GDT      0x500ULL     /* flat GDT for 32/64-bit entry (null, code64 0x08? see loader) */
#define LAYOUT_PML4          0x1000ULL    /* identity page tables for 64-bit entry */
#define LAYOUT_PDPT          0x2000ULL
#define LAYOUT_PD            0x3000ULL    /* 4 pages: first 4 GiB with 2 MiB pages */
#define LAYOUT_ZERO_PAGE     0x7000ULL    /* Linux boot_params */
#define LAYOUT_MB_INFO       0x8000ULL    /* Multiboot info, module list, strings */
#define LAYOUT_CMDLINE       0x20000ULL   /* kernel command line (up to 64 KiB) */
#define LAYOUT_CMDLINE_MAX   0x10000ULL
#define LAYOUT_MPTABLE       0x9fc00ULL   /* EBDA: MP floating pointer + table */
#define LAYOUT_EBDA_START    0x9fc00ULL
#define LAYOUT_ACPI          0xe0000ULL   /* RSDP and tables, 0xe0000-0xfffff */
#define LAYOUT_ACPI_END      0x100000ULL
#define LAYOUT_KERNEL        0x100000ULL  /* 1 MiB: where kernels load by default */

/* Interrupt controllers and timers (MMIO). */
#define LAYOUT_IOAPIC        0xfec00000ULL
#define LAYOUT_HPET          0xfed00000ULL
#define LAYOUT_LAPIC         0xfee00000ULL
#define LAYOUT_PCI_MMIO      0xc0000000ULL   /* 32-bit BAR window */
#define LAYOUT_PCI_MMIO_END  0xfec00000ULL

/* Port I/O. */
#define PORT_PIC_MASTER      0x20
#define PORT_PIT             0x40
#define PORT_I8042_DATA      0x60
#define PORT_I8042_CMD       0x64
#define PORT_RTC             0x70
#define PORT_POST            0x80
#define PORT_PIC_SLAVE       0xa0
#define PORT_DEBUG_EXIT      0xf4
#define PORT_COM1            0x3f8
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

#endif
