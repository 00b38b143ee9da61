/* A whole machine as data (board/snapshot.h): the sections of the state
 * file in order, and the checks a restore makes before it touches anything. */
#include "board/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "board/board.h"
#include "engine/vcpu_snap.h"
#include "machine/vm.h"

/* "machine": what the machine was (checked at restore) and its guest time. */
#define MACHINE_STATE_VERSION 1
#define VCPU_SECTION_VERSION VCPU_STATE_VERSION
/* IRQCHIP_STATE_VERSION's bytes then PIT_STATE_VERSION's: a new version of
 * either is a new version of the section. */
#define IRQCHIP_SECTION_VERSION 1

static int save_machine_section(struct vm *vm, struct snap_writer *w)
{
    struct state_out o;
    state_out_init(&o);
    st_put_u32(&o, (uint32_t)vm->ncpus);
    st_put_u64(&o, vm->mem.size);
    st_put_u64(&o, guest_clock_now(&vm->clock));
    size_t n = strlen(vm->engine->name);
    st_put_u8(&o, (uint8_t)n);                 /* informational: where it ran */
    st_put_bytes(&o, vm->engine->name, n);
    snap_write_section(w, "machine", MACHINE_STATE_VERSION, &o);
    int r = state_out_ok(&o) ? 0 : -ENOMEM;
    state_out_free(&o);
    return r;
}

static int save_section(struct snap_writer *w, const char *name, uint32_t version,
                        int (*fn)(void *obj, struct state_out *o, struct err *e), void *obj,
                        struct err *e)
{
    struct state_out o;
    state_out_init(&o);
    err_clear(e);
    int r = fn(obj, &o, e);
    if (r == 0 && !state_out_ok(&o))
        r = -ENOMEM;
    if (r == 0)
        snap_write_section(w, name, version, &o);
    else if (err_is_set(e))
        err_wrap(e, "cannot save %s", name);
    else
        err_set(e, r, "cannot save %s: %s", name, strerror(-r));
    state_out_free(&o);
    return r;
}

static int vcpu_save_fn(void *obj, struct state_out *o, struct err *e)
{
    struct vcpu *v = obj;
    return v->vm->engine->save_vcpu(v, o, e);
}

/* The same "irqchip" section whichever engine keeps the interrupt
 * controllers and the PIT (docs/snapshot-cpu.md). */
static int irqchip_save_fn(void *obj, struct state_out *o, struct err *e)
{
    struct vm *vm = obj;
    if (vm->engine->irqchip_in_engine)
        return vm->engine->save_irqchip(vm, o, e);
    return board_irqchip_save(vm, o);
}

static int write_ram(struct vm *vm, const char *ram_path, uint64_t *stored, struct err *e)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", ram_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(e, -errno, "cannot create %s: %s", tmp, strerror(errno));
    int r = mem_save_sparse(&vm->mem, fd, stored);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && rename(tmp, ram_path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return err_set(e, r, "cannot write guest RAM to %s: %s", ram_path, strerror(-r));
    }
    return 0;
}

