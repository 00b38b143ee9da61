/* PCI bus 0: configuration mechanism #1, the host bridge, BAR placement on
 * the port and MMIO buses, capabilities and shared INTx lines. */
#include "hw/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/state.h"

#define PCI_SLOTS 32
#define CONFIG_ENABLE 0x80000000u

struct pci_bus {
    struct pci_host_wiring w;
    pthread_mutex_t lock;          /* config space, the address register, BAR moves */
    pthread_mutex_t irq_lock;      /* INTx levels; never held while taking lock */
    uint32_t address;
    uint8_t reset_control;
    struct pci_device *devices[PCI_SLOTS];
    struct pci_device host_bridge;
    int line_count[2];             /* devices asserting GSI 10 and 11 */
    bool registered_addr, registered_data;
};

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
    return ((slot + pin - 1) & 1) ? PCI_IRQ_B : PCI_IRQ_A;
}

/* ---- devices ------------------------------------------------------------ */

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
                     uint32_t class_code, uint8_t revision)
{
    memset(d, 0, sizeof(*d));
    d->name = name;
    pci_config_set16(d, PCI_VENDOR_ID, vendor);
    pci_config_set16(d, PCI_DEVICE_ID, device);
    d->config[PCI_REVISION_ID] = revision;
    d->config[PCI_CLASS_PROG] = class_code & 0xff;
    pci_config_set16(d, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
    d->config[PCI_HEADER_TYPE] = 0x00;
    /* Command: I/O, memory, bus master, INTx disable. */
    d->wmask[PCI_COMMAND] = 0x07;
    d->wmask[PCI_COMMAND + 1] = 0x04;
    /* Status: the error bits are write-one-to-clear. */
    d->w1cmask[PCI_STATUS + 1] = 0xf9;
    d->wmask[0x0c] = 0xff;                       /* cache line size */
    d->wmask[0x0d] = 0xff;                       /* latency timer */
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    d->next_cap = 0x40;
}

static void set_wmask32(struct pci_device *d, unsigned off, uint32_t mask)
{
    for (int i = 0; i < 4; i++)
        d->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

int pci_device_set_bar(struct pci_device *d, int n, enum pci_bar_type type, bool prefetchable,
                       uint64_t size, const struct bus_ops *ops, void *opaque)
{
    if (n < 0 || n >= PCI_NUM_BARS || type == PCI_BAR_NONE)
        return -EINVAL;
    if (type == PCI_BAR_MEM64 && n == PCI_NUM_BARS - 1)
        return -EINVAL;
    uint64_t min = type == PCI_BAR_IO ? 4 : 16;
    uint64_t max = type == PCI_BAR_IO ? 256 : type == PCI_BAR_MEM32 ? (1ULL << 31) : (1ULL << 62);
    if (size > max)
        return -EINVAL;
    uint64_t s = min;
    while (s < size)
        s <<= 1;

    struct pci_bar *b = &d->bars[n];
    b->type = type;
    b->prefetchable = prefetchable && type != PCI_BAR_IO;
    b->size = s;
    b->ops = ops;
    b->opaque = opaque;

    unsigned off = PCI_BAR0 + 4 * (unsigned)n;
    uint32_t low_bits;
    if (type == PCI_BAR_IO) {
        low_bits = 0x1;
        set_wmask32(d, off, (uint32_t)~(s - 1) & ~0x3u);
    } else {
        low_bits = (type == PCI_BAR_MEM64 ? 0x4 : 0x0) | (b->prefetchable ? 0x8 : 0x0);
        set_wmask32(d, off, (uint32_t)~(s - 1) & ~0xfu);
    }
    pci_config_set32(d, off, low_bits);
    if (type == PCI_BAR_MEM64) {
        d->bars[n + 1].type = PCI_BAR_NONE;
        set_wmask32(d, off + 4, (uint32_t)(~(s - 1) >> 32));
        pci_config_set32(d, off + 4, 0);
    }
    return 0;
}

/* Walks the list to its end; bounded, since the list lives in writable
 * memory only through our own code, but a loop must never hang a vCPU. */
int pci_device_add_capability(struct pci_device *d, uint8_t id, unsigned len)
{
    unsigned off = (d->next_cap + 3u) & ~3u;
    if (len < 2 || off < 0x40 || off + len > PCI_CONFIG_SIZE || off > 0xfc)
        return -ENOSPC;
    d->config[off] = id;
    d->config[off + 1] = 0;
    if (!d->config[PCI_CAPABILITY_LIST]) {
        d->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
    } else {
        unsigned p = d->config[PCI_CAPABILITY_LIST];
        for (int guard = 0; p < PCI_CONFIG_SIZE - 1 && d->config[p + 1] && guard < 64; guard++)
            p = d->config[p + 1];
        d->config[p + 1] = (uint8_t)off;
    }
    d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    d->next_cap = (uint8_t)((off + len + 3u) & ~3u);
    if (off + len >= PCI_CONFIG_SIZE - 3)
        d->next_cap = 0xff;   /* full */
    return (int)off;
}

void pci_device_set_intx_pin(struct pci_device *d, uint8_t pin)
{
    d->config[PCI_INTERRUPT_PIN] = pin <= 4 ? pin : 0;
}

uint64_t pci_device_bar_address(const struct pci_device *d, int n)
{
    if (n < 0 || n >= PCI_NUM_BARS)
        return 0;
    const struct pci_bar *b = &d->bars[n];
    uint32_t low = pci_config_get32(d, PCI_BAR0 + 4 * (unsigned)n);
    switch (b->type) {
    case PCI_BAR_IO:
        return low & ~0x3u;
    case PCI_BAR_MEM32:
        return low & ~0xfu;
    case PCI_BAR_MEM64:
        return (low & ~0xfu) | (uint64_t)pci_config_get32(d, PCI_BAR0 + 4 * (unsigned)n + 4) << 32;
    default:
        return 0;
    }
}

/* ---- INTx --------------------------------------------------------------- */

/* Recomputes what the device drives onto its line; irq_lock held. */
static void drive_intx_locked(struct pci_bus *bus, struct pci_device *d)
{
    int want = d->intx_level && d->config[PCI_INTERRUPT_PIN] &&
               !(pci_config_get16(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
    if (want == d->intx_driven)
        return;
    d->intx_driven = want;
    int line = d->gsi == PCI_IRQ_B;
    int before = bus->line_count[line] > 0;
    bus->line_count[line] += want ? 1 : -1;
    int after = bus->line_count[line] > 0;
    if (before != after)
        irq_set(&bus->w.intx[line], after);
}

const struct msi_sink *pci_bus_msi(const struct pci_bus *bus)
{
    return &bus->w.msi;
}

void pci_device_set_irq(struct pci_device *d, int level)
{
    struct pci_bus *bus = d->bus;
    if (!bus)
        return;
    pthread_mutex_lock(&bus->irq_lock);
    d->intx_level = level != 0;
    drive_intx_locked(bus, d);
    pthread_mutex_unlock(&bus->irq_lock);
}

/* ---- BAR placement ------------------------------------------------------ */

static bool bar_placement_valid(const struct pci_bar *b, uint64_t addr)
{
    if (addr == 0)
        return false;
    switch (b->type) {
    case PCI_BAR_IO:
        /* All ones (a sizing probe in progress) lands above 64 KiB too. */
        return addr + b->size <= 0x10000;
    case PCI_BAR_MEM32:
        return addr + b->size <= 0x100000000ULL && addr != ((uint32_t)~(b->size - 1) & ~0xfu);
    case PCI_BAR_MEM64:
        /* A sizing probe of either half: the low dword all ones (firmware
         * sizes it while the high dword still holds 0), or the high one. */
        return addr + b->size > addr && addr != (~(b->size - 1) & ~0xfULL) &&
               (addr >> 32) != 0xffffffffu &&
               (uint32_t)addr != ((uint32_t)~(b->size - 1) & ~0xfu);
    default:
        return false;
    }
}

/* The fixed range a memory BAR at [addr, addr + size) overlaps, or NULL. */
static const struct pci_fixed_range *fixed_overlap(const struct pci_bus *bus, uint64_t addr,
                                                   uint64_t size)
{
    for (unsigned i = 0; i < bus->w.nfixed && i < PCI_MAX_FIXED; i++) {
        const struct pci_fixed_range *f = &bus->w.fixed[i];
        if (f->len && addr < f->base + f->len && f->base < addr + size)
            return f;
    }
    return NULL;
}

/* A guest may move a BAR onto something else in a loop: the log says so
 * once per BAR, not once per move. */
static void warn_placement(struct pci_device *d, int n, uint64_t addr, const char *what)
{
    struct pci_bar *b = &d->bars[n];
    if (b->warned)
        return;
    b->warned = true;
    log_warn("PCI %s: the guest placed BAR %d at 0x%llx, over %s; it stays unmapped while it "
             "overlaps (said once per BAR)", d->name, n, (unsigned long long)addr, what);
}

/* A BAR left the bus: BARs that wanted its range (placed over it, so left
 * unmapped) decode now, as they would on real hardware; bus->lock held. */
static void map_waiting_bars(struct pci_bus *bus)
{
    for (int slot = 0; slot < PCI_SLOTS; slot++) {
        struct pci_device *d = bus->devices[slot];
        for (int n = 0; d && n < PCI_NUM_BARS; n++) {
            struct pci_bar *b = &d->bars[n];
            if (b->type == PCI_BAR_NONE || b->mapped || !b->mapped_addr || !b->ops)
                continue;
            struct bus *target = b->type == PCI_BAR_IO ? bus->w.pio : bus->w.mmio;
            if (bus_register(target, b->mapped_addr, b->size, b->ops, b->opaque, d->name) == 0)
                b->mapped = true;
        }
    }
}

/* Brings every BAR's bus range in line with the command register and the
 * BAR values; bus->lock held. */
static void update_bars(struct pci_bus *bus, struct pci_device *d)
{
    bool freed = false;
    uint16_t cmd = pci_config_get16(d, PCI_COMMAND);
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        struct pci_bar *b = &d->bars[n];
        if (b->type == PCI_BAR_NONE)
            continue;
        struct bus *target = b->type == PCI_BAR_IO ? bus->w.pio : bus->w.mmio;
        bool enabled = cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
        uint64_t addr = pci_device_bar_address(d, n);
        bool valid = enabled && bar_placement_valid(b, addr);
        const struct pci_fixed_range *f = valid && b->type != PCI_BAR_IO ?
                                          fixed_overlap(bus, addr, b->size) : NULL;
        if (f) {
            warn_placement(d, n, addr, f->what);
            valid = false;
        }
        bool was_valid = b->mapped_addr != 0;

        if (valid == was_valid && (!valid || addr == b->mapped_addr)) {
            if (b->type == PCI_BAR_MEM64)
                n++;
            continue;
        }
        if (b->mapped) {
            bus_unregister(target, b->mapped_addr);
            b->mapped = false;
            freed = true;
        }
        b->mapped_addr = valid ? addr : 0;
        if (valid && b->ops) {
            int r = bus_register(target, addr, b->size, b->ops, b->opaque, d->name);
            if (r == 0)
                b->mapped = true;
            else
                warn_placement(d, n, addr, "another device");
        }
        if (d->ops && d->ops->bar_moved)
            d->ops->bar_moved(d, n, valid, addr);
        if (b->type == PCI_BAR_MEM64)
            n++;
    }
    if (freed)
        map_waiting_bars(bus);
}

/* ---- configuration access ----------------------------------------------- */

static uint32_t config_read(struct pci_device *d, unsigned off, unsigned size)
{
    uint32_t v = 0;
    if (d->ops && d->ops->config_read && d->ops->config_read(d, off, size, &v))
        return v;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = d->config[off + i];
        if (off + i == PCI_STATUS && d->intx_level)
            b |= PCI_STATUS_INTERRUPT;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

static void config_write(struct pci_bus *bus, struct pci_device *d, unsigned off, unsigned size,
                         uint32_t value)
{
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        uint8_t b = (uint8_t)(value >> (8 * i));
        d->config[o] &= (uint8_t)~(b & d->w1cmask[o]);
        d->config[o] = (uint8_t)((d->config[o] & ~d->wmask[o]) | (b & d->wmask[o]));
    }
    bool touches_command = off < PCI_COMMAND + 2 && off + size > PCI_COMMAND;
    bool touches_bars = off < PCI_BAR0 + 24 && off + size > PCI_BAR0;
    if (touches_command) {
        pthread_mutex_lock(&bus->irq_lock);
        drive_intx_locked(bus, d);
        pthread_mutex_unlock(&bus->irq_lock);
    }
    if (touches_command || touches_bars)
        update_bars(bus, d);
    if (d->ops && d->ops->config_write)
        d->ops->config_write(d, off, size, value);
}

/* The device an address selects, or NULL (no bus 1+, function 0 only). */
static struct pci_device *selected(struct pci_bus *bus)
{
    uint32_t a = bus->address;
    if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0 || ((a >> 8) & 7) != 0)
        return NULL;
    return bus->devices[(a >> 11) & 0x1f];
}

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static uint64_t data_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;
    uint64_t v = ones(size);
    if (size > 4 || offset + size > 4)
        return v;
    pthread_mutex_lock(&bus->lock);
    struct pci_device *d = selected(bus);
    if (d)
        v = config_read(d, (bus->address & 0xfc) + (unsigned)offset, size);
    pthread_mutex_unlock(&bus->lock);
    return v;
}

static void data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_bus *bus = opaque;
    if (size > 4 || offset + size > 4)
        return;
    pthread_mutex_lock(&bus->lock);
    struct pci_device *d = selected(bus);
    if (d)
        config_write(bus, d, (bus->address & 0xfc) + (unsigned)offset, size, (uint32_t)value);
    pthread_mutex_unlock(&bus->lock);
}

