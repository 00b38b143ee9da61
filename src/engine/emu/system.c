/* STUB: system-level instructions and state (owned by emu-sys; replaced). */
#include <string.h>

#include "engine/emu/cpu.h"

void emu_system_register(void) {}
void emu_update_mode(struct emu_cpu *c) { (void)c; }
void emu_cpu_reset(struct emu_cpu *c) { (void)c; }
void emu_cpu_get_state(const struct emu_cpu *c, struct cpu_state *s)
{
    (void)c;
    memset(s, 0, sizeof(*s));
}
void emu_cpu_set_state(struct emu_cpu *c, const struct cpu_state *s) { (void)c; (void)s; }
