/* ACPI PM1a event/control blocks, PM timer and reset register.  The guest
 * is always in ACPI mode (no SMI_CMD in the FADT), so SCI_EN reads 1.
 * The reset register reboots on any non-zero write, whatever RESET_VALUE
 * the FADT names. */
#include "hw/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/err.h"
#include "lib/state.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"
#include "machine/timer.h"

/* PM1 status and enable bits. */
#define TMR_STS     0x0001
#define GBL_STS     0x0020
#define PWRBTN_STS  0x0100
#define SLPBTN_STS  0x0200
#define RTC_STS     0x0400
#define WAK_STS     0x8000
#define STS_MASK    (TMR_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS | WAK_STS)
#define EN_MASK     (TMR_STS | GBL_STS | PWRBTN_STS | SLPBTN_STS | RTC_STS)

/* PM1 control bits. */
#define SCI_EN      0x0001
#define SLP_TYP_SHIFT 10
#define SLP_TYP_MASK  (7 << SLP_TYP_SHIFT)
#define SLP_EN      0x2000

struct acpi_pm {
    pthread_mutex_t lock;
    struct bus *pio;
    uint16_t base;
    struct irq_line sci;
    struct guest_clock *clock;
    struct stop_request stop;
    int registered;                 /* how many of the four ranges */
    uint16_t sts, en, cnt;
    uint64_t start_ns;
    uint64_t last_ticks;            /* for TMR_STS: has bit 23 flipped since? */
    int sci_level;
    bool paused;                    /* acpi_pm_pause: button presses wait */
    bool button_pending;            /* pressed while paused */
};

/* The PM timer runs on guest time: it stands still while the machine is
 * paused, as the guest's other clocks do. */
static uint64_t now_ns(const struct acpi_pm *pm)
{
    return guest_clock_now(pm->clock);
}

/* Ticks since the machine started, never wrapping (a 64-bit count). */
static uint64_t timer_ticks(const struct acpi_pm *pm)
{
    unsigned __int128 ns = now_ns(pm) - pm->start_ns;
    return (uint64_t)(ns * ACPI_PM_TIMER_HZ / 1000000000ULL);
}

static uint32_t timer_now(const struct acpi_pm *pm)
{
    return (uint32_t)timer_ticks(pm) & 0xffffff;
}

/* TMR_STS is set whenever bit 23 of the timer flips; we look lazily, when
 * the guest reads the status or the timer (so TMR_EN raises no SCI on its
 * own: no guest we know relies on it). */
static uint32_t sample_timer(struct acpi_pm *pm)
{
    uint64_t t = timer_ticks(pm);
    if ((t >> 23) != (pm->last_ticks >> 23))
        pm->sts |= TMR_STS;
    pm->last_ticks = t;
    return (uint32_t)t & 0xffffff;
}

static void update_sci(struct acpi_pm *pm)
{
    int level = (pm->sts & pm->en & EN_MASK) != 0;
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_set(&pm->sci, level);
    }
}

/* PM1a_EVT: status at byte 0-1, enable at byte 2-3, any width. */
static uint64_t evt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint64_t v = 0;
    pthread_mutex_lock(&pm->lock);
    sample_timer(pm);
    uint32_t regs = pm->sts | (uint32_t)pm->en << 16;
    for (unsigned i = 0; i < size; i++)
        if (offset + i < 4)
            v |= (uint64_t)((regs >> (8 * (offset + i))) & 0xff) << (8 * i);
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    return v;
}

static void evt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = offset + i;
        uint16_t b = (uint16_t)((value >> (8 * i)) & 0xff);
        if (o < 2)
            pm->sts &= (uint16_t)~((b << (8 * o)) & STS_MASK);   /* write 1 to clear */
        else if (o < 4)
            pm->en = (uint16_t)((pm->en & ~(0xff << (8 * (o - 2)))) |
                                ((b << (8 * (o - 2))) & EN_MASK));
    }
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

static uint64_t cnt_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint32_t regs = (pm->cnt & ~SLP_EN) | SCI_EN;
    pthread_mutex_unlock(&pm->lock);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        if (offset + i < 2)
            v |= (uint64_t)((regs >> (8 * (offset + i))) & 0xff) << (8 * i);
    return v;
}

static void cnt_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    bool poweroff = false;
    pthread_mutex_lock(&pm->lock);
    uint16_t cnt = pm->cnt;
    for (unsigned i = 0; i < size; i++)
        if (offset + i < 2) {
            unsigned sh = 8 * (unsigned)(offset + i);
            cnt = (uint16_t)((cnt & ~(0xff << sh)) | (((value >> (8 * i)) & 0xff) << sh));
        }
    if (cnt & SLP_EN) {
        unsigned typ = (cnt & SLP_TYP_MASK) >> SLP_TYP_SHIFT;
        if (typ == ACPI_SLP_TYP_S5)
            poweroff = true;
        else
            pm->sts |= WAK_STS;   /* other sleep states: wake at once */
    }
    /* SLP_EN and GBL_RLS are write-only; SCI_EN is hard-wired. */
    pm->cnt = cnt & (SLP_TYP_MASK | 0x0002);
    pthread_mutex_unlock(&pm->lock);
    if (poweroff)
        stop_request(&pm->stop, VM_STOP_POWEROFF, 0);
}

static uint64_t tmr_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint32_t t = sample_timer(pm);
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    uint64_t v = t;
    if (offset >= 4)
        return 0;
    v >>= 8 * offset;
    return size >= 4 ? v : v & ((1ULL << (8 * size)) - 1);
}

