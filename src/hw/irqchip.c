/* The PC's interrupt controllers for engines without in-kernel ones (emu):
 * the cascaded 8259A pair (ports 0x20/0xa0, ELCR 0x4d0/0x4d1) and a
 * 24-pin IOAPIC at 0xfec00000 that sends its messages to the local APICs
 * through the apic_bus the board gives it.  One lock covers both chips. */
#include "hw/irqchip.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define IOAPIC_PINS     24
#define IOAPIC_VERSION  0x11
#define IOAPIC_MMIO_LEN 0x1000

/* ---- 8259A ---------------------------------------------------------------- */

struct pic {
    uint8_t irr, isr, imr;
    uint8_t elcr, elcr_mask;    /* level-triggered inputs (ELCR), which may be */
    uint8_t lines;              /* input levels, for edge detection */
    uint8_t base;               /* ICW2: vector of IR0 */
    uint8_t prio_add;           /* IR with the lowest priority, plus one */
    uint8_t init_step;          /* 0: operational, 1..3: expecting ICW2..ICW4 */
    bool init4, single;
    bool read_isr, poll;
    bool auto_eoi, rotate_aeoi;
    bool special_mask, sfnm;
    bool initialized;           /* an ICW1..ICW2 sequence happened */
};

struct ioapic {
    uint32_t sel;
    uint32_t id;
    uint64_t redir[IOAPIC_PINS];
    uint32_t lines;             /* input levels */
};

#define RTE_VECTOR(e)    ((uint8_t)((e) & 0xff))
#define RTE_DELIVERY(e)  ((uint8_t)(((e) >> 8) & 7))
#define RTE_LOGICAL      (1ULL << 11)
#define RTE_STATUS       (1ULL << 12)
#define RTE_POLARITY     (1ULL << 13)
#define RTE_REMOTE_IRR   (1ULL << 14)
#define RTE_LEVEL        (1ULL << 15)
#define RTE_MASKED       (1ULL << 16)
#define RTE_DEST(e)      ((uint32_t)((e) >> 56))
/* Guest-writable bits: everything but delivery status and remote IRR. */
#define RTE_WRITABLE     (0xff000000000000ffULL | 0x700 | RTE_LOGICAL | RTE_POLARITY | \
                          RTE_LEVEL | RTE_MASKED)

#define OUTBOX_MAX 32

struct irqchip {
    struct irqchip_wiring w;
    pthread_mutex_t lock;
    /* Messages to the local APICs are queued under the lock and sent after
     * it is dropped: waking a vCPU takes its locks, and a vCPU may call
     * irqchip_pic_pending() while holding them. */
    struct apic_msg outbox[OUTBOX_MAX];
    int nout;
    bool said_overflow;
    struct pic pic[2];          /* 0: master, 1: slave on master IR2 */
    bool output;                /* master INT, as last seen */
    struct ioapic io;
    /* Who wants to hear when a line becomes visible again (the PIT). */
    struct {
        void (*fn)(void *opaque);
        void *opaque;
        bool was_masked;
    } watch[IOAPIC_PINS];
    bool masks_written;         /* a register write may have unmasked a line */
    bool master_registered, slave_registered, elcr_registered, mmio_registered;
};

static bool gsi_masked_locked(const struct irqchip *ic, unsigned gsi);

static void ic_lock(struct irqchip *ic)
{
    pthread_mutex_lock(&ic->lock);
}

static void ic_unlock(struct irqchip *ic)
{
    struct apic_msg out[OUTBOX_MAX];
    int n = ic->nout;
    if (n)
        memcpy(out, ic->outbox, (size_t)n * sizeof(out[0]));
    ic->nout = 0;
    /* Lines that were masked everywhere and no longer are. */
    void (*fn[IOAPIC_PINS])(void *);
    void *arg[IOAPIC_PINS];
    int nw = 0;
    /* Only guest register writes change masks; checking only then also keeps
     * watchers from running inside irqchip_set_irq (their own lock held). */
    for (unsigned g = 0; ic->masks_written && g < IOAPIC_PINS; g++) {
        if (!ic->watch[g].fn)
            continue;
        bool masked = gsi_masked_locked(ic, g);
        if (ic->watch[g].was_masked && !masked) {
            fn[nw] = ic->watch[g].fn;
            arg[nw++] = ic->watch[g].opaque;
        }
        ic->watch[g].was_masked = masked;
    }
    ic->masks_written = false;
    pthread_mutex_unlock(&ic->lock);
    for (int i = 0; i < nw; i++)
        fn[i](arg[i]);
    if (!ic->w.apic.deliver)
        return;
    for (int i = 0; i < n; i++)
        ic->w.apic.deliver(ic->w.apic.opaque, &out[i]);
}

