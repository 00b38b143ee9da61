/* STUB: x87 handlers (owned by emu-sse; replaced). */
#include "engine/emu/cpu.h"

void emu_x87_register(void) {}
