/* rtc: reads the CMOS real-time clock the way firmware and Linux do
 * (wait for update-in-progress to clear, read twice until stable), prints
 * the date and time, checks every field's range, register D's valid-RAM bit
 * and that the seconds advance. */
#include "lib/cpu64.h"

#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71

struct rtc_time { unsigned sec, min, hour, day, mon, year, century; };

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_ADDR, reg);
    return inb(CMOS_DATA);
}

static int wait_not_updating(void)
{
    for (long i = 0; i < 1000000; i++)
        if (!(cmos_read(0x0a) & 0x80))
            return 0;
    return -1;
}

static void read_raw(struct rtc_time *t)
{
    t->sec = cmos_read(0x00);
    t->min = cmos_read(0x02);
    t->hour = cmos_read(0x04);
    t->day = cmos_read(0x07);
    t->mon = cmos_read(0x08);
    t->year = cmos_read(0x09);
    t->century = cmos_read(0x32);
}

static unsigned bcd(unsigned v, int binary)
{
    return binary ? v : (v >> 4) * 10 + (v & 15);
}

static void read_time(struct rtc_time *out)
{
    struct rtc_time a, b;
    int tries = 0;
    do {
        if (wait_not_updating() < 0)
            fail(1, "RTC register A keeps update-in-progress set");
        read_raw(&a);
        if (wait_not_updating() < 0)
            fail(1, "RTC register A keeps update-in-progress set");
        read_raw(&b);
        if (++tries > 10)
            fail(2, "RTC time never read the same twice in a row");
    } while (a.sec != b.sec || a.min != b.min || a.hour != b.hour || a.day != b.day ||
             a.mon != b.mon || a.year != b.year || a.century != b.century);

    uint8_t regb = cmos_read(0x0b);
    int binary = regb & 0x04, h24 = regb & 0x02;
    unsigned pm = a.hour & 0x80;
    out->sec = bcd(a.sec, binary);
    out->min = bcd(a.min, binary);
    out->hour = bcd(a.hour & 0x7f, binary);
    if (!h24) {                         /* 12-hour clock: 12 AM is 0, PM adds 12 */
        out->hour %= 12;
        if (pm)
            out->hour += 12;
    }
    out->day = bcd(a.day, binary);
    out->mon = bcd(a.mon, binary);
    out->year = bcd(a.year, binary);
    out->century = bcd(a.century, binary);
    /* The century byte is a convention (ACPI FADT names it), not a must. */
    if (out->century >= 19 && out->century <= 99)
        out->year += out->century * 100;
    else
        out->year += 2000;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("rtc: start\n");
    uint8_t rega = cmos_read(0x0a), regb = cmos_read(0x0b), regd = cmos_read(0x0d);
    gprintf("register A %x B %x D %x\n", rega, regb, regd);
    if (!(regd & 0x80))
        fail(3, "RTC register D valid-RAM bit is clear (D = %x)", regd);

    struct rtc_time t;
    read_time(&t);
    gprintf("date: %04u-%02u-%02u %02u:%02u:%02u\n", t.year, t.mon, t.day, t.hour, t.min, t.sec);
    if (t.year < 2024 || t.year > 2199)
        fail(4, "RTC year %u is out of range", t.year);
    if (t.mon < 1 || t.mon > 12)
        fail(5, "RTC month %u is out of range", t.mon);
    if (t.day < 1 || t.day > 31)
        fail(6, "RTC day %u is out of range", t.day);
    if (t.hour > 23 || t.min > 59 || t.sec > 59)
        fail(7, "RTC time %u:%u:%u is out of range", t.hour, t.min, t.sec);

    /* The clock runs: the seconds change within about a second. */
    unsigned first = t.sec;
    long i;
    for (i = 0; i < 20000000; i++) {
        if (cmos_read(0x0a) & 0x80)
            continue;
        if (cmos_read(0x00) != (regb & 0x04 ? first : ((first / 10) << 4 | first % 10)))
            break;
    }
    if (i == 20000000)
        fail(8, "RTC seconds stayed at %u", first);
    read_time(&t);
    gprintf("later: %02u:%02u:%02u\n", t.hour, t.min, t.sec);
    gprintf("rtc: ok\n");
}
