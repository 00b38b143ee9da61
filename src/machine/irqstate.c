/* Encoders and checking decoders of the interrupt-controller and PIT state
 * formats (machine/irqstate.h, docs/snapshot-cpu.md). */
#include "machine/irqstate.h"

#include <errno.h>
#include <string.h>

/* ---- 8259 pair and IOAPIC ------------------------------------------------------ */

static void put_pic(struct state_out *o, const struct pic_snap *p)
{
    st_put_u8(o, p->irr);
    st_put_u8(o, p->isr);
    st_put_u8(o, p->imr);
    st_put_u8(o, p->elcr);
    st_put_u8(o, p->lines);
    st_put_u8(o, p->base);
    st_put_u8(o, p->prio_add);
    st_put_u8(o, p->init_step);
    st_put_bool(o, p->initialized);
    st_put_bool(o, p->init4);
    st_put_bool(o, p->single);
    st_put_bool(o, p->read_isr);
    st_put_bool(o, p->poll);
    st_put_bool(o, p->auto_eoi);
    st_put_bool(o, p->rotate_aeoi);
    st_put_bool(o, p->special_mask);
    st_put_bool(o, p->sfnm);
}

void irqchip_snap_encode(const struct irqchip_snap *s, struct state_out *o)
{
    put_pic(o, &s->pic[0]);
    put_pic(o, &s->pic[1]);
    st_put_u8(o, s->io.id);
    st_put_u8(o, s->io.sel);
    st_put_u32(o, s->io.lines);
    for (int i = 0; i < IRQSTATE_IOAPIC_PINS; i++)
        st_put_u64(o, s->io.redir[i]);
}

static void get_pic(struct state_in *in, struct pic_snap *p)
{
    p->irr = st_get_u8(in);
    p->isr = st_get_u8(in);
    p->imr = st_get_u8(in);
    p->elcr = st_get_u8(in);
    p->lines = st_get_u8(in);
    p->base = st_get_u8(in);
    p->prio_add = st_get_u8(in);
    p->init_step = st_get_u8(in);
    p->initialized = st_get_bool(in);
    p->init4 = st_get_bool(in);
    p->single = st_get_bool(in);
    p->read_isr = st_get_bool(in);
    p->poll = st_get_bool(in);
    p->auto_eoi = st_get_bool(in);
    p->rotate_aeoi = st_get_bool(in);
    p->special_mask = st_get_bool(in);
    p->sfnm = st_get_bool(in);
}

static int check_pic(const struct pic_snap *p, const char *name, uint8_t elcr_mask,
                     struct err *e)
{
    if (p->elcr & ~elcr_mask)
        return err_set(e, -EINVAL, "irqchip state: %s 8259 ELCR %#x marks an edge-only input "
                       "level-triggered", name, p->elcr);
    if (p->base & 7)
        return err_set(e, -EINVAL, "irqchip state: %s 8259 vector base %#x is not a multiple "
                       "of 8", name, p->base);
    if (p->prio_add > 7)
        return err_set(e, -EINVAL, "irqchip state: %s 8259 priority rotation %u is above 7",
                       name, p->prio_add);
    if (p->init_step > 3)
        return err_set(e, -EINVAL, "irqchip state: %s 8259 initialization step %u is above 3",
                       name, p->init_step);
    return 0;
}

int irqchip_snap_decode(struct state_in *in, struct irqchip_snap *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    get_pic(in, &s->pic[0]);
    get_pic(in, &s->pic[1]);
    s->io.id = st_get_u8(in);
    s->io.sel = st_get_u8(in);
    s->io.lines = st_get_u32(in);
    for (int i = 0; i < IRQSTATE_IOAPIC_PINS; i++)
        s->io.redir[i] = st_get_u64(in);
    if (in->bad)
        return err_set(e, -EINVAL, "irqchip state: cut short or a flag byte is not 0 or 1");
    int r = check_pic(&s->pic[0], "master", PIC_ELCR_MASK_MASTER, e);
    if (r == 0)
        r = check_pic(&s->pic[1], "slave", PIC_ELCR_MASK_SLAVE, e);
    if (r < 0)
        return r;
    if (s->io.id > 15)
        return err_set(e, -EINVAL, "irqchip state: IOAPIC ID %u is above 15", s->io.id);
    if (s->io.lines >> IRQSTATE_IOAPIC_PINS)
        return err_set(e, -EINVAL, "irqchip state: IOAPIC line levels %#x name pins past 23",
                       s->io.lines);
    for (int i = 0; i < IRQSTATE_IOAPIC_PINS; i++) {
        uint64_t v = s->io.redir[i];
        if (v & (IOAPIC_RTE_RESERVED | IOAPIC_RTE_STATUS))
            return err_set(e, -EINVAL, "irqchip state: IOAPIC redirection entry %d %#llx has "
                           "reserved or read-only bits set", i, (unsigned long long)v);
        if ((v & IOAPIC_RTE_REMOTE_IRR) && !(v & IOAPIC_RTE_LEVEL))
            return err_set(e, -EINVAL, "irqchip state: IOAPIC redirection entry %d %#llx has "
                           "a remote IRR but is edge-triggered", i, (unsigned long long)v);
    }
    return 0;
}

/* ---- PIT ------------------------------------------------------------------------ */

