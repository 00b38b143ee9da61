/* The MC146818 real-time clock and CMOS RAM at ports 0x70/0x71: the host's
 * UTC time, and the memory-size bytes PC firmware leaves for the OS. */
#ifndef HOSTEL_RTC_H
#define HOSTEL_RTC_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"

struct err;
struct rtc;
struct state_in;
struct state_out;

/* Index and data ports at port, port + 1 on pio; the periodic, alarm and
 * update interrupts on irq.  low_mem: RAM below 4 GiB, high_mem: RAM at
 * 4 GiB and up (bytes), for the CMOS memory-size bytes. */
int rtc_create(struct bus *pio, uint16_t port, struct irq_line irq, uint64_t low_mem,
               uint64_t high_mem, struct rtc **out);
void rtc_destroy(struct rtc *r);
/* A CMOS byte the firmware reads (boot order, CPU count), set before the
 * machine runs; index 0x0e-0x7f (the clock registers are computed). */
void rtc_set_cmos(struct rtc *r, unsigned index, uint8_t value);

/* CMOS RAM contents, for tests. */
uint8_t rtc_cmos_byte(struct rtc *r, unsigned index);

/* Snapshots: the index register, the 128 CMOS bytes (register C with its
 * pending flags), the guest's offset from host UTC, the time held while
 * register B's SET bit is on, and when register C was last read; field
 * order in docs/snapshot-state.md.  The clock keeps following host UTC, so
 * a machine restored later reads the later time, as after a pause.  IRQ 8's
 * level follows from register C and is driven on load.  Save fails only
 * with -ENOMEM; load goes into a fresh RTC with the same wiring, refuses
 * what the chip could not hold (-EINVAL, e says which) and then leaves it
 * as it was. */
#define RTC_STATE_VERSION 1
int rtc_save(struct rtc *r, struct state_out *o);
int rtc_load(struct rtc *r, struct state_in *in, struct err *e);

/* While paused the interrupt thread sets no flags and raises no interrupt;
 * on resume it catches up as after any stretch of host time: one periodic
 * and one update flag for everything missed, the alarm checked against the
 * time now. */
void rtc_pause(struct rtc *r);
void rtc_resume(struct rtc *r);

#endif
