/* The test guests' small library: port I/O, the COM1 UART, printing, the
 * Multiboot command line and the debug-exit port.  Builds for -m32 and -m64. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MB_BOOT_MAGIC  0x2BADB002u    /* EAX at a Multiboot entry */
#define MB_INFO_MEM    (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)

#define PORT_COM1       0x3f8
#define PORT_DEBUG_EXIT 0xf4

/* Multiboot v1 information structure (the fields the guests read). */
struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
};

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void cpu_pause(void) { __asm__ volatile("pause" ::: "memory"); }
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Every guest provides this; the boot stub calls it with EAX and EBX as the
 * loader left them.  Returning from it exits with status 0 (success). */
void guest_main(uint32_t magic, uint32_t mbi);

void serial_init(void);
void serial_putc(char c);
void puts_(const char *s);          /* no newline added */
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gvprintf(const char *fmt, va_list ap);

/* Writes v to the debug-exit port; never returns.  v = 0 means success
 * (hostel and QEMU then exit with status 1); v > 0 names the failed check. */
__attribute__((noreturn)) void guest_exit(uint8_t v);
/* Prints "guest error: ..." and exits with code v (1..127). */
__attribute__((noreturn, format(printf, 2, 3))) void fail(uint8_t v, const char *fmt, ...);

/* The Multiboot command line, or "" when the loader gave none.  Checks the
 * magic and the info flags first: the loader may be wrong. */
const char *mb_cmdline(uint32_t magic, uint32_t mbi);
/* The number after "key" (e.g. "cpus=") in a command line, or def. */
unsigned long cmdline_uint(const char *cmdline, const char *key, unsigned long def);

/* Busy-waits about us microseconds (us < 3 600 000) by reading back PIT
 * channel 0, which it reprograms (mode 2, 65536 period).  A time base that
 * is the same on every engine and host speed, unlike a spin count; bounded
 * if the PIT does not count. */
void pit_delay_us(uint32_t us);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);

#endif
