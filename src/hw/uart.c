/* The 16550A UART: what Linux's 8250 driver and the test guests program.
 * Transmission is instantaneous (the byte goes straight to the chardev), so
 * THR and the transmitter are always empty when the guest looks. */
#include "hw/uart.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "machine/bus.h"
#include "host/chardev.h"
#include "lib/err.h"
#include "lib/state.h"

#define UART_FIFO_SIZE 16

/* Register offsets. */
enum { REG_DATA = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3, REG_MCR = 4,
       REG_LSR = 5, REG_MSR = 6, REG_SCR = 7 };

#define IER_RDI   0x01   /* received data available */
#define IER_THRI  0x02   /* transmitter holding register empty */
#define IER_RLSI  0x04   /* receiver line status */
#define IER_MSI   0x08   /* modem status */

#define IIR_NONE  0x01
#define IIR_MSI   0x00
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_RLSI  0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB  0x80

#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10

#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_BI    0x10
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define LSR_ERRORS (LSR_OE | 0x04 | 0x08 | LSR_BI)

#define MSR_DELTAS 0x0f
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

struct uart {
    pthread_mutex_t lock;
    struct bus *pio;
    struct chardev *cd;
    uint16_t base;
    struct irq_line irq;
    bool registered;

    uint8_t ier, fcr, lcr, mcr, lsr, msr, scr;
    uint16_t divisor;
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    bool thr_ipending;    /* THRE interrupt latched, until IIR read or THR write */
    bool input_blocked;   /* we refused input: tell the chardev when room appears */
    bool paused;          /* uart_pause: input refused until uart_resume */
    int irq_level;
};

static unsigned rx_capacity(const struct uart *u)
{
    /* With FIFOs off the 16550A behaves as an 8250: one holding register. */
    return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart *u)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };
    return (u->fcr & FCR_ENABLE) ? levels[u->fcr >> 6] : 1;
}

/* The modem status inputs: wired back to the MCR outputs in loopback, else a
 * cable with the other end always ready. */
static uint8_t modem_lines(const struct uart *u)
{
    if (u->mcr & MCR_LOOP) {
        uint8_t v = 0;
        if (u->mcr & MCR_RTS) v |= MSR_CTS;
        if (u->mcr & MCR_DTR) v |= MSR_DSR;
        if (u->mcr & MCR_OUT1) v |= MSR_RI;
        if (u->mcr & MCR_OUT2) v |= MSR_DCD;
        return v;
    }
    return MSR_CTS | MSR_DSR | MSR_DCD;
}

static void update_msr(struct uart *u)
{
    uint8_t now = modem_lines(u), old = u->msr & 0xf0, delta = 0;
    if ((now ^ old) & MSR_CTS) delta |= 0x01;
    if ((now ^ old) & MSR_DSR) delta |= 0x02;
    if ((old & MSR_RI) && !(now & MSR_RI)) delta |= 0x04;   /* trailing edge of RI */
    if ((now ^ old) & MSR_DCD) delta |= 0x08;
    u->msr = now | (u->msr & MSR_DELTAS) | delta;
}

/* The highest-priority pending interrupt, in IIR encoding (bits 3:0). */
static uint8_t pending_iir(const struct uart *u)
{
    if ((u->ier & IER_RLSI) && (u->lsr & LSR_ERRORS))
        return IIR_RLSI;
    if ((u->ier & IER_RDI) && u->rx_count) {
        if (u->rx_count >= rx_trigger(u))
            return IIR_RDI;
        /* Below the trigger level a real chip waits four character times
         * before the timeout interrupt; we have no notion of line time, so
         * the data is reported at once. */
        return IIR_TIMEOUT;
    }
    if ((u->ier & IER_THRI) && u->thr_ipending)
        return IIR_THRI;
    if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NONE;
}

static void update_irq(struct uart *u)
{
    int level = pending_iir(u) != IIR_NONE;
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(&u->irq, level);
    }
}

static void rx_clear(struct uart *u)
{
    u->rx_head = u->rx_count = 0;
}

