/* A static program for hostel-emu-user whose code arrives by a system
 * call: it runs a function in an executable buffer until emu translates
 * it, then read()s other code over it from a pipe (the host writes guest
 * RAM, as a device's DMA does) and runs it again; natively and on emu the
 * sums must be the same (run_emu_user.sh).  Also code rewritten by a
 * plain store, and a buffer unmapped and mapped again with new code. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn_t)(int);

/* lea eax, [rdi + K]; ret */
static void put_code(uint8_t *p, int8_t k)
{
    const uint8_t code[] = { 0x8d, 0x47, (uint8_t)k, 0xc3 };
    memcpy(p, code, sizeof(code));
}

static long run(uint8_t *p, int n)
{
    fn_t f = (fn_t)(uintptr_t)p;
    long s = 0;
    for (int i = 0; i < n; i++)
        s += f(i);
    return s;
}

int main(void)
{
    uint8_t *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int fds[2];
    if (buf == MAP_FAILED || pipe(fds))
        return 1;
    put_code(buf, 1);
    long a = run(buf, 5000);                 /* translated by now */
    uint8_t next[4];
    put_code(next, 7);
    if (write(fds[1], next, sizeof(next)) != (ssize_t)sizeof(next) ||
        read(fds[0], buf, sizeof(next)) != (ssize_t)sizeof(next))
        return 1;
    long b = run(buf, 5000);                 /* the code read() brought */
    put_code(buf, 3);                        /* a store */
    long c = run(buf, 5000);
    munmap(buf, 4096);
    uint8_t *again = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (again == MAP_FAILED)
        return 1;
    put_code(again, 11);
    long d = run(again, 5000);
    printf("code by read(): %ld %ld %ld %ld\n", a, b, c, d);
    return 0;
}
