/* Dirty-page tracking for live migration (machine/dirty.h): the shared
 * bitmap devices mark, and the engine's own record of vCPU writes. */
#include "machine/dirty.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "machine/vm.h"

uint64_t vm_dirty_pages(const struct vm *vm)
{
    return vm->mem.size >> 12;
}

uint64_t dirty_count(const uint64_t *b, uint64_t pages)
{
    uint64_t n = 0;
    for (uint64_t w = 0; w < dirty_words(pages); w++)
        n += (uint64_t)__builtin_popcountll(b[w]);
    return n;
}

bool vm_dirty_active(const struct vm *vm)
{
    return __atomic_load_n(&vm->mem.dirty, __ATOMIC_ACQUIRE) != NULL;
}

int vm_dirty_start(struct vm *vm, struct err *e)
{
    if (!vm->engine->dirty_start || !vm->engine->dirty_sync)
        return err_set(e, -ENOTSUP, "engine %s cannot track written guest pages",
                       vm->engine->name);
    uint64_t words = dirty_words(vm_dirty_pages(vm));
    if (!vm->mem.dirty_alloc) {
        vm->mem.dirty_alloc = calloc(words ? words : 1, sizeof(uint64_t));
        if (!vm->mem.dirty_alloc)
            return err_set(e, -ENOMEM, "out of memory for the dirty-page bitmap");
    } else {
        memset(vm->mem.dirty_alloc, 0, words * sizeof(uint64_t));
    }
    __atomic_store_n(&vm->mem.dirty, vm->mem.dirty_alloc, __ATOMIC_SEQ_CST);
    int r = vm->engine->dirty_start(vm);
    if (r < 0) {
        __atomic_store_n(&vm->mem.dirty, NULL, __ATOMIC_SEQ_CST);
        return err_set(e, r, "engine %s cannot track written guest pages: %s",
                       vm->engine->name, strerror(-r));
    }
    return 0;
}

int vm_dirty_sync(struct vm *vm, uint64_t *bitmap)
{
    uint64_t *bits = vm->mem.dirty_alloc;
    if (!vm_dirty_active(vm) || !bits)
        return -EINVAL;
    /* The shared bitmap first, then the engine: emu drops its vCPUs' write
     * permissions after this swap, so a write through an old permission
     * belongs to a page already marked before it (docs/migration.md). */
    uint64_t words = dirty_words(vm_dirty_pages(vm));
    for (uint64_t w = 0; w < words; w++)
        if (__atomic_load_n(&bits[w], __ATOMIC_RELAXED))
            bitmap[w] |= __atomic_exchange_n(&bits[w], 0, __ATOMIC_SEQ_CST);
    return vm->engine->dirty_sync(vm, bitmap);
}

void vm_dirty_stop(struct vm *vm)
{
    if (!vm_dirty_active(vm))
        return;
    if (vm->engine->dirty_stop)
        vm->engine->dirty_stop(vm);
    __atomic_store_n(&vm->mem.dirty, NULL, __ATOMIC_SEQ_CST);
}
