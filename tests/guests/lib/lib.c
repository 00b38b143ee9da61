/* The test guests' common code: UART output, a small printf, the Multiboot
 * command line and the exit path.  No libgcc: 32-bit builds only divide
 * 32-bit numbers. */
#include "guest.h"

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

void serial_init(void)
{
    outb(PORT_COM1 + UART_IER, 0);
    outb(PORT_COM1 + UART_LCR, 0x80);      /* divisor latch */
    outb(PORT_COM1 + 0, 1);                /* 115200 baud */
    outb(PORT_COM1 + 1, 0);
    outb(PORT_COM1 + UART_LCR, 0x03);      /* 8n1 */
    outb(PORT_COM1 + UART_FCR, 0x07);
    outb(PORT_COM1 + UART_MCR, 0x03);
    /* Start on a fresh line: firmware (QEMU's SeaBIOS) may have left one open. */
    puts_("\n");
}

void serial_putc(char c)
{
    /* Bounded: a UART model that never reports an empty holding register
     * must not hang the guest; the character is then sent anyway. */
    for (int i = 0; i < 100000; i++)
        if (inb(PORT_COM1 + UART_LSR) & UART_LSR_THRE)
            break;
    outb(PORT_COM1 + UART_THR, (uint8_t)c);
}

void puts_(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n')
            serial_putc('\r');
        serial_putc(*s);
    }
}

static void put_num(unsigned long long v, unsigned base, int width, char pad, int neg)
{
    char buf[24];
    int n = 0;
    if (base == 16 || v <= 0xffffffffu) {
        if (base == 16) {
            do { buf[n++] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
        } else {
            uint32_t w = (uint32_t)v;
            do { buf[n++] = (char)('0' + w % 10); w /= 10; } while (w);
        }
    } else {
        /* Decimal above 2^32 without a 64-bit division: subtract powers of ten. */
        static const unsigned long long p10[] = {
            10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
            10000000000000000ull, 1000000000000000ull, 100000000000000ull,
            10000000000000ull, 1000000000000ull, 100000000000ull, 10000000000ull,
            1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull,
            10000ull, 1000ull, 100ull, 10ull, 1ull };
        char tmp[24];
        int m = 0, started = 0;
        for (unsigned i = 0; i < sizeof(p10) / sizeof(p10[0]); i++) {
            int d = 0;
            while (v >= p10[i]) { v -= p10[i]; d++; }
            if (d || started || p10[i] == 1) { tmp[m++] = (char)('0' + d); started = 1; }
        }
        while (m)
            buf[n++] = tmp[--m];
    }
    if (neg)
        buf[n++] = '-';
    while (n < width && n < (int)sizeof(buf))
        buf[n++] = pad;
    while (n)
        serial_putc(buf[--n]);
}

void gvprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n')
                serial_putc('\r');
            serial_putc(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0, prec = -1;
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == '.') {
            prec = 0;
            for (fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
                prec = prec * 10 + (*fmt - '0');
        }
        while (*fmt == 'l') { lng++; fmt++; }
        unsigned long long v;
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            /* Table signatures are not NUL-terminated: stop at the precision. */
            for (int i = 0; s[i] && (prec < 0 || i < prec); i++)
                serial_putc(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
            break;
        }
        case 'c': serial_putc((char)va_arg(ap, int)); break;
        case 'd': {
            long long x = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
            put_num(x < 0 ? -(unsigned long long)x : (unsigned long long)x, 10, width, pad, x < 0);
            break;
        }
        case 'u': case 'x':
            v = lng >= 2 ? va_arg(ap, unsigned long long)
                : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            put_num(v, *fmt == 'x' ? 16 : 10, width, pad, 0);
            break;
        case 'p':
            puts_("0x");
            put_num((unsigned long long)(uintptr_t)va_arg(ap, void *), 16, 0, ' ', 0);
            break;
        case '%': serial_putc('%'); break;
        case 0: return;
        default: serial_putc('?'); break;
        }
    }
}

void gprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gvprintf(fmt, ap);
    va_end(ap);
}

void guest_exit(uint8_t v)
{
    outb(PORT_DEBUG_EXIT, v);
    /* Only reached when no debug-exit device is present. */
    for (;;)
        __asm__ volatile("cli; hlt");
}

void fail(uint8_t v, const char *fmt, ...)
{
    va_list ap;
    puts_("guest error: ");
    va_start(ap, fmt);
    gvprintf(fmt, ap);
    va_end(ap);
    puts_("\n");
    guest_exit(v);
}

static uint16_t pit_read0(void)
{
    outb(0x43, 0x00);                       /* latch channel 0 */
    uint8_t lo = inb(0x40);
    return (uint16_t)(lo | inb(0x40) << 8);
}

void pit_delay_us(uint32_t us)
{
    uint32_t ticks = us / 1000 * 1193 + us % 1000 * 1193 / 1000;   /* 1.193182 MHz */
    outb(0x43, 0x34);                       /* channel 0, lo/hi, mode 2 */
    outb(0x40, 0);
    outb(0x40, 0);
    uint16_t prev = pit_read0();
    uint32_t elapsed = 0;
    for (long guard = 0; elapsed < ticks && guard < 20000000; guard++) {
        uint16_t cur = pit_read0();
        elapsed += (uint16_t)(prev - cur);  /* counts down, wraps at 65536 */
        prev = cur;
    }
}

const char *mb_cmdline(uint32_t magic, uint32_t mbi)
{
    if (magic != MB_BOOT_MAGIC || mbi == 0)
        return "";
    const struct mb_info *info = (const struct mb_info *)(uintptr_t)mbi;
    if (!(info->flags & MB_INFO_CMDLINE) || info->cmdline == 0)
        return "";
    return (const char *)(uintptr_t)info->cmdline;
}

unsigned long cmdline_uint(const char *s, const char *key, unsigned long def)
{
    size_t kl = strlen(key);
    for (const char *p = s; *p; p++) {
        if ((p != s && p[-1] != ' ') || strlen(p) < kl)
            continue;
        size_t i = 0;
        while (i < kl && p[i] == key[i])
            i++;
        if (i != kl || p[kl] < '0' || p[kl] > '9')
            continue;
        unsigned long v = 0;
        for (p += kl; *p >= '0' && *p <= '9' && v < 100000; p++)
            v = v * 10 + (unsigned long)(*p - '0');
        return v;
    }
    return def;
}
