/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8/0xcfc), its host
 * bridge, and the API devices (virtio-pci and others) use to appear on it:
 * a config space, BARs the guest sizes and places, capabilities, INTx.
 *
 * INTx routing: devices use two legacy lines, also reported in the
 * Interrupt Line register (and in the DSDT's _PRT).  Slot s, pin p
 * (1 = INTA) drives GSI 10 when (s + p - 1) is even and GSI 11 when odd:
 * neighbouring slots alternate, and a slot's pins A/B alternate too.  Lines
 * are shared: the bus ORs every device's level before it reaches the
 * board's line, with 1 meaning asserted (the IOAPIC models ignore polarity). */
#ifndef HOSTEL_PCI_H
#define HOSTEL_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"

struct err;
struct pci_bus;
struct pci_device;
struct state_in;
struct state_out;

#define PCI_CONFIG_SIZE   256       /* 4096 once extended config (MMCONFIG) exists */
#define PCI_NUM_BARS      6
#define PCI_IRQ_A         10        /* the two legacy lines INTx is swizzled onto */
#define PCI_IRQ_B         11

/* Standard config registers. */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_REVISION_ID     0x08
#define PCI_CLASS_PROG      0x09
#define PCI_CLASS_DEVICE    0x0a
#define PCI_HEADER_TYPE     0x0e
#define PCI_BAR0            0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID    0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d

#define PCI_COMMAND_IO      0x0001
#define PCI_COMMAND_MEMORY  0x0002
#define PCI_COMMAND_MASTER  0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST  0x0010

enum pci_bar_type {
    PCI_BAR_NONE = 0,
    PCI_BAR_IO,              /* port I/O on the pio bus, size 4 to 256 */
    PCI_BAR_MEM32,           /* MMIO below 4 GiB */
    PCI_BAR_MEM64,           /* MMIO anywhere; takes this BAR and the next */
};

struct pci_device_ops {
    /* Optional.  A config read the device answers itself (device-specific
     * registers, capabilities with live state): return true and set *value.
     * Otherwise the stored config space is returned. */
    bool (*config_read)(struct pci_device *d, unsigned offset, unsigned size, uint32_t *value);
    /* Optional.  Called after a config write was applied to the stored space
     * (with its write masks), for registers with side effects. */
    void (*config_write)(struct pci_device *d, unsigned offset, unsigned size, uint32_t value);
    /* Optional.  A BAR started or stopped decoding, or moved: enabled says
     * whether it now decodes at addr.  When the BAR was given bus_ops the bus
     * range has already been moved; this is for devices that do more. */
    void (*bar_moved)(struct pci_device *d, int bar, bool enabled, uint64_t addr);
};

struct pci_bar {
    enum pci_bar_type type;
    bool prefetchable;
    uint64_t size;                   /* power of two */
    const struct bus_ops *ops;       /* registered at the BAR's address when decoding */
    void *opaque;
    bool mapped;                     /* currently registered on the bus */
    uint64_t mapped_addr;
    bool warned;                     /* said once that the guest placed it badly */
};

struct pci_device {
    const char *name;
    struct pci_bus *bus;
    uint8_t slot;                    /* device number 0-31 on bus 0 (function 0) */
    const struct pci_device_ops *ops;
    void *opaque;                    /* the device model's state */
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];  /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE];/* bits a 1 clears (status errors) */
    struct pci_bar bars[PCI_NUM_BARS];
    uint8_t next_cap;                /* where the next capability goes */
    unsigned gsi;
    int intx_level;                  /* what the device asks for */
    int intx_driven;                 /* what it contributes to the line now */
};

/* What the board gives the bus: the buses BARs land on, the configuration
 * ports (address at config_port, data at config_port + 4, the reset control
 * register at config_port + 1), the two shared INTx lines (GSI PCI_IRQ_A and
 * PCI_IRQ_B), where devices' MSIs go, the reset line of port 0xcf9, and
 * the guest-physical ranges no memory BAR decodes over. */
#define PCI_MAX_FIXED 4
struct pci_fixed_range {
    uint64_t base, len;
    const char *what;                /* for the log: "guest RAM" */
};
struct pci_host_wiring {
    struct bus *pio, *mmio;
    uint16_t config_port;
    struct irq_line intx[2];
    struct msi_sink msi;
    struct stop_request reset;
    /* RAM and the chipset's fixed decodes (the interrupt controllers): on
     * a real PC they win over a BAR the guest places on them, so a BAR
     * overlapping one stays unmapped while it does. */
    struct pci_fixed_range fixed[PCI_MAX_FIXED];
    unsigned nfixed;
};

