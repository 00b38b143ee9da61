/* The ACPI fixed hardware the FADT points at: the PM1a event and control
 * blocks (sleep to S5 = power off), the PM timer, the reset register, and
 * the SCI that reports the power button. */
#ifndef HOSTEL_ACPI_PM_H
#define HOSTEL_ACPI_PM_H

#include <stdint.h>

struct vm;
struct acpi_pm;

#define ACPI_PM_TIMER_HZ   3579545
#define ACPI_SLP_TYP_S5    5          /* the DSDT's _S5_ package must say 5 */

int acpi_pm_create(struct vm *vm, struct acpi_pm **out);
void acpi_pm_destroy(struct acpi_pm *pm);

/* Presses the power button: PWRBTN_STS set, SCI raised when the guest
 * enabled it.  A guest with ACPI support then shuts down cleanly. */
void acpi_pm_power_button(struct acpi_pm *pm);

/* The PM timer's 24-bit count now (for tests). */
uint32_t acpi_pm_timer(struct acpi_pm *pm);

#endif
