/* Device state as data (issue 13): every device model saves its state, a
 * fresh model with the same wiring loads it, saves the same bytes again and
 * answers the guest as the original does, interrupt lines included.  Every
 * truncation of a saved stream is refused cleanly, a few thousand mutated
 * streams (fixed seed) never crash a device, and a paused virtio device
 * leaves guest memory and interrupts alone until it is resumed.  Build and
 * run it under the sanitizers too (see the Makefile's asan target). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "check.h"
#include "host/chardev.h"
#include "hw/acpi_pm.h"
#include "hw/i8042.h"
#include "hw/vga.h"
#include "host/display.h"
#include "hw/pci.h"
#include "hw/rtc.h"
#include "hw/uart.h"
#include "hw/virtio/blk.h"
#include "hw/virtio/console.h"
#include "hw/virtio/net.h"
#include "hw/virtio/rng.h"
#include "lib/err.h"
#include "lib/state.h"
#include "net/net.h"
#include "virtio_test_driver.h"

/* The copy's interrupt lines are the original's numbers plus COPY, so the
 * recorder (fake_irq_level) tells them apart. */
#define COPY 32
#define MUTATIONS 3000

/* ---- the harness, without resetting the shared recorders ---------------- */

static void hinit(struct dev_harness *h)
{
    memset(h, 0, sizeof(*h));
    atomic_init(&h->stop_why, VM_RUNNING);
    bus_init(&h->pio, "port I/O");
    bus_init(&h->mmio, "MMIO");
    h->mem.fd = -1;
}

static void reset_lines(void)
{
    for (int i = 0; i < FAKE_IRQ_LINES; i++)
        atomic_store(&fake_irq_level[i], 0);
    atomic_store(&fake_msi_count, 0);
}

static int level(unsigned n)
{
    return atomic_load(&fake_irq_level[n]);
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* ---- byte streams -------------------------------------------------------- */

struct blob {
    uint8_t *p;
    size_t len;
};

/* Saves with fn into a blob the caller frees. */
#define SAVE(fn, dev, blobp)                                                     \
    do {                                                                         \
        struct state_out o_;                                                     \
        state_out_init(&o_);                                                     \
        CHECK_EQ(fn(dev, &o_), 0);                                               \
        (blobp)->p = o_.data;                                                    \
        (blobp)->len = o_.len;                                                   \
    } while (0)

#define LOAD(fn, dev, blobp)                                                     \
    ({                                                                           \
        struct state_in i_;                                                      \
        struct err e_ = ERR_INIT;                                                \
        state_in_init(&i_, (blobp)->p, (blobp)->len);                            \
        int r_ = fn(dev, &i_, &e_);                                              \
        if (r_ < 0)                                                              \
            printf("  load: %s\n", e_.msg);                                      \
        else if (!state_in_done(&i_))                                            \
            printf("  load left %zu of %zu bytes\n", i_.len - i_.off, i_.len);   \
        r_ == 0 && state_in_done(&i_) ? 0 : -1;                                  \
    })

static bool same(const struct blob *a, const struct blob *b)
{
    if (a->len != b->len) {
        printf("  saved %zu bytes, then %zu\n", a->len, b->len);
        return false;
    }
    for (size_t i = 0; i < a->len; i++) {
        if (a->p[i] != b->p[i]) {
            printf("  byte %zu differs: 0x%02x, then 0x%02x\n", i, a->p[i], b->p[i]);
            return false;
        }
    }
    return true;
}

static void blob_free(struct blob *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

/* ---- hostile input -------------------------------------------------------- */

/* How a hostile test makes, loads, uses and destroys a fresh device. */
struct subject {
    const char *name;
    void *(*make)(void);
    void (*unmake)(void *dev);
    int (*load)(void *dev, struct state_in *in, struct err *e);
    void (*poke)(void *dev);        /* uses the device after a load, good or bad */
};

static uint64_t rnd_state;

static uint64_t rnd(void)
{
    uint64_t x = rnd_state;       /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rnd_state = x;
}

static const uint64_t interesting[] = {
    0, 1, 2, 3, 7, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x400, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0xc0000000ULL, 0x7ff000ULL,
    0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
};

/* Puts one edit into buf (of *len bytes, room for 64 more). */
static void mutate(uint8_t *buf, size_t *len)
{
    size_t n = *len;
    size_t at = n ? rnd() % n : 0;
    switch (rnd() % 7) {
    case 0:
        if (n)
            buf[at] ^= (uint8_t)(1u << (rnd() % 8));
        break;
    case 1:
        if (n)
            buf[at] = (uint8_t)rnd();
        break;
    case 2:
        if (n)
            buf[at] = rnd() & 1 ? 0xff : 0x00;
        break;
    case 3:
    case 4: {
        uint64_t v = interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))];
        unsigned w = 1u << (rnd() % 4);           /* 1, 2, 4 or 8 bytes */
        for (unsigned i = 0; i < w && at + i < n; i++)
            buf[at + i] = (uint8_t)(v >> (8 * i));
        break;
    }
    case 5:
        if (n && rnd() % 2)
            buf[at] += (uint8_t)(rnd() % 2 ? 1 : -1);
        else if (n)
            *len = rnd() % n;                     /* cut */
        break;
    case 6: {
        size_t extra = 1 + rnd() % 64;            /* trailing bytes */
        for (size_t i = 0; i < extra; i++)
            buf[n + i] = (uint8_t)rnd();
        *len = n + extra;
        break;
    }
    }
}

/* Every truncation of good is refused with -EINVAL and a message, and the
 * device stays usable; then mutations: a load either succeeds (the device
 * is used, then replaced by a fresh one) or fails cleanly. */
static void hostile(const struct subject *s, const struct blob *good, unsigned mutations)
{
    void *d = s->make();
    unsigned refused = 0, loaded = 0, bad = 0;
    rnd_state = 0x2545f4914f6cdd1dULL ^ good->len;
    for (size_t n = 0; n < good->len; n++) {
        struct state_in in;
        struct err e = ERR_INIT;
        state_in_init(&in, good->p, n);
        int r = s->load(d, &in, &e);
        if (r != -EINVAL || !e.msg[0]) {
            if (bad++ < 5)
                printf("  %s: cut to %zu of %zu bytes: returned %d (%s)\n", s->name, n,
                       good->len, r, e.msg);
            if (r == 0) {
                s->unmake(d);
                d = s->make();
            }
        }
    }
    CHECK_EQ(bad, 0);
    s->poke(d);
    {
        struct state_in in;
        struct err e = ERR_INIT;
        state_in_init(&in, good->p, good->len);
        int r = s->load(d, &in, &e);
        if (r < 0)
            printf("  %s: the whole stream, after the cut ones: %s\n", s->name, e.msg);
        CHECK_EQ(r, 0);
        s->poke(d);
        s->unmake(d);
        d = s->make();
    }
    uint8_t *buf = malloc(good->len + 64);
    for (unsigned i = 0; i < mutations; i++) {
        size_t len = good->len;
        memcpy(buf, good->p, len);
        unsigned edits = 1 + (unsigned)(rnd() % 4);
        for (unsigned k = 0; k < edits; k++) {
            if (len > good->len)
                len = good->len;                  /* one extension at most */
            mutate(buf, &len);
        }
        struct state_in in;
        struct err e = ERR_INIT;
        state_in_init(&in, buf, len);
        int r = s->load(d, &in, &e);
        if (r == 0) {
            loaded++;
            s->poke(d);
            s->unmake(d);
            d = s->make();
        } else if ((r == -EINVAL || r == -ENOMEM) && e.msg[0]) {
            refused++;
        } else {
            if (bad++ < 5)
                printf("  %s: mutation %u: returned %d without a message\n", s->name, i, r);
        }
    }
    CHECK_EQ(bad, 0);
    s->poke(d);                                   /* refusals left it usable */
    s->unmake(d);
    free(buf);
    printf("  %s: %zu truncations refused; %u mutations: %u refused, %u loaded\n", s->name,
           good->len, mutations, refused, loaded);
}

/* One message a refusal must carry (the device and the field). */
static void refused_with(int (*load)(void *, struct state_in *, struct err *), void *dev,
                         const uint8_t *p, size_t len, const char *words)
{
    struct state_in in;
    struct err e = ERR_INIT;
    state_in_init(&in, p, len);
    CHECK_EQ(load(dev, &in, &e), -EINVAL);
    if (!strstr(e.msg, words)) {
        printf("  expected \"%s\" in: %s\n", words, e.msg);
        CHECK(0);
    }
}

/* ---- UART ------------------------------------------------------------------ */

#define COM1 PORT_COM1

static void discard(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque; (void)buf; (void)len;
}

static void uart_state_roundtrip(void)
{
    struct dev_harness ha, hb;
    struct chardev *ca, *cb;
    struct uart *a, *b;
    struct blob s1, s2;
    reset_lines();
    hinit(&ha);
    hinit(&hb);
    CHECK_EQ(chardev_open_callback(discard, NULL, &ca), 0);
    CHECK_EQ(chardev_open_callback(discard, NULL, &cb), 0);
    CHECK_EQ(uart_create(&ha.pio, COM1, dev_harness_line(&ha, IRQ_COM1), ca, &a), 0);
    /* 115200 8N1, FIFOs on with a trigger of 4, a scratch byte. */
    pio_out(&ha, COM1 + 3, 1, 0x83);
    pio_out(&ha, COM1 + 0, 1, 0x01);
    pio_out(&ha, COM1 + 1, 1, 0x00);
    pio_out(&ha, COM1 + 3, 1, 0x1b);                  /* 8E1 */
    pio_out(&ha, COM1 + 2, 1, 0x41);
    pio_out(&ha, COM1 + 7, 1, 0x5a);
    /* Loopback: 17 bytes into the 16-byte FIFO, the last one overruns. */
    pio_out(&ha, COM1 + 4, 1, 0x1b);
    for (int i = 0; i < 17; i++)
        pio_out(&ha, COM1, 1, (uint64_t)('a' + i));
    pio_out(&ha, COM1 + 4, 1, 0x0b);
    pio_out(&ha, COM1 + 1, 1, 0x0f);
    /* Typed while the FIFO is full: the chardev keeps it. */
    CHECK_EQ(chardev_push_input(ca, (const uint8_t *)"xyz", 3), 3);
    CHECK_EQ(level(IRQ_COM1), 1);
    uart_pause(a);
    SAVE(uart_save, a, &s1);
    printf("  uart: %zu bytes\n", s1.len);

    CHECK_EQ(uart_create(&hb.pio, COM1, dev_harness_line(&hb, IRQ_COM1 + COPY), cb, &b), 0);
    CHECK_EQ(LOAD(uart_load, b, &s1), 0);
    CHECK_EQ(level(IRQ_COM1 + COPY), 1);
    SAVE(uart_save, b, &s2);
    CHECK(same(&s1, &s2));
    /* Register by register, including what reads change (IIR acknowledges
     * THRE, LSR clears errors, MSR deltas, data pops the FIFO). */
    static const unsigned regs[] = { 2, 5, 6, 3, 4, 1, 7, 2, 0, 5, 2 };
    for (int round = 0; round < 18; round++) {
        for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
            CHECK_EQ(pio_in(&ha, COM1 + regs[i], 1), pio_in(&hb, COM1 + regs[i], 1));
        CHECK_EQ(level(IRQ_COM1), level(IRQ_COM1 + COPY));
    }
    /* The paused original still holds "xyz" back; resumed, it takes it. */
    CHECK_EQ(pio_in(&ha, COM1 + 5, 1) & 1, 0);
    uart_resume(a);
    CHECK_EQ(pio_in(&ha, COM1 + 5, 1) & 1, 1);
    CHECK_EQ(pio_in(&ha, COM1, 1), 'x');
    blob_free(&s1);
    blob_free(&s2);
    uart_destroy(a);
    uart_destroy(b);
    chardev_close(ca);
    chardev_close(cb);
    dev_harness_destroy(&ha);
    dev_harness_destroy(&hb);
}

