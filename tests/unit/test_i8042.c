/* Unit tests for the 8042 controller and the debug-exit and POST ports. */
#include "check.h"
#include "dev_harness.h"
#include "hw/debugexit.h"
#include "hw/i8042.h"
#include "hw/post.h"
#include "board/layout.h"

static struct dev_harness dh;
static struct i8042 *kbc;

static void setup(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(i8042_create(&dh.pio, PORT_I8042_DATA, PORT_I8042_CMD, dev_harness_line(&dh, IRQ_KBD),
                           dev_harness_line(&dh, IRQ_AUX), dev_harness_stop(&dh), &kbc), 0);
}

static void teardown(void)
{
    i8042_destroy(kbc);
    dev_harness_destroy(&dh);
}

static uint8_t status(void) { return (uint8_t)pio_in(&dh, PORT_I8042_CMD, 1); }
static void command(uint8_t c) { pio_out(&dh, PORT_I8042_CMD, 1, c); }
static void data(uint8_t d) { pio_out(&dh, PORT_I8042_DATA, 1, d); }

/* The next output byte, or -1 when the output buffer is empty. */
static int next_byte(void)
{
    if (!(status() & 0x01))
        return -1;
    return (int)pio_in(&dh, PORT_I8042_DATA, 1);
}

static void i8042_self_tests(void)
{
    setup();
    CHECK_EQ(next_byte(), -1);
    command(0xaa);
    CHECK_EQ(next_byte(), 0x55);
    CHECK(status() & 0x04);                     /* system flag */
    command(0xab);
    CHECK_EQ(next_byte(), 0x00);
    command(0xa9);
    CHECK_EQ(next_byte(), 0x00);
    CHECK_EQ(next_byte(), -1);
    teardown();
}

static void i8042_config_byte(void)
{
    setup();
    command(0x20);
    int cfg = next_byte();
    CHECK(cfg >= 0 && (cfg & 0x01));
    command(0x60);
    CHECK(status() & 0x08);                     /* last write was a command */
    data(0x47);
    CHECK(!(status() & 0x08));
    command(0x20);
    CHECK_EQ(next_byte(), 0x47);
    command(0xad);                              /* disable keyboard: bit 4 */
    command(0x20);
    CHECK_EQ(next_byte(), 0x57);
    command(0xae);
    command(0xa7);
    command(0x20);
    CHECK_EQ(next_byte(), 0x67);
    teardown();
}

static void i8042_keyboard_commands(void)
{
    setup();
    data(0xff);                                 /* reset */
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0xaa);
    data(0xf2);                                 /* identify */
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0xab);
    CHECK_EQ(next_byte(), 0x83);
    data(0xf5);
    CHECK_EQ(next_byte(), 0xfa);
    data(0xf4);
    CHECK_EQ(next_byte(), 0xfa);
    data(0xed);                                 /* LEDs + parameter */
    CHECK_EQ(next_byte(), 0xfa);
    data(0x07);
    CHECK_EQ(next_byte(), 0xfa);
    data(0xf0);                                 /* which scan code set? */
    CHECK_EQ(next_byte(), 0xfa);
    data(0x00);
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0x02);
    data(0xee);                                 /* echo */
    CHECK_EQ(next_byte(), 0xee);
    CHECK_EQ(next_byte(), -1);
    teardown();
}

static void i8042_keyboard_interrupt(void)
{
    setup();
    data(0xf2);
    CHECK_EQ(fake_irq_level[IRQ_KBD], 1);
    pio_in(&dh, PORT_I8042_DATA, 1);
    CHECK_EQ(fake_irq_level[IRQ_KBD], 1);      /* two more bytes queued */
    pio_in(&dh, PORT_I8042_DATA, 1);
    pio_in(&dh, PORT_I8042_DATA, 1);
    CHECK_EQ(fake_irq_level[IRQ_KBD], 0);
    command(0x60);
    data(0x04);                                 /* interrupts off */
    data(0xf2);
    CHECK_EQ(fake_irq_level[IRQ_KBD], 0);
    teardown();
}

