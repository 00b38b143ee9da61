/* The kvm engine's snapshot pieces that need no /dev/kvm (src/engine/
 * kvm_snap.c), so they are checked on every host: the XSAVE image KVM
 * hands out, turned into the format's FXSAVE area and YMM halves, with
 * components beyond AVX accepted only in their initial state (a kvm_pvm
 * host reports PKRU's XSTATE_BV bit with PKRU 0: docs/kvm-hosts.md,
 * tsc-write); and the window in which a TSC read back counts as taken. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/kvm_priv.h"
#include "engine/vcpu_snap.h"

/* CPUID leaf 0xD as a host with AVX, AVX-512 and PKU reports it: the
 * standard-format offset (EBX) and size (EAX) of each component. */
static const struct { uint32_t comp, size, off; } leaf_d[] = {
    { 2, 256, 576 },      /* AVX: YMM upper halves */
    { 5, 64, 1088 },      /* AVX-512 opmask */
    { 6, 512, 1152 },     /* ZMM_Hi256 */
    { 7, 1024, 1664 },    /* Hi16_ZMM */
    { 9, 8, 2688 },       /* PKRU */
};
#define NLEAF (sizeof(leaf_d) / sizeof(leaf_d[0]))

static struct kvm_vm *vm_with_leaf_d(void)
{
    struct kvm_vm *k = calloc(1, sizeof(*k));
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + NLEAF * sizeof(c->entries[0]));
    if (!k || !c) {
        free(k);
        free(c);
        return NULL;
    }
    c->nent = NLEAF;
    for (unsigned i = 0; i < NLEAF; i++) {
        c->entries[i].function = 0xd;
        c->entries[i].index = leaf_d[i].comp;
        c->entries[i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        c->entries[i].eax = leaf_d[i].size;
        c->entries[i].ebx = leaf_d[i].off;
    }
    k->cpuid = c;
    return k;
}

static void free_vm(struct kvm_vm *k)
{
    if (k)
        free(k->cpuid);
    free(k);
}

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* An image with x87 and SSE state in use, XSTATE_BV = bv. */
static void image(uint8_t xs[4096], uint64_t bv)
{
    memset(xs, 0, 4096);
    xs[0] = 0x7f;                     /* FCW 0x37f */
    xs[1] = 0x03;
    xs[24] = 0x80;                    /* MXCSR 0x1f80 */
    xs[25] = 0x1f;
    for (int b = 0; b < 16; b++)
        xs[160 + b] = (uint8_t)(0xa0 + b);   /* XMM0 */
    put64(xs + 512, bv);
}

/* What each XSAVE test works on: a machine with leaf 0xD, a snapshot, an
 * image.  fixture_open: false (a failed check) when memory ran out. */
struct fixture {
    struct kvm_vm *k;
    struct vcpu_snap *s;
    uint8_t *xs;
};

static bool fixture_open(struct fixture *f)
{
    f->k = vm_with_leaf_d();
    f->s = calloc(1, sizeof(*f->s));
    f->xs = calloc(1, 4096);
    CHECK(f->k && f->s && f->xs);
    return f->k && f->s && f->xs;
}

static void fixture_close(struct fixture *f)
{
    free(f->xs);
    free(f->s);
    free_vm(f->k);
}

static void pkru_zero_is_initial(void)
{
    struct fixture f;
    struct err e = ERR_INIT;
    if (!fixture_open(&f))
        goto out;
    image(f.xs, 0x203);               /* x87, SSE, PKRU (value 0) */
    CHECK_EQ(kvm_fx_from_xsave(f.k, f.xs, f.s, &e, 0), 0);
    CHECK(!f.s->has_ymm);
    CHECK_EQ(f.s->fxsave[160], 0xa0); /* XMM0 kept */
    CHECK_EQ(f.s->fxsave[24], 0x80);

    /* The AVX-512 components with their bits set, all zero: initial too. */
    image(f.xs, 0xe7);
    memset(f.xs + 576, 0x5a, 256);    /* and YMM in use */
    memset(f.s, 0, sizeof(*f.s));
    CHECK_EQ(kvm_fx_from_xsave(f.k, f.xs, f.s, &e, 0), 0);
    CHECK(f.s->has_ymm);
    CHECK_EQ(f.s->ymm_hi[0][0], 0x5a);
    CHECK_EQ(f.s->ymm_hi[15][15], 0x5a);
out:
    fixture_close(&f);
}

static void state_beyond_avx_refused(void)
{
    struct fixture f;
    struct err e = ERR_INIT;
    if (!fixture_open(&f))
        goto out;
    image(f.xs, 0x203);
    put64(f.xs + 2688, 0x55555554);   /* PKRU as Linux sets it for its processes */
    CHECK_EQ(kvm_fx_from_xsave(f.k, f.xs, f.s, &e, 3), -ENOTSUP);
    CHECK(strstr(e.msg, "vCPU 3") && strstr(e.msg, "PKRU") && strstr(e.msg, "component 9"));

    err_clear(&e);
    image(f.xs, 0x23);
    f.xs[1088 + 7] = 1;               /* an opmask register in use */
    CHECK_EQ(kvm_fx_from_xsave(f.k, f.xs, f.s, &e, 0), -ENOTSUP);
    CHECK(strstr(e.msg, "AVX-512") != NULL);

    /* A component this CPUID does not describe (AMX tile data, 18): its
     * bytes cannot be looked at, so it is refused whatever they hold. */
    err_clear(&e);
    image(f.xs, (1ULL << 18) | 3);
    CHECK_EQ(kvm_fx_from_xsave(f.k, f.xs, f.s, &e, 0), -ENOTSUP);
    CHECK(strstr(e.msg, "component 18") != NULL);
out:
    fixture_close(&f);
}

static void tsc_read_back_window(void)
{
    CHECK(kvm_tsc_took(1000, 1000));
    CHECK(kvm_tsc_took(123456789012ULL, 123456789012ULL + 5000));
    /* Another vCPU's TSC matched by KVM a moment before: a little behind. */
    CHECK(kvm_tsc_took(123456789012ULL, 123456789012ULL - 3000000000ULL));
    /* What a kvm_pvm host read back (docs/kvm-hosts.md, tsc-write). */
    CHECK(!kvm_tsc_took(123456789012ULL, 63553946926ULL));
    CHECK(!kvm_tsc_took(0, 20000000000ULL));
    CHECK(!kvm_tsc_took(20000000000ULL, 0));
}

int main(void)
{
    RUN_TEST(pkru_zero_is_initial);
    RUN_TEST(state_beyond_avx_refused);
    RUN_TEST(tsc_read_back_window);
    return CHECK_DONE();
}