int machine_snapshot_state(struct vm *vm, const struct machine_spec *spec,
                           struct snap_writer *w, struct err *e)
{
    memset(w, 0, sizeof(*w));
    state_out_init(&w->out);
    if (!vm->engine->save_vcpu || (vm->engine->irqchip_in_engine && !vm->engine->save_irqchip))
        return err_set(e, -ENOTSUP, "engine %s cannot save a running machine's state yet",
                       vm->engine->name);
    json_t *sj = spec_to_json(spec);
    char *spec_text = sj ? json_dumps(sj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(sj);
    if (!spec_text)
        return err_set(e, -ENOMEM, "out of memory");
    state_out_free(&w->out);
    snap_write_begin(w, spec_text, vm->mem.size, (uint64_t)time(NULL));
    free(spec_text);
    int r = save_machine_section(vm, w);
    if (r < 0)
        err_set(e, r, "cannot save the machine section: %s", strerror(-r));
    char name[32];
    for (int i = 0; r == 0 && i < vm->ncpus; i++) {
        snprintf(name, sizeof(name), "vcpu%d", i);
        r = save_section(w, name, VCPU_SECTION_VERSION, vcpu_save_fn, &vm->vcpus[i], e);
    }
    if (r == 0)
        r = save_section(w, "irqchip", IRQCHIP_SECTION_VERSION, irqchip_save_fn, vm, e);
    if (r == 0)
        r = board_save(vm, w, e);
    return r;
}

int machine_snapshot_save(struct vm *vm, const struct machine_spec *spec, const char *state_path,
                          const char *ram_path, struct snapshot_sizes *sizes, struct err *e)
{
    struct snap_writer w;
    int r = machine_snapshot_state(vm, spec, &w, e);
    uint64_t stored = 0;
    if (r == 0)
        r = write_ram(vm, ram_path, &stored, e);
    if (r == 0)
        r = snap_write_finish(&w, state_path, e);
    if (r == 0 && sizes) {
        sizes->state_bytes = w.out.len;
        sizes->ram_bytes = stored;
    }
    if (r < 0)
        unlink(ram_path);
    snap_writer_free(&w);
    return r;
}

int machine_snapshot_spec(const char *state_path, struct machine_spec *out, struct err *e)
{
    struct snapshot_file s;
    int r = snap_read(state_path, &s, e);
    if (r < 0)
        return r;
    json_error_t je;
    json_t *sj = json_loads(s.spec_json, 0, &je);
    if (!sj)
        r = err_set(e, -EINVAL, "%s: its machine spec is not JSON: %s", state_path, je.text);
    else
        r = spec_from_json(sj, out, e);
    if (r < 0 && sj)
        err_wrap(e, "%s: its machine spec", state_path);
    json_decref(sj);
    snap_free(&s);
    return r;
}

int machine_snapshot_check(const struct snapshot_file *s, const struct machine_spec *spec,
                           const char *what, struct err *e)
{
    const struct snap_section *m = snap_find(s, "machine");
    struct state_in in;
    if (!m || m->version != MACHINE_STATE_VERSION)
        return err_set(e, -EINVAL, "%s: no machine section of version %d", what,
                       MACHINE_STATE_VERSION);
    state_in_init(&in, m->data, m->len);
    uint32_t ncpus = st_get_u32(&in);
    uint64_t memory = st_get_u64(&in);
    st_get_u64(&in);
    if (in.bad)
        return err_set(e, -EINVAL, "%s: the machine section is truncated", what);
    /* The machine it will be loaded into must be the same shape. */
    uint64_t want_mem = (spec->memory + 0x1fffff) & ~0x1fffffULL;
    if ((int)ncpus != spec->cpus || memory != want_mem || memory != s->ram_size)
        return err_set(e, -EINVAL, "%s: saved from a machine with %u CPUs and %llu MiB, but "
                       "this one has %d CPUs and %llu MiB", what, ncpus,
                       (unsigned long long)(memory >> 20), spec->cpus,
                       (unsigned long long)(want_mem >> 20));
    return 0;
}

int machine_snapshot_open(const char *state_path, const char *ram_path,
                          const struct machine_spec *spec, struct snapshot_file *out,
                          struct err *e)
{
    int r = snap_read(state_path, out, e);
    if (r < 0)
        return r;
    r = machine_snapshot_check(out, spec, state_path, e);
    if (r < 0)
        goto fail;
    uint64_t memory = out->ram_size;
    struct stat st;
    if (stat(ram_path, &st) < 0) {
        r = err_set(e, -errno, "%s: %s", ram_path, strerror(errno));
        goto fail;
    }
    if ((uint64_t)st.st_size != memory) {
        r = err_set(e, -EINVAL, "%s: %llu bytes, the snapshot's RAM is %llu: the RAM image is "
                    "truncated or of another snapshot", ram_path,
                    (unsigned long long)st.st_size, (unsigned long long)memory);
        goto fail;
    }
    return 0;
fail:
    snap_free(out);
    return r;
}

static int load_section(const struct snapshot_file *s, const char *name, uint32_t version,
                        int (*fn)(void *obj, struct state_in *in, struct err *e), void *obj,
                        struct err *e)
{
    const struct snap_section *sec = snap_find(s, name);
    if (!sec)
        return err_set(e, -EINVAL, "the snapshot has no %s section", name);
    if (sec->version != version)
        return err_set(e, -EINVAL, "%s: state version %u, this hostel reads version %u", name,
                       sec->version, version);
    struct state_in in;
    state_in_init(&in, sec->data, sec->len);
    int r = fn(obj, &in, e);
    if (r < 0)
        return r;
    if (!state_in_done(&in))
        return err_set(e, -EINVAL, "%s: %s", name, in.bad ? "truncated or refused state"
                       : "state left over (a newer or damaged snapshot)");
    return 0;
}

static int vcpu_load_fn(void *obj, struct state_in *in, struct err *e)
{
    struct vcpu *v = obj;
    return v->vm->engine->load_vcpu(v, in, e);
}

static int irqchip_load_fn(void *obj, struct state_in *in, struct err *e)
{
    struct vm *vm = obj;
    if (vm->engine->irqchip_in_engine)
        return vm->engine->load_irqchip(vm, in, e);
    return board_irqchip_load(vm, in, e);
}

int machine_snapshot_load(struct vm *vm, const struct snapshot_file *s, bool live, struct err *e)
{
    if (!vm->engine->load_vcpu || (vm->engine->irqchip_in_engine && !vm->engine->load_irqchip))
        return err_set(e, -ENOTSUP, "engine %s cannot load a saved machine yet",
                       vm->engine->name);
    const struct snap_section *m = snap_find(s, "machine");
    struct state_in in;
    state_in_init(&in, m->data, m->len);
    st_get_u32(&in);
    st_get_u64(&in);
    uint64_t guest_ns = st_get_u64(&in);
    /* Guest time first: the timers and CPUs loaded next are relative to it. */
    guest_clock_set(&vm->clock, guest_ns);
    char name[32];
    for (int i = 0; i < vm->ncpus; i++) {
        snprintf(name, sizeof(name), "vcpu%d", i);
        int r = load_section(s, name, VCPU_SECTION_VERSION, vcpu_load_fn, &vm->vcpus[i], e);
        if (r < 0)
            return r;
    }
    int r = load_section(s, "irqchip", IRQCHIP_SECTION_VERSION, irqchip_load_fn, vm, e);
    if (r < 0)
        return r;
    return board_load(vm, s, live, e);
}

int machine_snapshot_restore_live(struct vm *vm, const struct snapshot_file *s, int ram_fd,
                                  struct err *e)
{
    int r = mem_remap_file(&vm->mem, ram_fd);
    if (r < 0)
        return err_set(e, r, "cannot map the saved guest RAM: %s", strerror(-r));
    return machine_snapshot_load(vm, s, true, e);
}
