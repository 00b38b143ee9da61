/* Unit tests for the ACPI PM block: S5 power-off, the PM timer, status
 * write-1-to-clear, the power button's SCI, and the reset register. */
#include <unistd.h>

#include "check.h"
#include "fake_vm.h"
#include "hw/acpi_pm.h"
#include "board/layout.h"

static struct vm vm;
static struct acpi_pm *pm;

static void setup(void)
{
    fake_vm_init(&vm);
    CHECK_EQ(acpi_pm_create(&vm, &pm), 0);
}

static void teardown(void)
{
    acpi_pm_destroy(pm);
    fake_vm_destroy(&vm);
}

static void acpi_s5_powers_off(void)
{
    setup();
    CHECK_EQ(pio_in(&vm, PORT_ACPI_PM1A_CNT, 2) & 1, 1);          /* SCI_EN */
    pio_out(&vm, PORT_ACPI_PM1A_CNT, 2, 5 << 10);                 /* SLP_TYP alone */
    CHECK(!vm_stopping(&vm));
    CHECK_EQ(pio_in(&vm, PORT_ACPI_PM1A_CNT, 2), (5 << 10) | 1);
    pio_out(&vm, PORT_ACPI_PM1A_CNT, 2, 5 << 10 | 1 << 13);       /* SLP_EN */
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_POWEROFF);
    teardown();
    setup();
    pio_out(&vm, PORT_ACPI_PM1A_CNT, 2, 3 << 10 | 1 << 13);       /* S3: not off */
    CHECK(!vm_stopping(&vm));
    CHECK(pio_in(&vm, PORT_ACPI_PM1A_EVT, 2) & 0x8000);           /* woke at once */
    teardown();
}

static void acpi_pm_timer_advances(void)
{
    setup();
    uint32_t a = (uint32_t)pio_in(&vm, PORT_ACPI_PM_TMR, 4);
    usleep(10000);
    uint32_t b = (uint32_t)pio_in(&vm, PORT_ACPI_PM_TMR, 4);
    uint32_t d = (b - a) & 0xffffff;
    /* 10 ms is 35795 ticks; allow for a slow, busy machine. */
    CHECK(d >= 35000 && d < 3579545);
    CHECK(b <= 0xffffff);
    teardown();
}

static void acpi_status_write_one_to_clear(void)
{
    setup();
    acpi_pm_power_button(pm);
    uint32_t evt = (uint32_t)pio_in(&vm, PORT_ACPI_PM1A_EVT, 4);
    CHECK(evt & 0x100);
    pio_out(&vm, PORT_ACPI_PM1A_EVT, 2, 0x0001);                  /* other bit: stays */
    CHECK(pio_in(&vm, PORT_ACPI_PM1A_EVT, 2) & 0x100);
    pio_out(&vm, PORT_ACPI_PM1A_EVT, 2, 0x0100);
    CHECK_EQ(pio_in(&vm, PORT_ACPI_PM1A_EVT, 2) & 0x100, 0);
    pio_out(&vm, PORT_ACPI_PM1A_EVT + 2, 2, 0x0120);              /* enable register */
    CHECK_EQ(pio_in(&vm, PORT_ACPI_PM1A_EVT + 2, 2), 0x0120);
    CHECK_EQ(pio_in(&vm, PORT_ACPI_PM1A_EVT, 4) >> 16, 0x0120);
    teardown();
}

static void acpi_power_button_raises_sci(void)
{
    setup();
    acpi_pm_power_button(pm);
    CHECK_EQ(fake_irq_level[IRQ_SCI], 0);                          /* not enabled */
    pio_out(&vm, PORT_ACPI_PM1A_EVT + 2, 2, 0x0100);              /* PWRBTN_EN */
    CHECK_EQ(fake_irq_level[IRQ_SCI], 1);
    pio_out(&vm, PORT_ACPI_PM1A_EVT, 2, 0x0100);                  /* the OS acknowledges */
    CHECK_EQ(fake_irq_level[IRQ_SCI], 0);
    acpi_pm_power_button(pm);
    CHECK_EQ(fake_irq_level[IRQ_SCI], 1);
    teardown();
}

static void acpi_reset_register(void)
{
    setup();
    CHECK_EQ(pio_in(&vm, PORT_ACPI_RESET, 1), 0);
    pio_out(&vm, PORT_ACPI_RESET, 1, 0);
    CHECK(!vm_stopping(&vm));
    pio_out(&vm, PORT_ACPI_RESET, 1, 1);
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_RESET);
    teardown();
}

int main(void)
{
    RUN_TEST(acpi_s5_powers_off);
    RUN_TEST(acpi_pm_timer_advances);
    RUN_TEST(acpi_status_write_one_to_clear);
    RUN_TEST(acpi_power_button_raises_sci);
    RUN_TEST(acpi_reset_register);
    return CHECK_DONE();
}