static void i8042_aux_loopback_and_mouse(void)
{
    setup();
    command(0x60);
    data(0x07);                                 /* mouse interrupts on */
    command(0xd3);
    data(0x5a);
    CHECK_EQ(status() & 0x21, 0x21);            /* output full, from the mouse */
    CHECK_EQ(fake_irq_level[IRQ_AUX], 1);
    CHECK_EQ(next_byte(), 0x5a);
    CHECK_EQ(fake_irq_level[IRQ_AUX], 0);
    command(0xd4);
    data(0xf2);
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0x00);
    command(0xd4);
    data(0xff);                                 /* mouse reset: ack, BAT ok, ID 0 */
    CHECK_EQ(next_byte(), 0xfa);
    CHECK_EQ(next_byte(), 0xaa);
    CHECK_EQ(next_byte(), 0x00);
    command(0xd4);
    data(0xf3);                                 /* sample rate 200 */
    CHECK_EQ(next_byte(), 0xfa);
    command(0xd4);
    data(200);
    CHECK_EQ(next_byte(), 0xfa);
    command(0xd4);
    data(0xe9);                                 /* status: rate reads back */
    CHECK_EQ(next_byte(), 0xfa);
    next_byte();
    next_byte();
    CHECK_EQ(next_byte(), 200);
    CHECK_EQ(next_byte(), -1);
    teardown();
}

static void i8042_reset_line(void)
{
    setup();
    command(0xfe);
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_RESET);
    teardown();
    setup();
    command(0xd1);
    data(0x02);                                 /* output port bit 0 clear */
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_RESET);
    teardown();
}

/* The bytes waiting, as a string of hex pairs ("e0 f0 75"). */
static void drain(char *out, size_t len)
{
    size_t n = 0;
    int b;
    out[0] = 0;
    while ((b = next_byte()) >= 0 && n + 4 < len)
        n += (size_t)snprintf(out + n, len - n, n ? " %02x" : "%02x", b);
}

static void i8042_keys_in_scan_code_sets(void)
{
    char got[128];
    setup();
    /* No translation (as hostel's direct boot leaves it): set 2. */
    i8042_key(kbc, 0x1e, true);                 /* 'a' */
    CHECK_EQ(fake_irq_level[IRQ_KBD], 1);
    i8042_key(kbc, 0x1e, false);
    i8042_key(kbc, 0xe048, true);               /* up arrow */
    i8042_key(kbc, 0xe048, false);
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "1c f0 1c e0 75 e0 f0 75"));
    CHECK_EQ(fake_irq_level[IRQ_KBD], 0);
    i8042_key(kbc, 0x7f, true);                 /* no such key: nothing */
    i8042_key(kbc, 0x1234, true);
    CHECK_EQ(next_byte(), -1);
    /* The controller translates (config bit 6, as firmware sets it): set 1. */
    command(0x60);
    data(0x45);
    i8042_key(kbc, 0x1e, true);
    i8042_key(kbc, 0x1e, false);
    i8042_key(kbc, 0xe01d, false);              /* right Ctrl released */
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "1e 9e e0 9d"));
    /* Set 1 chosen by the guest (0xf0 0x01), and asked back. */
    command(0x60);
    data(0x05);
    data(0xf0);
    data(0x01);
    data(0xf0);
    data(0x00);
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "fa fa fa fa 01"));
    i8042_key(kbc, 0x10, true);                 /* 'q' */
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "10"));
    /* Scanning off (0xf5): keys are not sent; on again (0xf4). */
    data(0xf5);
    CHECK_EQ(next_byte(), 0xfa);
    i8042_key(kbc, 0x10, true);
    CHECK_EQ(next_byte(), -1);
    data(0xf4);
    CHECK_EQ(next_byte(), 0xfa);
    /* The keyboard port disabled (0xad): not sent either. */
    command(0xad);
    i8042_key(kbc, 0x10, true);
    CHECK_EQ(next_byte(), -1);
    command(0xae);
    /* Bytes go out one at a time: a second is there once the first is
     * read.  A full buffer (256 bytes) drops a whole event, never half. */
    i8042_key(kbc, 0x10, true);
    i8042_key(kbc, 0x11, true);
    CHECK_EQ(next_byte(), 0x10);
    CHECK_EQ(next_byte(), 0x11);
    for (int i = 0; i < 200; i++)
        i8042_key(kbc, 0xe048, true);
    int n = 0, b, last = -1;
    while ((b = next_byte()) >= 0) {
        n++;
        last = b;
    }
    CHECK_EQ(n, 256);
    CHECK_EQ(last, 0x48);
    teardown();
}