struct uart_subject {
    struct dev_harness h;
    struct chardev *cd;
    struct uart *u;
};

static void *uart_make(void)
{
    struct uart_subject *s = calloc(1, sizeof(*s));
    hinit(&s->h);
    chardev_open_callback(discard, NULL, &s->cd);
    uart_create(&s->h.pio, COM1, dev_harness_line(&s->h, IRQ_COM1 + COPY), s->cd, &s->u);
    return s;
}

static void uart_unmake(void *p)
{
    struct uart_subject *s = p;
    uart_destroy(s->u);
    chardev_close(s->cd);
    dev_harness_destroy(&s->h);
    free(s);
}

static int uart_subject_load(void *p, struct state_in *in, struct err *e)
{
    return uart_load(((struct uart_subject *)p)->u, in, e);
}

static void uart_poke(void *p)
{
    struct uart_subject *s = p;
    chardev_push_input(s->cd, (const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26);
    for (int i = 0; i < 40; i++)
        for (unsigned r = 0; r < 8; r++)
            pio_in(&s->h, COM1 + r, 1);
    pio_out(&s->h, COM1, 1, 'q');
    pio_out(&s->h, COM1 + 2, 1, 0x07);
}

static void uart_state_hostile(void)
{
    struct uart_subject *s = uart_make();
    struct blob good;
    pio_out(&s->h, COM1 + 2, 1, 0xc1);
    pio_out(&s->h, COM1 + 1, 1, 0x05);
    chardev_push_input(s->cd, (const uint8_t *)"hello", 5);
    SAVE(uart_save, s->u, &good);
    uart_unmake(s);
    const struct subject subj = { "uart", uart_make, uart_unmake, uart_subject_load, uart_poke };
    hostile(&subj, &good, MUTATIONS);
    /* Refusals name the device and the field. */
    void *d = uart_make();
    uint8_t bad[64];
    memcpy(bad, good.p, good.len);
    bad[1] = 0x00;                                /* FCR: FIFOs off */
    refused_with(uart_subject_load, d, bad, good.len, "uart 0x3f8: 5 bytes in a receive FIFO "
                 "that holds 1");
    memcpy(bad, good.p, good.len);
    bad[0] = 0x10;
    refused_with(uart_subject_load, d, bad, good.len, "IER 0x10");
    uart_unmake(d);
    blob_free(&good);
}

/* ---- RTC --------------------------------------------------------------------- */

static void cmos_out(struct dev_harness *h, unsigned idx, uint8_t v)
{
    pio_out(h, PORT_RTC, 1, idx);
    pio_out(h, PORT_RTC + 1, 1, v);
}

static uint8_t cmos_in(struct dev_harness *h, unsigned idx)
{
    pio_out(h, PORT_RTC, 1, idx | 0x80);
    return (uint8_t)pio_in(h, PORT_RTC + 1, 1);
}

static bool wait_level(unsigned n, int want, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (level(n) == want)
            return true;
        sleep_ms(1);
    }
    return level(n) == want;
}

static void rtc_state_roundtrip(void)
{
    struct dev_harness ha, hb;
    struct rtc *a, *b;
    struct blob s1, s2;
    reset_lines();
    hinit(&ha);
    hinit(&hb);
    CHECK_EQ(rtc_create(&ha.pio, PORT_RTC, dev_harness_line(&ha, IRQ_RTC), 256 << 20, 0, &a), 0);
    /* Binary, 24-hour; 2031-07-15 13:45:30; an alarm; a CMOS byte. */
    cmos_out(&ha, 0x0b, 0x06);
    cmos_out(&ha, 0x09, 31);
    cmos_out(&ha, 0x08, 7);
    cmos_out(&ha, 0x07, 15);
    cmos_out(&ha, 0x04, 13);
    cmos_out(&ha, 0x02, 45);
    cmos_out(&ha, 0x00, 30);
    cmos_out(&ha, 0x01, 0xc0);
    cmos_out(&ha, 0x03, 46);
    cmos_out(&ha, 0x40, 0x77);
    /* Periodic interrupts at 1024 Hz, until one is pending ... */
    cmos_out(&ha, 0x0b, 0x46);
    CHECK(wait_level(IRQ_RTC, 1, 1000));
    /* ... then the clock held (SET), interrupts off, the flag still up. */
    cmos_out(&ha, 0x0b, 0x86);
    pio_out(&ha, PORT_RTC, 1, 0x8c);               /* index C, NMIs off */
    rtc_pause(a);
    SAVE(rtc_save, a, &s1);
    printf("  rtc: %zu bytes\n", s1.len);

    CHECK_EQ(rtc_create(&hb.pio, PORT_RTC, dev_harness_line(&hb, IRQ_RTC + COPY), 256 << 20, 0,
                        &b), 0);
    CHECK_EQ(LOAD(rtc_load, b, &s1), 0);
    CHECK_EQ(level(IRQ_RTC + COPY), 1);
    SAVE(rtc_save, b, &s2);
    CHECK(same(&s1, &s2));
    /* The index register survived: a data read without writing it. */
    CHECK_EQ(pio_in(&ha, PORT_RTC + 1, 1), pio_in(&hb, PORT_RTC + 1, 1));
    CHECK_EQ(level(IRQ_RTC), 0);
    CHECK_EQ(level(IRQ_RTC + COPY), 0);
    static const unsigned regs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0x15, 0x16,
                                     0x17, 0x18, 0x32, 0x34, 0x35, 0x40 };
    for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        CHECK_EQ(cmos_in(&ha, regs[i]), cmos_in(&hb, regs[i]));
    CHECK_EQ(cmos_in(&hb, 0x09), 31);
    CHECK_EQ(cmos_in(&hb, 0x00), 30);
    /* Both clocks run again from the held time, with the same offset. */
    cmos_out(&ha, 0x0b, 0x06);
    cmos_out(&hb, 0x0b, 0x06);
    bool agree = false;
    for (int tries = 0; tries < 3 && !agree; tries++) {
        agree = true;
        for (unsigned r = 2; r <= 9 && agree; r++)
            agree = r == 3 || r == 5 || cmos_in(&ha, r) == cmos_in(&hb, r);
    }
    CHECK(agree);
    rtc_resume(a);
    blob_free(&s1);
    blob_free(&s2);
    rtc_destroy(a);
    rtc_destroy(b);
    dev_harness_destroy(&ha);
    dev_harness_destroy(&hb);
}

/* Paused, the interrupt thread sets no flag and raises nothing; resumed, it
 * catches up at once. */
static void rtc_pause_holds_interrupts(void)
{
    struct dev_harness h;
    struct rtc *r;
    reset_lines();
    hinit(&h);
    CHECK_EQ(rtc_create(&h.pio, PORT_RTC, dev_harness_line(&h, IRQ_RTC), 256 << 20, 0, &r), 0);
    rtc_pause(r);
    cmos_out(&h, 0x0b, 0x42);                     /* PIE at 1024 Hz */
    sleep_ms(30);
    CHECK_EQ(level(IRQ_RTC), 0);
    rtc_resume(r);
    CHECK(wait_level(IRQ_RTC, 1, 1000));
    rtc_destroy(r);
    dev_harness_destroy(&h);
}

struct rtc_subject {
    struct dev_harness h;
    struct rtc *r;
};

static void *rtc_make(void)
{
    struct rtc_subject *s = calloc(1, sizeof(*s));
    hinit(&s->h);
    rtc_create(&s->h.pio, PORT_RTC, dev_harness_line(&s->h, IRQ_RTC + COPY), 256 << 20, 1ULL << 32,
               &s->r);
    return s;
}

static void rtc_unmake(void *p)
{
    struct rtc_subject *s = p;
    rtc_destroy(s->r);
    dev_harness_destroy(&s->h);
    free(s);
}

static int rtc_subject_load(void *p, struct state_in *in, struct err *e)
{
    return rtc_load(((struct rtc_subject *)p)->r, in, e);
}

static void rtc_poke(void *p)
{
    struct rtc_subject *s = p;
    for (unsigned i = 0; i < 0x80; i++)
        cmos_in(&s->h, i);
    pio_in(&s->h, PORT_RTC + 1, 1);
    cmos_out(&s->h, 0x09, 0x99);                  /* writes through whatever format B says */
    cmos_out(&s->h, 0x04, 0x92);
    cmos_out(&s->h, 0x0b, cmos_in(&s->h, 0x0b) ^ 0x80);
    for (unsigned i = 0; i < 10; i++)
        cmos_in(&s->h, i);
}

static void rtc_state_hostile(void)
{
    struct rtc_subject *s = rtc_make();
    struct blob good;
    cmos_out(&s->h, 0x0b, 0x82);                  /* SET: a held time is saved */
    cmos_out(&s->h, 0x09, 0x42);
    SAVE(rtc_save, s->r, &good);
    rtc_unmake(s);
    const struct subject subj = { "rtc", rtc_make, rtc_unmake, rtc_subject_load, rtc_poke };
    hostile(&subj, &good, MUTATIONS);
    void *d = rtc_make();
    uint8_t *bad = malloc(good.len);
    memcpy(bad, good.p, good.len);
    bad[0] = 0x80;
    refused_with(rtc_subject_load, d, bad, good.len, "rtc 0x70: index 0x80");
    memcpy(bad, good.p, good.len);
    bad[2 + 128 + 7] = 0x7f;                      /* the offset, far into the future */
    refused_with(rtc_subject_load, d, bad, good.len, "offset");
    free(bad);
    rtc_unmake(d);
    blob_free(&good);
}

/* ---- vga --------------------------------------------------------------------- */

struct vga_subject {
    struct dev_harness h;
    struct pci_bus *bus;
    struct display *d;
    struct vga *v;
};

static void *vga_make(void)
{
    struct vga_subject *s = calloc(1, sizeof(*s));
    hinit(&s->h);
    dev_harness_mem(&s->h, 1 << 20);
    struct pci_host_wiring w = {
        .pio = &s->h.pio, .mmio = &s->h.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&s->h, PCI_IRQ_A + COPY),
                  dev_harness_line(&s->h, PCI_IRQ_B + COPY) },
        .msi = dev_harness_msi(&s->h), .reset = dev_harness_stop(&s->h),
    };
    pci_bus_create(&w, &s->bus);
    display_create(&s->d);
    struct vga_wiring vw = { .pio = &s->h.pio, .pci = s->bus, .mem = &s->h.mem, .display = s->d };
    vga_create(&vw, &s->v);
    return s;
}

static void vga_unmake(void *p)
{
    struct vga_subject *s = p;
    vga_destroy(s->v);
    display_destroy(s->d);
    pci_bus_destroy(s->bus);
    dev_harness_destroy(&s->h);
    free(s);
}

static int vga_subject_load(void *p, struct state_in *in, struct err *e)
{
    return vga_load(((struct vga_subject *)p)->v, in, e);
}

static void vga_cfg_write(struct dev_harness *h, unsigned reg, uint32_t v)
{
    pio_out(h, PORT_PCI_CONFIG_ADDR, 4, 0x80000000u | 1u << 11 | reg);
    pio_out(h, PORT_PCI_CONFIG_DATA, 4, v);
}

/* Draws whatever the loaded state says, and uses every register bank. */
static void vga_poke(void *p)
{
    struct vga_subject *s = p;
    for (int full = 0; full < 2; full++) {
        display_lock(s->d);
        display_refresh(s->d, full);
        display_unlock(s->d);
    }
    for (unsigned port = 0x3c0; port < 0x3e0; port++)
        pio_in(&s->h, port, 1);
    pio_out(&s->h, 0x1ce, 2, 4);
    pio_in(&s->h, 0x1cf, 2);
    uint64_t v;
    bus_read(&s->h.mmio, 0xe0000000, 4, &v);
    bus_write(&s->h.mmio, 0xe0000000 + 100, 4, 0x123456);
    display_lock(s->d);
    display_refresh(s->d, false);
    display_unlock(s->d);
}