static void ic_send(struct irqchip *ic, const struct apic_msg *m)
{
    if (ic->nout < OUTBOX_MAX) {
        ic->outbox[ic->nout++] = *m;
    } else if (!ic->said_overflow) {
        /* Said once: a guest must not be able to grow the log. */
        ic->said_overflow = true;
        log_error("irqchip: more than %d APIC messages at once; dropping the extra ones (said once)",
                  OUTBOX_MAX);
    }
}

/* Priority 0 is the highest; with rotation IR(prio_add) is the highest. */
static int pic_priority(const struct pic *p, uint8_t mask)
{
    if (!mask)
        return 8;
    int pri = 0;
    while (!(mask & (1u << ((pri + p->prio_add) & 7))))
        pri++;
    return pri;
}

/* The IR this chip would signal now, or -1. */
static int pic_get_irq(const struct pic *p, bool master)
{
    int pri = pic_priority(p, p->irr & ~p->imr);
    if (pri == 8)
        return -1;
    uint8_t in_service = p->isr;
    if (p->special_mask)
        in_service &= ~p->imr;
    /* Special fully nested: the slave may interrupt its own cascade. */
    if (p->sfnm && master)
        in_service &= ~(1u << 2);
    if (pri < pic_priority(p, in_service))
        return (pri + p->prio_add) & 7;
    return -1;
}

static void pic_input(struct pic *p, int ir, int level)
{
    uint8_t mask = 1u << ir;
    if (p->elcr & mask) {
        if (level)
            p->irr |= mask;
        else
            p->irr &= ~mask;
    } else if (level) {
        if (!(p->lines & mask))
            p->irr |= mask;      /* latched on the rising edge */
    }
    if (level)
        p->lines |= mask;
    else
        p->lines &= ~mask;
}

static void wake_for_pic(struct irqchip *ic)
{
    /* The 8259's INT wire reaches the BSP's LINT0 (virtual wire mode). */
    struct apic_msg m = { .dest = 0, .delivery = APIC_DM_EXTINT, .assert = true };
    ic_send(ic, &m);
}

/* Recomputes the cascade and the master output; wakes the CPU on new work. */
static void pic_update(struct irqchip *ic)
{
    struct pic *m = &ic->pic[0], *s = &ic->pic[1];
    /* The slave's INT is a level input on master IR2. */
    if (pic_get_irq(s, false) >= 0)
        m->irr |= 1u << 2;
    else
        m->irr &= ~(1u << 2);
    bool out = m->initialized && pic_get_irq(m, true) >= 0;
    bool rose = out && !ic->output;
    ic->output = out;
    if (rose)
        wake_for_pic(ic);
}

static void pic_eoi_bit(struct pic *p, int ir, bool rotate)
{
    p->isr &= ~(1u << ir);
    if (rotate)
        p->prio_add = (ir + 1) & 7;
}

/* Acknowledges IR on one chip, as in the INTA cycle. */
static void pic_intack(struct pic *p, int ir)
{
    uint8_t mask = 1u << ir;
    if (p->auto_eoi) {
        if (p->rotate_aeoi)
            p->prio_add = (ir + 1) & 7;
    } else {
        p->isr |= mask;
    }
    if (!(p->elcr & mask))
        p->irr &= ~mask;
}

static void pic_reset(struct pic *p)
{
    uint8_t elcr = p->elcr, elcr_mask = p->elcr_mask;
    memset(p, 0, sizeof(*p));
    p->elcr = elcr;
    p->elcr_mask = elcr_mask;
}