/* 0xcf8 as a dword is the address register; 0xcf9 as a byte is the reset
 * control register; other accesses in 0xcf8-0xcfb reach nothing (Linux's
 * mechanism #1 probe counts on a byte write to 0xcfb not changing the
 * address). */
static uint64_t addr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct pci_bus *bus = opaque;
    uint64_t v = ones(size);
    pthread_mutex_lock(&bus->lock);
    if (offset == 0 && size == 4)
        v = bus->address;
    else if (offset == 1 && size == 1)
        v = bus->reset_control;
    pthread_mutex_unlock(&bus->lock);
    return v;
}

static void addr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct pci_bus *bus = opaque;
    bool reset = false;
    pthread_mutex_lock(&bus->lock);
    if (offset == 0 && size == 4) {
        bus->address = (uint32_t)value & 0x80fffffcu;
    } else if (offset == 1 && size == 1) {
        /* Bit 2 going high starts the reset bit 1 asked for (hard or soft:
         * for us both are a reboot). */
        reset = (value & 0x04) && !(bus->reset_control & 0x04);
        bus->reset_control = (uint8_t)(value & 0x0a);
    }
    pthread_mutex_unlock(&bus->lock);
    if (reset)
        stop_request(&bus->w.reset, VM_STOP_RESET, 0);
}