/* Appends a byte to the RX FIFO; false (and an overrun) when full. */
static bool rx_push(struct uart *u, uint8_t c)
{
    if (u->rx_count >= rx_capacity(u)) {
        u->lsr |= LSR_OE;
        return false;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = c;
    u->rx_count++;
    return true;
}

static void transmit(struct uart *u, uint8_t c)
{
    if (u->mcr & MCR_LOOP)
        rx_push(u, c);
    else if (u->cd)
        chardev_write(u->cd, &c, 1);
    /* The byte left THR at once: THR is empty again, which latches a THRE
     * interrupt just as the end of a real transmission would. */
    u->thr_ipending = true;
}

/* Returns true when the reader freed room that blocked input may now use. */
static bool read_reg(struct uart *u, unsigned reg, uint8_t *out)
{
    bool room = false;
    switch (reg) {
    case REG_DATA:
        if (u->lcr & LCR_DLAB) {
            *out = u->divisor & 0xff;
            break;
        }
        *out = 0;
        if (u->rx_count) {
            *out = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
            u->rx_count--;
            room = u->input_blocked;
        }
        break;
    case REG_IER:
        *out = (u->lcr & LCR_DLAB) ? u->divisor >> 8 : u->ier;
        break;
    case REG_IIR_FCR: {
        uint8_t iir = pending_iir(u);
        /* Reading IIR acknowledges a THRE interrupt it reports. */
        if (iir == IIR_THRI)
            u->thr_ipending = false;
        *out = iir | ((u->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0);
        break;
    }
    case REG_LCR:
        *out = u->lcr;
        break;
    case REG_MCR:
        *out = u->mcr;
        break;
    case REG_LSR:
        *out = u->lsr | LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
        u->lsr &= ~LSR_ERRORS;   /* error bits clear on read */
        break;
    case REG_MSR:
        *out = u->msr;
        u->msr &= ~MSR_DELTAS;
        break;
    default:
        *out = u->scr;
        break;
    }
    return room;
}

static bool write_reg(struct uart *u, unsigned reg, uint8_t v)
{
    bool room = false;
    switch (reg) {
    case REG_DATA:
        if (u->lcr & LCR_DLAB) {
            u->divisor = (u->divisor & 0xff00) | v;
            break;
        }
        u->thr_ipending = false;
        transmit(u, v);
        break;
    case REG_IER:
        if (u->lcr & LCR_DLAB) {
            u->divisor = (u->divisor & 0x00ff) | (uint16_t)v << 8;
            break;
        }
        /* Enabling THRE interrupts while THR is empty (always, here) raises
         * one at once: Linux's 8250 driver relies on it to start sending. */
        if ((v & IER_THRI) && !(u->ier & IER_THRI))
            u->thr_ipending = true;
        u->ier = v & 0x0f;
        break;
    case REG_IIR_FCR:
        /* Toggling the FIFO enable resets both FIFOs. */
        if ((v ^ u->fcr) & FCR_ENABLE)
            v |= FCR_CLEAR_RX | FCR_CLEAR_TX;
        if (v & FCR_CLEAR_RX) {
            room = u->input_blocked;
            rx_clear(u);
        }
        u->fcr = v & 0xc1;
        break;
    case REG_LCR:
        u->lcr = v;
        break;
    case REG_MCR: {
        bool was_loop = u->mcr & MCR_LOOP;
        u->mcr = v & 0x1f;
        update_msr(u);
        if (was_loop && !(u->mcr & MCR_LOOP))
            room = u->input_blocked;   /* the console is connected again */
        break;
    }
    case REG_LSR:
    case REG_MSR:
        break;   /* factory-test writes: ignored */
    default:
        u->scr = v;
        break;
    }
    return room;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
    struct uart *u = opaque;
    uint64_t value = 0;
    bool room = false;
    pthread_mutex_lock(&u->lock);
    /* A wider access reads consecutive registers, as the bus would. */
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = 0xff;
        if (offset + i < 8)
            room |= read_reg(u, (unsigned)(offset + i), &b);
        value |= (uint64_t)b << (8 * i);
    }
    update_irq(u);
    if (room)
        u->input_blocked = false;
    pthread_mutex_unlock(&u->lock);
    if (room && u->cd)
        chardev_input_ready(u->cd);
    return value;
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct uart *u = opaque;
    bool room = false;
    pthread_mutex_lock(&u->lock);
    for (unsigned i = 0; i < size; i++)
        if (offset + i < 8)
            room |= write_reg(u, (unsigned)(offset + i), (uint8_t)(value >> (8 * i)));
    update_irq(u);
    if (room)
        u->input_blocked = false;
    pthread_mutex_unlock(&u->lock);
    if (room && u->cd)
        chardev_input_ready(u->cd);
}

static const struct bus_ops uart_ops = { .read = uart_read, .write = uart_write };

/* The console's input thread hands us bytes; we take what fits the FIFO. */
static size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart *u = opaque;
    size_t taken = 0;
    pthread_mutex_lock(&u->lock);
    if (!(u->mcr & MCR_LOOP) && !u->paused) {
        while (taken < len && u->rx_count < rx_capacity(u))
            rx_push(u, buf[taken++]);
    }
    if (taken < len)
        u->input_blocked = true;
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return taken;
}

static void reset_registers(struct uart *u)
{
    u->ier = 0;
    u->fcr = 0;
    u->lcr = 0x03;      /* 8N1 */
    u->mcr = MCR_OUT2;
    u->lsr = 0;
    u->msr = 0;
    u->scr = 0;
    u->divisor = 12;    /* 9600 baud */
    rx_clear(u);
    u->thr_ipending = false;
    update_msr(u);
    u->msr &= ~MSR_DELTAS;
}

int uart_create(struct bus *pio, uint16_t base, struct irq_line irq, struct chardev *cd,
                struct uart **out)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    pthread_mutex_init(&u->lock, NULL);
    u->pio = pio;
    u->cd = cd;
    u->base = base;
    u->irq = irq;
    reset_registers(u);
    int r = bus_register(pio, base, 8, &uart_ops, u, "uart");
    if (r < 0) {
        pthread_mutex_destroy(&u->lock);
        free(u);
        return r;
    }
    u->registered = true;
    if (cd)
        chardev_set_receiver(cd, uart_receive, u);
    *out = u;
    return 0;
}

