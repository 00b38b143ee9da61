/* Live migration, the receiving side (board/migrate.h): takes a sender
 * from an allowed address, checks what it says before building anything,
 * fills the new machine's RAM, disks and models, and runs the commit;
 * afterwards it relays the guest's old connections to the sender. */
#include "board/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"
#include "board/board.h"
#include "board/migrate_priv.h"
#include "board/snapfile.h"
#include "board/snapshot.h"
#include "lib/log.h"
#include "machine/dirty.h"
#include "machine/vm.h"
#include "net/split.h"

#define RAM_BATCH_MAX 512
#define DISK_BATCH_MAX 64
#define STATE_MAX (64u << 20)

int mig_file_summary(const char *path, uint64_t *size, uint32_t *crc)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint8_t *buf = malloc(1u << 20);
    uint64_t n = 0;
    uint32_t c = 0;
    int r = buf ? 0 : -ENOMEM;
    while (r == 0) {
        ssize_t k = read(fd, buf, 1u << 20);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            r = -errno;
        if (k <= 0)
            break;
        c = mig_crc32(c, buf, (size_t)k);
        n += (uint64_t)k;
    }
    free(buf);
    close(fd);
    *size = n;
    *crc = c;
    return r;
}

/* ---- the sender's HELLO ------------------------------------------------------------ */

static const char *mig_file_name(int k)
{
    return k == 0 ? "kernel" : k == 1 ? "initrd" : "CD image";
}

static int parse_hello(struct mig_incoming *in, const uint8_t *p, size_t len, struct err *e)
{
    struct state_in s;
    state_in_init(&s, p, len);
    char magic[8];
    st_get_bytes(&s, magic, 8);
    uint32_t version = st_get_u32(&s), flags = st_get_u32(&s);
    if (s.bad || memcmp(magic, MIG_MAGIC, 8))
        return err_set(e, -EPROTO, "not a hostel migration stream (no %s magic)", MIG_MAGIC);
    if (version != MIG_VERSION)
        return err_set(e, -EPROTO, "the sender speaks migration version %u; this hostel "
                       "speaks version %d", version, MIG_VERSION);
    if (flags & ~MIG_HELLO_COPY_DISKS)
        return err_set(e, -EPROTO, "unknown migration flags %#x", flags);
    in->copy_disks = flags & MIG_HELLO_COPY_DISKS;
    st_get_bytes(&s, in->id, 16);
    in->sender_host = mig_get_str(&s, 4096);
    in->sender_folder = mig_get_str(&s, 4096);
    in->sender_engine = mig_get_str(&s, 64);
    in->config_json = mig_get_str(&s, MIG_MAX_STR);
    char *spec = mig_get_str(&s, MIG_MAX_STR);
    in->ram_size = st_get_u64(&s);
    in->ncpus = st_get_u32(&s);
    if (s.bad || !spec) {
        free(spec);
        return err_set(e, -EPROTO, "the sender's HELLO is cut short or malformed");
    }
    json_error_t je;
    json_t *sj = json_loads(spec, 0, &je);
    free(spec);
    int r = sj ? spec_from_json(sj, &in->sent_spec, e)
               : err_set(e, -EPROTO, "the machine spec is not JSON: %s", je.text);
    json_decref(sj);
    if (r < 0)
        return err_wrap(e, "the sender's machine spec");
    if ((r = spec_check(&in->sent_spec, e)) < 0)
        return err_wrap(e, "the sender's machine spec");
    uint64_t want = (in->sent_spec.memory + 0x1fffff) & ~0x1fffffULL;
    if (in->ram_size != want || in->ncpus != (uint32_t)in->sent_spec.cpus)
        return err_set(e, -EPROTO, "the sender's RAM (%llu bytes) or CPUs (%u) do not match "
                       "its spec", (unsigned long long)in->ram_size, in->ncpus);
    if ((r = cpuid_model_decode(&s, &in->model, e)) < 0)
        return err_wrap(e, "the sender's CPU");
    uint32_t nd = st_get_u32(&s);
    if (s.bad || nd != (uint32_t)in->sent_spec.ndisks)
        return err_set(e, -EPROTO, "the sender's disk list does not match its spec");
    in->ndisks = (int)nd;
    for (int i = 0; i < in->ndisks; i++) {
        struct mig_disk_desc *d = &in->disks[i];
        d->size = st_get_u64(&s);
        d->readonly = st_get_u8(&s) != 0;
        d->path = mig_get_str(&s, 4096);
        if (s.bad || !d->path || !d->size || d->size % 512 || d->size > (1ULL << 50))
            return err_set(e, -EPROTO, "the sender's disk %d is malformed", i);
    }
    struct mig_file_desc *files[MIG_NFILES] = { &in->kernel, &in->initrd, &in->cdrom };
    for (int k = 0; k < MIG_NFILES; k++) {
        files[k]->path = mig_get_str(&s, 4096);
        files[k]->size = st_get_u64(&s);
        files[k]->crc = st_get_u32(&s);
        uint64_t max = k == 2 ? MIG_MAX_CDROM : MIG_MAX_FILE;
        if (s.bad || files[k]->size > max)
            return err_set(e, -EPROTO, "the sender's %s is malformed or larger than %llu bytes",
                           mig_file_name(k), (unsigned long long)max);
        if (files[k]->path && !files[k]->path[0]) {
            free(files[k]->path);
            files[k]->path = NULL;
        }
    }
    uint32_t nb = st_get_u32(&s);
    if (s.bad || nb > NET_MAX_FORWARDS)
        return err_set(e, -EPROTO, "the sender's forwards are malformed");
    in->nbound = (int)nb;
    for (uint32_t i = 0; i < nb; i++) {
        in->bound[i].udp = st_get_u8(&s) != 0;
        in->bound[i].host_addr = st_get_u32(&s);
        in->bound[i].host_port = st_get_u16(&s);
        in->bound[i].guest_port = st_get_u16(&s);
    }
    if (!state_in_done(&s))
        return err_set(e, -EPROTO, "the sender's HELLO has %s", s.bad ? "a malformed field"
                       : "bytes left over");
    return 0;
}