static void pic_write_cmd(struct irqchip *ic, struct pic *p, uint8_t v)
{
    if (v & 0x10) {                              /* ICW1 */
        uint8_t lines = p->lines;
        uint8_t level_irr = p->irr & p->elcr;
        pic_reset(p);
        p->lines = lines;
        p->irr = level_irr;                      /* asserted level inputs stay */
        p->init_step = 1;
        p->init4 = v & 1;
        p->single = v & 2;
        /* LTIM (bit 3) is ignored: on a PC the ELCR decides per line. */
    } else if (v & 0x08) {                       /* OCW3 */
        if (v & 0x04)
            p->poll = true;
        if (v & 0x02)
            p->read_isr = v & 0x01;
        if (v & 0x40)
            p->special_mask = (v >> 5) & 1;
    } else {                                     /* OCW2 */
        int cmd = v >> 5;
        switch (cmd) {
        case 0: case 4:                          /* rotate in auto-EOI clear/set */
            p->rotate_aeoi = cmd == 4;
            break;
        case 1: case 5: {                        /* non-specific EOI */
            int pri = pic_priority(p, p->isr);
            if (pri != 8)
                pic_eoi_bit(p, (pri + p->prio_add) & 7, cmd == 5);
            break;
        }
        case 3: case 7:                          /* specific EOI */
            pic_eoi_bit(p, v & 7, cmd == 7);
            break;
        case 6:                                  /* set priority */
            p->prio_add = ((v & 7) + 1) & 7;
            break;
        default:
            break;
        }
    }
    pic_update(ic);
}

static void pic_write_data(struct irqchip *ic, struct pic *p, uint8_t v)
{
    switch (p->init_step) {
    case 0:                                      /* OCW1 */
        p->imr = v;
        break;
    case 1:                                      /* ICW2 */
        p->base = v & 0xf8;
        p->initialized = true;
        p->init_step = p->single ? (p->init4 ? 3 : 0) : 2;
        break;
    case 2:                                      /* ICW3: wiring is fixed */
        p->init_step = p->init4 ? 3 : 0;
        break;
    case 3:                                      /* ICW4 */
        p->auto_eoi = v & 0x02;
        p->sfnm = v & 0x10;
        p->init_step = 0;
        break;
    }
    pic_update(ic);
}

/* The poll command: an INTA through the data bus, answered as 0x80 | IR. */
static uint8_t pic_poll(struct irqchip *ic, int chip)
{
    struct pic *p = &ic->pic[chip];
    p->poll = false;
    int ir = pic_get_irq(p, chip == 0);
    if (ir < 0)
        return 0;
    pic_intack(p, ir);
    pic_update(ic);
    return 0x80 | ir;
}

static uint64_t pic_read(struct irqchip *ic, int chip, uint64_t off)
{
    struct pic *p = &ic->pic[chip];
    uint8_t v;
    ic_lock(ic);
    if (p->poll)
        v = pic_poll(ic, chip);
    else if ((off & 1) == 0)
        v = p->read_isr ? p->isr : p->irr;
    else
        v = p->imr;
    ic_unlock(ic);
    return v;
}

static void pic_write(struct irqchip *ic, int chip, uint64_t off, uint64_t val)
{
    struct pic *p = &ic->pic[chip];
    ic_lock(ic);
    ic->masks_written = true;
    if ((off & 1) == 0)
        pic_write_cmd(ic, p, (uint8_t)val);
    else
        pic_write_data(ic, p, (uint8_t)val);
    ic_unlock(ic);
}

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned size)
{
    struct irqchip *ic = opaque;
    ic_lock(ic);
    uint64_t v = ic->pic[0].elcr | (uint64_t)ic->pic[1].elcr << 8;
    ic_unlock(ic);
    v >>= off * 8;
    return size >= 2 ? v & 0xffff : v & 0xff;
}

static void elcr_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct irqchip *ic = opaque;
    ic_lock(ic);
    for (unsigned i = 0; i < size && off + i < 2; i++) {
        struct pic *p = &ic->pic[off + i];
        p->elcr = (uint8_t)(val >> (8 * i)) & p->elcr_mask;
        /* An edge input keeps no request for a line that is already high. */
        p->irr = (p->irr & ~p->elcr) | (p->lines & p->elcr);
    }
    pic_update(ic);
    ic_unlock(ic);
}

