/* The MC146818 RTC: time registers computed from the host clock on every
 * read (UTC plus whatever offset the guest set), formats per register B,
 * and 128 bytes of CMOS RAM.  While the guest enables periodic, alarm or
 * update-ended interrupts, a timer thread sets register C's flags and holds
 * IRQ 8 up until register C is read; guests that poll without interrupts
 * see the flags too.  Unlike the other time sources it follows the host's
 * real time, not the machine's guest clock, even across a pause: a real RTC
 * keeps running on its battery, QEMU's default does the same, and a guest
 * that re-reads it after a resume gets the right date and time. */
#include "hw/rtc.h"
#include "lib/sandbox.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/err.h"
#include "lib/state.h"
#include "machine/bus.h"
#include "machine/irq.h"

#define CMOS_SIZE 128

enum {
    REG_SEC = 0x00, REG_SEC_ALARM = 0x01, REG_MIN = 0x02, REG_MIN_ALARM = 0x03,
    REG_HOUR = 0x04, REG_HOUR_ALARM = 0x05, REG_WDAY = 0x06, REG_MDAY = 0x07,
    REG_MONTH = 0x08, REG_YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c,
    REG_D = 0x0d, REG_CENTURY = 0x32,
};

#define A_UIP     0x80
#define B_SET     0x80
#define B_BINARY  0x04
#define B_24H     0x02
#define D_VRT     0x80
#define B_PIE     0x40
#define B_AIE     0x20
#define B_UIE     0x10
#define C_IRQF    0x80
#define C_PF      0x40
#define C_AF      0x20
#define C_UF      0x10
#define HOUR_PM   0x80

struct rtc {
    pthread_mutex_t lock;
    struct bus *pio;
    uint16_t port;
    struct irq_line irq;
    bool registered;
    uint8_t index;
    bool nmi_disabled;            /* bit 7 of the index: kept, not acted on */
    uint8_t cmos[CMOS_SIZE];
    int64_t offset;               /* guest time minus host UTC, seconds */
    struct tm frozen;             /* the time being set while B.SET is on */
    struct timespec last_c;       /* when register C was last read */

    /* The interrupt timer. */
    pthread_t thread;
    bool thread_started, stopping;
    bool paused;                  /* rtc_pause: no flags, no interrupt */
    pthread_cond_t wake;          /* register A/B changed, or stop */
    int64_t next_periodic;        /* CLOCK_MONOTONIC ns; 0 = not running */
    int64_t last_update;          /* guest second of the last update cycle; -1 = none */
    int irq_level;
};

