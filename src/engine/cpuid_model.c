/* CPUID models as data (engine/cpuid_model.h): encoding, comparison, and
 * the names of the feature flags a migration would take away. */
#include "engine/cpuid_model.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void cpuid_model_encode(const struct cpuid_model *m, struct state_out *o)
{
    st_put_u32(o, m->n);
    for (uint32_t i = 0; i < m->n; i++) {
        const struct cpuid_leaf *l = &m->e[i];
        st_put_u32(o, l->leaf);
        st_put_u32(o, l->sub);
        st_put_u32(o, l->flags);
        st_put_u32(o, l->eax);
        st_put_u32(o, l->ebx);
        st_put_u32(o, l->ecx);
        st_put_u32(o, l->edx);
    }
}

static int cmp_leaf(const struct cpuid_leaf *a, const struct cpuid_leaf *b)
{
    if (a->leaf != b->leaf)
        return a->leaf < b->leaf ? -1 : 1;
    if (a->sub != b->sub)
        return a->sub < b->sub ? -1 : 1;
    return 0;
}

int cpuid_model_decode(struct state_in *in, struct cpuid_model *m, struct err *e)
{
    memset(m, 0, sizeof(*m));
    uint32_t n = st_get_u32(in);
    if (in->bad || n == 0 || n > CPUID_MODEL_MAX)
        return err_set(e, -EINVAL, "CPUID model: %u leaves (1 to %d)", n, CPUID_MODEL_MAX);
    for (uint32_t i = 0; i < n; i++) {
        struct cpuid_leaf *l = &m->e[i];
        l->leaf = st_get_u32(in);
        l->sub = st_get_u32(in);
        l->flags = st_get_u32(in);
        l->eax = st_get_u32(in);
        l->ebx = st_get_u32(in);
        l->ecx = st_get_u32(in);
        l->edx = st_get_u32(in);
        if (in->bad)
            return err_set(e, -EINVAL, "CPUID model: cut short at leaf %u", i);
        if (l->flags & ~CPUID_F_INDEXED || (!(l->flags & CPUID_F_INDEXED) && l->sub))
            return err_set(e, -EINVAL, "CPUID model: leaf %#x has bad flags %#x", l->leaf,
                           l->flags);
        if (i && cmp_leaf(&m->e[i - 1], l) >= 0)
            return err_set(e, -EINVAL, "CPUID model: leaves out of order at %#x.%u", l->leaf,
                           l->sub);
    }
    m->n = n;
    return 0;
}

bool cpuid_model_add(struct cpuid_model *m, const struct cpuid_leaf *l)
{
    uint32_t at = m->n;
    for (uint32_t i = 0; i < m->n; i++) {
        int c = cmp_leaf(&m->e[i], l);
        if (c == 0) {
            m->e[i] = *l;
            return true;
        }
        if (c > 0) {
            at = i;
            break;
        }
    }
    if (m->n == CPUID_MODEL_MAX)
        return false;
    memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof(m->e[0]));
    m->e[at] = *l;
    m->n++;
    return true;
}

const struct cpuid_leaf *cpuid_model_find(const struct cpuid_model *m, uint32_t leaf,
                                          uint32_t sub)
{
    for (uint32_t i = 0; i < m->n; i++) {
        const struct cpuid_leaf *l = &m->e[i];
        if (l->leaf == leaf && (!(l->flags & CPUID_F_INDEXED) || l->sub == sub))
            return l;
    }
    return NULL;
}

uint32_t cpuid_model_volatile_bits(uint32_t leaf, int reg)
{
    switch (leaf) {
    case 1:
        if (reg == 1)
            return 0xff000000u;            /* initial APIC ID */
        if (reg == 2)
            return 1u << 27;               /* OSXSAVE follows CR4 */
        if (reg == 3)
            return 1u << 9;                /* APIC follows IA32_APIC_BASE */
        return 0;
    case 4:
        return reg == 0 ? 0xfc000000u : 0; /* cores per package */
    case 7:
        return reg == 2 ? 1u << 4 : 0;     /* OSPKE follows CR4 */
    case 0xb:
    case 0x1f:
        return reg == 3 ? 0xffffffffu : 0; /* x2APIC ID */
    default:
        return 0;
    }
}

static uint32_t reg_of(const struct cpuid_leaf *l, int r)
{
    return r == 0 ? l->eax : r == 1 ? l->ebx : r == 2 ? l->ecx : l->edx;
}

bool cpuid_model_equal(const struct cpuid_model *a, const struct cpuid_model *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++) {
        const struct cpuid_leaf *x = &a->e[i], *y = &b->e[i];
        if (cmp_leaf(x, y) || x->flags != y->flags)
            return false;
        for (int r = 0; r < 4; r++) {
            uint32_t keep = ~cpuid_model_volatile_bits(x->leaf, r);
            if ((reg_of(x, r) & keep) != (reg_of(y, r) & keep))
                return false;
        }
    }
    return true;
}