static void incoming_free_fields(struct mig_incoming *in)
{
    free(in->sender_host);
    free(in->sender_folder);
    free(in->sender_engine);
    free(in->config_json);
    spec_free(&in->sent_spec);
    for (int i = 0; i < SPEC_MAX_DISKS; i++)
        free(in->disks[i].path);
    free(in->kernel.path);
    free(in->kernel.dest);
    free(in->initrd.path);
    free(in->initrd.dest);
    free(in->cdrom.path);
    free(in->cdrom.dest);
}

static void answer_query(int fd, const struct mig_allow *allow, int answer)
{
    (void)allow;
    struct mig_conn c;
    mig_conn_init(&c, fd);
    uint32_t type;
    const uint8_t *p;
    size_t len;
    if (mig_recv(&c, &type, &p, &len, 3000, NULL) == 0 && type == MIG_QUERY) {
        uint8_t a = (uint8_t)answer;
        mig_send(&c, MIG_ANSWER, &a, 1, NULL);
    }
    mig_conn_free(&c);
}

/* Accepts one connection from an allowed address; -ETIMEDOUT. */
static int accept_allowed(int listen_fd, const struct mig_allow *allow, int timeout_ms,
                          int *out, struct err *e)
{
    uint64_t until = timeout_ms < 0 ? 0 : mig_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        int wait = -1;
        if (until) {
            uint64_t now = mig_now_ns();
            if (now >= until)
                return err_set(e, -ETIMEDOUT, "no sender came");
            wait = (int)((until - now) / 1000000ull) + 1;
        }
        struct pollfd pf = { listen_fd, POLLIN, 0 };
        int r = poll(&pf, 1, wait);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set(e, -errno, "poll: %s", strerror(errno));
        if (r == 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (!mig_allow_match(allow, &ss)) {
            char a[300];
            mig_format_addr(&ss, a, sizeof(a));
            log_warn("migration: refused a connection from %s: not an allowed address "
                     "(hostel receive --allow)", a);
            close(fd);
            continue;
        }
        *out = fd;
        return 0;
    }
}

