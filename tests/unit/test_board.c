/* Unit tests for the board: every device answers at its address, its
 * interrupt lines reach our PIC, stop requests reach the machine, and
 * teardown leaves the buses empty.  The machine is a real one (vm_create)
 * on the emu engine, with no vCPU running: the board wires our own
 * interrupt controllers for it, which is what these tests look through. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "board/board.h"
#include "board/layout.h"
#include "board/snapfile.h"
#include "board/spec.h"
#include "engine/engine.h"
#include "host/chardev.h"
#include "machine/vm.h"

static struct vm *machine(void)
{
    struct vm *vm = NULL;
    struct err e = ERR_INIT;
    int r = vm_create(1, 64ULL << 20, &engine_emu, &vm, &e);
    CHECK_EQ(r, 0);
    if (r < 0)
        printf("  vm_create: %s\n", e.msg);
    return vm;
}

static uint64_t vm_in(struct vm *vm, uint64_t port, unsigned size)
{
    uint64_t v = 0;
    bus_read(&vm->pio, port, size, &v);
    return v;
}

static void vm_out(struct vm *vm, uint64_t port, unsigned size, uint64_t v)
{
    bus_write(&vm->pio, port, size, v);
}

/* Linux's 8259 set-up (vectors 0x20 and 0x28, cascade on IRQ 2), then the
 * masks given. */
static void pic_init(struct vm *vm, uint8_t master_mask, uint8_t slave_mask)
{
    static const uint8_t seq[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 },
                                      { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
                                      { 0xa1, 0x02 }, { 0xa1, 0x01 } };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        vm_out(vm, seq[i][0], 1, seq[i][1]);
    vm_out(vm, 0x21, 1, master_mask);
    vm_out(vm, 0xa1, 1, slave_mask);
}

static bool pic_pending(struct vm *vm)
{
    return vm->ext_intr.pending && vm->ext_intr.pending(vm->ext_intr.opaque);
}

static void board_creates_every_device(void)
{
    struct vm *vm = machine();
    if (!vm)
        return;
    struct chardev *cd;
    struct err err = ERR_INIT;
    struct err e = ERR_INIT;
    struct machine_spec spec;
    spec_defaults(&spec);
    CHECK_EQ(chardev_open("none", &cd, &err), 0);
    struct board_host host = { .console = cd };
    CHECK_EQ(board_create(vm, &spec, &host, &e), 0);
    CHECK(!err_is_set(&e));

    vm_out(vm, PORT_COM1 + 7, 1, 0x42);                          /* UART scratch */
    CHECK_EQ(vm_in(vm, PORT_COM1 + 7, 1), 0x42);
    vm_out(vm, PORT_RTC, 1, 0x0d);                               /* RTC register D */
    CHECK_EQ(vm_in(vm, PORT_RTC + 1, 1), 0x80);
    vm_out(vm, PORT_I8042_CMD, 1, 0xaa);                         /* 8042 self test */
    CHECK_EQ(vm_in(vm, PORT_I8042_DATA, 1), 0x55);
    vm_out(vm, PORT_PCI_CONFIG_ADDR, 4, 0x80000000);             /* host bridge */
    CHECK_EQ(vm_in(vm, PORT_PCI_CONFIG_DATA, 4), 0x12378086);
    CHECK_EQ(vm_in(vm, PORT_ACPI_PM1A_CNT, 2) & 1, 1);            /* SCI_EN */
    uint64_t v;
    CHECK_EQ(bus_read(&vm->pio, PORT_POST, 1, &v), 0);           /* claimed */

    /* Power button with the SCI enabled reaches IRQ 9 (the slave's IR1);
     * everything else is masked so nothing else can answer. */
    pic_init(vm, 0xfb, 0xfd);
    CHECK(!pic_pending(vm));
    vm_out(vm, PORT_ACPI_PM1A_EVT + 2, 2, 0x0100);
    CHECK(vm->power_button != NULL);
    if (vm->power_button)
        vm->power_button(vm);
    CHECK(pic_pending(vm));
    if (vm->ext_intr.ack)
        CHECK_EQ(vm->ext_intr.ack(vm->ext_intr.opaque), 0x28 + (IRQ_SCI - 8));

    /* Ctrl-A x stops the machine the board attached. */
    chardev_push_input(cd, (const uint8_t *)"\x01x", 2);
    CHECK_EQ(atomic_load(&vm->stop), VM_STOP_QUIT);

    vm_out(vm, PORT_DEBUG_EXIT, 1, 3);                           /* first stop wins */
    CHECK_EQ(atomic_load(&vm->stop), VM_STOP_QUIT);

    board_destroy(vm);
    CHECK_EQ(vm->pio.count, 0);
    CHECK_EQ(vm->mmio.count, 0);
    CHECK(vm->board == NULL);
    CHECK(vm->power_button == NULL);
    CHECK(vm->ext_intr.pending == NULL);
    chardev_close(cd);
    spec_free(&spec);
    vm_destroy(vm);
}

