/* Unit tests for the CMOS RTC: formats, register C, host time, memory size. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dev_harness.h"
#include "hw/rtc.h"
#include "board/layout.h"

static struct dev_harness dh;
static struct rtc *rtc;

static uint8_t cmos_read(unsigned idx)
{
    pio_out(&dh, PORT_RTC, 1, idx | 0x80);   /* with NMIs disabled, as Linux does */
    return (uint8_t)pio_in(&dh, PORT_RTC + 1, 1);
}

static void cmos_write(unsigned idx, uint8_t v)
{
    pio_out(&dh, PORT_RTC, 1, idx);
    pio_out(&dh, PORT_RTC + 1, 1, v);
}

static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

static void setup(uint64_t low, uint64_t high)
{
    dev_harness_init(&dh);
    CHECK_EQ(rtc_create(&dh.pio, PORT_RTC, dev_harness_line(&dh, IRQ_RTC), low, high, &rtc), 0);
}

static void teardown(void)
{
    rtc_destroy(rtc);
    dev_harness_destroy(&dh);
}

/* Reads the clock as a Unix time, in whichever format register B says. */
static time_t read_clock(bool binary)
{
    unsigned (*conv)(uint8_t) = binary ? NULL : bcd;
#define V(i) (conv ? conv(cmos_read(i)) : cmos_read(i))
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_sec = (int)V(0);
    tm.tm_min = (int)V(2);
    tm.tm_hour = (int)V(4);
    tm.tm_mday = (int)V(7);
    tm.tm_mon = (int)V(8) - 1;
    tm.tm_year = (int)(V(0x32) * 100 + V(9)) - 1900;
#undef V
    return timegm(&tm);
}

static void rtc_matches_host_time_bcd(void)
{
    setup(256 << 20, 0);
    CHECK_EQ(cmos_read(0x0b) & 0x06, 0x02);             /* BCD, 24h */
    CHECK_EQ(cmos_read(0x0d), 0x80);                    /* valid RAM and time */
    time_t t = read_clock(false);
    CHECK(llabs((long long)(t - time(NULL))) <= 3);
    for (unsigned i = 0; i <= 9; i++) {
        if (i == 1 || i == 3 || i == 5) continue;
        uint8_t v = cmos_read(i);
        CHECK((v & 0x0f) <= 9);                          /* valid BCD digits */
    }
    teardown();
}

static void rtc_binary_and_12_hour(void)
{
    setup(256 << 20, 0);
    cmos_write(0x0b, 0x06);                             /* binary, 24h */
    time_t t = read_clock(true);
    CHECK(llabs((long long)(t - time(NULL))) <= 3);
    CHECK(cmos_read(0x08) >= 1 && cmos_read(0x08) <= 12);
    CHECK(cmos_read(0x32) == 20 || cmos_read(0x32) == 21);
    cmos_write(0x0b, 0x04);                             /* binary, 12h */
    uint8_t h = cmos_read(0x04);
    CHECK((h & 0x7f) >= 1 && (h & 0x7f) <= 12);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    if (tm.tm_min != 59)   /* skip the check across an hour boundary */
        CHECK_EQ(!!(h & 0x80), tm.tm_hour >= 12);
    teardown();
}

static void rtc_guest_sets_time(void)
{
    setup(256 << 20, 0);
    cmos_write(0x0b, 0x82);                             /* SET: updates stop */
    cmos_write(0x09, 0x99);                             /* 1999-12-31 23:59:30 */
    cmos_write(0x32, 0x19);
    cmos_write(0x08, 0x12);
    cmos_write(0x07, 0x31);
    cmos_write(0x04, 0x23);
    cmos_write(0x02, 0x59);
    cmos_write(0x00, 0x30);
    cmos_write(0x0b, 0x02);
    time_t t = read_clock(false);
    CHECK(llabs((long long)(t - 946684770LL)) <= 3);
    teardown();
}