static void i8042_mouse_packets(void)
{
    char got[128];
    setup();
    i8042_pointer(kbc, 5, 5, 1);                /* reporting off: nothing */
    CHECK_EQ(next_byte(), -1);
    command(0x60);
    data(0x47);                                 /* both interrupts on */
    command(0xd4);
    data(0xf4);                                 /* enable reporting */
    CHECK_EQ(next_byte(), 0xfa);
    i8042_pointer(kbc, 5, -3, 1);               /* right 5, up 3, left button */
    CHECK_EQ(fake_irq_level[IRQ_AUX], 1);
    CHECK(status() & 0x20);                     /* from the mouse */
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "09 05 03"));
    i8042_pointer(kbc, -300, 2, 4);             /* left 300, down 2, right button */
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "3a 01 fe 1a d3 00"));
    i8042_pointer(kbc, 0, 0, 2);                /* middle button */
    drain(got, sizeof(got));
    CHECK(!strcmp(got, "0c 00 00"));
    command(0xa7);                              /* mouse port off */
    i8042_pointer(kbc, 1, 1, 0);
    CHECK_EQ(next_byte(), -1);
    teardown();
}

static void debugexit_reports_value(void)
{
    struct debugexit *d;
    dev_harness_init(&dh);
    CHECK_EQ(debugexit_create(&dh.pio, PORT_DEBUG_EXIT, dev_harness_stop(&dh), &d), 0);
    CHECK_EQ(pio_in(&dh, PORT_DEBUG_EXIT, 1), 0);
    CHECK(!dev_harness_stopped(&dh));
    pio_out(&dh, PORT_DEBUG_EXIT, 4, 0x1234);
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_DEBUG_EXIT);
    CHECK_EQ(atomic_load(&dh.stop_status), 0x1234);
    debugexit_destroy(d);
    dev_harness_destroy(&dh);

    dev_harness_init(&dh);
    CHECK_EQ(debugexit_create(&dh.pio, PORT_DEBUG_EXIT, dev_harness_stop(&dh), &d), 0);
    pio_out(&dh, PORT_DEBUG_EXIT, 1, 0x1ff);    /* a byte write carries a byte */
    CHECK_EQ(atomic_load(&dh.stop_status), 0xff);
    debugexit_destroy(d);
    dev_harness_destroy(&dh);
}

static void post_port_is_quiet(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(post_create(&dh.pio, PORT_POST), 0);
    pio_out(&dh, PORT_POST, 1, 0x12);
    CHECK_EQ(pio_in(&dh, PORT_POST, 1), 0xff);
    CHECK(!dev_harness_stopped(&dh));
    post_destroy(&dh.pio, PORT_POST);
    CHECK_EQ(dh.pio.count, 0);                  /* the port is given back */
    dev_harness_destroy(&dh);
}

int main(void)
{
    RUN_TEST(i8042_self_tests);
    RUN_TEST(i8042_config_byte);
    RUN_TEST(i8042_keyboard_commands);
    RUN_TEST(i8042_keyboard_interrupt);
    RUN_TEST(i8042_aux_loopback_and_mouse);
    RUN_TEST(i8042_reset_line);
    RUN_TEST(i8042_keys_in_scan_code_sets);
    RUN_TEST(i8042_mouse_packets);
    RUN_TEST(debugexit_reports_value);
    RUN_TEST(post_port_is_quiet);
    return CHECK_DONE();
}