static void board_works_without_a_console(void)
{
    struct vm *vm = machine();
    if (!vm)
        return;
    struct err e = ERR_INIT;
    struct machine_spec spec;
    spec_defaults(&spec);
    struct board_host host = { .console = NULL };
    CHECK_EQ(board_create(vm, &spec, &host, &e), 0);
    vm_out(vm, PORT_COM1, 1, 'x');                               /* dropped */
    CHECK_EQ(vm_in(vm, PORT_COM1 + 5, 1) & 0x60, 0x60);
    vm_out(vm, PORT_DEBUG_EXIT, 1, 3);
    CHECK_EQ(atomic_load(&vm->stop), VM_STOP_DEBUG_EXIT);
    CHECK_EQ(vm->stop_status, 3);
    board_destroy(vm);
    CHECK_EQ(vm->pio.count, 0);
    spec_free(&spec);
    vm_destroy(vm);
}

/* With an engine that has no irqchip (emu), the board brings our PIC,
 * IOAPIC and PIT, hands the engine the 8259's side of LINT0, and a
 * device's interrupt reaches the 8259. */
static void board_brings_its_own_irqchip(void)
{
    struct vm *vm = machine();
    if (!vm)
        return;
    struct err e = ERR_INIT;
    struct machine_spec spec;
    spec_defaults(&spec);
    struct board_host host = { .console = NULL };
    CHECK(!engine_emu.irqchip_in_engine);
    CHECK_EQ(board_create(vm, &spec, &host, &e), 0);
    CHECK(vm->ext_intr.pending != NULL);
    uint64_t v;
    CHECK_EQ(bus_read(&vm->mmio, LAYOUT_IOAPIC, 4, &v), 0);      /* the IOAPIC */
    CHECK_EQ(bus_read(&vm->pio, PORT_PIT + 3, 1, &v), 0);        /* the PIT */
    if (vm->ext_intr.pending) {
        /* ICW1-4: vectors from 0x20, cascade on IRQ 2, 8086 mode; unmask IRQ 4. */
        vm_out(vm, 0x20, 1, 0x11);
        vm_out(vm, 0x21, 1, 0x20);
        vm_out(vm, 0x21, 1, 0x04);
        vm_out(vm, 0x21, 1, 0x01);
        vm_out(vm, 0x21, 1, 0xef);
        CHECK(!pic_pending(vm));
        vm_out(vm, PORT_COM1 + 1, 1, 0x02);                      /* THRE interrupt */
        CHECK(pic_pending(vm));
        CHECK_EQ(vm->ext_intr.ack(vm->ext_intr.opaque), 0x24);
    }
    board_destroy(vm);
    CHECK(vm->ext_intr.pending == NULL);
    CHECK_EQ(vm->pio.count, 0);
    CHECK_EQ(vm->mmio.count, 0);
    spec_free(&spec);
    vm_destroy(vm);
}

/* A disk that cannot be opened fails the board with a message naming it,
 * and what was built so far is torn down. */
static void board_failure_names_the_disk_and_cleans_up(void)
{
    struct vm *vm = machine();
    if (!vm)
        return;
    struct err e = ERR_INIT;
    struct machine_spec spec;
    spec_defaults(&spec);
    spec.disks[0] = (struct spec_disk){ .path = strdup("/nonexistent-hostel-dir/disk.img") };
    spec.ndisks = 1;
    struct board_host host = { .console = NULL };
    CHECK(board_create(vm, &spec, &host, &e) < 0);
    CHECK(e.code < 0);
    CHECK(strstr(e.msg, "/nonexistent-hostel-dir/disk.img") != NULL);
    CHECK(vm->board == NULL);
    CHECK(vm->power_button == NULL);
    CHECK(vm->ext_intr.pending == NULL);
    CHECK_EQ(vm->pio.count, 0);
    CHECK_EQ(vm->mmio.count, 0);
    /* A blank disk must have been made (board/run.c does) before the board. */
    free(spec.disks[0].path);
    spec.disks[0] = (struct spec_disk){ .size = 1 << 20 };
    err_clear(&e);
    CHECK_EQ(board_create(vm, &spec, &host, &e), -EINVAL);
    CHECK(strstr(e.msg, "blank disk") != NULL);
    CHECK_EQ(vm->pio.count, 0);
    spec_free(&spec);
    vm_destroy(vm);
}