static const struct bus_ops addr_ops = { .read = addr_read, .write = addr_write };
static const struct bus_ops data_ops = { .read = data_read, .write = data_write };

/* ---- the bus ------------------------------------------------------------ */

int pci_bus_add_device(struct pci_bus *bus, struct pci_device *d, int slot)
{
    int r = 0;
    pthread_mutex_lock(&bus->lock);
    if (slot < 0) {
        for (slot = 1; slot < PCI_SLOTS && bus->devices[slot]; slot++) { }
        if (slot == PCI_SLOTS)
            r = -ENOSPC;
    } else if (slot >= PCI_SLOTS) {
        r = -EINVAL;
    } else if (bus->devices[slot]) {
        r = -EEXIST;
    }
    if (r == 0) {
        d->bus = bus;
        d->slot = (uint8_t)slot;
        uint8_t pin = d->config[PCI_INTERRUPT_PIN];
        if (pin) {
            d->gsi = pci_intx_gsi((unsigned)slot, pin);
            d->config[PCI_INTERRUPT_LINE] = (uint8_t)d->gsi;
        } else {
            d->config[PCI_INTERRUPT_LINE] = 0xff;   /* "unknown / none" */
        }
        bus->devices[slot] = d;
    }
    pthread_mutex_unlock(&bus->lock);
    return r;
}