static void rtc_register_c_clears_on_read(void)
{
    setup(256 << 20, 0);
    cmos_write(0x0a, 0x20);                             /* no periodic ticks */
    cmos_write(0x0b, 0x12);                             /* UIE */
    cmos_write(0x0c, 0xf0);                             /* read-only */
    cmos_read(0x0c);
    /* The next second boundary sets UF: polled, so that the two reads
     * below come right after it, not just before the one after (a fixed
     * sleep of 1.1 s could end there and a busy host stretch the gap). */
    uint8_t c = 0;
    for (int k = 0; k < 250 && !c; k++) {
        usleep(10 * 1000);
        c = cmos_read(0x0c);
    }
    CHECK_EQ(c, 0x90);                                  /* IRQF | UF */
    CHECK_EQ(cmos_read(0x0c), 0x00);                    /* cleared by the read */
    cmos_write(0x0a, 0x26);                             /* 1024 Hz */
    cmos_write(0x0b, 0x02);
    cmos_read(0x0c);
    usleep(5000);
    CHECK_EQ(cmos_read(0x0c) & 0xc0, 0x40);             /* PF, not enabled: no IRQF */
    cmos_write(0x0d, 0x00);
    CHECK_EQ(cmos_read(0x0d), 0x80);
    CHECK_EQ(cmos_read(0x0a) & 0x7f, 0x26);
    teardown();
}

static void rtc_cmos_ram_and_memory_size(void)
{
    setup(512ULL << 20, 1ULL << 30);
    CHECK_EQ(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
    CHECK_EQ(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff);     /* capped */
    CHECK_EQ(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
    CHECK_EQ(cmos_read(0x34) | cmos_read(0x35) << 8, (512 - 16) * 16);
    CHECK_EQ(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 16384);
    cmos_write(0x40, 0xab);
    CHECK_EQ(cmos_read(0x40), 0xab);
    cmos_write(0x7f, 0x12);
    CHECK_EQ(cmos_read(0x7f), 0x12);
    teardown();
    setup(32ULL << 20, 0);
    CHECK_EQ(cmos_read(0x17) | cmos_read(0x18) << 8, 31 * 1024);
    CHECK_EQ(cmos_read(0x34) | cmos_read(0x35) << 8, 16 * 16);
    teardown();
}

/* Waits up to ms for IRQ 8 to reach level. */
static bool wait_irq(int level, int ms)
{
    for (int i = 0; i < ms; i += 5) {
        if (fake_irq_level[IRQ_RTC] == level)
            return true;
        usleep(5000);
    }
    return fake_irq_level[IRQ_RTC] == level;
}

static void rtc_update_interrupt(void)
{
    setup(256 << 20, 0);
    cmos_write(0x0a, 0x20);                             /* no periodic rate */
    cmos_write(0x0b, 0x12);                             /* UIE */
    CHECK(wait_irq(1, 1500));
    CHECK_EQ(cmos_read(0x0c) & 0x90, 0x90);             /* IRQF | UF */
    CHECK_EQ(fake_irq_level[IRQ_RTC], 0);               /* reading C drops it */
    CHECK(wait_irq(1, 1500));                           /* and the next second */
    cmos_write(0x0b, 0x02);
    cmos_read(0x0c);
    CHECK_EQ(fake_irq_level[IRQ_RTC], 0);
    teardown();
}

static void rtc_periodic_and_alarm_interrupts(void)
{
    setup(256 << 20, 0);
    cmos_write(0x0a, 0x2f);                             /* rate 15: 2 Hz */
    cmos_write(0x0b, 0x42);                             /* PIE */
    CHECK(wait_irq(1, 800));
    CHECK_EQ(cmos_read(0x0c) & 0xc0, 0xc0);             /* IRQF | PF */
    CHECK(wait_irq(1, 800));
    cmos_write(0x0b, 0x02);
    cmos_read(0x0c);
    /* An alarm with every field "don't care" rings each second. */
    cmos_write(0x01, 0xff);
    cmos_write(0x03, 0xff);
    cmos_write(0x05, 0xff);
    cmos_write(0x0b, 0x22);                             /* AIE */
    CHECK(wait_irq(1, 1500));
    CHECK_EQ(cmos_read(0x0c) & 0xa0, 0xa0);             /* IRQF | AF */
    cmos_write(0x0b, 0x02);
    teardown();
}

int main(void)
{
    RUN_TEST(rtc_matches_host_time_bcd);
    RUN_TEST(rtc_binary_and_12_hour);
    RUN_TEST(rtc_guest_sets_time);
    RUN_TEST(rtc_register_c_clears_on_read);
    RUN_TEST(rtc_cmos_ram_and_memory_size);
    RUN_TEST(rtc_update_interrupt);
    RUN_TEST(rtc_periodic_and_alarm_interrupts);
    return CHECK_DONE();
}