static uint64_t master_read(void *o, uint64_t off, unsigned size) { (void)size; return pic_read(o, 0, off); }
static uint64_t slave_read(void *o, uint64_t off, unsigned size) { (void)size; return pic_read(o, 1, off); }
static void master_write(void *o, uint64_t off, unsigned size, uint64_t v) { (void)size; pic_write(o, 0, off, v); }
static void slave_write(void *o, uint64_t off, unsigned size, uint64_t v) { (void)size; pic_write(o, 1, off, v); }

static const struct bus_ops master_ops = { master_read, master_write };
static const struct bus_ops slave_ops = { slave_read, slave_write };
static const struct bus_ops elcr_ops = { elcr_read, elcr_write };

bool irqchip_pic_pending(struct irqchip *ic)
{
    if (!ic)
        return false;
    ic_lock(ic);
    bool out = ic->output;
    ic_unlock(ic);
    return out;
}

int irqchip_pic_ack(struct irqchip *ic)
{
    if (!ic)
        return -1;
    struct pic *m = &ic->pic[0], *s = &ic->pic[1];
    int vector;
    ic_lock(ic);
    int ir = m->initialized ? pic_get_irq(m, true) : -1;
    if (ir < 0) {
        /* The request went away before INTA: the 8259 answers IR7. */
        vector = m->initialized ? m->base + 7 : -1;
    } else {
        pic_intack(m, ir);
        if (ir == 2) {
            int ir2 = pic_get_irq(s, false);
            if (ir2 >= 0) {
                pic_intack(s, ir2);
                vector = s->base + ir2;
            } else {
                vector = s->base + 7;            /* spurious IRQ15 */
            }
        } else {
            vector = m->base + ir;
        }
    }
    pic_update(ic);
    ic_unlock(ic);
    return vector;
}

/* ---- IOAPIC --------------------------------------------------------------- */

static void ioapic_send(struct irqchip *ic, int pin)
{
    uint64_t e = ic->io.redir[pin];
    struct apic_msg m = {
        .dest = RTE_DEST(e),
        .dest_logical = e & RTE_LOGICAL,
        .delivery = RTE_DELIVERY(e),
        .vector = RTE_VECTOR(e),
        .level_triggered = e & RTE_LEVEL,
        .assert = true,
    };
    ic_send(ic, &m);
}

/* Delivers a pin whose line is asserted, if its entry allows it now. */
static void ioapic_service(struct irqchip *ic, int pin)
{
    uint64_t *e = &ic->io.redir[pin];
    if (*e & RTE_MASKED)
        return;
    if (*e & RTE_LEVEL) {
        if (*e & RTE_REMOTE_IRR)
            return;
        *e |= RTE_REMOTE_IRR;
    }
    ioapic_send(ic, pin);
}

static void ioapic_input(struct irqchip *ic, int pin, int level)
{
    uint32_t mask = 1u << pin;
    bool was = ic->io.lines & mask;
    /* Polarity is not applied: devices always pass "asserted" as 1. */
    if (level)
        ic->io.lines |= mask;
    else
        ic->io.lines &= ~mask;
    uint64_t e = ic->io.redir[pin];
    if (!level)
        return;
    if ((e & RTE_LEVEL) || !was)
        ioapic_service(ic, pin);
}