int migrate_accept(int listen_fd, const struct mig_allow *allow, int timeout_ms,
                   struct mig_incoming **out, struct err *e)
{
    for (;;) {
        int fd;
        int r = accept_allowed(listen_fd, allow, timeout_ms, &fd, e);
        if (r < 0)
            return r;
        struct mig_incoming *in = calloc(1, sizeof(*in));
        if (!in) {
            close(fd);
            return err_set(e, -ENOMEM, "out of memory");
        }
        mig_conn_init(&in->conn, fd);
        in->listen_fd = listen_fd;
        in->allow = *allow;
        spec_init(&in->sent_spec);
        in->t0 = mig_now_ns();
        uint32_t type;
        const uint8_t *p;
        size_t len;
        struct err pe = ERR_INIT;
        r = mig_recv(&in->conn, &type, &p, &len, 30000, &pe);
        if (r == 0 && type == MIG_QUERY) {
            /* A sender that lost an earlier receiver: not us. */
            uint8_t a = 0;
            mig_send(&in->conn, MIG_ANSWER, &a, 1, NULL);
        } else if (r == 0 && type == MIG_HELLO) {
            r = parse_hello(in, p, len, &pe);
            if (r == 0) {
                *out = in;
                return 0;
            }
            mig_send(&in->conn, MIG_REFUSE, pe.msg, strlen(pe.msg), NULL);
            log_warn("migration: refused a sender: %s", pe.msg);
        } else {
            log_warn("migration: a connection that is not a hostel sender: %s",
                     r < 0 ? pe.msg : "it did not begin with HELLO");
        }
        mig_conn_free(&in->conn);
        incoming_free_fields(in);
        free(in);
    }
}

void migrate_refuse(struct mig_incoming *in, const char *why)
{
    mig_refuse_linger(&in->conn, why, 2000);
    migrate_incoming_free(in);
}

static int receive_files(struct mig_incoming *in, struct err *e)
{
    struct mig_file_desc *files[MIG_NFILES] = { &in->kernel, &in->initrd, &in->cdrom };
    for (int k = 0; k < MIG_NFILES; k++) {
        struct mig_file_desc *f = files[k];
        if (!f->need)
            continue;
        int fd = open(f->dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return err_set(e, -errno, "cannot create %s: %s", f->dest, strerror(errno));
        uint64_t have = 0;
        uint32_t crc = 0;
        int r = 0;
        while (r == 0 && have < f->size) {
            uint32_t type;
            const uint8_t *p, *raw;
            size_t len, rlen;
            r = mig_recv(&in->conn, &type, &p, &len, -1, e);
            if (r == 0 && type != MIG_FILE)
                r = err_set(e, -EPROTO, "the sender sent %s while a file was due",
                            mig_type_name(type));
            if (r == 0)
                r = mig_unpack(&in->conn, p, len, 9 + (4u << 20), &raw, &rlen, e);
            if (r < 0)
                break;
            uint64_t off = 0;
            for (int b = 0; b < 8 && rlen >= 9; b++)
                off |= (uint64_t)raw[1 + b] << (8 * b);
            if (rlen < 9 || raw[0] != k || off != have || rlen - 9 > f->size - have) {
                r = err_set(e, -EPROTO, "a piece of the %s is out of place",
                            mig_file_name(k));
                break;
            }
            size_t n = rlen - 9;
            if (write(fd, raw + 9, n) != (ssize_t)n)
                r = err_set(e, -errno ? -errno : -EIO, "cannot write %s: %s", f->dest,
                            strerror(errno ? errno : EIO));
            crc = mig_crc32(crc, raw + 9, n);
            have += n;
        }
        if (r == 0 && crc != f->crc)
            r = err_set(e, -EBADMSG, "the %s arrived damaged (checksum)",
                        mig_file_name(k));
        if (r == 0 && fsync(fd) < 0)
            r = err_set(e, -errno, "cannot write %s: %s", f->dest, strerror(errno));
        close(fd);
        if (r < 0) {
            unlink(f->dest);
            return r;
        }
    }
    return 0;
}

int migrate_accept_reply(struct mig_incoming *in, const char *my_host, const char *my_folder,
                         struct err *e)
{
    struct state_out o;
    state_out_init(&o);
    st_put_u32(&o, MIG_VERSION);
    mig_put_str(&o, my_host);
    mig_put_str(&o, my_folder);
    st_put_u8(&o, in->kernel.need);
    st_put_u8(&o, in->initrd.need);
    st_put_u8(&o, in->cdrom.need);
    int r = state_out_ok(&o) ? mig_send(&in->conn, MIG_ACCEPT, o.data, o.len, e)
                             : err_set(e, -ENOMEM, "out of memory");
    state_out_free(&o);
    if (r == 0 && (in->kernel.need || in->initrd.need || in->cdrom.need)) {
        in->prog.phase = "files";
        r = receive_files(in, e);
    }
    return r;
}

/* ---- RAM, disks, state -------------------------------------------------------------- */

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v |= (uint64_t)p[b] << (8 * b);
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int apply_ram(struct mig_incoming *in, struct vm *vm, const uint8_t *raw, size_t len,
                     struct err *e)
{
    uint64_t npages = vm->mem.size >> 12;
    if (len < 4)
        return err_set(e, -EPROTO, "a RAM batch is cut short");
    uint32_t count = get32(raw);
    if (count == 0 || count > RAM_BATCH_MAX || len < 4 + 8 * (size_t)count)
        return err_set(e, -EPROTO, "a RAM batch claims %u pages", count);
    size_t ndata = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t d = get64(raw + 4 + 8 * (size_t)i);
        if ((d >> 1) >= npages)
            return err_set(e, -EPROTO, "a RAM batch names page %llu, past the guest's %llu",
                           (unsigned long long)(d >> 1), (unsigned long long)npages);
        ndata += !(d & 1);
    }
    if (len != 4 + 8 * (size_t)count + 4096 * ndata)
        return err_set(e, -EPROTO, "a RAM batch's length does not match its pages");
    const uint8_t *data = raw + 4 + 8 * (size_t)count;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t d = get64(raw + 4 + 8 * (size_t)i);
        uint8_t *dst = vm->mem.host + ((d >> 1) << 12);
        if (d & 1) {
            memset(dst, 0, 4096);
        } else {
            memcpy(dst, data, 4096);
            data += 4096;
        }
    }
    in->prog.pages_sent += count;
    return 0;
}