void pci_bus_remove_device(struct pci_bus *bus, struct pci_device *d)
{
    pthread_mutex_lock(&bus->lock);
    if (d->slot < PCI_SLOTS && bus->devices[d->slot] == d) {
        bus->devices[d->slot] = NULL;
        /* Decoding off: every BAR leaves the buses. */
        pci_config_set16(d, PCI_COMMAND, 0);
        update_bars(bus, d);
    }
    pthread_mutex_unlock(&bus->lock);
    pthread_mutex_lock(&bus->irq_lock);
    d->intx_level = 0;
    drive_intx_locked(bus, d);
    pthread_mutex_unlock(&bus->irq_lock);
    d->bus = NULL;
}

int pci_bus_create(const struct pci_host_wiring *w, struct pci_bus **out)
{
    struct pci_bus *bus = calloc(1, sizeof(*bus));
    int r;
    if (!bus)
        return -ENOMEM;
    bus->w = *w;
    pthread_mutex_init(&bus->lock, NULL);
    pthread_mutex_init(&bus->irq_lock, NULL);

    /* An i440FX-style host bridge: the most familiar one to every guest. */
    pci_device_init(&bus->host_bridge, "host bridge", 0x8086, 0x1237, 0x060000, 0x02);
    /* The i440FX's PAM registers (0x59-0x5f) for 0xC0000-0xFFFFF read back
     * what the firmware writes.  They start at 0, "ROM", as after a reset:
     * SeaBIOS then copies itself from the top of 4 GiB into that area (a
     * 256 KiB image reaches below 0xE0000), which is RAM here throughout
     * (docs/boot.md). */
    bus->host_bridge.wmask[0x59] = 0x30;
    for (unsigned i = 0x5a; i <= 0x5f; i++)
        bus->host_bridge.wmask[i] = 0x33;
    r = pci_bus_add_device(bus, &bus->host_bridge, 0);
    if (r < 0)
        goto fail;
    r = bus_register(w->pio, w->config_port, 4, &addr_ops, bus, "pci config address");
    if (r < 0)
        goto fail;
    bus->registered_addr = true;
    r = bus_register(w->pio, (uint16_t)(w->config_port + 4), 4, &data_ops, bus, "pci config data");
    if (r < 0)
        goto fail;
    bus->registered_data = true;
    *out = bus;
    return 0;
fail:
    pci_bus_destroy(bus);
    return r;
}