static uint32_t ioapic_reg_read(struct irqchip *ic)
{
    uint32_t sel = ic->io.sel;
    switch (sel) {
    case 0x00:
        return ic->io.id << 24;
    case 0x01:
        return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
    case 0x02:
        return ic->io.id << 24;                  /* arbitration ID */
    default:
        if (sel >= 0x10 && sel < 0x10 + 2 * IOAPIC_PINS) {
            uint64_t e = ic->io.redir[(sel - 0x10) / 2];
            return (sel & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
        }
        return 0xffffffff;
    }
}

static void ioapic_reg_write(struct irqchip *ic, uint32_t val)
{
    uint32_t sel = ic->io.sel;
    if (sel == 0x00) {
        ic->io.id = (val >> 24) & 0x0f;
        return;
    }
    if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_PINS)
        return;                                  /* version, arbitration: read-only */
    int pin = (sel - 0x10) / 2;
    uint64_t *e = &ic->io.redir[pin];
    uint64_t ro = *e & (RTE_STATUS | RTE_REMOTE_IRR);
    uint64_t nv;
    if (sel & 1)
        nv = (*e & 0xffffffffULL) | (uint64_t)val << 32;
    else
        nv = (*e & 0xffffffff00000000ULL) | val;
    nv = (nv & RTE_WRITABLE) | ro;
    if (!(nv & RTE_LEVEL))
        nv &= ~RTE_REMOTE_IRR;                   /* edge entries have no remote IRR */
    *e = nv;
    /* Unmasking a level entry whose line is still asserted delivers it now. */
    if ((nv & RTE_LEVEL) && (ic->io.lines & (1u << pin)))
        ioapic_service(ic, pin);
}

static uint64_t ioapic_read(void *opaque, uint64_t off, unsigned size)
{
    struct irqchip *ic = opaque;
    uint64_t v = 0;
    ic_lock(ic);
    if (off == 0x00)
        v = ic->io.sel;
    else if (off >= 0x10 && off < 0x14)
        v = ioapic_reg_read(ic) >> ((off - 0x10) * 8);
    ic_unlock(ic);
    return size >= 8 ? v : v & ((1ULL << (size * 8)) - 1);
}

static void ioapic_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct irqchip *ic = opaque;
    ic_lock(ic);
    ic->masks_written = true;
    if (off == 0x00)
        ic->io.sel = (uint8_t)val;
    else if (off == 0x10 && size >= 4)
        ioapic_reg_write(ic, (uint32_t)val);
    /* Narrower IOWIN writes are not architectural; they are dropped. */
    ic_unlock(ic);
}

static const struct bus_ops ioapic_ops = { ioapic_read, ioapic_write };

void irqchip_eoi(struct irqchip *ic, uint8_t vector)
{
    if (!ic)
        return;
    ic_lock(ic);
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t *e = &ic->io.redir[pin];
        if (RTE_VECTOR(*e) != vector || !(*e & RTE_REMOTE_IRR))
            continue;
        *e &= ~RTE_REMOTE_IRR;
        if ((*e & RTE_LEVEL) && (ic->io.lines & (1u << pin)))
            ioapic_service(ic, pin);
    }
    ic_unlock(ic);
}

/* ---- the lines ------------------------------------------------------------ */

void irqchip_set_irq(struct irqchip *ic, unsigned gsi, int level)
{
    if (!ic || gsi >= IOAPIC_PINS)
        return;
    level = level != 0;
    ic_lock(ic);
    if (gsi < 16 && gsi != 2) {
        pic_input(&ic->pic[gsi >> 3], gsi & 7, level);
        pic_update(ic);
    }
    /* ISA IRQ0 is wired to pin 2 (the MADT override); ISA IRQ2 does not exist. */
    if (gsi == 0)
        ioapic_input(ic, 2, level);
    else if (gsi != 2)
        ioapic_input(ic, (int)gsi, level);
    ic_unlock(ic);
}

int irqchip_msi_decode(uint64_t addr, uint32_t data, struct apic_msg *out)
{
    if ((addr >> 20) != 0xfee)
        return -EINVAL;
    *out = (struct apic_msg){
        .dest = (uint32_t)(addr >> 12) & 0xff,
        .dest_logical = addr & (1u << 2),
        .delivery = (data >> 8) & 7,
        .vector = (uint8_t)data,
        .level_triggered = data & (1u << 15),
        /* Edge MSIs always assert; the level bit only matters for level. */
        .assert = !(data & (1u << 15)) || (data & (1u << 14)),
    };
    return 0;
}

void irqchip_msi(struct irqchip *ic, uint64_t addr, uint32_t data)
{
    struct apic_msg m;
    if (!ic)
        return;
    if (irqchip_msi_decode(addr, data, &m) < 0) {
        log_debug("irqchip: MSI to %#llx is outside the APIC window, dropped",
                  (unsigned long long)addr);
        return;
    }
    if (m.level_triggered && !m.assert)
        return;
    if (ic->w.apic.deliver)
        ic->w.apic.deliver(ic->w.apic.opaque, &m);
}