static bool disk_copied(const struct mig_incoming *in, int d)
{
    return in->copy_disks && !in->disks[d].readonly;
}

static int apply_disk(struct mig_incoming *in, struct vm *vm, const uint8_t *raw, size_t len,
                      struct err *e)
{
    if (len < 8)
        return err_set(e, -EPROTO, "a disk batch is cut short");
    uint32_t d = get32(raw), count = get32(raw + 4);
    if (d >= (uint32_t)in->ndisks || !disk_copied(in, (int)d) || !board_disk(vm, (int)d))
        return err_set(e, -EPROTO, "a disk batch for disk %u, which is not being copied", d);
    struct blockdev *bd = board_disk(vm, (int)d);
    uint64_t size = block_size(bd);
    if (count == 0 || count > DISK_BATCH_MAX || len < 8 + 8 * (size_t)count)
        return err_set(e, -EPROTO, "a disk batch claims %u blocks", count);
    size_t need = 8 + 8 * (size_t)count;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t x = get64(raw + 8 + 8 * (size_t)i), off = (x >> 1) << MIG_DISK_SHIFT;
        if ((x >> 1) >= (1ULL << 40) || off >= size)
            return err_set(e, -EPROTO, "a disk batch names a block past disk %u's end", d);
        uint64_t l = size - off < (1u << MIG_DISK_SHIFT) ? size - off : (1u << MIG_DISK_SHIFT);
        if (!(x & 1))
            need += l;
    }
    if (len != need)
        return err_set(e, -EPROTO, "a disk batch's length does not match its blocks");
    const uint8_t *data = raw + 8 + 8 * (size_t)count;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t x = get64(raw + 8 + 8 * (size_t)i), off = (x >> 1) << MIG_DISK_SHIFT;
        uint64_t l = size - off < (1u << MIG_DISK_SHIFT) ? size - off : (1u << MIG_DISK_SHIFT);
        int r;
        if (x & 1) {
            r = block_write_zeroes(bd, off, l);
        } else {
            struct iovec iov = { (void *)data, l };
            r = block_pwritev(bd, off, &iov, 1);
            data += l;
        }
        if (r < 0)
            return err_set(e, r, "cannot write disk %u at %llu: %s", d,
                           (unsigned long long)off, strerror(-r));
        in->prog.disk_bytes_sent += l;
    }
    return 0;
}

static void in_report(struct mig_incoming *in, bool force)
{
    static uint64_t last;
    uint64_t now = mig_now_ns();
    if (!force && now - last < 250000000ull)
        return;
    last = now;
    in->prog.bytes_sent = in->conn.received;
    in->prog.elapsed_ms = (double)(now - in->t0) / 1e6;
    if (in->progress)
        in->progress(in->opaque, &in->prog);
}

struct mig_relay {
    struct mig_incoming *in;
    struct net_split *split;
    pthread_t thread;
    bool thread_started;
    _Atomic bool stop;
};

static void frame_to_sender(void *opaque, const uint8_t *frame, size_t len)
{
    struct mig_relay *rl = opaque;
    mig_send(&rl->in->conn, MIG_FRAME, frame, len, NULL);
}

/* After READY the link went: the sender may come back to ask whether we
 * took GO (we did not).  Wait a little for it, answer, and give up. */
