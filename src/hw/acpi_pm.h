/* The ACPI fixed hardware the FADT points at: the PM1a event and control
 * blocks (sleep to S5 = power off), the PM timer, the reset register, and
 * the SCI that reports the power button. */
#ifndef HOSTEL_ACPI_PM_H
#define HOSTEL_ACPI_PM_H

#include <stdint.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/stop.h"
#include "machine/timer.h"

struct acpi_pm;
struct err;
struct state_in;
struct state_out;

#define ACPI_PM_TIMER_HZ   3579545
#define ACPI_SLP_TYP_S5    5          /* the DSDT's _S5_ package must say 5 */

/* The block's registers, from its base port (what the FADT describes). */
#define ACPI_PM_EVT_OFFSET   0        /* PM1a event: status, enable (4 bytes) */
#define ACPI_PM_CNT_OFFSET   4        /* PM1a control (2 bytes) */
#define ACPI_PM_TMR_OFFSET   8        /* PM timer (4 bytes) */
#define ACPI_PM_RESET_OFFSET 12       /* the FADT reset register (1 byte) */

/* The block at base on pio; the SCI on sci; the PM timer counts guest time
 * (clock); S5 and the reset register stop the machine through stop. */
int acpi_pm_create(struct bus *pio, uint16_t base, struct irq_line sci,
                   struct guest_clock *clock, struct stop_request stop, struct acpi_pm **out);
void acpi_pm_destroy(struct acpi_pm *pm);

/* Presses the power button: PWRBTN_STS set, SCI raised when the guest
 * enabled it.  A guest with ACPI support then shuts down cleanly. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* The PM timer's 24-bit count now (for tests). */
uint32_t acpi_pm_timer(struct acpi_pm *pm);

/* Snapshots: PM1 status, enable and control, and the PM timer as a count of
 * ticks (field order in docs/snapshot-state.md).  A loaded timer goes on
 * from the saved count on this machine's guest clock; the SCI level follows
 * from status and enable and is driven on load.  Save fails only with
 * -ENOMEM; load goes into a fresh block with the same wiring, refuses what
 * it could not hold (-EINVAL, e says which) and then leaves it as it was. */
#define ACPI_PM_STATE_VERSION 1
int acpi_pm_save(struct acpi_pm *pm, struct state_out *o);
int acpi_pm_load(struct acpi_pm *pm, struct state_in *in, struct err *e);

/* A power button pressed while paused raises nothing until acpi_pm_resume
 * (a snapshot taken meanwhile carries the press). */
void acpi_pm_pause(struct acpi_pm *pm);
void acpi_pm_resume(struct acpi_pm *pm);

#endif
