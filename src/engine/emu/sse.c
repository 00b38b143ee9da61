/* STUB: SSE handlers (owned by emu-sse; replaced). */
#include "engine/emu/cpu.h"

void emu_sse_register(void) {}
