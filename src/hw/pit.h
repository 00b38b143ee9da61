/* The 8254 PIT for engines without an in-kernel one: channel 0 on IRQ 0,
 * channel 2 gated by port 0x61 for calibration. */
#ifndef HOSTEL_PIT_H
#define HOSTEL_PIT_H

#include <stdint.h>

#include "lib/err.h"
#include "lib/state.h"
#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/irqstate.h"
#include "machine/timer.h"

struct pit;
struct irqchip;

/* Four ports at port and the system control port (0x61) on pio; channel 0
 * pulses irq0 on the guest clock.  With ic (our own controllers), channel 0
 * stops while irq0 is masked everywhere and catches up when unmasked. */
int pit_create(struct bus *pio, uint16_t port, uint16_t sysctl_port, struct guest_clock *clock,
               struct irq_line irq0, struct irqchip *ic, struct pit **out);
void pit_destroy(struct pit *p);

/* State (PIT_STATE_VERSION, struct pit_snap, docs/snapshot-cpu.md): the three
 * channels with their counts as guest time elapsed since each started, and
 * port 0x61; the same bytes the kvm engine writes for its in-kernel PIT.
 * Save fails only with -ENOMEM.  Load the guest clock first: a loaded count
 * goes on from where it was on this machine's clock.  Load checks
 * everything before it changes anything (-EINVAL, e names the field). */
int pit_save(struct pit *p, struct state_out *o);
int pit_load(struct pit *p, struct state_in *in, struct err *e);

#endif
