/* Unit tests for the 16550A UART, driven through the port-I/O bus. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dev_harness.h"
#include "hw/uart.h"
#include "host/chardev.h"
#include "board/layout.h"

#define COM1 PORT_COM1
static struct dev_harness dh;
static struct uart *u;
static struct chardev *cd;
static char outpath[] = "/tmp/hostel-test-uart-XXXXXX";

static void setup(void)
{
    struct err err = ERR_INIT;
    dev_harness_init(&dh);
    int fd = mkstemp(outpath);
    close(fd);
    char spec[300];
    snprintf(spec, sizeof(spec), "file:%s", outpath);
    CHECK_EQ(chardev_open(spec, &cd, &err), 0);
    CHECK_EQ(uart_create(&dh.pio, COM1, dev_harness_line(&dh, IRQ_COM1), cd, &u), 0);
}

static void teardown(void)
{
    uart_destroy(u);
    chardev_close(cd);
    unlink(outpath);
    strcpy(outpath, "/tmp/hostel-test-uart-XXXXXX");
    dev_harness_destroy(&dh);
}

static void uart_scratch_register(void)
{
    setup();
    pio_out(&dh, COM1 + 7, 1, 0x5a);
    CHECK_EQ(pio_in(&dh, COM1 + 7, 1), 0x5a);
    pio_out(&dh, COM1 + 7, 1, 0xa5);
    CHECK_EQ(pio_in(&dh, COM1 + 7, 1), 0xa5);
    teardown();
}

static void uart_divisor_latch(void)
{
    setup();
    pio_out(&dh, COM1 + 1, 1, 0x05);         /* IER */
    pio_out(&dh, COM1 + 3, 1, 0x83);         /* DLAB, 8N1 */
    pio_out(&dh, COM1 + 0, 1, 0x01);         /* 115200 */
    pio_out(&dh, COM1 + 1, 1, 0x00);
    CHECK_EQ(pio_in(&dh, COM1 + 0, 1), 0x01);
    CHECK_EQ(pio_in(&dh, COM1 + 1, 1), 0x00);
    pio_out(&dh, COM1 + 3, 1, 0x03);
    CHECK_EQ(pio_in(&dh, COM1 + 1, 1), 0x05);  /* IER untouched by the latch */
    CHECK_EQ(pio_in(&dh, COM1 + 3, 1), 0x03);
    teardown();
}

static void uart_transmits_to_chardev(void)
{
    setup();
    const char *msg = "hi!\n";
    for (const char *p = msg; *p; p++)
        pio_out(&dh, COM1, 1, (uint8_t)*p);
    char buf[16] = "";
    int fd = open(outpath, O_RDONLY);
    CHECK_EQ(read(fd, buf, sizeof(buf) - 1), 4);
    close(fd);
    CHECK(!strcmp(buf, msg));
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 0x60, 0x60);   /* THRE and TEMT */
    teardown();
}

static void uart_loopback_echo(void)
{
    setup();
    /* What Linux's 8250 autoconfig checks. */
    pio_out(&dh, COM1 + 4, 1, 0x1a);                     /* LOOP | OUT2 | RTS */
    CHECK_EQ(pio_in(&dh, COM1 + 6, 1) & 0xf0, 0x90);   /* DCD | CTS */
    pio_out(&dh, COM1 + 4, 1, 0x1f);
    CHECK_EQ(pio_in(&dh, COM1 + 6, 1) & 0xf0, 0xf0);
    pio_out(&dh, COM1, 1, 0x42);
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 1, 1);
    CHECK_EQ(pio_in(&dh, COM1, 1), 0x42);
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 1, 0);
    /* Looped bytes never reach the console. */
    struct stat st;
    stat(outpath, &st);
    CHECK_EQ(st.st_size, 0);
    /* Input from the console waits while in loopback. */
    CHECK_EQ(chardev_push_input(cd, (const uint8_t *)"z", 1), 1);
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 1, 0);
    pio_out(&dh, COM1 + 4, 1, 0x0b);
    teardown();
}

