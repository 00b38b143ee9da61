/* Unit tests for the board: every device answers at its address, and
 * teardown leaves the buses empty. */
#include <errno.h>

#include "check.h"
#include "fake_vm.h"
#include "hw/irqchip.h"
#include "board/board.h"
#include "host/chardev.h"
#include "board/layout.h"

static void board_creates_every_device(void)
{
    struct vm vm;
    struct chardev *cd;
    char err[128];
    fake_vm_init(&vm);
    vm.mem.low_size = 128 << 20;
    CHECK_EQ(chardev_open(NULL, "none", &cd, err, sizeof(err)), 0);
    vm.console = cd;
    CHECK_EQ(board_create(&vm), 0);

    pio_out(&vm, PORT_COM1 + 7, 1, 0x42);                        /* UART scratch */
    CHECK_EQ(pio_in(&vm, PORT_COM1 + 7, 1), 0x42);
    pio_out(&vm, PORT_RTC, 1, 0x0d);                             /* RTC register D */
    CHECK_EQ(pio_in(&vm, PORT_RTC + 1, 1), 0x80);
    pio_out(&vm, PORT_I8042_CMD, 1, 0xaa);                       /* 8042 self test */
    CHECK_EQ(pio_in(&vm, PORT_I8042_DATA, 1), 0x55);
    pio_out(&vm, PORT_PCI_CONFIG_ADDR, 4, 0x80000000);           /* host bridge */
    CHECK_EQ(pio_in(&vm, PORT_PCI_CONFIG_DATA, 4), 0x12378086);
    CHECK_EQ(pio_in(&vm, PORT_ACPI_PM1A_CNT, 2) & 1, 1);          /* SCI_EN */
    uint64_t v;
    CHECK_EQ(bus_read(&vm.pio, PORT_POST, 1, &v), 0);            /* claimed */

    /* Power button with the SCI enabled reaches IRQ 9. */
    pio_out(&vm, PORT_ACPI_PM1A_EVT + 2, 2, 0x0100);
    CHECK(vm.power_button != NULL);
    vm.power_button(&vm);
    CHECK_EQ(fake_irq_level[IRQ_SCI], 1);

    /* Ctrl-A x stops the machine the board attached. */
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_QUIT);

    pio_out(&vm, PORT_DEBUG_EXIT, 1, 3);                         /* first stop wins */
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_QUIT);

    board_destroy(&vm);
    CHECK_EQ(vm.pio.count, 0);
    CHECK_EQ(vm.mmio.count, 0);
    CHECK(vm.board == NULL);
    CHECK(vm.power_button == NULL);
    chardev_close(cd);
    fake_vm_destroy(&vm);
}

static void board_works_without_a_console(void)
{
    struct vm vm;
    fake_vm_init(&vm);
    CHECK_EQ(board_create(&vm), 0);
    pio_out(&vm, PORT_COM1, 1, 'x');                             /* dropped */
    CHECK_EQ(pio_in(&vm, PORT_COM1 + 5, 1) & 0x60, 0x60);
    pio_out(&vm, PORT_DEBUG_EXIT, 1, 3);
    CHECK_EQ(atomic_load(&vm.stop), VM_STOP_DEBUG_EXIT);
    CHECK_EQ(vm.stop_status, 3);
    board_destroy(&vm);
    CHECK_EQ(vm.pio.count, 0);
    fake_vm_destroy(&vm);
}

/* With an engine that has no irqchip (emu), the board brings our PIC,
 * IOAPIC and PIT, and a device's interrupt reaches the 8259. */
static void no_deliver(struct vm *vm, const struct apic_msg *m)
{
    (void)vm; (void)m;
}
static const struct engine_ops soft_irq_engine = {
    .name = "soft", .irqchip_in_engine = false, .apic_deliver = no_deliver,
};

static void board_brings_its_own_irqchip(void)
{
    struct vm vm;
    fake_vm_init(&vm);
    vm.engine = &soft_irq_engine;
    vm.mem.low_size = 64 << 20;
    CHECK_EQ(board_create(&vm), 0);
    CHECK(vm.irqchip != NULL);
    if (vm.irqchip) {
        /* ICW1-4: vectors from 0x20, cascade on IRQ 2, 8086 mode; unmask IRQ 4. */
        pio_out(&vm, 0x20, 1, 0x11);
        pio_out(&vm, 0x21, 1, 0x20);
        pio_out(&vm, 0x21, 1, 0x04);
        pio_out(&vm, 0x21, 1, 0x01);
        pio_out(&vm, 0x21, 1, 0xef);
        CHECK(!irqchip_pic_pending(vm.irqchip));
        pio_out(&vm, PORT_COM1 + 1, 1, 0x02);                   /* THRE interrupt */
        CHECK(irqchip_pic_pending(vm.irqchip));
        CHECK_EQ(irqchip_pic_ack(vm.irqchip), 0x24);
    }
    board_destroy(&vm);
    CHECK(vm.irqchip == NULL);
    CHECK_EQ(vm.pio.count, 0);
    CHECK_EQ(vm.mmio.count, 0);
    fake_vm_destroy(&vm);
}

int main(void)
{
    RUN_TEST(board_creates_every_device);
    RUN_TEST(board_works_without_a_console);
    RUN_TEST(board_brings_its_own_irqchip);
    return CHECK_DONE();
}