static void vga_state_hostile(void)
{
    struct vga_subject *s = vga_make();
    struct blob good;
    vga_cfg_write(&s->h, 0x10, 0xe0000000u);
    vga_cfg_write(&s->h, 0x04, 0x3);
    pio_out(&s->h, 0x1ce, 2, 1); pio_out(&s->h, 0x1cf, 2, 64);
    pio_out(&s->h, 0x1ce, 2, 2); pio_out(&s->h, 0x1cf, 2, 32);
    pio_out(&s->h, 0x1ce, 2, 3); pio_out(&s->h, 0x1cf, 2, 32);
    pio_out(&s->h, 0x1ce, 2, 4); pio_out(&s->h, 0x1cf, 2, 0x41);
    bus_write(&s->h.mmio, 0xe0000000 + 40, 4, 0xabcdef);
    pio_out(&s->h, 0x3c8, 1, 3);
    pio_out(&s->h, 0x3c9, 1, 0x3f);
    SAVE(vga_save, s->v, &good);
    printf("  vga: %zu bytes (43 of them framebuffer)\n", good.len);
    vga_unmake(s);
    const struct subject subj = { "vga", vga_make, vga_unmake, vga_subject_load, vga_poke };
    hostile(&subj, &good, MUTATIONS);
    blob_free(&good);
}

/* ---- i8042 ------------------------------------------------------------------- */

static void kbc_cmd(struct dev_harness *h, uint8_t c) { pio_out(h, PORT_I8042_CMD, 1, c); }
static void kbc_data(struct dev_harness *h, uint8_t d) { pio_out(h, PORT_I8042_DATA, 1, d); }

static void i8042_state_roundtrip(void)
{
    struct dev_harness ha, hb;
    struct i8042 *a, *b;
    struct blob s1, s2;
    reset_lines();
    hinit(&ha);
    hinit(&hb);
    CHECK_EQ(i8042_create(&ha.pio, PORT_I8042_DATA, PORT_I8042_CMD, dev_harness_line(&ha, IRQ_KBD),
                          dev_harness_line(&ha, IRQ_AUX), dev_harness_stop(&ha), &a), 0);
    kbc_cmd(&ha, 0x60);
    kbc_data(&ha, 0x47);                          /* both interrupts, system flag, xlat */
    kbc_cmd(&ha, 0xd4);
    kbc_data(&ha, 0xf3);                          /* mouse: sample rate ... */
    kbc_cmd(&ha, 0xd4);
    kbc_data(&ha, 40);                            /* ... 40 */
    kbc_cmd(&ha, 0xd4);
    kbc_data(&ha, 0xf4);                          /* reporting on */
    kbc_data(&ha, 0xf2);                          /* keyboard: identify */
    kbc_data(&ha, 0xed);                          /* LEDs: a parameter follows */
    pio_in(&ha, PORT_I8042_DATA, 1);              /* one byte read */
    kbc_cmd(&ha, 0xd1);                           /* the next data byte: output port */
    CHECK_EQ(level(IRQ_AUX), 1);
    SAVE(i8042_save, a, &s1);
    printf("  i8042: %zu bytes\n", s1.len);

    CHECK_EQ(i8042_create(&hb.pio, PORT_I8042_DATA, PORT_I8042_CMD,
                          dev_harness_line(&hb, IRQ_KBD + COPY), dev_harness_line(&hb, IRQ_AUX + COPY),
                          dev_harness_stop(&hb), &b), 0);
    CHECK_EQ(LOAD(i8042_load, b, &s1), 0);
    CHECK_EQ(level(IRQ_AUX + COPY), 1);
    CHECK_EQ(level(IRQ_KBD + COPY), 0);
    SAVE(i8042_save, b, &s2);
    CHECK(same(&s1, &s2));
    CHECK_EQ(pio_in(&ha, PORT_I8042_CMD, 1), pio_in(&hb, PORT_I8042_CMD, 1));
    kbc_data(&ha, 0x03);                          /* to the output port, on both */
    kbc_data(&hb, 0x03);
    kbc_data(&ha, 0x07);                          /* the LED parameter */
    kbc_data(&hb, 0x07);
    kbc_cmd(&ha, 0xd0);
    kbc_cmd(&hb, 0xd0);
    for (int i = 0; i < 12; i++) {
        CHECK_EQ(pio_in(&ha, PORT_I8042_CMD, 1), pio_in(&hb, PORT_I8042_CMD, 1));
        CHECK_EQ(level(IRQ_KBD), level(IRQ_KBD + COPY));
        CHECK_EQ(level(IRQ_AUX), level(IRQ_AUX + COPY));
        CHECK_EQ(pio_in(&ha, PORT_I8042_DATA, 1), pio_in(&hb, PORT_I8042_DATA, 1));
    }
    CHECK(!dev_harness_stopped(&ha));
    CHECK(!dev_harness_stopped(&hb));
    blob_free(&s1);
    blob_free(&s2);
    i8042_destroy(a);
    i8042_destroy(b);
    dev_harness_destroy(&ha);
    dev_harness_destroy(&hb);
}

struct i8042_subject {
    struct dev_harness h;
    struct i8042 *k;
};

static void *i8042_make(void)
{
    struct i8042_subject *s = calloc(1, sizeof(*s));
    hinit(&s->h);
    i8042_create(&s->h.pio, PORT_I8042_DATA, PORT_I8042_CMD, dev_harness_line(&s->h, IRQ_KBD + COPY),
                 dev_harness_line(&s->h, IRQ_AUX + COPY), dev_harness_stop(&s->h), &s->k);
    return s;
}

static void i8042_unmake(void *p)
{
    struct i8042_subject *s = p;
    i8042_destroy(s->k);
    dev_harness_destroy(&s->h);
    free(s);
}

static int i8042_subject_load(void *p, struct state_in *in, struct err *e)
{
    return i8042_load(((struct i8042_subject *)p)->k, in, e);
}

static void i8042_poke(void *p)
{
    struct i8042_subject *s = p;
    for (int i = 0; i < 40; i++) {
        pio_in(&s->h, PORT_I8042_CMD, 1);
        pio_in(&s->h, PORT_I8042_DATA, 1);
    }
    kbc_data(&s->h, 0x07);
    kbc_cmd(&s->h, 0x20);
    kbc_cmd(&s->h, 0xd4);
    kbc_data(&s->h, 0xe9);
    for (int i = 0; i < 8; i++)
        pio_in(&s->h, PORT_I8042_DATA, 1);
}

static void i8042_state_hostile(void)
{
    struct i8042_subject *s = i8042_make();
    struct blob good;
    kbc_data(&s->h, 0xf2);
    kbc_cmd(&s->h, 0xd4);
    kbc_data(&s->h, 0xe8);
    SAVE(i8042_save, s->k, &good);
    i8042_unmake(s);
    const struct subject subj = { "i8042", i8042_make, i8042_unmake, i8042_subject_load,
                                  i8042_poke };
    hostile(&subj, &good, MUTATIONS);
    void *d = i8042_make();
    uint8_t *bad = malloc(good.len);
    memcpy(bad, good.p, good.len);
    bad[32 + 2] = 9;                              /* data port target */
    refused_with(i8042_subject_load, d, bad, good.len, "i8042 0x60: data port target 9");
    free(bad);
    i8042_unmake(d);
    blob_free(&good);
}

/* ---- ACPI PM ------------------------------------------------------------------- */

static void acpi_pm_state_roundtrip(void)
{
    struct dev_harness ha, hb;
    struct acpi_pm *a, *b;
    struct blob s1, s2;
    reset_lines();
    hinit(&ha);
    hinit(&hb);
    CHECK_EQ(acpi_pm_create(&ha.pio, PORT_ACPI_PM, dev_harness_line(&ha, IRQ_SCI), &ha.clock,
                            dev_harness_stop(&ha), &a), 0);
    sleep_ms(5);                                  /* a timer that has counted */
    pio_out(&ha, PORT_ACPI_PM1A_EVT + 2, 2, 0x0100);          /* PWRBTN_EN */
    pio_out(&ha, PORT_ACPI_PM1A_CNT, 2, 3 << 10);            /* SLP_TYP 3, no SLP_EN */
    acpi_pm_pause(a);
    acpi_pm_power_button(a);                      /* held while paused ... */
    CHECK_EQ(level(IRQ_SCI), 0);
    /* Guest time stands still in a paused machine: the timer too. */
    guest_clock_pause(&ha.clock);
    guest_clock_pause(&hb.clock);
    SAVE(acpi_pm_save, a, &s1);
    printf("  acpi-pm: %zu bytes\n", s1.len);

    CHECK_EQ(acpi_pm_create(&hb.pio, PORT_ACPI_PM, dev_harness_line(&hb, IRQ_SCI + COPY),
                            &hb.clock, dev_harness_stop(&hb), &b), 0);
    CHECK_EQ(LOAD(acpi_pm_load, b, &s1), 0);
    CHECK_EQ(level(IRQ_SCI + COPY), 1);           /* ... but in the snapshot */
    SAVE(acpi_pm_save, b, &s2);
    CHECK(same(&s1, &s2));
    acpi_pm_resume(a);
    CHECK_EQ(level(IRQ_SCI), 1);
    CHECK(acpi_pm_timer(a) > 0);
    CHECK_EQ(acpi_pm_timer(a), acpi_pm_timer(b));
    CHECK_EQ(pio_in(&ha, PORT_ACPI_PM_TMR, 4), pio_in(&hb, PORT_ACPI_PM_TMR, 4));
    CHECK_EQ(pio_in(&ha, PORT_ACPI_PM1A_EVT, 4), pio_in(&hb, PORT_ACPI_PM1A_EVT, 4));
    CHECK_EQ(pio_in(&ha, PORT_ACPI_PM1A_CNT, 2), pio_in(&hb, PORT_ACPI_PM1A_CNT, 2));
    pio_out(&ha, PORT_ACPI_PM1A_EVT, 2, 0x0100);  /* acknowledged on both */
    pio_out(&hb, PORT_ACPI_PM1A_EVT, 2, 0x0100);
    CHECK_EQ(level(IRQ_SCI), 0);
    CHECK_EQ(level(IRQ_SCI + COPY), 0);
    /* Both count on from there at the same rate. */
    guest_clock_resume(&ha.clock);
    guest_clock_resume(&hb.clock);
    sleep_ms(2);
    uint32_t ta = acpi_pm_timer(a), tb = acpi_pm_timer(b);
    CHECK(ta - tb + 36000u < 72000u);             /* within 10 ms of each other */
    blob_free(&s1);
    blob_free(&s2);
    acpi_pm_destroy(a);
    acpi_pm_destroy(b);
    dev_harness_destroy(&ha);
    dev_harness_destroy(&hb);
}

struct acpi_subject {
    struct dev_harness h;
    struct acpi_pm *pm;
};

static void *acpi_make(void)
{
    struct acpi_subject *s = calloc(1, sizeof(*s));
    hinit(&s->h);
    acpi_pm_create(&s->h.pio, PORT_ACPI_PM, dev_harness_line(&s->h, IRQ_SCI + COPY), &s->h.clock,
                   dev_harness_stop(&s->h), &s->pm);
    return s;
}

static void acpi_unmake(void *p)
{
    struct acpi_subject *s = p;
    acpi_pm_destroy(s->pm);
    dev_harness_destroy(&s->h);
    free(s);
}

static int acpi_subject_load(void *p, struct state_in *in, struct err *e)
{
    return acpi_pm_load(((struct acpi_subject *)p)->pm, in, e);
}

