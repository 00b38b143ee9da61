/* The HPET (IA-PC HPET 1.0a) at LAYOUT_HPET: a 64-bit main counter at
 * 100 MHz on the machine's guest clock, three comparators (one-shot or
 * periodic, 32- or 64-bit, edge or level), routed to IOAPIC inputs or, in
 * legacy replacement mode, timer 0 to IRQ 0 and timer 1 to IRQ 8.  No FSB
 * (MSI) delivery. */
#ifndef HOSTEL_HPET_H
#define HOSTEL_HPET_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/timer.h"

struct err;
struct hpet;
struct state_in;
struct state_out;

#define HPET_MMIO_SIZE    0x400
#define HPET_TIMERS       3
#define HPET_PERIOD_FS    10000000u     /* 10 ns: 100 MHz */
#define HPET_VENDOR_ID    0x8086
/* The IOAPIC inputs a comparator may be routed to (INT_ROUTE_CAP): 20-23,
 * which nothing else on the board uses. */
#define HPET_ROUTE_CAP    0x00f00000u

/* route(opaque, gsi) gives the line for a GSI (IRQ 0 is IOAPIC input 2, as
 * the board wires it); the counter runs on clock. */
typedef struct irq_line (*hpet_route_fn)(void *opaque, unsigned gsi);
int hpet_create(struct bus *mmio, uint64_t base, struct guest_clock *clock, hpet_route_fn route,
                void *route_opaque, struct hpet **out);
void hpet_destroy(struct hpet *h);

/* Snapshots (field order in docs/snapshot-state.md): the configuration,
 * the main counter's value, the interrupt status and each timer's
 * configuration, comparator and period.  A loaded counter goes on from the
 * saved value on this machine's guest clock; level lines are driven on
 * load.  Load checks everything first (-EINVAL, e names the field). */
#define HPET_STATE_VERSION 1
int hpet_save(struct hpet *h, struct state_out *o);
int hpet_load(struct hpet *h, struct state_in *in, struct err *e);

#endif
