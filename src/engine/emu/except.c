/* STUB: exception and interrupt delivery (owned by emu-sys; replaced). */
#include "engine/emu/cpu.h"

void emu_deliver_exception(struct emu_cpu *c, int vector, int errcode, bool is_soft_int,
                           uint64_t next_rip)
{
    (void)c; (void)vector; (void)errcode; (void)is_soft_int; (void)next_rip;
}

bool emu_check_interrupts(struct emu_cpu *c)
{
    (void)c;
    return false;
}