void uart_destroy(struct uart *u)
{
    if (!u)
        return;
    /* Detach first: once this returns the input thread no longer calls us. */
    if (u->cd)
        chardev_set_receiver(u->cd, NULL, NULL);
    if (u->registered)
        bus_unregister(u->pio, u->base);
    if (u->irq_level)
        irq_set(&u->irq, 0);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

/* ---- snapshots ------------------------------------------------------------ */

int uart_save(struct uart *u, struct state_out *o)
{
    pthread_mutex_lock(&u->lock);
    st_put_u8(o, u->ier);
    st_put_u8(o, u->fcr);
    st_put_u8(o, u->lcr);
    st_put_u8(o, u->mcr);
    st_put_u8(o, u->lsr);
    st_put_u8(o, u->msr);
    st_put_u8(o, u->scr);
    st_put_u16(o, u->divisor);
    st_put_bool(o, u->thr_ipending);
    st_put_u8(o, (uint8_t)u->rx_count);
    for (unsigned i = 0; i < u->rx_count; i++)
        st_put_u8(o, u->rx[(u->rx_head + i) % UART_FIFO_SIZE]);
    pthread_mutex_unlock(&u->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int uart_load(struct uart *u, struct state_in *in, struct err *e)
{
    struct uart n;   /* the registers as loaded; only they are copied over */
    unsigned base = u->base;

    n.ier = st_get_u8(in);
    n.fcr = st_get_u8(in);
    n.lcr = st_get_u8(in);
    n.mcr = st_get_u8(in);
    n.lsr = st_get_u8(in);
    n.msr = st_get_u8(in);
    n.scr = st_get_u8(in);
    n.divisor = st_get_u16(in);
    n.thr_ipending = st_get_bool(in);
    n.rx_count = st_get_u8(in);
    if (in->bad)
        return err_set(e, -EINVAL, "uart 0x%x: the saved state is cut short or holds a "
                       "bool that is neither 0 nor 1", base);
    if (n.ier & ~0x0fu)
        return err_set(e, -EINVAL, "uart 0x%x: IER 0x%02x has bits the chip does not keep",
                       base, n.ier);
    if (n.fcr & ~0xc1u)
        return err_set(e, -EINVAL, "uart 0x%x: FCR 0x%02x has bits the chip does not keep",
                       base, n.fcr);
    if (n.mcr & ~0x1fu)
        return err_set(e, -EINVAL, "uart 0x%x: MCR 0x%02x has bits the chip does not keep",
                       base, n.mcr);
    if (n.lsr & ~LSR_ERRORS)
        return err_set(e, -EINVAL, "uart 0x%x: LSR 0x%02x holds more than error bits", base,
                       n.lsr);
    if ((n.msr & 0xf0) != modem_lines(&n))
        return err_set(e, -EINVAL, "uart 0x%x: MSR 0x%02x does not match the modem lines "
                       "of MCR 0x%02x", base, n.msr, n.mcr);
    if (n.rx_count > rx_capacity(&n))
        return err_set(e, -EINVAL, "uart 0x%x: %u bytes in a receive FIFO that holds %u", base,
                       n.rx_count, rx_capacity(&n));
    st_get_bytes(in, n.rx, n.rx_count);
    if (in->bad)
        return err_set(e, -EINVAL, "uart 0x%x: the saved state is cut short in the receive "
                       "FIFO", base);

    pthread_mutex_lock(&u->lock);
    u->ier = n.ier;
    u->fcr = n.fcr;
    u->lcr = n.lcr;
    u->mcr = n.mcr;
    u->lsr = n.lsr;
    u->msr = n.msr;
    u->scr = n.scr;
    u->divisor = n.divisor;
    u->thr_ipending = n.thr_ipending;
    memcpy(u->rx, n.rx, n.rx_count);
    u->rx_head = 0;
    u->rx_count = n.rx_count;
    /* The line is driven even when it looks unchanged: whatever is behind
     * it was built fresh too. */
    u->irq_level = -1;
    update_irq(u);
    /* Input the chardev holds may fit now. */
    bool room = u->rx_count < rx_capacity(u) && !u->paused;
    u->input_blocked = false;
    pthread_mutex_unlock(&u->lock);
    if (room && u->cd)
        chardev_input_ready(u->cd);
    return 0;
}

void uart_pause(struct uart *u)
{
    pthread_mutex_lock(&u->lock);
    u->paused = true;
    pthread_mutex_unlock(&u->lock);
}

void uart_resume(struct uart *u)
{
    pthread_mutex_lock(&u->lock);
    u->paused = false;
    bool wake = u->input_blocked;
    u->input_blocked = false;
    pthread_mutex_unlock(&u->lock);
    if (wake && u->cd)
        chardev_input_ready(u->cd);
}
