/* STUB: 8254 PIT model (owned by the emu-interrupts helper; replaced). */
#include "hw/pit.h"

#include <errno.h>
#include <stddef.h>

int pit_create(struct vm *vm, struct pit **out) { (void)vm; *out = NULL; return -ENOSYS; }
void pit_destroy(struct pit *p) { (void)p; }