static void put_channel(struct state_out *o, const struct pit_channel_snap *c)
{
    st_put_u8(o, c->mode);
    st_put_u8(o, c->rw);
    st_put_bool(o, c->bcd);
    st_put_bool(o, c->gate);
    st_put_u32(o, c->count);
    st_put_bool(o, c->loaded);
    st_put_bool(o, c->counting);
    st_put_u64(o, c->elapsed_ns);
    st_put_bool(o, c->paused);
    st_put_u64(o, c->paused_ticks);
    st_put_u8(o, c->latch_state);
    st_put_u16(o, c->latch);
    st_put_bool(o, c->status_latched);
    st_put_u8(o, c->status);
    st_put_bool(o, c->write_msb_next);
    st_put_u8(o, c->write_lsb);
    st_put_bool(o, c->read_msb_next);
}

void pit_snap_encode(const struct pit_snap *s, struct state_out *o)
{
    for (int i = 0; i < 3; i++)
        put_channel(o, &s->ch[i]);
    st_put_u8(o, s->port61);
}

static void get_channel(struct state_in *in, struct pit_channel_snap *c)
{
    c->mode = st_get_u8(in);
    c->rw = st_get_u8(in);
    c->bcd = st_get_bool(in);
    c->gate = st_get_bool(in);
    c->count = st_get_u32(in);
    c->loaded = st_get_bool(in);
    c->counting = st_get_bool(in);
    c->elapsed_ns = st_get_u64(in);
    c->paused = st_get_bool(in);
    c->paused_ticks = st_get_u64(in);
    c->latch_state = st_get_u8(in);
    c->latch = st_get_u16(in);
    c->status_latched = st_get_bool(in);
    c->status = st_get_u8(in);
    c->write_msb_next = st_get_bool(in);
    c->write_lsb = st_get_u8(in);
    c->read_msb_next = st_get_bool(in);
}

#define PIT_REFUSE(i, ...) \
    return err_set(e, -EINVAL, "PIT state: channel %d: " __VA_ARGS__)

static int check_channel(int i, const struct pit_channel_snap *c, struct err *e)
{
    if (c->mode > 5)
        PIT_REFUSE(i, "mode %u is above 5", i, c->mode);
    if (c->rw > 3)
        PIT_REFUSE(i, "read/write mode %u is above 3", i, c->rw);
    if (c->count < 1 || c->count > 65536)
        PIT_REFUSE(i, "count %u is outside 1-65536", i, c->count);
    if (c->rw == 0 && (c->mode || c->bcd || c->loaded || c->latch_state || c->status_latched))
        PIT_REFUSE(i, "has a mode, a count or a latch but no control word", i);
    if (c->counting && !c->loaded)
        PIT_REFUSE(i, "counts without a count loaded", i);
    if (c->loaded && c->mode != 1 && c->mode != 5 && !c->counting)
        PIT_REFUSE(i, "mode %u has a count loaded but does not count", i, c->mode);
    if (!c->loaded && c->elapsed_ns)
        PIT_REFUSE(i, "has time elapsed but no count loaded", i);
    if (c->elapsed_ns > (1ULL << 62))
        PIT_REFUSE(i, "elapsed time %llu ns is out of range", i, (unsigned long long)c->elapsed_ns);
    if (c->paused) {
        if ((c->mode != 0 && c->mode != 4) || !c->counting || c->gate || c->elapsed_ns)
            PIT_REFUSE(i, "is held by its gate in a state that cannot be", i);
        if (c->paused_ticks > (1ULL << 48))
            PIT_REFUSE(i, "held tick count %llu is out of range", i,
                       (unsigned long long)c->paused_ticks);
    } else if (c->paused_ticks) {
        PIT_REFUSE(i, "has held ticks but is not held", i);
    }
    if (c->latch_state > 3)
        PIT_REFUSE(i, "latch state %u is above 3", i, c->latch_state);
    if (!c->latch_state && c->latch)
        PIT_REFUSE(i, "has a latched count but no latch", i);
    if (!c->status_latched && c->status)
        PIT_REFUSE(i, "has a latched status but no latch", i);
    if ((c->write_msb_next || c->read_msb_next) && c->rw != 3)
        PIT_REFUSE(i, "waits for an MSB in read/write mode %u", i, c->rw);
    if (!c->write_msb_next && c->write_lsb)
        PIT_REFUSE(i, "holds a written LSB without waiting for the MSB", i);
    if (i < 2 && !c->gate)
        PIT_REFUSE(i, "gate is low, but only channel 2 has a gate input", i);
    return 0;
}

int pit_snap_decode(struct state_in *in, struct pit_snap *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < 3; i++)
        get_channel(in, &s->ch[i]);
    s->port61 = st_get_u8(in);
    if (in->bad)
        return err_set(e, -EINVAL, "PIT state: cut short or a flag byte is not 0 or 1");
    for (int i = 0; i < 3; i++) {
        int r = check_channel(i, &s->ch[i], e);
        if (r < 0)
            return r;
    }
    if (s->port61 & 0xf0)
        return err_set(e, -EINVAL, "PIT state: port 0x61 value %#x has bits above 3 (they are "
                       "read-only)", s->port61);
    if ((s->port61 & 1) != s->ch[2].gate)
        return err_set(e, -EINVAL, "PIT state: port 0x61 bit 0 (%u) is not channel 2's gate (%u)",
                       s->port61 & 1, s->ch[2].gate);
    return 0;
}