/* The feature flags compared, with the names Linux's /proc/cpuinfo uses. */
struct feature {
    uint32_t leaf, sub;
    uint8_t reg, bit;
    const char *name;
};

static const struct feature features[] = {
    { 1, 0, 3, 0, "fpu" }, { 1, 0, 3, 1, "vme" }, { 1, 0, 3, 2, "de" }, { 1, 0, 3, 3, "pse" },
    { 1, 0, 3, 4, "tsc" }, { 1, 0, 3, 5, "msr" }, { 1, 0, 3, 6, "pae" }, { 1, 0, 3, 7, "mce" },
    { 1, 0, 3, 8, "cx8" }, { 1, 0, 3, 11, "sep" }, { 1, 0, 3, 12, "mtrr" },
    { 1, 0, 3, 13, "pge" }, { 1, 0, 3, 14, "mca" }, { 1, 0, 3, 15, "cmov" },
    { 1, 0, 3, 16, "pat" }, { 1, 0, 3, 17, "pse36" }, { 1, 0, 3, 19, "clflush" },
    { 1, 0, 3, 21, "ds" }, { 1, 0, 3, 22, "acpi" }, { 1, 0, 3, 23, "mmx" },
    { 1, 0, 3, 24, "fxsr" }, { 1, 0, 3, 25, "sse" }, { 1, 0, 3, 26, "sse2" },
    { 1, 0, 3, 27, "ss" }, { 1, 0, 3, 28, "ht" },
    { 1, 0, 2, 0, "pni" }, { 1, 0, 2, 1, "pclmulqdq" }, { 1, 0, 2, 3, "monitor" },
    { 1, 0, 2, 5, "vmx" }, { 1, 0, 2, 9, "ssse3" }, { 1, 0, 2, 12, "fma" },
    { 1, 0, 2, 13, "cx16" }, { 1, 0, 2, 15, "pdcm" }, { 1, 0, 2, 17, "pcid" },
    { 1, 0, 2, 19, "sse4_1" }, { 1, 0, 2, 20, "sse4_2" }, { 1, 0, 2, 21, "x2apic" },
    { 1, 0, 2, 22, "movbe" }, { 1, 0, 2, 23, "popcnt" }, { 1, 0, 2, 24, "tsc_deadline_timer" },
    { 1, 0, 2, 25, "aes" }, { 1, 0, 2, 26, "xsave" }, { 1, 0, 2, 28, "avx" },
    { 1, 0, 2, 29, "f16c" }, { 1, 0, 2, 30, "rdrand" },
    { 7, 0, 1, 0, "fsgsbase" }, { 7, 0, 1, 1, "tsc_adjust" }, { 7, 0, 1, 3, "bmi1" },
    { 7, 0, 1, 4, "hle" }, { 7, 0, 1, 5, "avx2" }, { 7, 0, 1, 7, "smep" },
    { 7, 0, 1, 8, "bmi2" }, { 7, 0, 1, 9, "erms" }, { 7, 0, 1, 10, "invpcid" },
    { 7, 0, 1, 11, "rtm" }, { 7, 0, 1, 16, "avx512f" }, { 7, 0, 1, 17, "avx512dq" },
    { 7, 0, 1, 18, "rdseed" }, { 7, 0, 1, 19, "adx" }, { 7, 0, 1, 20, "smap" },
    { 7, 0, 1, 21, "avx512ifma" }, { 7, 0, 1, 23, "clflushopt" }, { 7, 0, 1, 24, "clwb" },
    { 7, 0, 1, 28, "avx512cd" }, { 7, 0, 1, 29, "sha_ni" }, { 7, 0, 1, 30, "avx512bw" },
    { 7, 0, 1, 31, "avx512vl" },
    { 7, 0, 2, 1, "avx512vbmi" }, { 7, 0, 2, 2, "umip" }, { 7, 0, 2, 3, "pku" },
    { 7, 0, 2, 6, "avx512_vbmi2" }, { 7, 0, 2, 8, "gfni" }, { 7, 0, 2, 9, "vaes" },
    { 7, 0, 2, 10, "vpclmulqdq" }, { 7, 0, 2, 11, "avx512_vnni" },
    { 7, 0, 2, 12, "avx512_bitalg" }, { 7, 0, 2, 14, "avx512_vpopcntdq" },
    { 7, 0, 2, 16, "la57" }, { 7, 0, 2, 22, "rdpid" }, { 7, 0, 2, 25, "cldemote" },
    { 7, 0, 2, 27, "movdiri" }, { 7, 0, 2, 28, "movdir64b" },
    { 7, 0, 3, 4, "fsrm" }, { 7, 0, 3, 14, "serialize" }, { 7, 0, 3, 16, "tsxldtrk" },
    { 7, 0, 3, 22, "amx_bf16" }, { 7, 0, 3, 23, "avx512_fp16" }, { 7, 0, 3, 24, "amx_tile" },
    { 7, 0, 3, 25, "amx_int8" }, { 7, 0, 3, 26, "ibrs" }, { 7, 0, 3, 27, "stibp" },
    { 7, 0, 3, 28, "flush_l1d" }, { 7, 0, 3, 29, "arch_capabilities" },
    { 7, 0, 3, 31, "ssbd" },
    { 7, 1, 0, 4, "avx_vnni" }, { 7, 1, 0, 5, "avx512_bf16" },
    { 0xd, 1, 0, 0, "xsaveopt" }, { 0xd, 1, 0, 1, "xsavec" }, { 0xd, 1, 0, 2, "xgetbv1" },
    { 0xd, 1, 0, 3, "xsaves" },
    { 0x80000001, 0, 2, 0, "lahf_lm" }, { 0x80000001, 0, 2, 5, "abm" },
    { 0x80000001, 0, 2, 6, "sse4a" }, { 0x80000001, 0, 2, 8, "3dnowprefetch" },
    { 0x80000001, 0, 3, 11, "syscall" }, { 0x80000001, 0, 3, 20, "nx" },
    { 0x80000001, 0, 3, 26, "pdpe1gb" }, { 0x80000001, 0, 3, 27, "rdtscp" },
    { 0x80000001, 0, 3, 29, "lm" },
    { 0x80000007, 0, 3, 8, "constant_tsc" },
};