/* Creates bus 0 with the host bridge at 00:00.0 and claims the config ports. */
int pci_bus_create(const struct pci_host_wiring *w, struct pci_bus **out);
/* Where devices on the bus send their MSIs. */
const struct msi_sink *pci_bus_msi(const struct pci_bus *bus);
void pci_bus_destroy(struct pci_bus *bus);

/* Fills in a device's identity before it is added.  class_code is
 * 0xCCSSPP (class, subclass, programming interface). */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
                     uint32_t class_code, uint8_t revision);
/* Declares BAR n (before pci_bus_add_device).  size is rounded up to a
 * power of two (at least 16 for memory, 4 for I/O); ops, when given, are
 * registered wherever the guest places the BAR while decoding is on. */
int pci_device_set_bar(struct pci_device *d, int n, enum pci_bar_type type, bool prefetchable,
                       uint64_t size, const struct bus_ops *ops, void *opaque);
/* Appends a capability of len bytes (header included) with the given ID to
 * the list; returns its config offset, or -ENOSPC.  The caller fills in the
 * bytes after the two-byte header and sets wmask bits it wants writable. */
int pci_device_add_capability(struct pci_device *d, uint8_t id, unsigned len);
/* Uses INTx pin 1-4 (INTA-INTD); 0 for none (the default). */
void pci_device_set_intx_pin(struct pci_device *d, uint8_t pin);
/* Places the device on the bus: slot -1 picks the first free one.  The
 * device memory belongs to the caller and must outlive its removal. */
int pci_bus_add_device(struct pci_bus *bus, struct pci_device *d, int slot);
void pci_bus_remove_device(struct pci_bus *bus, struct pci_device *d);

/* Asserts (1) or deasserts (0) the device's INTx line.  Safe from any
 * thread, with the device's own lock held. */
void pci_device_set_irq(struct pci_device *d, int level);

/* The GSI a slot's pin reaches (the swizzle above). */
unsigned pci_intx_gsi(unsigned slot, unsigned pin);

/* The address a BAR is programmed with (0 when unset). */
uint64_t pci_device_bar_address(const struct pci_device *d, int n);

/* Snapshots.  The bus's own state: the address register, the reset control
 * register, which slots hold which device (checked on load: the machine
 * must be built the same), and the host bridge's config space; field order
 * in docs/snapshot-state.md.  Every other device's config space is in that
 * device's own state (pci_device_*_config below), so a model loads its
 * config and the state that depends on it together.  Save fails only with
 * -ENOMEM; load goes into a fresh bus with the same devices, refuses what it
 * could not hold (-EINVAL, e says which) and then leaves it as it was. */
#define PCI_BUS_STATE_VERSION 1
int pci_bus_save(struct pci_bus *bus, struct state_out *o);
int pci_bus_load(struct pci_bus *bus, struct state_in *in, struct err *e);

/* A device's stored config space, all PCI_CONFIG_SIZE bytes whatever the
 * write masks say (computed bits, such as the status register's interrupt
 * bit, are not stored). */
void pci_device_save_config(struct pci_device *d, uint8_t cfg[PCI_CONFIG_SIZE]);
/* Whether cfg could be this device's: every read-only bit as this device
 * has it (identity, capabilities, BAR types), no error bit that the device
 * never sets.  -EINVAL with e naming the device, the byte and both values. */
int pci_device_check_config(struct pci_device *d, const uint8_t cfg[PCI_CONFIG_SIZE],
                            struct err *e);
/* Installs a checked config space: BARs are placed on the buses as it
 * says, INTx follows its command register.  The device's config_write hook
 * is not called: the model restores what depends on config itself. */
void pci_device_load_config(struct pci_device *d, const uint8_t cfg[PCI_CONFIG_SIZE]);

/* Little-endian accessors for a device's own config space. */
static inline uint16_t pci_config_get16(const struct pci_device *d, unsigned off)
{
    return (uint16_t)(d->config[off] | d->config[off + 1] << 8);
}
static inline uint32_t pci_config_get32(const struct pci_device *d, unsigned off)
{
    return (uint32_t)d->config[off] | (uint32_t)d->config[off + 1] << 8 |
           (uint32_t)d->config[off + 2] << 16 | (uint32_t)d->config[off + 3] << 24;
}
static inline void pci_config_set16(struct pci_device *d, unsigned off, uint16_t v)
{
    d->config[off] = v & 0xff;
    d->config[off + 1] = v >> 8;
}
static inline void pci_config_set32(struct pci_device *d, unsigned off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        d->config[off + i] = (uint8_t)(v >> (8 * i));
}

#endif
