/* A machine without an engine for device unit tests: the buses, the stop
 * reason, and an engine whose set_irq records each GSI's level. */
#ifndef HOSTEL_FAKE_VM_H
#define HOSTEL_FAKE_VM_H

#include <stdatomic.h>
#include <string.h>

#include "machine/vm.h"

static _Atomic int fake_irq_level[64];   /* written by device threads too */
static _Atomic int fake_irq_calls;

static int fake_set_irq(struct vm *vm, unsigned gsi, int level)
{
    (void)vm;
    if (gsi < 64)
        fake_irq_level[gsi] = level;
    fake_irq_calls++;
    return 0;
}

static const struct engine_ops fake_engine = {
    .name = "fake",
    .irqchip_in_engine = true,
    .set_irq = fake_set_irq,
};

static void fake_vm_init(struct vm *vm)
{
    memset(vm, 0, sizeof(*vm));
    for (int i = 0; i < 64; i++)
        fake_irq_level[i] = 0;
    fake_irq_calls = 0;
    vm->engine = &fake_engine;
    atomic_init(&vm->stop, VM_RUNNING);
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_cond_init(&vm->stop_cond, NULL);
    bus_init(&vm->pio, "port I/O");
    bus_init(&vm->mmio, "MMIO");
}

static void fake_vm_destroy(struct vm *vm)
{
    bus_destroy(&vm->pio);
    bus_destroy(&vm->mmio);
    pthread_mutex_destroy(&vm->stop_lock);
    pthread_cond_destroy(&vm->stop_cond);
}

static inline uint64_t pio_in(struct vm *vm, uint64_t port, unsigned size)
{
    uint64_t v = 0;
    bus_read(&vm->pio, port, size, &v);
    return v;
}

static inline void pio_out(struct vm *vm, uint64_t port, unsigned size, uint64_t v)
{
    bus_write(&vm->pio, port, size, v);
}

#endif