static void tmr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    (void)opaque; (void)offset; (void)size; (void)value;   /* read-only */
}

static uint64_t reset_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque; (void)offset; (void)size;
    return 0;
}

static void reset_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct acpi_pm *pm = opaque;
    (void)offset;
    if (size < 8)
        value &= (1ULL << (8 * size)) - 1;
    if (value)
        stop_request(&pm->stop, VM_STOP_RESET, 0);
}

static const struct bus_ops evt_ops = { .read = evt_read, .write = evt_write };
static const struct bus_ops cnt_ops = { .read = cnt_read, .write = cnt_write };
static const struct bus_ops tmr_ops = { .read = tmr_read, .write = tmr_write };
static const struct bus_ops reset_ops = { .read = reset_read, .write = reset_write };

static const struct {
    uint16_t offset, len;
    const struct bus_ops *ops;
    const char *name;
} ranges[] = {
    { ACPI_PM_EVT_OFFSET, 4, &evt_ops, "acpi pm1a event" },
    { ACPI_PM_CNT_OFFSET, 2, &cnt_ops, "acpi pm1a control" },
    { ACPI_PM_TMR_OFFSET, 4, &tmr_ops, "acpi pm timer" },
    { ACPI_PM_RESET_OFFSET, 1, &reset_ops, "acpi reset" },
};

int acpi_pm_create(struct bus *pio, uint16_t base, struct irq_line sci,
                   struct guest_clock *clock, struct stop_request stop, struct acpi_pm **out)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return -ENOMEM;
    pthread_mutex_init(&pm->lock, NULL);
    pm->pio = pio;
    pm->base = base;
    pm->sci = sci;
    pm->clock = clock;
    pm->stop = stop;
    pm->start_ns = now_ns(pm);
    for (unsigned i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        int r = bus_register(pio, (uint16_t)(base + ranges[i].offset), ranges[i].len, ranges[i].ops, pm,
                             ranges[i].name);
        if (r < 0) {
            acpi_pm_destroy(pm);
            return r;
        }
        pm->registered++;
    }
    *out = pm;
    return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    if (!pm)
        return;
    for (int i = pm->registered - 1; i >= 0; i--)
        bus_unregister(pm->pio, (uint16_t)(pm->base + ranges[i].offset));
    if (pm->sci_level)
        irq_set(&pm->sci, 0);
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    if (pm->paused) {
        pm->button_pending = true;
    } else {
        pm->sts |= PWRBTN_STS;
        update_sci(pm);
    }
    pthread_mutex_unlock(&pm->lock);
}

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
    return timer_now(pm);
}

/* ---- snapshots ------------------------------------------------------------ */

/* About 160 000 years of ticks: more than any machine runs, and small enough
 * that rebasing the timer cannot overflow. */
#define MAX_TICKS (1ULL << 54)

int acpi_pm_save(struct acpi_pm *pm, struct state_out *o)
{
    pthread_mutex_lock(&pm->lock);
    st_put_u16(o, (uint16_t)(pm->sts | (pm->button_pending ? PWRBTN_STS : 0)));
    st_put_u16(o, pm->en);
    st_put_u16(o, pm->cnt);
    st_put_u64(o, timer_ticks(pm));
    st_put_u64(o, pm->last_ticks);
    pthread_mutex_unlock(&pm->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int acpi_pm_load(struct acpi_pm *pm, struct state_in *in, struct err *e)
{
    unsigned port = pm->base;
    uint16_t sts = st_get_u16(in), en = st_get_u16(in), cnt = st_get_u16(in);
    uint64_t ticks = st_get_u64(in), last = st_get_u64(in);
    if (in->bad)
        return err_set(e, -EINVAL, "acpi-pm 0x%x: the saved state is cut short", port);
    if (sts & ~STS_MASK)
        return err_set(e, -EINVAL, "acpi-pm 0x%x: PM1 status 0x%04x has bits the block does "
                       "not have", port, sts);
    if (en & ~EN_MASK)
        return err_set(e, -EINVAL, "acpi-pm 0x%x: PM1 enable 0x%04x has bits the block does "
                       "not have", port, en);
    if (cnt & ~(SLP_TYP_MASK | 0x0002))
        return err_set(e, -EINVAL, "acpi-pm 0x%x: PM1 control 0x%04x keeps bits that are "
                       "never stored", port, cnt);
    if (ticks > MAX_TICKS || last > ticks)
        return err_set(e, -EINVAL, "acpi-pm 0x%x: PM timer count %llu (last looked at %llu) "
                       "is out of range", port, (unsigned long long)ticks,
                       (unsigned long long)last);
    /* The start that makes the count read `ticks` now; rounded up, so the
     * count read back is ticks, not one less. */
    uint64_t ns = (uint64_t)(((unsigned __int128)ticks * 1000000000ULL + ACPI_PM_TIMER_HZ - 1) /
                             ACPI_PM_TIMER_HZ);
    pthread_mutex_lock(&pm->lock);
    pm->sts = sts;
    pm->en = en;
    pm->cnt = cnt;
    pm->start_ns = now_ns(pm) - ns;     /* modulo 2^64, as timer_ticks reads it */
    pm->last_ticks = last;
    pm->button_pending = false;
    /* Driven even when it looks unchanged: what is behind it is new too. */
    pm->sci_level = -1;
    update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    return 0;
}

void acpi_pm_pause(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->paused = true;
    pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_resume(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->paused = false;
    if (pm->button_pending) {
        pm->button_pending = false;
        pm->sts |= PWRBTN_STS;
        update_sci(pm);
    }
    pthread_mutex_unlock(&pm->lock);
}