static void await_query(struct mig_incoming *in, int answer, int timeout_ms)
{
    int fd;
    if (accept_allowed(in->listen_fd, &in->allow, timeout_ms, &fd, NULL) == 0)
        answer_query(fd, &in->allow, answer);
}

int migrate_incoming_run(void *opaque, struct vm *vm, struct err *e)
{
    struct mig_incoming *in = opaque;
    in->prog.phase = "receiving";
    in->prog.ram_pages = vm->mem.size >> 12;
    int r = 0;
    uint8_t *state = NULL;
    size_t state_len = 0;
    bool got_end = false;
    struct err why = ERR_INIT;
    if (vm->mem.size != in->ram_size || (uint32_t)vm->ncpus != in->ncpus) {
        r = err_set(&why, -EINVAL, "the receiving machine has %d CPUs and %llu MiB, the "
                    "sender's %u and %llu MiB", vm->ncpus,
                    (unsigned long long)(vm->mem.size >> 20), in->ncpus,
                    (unsigned long long)(in->ram_size >> 20));
        goto refuse;
    }
    /* The guest keeps the CPU it booted with. */
    if (!vm->engine->cpuid_set) {
        r = err_set(&why, -ENOTSUP, "engine %s cannot show a migrated guest its CPU",
                    vm->engine->name);
        goto refuse;
    }
    if ((r = vm->engine->cpuid_set(vm, &in->model, &why)) < 0) {
        err_wrap(&why, "engine %s refuses the guest", vm->engine->name);
        goto refuse;
    }
    if ((r = vm_create_vcpus(vm, &why)) < 0)
        goto refuse;
    in_report(in, true);
    while (!got_end) {
        uint32_t type;
        const uint8_t *p, *raw;
        size_t len, rlen;
        r = mig_recv(&in->conn, &type, &p, &len, -1, e);
        if (r < 0) {
            err_wrap(e, "the sender went before the end");
            goto fail;
        }
        switch (type) {
        case MIG_RAM:
            r = mig_unpack(&in->conn, p, len, 4 + (8 + 4096) * (size_t)RAM_BATCH_MAX, &raw,
                           &rlen, &why);
            if (r == 0)
                r = apply_ram(in, vm, raw, rlen, &why);
            break;
        case MIG_DISK:
            r = mig_unpack(&in->conn, p, len,
                           8 + (8 + (1u << MIG_DISK_SHIFT)) * (size_t)DISK_BATCH_MAX, &raw,
                           &rlen, &why);
            if (r == 0)
                r = apply_disk(in, vm, raw, rlen, &why);
            break;
        case MIG_STATE:
            if (state) {
                r = err_set(&why, -EPROTO, "the machine's state came twice");
                break;
            }
            r = mig_unpack(&in->conn, p, len, STATE_MAX, &raw, &rlen, &why);
            if (r == 0 && !(state = malloc(rlen ? rlen : 1)))
                r = err_set(&why, -ENOMEM, "out of memory");
            if (r == 0) {
                memcpy(state, raw, rlen);
                state_len = rlen;
            }
            break;
        case MIG_END:
            if (!state || len != 16)
                r = err_set(&why, -EPROTO, "the stream ended without the machine's state");
            got_end = true;
            break;
        case MIG_REFUSE:
            r = err_set(e, -ECANCELED, "the sender gave up: %.*s", (int)(len < 600 ? len : 600),
                        (const char *)p);
            goto fail;
        default:
            r = err_set(&why, -EPROTO, "unexpected %s message", mig_type_name(type));
            break;
        }
        if (r < 0)
            goto refuse;
        in_report(in, false);
    }

    /* Everything is here: load it, then tell the sender. */
    in->prog.phase = "loading";
    in_report(in, true);
    for (int d = 0; d < in->ndisks; d++) {
        if (disk_copied(in, d))
            continue;
        /* Shared: read afresh, as the sender left it (flushed, paused). */
        const struct spec_disk *sd = &in->sent_spec.disks[d];
        struct blockdev *bd = board_disk(vm, d);
        if (bd && (r = board_swap_disk(vm, d, block_path(bd), sd->format, &why)) < 0) {
            err_wrap(&why, "cannot open disk %d afresh", d);
            goto refuse;
        }
    }
    struct snapshot_file snap;
    if ((r = snap_parse(state, state_len, "the migrated state", &snap, &why)) < 0)
        goto refuse;
    r = machine_snapshot_check(&snap, &in->sent_spec, "the migrated state", &why);
    if (r == 0)
        r = machine_snapshot_load(vm, &snap, false, &why);
    snap_free(&snap);
    free(state);
    state = NULL;
    if (r < 0)
        goto refuse;
    if ((r = mig_send(&in->conn, MIG_READY, NULL, 0, e)) < 0)
        goto fail;

    /* The commit. */
    in->prog.phase = "ready";
    in_report(in, true);
    uint32_t type;
    const uint8_t *p;
    size_t len;
    r = mig_recv(&in->conn, &type, &p, &len, 120000, e);
    if (r < 0) {
        /* Did GO leave the sender?  It will ask; we say no: it keeps the guest. */
        await_query(in, 0, 15000);
        err_wrap(e, "the sender went before the switch-over");
        goto fail;
    }
    if (type != MIG_GO) {
        r = err_set(e, -ECANCELED, "the sender did not hand the guest over (%s)",
                    type == MIG_REFUSE ? "it gave up" : mig_type_name(type));
        goto fail;
    }
    if (in->commit && (r = in->commit(in->opaque, vm, &why)) < 0) {
        err_wrap(&why, "the receiver cannot take the machine on");
        goto refuse;
    }
    /* Before the guest runs: its old connections' segments go to the sender. */
    struct mig_relay *rl = calloc(1, sizeof(*rl));
    if (rl) {
        rl->in = in;
        if (net_split_create(board_net_backend(vm), frame_to_sender, rl, &rl->split) == 0)
            in->relay = rl;
        else
            free(rl);
    }
    in->prog.phase = "running";
    return 0;

refuse:
    *e = why;
    mig_refuse_linger(&in->conn, why.msg, 2000);
fail:
    free(state);
    in->prog.phase = "failed";
    snprintf(in->prog.message, sizeof(in->prog.message), "%s", e->msg);
    in_report(in, true);
    return r < 0 ? r : -EIO;
}