static void acpi_poke(void *p)
{
    struct acpi_subject *s = p;
    for (int i = 0; i < 4; i++) {
        pio_in(&s->h, PORT_ACPI_PM1A_EVT, 4);
        pio_in(&s->h, PORT_ACPI_PM_TMR, 4);
        pio_in(&s->h, PORT_ACPI_PM1A_CNT, 2);
    }
    pio_out(&s->h, PORT_ACPI_PM1A_EVT, 4, 0xffffffff);
    acpi_pm_power_button(s->pm);
}

static void acpi_pm_state_hostile(void)
{
    struct acpi_subject *s = acpi_make();
    struct blob good;
    pio_out(&s->h, PORT_ACPI_PM1A_EVT + 2, 2, 0x0101);
    SAVE(acpi_pm_save, s->pm, &good);
    acpi_unmake(s);
    const struct subject subj = { "acpi-pm", acpi_make, acpi_unmake, acpi_subject_load,
                                  acpi_poke };
    hostile(&subj, &good, MUTATIONS);
    void *d = acpi_make();
    uint8_t *bad = malloc(good.len);
    memcpy(bad, good.p, good.len);
    bad[4] = 0x02;                                /* PM1 control: SLP_EN is never stored */
    bad[5] = 0x20;
    refused_with(acpi_subject_load, d, bad, good.len, "acpi-pm 0x600: PM1 control 0x2002");
    free(bad);
    acpi_unmake(d);
    blob_free(&good);
}

/* ---- the PCI bus ------------------------------------------------------------------ */

static uint64_t tdev_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    return (uintptr_t)opaque + offset;
}

static void tdev_write(void *opaque, uint64_t offset, unsigned size, uint64_t v)
{
    (void)opaque; (void)offset; (void)size; (void)v;
}

static const struct bus_ops tdev_ops = { .read = tdev_read, .write = tdev_write };

struct pci_rig {
    struct dev_harness h;
    struct pci_bus *bus;
    struct pci_device dev;
    bool has_dev;
};

/* A bus as the board wires it, with (when dev_id) a device in slot 3 that
 * has a memory BAR, an I/O BAR and INTA. */
static void pci_rig_init(struct pci_rig *r, unsigned lines, uint16_t dev_id)
{
    memset(r, 0, sizeof(*r));
    hinit(&r->h);
    struct pci_host_wiring w = {
        .pio = &r->h.pio, .mmio = &r->h.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&r->h, PCI_IRQ_A + lines),
                  dev_harness_line(&r->h, PCI_IRQ_B + lines) },
        .msi = dev_harness_msi(&r->h), .reset = dev_harness_stop(&r->h),
    };
    CHECK_EQ(pci_bus_create(&w, &r->bus), 0);
    if (!dev_id)
        return;
    pci_device_init(&r->dev, "test", 0x1af4, dev_id, 0xff0000, 1);
    CHECK_EQ(pci_device_set_bar(&r->dev, 0, PCI_BAR_MEM32, false, 4096, &tdev_ops,
                                (void *)0x1000), 0);
    CHECK_EQ(pci_device_set_bar(&r->dev, 1, PCI_BAR_IO, false, 32, &tdev_ops, (void *)0x2000), 0);
    pci_device_set_intx_pin(&r->dev, 1);
    CHECK_EQ(pci_bus_add_device(r->bus, &r->dev, 3), 0);
    r->has_dev = true;
}

static void pci_rig_destroy(struct pci_rig *r)
{
    pci_bus_destroy(r->bus);
    dev_harness_destroy(&r->h);
}