static void uart_fifo_detect_and_levels(void)
{
    setup();
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0xc0, 0x00);
    pio_out(&dh, COM1 + 2, 1, 0xc7);                     /* enable, clear, trigger 14 */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0xc0, 0xc0);
    /* Fill the RX FIFO from the console: 16 bytes fit, the rest waits. */
    uint8_t in[20];
    for (int i = 0; i < 20; i++)
        in[i] = (uint8_t)('a' + i);
    CHECK_EQ(chardev_push_input(cd, in, 20), 20);
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 0x01, 0x01);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(pio_in(&dh, COM1, 1), 'a' + i);
    /* Each read made room, and the waiting bytes followed in order. */
    for (int i = 16; i < 20; i++)
        CHECK_EQ(pio_in(&dh, COM1, 1), 'a' + i);
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 0x01, 0x00);   /* empty */
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 0x60, 0x60);   /* TX side empty */
    pio_out(&dh, COM1 + 2, 1, 0x00);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0xc0, 0x00);
    teardown();
}

static void uart_thre_interrupt(void)
{
    setup();
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x01);     /* nothing pending */
    pio_out(&dh, COM1 + 1, 1, 0x02);                     /* ETBEI */
    CHECK_EQ(fake_irq_level[IRQ_COM1], 1);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x02);     /* THRE, and the read clears it */
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x01);
    pio_out(&dh, COM1, 1, 'x');                          /* sent: THR empty again */
    CHECK_EQ(fake_irq_level[IRQ_COM1], 1);
    pio_out(&dh, COM1 + 1, 1, 0x00);
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    teardown();
}

static void uart_rx_interrupt(void)
{
    setup();
    pio_out(&dh, COM1 + 1, 1, 0x01);                     /* ERBFI */
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    chardev_push_input(cd, (const uint8_t *)"ok", 2);
    CHECK_EQ(fake_irq_level[IRQ_COM1], 1);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x04);     /* RX data (no FIFO: 1 byte) */
    CHECK_EQ(pio_in(&dh, COM1, 1), 'o');
    /* The second byte waited in the chardev until the read made room. */
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 1, 1);
    CHECK_EQ(pio_in(&dh, COM1, 1), 'k');
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    /* FIFO mode with trigger 4: below the trigger, a timeout interrupt. */
    pio_out(&dh, COM1 + 2, 1, 0x47);
    chardev_push_input(cd, (const uint8_t *)"ab", 2);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x0c);
    chardev_push_input(cd, (const uint8_t *)"cd", 2);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x04);
    teardown();
}

static void uart_overrun_in_loopback(void)
{
    setup();
    pio_out(&dh, COM1 + 4, 1, 0x10);
    pio_out(&dh, COM1, 1, 1);
    pio_out(&dh, COM1, 1, 2);                            /* holding register full */
    uint8_t lsr = (uint8_t)pio_in(&dh, COM1 + 5, 1);
    CHECK_EQ(lsr & 0x03, 0x03);                           /* DR and OE */
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 0x02, 0);        /* OE clears on read */
    CHECK_EQ(pio_in(&dh, COM1, 1), 1);
    teardown();
}