/* ---- masking, for timers that need not run unseen -------------------------- */

static bool gsi_masked_locked(const struct irqchip *ic, unsigned gsi)
{
    bool pic_masked = true;
    const struct pic *m = &ic->pic[0], *sl = &ic->pic[1];
    if (gsi < 8 && gsi != 2)
        pic_masked = !m->initialized || (m->imr & (1u << gsi));
    else if (gsi >= 8 && gsi < 16)
        pic_masked = !m->initialized || !sl->initialized || (m->imr & (1u << 2)) ||
                     (sl->imr & (1u << (gsi - 8)));
    unsigned pin = gsi == 0 ? 2 : gsi;
    bool io_masked = gsi == 2 || (ic->io.redir[pin] & RTE_MASKED);
    return pic_masked && io_masked;
}

bool irqchip_gsi_masked(struct irqchip *ic, unsigned gsi)
{
    if (!ic || gsi >= IOAPIC_PINS)
        return false;
    pthread_mutex_lock(&ic->lock);
    bool m = gsi_masked_locked(ic, gsi);
    pthread_mutex_unlock(&ic->lock);
    return m;
}

void irqchip_on_unmask(struct irqchip *ic, unsigned gsi, void (*fn)(void *opaque), void *opaque)
{
    if (!ic || gsi >= IOAPIC_PINS)
        return;
    pthread_mutex_lock(&ic->lock);
    ic->watch[gsi].fn = fn;
    ic->watch[gsi].opaque = opaque;
    ic->watch[gsi].was_masked = gsi_masked_locked(ic, gsi);
    pthread_mutex_unlock(&ic->lock);
}

/* ---- state ----------------------------------------------------------------- */