/* The HPET answers at 0xfed00000 (or, with --hpet off, nothing does); its
 * state goes into a snapshot section, and a snapshot without that section
 * (from before hostel had one) restores with the HPET as reset. */
static struct vm *board_with(bool hpet, struct chardev *cd, struct machine_spec *spec)
{
    struct vm *vm = machine();
    struct err e = ERR_INIT;
    spec_defaults(spec);
    spec->hpet = hpet;
    struct board_host host = { .console = cd };
    if (vm)
        CHECK_EQ(board_create(vm, spec, &host, &e), 0);
    return vm;
}

static uint64_t mmio_in(struct vm *vm, uint64_t addr)
{
    uint64_t v = 0;
    bus_read(&vm->mmio, addr, 8, &v);
    return v;
}

static void board_hpet_state_and_old_snapshots(void)
{
    struct chardev *cd;
    struct err e = ERR_INIT;
    struct machine_spec spec;
    CHECK_EQ(chardev_open("none", &cd, &e), 0);

    struct vm *off = board_with(false, cd, &spec);
    if (!off)
        return;
    CHECK_EQ(mmio_in(off, LAYOUT_HPET), ~0ull);                  /* unclaimed */
    board_destroy(off);
    vm_destroy(off);
    spec_free(&spec);

    struct vm *a = board_with(true, cd, &spec);
    if (!a)
        return;
    CHECK_EQ(mmio_in(a, LAYOUT_HPET) >> 32, 10000000);           /* 10 ns period */
    bus_write(&a->mmio, LAYOUT_HPET + 0xf0, 8, 0x4242);          /* halted counter */
    bus_write(&a->mmio, LAYOUT_HPET + 0x10, 8, 2);               /* legacy, halted */
    struct snap_writer w;
    snap_write_begin(&w, "{}", 64ULL << 20, 0);
    CHECK_EQ(board_save(a, &w, &e), 0);
    CHECK_EQ(snap_write_end(&w, &e), 0);
    struct snapshot_file sf;
    CHECK_EQ(snap_parse(w.out.data, w.out.len, "test", &sf, &e), 0);
    snap_writer_free(&w);
    board_destroy(a);
    vm_destroy(a);
    spec_free(&spec);
    CHECK(snap_find(&sf, "hpet@fed00000") != NULL);

    struct vm *b = board_with(true, cd, &spec);
    if (b) {
        CHECK_EQ(board_load(b, &sf, false, &e), 0);
        CHECK_EQ(mmio_in(b, LAYOUT_HPET + 0x10), 2);
        CHECK_EQ(mmio_in(b, LAYOUT_HPET + 0xf0), 0x4242);
        board_destroy(b);
        vm_destroy(b);
    }
    spec_free(&spec);

    /* The same snapshot without the section: loads, the HPET stays reset. */
    struct snap_section *kept = calloc(sf.nsections, sizeof(*kept));
    uint32_t n = 0;
    for (uint32_t i = 0; i < sf.nsections; i++)
        if (strcmp(sf.sections[i].name, "hpet@fed00000"))
            kept[n++] = sf.sections[i];
    struct snapshot_file old = sf;
    old.sections = kept;
    old.nsections = n;
    CHECK_EQ(n, sf.nsections - 1);
    struct vm *c = board_with(true, cd, &spec);
    if (c) {
        CHECK_EQ(board_load(c, &old, false, &e), 0);
        CHECK_EQ(mmio_in(c, LAYOUT_HPET + 0x10), 0);
        CHECK_EQ(mmio_in(c, LAYOUT_HPET + 0xf0), 0);
        board_destroy(c);
        vm_destroy(c);
    }
    spec_free(&spec);
    free(kept);
    snap_free(&sf);
    chardev_close(cd);
}

int main(void)
{
    RUN_TEST(board_creates_every_device);
    RUN_TEST(board_works_without_a_console);
    RUN_TEST(board_brings_its_own_irqchip);
    RUN_TEST(board_failure_names_the_disk_and_cleans_up);
    RUN_TEST(board_hpet_state_and_old_snapshots);
    return CHECK_DONE();
}
