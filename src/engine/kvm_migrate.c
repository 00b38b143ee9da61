/* The kvm engine's side of live migration: KVM's dirty log on the memory
 * slots (KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG), and CPUID models, so
 * a guest that booted on emu sees emu's CPU here too (docs/migration.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/cpuid_model.h"
#include "engine/kvm_priv.h"
#include "lib/log.h"
#include "machine/dirty.h"
#include "machine/vm.h"

/* The two slots kvm_vm_init made: low RAM at 0, high RAM at 4 GiB. */
static int set_slot_logging(struct vm *vm, int slot, bool log)
{
    struct kvm_vm *k = vm->engine_data;
    uint64_t size = slot == 0 ? vm->mem.low_size : vm->mem.high_size;
    if (!size)
        return 0;
    struct kvm_userspace_memory_region r = {
        .slot = (uint32_t)slot,
        .flags = log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
        .guest_phys_addr = slot == 0 ? 0 : MEM_HIGH_START,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)(vm->mem.host + (slot == 0 ? 0 : vm->mem.low_size)),
    };
    return ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int kvm_dirty_start(struct vm *vm)
{
    struct kvm_vm *k = vm->engine_data;
    for (int s = 0; s < 2; s++) {
        int r = set_slot_logging(vm, s, true);
        if (r < 0) {
            set_slot_logging(vm, 0, false);
            return r;
        }
    }
    k->dirty_logging = true;
    return 0;
}

int kvm_dirty_sync(struct vm *vm, uint64_t *bitmap)
{
    struct kvm_vm *k = vm->engine_data;
    if (!k->dirty_logging)
        return -EINVAL;
    for (int s = 0; s < 2; s++) {
        uint64_t size = s == 0 ? vm->mem.low_size : vm->mem.high_size;
        if (!size)
            continue;
        uint64_t pages = size >> 12, first = s == 0 ? 0 : vm->mem.low_size >> 12;
        uint64_t *log = calloc(dirty_words(pages), sizeof(uint64_t));
        if (!log)
            return -ENOMEM;
        struct kvm_dirty_log d = { .slot = (uint32_t)s, .dirty_bitmap = log };
        if (ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
            int r = -errno;
            free(log);
            return r;
        }
        if ((first & 63) == 0) {
            for (uint64_t w = 0; w < dirty_words(pages); w++)
                bitmap[(first >> 6) + w] |= log[w];
        } else {
            for (uint64_t p = 0; p < pages; p++)
                if (dirty_test(log, p))
                    dirty_set(bitmap, first + p);
        }
        free(log);
    }
    return 0;
}

void kvm_dirty_stop(struct vm *vm)
{
    struct kvm_vm *k = vm->engine_data;
    if (!k->dirty_logging)
        return;
    set_slot_logging(vm, 0, false);
    set_slot_logging(vm, 1, false);
    k->dirty_logging = false;
}

/* ---- CPUID models ----------------------------------------------------------- */

static void model_from_kvm(const struct kvm_cpuid2 *c, struct cpuid_model *m)
{
    memset(m, 0, sizeof(*m));
    for (uint32_t i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];
        bool idx = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        struct cpuid_leaf l = { e->function, idx ? e->index : 0, idx ? CPUID_F_INDEXED : 0,
                                e->eax, e->ebx, e->ecx, e->edx };
        cpuid_model_add(m, &l);
    }
}

struct kvm_cpuid2 *kvm_vcpu_cpuid_table(struct kvm_vm *k)
{
    if (!k->model) {
        size_t sz = sizeof(*k->cpuid) + k->cpuid->nent * sizeof(k->cpuid->entries[0]);
        struct kvm_cpuid2 *c = malloc(sz);
        if (c)
            memcpy(c, k->cpuid, sz);
        return c;
    }
    const struct cpuid_model *m = k->model;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + m->n * sizeof(c->entries[0]));
    if (!c)
        return NULL;
    c->nent = m->n;
    for (uint32_t i = 0; i < m->n; i++) {
        const struct cpuid_leaf *l = &m->e[i];
        c->entries[i] = (struct kvm_cpuid_entry2){
            .function = l->leaf, .index = l->sub,
            .flags = (l->flags & CPUID_F_INDEXED) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
            .eax = l->eax, .ebx = l->ebx, .ecx = l->ecx, .edx = l->edx,
        };
    }
    return c;
}

void kvm_vcpu_model_tsc(struct kvm_vm *k, int vcpu_fd, int id)
{
    /* Leaf 0x15: the TSC the guest calibrated against (emu: 2 GHz). */
    const struct cpuid_leaf *l = cpuid_model_find(k->model, 0x15, 0);
    if (!l || !l->eax || !l->ebx || !l->ecx)
        return;
    uint64_t khz = (uint64_t)l->ecx * l->ebx / l->eax / 1000;
    long have = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
    if (have > 0 && (uint64_t)have == khz)
        return;
    if (ioctl(vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0 && id == 0)
        log_warn("the guest's TSC ran at %llu kHz, this host's KVM cannot scale to it "
                 "(%s): its clock runs at %.3f times its speed here until it recalibrates",
                 (unsigned long long)khz, strerror(errno),
                 have > 0 ? (double)have / (double)khz : 1.0);
}

int kvm_cpuid_get(struct vm *vm, struct cpuid_model *out)
{
    struct kvm_vm *k = vm->engine_data;
    if (k->model) {
        *out = *k->model;
        return 0;
    }
    struct kvm_vcpu *kv = vm->vcpus[0].engine_data;
    if (!kv) {
        model_from_kvm(k->cpuid, out);
        return 0;
    }
    for (int n = 64; n <= 1024; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (size_t)n * sizeof(c->entries[0]));
        if (!c)
            return -ENOMEM;
        c->nent = (uint32_t)n;
        if (ioctl(kv->fd, KVM_GET_CPUID2, c) == 0) {
            model_from_kvm(c, out);
            free(c);
            return 0;
        }
        int r = errno;
        free(c);
        if (r != E2BIG)
            return -r;
    }
    return -E2BIG;
}

int kvm_cpuid_set(struct vm *vm, const struct cpuid_model *m, struct err *e)
{
    struct kvm_vm *k = vm->engine_data;
    struct cpuid_model *have = malloc(sizeof(*have));
    if (!have)
        return err_set(e, -ENOMEM, "out of memory");
    model_from_kvm(k->cpuid, have);
    char missing[1024];
    int n = cpuid_model_missing(m, have, missing, sizeof(missing));
    free(have);
    if (n > 0)
        return err_set(e, -ENOTSUP, "the guest's CPU has features this host's KVM cannot "
                       "give: %s", missing);
    struct cpuid_model *copy = malloc(sizeof(*copy));
    if (!copy)
        return err_set(e, -ENOMEM, "out of memory");
    *copy = *m;
    free(k->model);
    k->model = copy;
    return 0;
}