/* ---- after the switch-over: the old connections --------------------------------------- */


/* Frames from the sender's network for the guest, until it says it has no
 * old connection left or goes; meanwhile a sender that lost us and asks
 * whether we run the guest is told so. */
static void *relay_main(void *opaque)
{
    struct mig_relay *rl = opaque;
    struct mig_incoming *in = rl->in;
    uint64_t query_until = mig_now_ns() + 30000000000ull;
    bool link = true;
    while (!atomic_load(&rl->stop) && (link || mig_now_ns() < query_until)) {
        struct pollfd pf[2] = { { link ? in->conn.fd : -1, POLLIN, 0 },
                                { mig_now_ns() < query_until ? in->listen_fd : -1, POLLIN, 0 } };
        int r = poll(pf, 2, 200);
        if (r <= 0)
            continue;
        if (pf[1].revents & POLLIN) {
            int fd;
            if (accept_allowed(in->listen_fd, &in->allow, 0, &fd, NULL) == 0)
                answer_query(fd, &in->allow, 1);
        }
        if (link && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            uint32_t type;
            const uint8_t *p;
            size_t len;
            if (mig_recv(&in->conn, &type, &p, &len, 5000, NULL) < 0 || type == MIG_DRAIN_END) {
                link = false;
                net_split_end(rl->split);
                continue;
            }
            if (type == MIG_FRAME)
                net_split_inject(rl->split, p, len);
        }
    }
    net_split_end(rl->split);
    return NULL;
}

void migrate_started(struct mig_incoming *in, struct vm *vm)
{
    (void)vm;
    mig_send(&in->conn, MIG_RUNNING, NULL, 0, NULL);
    in->prog.phase = "completed";
    in_report(in, true);
    struct mig_relay *rl = in->relay;
    if (rl && pthread_create(&rl->thread, NULL, relay_main, rl) == 0)
        rl->thread_started = true;
    else if (rl)
        net_split_end(rl->split);
}

void migrate_incoming_stop(struct mig_incoming *in)
{
    struct mig_relay *rl = in ? in->relay : NULL;
    if (!rl)
        return;
    atomic_store(&rl->stop, true);
    net_split_end(rl->split);
    if (rl->thread_started)
        pthread_join(rl->thread, NULL);
    rl->thread_started = false;
}

void migrate_incoming_free(struct mig_incoming *in)
{
    if (!in)
        return;
    migrate_incoming_stop(in);
    if (in->relay) {
        /* The split's hook was on the machine's network backend, which
         * is closed by now (migrate.h). */
        net_split_destroy(in->relay->split);
        free(in->relay);
    }
    mig_conn_free(&in->conn);
    incoming_free_fields(in);
    free(in);
}
