/* The MC146818 real-time clock and CMOS RAM at ports 0x70/0x71: the host's
 * UTC time, and the memory-size bytes PC firmware leaves for the OS. */
#ifndef HOSTEL_RTC_H
#define HOSTEL_RTC_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"

struct rtc;

/* Index and data ports at port, port + 1 on pio; the periodic, alarm and
 * update interrupts on irq.  low_mem: RAM below 4 GiB, high_mem: RAM at
 * 4 GiB and up (bytes), for the CMOS memory-size bytes. */
int rtc_create(struct bus *pio, uint16_t port, struct irq_line irq, uint64_t low_mem,
               uint64_t high_mem, struct rtc **out);
void rtc_destroy(struct rtc *r);

/* CMOS RAM contents, for tests and (later) snapshots. */
uint8_t rtc_cmos_byte(struct rtc *r, unsigned index);

#endif