static void uart_interrupt_priorities(void)
{
    setup();
    pio_out(&dh, COM1 + 4, 1, 0x10);                     /* loopback, all lines low */
    pio_in(&dh, COM1 + 6, 1);                            /* clear the deltas */
    pio_out(&dh, COM1 + 1, 1, 0x0f);                     /* every interrupt */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x02);     /* THRE (enabling raised it) */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x01);
    pio_out(&dh, COM1 + 4, 1, 0x12);                     /* RTS -> CTS changes */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x00);     /* modem status */
    CHECK_EQ(fake_irq_level[IRQ_COM1], 1);
    CHECK_EQ(pio_in(&dh, COM1 + 6, 1) & 0x11, 0x11);     /* CTS and delta CTS */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x01);     /* MSR read cleared it */
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    pio_out(&dh, COM1, 1, 'a');                          /* fills the holding register */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x04);     /* RX data outranks THRE */
    pio_out(&dh, COM1, 1, 'b');                          /* overrun */
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x06);     /* line status outranks RX */
    CHECK_EQ(pio_in(&dh, COM1 + 5, 1) & 0x02, 0x02);
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x04);
    CHECK_EQ(pio_in(&dh, COM1, 1), 'a');
    CHECK_EQ(pio_in(&dh, COM1 + 2, 1) & 0x0f, 0x02);     /* THRE from the writes */
    teardown();
}

/* The console's input thread and a vCPU at once: every byte arrives once,
 * in order, and nothing deadlocks. */
static void *typist(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        uint8_t c = (uint8_t)(i & 0x7f);
        while (chardev_push_input(cd, &c, 1) == 0)
            usleep(100);   /* the chardev's buffer is full: wait */
    }
    return NULL;
}

static void uart_concurrent_input_and_reads(void)
{
    setup();
    pio_out(&dh, COM1 + 2, 1, 0x07);                     /* FIFOs on */
    pio_out(&dh, COM1 + 1, 1, 0x03);                     /* RX and THRE interrupts */
    pthread_t t;
    pthread_create(&t, NULL, typist, NULL);
    int got = 0, bad = 0;
    for (long spins = 0; got < 2000 && spins < 20000000; spins++) {
        if (pio_in(&dh, COM1 + 5, 1) & 1) {
            uint8_t c = (uint8_t)pio_in(&dh, COM1, 1);
            bad += c != (got & 0x7f);
            got++;
        }
        if ((spins & 63) == 0)
            pio_out(&dh, COM1, 1, '.');                  /* output meanwhile */
    }
    pthread_join(t, NULL);
    CHECK_EQ(got, 2000);
    CHECK_EQ(bad, 0);
    teardown();
}

/* Another port and line (COM2's), and no console: output is dropped, and
 * the interrupt goes to the line the UART was given. */
static void uart_at_its_base_and_line(void)
{
    struct uart *u2;
    dev_harness_init(&dh);
    CHECK_EQ(uart_create(&dh.pio, 0x2f8, dev_harness_line(&dh, 3), NULL, &u2), 0);
    CHECK_EQ(pio_in(&dh, COM1 + 7, 1), 0xff);                 /* nothing at COM1 */
    pio_out(&dh, 0x2f8 + 7, 1, 0x5a);
    CHECK_EQ(pio_in(&dh, 0x2f8 + 7, 1), 0x5a);
    pio_out(&dh, 0x2f8, 1, 'x');                              /* no chardev: dropped */
    CHECK_EQ(pio_in(&dh, 0x2f8 + 5, 1) & 0x60, 0x60);
    pio_out(&dh, 0x2f8 + 1, 1, 0x02);                         /* ETBEI */
    CHECK_EQ(fake_irq_level[3], 1);
    CHECK_EQ(fake_irq_level[IRQ_COM1], 0);
    uart_destroy(u2);
    CHECK_EQ(dh.pio.count, 0);
    dev_harness_destroy(&dh);
}

int main(void)
{
    RUN_TEST(uart_scratch_register);
    RUN_TEST(uart_divisor_latch);
    RUN_TEST(uart_transmits_to_chardev);
    RUN_TEST(uart_loopback_echo);
    RUN_TEST(uart_fifo_detect_and_levels);
    RUN_TEST(uart_thre_interrupt);
    RUN_TEST(uart_rx_interrupt);
    RUN_TEST(uart_overrun_in_loopback);
    RUN_TEST(uart_interrupt_priorities);
    RUN_TEST(uart_concurrent_input_and_reads);
    RUN_TEST(uart_at_its_base_and_line);
    return CHECK_DONE();
}