void pci_bus_destroy(struct pci_bus *bus)
{
    if (!bus)
        return;
    for (int s = PCI_SLOTS - 1; s >= 0; s--)
        if (bus->devices[s])
            pci_bus_remove_device(bus, bus->devices[s]);
    if (bus->registered_data)
        bus_unregister(bus->w.pio, (uint16_t)(bus->w.config_port + 4));
    if (bus->registered_addr)
        bus_unregister(bus->w.pio, bus->w.config_port);
    pthread_mutex_destroy(&bus->lock);
    pthread_mutex_destroy(&bus->irq_lock);
    free(bus);
}

/* ---- snapshots ------------------------------------------------------------ */

void pci_device_save_config(struct pci_device *d, uint8_t cfg[PCI_CONFIG_SIZE])
{
    struct pci_bus *bus = d->bus;
    if (bus)
        pthread_mutex_lock(&bus->lock);
    memcpy(cfg, d->config, PCI_CONFIG_SIZE);
    if (bus)
        pthread_mutex_unlock(&bus->lock);
}

int pci_device_check_config(struct pci_device *d, const uint8_t cfg[PCI_CONFIG_SIZE],
                            struct err *e)
{
    struct pci_bus *bus = d->bus;
    int r = 0;
    if (bus)
        pthread_mutex_lock(&bus->lock);
    for (unsigned i = 0; i < PCI_CONFIG_SIZE && r == 0; i++) {
        uint8_t fixed = (uint8_t)~(d->wmask[i] | d->w1cmask[i]);
        if ((cfg[i] ^ d->config[i]) & fixed)
            r = err_set(e, -EINVAL, "%s 00:%02x.0: config byte 0x%02x is 0x%02x in the saved "
                        "state, but its read-only bits are 0x%02x here (is this machine built "
                        "the same?)", d->name, d->slot, i, cfg[i], d->config[i] & fixed);
        else if (cfg[i] & d->w1cmask[i] & ~d->config[i])
            r = err_set(e, -EINVAL, "%s 00:%02x.0: config byte 0x%02x is 0x%02x in the saved "
                        "state, with status bits this device never sets", d->name, d->slot, i,
                        cfg[i]);
    }
    if (bus)
        pthread_mutex_unlock(&bus->lock);
    return r;
}