static uint32_t rig_cfg_read(struct pci_rig *r, unsigned slot, unsigned reg, unsigned size)
{
    pio_out(&r->h, PORT_PCI_CONFIG_ADDR, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
    return (uint32_t)pio_in(&r->h, PORT_PCI_CONFIG_DATA + (reg & 3), size);
}

static void rig_cfg_write(struct pci_rig *r, unsigned slot, unsigned reg, unsigned size,
                          uint32_t v)
{
    pio_out(&r->h, PORT_PCI_CONFIG_ADDR, 4, 0x80000000u | slot << 11 | (reg & 0xfc));
    pio_out(&r->h, PORT_PCI_CONFIG_DATA + (reg & 3), size, v);
}

static void pci_state_roundtrip(void)
{
    struct pci_rig a, b, other;
    struct blob s1, s2;
    uint8_t cfg[PCI_CONFIG_SIZE], cfg2[PCI_CONFIG_SIZE];
    reset_lines();
    pci_rig_init(&a, 0, 0x1234);
    rig_cfg_write(&a, 0, 0x04, 2, 0x0007);        /* host bridge: command */
    rig_cfg_write(&a, 0, 0x0d, 1, 0x40);          /* latency timer */
    rig_cfg_write(&a, 3, 0x10, 4, 0xfe000000);
    rig_cfg_write(&a, 3, 0x14, 4, 0xc000);
    rig_cfg_write(&a, 3, 0x04, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    pci_device_set_irq(&a.dev, 1);                /* asked, but INTx is disabled */
    pio_out(&a.h, PORT_PCI_CONFIG_ADDR, 4, 0x80001810);
    pio_out(&a.h, PORT_PCI_CONFIG_ADDR + 1, 1, 0x02);
    SAVE(pci_bus_save, a.bus, &s1);
    pci_device_save_config(&a.dev, cfg);
    printf("  pci bus: %zu bytes, and %d for each device's config space\n", s1.len,
           PCI_CONFIG_SIZE);

    pci_rig_init(&b, COPY, 0x1234);
    CHECK_EQ(LOAD(pci_bus_load, b.bus, &s1), 0);
    CHECK_EQ(pci_device_check_config(&b.dev, cfg, NULL), 0);
    pci_device_load_config(&b.dev, cfg);
    SAVE(pci_bus_save, b.bus, &s2);
    CHECK(same(&s1, &s2));
    pci_device_save_config(&b.dev, cfg2);
    CHECK(memcmp(cfg, cfg2, sizeof(cfg)) == 0);
    CHECK_EQ(pio_in(&a.h, PORT_PCI_CONFIG_ADDR, 4), pio_in(&b.h, PORT_PCI_CONFIG_ADDR, 4));
    CHECK_EQ(pio_in(&a.h, PORT_PCI_CONFIG_ADDR + 1, 1), pio_in(&b.h, PORT_PCI_CONFIG_ADDR + 1, 1));
    CHECK_EQ(pio_in(&b.h, PORT_PCI_CONFIG_DATA, 4), 0xfe000000);   /* the saved address */
    /* What a device asks of INTx is its model's state, not config: the
     * model restores it (virtio from its ISR). */
    pci_device_set_irq(&b.dev, 1);
    for (unsigned slot = 0; slot < 4; slot++)
        for (unsigned reg = 0; reg < 0x40; reg += 4)
            CHECK_EQ(rig_cfg_read(&a, slot, reg, 4), rig_cfg_read(&b, slot, reg, 4));
    /* The BARs were placed from the loaded config. */
    uint64_t v = 0;
    CHECK_EQ(bus_read(&b.h.mmio, 0xfe000010, 4, &v), 0);
    CHECK_EQ(v, 0x1010);
    CHECK_EQ(bus_read(&b.h.pio, 0xc004, 1, &v), 0);
    CHECK_EQ(v, 0x2004);
    /* INTx follows the loaded command register. */
    CHECK_EQ(level(PCI_IRQ_A + COPY) + level(PCI_IRQ_B + COPY), 0);
    rig_cfg_write(&b, 3, 0x04, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    CHECK_EQ(level(PCI_IRQ_A + COPY) + level(PCI_IRQ_B + COPY), 1);

    /* Built differently: refused, saying how. */
    pci_rig_init(&other, COPY, 0);
    struct state_in in;
    struct err e = ERR_INIT;
    state_in_init(&in, s1.p, s1.len);
    CHECK_EQ(pci_bus_load(other.bus, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "slots") != NULL);
    pci_rig_destroy(&other);
    pci_rig_init(&other, COPY, 0x1235);
    err_clear(&e);
    state_in_init(&in, s1.p, s1.len);
    CHECK_EQ(pci_bus_load(other.bus, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "slot 3 held device 1af4:1234") != NULL);
    err_clear(&e);
    CHECK_EQ(pci_device_check_config(&other.dev, cfg, &e), -EINVAL);
    CHECK(strstr(e.msg, "test 00:03.0: config byte 0x02") != NULL);
    cfg[PCI_STATUS + 1] |= 0x80;                  /* a parity error the device never flags */
    err_clear(&e);
    CHECK_EQ(pci_device_check_config(&b.dev, cfg, &e), -EINVAL);
    CHECK(strstr(e.msg, "status bits") != NULL);
    pci_rig_destroy(&other);

    blob_free(&s1);
    blob_free(&s2);
    pci_rig_destroy(&a);
    pci_rig_destroy(&b);
}

static void *pci_make(void)
{
    struct pci_rig *r = malloc(sizeof(*r));
    pci_rig_init(r, COPY, 0x1234);
    return r;
}

static void pci_unmake(void *p)
{
    pci_rig_destroy(p);
    free(p);
}

static int pci_subject_load(void *p, struct state_in *in, struct err *e)
{
    return pci_bus_load(((struct pci_rig *)p)->bus, in, e);
}

static void pci_poke(void *p)
{
    struct pci_rig *r = p;
    pio_in(&r->h, PORT_PCI_CONFIG_DATA, 4);
    pio_in(&r->h, PORT_PCI_CONFIG_ADDR + 1, 1);
    for (unsigned reg = 0; reg < 0x40; reg += 4)
        rig_cfg_read(r, 0, reg, 4);
    rig_cfg_write(r, 0, 0x04, 2, 0xffff);
}

static void pci_state_hostile(void)
{
    struct pci_rig *r = pci_make();
    struct blob good;
    rig_cfg_write(r, 0, 0x0c, 1, 0x10);
    SAVE(pci_bus_save, r->bus, &good);
    pci_unmake(r);
    const struct subject subj = { "pci bus", pci_make, pci_unmake, pci_subject_load, pci_poke };
    hostile(&subj, &good, MUTATIONS);
    blob_free(&good);
}

/* ---- virtio: the rig and the driver's view -------------------------------------- */

#define F_VERSION_1 (1ULL << 32)
#define F_EVENT_IDX (1ULL << 29)
#define F_INDIRECT  (1ULL << 28)

/* vt_init with the INTx lines moved by `lines`, without resetting the
 * recorders. */
static void vrig_init(struct vt *t, unsigned lines)
{
    memset(t, 0, sizeof(*t));
    hinit(&t->dh);
    CHECK_EQ(dev_harness_mem(&t->dh, VT_RAM), 0);
    struct pci_host_wiring w = {
        .pio = &t->dh.pio, .mmio = &t->dh.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&t->dh, PCI_IRQ_A + lines),
                  dev_harness_line(&t->dh, PCI_IRQ_B + lines) },
        .msi = dev_harness_msi(&t->dh), .reset = dev_harness_stop(&t->dh),
    };
    CHECK_EQ(pci_bus_create(&w, &t->bus), 0);
}

/* What a restore does with RAM, and what the guest's driver remembers. */
static void vrig_clone_driver(struct vt *b, const struct vt *a)
{
    memcpy(b->dh.mem.host, a->dh.mem.host, a->dh.mem.size);
    b->slot = a->slot;
    b->common = a->common;
    b->notify = a->notify;
    b->isr = a->isr;
    b->device = a->device;
    b->notify_mult = a->notify_mult;
    b->msix_cap = a->msix_cap;
    for (unsigned q = 0; q < 4; q++) {
        b->q[q] = a->q[q];
        b->q[q].mem = &b->dh.mem;
    }
}

/* The two devices answer every register alike. */
static void vrig_compare(struct vt *a, struct vt *b, unsigned nq, unsigned config_size)
{
    for (unsigned reg = 0; reg < PCI_CONFIG_SIZE; reg += 4)
        CHECK_EQ(vt_cfg_read(a, reg, 4), vt_cfg_read(b, reg, 4));
    for (unsigned off = 0; off < 0x16; off += 2)
        CHECK_EQ(vt_rd(a, a->common + off, 2), vt_rd(b, b->common + off, 2));
    for (unsigned sel = 0; sel < 3; sel++) {
        vt_wr(a, a->common + VT_DFSELECT, 4, sel);
        vt_wr(b, b->common + VT_DFSELECT, 4, sel);
        CHECK_EQ(vt_rd(a, a->common + VT_DF, 4), vt_rd(b, b->common + VT_DF, 4));
        vt_wr(a, a->common + VT_GFSELECT, 4, sel);
        vt_wr(b, b->common + VT_GFSELECT, 4, sel);
        CHECK_EQ(vt_rd(a, a->common + VT_GF, 4), vt_rd(b, b->common + VT_GF, 4));
    }
    for (unsigned q = 0; q <= nq; q++) {
        vt_wr(a, a->common + VT_QSELECT, 2, q);
        vt_wr(b, b->common + VT_QSELECT, 2, q);
        for (unsigned off = VT_QSIZE; off < VT_QDESC; off += 2)
            CHECK_EQ(vt_rd(a, a->common + off, 2), vt_rd(b, b->common + off, 2));
        for (unsigned off = VT_QDESC; off <= VT_QDEVICE; off += 8)
            CHECK_EQ(vt_rd(a, a->common + off, 8), vt_rd(b, b->common + off, 8));
    }
    uint32_t table = vt_cfg_read(a, (unsigned)a->msix_cap + 4, 4) & ~7u;
    for (unsigned off = 0; off < 16 * (nq + 1); off += 4)
        CHECK_EQ(vt_rd(a, table + off, 4), vt_rd(b, table + off, 4));
    CHECK_EQ(vt_rd(a, VIRTIO_PCI_PBA_OFF, 8), vt_rd(b, VIRTIO_PCI_PBA_OFF, 8));
    for (unsigned off = 0; off < config_size; off++)
        CHECK_EQ(vt_rd(a, a->device + off, 1), vt_rd(b, b->device + off, 1));
    CHECK_EQ(vt_rd(a, a->isr, 1), vt_rd(b, b->isr, 1));
}

static void vrig_poke(struct vt *t, unsigned nq)
{
    for (unsigned q = 0; q < nq; q++)
        bus_write(&t->dh.mmio, VT_BAR_ADDR + VIRTIO_PCI_NOTIFY_OFF + 4 * q, 2, q);
    for (unsigned off = 0; off < VIRTIO_PCI_COMMON_LEN; off += 4)
        vt_rd(t, off, 4);
    vt_rd(t, VIRTIO_PCI_ISR_OFF, 1);
    for (unsigned off = 0; off < 0x80; off += 4)
        vt_rd(t, VIRTIO_PCI_MSIX_OFF + off, 4);
    vt_rd(t, VIRTIO_PCI_PBA_OFF, 8);
    for (unsigned reg = 0; reg < PCI_CONFIG_SIZE; reg += 4)
        vt_cfg_read(t, reg, 4);
}

static uint32_t used_len(struct tq *q, uint16_t i)
{
    uint32_t id, len;
    tq_used_elem(q, i, &id, &len);
    return len;
}

static uint32_t used_id(struct tq *q, uint16_t i)
{
    uint32_t id, len;
    tq_used_elem(q, i, &id, &len);
    return id;
}

/* ---- virtio-blk ---------------------------------------------------------------- */

#define BLK_SECTORS 256ULL
#define BLK_HDR  0x200000ULL
#define BLK_STAT 0x280000ULL
#define BLK_DATA 0x300000ULL

static char blk_path[64];

static void blk_make_disk(const char *path, uint64_t sectors)
{
    struct err e = ERR_INIT;
    unlink(path);
    struct block_create_opts co = { .format = BLOCK_FORMAT_RAW, .size = sectors * 512 };
    CHECK_EQ(block_create(path, &co, &e), 0);
    FILE *f = fopen(path, "r+b");
    for (unsigned s = 0; s < sectors; s++)
        for (int i = 0; i < 512; i++)
            fputc((int)(s & 0xff), f);
    fclose(f);
}

static struct blockdev *blk_open(const char *path, bool readonly)
{
    struct err e = ERR_INIT;
    struct blockdev *bd = NULL;
    struct block_open_opts oo = { .format = BLOCK_FORMAT_RAW, .readonly = readonly };
    CHECK_EQ(block_open(path, &oo, &bd, &e), 0);
    return bd;
}

/* Request n (descriptors 3n .. 3n + 2): header, data, status. */
static void blk_submit(struct vt *t, unsigned n, uint32_t type, uint64_t sector, uint32_t len,
                       bool notify)
{
    struct tq *q = &t->q[0];
    uint8_t h[16] = {0};
    memcpy(h, &type, 4);
    memcpy(h + 8, &sector, 8);
    mem_write(&t->dh.mem, BLK_HDR + 16 * n, h, 16);
    uint8_t ee = 0xee;
    mem_write(&t->dh.mem, BLK_STAT + n, &ee, 1);
    tq_desc(q, 3 * n, BLK_HDR + 16 * n, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(3 * n + 1));
    tq_desc(q, 3 * n + 1, BLK_DATA + 0x1000 * n, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
            (uint16_t)(3 * n + 2));
    tq_desc(q, 3 * n + 2, BLK_STAT + n, 1, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(q, (uint16_t)(3 * n));
    if (notify)
        vt_notify(t, 0);
}

/* With EVENT_IDX: interrupt me once the used index passes idx. */
static void set_used_event(struct tq *q, uint16_t idx)
{
    uint16_t *p = mem_ptr(q->mem, q->avail + 4 + 2u * q->size, 2);
    __atomic_store_n(p, idx, __ATOMIC_RELEASE);
}

static uint8_t blk_status(struct vt *t, unsigned n)
{
    uint8_t s = 0;
    mem_read(&t->dh.mem, BLK_STAT + n, &s, 1);
    return s;
}

static bool blk_data_is(struct vt *t, unsigned n, uint32_t len, uint8_t byte)
{
    uint8_t buf[4096];
    mem_read(&t->dh.mem, BLK_DATA + 0x1000 * n, buf, len);
    for (uint32_t i = 0; i < len; i++)
        if (buf[i] != byte)
            return false;
    return true;
}

static struct virtio_blk *blk_setup(struct vt *t, struct blockdev *bd)
{
    struct virtio_blk *blk = NULL;
    CHECK_EQ(virtio_blk_create(&t->dh.mem, t->bus, bd, "state-disk", &blk), 0);
    CHECK_EQ(vt_probe(t, 0x1042), 0);
    uint64_t df = vt_device_features(t);
    CHECK_EQ(vt_negotiate(t, F_VERSION_1 | F_EVENT_IDX | (df & 0x6246)), 0x0b);
    vt_msix_enable(t, 2);
    vt_wr(t, t->common + VT_CONFIG_MSIX, 2, 0);
    CHECK_EQ(vt_setup_queue(t, 0, 32, 0x10000, 1), 0);
    vt_driver_ok(t);
    return blk;
}

static void virtio_blk_state_roundtrip(void)
{
    struct vt a, b, other;
    struct blob s1, s2;
    reset_lines();
    snprintf(blk_path, sizeof(blk_path), "/tmp/hostel-state-%d.img", (int)getpid());
    blk_make_disk(blk_path, BLK_SECTORS);
    vrig_init(&a, 0);
    vrig_init(&b, COPY);
    struct blockdev *bda = blk_open(blk_path, false), *bdb = blk_open(blk_path, false);
    struct virtio_blk *ba = blk_setup(&a, bda), *bb = NULL;
    blk_submit(&a, 0, 0, 5, 512, true);                  /* read sector 5 */
    blk_submit(&a, 1, 8, 0, 20, true);                   /* GET_ID */
    blk_submit(&a, 2, 0, 9, 1024, true);                 /* read sectors 9-10 */
    CHECK(vt_wait_used(&a, 0, 3));
    CHECK(blk_data_is(&a, 0, 512, 5));
    /* Paused: a request the guest makes now waits, notified, in the state. */
    virtio_blk_pause(ba);
    set_used_event(&a.q[0], 3);
    blk_submit(&a, 3, 0, 20, 512, true);
    sleep_ms(20);
    CHECK_EQ(tq_used_idx(&a.q[0]), 3);
    SAVE(virtio_blk_save, ba, &s1);
    printf("  virtio-blk: %zu bytes\n", s1.len);

    CHECK_EQ(virtio_blk_create(&b.dh.mem, b.bus, bdb, "state-disk", &bb), 0);
    vrig_clone_driver(&b, &a);
    int msis = atomic_load(&fake_msi_count);
    CHECK_EQ(LOAD(virtio_blk_load, bb, &s1), 0);
    /* The copy takes the waiting request at once; the original on resume. */
    CHECK(vt_wait_used(&b, 0, 4));
    CHECK(vt_wait_msi(msis + 1));
    CHECK_EQ(fake_msi_last_data, 0x41);
    CHECK_EQ(tq_used_idx(&a.q[0]), 3);
    virtio_blk_pause(bb);
    SAVE(virtio_blk_save, bb, &s2);
    virtio_blk_resume(bb);
    virtio_blk_resume(ba);
    CHECK(vt_wait_used(&a, 0, 4));
    /* Identical but for the request the copy finished first. */
    CHECK_EQ(s1.len, s2.len);
    virtio_blk_pause(ba);
    blob_free(&s1);
    SAVE(virtio_blk_save, ba, &s1);
    virtio_blk_resume(ba);
    CHECK(same(&s1, &s2));
    CHECK_EQ(used_id(&a.q[0], 3), used_id(&b.q[0], 3));
    CHECK_EQ(used_len(&a.q[0], 3), used_len(&b.q[0], 3));
    CHECK_EQ(blk_status(&a, 3), 0);
    CHECK_EQ(blk_status(&b, 3), 0);
    CHECK(blk_data_is(&b, 3, 512, 20));
    vrig_compare(&a, &b, 1, 60);
    /* And on from there, alike. */
    msis = atomic_load(&fake_msi_count);
    set_used_event(&a.q[0], 4);
    set_used_event(&b.q[0], 4);
    blk_submit(&a, 4, 0, 33, 2048, true);
    blk_submit(&b, 4, 0, 33, 2048, true);
    CHECK(vt_wait_used(&a, 0, 5));
    CHECK(vt_wait_used(&b, 0, 5));
    CHECK(blk_data_is(&a, 4, 512, 33) && blk_data_is(&b, 4, 512, 33));
    CHECK(blk_data_is(&b, 4 , 2048, 33) == false);   /* sectors 33-36 differ */
    CHECK_EQ(used_len(&a.q[0], 4), used_len(&b.q[0], 4));
    CHECK(vt_wait_msi(msis + 2));

    /* A disk of another size, or read-only: refused, saying so. */
    char path2[80];
    snprintf(path2, sizeof(path2), "%s.2", blk_path);
    blk_make_disk(path2, BLK_SECTORS * 2);
    struct blockdev *bd2 = blk_open(path2, false), *bd3 = blk_open(blk_path, true);
    struct virtio_blk *b2 = NULL;
    vrig_init(&other, COPY);
    CHECK_EQ(virtio_blk_create(&other.dh.mem, other.bus, bd2, "state-disk", &b2), 0);
    struct state_in in;
    struct err e = ERR_INIT;
    state_in_init(&in, s1.p, s1.len);
    CHECK_EQ(virtio_blk_load(b2, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "virtio-blk 00:01.0: the saved disk had 256 sectors, this one has 512"));
    virtio_blk_destroy(b2);
    vt_destroy(&other);
    vrig_init(&other, COPY);
    CHECK_EQ(virtio_blk_create(&other.dh.mem, other.bus, bd3, "state-disk", &b2), 0);
    err_clear(&e);
    state_in_init(&in, s1.p, s1.len);
    CHECK_EQ(virtio_blk_load(b2, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "features") != NULL);
    virtio_blk_destroy(b2);
    vt_destroy(&other);
    block_close(bd2);
    block_close(bd3);
    unlink(path2);

    blob_free(&s1);
    blob_free(&s2);
    virtio_blk_destroy(ba);
    virtio_blk_destroy(bb);
    block_close(bda);
    block_close(bdb);
    vt_destroy(&a);
    vt_destroy(&b);
}

struct vsubject {
    struct vt t;
    struct blockdev *bd;
    void *dev;
};

static void *blk_make(void)
{
    struct vsubject *s = calloc(1, sizeof(*s));
    vrig_init(&s->t, COPY);
    s->t.slot = 1;
    s->bd = blk_open(blk_path, false);
    virtio_blk_create(&s->t.dh.mem, s->t.bus, s->bd, "state-disk", (struct virtio_blk **)&s->dev);
    return s;
}

static void blk_unmake(void *p)
{
    struct vsubject *s = p;
    virtio_blk_destroy(s->dev);
    block_close(s->bd);
    vt_destroy(&s->t);
    free(s);
}

static int blk_subject_load(void *p, struct state_in *in, struct err *e)
{
    return virtio_blk_load(((struct vsubject *)p)->dev, in, e);
}

static void blk_poke(void *p)
{
    vrig_poke(&((struct vsubject *)p)->t, 1);
}

static void virtio_blk_state_hostile(void)
{
    struct vt a;
    struct blob good;
    reset_lines();
    vrig_init(&a, 0);
    struct blockdev *bd = blk_open(blk_path, false);
    struct virtio_blk *blk = blk_setup(&a, bd);
    blk_submit(&a, 0, 0, 1, 512, true);
    CHECK(vt_wait_used(&a, 0, 1));
    virtio_blk_pause(blk);
    SAVE(virtio_blk_save, blk, &good);
    virtio_blk_destroy(blk);
    block_close(bd);
    vt_destroy(&a);
    const struct subject subj = { "virtio-blk", blk_make, blk_unmake, blk_subject_load, blk_poke };
    hostile(&subj, &good, MUTATIONS);
    /* Refusals name the device and the field. */
    void *d = blk_make();
    uint8_t *bad = malloc(good.len);
    size_t q0 = PCI_CONFIG_SIZE + 8 + 8 + 4 + 4 + 1 + 1 + 2 + 2 + 1 + 1 + 2 * 16 + 8 + 4;
    memcpy(bad, good.p, good.len);
    bad[q0 + 2] = 3;                              /* queue 0's size */
    bad[q0 + 3] = 0;
    refused_with(blk_subject_load, d, bad, good.len,
                 "virtio-blk 00:01.0: queue 0: size 3 is not a power of two");
    memcpy(bad, good.p, good.len);
    bad[q0 + 8 + 7] = 0x40;                       /* descriptors far outside RAM */
    refused_with(blk_subject_load, d, bad, good.len, "queue 0: its rings");
    memcpy(bad, good.p, good.len);
    bad[q0] = 7;                                  /* MSI-X vector 7 of 2 */
    refused_with(blk_subject_load, d, bad, good.len, "queue 0: MSI-X vector 7");
    free(bad);
    blk_unmake(d);
    blob_free(&good);
    unlink(blk_path);
}

/* ---- virtio-rng, and quiescing ------------------------------------------------- */

#define RNG_BUF 0x100000ULL
#define RNG_LEN 0x10000u

static struct virtio_rng *rng_setup(struct vt *t, uint16_t qsize)
{
    struct virtio_rng *rng = NULL;
    CHECK_EQ(virtio_rng_create(&t->dh.mem, t->bus, &rng), 0);
    CHECK_EQ(vt_probe(t, 0x1044), 0);
    CHECK_EQ(vt_negotiate(t, F_VERSION_1), 0x0b);
    vt_msix_enable(t, 2);
    CHECK_EQ(vt_setup_queue(t, 0, qsize, 0x10000, 1), 0);
    vt_driver_ok(t);
    return rng;
}

/* Request i: one writable buffer of RNG_LEN bytes, filled with 0xaa first. */
static void rng_submit(struct vt *t, unsigned i, bool notify)
{
    uint8_t *p = mem_ptr(&t->dh.mem, RNG_BUF + (uint64_t)i * RNG_LEN, RNG_LEN);
    memset(p, 0xaa, RNG_LEN);
    tq_desc(&t->q[0], i, RNG_BUF + (uint64_t)i * RNG_LEN, RNG_LEN, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t->q[0], (uint16_t)i);
    if (notify)
        vt_notify(t, 0);
}

static bool rng_untouched(struct vt *t, unsigned i)
{
    const uint8_t *p = mem_ptr(&t->dh.mem, RNG_BUF + (uint64_t)i * RNG_LEN, RNG_LEN);
    for (unsigned k = 0; k < RNG_LEN; k++)
        if (p[k] != 0xaa)
            return false;
    return true;
}

static void virtio_rng_state_roundtrip(void)
{
    struct vt a, b;
    struct blob s1, s2;
    struct virtio_rng *ra, *rb = NULL;
    reset_lines();
    vrig_init(&a, 0);
    vrig_init(&b, COPY);
    ra = rng_setup(&a, 16);
    rng_submit(&a, 0, true);
    rng_submit(&a, 1, true);
    CHECK(vt_wait_used(&a, 0, 2));
    CHECK_EQ(used_len(&a.q[0], 1), RNG_LEN);
    virtio_rng_pause(ra);
    SAVE(virtio_rng_save, ra, &s1);
    printf("  virtio-rng: %zu bytes\n", s1.len);
    CHECK_EQ(virtio_rng_create(&b.dh.mem, b.bus, &rb), 0);
    vrig_clone_driver(&b, &a);
    CHECK_EQ(LOAD(virtio_rng_load, rb, &s1), 0);
    SAVE(virtio_rng_save, rb, &s2);
    CHECK(same(&s1, &s2));
    vrig_compare(&a, &b, 1, 0);
    virtio_rng_resume(ra);
    int msis = atomic_load(&fake_msi_count);
    rng_submit(&a, 2, true);
    rng_submit(&b, 2, true);
    CHECK(vt_wait_used(&a, 0, 3));
    CHECK(vt_wait_used(&b, 0, 3));
    CHECK(vt_wait_msi(msis + 2));
    CHECK_EQ(used_id(&b.q[0], 2), 2);
    CHECK_EQ(used_len(&b.q[0], 2), RNG_LEN);
    CHECK(!rng_untouched(&b, 2));
    blob_free(&s1);
    blob_free(&s2);
    virtio_rng_destroy(ra);
    virtio_rng_destroy(rb);
    vt_destroy(&a);
    vt_destroy(&b);
}

/* A paused device touches no guest memory and sends no MSI until resumed;
 * a pause that lands in a round of requests waits for the request being
 * served, no more, and the rest are served after resume (or by the copy
 * a snapshot taken meanwhile loads into). */
static void virtio_pause_is_quiet(void)
{
    struct vt a, b;
    struct virtio_rng *ra, *rb = NULL;
    struct blob s1;
    reset_lines();
    vrig_init(&a, 0);
    vrig_init(&b, COPY);
    ra = rng_setup(&a, 64);

    virtio_rng_pause(ra);
    int msis = atomic_load(&fake_msi_count);
    rng_submit(&a, 0, true);
    sleep_ms(50);
    CHECK_EQ(tq_used_idx(&a.q[0]), 0);
    CHECK(rng_untouched(&a, 0));
    CHECK_EQ(atomic_load(&fake_msi_count), msis);
    virtio_rng_resume(ra);
    CHECK(vt_wait_used(&a, 0, 1));
    CHECK(vt_wait_msi(msis + 1));
    CHECK(!rng_untouched(&a, 0));

    /* 62 requests, then a pause in the middle of serving them. */
    for (unsigned i = 1; i < 63; i++)
        rng_submit(&a, i, false);
    vt_notify(&a, 0);
    while (tq_used_idx(&a.q[0]) < 2) { }
    virtio_rng_pause(ra);
    uint16_t done = tq_used_idx(&a.q[0]);
    msis = atomic_load(&fake_msi_count);
    sleep_ms(30);
    CHECK_EQ(tq_used_idx(&a.q[0]), done);
    CHECK_EQ(atomic_load(&fake_msi_count), msis);
    for (unsigned i = done; i < 63; i++)
        CHECK(rng_untouched(&a, i));              /* nothing half done */
    printf("  paused after %u of 63 requests\n", done);
    SAVE(virtio_rng_save, ra, &s1);
    CHECK_EQ(virtio_rng_create(&b.dh.mem, b.bus, &rb), 0);
    vrig_clone_driver(&b, &a);
    CHECK_EQ(LOAD(virtio_rng_load, rb, &s1), 0);
    CHECK(vt_wait_used(&b, 0, 63));               /* the copy serves the rest */
    CHECK_EQ(tq_used_idx(&a.q[0]), done);
    virtio_rng_resume(ra);
    CHECK(vt_wait_used(&a, 0, 63));               /* and so does the original, resumed */
    for (unsigned i = 0; i < 63; i++) {
        CHECK_EQ(used_id(&a.q[0], (uint16_t)i), i);
        CHECK_EQ(used_id(&b.q[0], (uint16_t)i), i);
    }
    blob_free(&s1);
    virtio_rng_destroy(ra);
    virtio_rng_destroy(rb);
    vt_destroy(&a);
    vt_destroy(&b);
}

static void *rng_make(void)
{
    struct vsubject *s = calloc(1, sizeof(*s));
    vrig_init(&s->t, COPY);
    s->t.slot = 1;
    virtio_rng_create(&s->t.dh.mem, s->t.bus, (struct virtio_rng **)&s->dev);
    return s;
}

static void rng_unmake(void *p)
{
    struct vsubject *s = p;
    virtio_rng_destroy(s->dev);
    vt_destroy(&s->t);
    free(s);
}

static int rng_subject_load(void *p, struct state_in *in, struct err *e)
{
    return virtio_rng_load(((struct vsubject *)p)->dev, in, e);
}

static void rng_poke(void *p)
{
    vrig_poke(&((struct vsubject *)p)->t, 1);
}

static void virtio_rng_state_hostile(void)
{
    struct vt a;
    struct blob good;
    reset_lines();
    vrig_init(&a, 0);
    struct virtio_rng *rng = rng_setup(&a, 16);
    rng_submit(&a, 0, true);
    CHECK(vt_wait_used(&a, 0, 1));
    virtio_rng_pause(rng);
    rng_submit(&a, 1, true);                      /* a notification waits in the state */
    SAVE(virtio_rng_save, rng, &good);
    virtio_rng_destroy(rng);
    vt_destroy(&a);
    const struct subject subj = { "virtio-rng", rng_make, rng_unmake, rng_subject_load,
                                  rng_poke };
    hostile(&subj, &good, MUTATIONS);
    blob_free(&good);
}

/* ---- virtio-console ------------------------------------------------------------ */

#define CON_RX 0x200000ULL
#define CON_TX 0x210000ULL

struct capture {
    pthread_mutex_t lock;
    char buf[256];
    size_t len;
};

static void capture_out(void *opaque, const uint8_t *buf, size_t len)
{
    struct capture *c = opaque;
    pthread_mutex_lock(&c->lock);
    if (c->len + len < sizeof(c->buf)) {
        memcpy(c->buf + c->len, buf, len);
        c->len += len;
    }
    pthread_mutex_unlock(&c->lock);
}

static struct virtio_console *con_setup(struct vt *t, struct chardev *cd)
{
    struct virtio_console *con = NULL;
    CHECK_EQ(virtio_console_create(&t->dh.mem, t->bus, cd, &con), 0);
    CHECK_EQ(vt_probe(t, 0x1043), 0);
    CHECK_EQ(vt_negotiate(t, F_VERSION_1 | F_INDIRECT), 0x0b);
    vt_msix_enable(t, 3);
    CHECK_EQ(vt_setup_queue(t, 0, 8, 0x10000, 1), 0);
    CHECK_EQ(vt_setup_queue(t, 1, 8, 0x20000, 2), 0);
    vt_driver_ok(t);
    return con;
}

static void con_post_rx(struct vt *t, unsigned i)
{
    tq_desc(&t->q[0], i, CON_RX + 0x100 * i, 0x100, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t->q[0], (uint16_t)i);
    vt_notify(t, 0);
}

static void con_tx(struct vt *t, unsigned i, const char *s)
{
    mem_write(&t->dh.mem, CON_TX + 0x100 * i, s, strlen(s));
    tq_desc(&t->q[1], i, CON_TX + 0x100 * i, (uint32_t)strlen(s), 0, 0);
    tq_submit(&t->q[1], (uint16_t)i);
    vt_notify(t, 1);
}

static void virtio_console_state_roundtrip(void)
{
    struct vt a, b;
    struct blob s1, s2;
    struct chardev *ca, *cb;
    struct capture outa = { .lock = PTHREAD_MUTEX_INITIALIZER }, outb = outa;
    struct virtio_console *va, *vb = NULL;
    reset_lines();
    vrig_init(&a, 0);
    vrig_init(&b, COPY);
    CHECK_EQ(chardev_open_callback(capture_out, &outa, &ca), 0);
    CHECK_EQ(chardev_open_callback(capture_out, &outb, &cb), 0);
    va = con_setup(&a, ca);
    con_post_rx(&a, 0);
    con_post_rx(&a, 1);
    CHECK_EQ(chardev_push_input(ca, (const uint8_t *)"ls\r", 3), 3);
    CHECK(vt_wait_used(&a, 0, 1));
    con_tx(&a, 0, "hello ");
    CHECK(vt_wait_used(&a, 1, 1));
    /* Paused: typed input stays with the chardev. */
    virtio_console_pause(va);
    CHECK_EQ(chardev_push_input(ca, (const uint8_t *)"pwd", 3), 3);
    sleep_ms(20);
    CHECK_EQ(tq_used_idx(&a.q[0]), 1);
    SAVE(virtio_console_save, va, &s1);
    printf("  virtio-console: %zu bytes\n", s1.len);

    CHECK_EQ(virtio_console_create(&b.dh.mem, b.bus, cb, &vb), 0);
    vrig_clone_driver(&b, &a);
    CHECK_EQ(LOAD(virtio_console_load, vb, &s1), 0);
    SAVE(virtio_console_save, vb, &s2);
    CHECK(same(&s1, &s2));
    vrig_compare(&a, &b, 2, 12);
    /* Input typed at the copy lands in the next buffer, as the original's
     * held input does once it is resumed. */
    CHECK_EQ(chardev_push_input(cb, (const uint8_t *)"pwd", 3), 3);
    CHECK(vt_wait_used(&b, 0, 2));
    virtio_console_resume(va);
    CHECK(vt_wait_used(&a, 0, 2));
    CHECK_EQ(used_id(&a.q[0], 1), used_id(&b.q[0], 1));
    CHECK_EQ(used_len(&a.q[0], 1), 3);
    CHECK_EQ(used_len(&b.q[0], 1), 3);
    CHECK(memcmp(mem_ptr(&a.dh.mem, CON_RX + 0x100, 3), "pwd", 3) == 0);
    CHECK(memcmp(mem_ptr(&b.dh.mem, CON_RX + 0x100, 3), "pwd", 3) == 0);
    con_tx(&a, 1, "world");
    con_tx(&b, 1, "world");
    CHECK(vt_wait_used(&a, 1, 2));
    CHECK(vt_wait_used(&b, 1, 2));
    pthread_mutex_lock(&outa.lock);
    CHECK(outa.len == 11 && !memcmp(outa.buf, "hello world", 11));
    pthread_mutex_unlock(&outa.lock);
    pthread_mutex_lock(&outb.lock);
    CHECK(outb.len == 5 && !memcmp(outb.buf, "world", 5));
    pthread_mutex_unlock(&outb.lock);
    blob_free(&s1);
    blob_free(&s2);
    virtio_console_destroy(va);
    virtio_console_destroy(vb);
    chardev_close(ca);
    chardev_close(cb);
    vt_destroy(&a);
    vt_destroy(&b);
}

static void *con_make(void)
{
    struct vsubject *s = calloc(1, sizeof(*s));
    vrig_init(&s->t, COPY);
    s->t.slot = 1;
    virtio_console_create(&s->t.dh.mem, s->t.bus, NULL, (struct virtio_console **)&s->dev);
    return s;
}

static void con_unmake(void *p)
{
    struct vsubject *s = p;
    virtio_console_destroy(s->dev);
    vt_destroy(&s->t);
    free(s);
}

static int con_subject_load(void *p, struct state_in *in, struct err *e)
{
    return virtio_console_load(((struct vsubject *)p)->dev, in, e);
}

static void con_poke(void *p)
{
    vrig_poke(&((struct vsubject *)p)->t, 2);
}

static void virtio_console_state_hostile(void)
{
    struct vt a;
    struct blob good;
    struct chardev *cd;
    struct capture out = { .lock = PTHREAD_MUTEX_INITIALIZER };
    reset_lines();
    vrig_init(&a, 0);
    CHECK_EQ(chardev_open_callback(capture_out, &out, &cd), 0);
    struct virtio_console *con = con_setup(&a, cd);
    con_post_rx(&a, 0);
    con_tx(&a, 0, "x");
    CHECK(vt_wait_used(&a, 1, 1));
    virtio_console_pause(con);
    SAVE(virtio_console_save, con, &good);
    virtio_console_destroy(con);
    chardev_close(cd);
    vt_destroy(&a);
    const struct subject subj = { "virtio-console", con_make, con_unmake, con_subject_load,
                                  con_poke };
    hostile(&subj, &good, MUTATIONS);
    blob_free(&good);
}

/* ---- frames for user networking -------------------------------------------------- */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void put16be(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (; n > 1; p += 2, n -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A DHCP DISCOVER from guest_mac, as a frame; its length. */
static size_t dhcp_discover(uint8_t *f)
{
    memset(f, 0, 14 + 20 + 8 + 300);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put16be(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20, *bootp = udp + 8;
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    bootp[4] = 0xde; bootp[5] = 0xad; bootp[6] = 0xbe; bootp[7] = 0xef;
    memcpy(bootp + 28, guest_mac, 6);
    static const uint8_t opts[] = { 99, 130, 83, 99, 53, 1, 1, 255 };
    memcpy(bootp + 236, opts, sizeof(opts));
    put16be(udp, 68);
    put16be(udp + 2, 67);
    put16be(udp + 4, 8 + 300);
    ip[0] = 0x45;
    put16be(ip + 2, 20 + 8 + 300);
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    put16be(ip + 10, ip_csum(ip, 20));
    return 14 + 20 + 8 + 300;
}

/* ---- virtio-net ------------------------------------------------------------------ */

#define NET_RXBUF 0x100000ULL
#define NET_TXBUF 0x200000ULL

/* The one place this file creates a NIC. */
static struct virtio_net *nic_create(struct vt *t, enum net_mode mode)
{
    struct virtio_net *n = NULL;
    struct net_options o = { .mode = mode };
    struct err e = ERR_INIT;
    if (virtio_net_create(&t->dh.mem, t->bus, &o, guest_mac, &n, &e) < 0)
        printf("  virtio_net_create: %s\n", e.msg);
    return n;
}

static struct virtio_net *net_setup(struct vt *t, enum net_mode mode)
{
    struct virtio_net *n = nic_create(t, mode);
    CHECK(n != NULL);
    CHECK_EQ(vt_probe(t, 0x1041), 0);
    CHECK_EQ(vt_negotiate(t, F_VERSION_1 | F_EVENT_IDX | (1ULL << VIRTIO_NET_F_MAC) |
                              (1ULL << VIRTIO_NET_F_STATUS)), 0x0b);
    vt_msix_enable(t, 3);
    CHECK_EQ(vt_setup_queue(t, 0, 8, 0x10000, 1), 0);
    CHECK_EQ(vt_setup_queue(t, 1, 8, 0x30000, 2), 0);
    vt_driver_ok(t);
    return n;
}

static void net_tx(struct vt *t, unsigned i, const uint8_t *frame, size_t len)
{
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = {0};
    uint64_t at = NET_TXBUF + 0x1000 * i;
    mem_write(&t->dh.mem, at, hdr, sizeof(hdr));
    mem_write(&t->dh.mem, at + sizeof(hdr), frame, len);
    tq_desc(&t->q[1], i, at, (uint32_t)(sizeof(hdr) + len), 0, 0);
    tq_submit(&t->q[1], (uint16_t)i);
    vt_notify(t, 1);
}

static void net_post_rx(struct vt *t, unsigned i)
{
    tq_desc(&t->q[0], i, NET_RXBUF + 0x800 * i, 0x800, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t->q[0], (uint16_t)i);
    vt_notify(t, 0);
}

static size_t saved_len(struct virtio_net *n)
{
    struct blob s;
    SAVE(virtio_net_save, n, &s);
    size_t len = s.len;
    blob_free(&s);
    return len;
}

static void virtio_net_state_roundtrip(void)
{
    struct vt a, b;
    struct blob s1, s2;
    struct virtio_net *na, *nb = NULL;
    uint8_t frame[400];
    if (!net_user_available()) {
        printf("SKIP: virtio_net_state_roundtrip (no libslirp in this build)\n");
        return;
    }
    reset_lines();
    vrig_init(&a, 0);
    vrig_init(&b, COPY);
    na = net_setup(&a, NET_MODE_USER);
    size_t empty = saved_len(na);
    /* The guest asks for an address before it has posted receive buffers:
     * the offer waits in the device. */
    net_tx(&a, 0, frame, dhcp_discover(frame));
    CHECK(vt_wait_used(&a, 1, 1));
    for (int i = 0; i < 1000 && saved_len(na) == empty; i++)
        sleep_ms(1);
    CHECK(saved_len(na) > empty);
    virtio_net_pause(na);
    /* Paused: what the network sends now is dropped, and counted. */
    uint64_t dropped = virtio_net_dropped(na);
    CHECK_EQ(net_send(virtio_net_backend(na), frame, dhcp_discover(frame)), 0);
    for (int i = 0; i < 1000 && virtio_net_dropped(na) == dropped; i++)
        sleep_ms(1);
    CHECK(virtio_net_dropped(na) > dropped);
    SAVE(virtio_net_save, na, &s1);
    printf("  virtio-net: %zu bytes (%zu of them a frame waiting for the guest)\n", s1.len,
           s1.len - empty);

    nb = nic_create(&b, NET_MODE_USER);
    CHECK(nb != NULL);
    vrig_clone_driver(&b, &a);
    CHECK_EQ(LOAD(virtio_net_load, nb, &s1), 0);
    SAVE(virtio_net_save, nb, &s2);
    CHECK(same(&s1, &s2));
    vrig_compare(&a, &b, 2, 10);
    /* A receive buffer on each: both hand the guest the same frame. */
    net_post_rx(&b, 0);
    CHECK(vt_wait_used(&b, 0, 1));
    virtio_net_resume(na);
    net_post_rx(&a, 0);
    CHECK(vt_wait_used(&a, 0, 1));
    uint32_t la = used_len(&a.q[0], 0), lb = used_len(&b.q[0], 0);
    CHECK_EQ(la, lb);
    CHECK(la > VIRTIO_NET_HDR_LEN + 300);
    CHECK(memcmp(mem_ptr(&a.dh.mem, NET_RXBUF, la), mem_ptr(&b.dh.mem, NET_RXBUF, lb), la) == 0);
    CHECK_EQ(*(uint8_t *)mem_ptr(&b.dh.mem, NET_RXBUF + VIRTIO_NET_HDR_LEN + 14 + 20 + 8, 1), 2);
    blob_free(&s1);
    blob_free(&s2);
    virtio_net_destroy(na);
    virtio_net_destroy(nb);
    vt_destroy(&a);
    vt_destroy(&b);
}

/* The NIC's features depend on its backend's kind (user networking's link
 * offers MTU and GUEST_CSUM), and a load checks them: the hostile loads go
 * into user-mode NICs, as the saved one was. */
static void *net_make(void)
{
    struct vsubject *s = calloc(1, sizeof(*s));
    vrig_init(&s->t, COPY);
    s->t.slot = 1;
    s->dev = nic_create(&s->t, NET_MODE_USER);
    return s;
}

static void net_unmake(void *p)
{
    struct vsubject *s = p;
    virtio_net_destroy(s->dev);
    vt_destroy(&s->t);
    free(s);
}

static int net_subject_load(void *p, struct state_in *in, struct err *e)
{
    return virtio_net_load(((struct vsubject *)p)->dev, in, e);
}

static void net_poke(void *p)
{
    vrig_poke(&((struct vsubject *)p)->t, 2);
}

static void virtio_net_state_hostile(void)
{
    struct vt a;
    struct blob good;
    uint8_t frame[400];
    if (!net_user_available()) {
        printf("SKIP: virtio_net_state_hostile (no libslirp in this build)\n");
        return;
    }
    reset_lines();
    vrig_init(&a, 0);
    struct virtio_net *n = net_setup(&a, NET_MODE_USER);
    size_t empty = saved_len(n);
    net_tx(&a, 0, frame, dhcp_discover(frame));
    for (int i = 0; i < 1000 && saved_len(n) == empty; i++)
        sleep_ms(1);
    virtio_net_pause(n);
    SAVE(virtio_net_save, n, &good);
    CHECK(good.len > empty);
    virtio_net_destroy(n);
    vt_destroy(&a);
    const struct subject subj = { "virtio-net", net_make, net_unmake, net_subject_load,
                                  net_poke };
    hostile(&subj, &good, MUTATIONS);
    void *d = net_make();
    uint8_t *bad = malloc(good.len);
    memcpy(bad, good.p, good.len);
    bad[empty - 2] = 0x01;                        /* 257 frames waiting */
    bad[empty - 1] = 0x01;
    refused_with(net_subject_load, d, bad, good.len, "virtio-net 00:01.0: 257 frames");
    memcpy(bad, good.p, good.len);
    bad[empty] = 5;                               /* a 5-byte frame */
    bad[empty + 1] = bad[empty + 2] = bad[empty + 3] = 0;
    refused_with(net_subject_load, d, bad, good.len, "waiting frame 0 has 5 bytes");
    free(bad);
    net_unmake(d);
    blob_free(&good);
}

/* ---- the user network backend ------------------------------------------------------ */

static pthread_mutex_t offer_lock = PTHREAD_MUTEX_INITIALIZER;
static int offers;

static void count_offers(void *opaque, const uint8_t *f, size_t len)
{
    (void)opaque;
    /* UDP from port 67 to 68: a DHCP reply. */
    if (len > 14 + 20 + 8 && f[12] == 0x08 && f[13] == 0 && f[14 + 9] == 17 &&
        f[14 + 20] == 0 && f[14 + 21] == 67) {
        pthread_mutex_lock(&offer_lock);
        offers++;
        pthread_mutex_unlock(&offer_lock);
    }
}

static int offers_now(void)
{
    pthread_mutex_lock(&offer_lock);
    int n = offers;
    pthread_mutex_unlock(&offer_lock);
    return n;
}

static struct net_backend *user_open(void)
{
    struct net_backend *nb = NULL;
    struct net_options o = { .mode = NET_MODE_USER };
    struct err e = ERR_INIT;
    int r = net_backend_open(&o, count_offers, NULL, &nb, &e);
    if (r < 0)
        printf("  %s\n", e.msg);
    CHECK_EQ(r, 0);
    return nb;
}

static void net_backend_state_roundtrip(void)
{
    struct blob s0, s1, s2, none;
    uint8_t frame[400];
    if (!net_user_available()) {
        printf("SKIP: net_backend_state_roundtrip (no libslirp in this build)\n");
        return;
    }
    struct net_backend *a = user_open(), *b = user_open(), *c = user_open();
    SAVE(net_backend_save, c, &s0);
    /* A lease: the guest's MAC in libslirp's DHCP table. */
    int before = offers_now();
    CHECK_EQ(net_send(a, frame, dhcp_discover(frame)), 0);
    for (int i = 0; i < 1000 && offers_now() == before; i++)
        sleep_ms(1);
    CHECK(offers_now() > before);
    SAVE(net_backend_save, a, &s1);
    printf("  user network: %zu bytes\n", s1.len);
    CHECK(s1.len == s0.len && memcmp(s1.p, s0.p, s0.len) != 0);
    CHECK_EQ(LOAD(net_backend_load, b, &s1), 0);
    SAVE(net_backend_save, b, &s2);
    CHECK(same(&s1, &s2));
    /* Another kind of network: refused, saying which. */
    SAVE(net_backend_save, (struct net_backend *)NULL, &none);
    CHECK_EQ(none.len, 1);
    struct state_in in;
    struct err e = ERR_INIT;
    state_in_init(&in, s1.p, s1.len);
    CHECK_EQ(net_backend_load(NULL, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "had user networking (--net user), this one has no network") != NULL);
    err_clear(&e);
    state_in_init(&in, none.p, none.len);
    CHECK_EQ(net_backend_load(c, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "had no network (--net none), this one has user networking") != NULL);
    state_in_init(&in, none.p, none.len);
    CHECK_EQ(net_backend_load(NULL, &in, NULL), 0);
    /* A tap where one can be made. */
    struct net_backend *tap = NULL;
    if (net_tap_open("hostelst0", NULL, NULL, &tap, NULL) == 0) {
        struct blob ts;
        SAVE(net_backend_save, tap, &ts);
        CHECK_EQ(ts.len, 1);
        err_clear(&e);
        state_in_init(&in, s1.p, s1.len);
        CHECK_EQ(net_backend_load(tap, &in, &e), -EINVAL);
        CHECK(strstr(e.msg, "this one has a tap device") != NULL);
        err_clear(&e);
        state_in_init(&in, ts.p, ts.len);
        CHECK_EQ(net_backend_load(c, &in, &e), -EINVAL);
        blob_free(&ts);
        net_backend_close(tap);
    }
    /* The loaded backend still works. */
    before = offers_now();
    CHECK_EQ(net_send(b, frame, dhcp_discover(frame)), 0);
    for (int i = 0; i < 1000 && offers_now() == before; i++)
        sleep_ms(1);
    CHECK(offers_now() > before);
    blob_free(&s0);
    blob_free(&s1);
    blob_free(&s2);
    blob_free(&none);
    net_backend_close(a);
    net_backend_close(b);
    net_backend_close(c);
}

static struct net_backend *hostile_nb;

static void *nb_make(void)
{
    return hostile_nb;                            /* one backend takes every load */
}

static void nb_unmake(void *p)
{
    (void)p;
}

static int nb_load(void *p, struct state_in *in, struct err *e)
{
    return net_backend_load(p, in, e);
}

static void nb_poke(void *p)
{
    uint8_t frame[400];
    net_send(p, frame, dhcp_discover(frame));
}

static void net_backend_state_hostile(void)
{
    struct blob good;
    uint8_t frame[400];
    if (!net_user_available()) {
        printf("SKIP: net_backend_state_hostile (no libslirp in this build)\n");
        return;
    }
    hostile_nb = user_open();
    int before = offers_now();
    net_send(hostile_nb, frame, dhcp_discover(frame));
    for (int i = 0; i < 1000 && offers_now() == before; i++)
        sleep_ms(1);
    SAVE(net_backend_save, hostile_nb, &good);
    const struct subject subj = { "user network", nb_make, nb_unmake, nb_load, nb_poke };
    hostile(&subj, &good, MUTATIONS);
    uint8_t *bad = malloc(good.len);
    memcpy(bad, good.p, good.len);
    bad[9] = 42;                                  /* a saved connection */
    refused_with(nb_load, hostile_nb, bad, good.len, "guest-forward connections");
    memcpy(bad, good.p, good.len);
    bad[1] = 3;                                   /* libslirp state version 3 */
    refused_with(nb_load, hostile_nb, bad, good.len, "state version 3");
    free(bad);
    net_backend_close(hostile_nb);
    blob_free(&good);
}

/* A state saved by a build that did not yet offer MTU and GUEST_CSUM on a
 * user-mode NIC loads, and the device goes on offering what it offered
 * then; any other difference in the offer is refused. */
static void virtio_net_state_older_offer(void)
{
    struct vt a, b;
    struct blob s;
    if (!net_user_available()) {
        printf("SKIP: virtio_net_state_older_offer (no libslirp in this build)\n");
        return;
    }
    reset_lines();
    vrig_init(&a, 0);
    struct virtio_net *na = net_setup(&a, NET_MODE_USER);
    uint64_t offer = vt_device_features(&a);
    uint64_t newer = (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_GUEST_CSUM);
    CHECK_EQ(offer & newer, newer);
    virtio_net_pause(na);
    SAVE(virtio_net_save, na, &s);
    uint8_t *at = memmem(s.p, s.len, &offer, sizeof(offer));
    CHECK(at != NULL);
    for (int k = 0; k < 2 && at; k++) {
        /* as saved by the older build; then with a bit no build offered
         * (17: CTRL_VQ) */
        uint64_t v = k == 0 ? offer & ~newer : offer | (1ULL << 17);
        memcpy(at, &v, sizeof(v));
        vrig_init(&b, COPY);
        b.slot = 1;
        struct virtio_net *nb = nic_create(&b, NET_MODE_USER);
        struct state_in in;
        struct err e = ERR_INIT;
        state_in_init(&in, s.p, s.len);
        int r = nb ? virtio_net_load(nb, &in, &e) : -1;
        if (k == 0) {
            CHECK_EQ(r, 0);
            CHECK_EQ(vt_device_features(&b), offer & ~newer);
        } else {
            CHECK_EQ(r, -EINVAL);
            CHECK(strstr(e.msg, "features") != NULL);
        }
        if (nb)
            virtio_net_destroy(nb);
        vt_destroy(&b);
    }
    blob_free(&s);
    virtio_net_destroy(na);
    vt_destroy(&a);
}

int main(void)
{
    RUN_TEST(uart_state_roundtrip);
    RUN_TEST(uart_state_hostile);
    RUN_TEST(rtc_state_roundtrip);
    RUN_TEST(rtc_pause_holds_interrupts);
    RUN_TEST(rtc_state_hostile);
    RUN_TEST(i8042_state_roundtrip);
    RUN_TEST(i8042_state_hostile);
    RUN_TEST(vga_state_hostile);
    RUN_TEST(acpi_pm_state_roundtrip);
    RUN_TEST(acpi_pm_state_hostile);
    RUN_TEST(pci_state_roundtrip);
    RUN_TEST(pci_state_hostile);
    RUN_TEST(virtio_blk_state_roundtrip);
    RUN_TEST(virtio_blk_state_hostile);
    RUN_TEST(virtio_rng_state_roundtrip);
    RUN_TEST(virtio_pause_is_quiet);
    RUN_TEST(virtio_rng_state_hostile);
    RUN_TEST(virtio_console_state_roundtrip);
    RUN_TEST(virtio_console_state_hostile);
    RUN_TEST(virtio_net_state_roundtrip);
    RUN_TEST(virtio_net_state_hostile);
    RUN_TEST(virtio_net_state_older_offer);
    RUN_TEST(net_backend_state_roundtrip);
    RUN_TEST(net_backend_state_hostile);
    return CHECK_DONE();
}
