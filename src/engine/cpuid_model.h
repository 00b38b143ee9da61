/* A CPUID model as data: the leaves a guest sees, engine-neutral, so a
 * migrated guest can be shown on the receiving engine exactly what it saw
 * at boot (docs/migration.md), and a model one engine cannot give is
 * refused by the names of the features it lacks. */
#ifndef HOSTEL_CPUID_MODEL_H
#define HOSTEL_CPUID_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/state.h"

#define CPUID_MODEL_MAX 256
#define CPUID_F_INDEXED 1u      /* the subleaf (ECX) selects the entry */

struct cpuid_leaf {
    uint32_t leaf, sub, flags;
    uint32_t eax, ebx, ecx, edx;
};

struct cpuid_model {
    uint32_t n;
    struct cpuid_leaf e[CPUID_MODEL_MAX];
};

/* Fields: count (u32), then each leaf as seven u32 in the order above. */
void cpuid_model_encode(const struct cpuid_model *m, struct state_out *o);
/* Checks the count, flags, order (ascending, unique) as it reads. */
int cpuid_model_decode(struct state_in *in, struct cpuid_model *m, struct err *e);

/* Adds a leaf (keeps the list sorted); false when full. */
bool cpuid_model_add(struct cpuid_model *m, const struct cpuid_leaf *l);
/* The entry a guest executing CPUID(leaf, sub) reads, or NULL. */
const struct cpuid_leaf *cpuid_model_find(const struct cpuid_model *m, uint32_t leaf,
                                          uint32_t sub);
/* Whether two models show a guest the same CPU, ignoring the bits each
 * vCPU or the guest's own settings decide (APIC IDs, OSXSAVE, the APIC bit). */
bool cpuid_model_equal(const struct cpuid_model *a, const struct cpuid_model *b);
/* The feature flags want has and have lacks, by name ("avx2, bmi1"),
 * into buf; returns how many.  Only the feature leaves (1, 7, 0xd.1,
 * 0x80000001, 0x80000007, 0x80000008 EBX) are compared. */
int cpuid_model_missing(const struct cpuid_model *want, const struct cpuid_model *have,
                        char *buf, size_t len);
/* Masks a model's feature flags down to a baseline x86-64 CPU (what any
 * engine on any x86-64 host can run: the SSE2-era set plus CX16, LAHF in
 * 64-bit mode, NX, SYSCALL): the "portable" CPU. */
void cpuid_model_portable(struct cpuid_model *m);
/* The named models: "portable", "v2" (x86-64-v2) and "v3" (x86-64-v3): the
 * baseline plus that level's features (of those the model has).  -EINVAL
 * for another name. */
int cpuid_model_level(struct cpuid_model *m, const char *name);
#define CPUID_MODEL_NAMES "host, v3, v2 or portable"
/* Per-vCPU bits a model leaves to each vCPU (for cpuid_model_equal and the
 * engines that present a model): mask of the bits of (leaf, reg) that are
 * per vCPU or dynamic.  reg: 0 EAX, 1 EBX, 2 ECX, 3 EDX. */
uint32_t cpuid_model_volatile_bits(uint32_t leaf, int reg);

#endif