void pci_device_load_config(struct pci_device *d, const uint8_t cfg[PCI_CONFIG_SIZE])
{
    struct pci_bus *bus = d->bus;
    if (!bus) {
        memcpy(d->config, cfg, PCI_CONFIG_SIZE);
        return;
    }
    pthread_mutex_lock(&bus->lock);
    memcpy(d->config, cfg, PCI_CONFIG_SIZE);
    pthread_mutex_lock(&bus->irq_lock);
    drive_intx_locked(bus, d);
    pthread_mutex_unlock(&bus->irq_lock);
    update_bars(bus, d);
    pthread_mutex_unlock(&bus->lock);
}

static uint32_t slot_map(struct pci_bus *bus)
{
    uint32_t map = 0;
    for (unsigned s = 0; s < PCI_SLOTS; s++)
        if (bus->devices[s])
            map |= 1u << s;
    return map;
}

int pci_bus_save(struct pci_bus *bus, struct state_out *o)
{
    uint8_t cfg[PCI_CONFIG_SIZE];
    pthread_mutex_lock(&bus->lock);
    st_put_u32(o, bus->address);
    st_put_u8(o, bus->reset_control);
    uint32_t map = slot_map(bus);
    st_put_u32(o, map);
    for (unsigned s = 0; s < PCI_SLOTS; s++)
        if (map >> s & 1)
            st_put_u32(o, pci_config_get32(bus->devices[s], PCI_VENDOR_ID));
    pthread_mutex_unlock(&bus->lock);
    pci_device_save_config(&bus->host_bridge, cfg);
    st_put_bytes(o, cfg, sizeof(cfg));
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int pci_bus_load(struct pci_bus *bus, struct state_in *in, struct err *e)
{
    uint8_t cfg[PCI_CONFIG_SIZE];
    uint32_t address = st_get_u32(in);
    uint8_t reset_control = st_get_u8(in);
    uint32_t map = st_get_u32(in);
    if (in->bad)
        return err_set(e, -EINVAL, "pci bus: the saved state is cut short");
    if (address & ~0x80fffffcu)
        return err_set(e, -EINVAL, "pci bus: config address 0x%08x has bits the register "
                       "does not keep", address);
    if (reset_control & ~0x0au)
        return err_set(e, -EINVAL, "pci bus: reset control 0x%02x has bits the register does "
                       "not keep", reset_control);
    pthread_mutex_lock(&bus->lock);
    uint32_t here = slot_map(bus);
    uint32_t ids[PCI_SLOTS] = {0};
    for (unsigned s = 0; s < PCI_SLOTS; s++)
        if (here >> s & 1)
            ids[s] = pci_config_get32(bus->devices[s], PCI_VENDOR_ID);
    pthread_mutex_unlock(&bus->lock);
    if (map != here)
        return err_set(e, -EINVAL, "pci bus: the saved machine has devices in slots 0x%08x, "
                       "this one in 0x%08x (it must be built with the same devices)", map, here);
    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        if (!(map >> s & 1))
            continue;
        uint32_t id = st_get_u32(in);
        if (in->bad)
            return err_set(e, -EINVAL, "pci bus: the saved state is cut short");
        if (id != ids[s])
            return err_set(e, -EINVAL, "pci bus: slot %u held device %04x:%04x in the saved "
                           "machine, %04x:%04x in this one", s, id & 0xffff, id >> 16,
                           ids[s] & 0xffff, ids[s] >> 16);
    }
    st_get_bytes(in, cfg, sizeof(cfg));
    if (in->bad)
        return err_set(e, -EINVAL, "pci bus: the saved state is cut short");
    int r = pci_device_check_config(&bus->host_bridge, cfg, e);
    if (r < 0)
        return r;
    pthread_mutex_lock(&bus->lock);
    bus->address = address;
    bus->reset_control = reset_control;
    pthread_mutex_unlock(&bus->lock);
    pci_device_load_config(&bus->host_bridge, cfg);
    return 0;
}