int irqchip_save(struct irqchip *ic, struct state_out *o)
{
    struct irqchip_snap sn;
    memset(&sn, 0, sizeof(sn));
    pthread_mutex_lock(&ic->lock);
    for (int i = 0; i < 2; i++) {
        const struct pic *p = &ic->pic[i];
        struct pic_snap *d = &sn.pic[i];
        d->irr = p->irr;
        d->isr = p->isr;
        d->imr = p->imr;
        d->elcr = p->elcr;
        d->lines = p->lines;
        d->base = p->base;
        d->prio_add = p->prio_add;
        d->init_step = p->init_step;
        d->initialized = p->initialized;
        d->init4 = p->init4;
        d->single = p->single;
        d->read_isr = p->read_isr;
        d->poll = p->poll;
        d->auto_eoi = p->auto_eoi;
        d->rotate_aeoi = p->rotate_aeoi;
        d->special_mask = p->special_mask;
        d->sfnm = p->sfnm;
    }
    sn.io.id = (uint8_t)ic->io.id;
    sn.io.sel = (uint8_t)ic->io.sel;
    sn.io.lines = ic->io.lines;
    memcpy(sn.io.redir, ic->io.redir, sizeof(sn.io.redir));
    pthread_mutex_unlock(&ic->lock);
    irqchip_snap_encode(&sn, o);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int irqchip_load(struct irqchip *ic, struct state_in *in, struct err *e)
{
    struct irqchip_snap sn;
    int r = irqchip_snap_decode(in, &sn, e);
    if (r < 0)
        return r;
    ic_lock(ic);
    for (int i = 0; i < 2; i++) {
        struct pic *p = &ic->pic[i];
        const struct pic_snap *d = &sn.pic[i];
        p->irr = d->irr;
        p->isr = d->isr;
        p->imr = d->imr;
        p->elcr = d->elcr;
        p->lines = d->lines;
        p->base = d->base;
        p->prio_add = d->prio_add;
        p->init_step = d->init_step;
        p->initialized = d->initialized;
        p->init4 = d->init4;
        p->single = d->single;
        p->read_isr = d->read_isr;
        p->poll = d->poll;
        p->auto_eoi = d->auto_eoi;
        p->rotate_aeoi = d->rotate_aeoi;
        p->special_mask = d->special_mask;
        p->sfnm = d->sfnm;
    }
    ic->io.id = sn.io.id;
    ic->io.sel = sn.io.sel;
    ic->io.lines = sn.io.lines;
    memcpy(ic->io.redir, sn.io.redir, sizeof(ic->io.redir));
    /* What the CPUs must hear from the loaded chips: the 8259's output (it
     * was low in the fresh chip), and level pins asserted, unmasked and not
     * yet delivered. */
    ic->output = false;
    pic_update(ic);
    for (int pin = 0; pin < IOAPIC_PINS; pin++)
        if ((ic->io.redir[pin] & RTE_LEVEL) && (ic->io.lines & (1u << pin)))
            ioapic_service(ic, pin);
    ic->masks_written = true;
    ic_unlock(ic);
    return 0;
}

/* ---- life ----------------------------------------------------------------- */

int irqchip_create(const struct irqchip_wiring *w, struct irqchip **out)
{
    struct irqchip *ic = calloc(1, sizeof(*ic));
    int r;
    if (!ic)
        return -ENOMEM;
    ic->w = *w;
    pthread_mutex_init(&ic->lock, NULL);
    /* IRQ0, 1, 2 (master) and 8, 13 (slave) cannot be level-triggered. */
    ic->pic[0].elcr_mask = 0xf8;
    ic->pic[1].elcr_mask = 0xde;
    for (int i = 0; i < IOAPIC_PINS; i++)
        ic->io.redir[i] = RTE_MASKED;

    r = bus_register(w->pio, w->pic_master, 2, &master_ops, ic, "pic-master");
    if (r < 0)
        goto fail;
    ic->master_registered = true;
    r = bus_register(w->pio, w->pic_slave, 2, &slave_ops, ic, "pic-slave");
    if (r < 0)
        goto fail;
    ic->slave_registered = true;
    r = bus_register(w->pio, w->elcr, 2, &elcr_ops, ic, "elcr");
    if (r < 0)
        goto fail;
    ic->elcr_registered = true;
    r = bus_register(w->mmio, w->ioapic_base, IOAPIC_MMIO_LEN, &ioapic_ops, ic, "ioapic");
    if (r < 0)
        goto fail;
    ic->mmio_registered = true;
    *out = ic;
    return 0;
fail:
    irqchip_destroy(ic);
    return r;
}

void irqchip_destroy(struct irqchip *ic)
{
    if (!ic)
        return;
    if (ic->master_registered)
        bus_unregister(ic->w.pio, ic->w.pic_master);
    if (ic->slave_registered)
        bus_unregister(ic->w.pio, ic->w.pic_slave);
    if (ic->elcr_registered)
        bus_unregister(ic->w.pio, ic->w.elcr);
    if (ic->mmio_registered)
        bus_unregister(ic->w.mmio, ic->w.ioapic_base);
    pthread_mutex_destroy(&ic->lock);
    free(ic);
}

/* ---- the board's wiring ---------------------------------------------------- */

static void line_set(void *opaque, unsigned gsi, int level)
{
    irqchip_set_irq(opaque, gsi, level);
}

struct irq_line irqchip_line(struct irqchip *ic, unsigned gsi)
{
    return (struct irq_line){ .set = line_set, .opaque = ic, .n = gsi };
}

static void msi_to_chip(void *opaque, uint64_t addr, uint32_t data)
{
    irqchip_msi(opaque, addr, data);
}

struct msi_sink irqchip_msi_sink(struct irqchip *ic)
{
    return (struct msi_sink){ .send = msi_to_chip, .opaque = ic };
}

static bool ext_pending(void *opaque)
{
    return irqchip_pic_pending(opaque);
}

static int ext_ack(void *opaque)
{
    return irqchip_pic_ack(opaque);
}

static void ext_eoi(void *opaque, uint8_t vector)
{
    irqchip_eoi(opaque, vector);
}

struct ext_intr irqchip_ext_intr(struct irqchip *ic)
{
    return (struct ext_intr){ .pending = ext_pending, .ack = ext_ack, .eoi = ext_eoi,
                              .opaque = ic };
}