int cpuid_model_missing(const struct cpuid_model *want, const struct cpuid_model *have,
                        char *buf, size_t len)
{
    int n = 0;
    size_t used = 0;
    if (len)
        buf[0] = 0;
    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        const struct feature *f = &features[i];
        const struct cpuid_leaf *w = cpuid_model_find(want, f->leaf, f->sub);
        if (!w || !(reg_of(w, f->reg) & (1u << f->bit)))
            continue;
        if (f->leaf == 1 && ((f->reg == 3 && f->bit == 9) || (f->reg == 2 && f->bit == 27)))
            continue;   /* dynamic: follow the guest's settings */
        const struct cpuid_leaf *h = cpuid_model_find(have, f->leaf, f->sub);
        if (h && (reg_of(h, f->reg) & (1u << f->bit)))
            continue;
        n++;
        if (used < len) {
            int k = snprintf(buf + used, len - used, "%s%s", n > 1 ? ", " : "", f->name);
            if (k > 0)
                used += (size_t)k;
        }
    }
    return n;
}

/* Keeps the baseline every engine runs plus the given extra bits of
 * CPUID.1:ECX, CPUID.7.0:EBX and CPUID.80000001:ECX; leaf 0xD only with
 * XSAVE kept. */
static void keep_level(struct cpuid_model *m, uint32_t c1_more, uint32_t b7, uint32_t e1c_more)
{
    /* fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36
     * clflush mmx fxsr sse sse2 */
    const uint32_t d1 = 0x078bfbffu;
    const uint32_t c1 = (1u << 13) | (1u << 31) | c1_more;   /* cx16, hypervisor */
    const uint32_t e1c = (1u << 0) | e1c_more;              /* lahf_lm */
    const uint32_t e1d = (1u << 11) | (1u << 20) | (1u << 29);   /* syscall nx lm */
    bool xsave = c1_more & (1u << 26);
    for (uint32_t i = 0; i < m->n; i++) {
        struct cpuid_leaf *l = &m->e[i];
        switch (l->leaf) {
        case 1:
            l->ecx &= c1;
            l->edx &= d1;
            break;
        case 7:
            l->ebx = l->sub == 0 ? l->ebx & b7 : 0;
            l->eax = l->ecx = l->edx = 0;            /* no subleaves either */
            break;
        case 0xd:
            if (!xsave)
                l->eax = l->ebx = l->ecx = l->edx = 0;
            break;
        case 0x80000001:
            l->ecx &= e1c;
            l->edx &= e1d;
            break;
        default:
            break;
        }
    }
}

void cpuid_model_portable(struct cpuid_model *m)
{
    keep_level(m, 0, 0, 0);
}

int cpuid_model_level(struct cpuid_model *m, const char *name)
{
    /* x86-64-v2: SSE3 SSSE3 SSE4.1 SSE4.2 POPCNT (CX16 and LAHF are in the baseline). */
    const uint32_t v2 = (1u << 0) | (1u << 9) | (1u << 19) | (1u << 20) | (1u << 23);
    /* x86-64-v3: FMA MOVBE XSAVE OSXSAVE AVX F16C; BMI1 AVX2 BMI2; LZCNT. */
    const uint32_t v3 = v2 | (1u << 12) | (1u << 22) | (1u << 26) | (1u << 27) | (1u << 28) |
                        (1u << 29);
    if (!strcmp(name, "portable"))
        keep_level(m, 0, 0, 0);
    else if (!strcmp(name, "v2"))
        keep_level(m, v2, 0, 0);
    else if (!strcmp(name, "v3"))
        keep_level(m, v3, (1u << 3) | (1u << 5) | (1u << 8), 1u << 5);
    else
        return -EINVAL;
    return 0;
}
