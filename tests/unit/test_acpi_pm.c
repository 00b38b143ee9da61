/* Unit tests for the ACPI PM block: S5 power-off, the PM timer, status
 * write-1-to-clear, the power button's SCI, and the reset register. */
#include <unistd.h>

#include "check.h"
#include "dev_harness.h"
#include "hw/acpi_pm.h"
#include "board/layout.h"

static struct dev_harness dh;
static struct acpi_pm *pm;

static void setup(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(acpi_pm_create(&dh.pio, PORT_ACPI_PM, dev_harness_line(&dh, IRQ_SCI), &dh.clock,
                             dev_harness_stop(&dh), &pm), 0);
}

static void teardown(void)
{
    acpi_pm_destroy(pm);
    dev_harness_destroy(&dh);
}

static void acpi_s5_powers_off(void)
{
    setup();
    CHECK_EQ(pio_in(&dh, PORT_ACPI_PM1A_CNT, 2) & 1, 1);          /* SCI_EN */
    pio_out(&dh, PORT_ACPI_PM1A_CNT, 2, 5 << 10);                 /* SLP_TYP alone */
    CHECK(!dev_harness_stopped(&dh));
    CHECK_EQ(pio_in(&dh, PORT_ACPI_PM1A_CNT, 2), (5 << 10) | 1);
    pio_out(&dh, PORT_ACPI_PM1A_CNT, 2, 5 << 10 | 1 << 13);       /* SLP_EN */
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_POWEROFF);
    teardown();
    setup();
    pio_out(&dh, PORT_ACPI_PM1A_CNT, 2, 3 << 10 | 1 << 13);       /* S3: not off */
    CHECK(!dev_harness_stopped(&dh));
    CHECK(pio_in(&dh, PORT_ACPI_PM1A_EVT, 2) & 0x8000);           /* woke at once */
    teardown();
}

static void acpi_pm_timer_advances(void)
{
    setup();
    uint32_t a = (uint32_t)pio_in(&dh, PORT_ACPI_PM_TMR, 4);
    usleep(10000);
    uint32_t b = (uint32_t)pio_in(&dh, PORT_ACPI_PM_TMR, 4);
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
    uint32_t evt = (uint32_t)pio_in(&dh, PORT_ACPI_PM1A_EVT, 4);
    CHECK(evt & 0x100);
    pio_out(&dh, PORT_ACPI_PM1A_EVT, 2, 0x0001);                  /* other bit: stays */
    CHECK(pio_in(&dh, PORT_ACPI_PM1A_EVT, 2) & 0x100);
    pio_out(&dh, PORT_ACPI_PM1A_EVT, 2, 0x0100);
    CHECK_EQ(pio_in(&dh, PORT_ACPI_PM1A_EVT, 2) & 0x100, 0);
    pio_out(&dh, PORT_ACPI_PM1A_EVT + 2, 2, 0x0120);              /* enable register */
    CHECK_EQ(pio_in(&dh, PORT_ACPI_PM1A_EVT + 2, 2), 0x0120);
    CHECK_EQ(pio_in(&dh, PORT_ACPI_PM1A_EVT, 4) >> 16, 0x0120);
    teardown();
}

static void acpi_power_button_raises_sci(void)
{
    setup();
    acpi_pm_power_button(pm);
    CHECK_EQ(fake_irq_level[IRQ_SCI], 0);                          /* not enabled */
    pio_out(&dh, PORT_ACPI_PM1A_EVT + 2, 2, 0x0100);              /* PWRBTN_EN */
    CHECK_EQ(fake_irq_level[IRQ_SCI], 1);
    pio_out(&dh, PORT_ACPI_PM1A_EVT, 2, 0x0100);                  /* the OS acknowledges */
    CHECK_EQ(fake_irq_level[IRQ_SCI], 0);
    acpi_pm_power_button(pm);
    CHECK_EQ(fake_irq_level[IRQ_SCI], 1);
    teardown();
}

static void acpi_reset_register(void)
{
    setup();
    CHECK_EQ(pio_in(&dh, PORT_ACPI_RESET, 1), 0);
    pio_out(&dh, PORT_ACPI_RESET, 1, 0);
    CHECK(!dev_harness_stopped(&dh));
    pio_out(&dh, PORT_ACPI_RESET, 1, 1);
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_RESET);
    teardown();
}

/* The block sits where the board puts it, and stops through the stop request
 * it was given (once: a second request is only counted). */
static void acpi_pm_block_at_its_base(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(acpi_pm_create(&dh.pio, 0xb000, dev_harness_line(&dh, 20), &dh.clock,
                            dev_harness_stop(&dh), &pm), 0);
    CHECK_EQ(pio_in(&dh, PORT_ACPI_PM1A_CNT, 2), 0xffff);             /* nothing at the default */
    CHECK_EQ(pio_in(&dh, 0xb000 + ACPI_PM_CNT_OFFSET, 2) & 1, 1);     /* SCI_EN */
    acpi_pm_power_button(pm);
    pio_out(&dh, 0xb000 + ACPI_PM_EVT_OFFSET + 2, 2, 0x0100);
    CHECK_EQ(fake_irq_level[20], 1);                                  /* the line it was given */
    CHECK_EQ(fake_irq_level[IRQ_SCI], 0);
    pio_out(&dh, 0xb000 + ACPI_PM_CNT_OFFSET, 2, ACPI_SLP_TYP_S5 << 10 | 1 << 13);
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_POWEROFF);
    CHECK_EQ(atomic_load(&dh.stop_calls), 1);
    pio_out(&dh, 0xb000 + ACPI_PM_RESET_OFFSET, 1, 6);
    CHECK_EQ(atomic_load(&dh.stop_calls), 2);
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_POWEROFF);            /* the first one stands */
    acpi_pm_destroy(pm);
    CHECK_EQ(dh.pio.count, 0);
    dev_harness_destroy(&dh);
}

int main(void)
{
    RUN_TEST(acpi_s5_powers_off);
    RUN_TEST(acpi_pm_timer_advances);
    RUN_TEST(acpi_status_write_one_to_clear);
    RUN_TEST(acpi_power_button_raises_sci);
    RUN_TEST(acpi_reset_register);
    RUN_TEST(acpi_pm_block_at_its_base);
    return CHECK_DONE();
}