static uint8_t to_bcd(unsigned v)
{
    return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t encode(const struct rtc *r, unsigned v)
{
    return (r->cmos[REG_B] & B_BINARY) ? (uint8_t)v : to_bcd(v);
}

static unsigned decode(const struct rtc *r, uint8_t v)
{
    return (r->cmos[REG_B] & B_BINARY) ? v : from_bcd(v);
}

static uint8_t encode_hour(const struct rtc *r, unsigned hour)
{
    if (r->cmos[REG_B] & B_24H)
        return encode(r, hour);
    unsigned h12 = hour % 12 ? hour % 12 : 12;
    return encode(r, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static unsigned decode_hour(const struct rtc *r, uint8_t v)
{
    if (r->cmos[REG_B] & B_24H)
        return decode(r, v);
    unsigned h = decode(r, v & 0x7f) % 12;
    return (v & HOUR_PM) ? h + 12 : h;
}

static void guest_time(const struct rtc *r, struct tm *tm)
{
    if (r->cmos[REG_B] & B_SET) {
        *tm = r->frozen;
        return;
    }
    time_t t = time(NULL) + (time_t)r->offset;
    gmtime_r(&t, tm);
}

/* The guest wrote a time field: the clock now runs from the new time. */
static void set_guest_time(struct rtc *r, struct tm *tm)
{
    if (r->cmos[REG_B] & B_SET) {
        r->frozen = *tm;
        return;
    }
    struct tm copy = *tm;
    time_t t = timegm(&copy);
    if (t != (time_t)-1)
        r->offset = (int64_t)t - (int64_t)time(NULL);
}

static bool update_in_progress(void)
{
    /* The chip updates once a second and raises UIP 244 us before: report
     * it in the same slice of each host second, so guests that wait for UIP
     * to fall see it fall. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_nsec >= 1000000000L - 244000L;
}

/* The flags the chip would have set since register C was last read: an
 * update cycle ended (a new second), and periodic ticks at register A's rate. */
static uint8_t events_since_last_c(struct rtc *r)
{
    struct timespec now;
    uint8_t flags = 0;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != r->last_c.tv_sec && !(r->cmos[REG_B] & B_SET))
        flags |= C_UF;
    unsigned rate = r->cmos[REG_A] & 0x0f;
    if (rate) {
        /* Rates 1 and 2 are 256 and 128 Hz; from 3 on, 32768 >> (rate - 1) Hz. */
        int64_t period = rate <= 2 ? 1000000000LL >> (9 - rate)
                                   : (1000000000LL << (rate - 1)) / 32768;
        int64_t elapsed = (int64_t)(now.tv_sec - r->last_c.tv_sec) * 1000000000LL +
                          (now.tv_nsec - r->last_c.tv_nsec);
        if (elapsed >= period)
            flags |= C_PF;
    }
    r->last_c = now;
    return flags;
}

static uint8_t read_cmos(struct rtc *r, unsigned idx)
{
    struct tm tm;
    switch (idx) {
    case REG_SEC: guest_time(r, &tm); return encode(r, (unsigned)tm.tm_sec % 60);
    case REG_MIN: guest_time(r, &tm); return encode(r, (unsigned)tm.tm_min);
    case REG_HOUR: guest_time(r, &tm); return encode_hour(r, (unsigned)tm.tm_hour);
    case REG_WDAY: guest_time(r, &tm); return encode(r, (unsigned)tm.tm_wday + 1);
    case REG_MDAY: guest_time(r, &tm); return encode(r, (unsigned)tm.tm_mday);
    case REG_MONTH: guest_time(r, &tm); return encode(r, (unsigned)tm.tm_mon + 1);
    case REG_YEAR: guest_time(r, &tm); return encode(r, (unsigned)(tm.tm_year + 1900) % 100);
    case REG_CENTURY: guest_time(r, &tm); return encode(r, (unsigned)(tm.tm_year + 1900) / 100);
    case REG_A:
        return (r->cmos[REG_A] & ~A_UIP) |
               (!(r->cmos[REG_B] & B_SET) && update_in_progress() ? A_UIP : 0);
    case REG_C: {
        uint8_t v = r->cmos[REG_C] | events_since_last_c(r);
        /* IRQF: a flag whose interrupt register B enables (PIE, AIE, UIE). */
        if (v & r->cmos[REG_B] & 0x70)
            v |= C_IRQF;
        r->cmos[REG_C] = 0;   /* flags clear on read */
        return v;
    }
    case REG_D:
        return D_VRT;
    default:
        return r->cmos[idx];
    }
}

static void write_time_field(struct rtc *r, unsigned idx, uint8_t v)
{
    struct tm tm;
    guest_time(r, &tm);
    switch (idx) {
    case REG_SEC: tm.tm_sec = (int)decode(r, v & 0x7f) % 60; break;
    case REG_MIN: tm.tm_min = (int)decode(r, v & 0x7f) % 60; break;
    case REG_HOUR: tm.tm_hour = (int)decode_hour(r, v) % 24; break;
    case REG_WDAY: return;   /* derived from the date */
    case REG_MDAY: {
        unsigned d = decode(r, v);
        tm.tm_mday = d >= 1 && d <= 31 ? (int)d : 1;
        break;
    }
    case REG_MONTH: {
        unsigned m = decode(r, v);
        tm.tm_mon = m >= 1 && m <= 12 ? (int)m - 1 : 0;
        break;
    }
    case REG_YEAR: {
        int century = (tm.tm_year + 1900) / 100;
        tm.tm_year = century * 100 + (int)(decode(r, v) % 100) - 1900;
        break;
    }
    case REG_CENTURY: {
        int year = (tm.tm_year + 1900) % 100;
        tm.tm_year = (int)(decode(r, v) % 100) * 100 + year - 1900;
        break;
    }
    }
    set_guest_time(r, &tm);
}

static void write_cmos(struct rtc *r, unsigned idx, uint8_t v)
{
    switch (idx) {
    case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY:
    case REG_MDAY: case REG_MONTH: case REG_YEAR: case REG_CENTURY:
        write_time_field(r, idx, v);
        break;
    case REG_A:
        r->cmos[REG_A] = v & ~A_UIP;
        break;
    case REG_B: {
        uint8_t old = r->cmos[REG_B];
        if (!(old & B_SET) && (v & B_SET))
            guest_time(r, &r->frozen);   /* updates stop: hold the time */
        r->cmos[REG_B] = v;
        if ((old & B_SET) && !(v & B_SET)) {
            struct tm tm = r->frozen;   /* updates resume from what was set */
            set_guest_time(r, &tm);
        }
        break;
    }
    case REG_C:
    case REG_D:
        break;   /* read-only */
    default:
        r->cmos[idx] = v;
        break;
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The periodic interrupt's period in ns for register A's rate, 0 for off. */
static int64_t periodic_ns(const struct rtc *r)
{
    unsigned rate = r->cmos[REG_A] & 0x0f;
    if (!rate)
        return 0;
    return rate <= 2 ? 1000000000LL >> (9 - rate) : (1000000000LL << (rate - 1)) / 32768;
}

static void update_irq(struct rtc *r)
{
    if ((r->cmos[REG_C] & r->cmos[REG_B] & (C_PF | C_AF | C_UF)) != 0)
        r->cmos[REG_C] |= C_IRQF;
    int level = (r->cmos[REG_C] & C_IRQF) != 0;
    if (level != r->irq_level) {
        r->irq_level = level;
        irq_set(&r->irq, level);
    }
}

/* An alarm byte with its top two bits set matches anything. */
static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return (alarm & 0xc0) == 0xc0 || alarm == now;
}

/* One pass of the timer: sets the flags that are due and returns the
 * CLOCK_MONOTONIC time of the next event (INT64_MAX: none). */
static int64_t timer_pass(struct rtc *r)
{
    int64_t now = mono_ns(), next = INT64_MAX;
    uint8_t b = r->cmos[REG_B];

    int64_t period = periodic_ns(r);
    if ((b & B_PIE) && period) {
        if (!r->next_periodic)
            r->next_periodic = now + period;
        if (now >= r->next_periodic) {
            r->cmos[REG_C] |= C_PF;
            r->next_periodic += period;
            if (r->next_periodic <= now)   /* far behind: skip, don't storm */
                r->next_periodic = now + period;
        }
        next = r->next_periodic;
    } else {
        r->next_periodic = 0;
    }

    if ((b & (B_UIE | B_AIE)) && !(b & B_SET)) {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        int64_t sec = (int64_t)rt.tv_sec + r->offset;
        if (r->last_update >= 0 && sec != r->last_update) {
            r->cmos[REG_C] |= C_UF;
            struct tm tm;
            guest_time(r, &tm);
            if (alarm_field_matches(r->cmos[REG_SEC_ALARM], encode(r, (unsigned)tm.tm_sec % 60)) &&
                alarm_field_matches(r->cmos[REG_MIN_ALARM], encode(r, (unsigned)tm.tm_min)) &&
                alarm_field_matches(r->cmos[REG_HOUR_ALARM], encode_hour(r, (unsigned)tm.tm_hour)))
                r->cmos[REG_C] |= C_AF;
        }
        r->last_update = sec;
        int64_t boundary = now + (1000000000LL - rt.tv_nsec) + 1000;
        if (boundary < next)
            next = boundary;
    } else {
        r->last_update = -1;
    }
    update_irq(r);
    return next;
}

static void *timer_thread(void *arg)
{
    struct rtc *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        sandbox_thread_check(SANDBOX_TIMER);
        if (r->paused) {
            pthread_cond_wait(&r->wake, &r->lock);
            continue;
        }
        int64_t next = timer_pass(r);
        if (next == INT64_MAX) {
            pthread_cond_wait(&r->wake, &r->lock);
        } else {
            struct timespec ts = { .tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL };
            pthread_cond_timedwait(&r->wake, &r->lock, &ts);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static uint64_t rtc_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtc *r = opaque;
    uint64_t v = 0xff;
    (void)size;
    if (offset == 1) {
        pthread_mutex_lock(&r->lock);
        v = read_cmos(r, r->index);
        if (r->index == REG_C)
            update_irq(r);   /* reading C acknowledges: the line drops */
        pthread_mutex_unlock(&r->lock);
    }
    return v;   /* the index port is write-only */
}

static void rtc_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct rtc *r = opaque;
    (void)size;
    pthread_mutex_lock(&r->lock);
    if (offset == 0) {
        r->index = value & 0x7f;
        r->nmi_disabled = value & 0x80;
    } else {
        write_cmos(r, r->index, (uint8_t)value);
        if (r->index == REG_A || r->index == REG_B) {
            update_irq(r);
            pthread_cond_signal(&r->wake);   /* the timer's schedule changed */
        }
    }
    pthread_mutex_unlock(&r->lock);
}

static const struct bus_ops rtc_ops = { .read = rtc_read, .write = rtc_write };

/* What a PC BIOS leaves in CMOS about memory, in the units it uses. */
static void set_memory_size(struct rtc *r, uint64_t low_mem, uint64_t high_mem)
{
    uint64_t ext_kib = low_mem > (1 << 20) ? (low_mem - (1 << 20)) >> 10 : 0;
    if (ext_kib > 0xffff)
        ext_kib = 0xffff;
    uint64_t above16m = low_mem > (16 << 20) ? (low_mem - (16 << 20)) >> 16 : 0;
    if (above16m > 0xffff)
        above16m = 0xffff;
    uint64_t above4g = high_mem >> 16;
    if (above4g > 0xffffff)
        above4g = 0xffffff;

    r->cmos[0x15] = 640 & 0xff;            /* base memory, KiB */
    r->cmos[0x16] = 640 >> 8;
    r->cmos[0x17] = ext_kib & 0xff;        /* 1 MiB to 65 MiB, KiB */
    r->cmos[0x18] = ext_kib >> 8;
    r->cmos[0x30] = ext_kib & 0xff;        /* the same, as POST found it */
    r->cmos[0x31] = ext_kib >> 8;
    r->cmos[0x34] = above16m & 0xff;       /* 16 MiB to 4 GiB, 64 KiB units */
    r->cmos[0x35] = above16m >> 8;
    r->cmos[0x5b] = above4g & 0xff;        /* above 4 GiB, 64 KiB units */
    r->cmos[0x5c] = (above4g >> 8) & 0xff;
    r->cmos[0x5d] = above4g >> 16;
}

int rtc_create(struct bus *pio, uint16_t port, struct irq_line irq, uint64_t low_mem,
               uint64_t high_mem, struct rtc **out)
{
    struct rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    r->pio = pio;
    r->port = port;
    r->irq = irq;
    r->cmos[REG_A] = 0x26;        /* 32.768 kHz time base, 1024 Hz rate */
    r->cmos[REG_B] = B_24H;       /* BCD, 24-hour: what PC firmware sets */
    r->cmos[REG_D] = D_VRT;
    set_memory_size(r, low_mem, high_mem);
    clock_gettime(CLOCK_REALTIME, &r->last_c);
    r->last_update = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    int err = pthread_create(&r->thread, NULL, timer_thread, r);
    if (err) {
        rtc_destroy(r);
        return -err;
    }
    r->thread_started = true;
    err = bus_register(pio, port, 2, &rtc_ops, r, "rtc");
    if (err < 0) {
        rtc_destroy(r);
        return err;
    }
    r->registered = true;
    *out = r;
    return 0;
}

void rtc_set_cmos(struct rtc *r, unsigned index, uint8_t value)
{
    if (index < 0x0e || index >= CMOS_SIZE || index == REG_CENTURY)
        return;
    pthread_mutex_lock(&r->lock);
    r->cmos[index] = value;
    pthread_mutex_unlock(&r->lock);
}

void rtc_destroy(struct rtc *r)
{
    if (!r)
        return;
    if (r->registered)
        bus_unregister(r->pio, r->port);
    if (r->thread_started) {
        pthread_mutex_lock(&r->lock);
        r->stopping = true;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    if (r->irq_level)
        irq_set(&r->irq, 0);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

uint8_t rtc_cmos_byte(struct rtc *r, unsigned index)
{
    pthread_mutex_lock(&r->lock);
    uint8_t v = read_cmos(r, index & 0x7f);
    pthread_mutex_unlock(&r->lock);
    return v;
}

/* ---- snapshots ------------------------------------------------------------ */

/* Further than any guest can set the clock (years 0-9999 from now), and far
 * inside what time_t arithmetic and gmtime handle. */
#define MAX_OFFSET_S     1000000000000LL
/* Host times (CLOCK_REALTIME) from 1970 to 2242: the span between two of
 * them in nanoseconds still fits an int64_t (events_since_last_c). */
#define MAX_REALTIME_S   (1LL << 33)

int rtc_save(struct rtc *r, struct state_out *o)
{
    pthread_mutex_lock(&r->lock);
    st_put_u8(o, r->index);
    st_put_bool(o, r->nmi_disabled);
    st_put_bytes(o, r->cmos, CMOS_SIZE);
    st_put_u64(o, (uint64_t)r->offset);
    st_put_u32(o, (uint32_t)(r->frozen.tm_year + 1900));
    st_put_u8(o, (uint8_t)r->frozen.tm_mon);
    st_put_u8(o, (uint8_t)r->frozen.tm_mday);
    st_put_u8(o, (uint8_t)r->frozen.tm_hour);
    st_put_u8(o, (uint8_t)r->frozen.tm_min);
    st_put_u8(o, (uint8_t)r->frozen.tm_sec);
    st_put_u8(o, (uint8_t)r->frozen.tm_wday);
    st_put_u64(o, (uint64_t)(int64_t)r->last_c.tv_sec);
    st_put_u32(o, (uint32_t)r->last_c.tv_nsec);
    pthread_mutex_unlock(&r->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int rtc_load(struct rtc *r, struct state_in *in, struct err *e)
{
    uint8_t cmos[CMOS_SIZE];
    struct tm frozen;
    unsigned port = r->port;

    uint8_t index = st_get_u8(in);
    bool nmi_disabled = st_get_bool(in);
    st_get_bytes(in, cmos, CMOS_SIZE);
    int64_t offset = (int64_t)st_get_u64(in);
    int32_t year = (int32_t)st_get_u32(in);
    uint8_t mon = st_get_u8(in), mday = st_get_u8(in), hour = st_get_u8(in);
    uint8_t min = st_get_u8(in), sec = st_get_u8(in), wday = st_get_u8(in);
    int64_t c_sec = (int64_t)st_get_u64(in);
    uint32_t c_nsec = st_get_u32(in);
    if (in->bad)
        return err_set(e, -EINVAL, "rtc 0x%x: the saved state is cut short or holds a bool "
                       "that is neither 0 nor 1", port);
    if (index & 0x80)
        return err_set(e, -EINVAL, "rtc 0x%x: index 0x%02x is past the 128 CMOS bytes", port,
                       index);
    if (cmos[REG_A] & A_UIP)
        return err_set(e, -EINVAL, "rtc 0x%x: register A 0x%02x keeps UIP, which is never "
                       "stored", port, cmos[REG_A]);
    if (cmos[REG_C] & 0x0f)
        return err_set(e, -EINVAL, "rtc 0x%x: register C 0x%02x has bits the chip does not "
                       "have", port, cmos[REG_C]);
    if (offset > MAX_OFFSET_S || offset < -MAX_OFFSET_S)
        return err_set(e, -EINVAL, "rtc 0x%x: the clock offset %lld s is further from host "
                       "time than a guest can set it", port, (long long)offset);
    if (year < -100000 || year > 100000 || mon > 11 || mday > 31 || hour > 23 || min > 59 ||
        sec > 60 || wday > 6)
        return err_set(e, -EINVAL, "rtc 0x%x: the held time %d-%u-%u %u:%u:%u (weekday %u) "
                       "is not a time", port, year, mon + 1u, mday, hour, min, sec, wday);
    if (c_sec < 0 || c_sec >= MAX_REALTIME_S || c_nsec >= 1000000000u)
        return err_set(e, -EINVAL, "rtc 0x%x: the last read of register C (%lld s, %u ns) "
                       "is not a time", port, (long long)c_sec, c_nsec);
    memset(&frozen, 0, sizeof(frozen));
    frozen.tm_year = year - 1900;
    frozen.tm_mon = mon;
    frozen.tm_mday = mday;
    frozen.tm_hour = hour;
    frozen.tm_min = min;
    frozen.tm_sec = sec;
    frozen.tm_wday = wday;

    pthread_mutex_lock(&r->lock);
    r->index = index;
    r->nmi_disabled = nmi_disabled;
    memcpy(r->cmos, cmos, CMOS_SIZE);
    r->offset = offset;
    r->frozen = frozen;
    r->last_c.tv_sec = (time_t)c_sec;
    r->last_c.tv_nsec = (long)c_nsec;
    /* The interrupt timer plans afresh from register A and B. */
    r->next_periodic = 0;
    r->last_update = -1;
    /* Driven even when it looks unchanged: what is behind the line was built
     * fresh too. */
    r->irq_level = -1;
    update_irq(r);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

void rtc_pause(struct rtc *r)
{
    /* The thread sets flags only under the lock: once we hold it, it is
     * waiting, and it looks at paused before its next pass. */
    pthread_mutex_lock(&r->lock);
    r->paused = true;
    pthread_mutex_unlock(&r->lock);
}

void rtc_resume(struct rtc *r)
{
    pthread_mutex_lock(&r->lock);
    r->paused = false;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
}
