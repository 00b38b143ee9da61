/* Live migration, the sending side (board/migrate.h): pre-copy rounds over
 * the dirty log, auto-converge, the switch-over, the commit, and the drain
 * of old connections afterwards. */
#include "board/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "board/board.h"
#include "board/migrate_priv.h"
#include "board/snapfile.h"
#include "board/snapshot.h"
#include "lib/log.h"
#include "machine/dirty.h"
#include "machine/vm.h"

#define BATCH_PAGES 256          /* pages per RAM message (1 MiB before compression) */
#define DISK_BATCH 16            /* granules per DISK message (1 MiB) */
#define MAX_ROUNDS 60            /* then switch over whatever is left, and say so */
#define STATE_COST_MS 15.0       /* what the switch-over costs beyond the pages */

struct mig_sender {
    struct mig_source src;
    struct mig_params p;
    struct mig_conn conn;
    struct mig_addr addr;
    uint8_t id[16];
    struct vm *vm;
    uint64_t npages;
    uint64_t *bitmap;
    bool same_folder;
    /* disks (copy mode) */
    int ndisks;
    struct blockdev *bd[SPEC_MAX_DISKS];
    uint64_t *dbits[SPEC_MAX_DISKS];
    uint64_t granules[SPEC_MAX_DISKS];
    uint8_t *gbuf;
    /* the batch being built */
    uint64_t desc[BATCH_PAGES];
    uint8_t *data;
    unsigned nbatch, ndata;
    uint8_t *wire;
    /* progress */
    struct mig_progress prog;
    uint64_t t0, last_report;
    uint64_t data_pages_round;
    /* auto-converge */
    pthread_t throttle_thread;
    bool throttle_running;
    _Atomic int throttle_pct;
    _Atomic bool throttle_stop;
    /* after the switch-over */
    struct net_backend *nb;
    _Atomic bool cancelled;
    _Atomic bool committed;
};

/* ---- helpers shared with the receiver -------------------------------------------- */

void mig_put_str(struct state_out *o, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    st_put_u32(o, (uint32_t)n);
    st_put_bytes(o, s ? s : "", n);
}

char *mig_get_str(struct state_in *in, size_t max)
{
    uint32_t n = st_get_u32(in);
    if (in->bad || n > max || n > in->len - in->off) {
        in->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        in->bad = true;
        return NULL;
    }
    st_get_bytes(in, s, n);
    s[n] = 0;
    if (strlen(s) != n) {   /* a NUL inside */
        free(s);
        in->bad = true;
        return NULL;
    }
    return s;
}

void migrate_host_id(char *buf, size_t len)
{
    /* Read once: a VMM in its root jail has no /proc (board/jail_setup.c
     * asks before it enters). */
    static char id[330];
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    if (!id[0]) {
        char host[256] = "?", boot[64] = "";
        gethostname(host, sizeof(host) - 1);
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
        if (f) {
            if (fgets(boot, sizeof(boot), f))
                boot[strcspn(boot, "\n")] = 0;
            fclose(f);
        }
        snprintf(id, sizeof(id), "%s/%s", host, boot);
    }
    snprintf(buf, len, "%s", id);
    pthread_mutex_unlock(&lock);
}

static bool page_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < 4096 / 8; i += 8)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
            return false;
    return true;
}

static bool buf_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 4096 <= len; i += 4096)
        if (!page_zero(p + i))
            return false;
    for (size_t i = len & ~(size_t)4095; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* ---- progress ----------------------------------------------------------------- */

static void report(struct mig_sender *s, bool force)
{
    uint64_t now = mig_now_ns();
    if (!force && now - s->last_report < 250000000ull)
        return;
    s->last_report = now;
    s->prog.bytes_sent = s->conn.sent;
    s->prog.elapsed_ms = (double)(now - s->t0) / 1e6;
    s->prog.throttle_pct = atomic_load(&s->throttle_pct);
    if (s->src.progress)
        s->src.progress(s->src.opaque, &s->prog);
}

static void say(struct mig_sender *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct mig_sender *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->prog.message, sizeof(s->prog.message), fmt, ap);
    va_end(ap);
    log_info("migration: %s", s->prog.message);
    report(s, true);
    s->prog.message[0] = 0;
}

/* ---- auto-converge ----------------------------------------------------------- */

/* Parks the vCPUs for throttle_pct of every 20 ms: the guest writes less
 * while its clock and devices go on (docs/migration.md). */
static void *throttle_main(void *opaque)
{
    struct mig_sender *s = opaque;
    while (!atomic_load(&s->throttle_stop)) {
        int pct = atomic_load(&s->throttle_pct);
        long park_ns = 20000000L * pct / 100, run_ns = 20000000L - park_ns;
        if (pct > 0) {
            vm_throttle(s->vm, true);
            struct timespec t = { 0, park_ns };
            nanosleep(&t, NULL);
            vm_throttle(s->vm, false);
        }
        struct timespec t = { 0, run_ns > 0 ? run_ns : 1000000L };
        nanosleep(&t, NULL);
    }
    vm_throttle(s->vm, false);
    return NULL;
}

static void throttle_set(struct mig_sender *s, int pct)
{
    atomic_store(&s->throttle_pct, pct);
    if (!s->throttle_running && pct > 0 &&
        pthread_create(&s->throttle_thread, NULL, throttle_main, s) == 0)
        s->throttle_running = true;
}

static void throttle_end(struct mig_sender *s)
{
    if (!s->throttle_running)
        return;
    atomic_store(&s->throttle_stop, true);
    pthread_join(s->throttle_thread, NULL);
    s->throttle_running = false;
    atomic_store(&s->throttle_pct, 0);
}

/* ---- RAM ------------------------------------------------------------------------- */

static int flush_batch(struct mig_sender *s, struct err *e)
{
    if (!s->nbatch)
        return 0;
    size_t len = 4 + 8 * (size_t)s->nbatch + 4096 * (size_t)s->ndata;
    uint8_t *w = s->wire;
    w[0] = (uint8_t)s->nbatch;
    w[1] = (uint8_t)(s->nbatch >> 8);
    w[2] = w[3] = 0;
    for (unsigned i = 0; i < s->nbatch; i++)
        for (int b = 0; b < 8; b++)
            w[4 + 8 * i + b] = (uint8_t)(s->desc[i] >> (8 * b));
    memcpy(w + 4 + 8 * s->nbatch, s->data, 4096 * (size_t)s->ndata);
    s->nbatch = s->ndata = 0;
    int r = mig_send_packed(&s->conn, MIG_RAM, w, len, e);
    return r < 0 ? r : mig_peer_refused(&s->conn, e);
}

/* Adds one page to the batch: its bytes, or a mark that it is all zeros
 * (skip_zero: the receiver has zeros there already). */
static int add_page(struct mig_sender *s, uint64_t pg, bool skip_zero, struct err *e)
{
    const uint8_t *p = s->vm->mem.host + (pg << 12);
    s->prog.pages_sent++;
    if (page_zero(p)) {
        if (skip_zero)
            return 0;
        s->desc[s->nbatch++] = pg << 1 | 1;
    } else {
        memcpy(s->data + 4096 * (size_t)s->ndata++, p, 4096);
        s->desc[s->nbatch++] = pg << 1;
        s->data_pages_round++;
    }
    if (s->nbatch == BATCH_PAGES)
        return flush_batch(s, e);
    return 0;
}

static bool stopped(struct mig_sender *s, struct err *e)
{
    if (atomic_load(&s->cancelled)) {
        err_set(e, -ECANCELED, "migration cancelled");
        return true;
    }
    if (atomic_load(&s->vm->stop) != VM_RUNNING) {
        err_set(e, -ESRCH, "the machine stopped during the migration");
        return true;
    }
    return false;
}

/* Round 1: every page that holds anything.  Every page is read (pages
 * the guest never touched read as the zero page, allocating nothing);
 * add_page sends no all-zero page. */
static int send_all_ram(struct mig_sender *s, struct err *e)
{
    for (uint64_t pg = 0; pg < s->npages; pg++) {
        int r = add_page(s, pg, true, e);
        if (r < 0)
            return r;
        if ((pg & 1023) == 0) {
            if (stopped(s, e))
                return -ECANCELED;
            report(s, false);
        }
    }
    return flush_batch(s, e);
}

static int send_dirty_ram(struct mig_sender *s, bool paused, struct err *e)
{
    for (uint64_t w = 0; w < dirty_words(s->npages); w++) {
        uint64_t bits = s->bitmap[w];
        if (!bits)
            continue;
        s->bitmap[w] = 0;
        while (bits) {
            uint64_t pg = w * 64 + (uint64_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (pg >= s->npages)
                break;
            int r = add_page(s, pg, false, e);
            if (r < 0)
                return r;
        }
        if (!paused && (w & 63) == 0) {
            if (stopped(s, e))
                return -ECANCELED;
            report(s, false);
        }
    }
    return flush_batch(s, e);
}

/* ---- disks (copy mode) ----------------------------------------------------------- */

static int send_granules(struct mig_sender *s, int d, const uint64_t *which, bool all,
                         bool skip_zero, struct err *e)
{
    uint64_t n = s->granules[d], size = block_size(s->bd[d]);
    const size_t g = 1u << MIG_DISK_SHIFT;
    uint8_t *w = s->wire;
    size_t at = 8;
    uint32_t count = 0;
    uint64_t descs[DISK_BATCH];
    uint8_t *payload = s->gbuf;   /* DISK_BATCH granules */
    size_t plen = 0;
    for (uint64_t k = 0; k <= n; k++) {
        bool take = k < n && (all || dirty_test(which, k));
        if (take) {
            uint64_t off = k << MIG_DISK_SHIFT;
            size_t len = size - off < g ? (size_t)(size - off) : g;
            struct iovec iov = { payload + plen, len };
            int r = block_preadv(s->bd[d], off, &iov, 1);
            if (r < 0)
                return err_set(e, r, "migration: cannot read disk %d at %llu: %s", d,
                               (unsigned long long)off, strerror(-r));
            if (buf_zero(payload + plen, len)) {
                if (!skip_zero)
                    descs[count++] = k << 1 | 1;
            } else {
                descs[count++] = k << 1;
                plen += len;
                s->prog.disk_bytes_sent += len;
            }
        }
        if (count && (count == DISK_BATCH || k == n)) {
            w[0] = (uint8_t)d;
            w[1] = w[2] = w[3] = 0;
            w[4] = (uint8_t)count;
            w[5] = w[6] = w[7] = 0;
            at = 8;
            for (uint32_t i = 0; i < count; i++, at += 8)
                for (int b = 0; b < 8; b++)
                    w[at + b] = (uint8_t)(descs[i] >> (8 * b));
            memcpy(w + at, payload, plen);
            int r = mig_send_packed(&s->conn, MIG_DISK, w, at + plen, e);
            if (r == 0)
                r = mig_peer_refused(&s->conn, e);
            if (r < 0)
                return r;
            count = 0;
            plen = 0;
            report(s, false);
        }
        if (take && (k & 255) == 0 && stopped(s, e))
            return -ECANCELED;
    }
    return 0;
}

static uint64_t disk_dirty_bytes(struct mig_sender *s)
{
    uint64_t n = 0;
    for (int d = 0; d < s->ndisks; d++)
        if (s->dbits[d])
            n += dirty_count(s->dbits[d], s->granules[d]) << MIG_DISK_SHIFT;
    return n;
}

/* ---- the stream's start ------------------------------------------------------------ */

static int send_hello(struct mig_sender *s, struct err *e)
{
    struct state_out o;
    state_out_init(&o);
    st_put_bytes(&o, MIG_MAGIC, 8);
    st_put_u32(&o, MIG_VERSION);
    st_put_u32(&o, s->p.copy_disks ? MIG_HELLO_COPY_DISKS : 0);
    st_put_bytes(&o, s->id, 16);
    char host[512];
    migrate_host_id(host, sizeof(host));
    mig_put_str(&o, host);
    mig_put_str(&o, s->src.folder);
    mig_put_str(&o, s->vm->engine->name);
    mig_put_str(&o, s->src.config_json);
    json_t *sj = spec_to_json(s->src.spec);
    char *spec = sj ? json_dumps(sj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(sj);
    mig_put_str(&o, spec);
    free(spec);
    st_put_u64(&o, s->vm->mem.size);
    st_put_u32(&o, (uint32_t)s->vm->ncpus);
    struct cpuid_model *m = calloc(1, sizeof(*m));
    int r = m && s->vm->engine->cpuid_get ? s->vm->engine->cpuid_get(s->vm, m) : -ENOTSUP;
    if (r < 0) {
        free(m);
        state_out_free(&o);
        return err_set(e, r, "migration: cannot read the guest's CPUID model: %s",
                       strerror(-r));
    }
    cpuid_model_encode(m, &o);
    free(m);
    st_put_u32(&o, (uint32_t)s->src.spec->ndisks);
    for (int i = 0; i < s->src.spec->ndisks; i++) {
        const struct spec_disk *d = &s->src.spec->disks[i];
        struct blockdev *bd = board_disk(s->vm, i);
        st_put_u64(&o, bd ? block_size(bd) : 0);
        st_put_u8(&o, d->readonly);
        mig_put_str(&o, d->path);
    }
    const char *files[MIG_NFILES] = { s->src.spec->kernel, s->src.spec->initrd,
                                      s->src.spec->cdrom };
    for (int k = 0; k < MIG_NFILES; k++) {
        struct mig_file_desc f = { 0 };
        if (files[k] && mig_file_summary(files[k], &f.size, &f.crc) < 0) {
            state_out_free(&o);
            return err_set(e, -EIO, "migration: cannot read %s", files[k]);
        }
        mig_put_str(&o, files[k]);
        st_put_u64(&o, f.size);
        st_put_u32(&o, f.crc);
    }
    st_put_u32(&o, (uint32_t)s->src.nbound);
    for (int i = 0; i < s->src.nbound; i++) {
        st_put_u8(&o, s->src.bound[i].udp);
        st_put_u32(&o, s->src.bound[i].host_addr);
        st_put_u16(&o, s->src.bound[i].host_port);
        st_put_u16(&o, s->src.bound[i].guest_port);
    }
    r = state_out_ok(&o) ? mig_send(&s->conn, MIG_HELLO, o.data, o.len, e)
                         : err_set(e, -ENOMEM, "out of memory");
    state_out_free(&o);
    return r;
}

static int send_files(struct mig_sender *s, const uint8_t *need, struct err *e)
{
    const char *files[MIG_NFILES] = { s->src.spec->kernel, s->src.spec->initrd,
                                      s->src.spec->cdrom };
    for (int k = 0; k < MIG_NFILES; k++) {
        if (!need[k] || !files[k])
            continue;
        int fd = open(files[k], O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return err_set(e, -errno, "migration: cannot open %s: %s", files[k],
                           strerror(errno));
        s->prog.phase = "files";
        uint8_t *buf = s->wire;
        uint64_t off = 0;
        for (;;) {
            buf[0] = (uint8_t)k;
            for (int b = 0; b < 8; b++)
                buf[1 + b] = (uint8_t)(off >> (8 * b));
            ssize_t n = read(fd, buf + 9, 4u << 20);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int r = -errno;
                close(fd);
                return err_set(e, r, "migration: cannot read %s: %s", files[k], strerror(-r));
            }
            if (n == 0)
                break;
            int r = mig_send_packed(&s->conn, MIG_FILE, buf, 9 + (size_t)n, e);
            if (r < 0) {
                close(fd);
                return r;
            }
            off += (uint64_t)n;
            report(s, false);
        }
        close(fd);
    }
    return 0;
}

/* ---- the switch-over and the commit ----------------------------------------------------- */

static int expect(struct mig_sender *s, uint32_t want, int timeout_ms, const uint8_t **p,
                  size_t *len, struct err *e)
{
    uint32_t type;
    int r;
    do   /* the guest's frames may come before RUNNING: a lost segment is resent */
        r = mig_recv(&s->conn, &type, p, len, timeout_ms, e);
    while (r == 0 && type == MIG_FRAME && want == MIG_RUNNING);
    if (r < 0)
        return r;
    if (type == MIG_REFUSE) {
        char why[600];
        snprintf(why, sizeof(why), "%.*s", (int)(*len < 500 ? *len : 500), (const char *)*p);
        return err_set(e, -ECONNREFUSED, "the receiver refused: %s", why);
    }
    if (type != want)
        return err_set(e, -EPROTO, "migration: the receiver sent %s where %s was due",
                       mig_type_name(type), mig_type_name(want));
    return 0;
}

/* The link went while GO was on its way: ask the receiver on a new
 * connection whether it took it.  1: it runs the guest; 0: it never will;
 * -errno: it cannot be reached. */
static int query_receiver(struct mig_sender *s)
{
    uint64_t until = mig_now_ns() + 15000000000ull;
    while (mig_now_ns() < until) {
        int fd;
        struct err e = ERR_INIT;
        if (mig_connect(&s->addr, 2000, &fd, &e) == 0) {
            struct mig_conn c;
            mig_conn_init(&c, fd);
            uint32_t type;
            const uint8_t *p;
            size_t len;
            int r = mig_send(&c, MIG_QUERY, s->id, 16, &e);
            if (r == 0)
                r = mig_recv(&c, &type, &p, &len, 5000, &e);
            int answer = r == 0 && type == MIG_ANSWER && len == 1 ? p[0] : -1;
            mig_conn_free(&c);
            if (answer == 0 || answer == 1)
                return answer;
        }
        struct timespec t = { 0, 300000000L };
        nanosleep(&t, NULL);
    }
    return -EHOSTUNREACH;
}

/* Pause, the last pages and disk blocks, the state, END; then READY, GO,
 * RUNNING.  Returns 0 when the guest runs on the receiver; 1 when it must
 * run here again (e says why); -errno when it must stay paused here. */
static int switch_over(struct mig_sender *s, struct err *e)
{
    s->prog.phase = "switchover";
    report(s, true);
    uint64_t t_pause = mig_now_ns();
    int r = vm_pause(s->vm);
    throttle_end(s);
    uint64_t t_paused = mig_now_ns();
    s->prog.pause_ms = (double)(t_paused - t_pause) / 1e6;
    if (r < 0) {
        err_set(e, r, "the machine is stopping");
        return 1;
    }
    if (!s->p.copy_disks)
        r = board_flush_disks(s->vm, e);
    for (int d = 0; r == 0 && d < s->ndisks; d++) {
        if (!s->dbits[d])
            continue;
        r = block_flush(s->bd[d]);
        if (r == 0)
            r = block_dirty_take(s->bd[d], s->dbits[d]);
        if (r < 0)
            err_set(e, r, "migration: disk %d: %s", d, strerror(-r));
        else
            r = send_granules(s, d, s->dbits[d], false, false, e);
    }
    if (r == 0) {
        r = vm_dirty_sync(s->vm, s->bitmap);
        if (r < 0)
            err_set(e, r, "migration: cannot read the dirty log: %s", strerror(-r));
    }
    if (r == 0)
        r = send_dirty_ram(s, true, e);
    struct snap_writer w;
    if (r == 0) {
        r = machine_snapshot_state(s->vm, s->src.spec, &w, e);
        if (r == 0)
            r = snap_write_end(&w, e);
        if (r == 0)
            r = mig_send_packed(&s->conn, MIG_STATE, w.out.data, w.out.len, e);
        snap_writer_free(&w);
    }
    if (r == 0) {
        uint8_t end[16];
        for (int b = 0; b < 8; b++) {
            end[b] = (uint8_t)(s->prog.pages_sent >> (8 * b));
            end[8 + b] = (uint8_t)(s->prog.disk_bytes_sent >> (8 * b));
        }
        r = mig_send(&s->conn, MIG_END, end, sizeof(end), e);
    }
    const uint8_t *p;
    size_t len;
    uint64_t t_sent = mig_now_ns();
    s->prog.final_ms = (double)(t_sent - t_paused) / 1e6;
    if (r == 0)
        r = expect(s, MIG_READY, 120000, &p, &len, e);
    if (r < 0)
        return 1;   /* nothing committed: the guest runs here again */
    uint64_t t_ready = mig_now_ns();
    s->prog.load_ms = (double)(t_ready - t_sent) / 1e6;

    /* The commit: from GO on, the guest never runs here unless the
     * receiver says it will not run it. */
    s->prog.phase = "committed";
    atomic_store(&s->committed, true);
    report(s, true);
    if (s->src.release)
        s->src.release(s->src.opaque, s->same_folder);
    r = mig_send(&s->conn, MIG_GO, NULL, 0, e);
    if (r == 0)
        r = expect(s, MIG_RUNNING, 120000, &p, &len, e);
    if (r == 0) {
        s->prog.commit_ms = (double)(mig_now_ns() - t_ready) / 1e6;
        s->prog.downtime_ms = (double)(mig_now_ns() - t_pause) / 1e6;
        return 0;
    }
    int answer = r == -ECONNREFUSED ? 0 : query_receiver(s);
    if (answer == 1) {
        log_warn("migration: the link broke at the switch-over, but the receiver runs the "
                 "guest");
        s->prog.downtime_ms = (double)(mig_now_ns() - t_pause) / 1e6;
        mig_conn_shutdown(&s->conn);
        return 0;
    }
    struct err e2 = ERR_INIT;
    if (answer == 0 || s->same_folder) {
        /* It will not run it (or, in the same folder, the machine's lock
         * tells: reclaim fails while the receiver holds it). */
        if (!s->src.reclaim || s->src.reclaim(s->src.opaque, s->same_folder) == 0)
            return 1;
        err_set(&e2, -EBUSY, "%s; and the receiver holds the machine now: it stays paused "
                "here", e->msg);
    } else {
        err_set(&e2, -EHOSTUNREACH, "%s; the receiver cannot be reached to tell whether it "
                "runs the guest, so it stays paused here: 'hostel resume' it if the receiver "
                "does not run it", e->msg);
    }
    *e = e2;
    return e->code;
}

static void sender_free(struct mig_sender *s)
{
    if (!s)
        return;
    throttle_end(s);
    if (s->vm)
        vm_dirty_stop(s->vm);
    for (int d = 0; d < s->ndisks; d++) {
        if (s->dbits[d] && s->bd[d])
            block_dirty_stop(s->bd[d]);
        free(s->dbits[d]);
    }
    if (s->nb)
        net_backend_close(s->nb);
    mig_conn_free(&s->conn);
    free(s->bitmap);
    free(s->data);
    free(s->wire);
    free(s->gbuf);
    free(s);
}

/* The sender's network, after the switch-over: frames for the guest's old
 * connections go to the receiver (on the backend's thread). */
static void frame_to_receiver(void *opaque, const uint8_t *frame, size_t len)
{
    struct mig_sender *s = opaque;
    mig_send(&s->conn, MIG_FRAME, frame, len, NULL);
}

int migrate_send(const struct mig_source *src, const char *addr, const struct mig_params *p,
                 struct mig_sender **out, struct err *e)
{
    struct mig_sender *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory");
    s->src = *src;
    s->p = *p;
    if (!s->p.max_downtime_ms)
        s->p.max_downtime_ms = MIG_DEFAULT_DOWNTIME_MS;
    s->vm = src->vm;
    s->npages = vm_dirty_pages(s->vm);
    s->t0 = mig_now_ns();
    s->prog.phase = "connecting";
    s->prog.ram_pages = s->npages;
    mig_conn_init(&s->conn, -1);
    if (out)
        __atomic_store_n(out, s, __ATOMIC_RELEASE);
    int r = 0;
    bool dirty_on = false;
    s->bitmap = calloc(dirty_words(s->npages) + 1, sizeof(uint64_t));
    s->data = malloc(4096 * (size_t)BATCH_PAGES);
    s->wire = malloc(4 + (8 + 4096) * (size_t)BATCH_PAGES + (9 + (4u << 20)));
    s->gbuf = malloc((size_t)DISK_BATCH << MIG_DISK_SHIFT);
    if (!s->bitmap || !s->data || !s->wire || !s->gbuf) {
        r = err_set(e, -ENOMEM, "out of memory for the migration");
        goto fail;
    }
    if (getrandom(s->id, sizeof(s->id), 0) != sizeof(s->id))
        for (size_t i = 0; i < sizeof(s->id); i++)
            s->id[i] = (uint8_t)(rand() ^ (int)mig_now_ns());
    if ((r = mig_parse_addr(addr, &s->addr, e)) < 0)
        goto fail;
    /* What cannot move is refused before a page is copied. */
    if ((r = board_savable(s->vm, e)) < 0)
        goto fail;
    int fd;
    if ((r = mig_connect(&s->addr, 10000, &fd, e)) < 0)
        goto fail;
    s->conn.fd = fd;
    s->conn.bw_limit = s->p.bandwidth;
    report(s, true);

    /* HELLO, ACCEPT, and what files the receiver lacks. */
    if ((r = send_hello(s, e)) < 0)
        goto fail;
    const uint8_t *ap;
    size_t alen;
    if ((r = expect(s, MIG_ACCEPT, 60000, &ap, &alen, e)) < 0)
        goto fail;
    struct state_in in;
    state_in_init(&in, ap, alen);
    uint32_t version = st_get_u32(&in);
    char *rhost = mig_get_str(&in, 4096), *rfolder = mig_get_str(&in, 4096);
    uint8_t need[MIG_NFILES];
    for (int k = 0; k < MIG_NFILES; k++)
        need[k] = st_get_u8(&in);
    if (in.bad || version != MIG_VERSION) {
        free(rhost);
        free(rfolder);
        r = err_set(e, -EPROTO, "migration: the receiver's answer is malformed");
        goto fail;
    }
    char host[512];
    migrate_host_id(host, sizeof(host));
    s->same_folder = src->folder && rfolder && !strcmp(host, rhost) && !strcmp(src->folder, rfolder);
    free(rhost);
    free(rfolder);
    if ((r = send_files(s, need, e)) < 0)
        goto fail;

    /* Tracking first, then round 1: a page written after its copy is sent again. */
    for (int d = 0; s->p.copy_disks && d < src->spec->ndisks; d++) {
        struct blockdev *bd = board_disk(s->vm, d);
        if (!bd)
            continue;
        s->bd[d] = bd;
        s->granules[d] = (block_size(bd) + (1u << MIG_DISK_SHIFT) - 1) >> MIG_DISK_SHIFT;
        s->dbits[d] = calloc(dirty_words(s->granules[d]) + 1, sizeof(uint64_t));
        if (!s->dbits[d] || (r = block_dirty_start(bd, MIG_DISK_SHIFT)) < 0) {
            r = err_set(e, r < 0 ? r : -ENOMEM, "migration: cannot track disk %d's writes", d);
            goto fail;
        }
        s->ndisks = d + 1;
    }
    if ((r = vm_dirty_start(s->vm, e)) < 0)
        goto fail;
    dirty_on = true;
    s->prog.round = 1;
    s->prog.phase = "ram";
    report(s, true);
    uint64_t t_round = mig_now_ns();
    if ((r = send_all_ram(s, e)) < 0)
        goto fail;
    for (int d = 0; d < s->ndisks; d++) {
        s->prog.phase = "disk";
        if ((r = send_granules(s, d, NULL, true, true, e)) < 0)
            goto fail;
    }

    /* Rounds until what is left fits the downtime. */
    double prev_dirty_rate = 0;
    int hot_rounds = 0;
    for (;;) {
        uint64_t now = mig_now_ns();
        double secs = (double)(now - t_round) / 1e9;
        double cost_per_page = (double)(now - t_round) / 1e6 /
                               (double)(s->data_pages_round ? s->data_pages_round : 1);
        if (s->data_pages_round < 64)
            cost_per_page = 0.05;   /* too few to measure: a loopback's cost */
        t_round = now;
        s->data_pages_round = 0;
        if ((r = vm_dirty_sync(s->vm, s->bitmap)) < 0) {
            err_set(e, r, "migration: cannot read the dirty log: %s", strerror(-r));
            goto fail;
        }
        for (int d = 0; d < s->ndisks; d++)
            block_dirty_take(s->bd[d], s->dbits[d]);
        uint64_t nd = dirty_count(s->bitmap, s->npages);
        s->prog.dirty_pages = nd;
        s->prog.disk_dirty_bytes = disk_dirty_bytes(s);
        s->prog.dirty_rate = secs > 0 ? (double)nd / secs : 0;
        s->prog.page_rate = cost_per_page > 0 ? 1000.0 / cost_per_page : 0;
        double disk_ms = (double)s->prog.disk_dirty_bytes / 4096.0 * cost_per_page;
        s->prog.expected_downtime_ms = (double)nd * cost_per_page + disk_ms + STATE_COST_MS;
        report(s, true);
        if (stopped(s, e)) {
            r = e->code;
            goto fail;
        }
        if (s->prog.expected_downtime_ms <= (double)s->p.max_downtime_ms)
            break;
        if (s->prog.round >= MAX_ROUNDS) {
            say(s, "not converged after %d rounds: switching over with %llu pages left "
                "(about %.0f ms)", MAX_ROUNDS, (unsigned long long)nd,
                s->prog.expected_downtime_ms);
            break;
        }
        /* The guest writes faster than half our rate: it will not converge. */
        bool hot = s->prog.round >= 2 && s->prog.dirty_rate > 0.5 * s->prog.page_rate &&
                   s->prog.dirty_rate >= prev_dirty_rate * 0.9;
        hot_rounds = hot ? hot_rounds + 1 : 0;
        prev_dirty_rate = s->prog.dirty_rate;
        if (hot_rounds >= 2) {
            if (s->p.no_auto_converge) {
                r = err_set(e, -ETIMEDOUT, "migration cannot converge: the guest writes %.0f "
                            "pages/s, the link carries %.0f; allow auto-converge (throttling "
                            "the guest), a larger --max-downtime or more --bandwidth",
                            s->prog.dirty_rate, s->prog.page_rate);
                goto fail;
            }
            int pct = atomic_load(&s->throttle_pct);
            pct = pct == 0 ? 20 : pct < 80 ? pct + 20 : pct < 95 ? pct + 5 : 99;
            throttle_set(s, pct);
            hot_rounds = 0;
            say(s, "cannot converge (the guest writes %.0f pages/s, %.0f can be sent): "
                "auto-converge throttles the guest to %d%% of its CPU time", s->prog.dirty_rate,
                s->prog.page_rate, 100 - pct);
        }
        s->prog.round++;
        s->prog.phase = "ram";
        if ((r = send_dirty_ram(s, false, e)) < 0)
            goto fail;
        for (int d = 0; d < s->ndisks; d++) {
            if ((r = send_granules(s, d, s->dbits[d], false, false, e)) < 0)
                goto fail;
            memset(s->dbits[d], 0, dirty_words(s->granules[d]) * sizeof(uint64_t));
        }
    }

    r = switch_over(s, e);
    if (r == 0) {
        /* The guest runs on the receiver: this machine stops, and its
         * network lives on for the connections it carries. */
        s->prog.phase = "completed";
        struct net_backend *nb = board_net_backend(s->vm);
        if (nb && net_backend_set_receive(nb, frame_to_receiver, s) == 0)
            s->nb = board_take_net_backend(s->vm);
        vm_dirty_stop(s->vm);
        dirty_on = false;
        vm_request_stop(s->vm, VM_STOP_MIGRATED, 0);
        report(s, true);
        log_info("migration: done in %.0f ms, %.0f ms paused, %llu bytes sent",
                 s->prog.elapsed_ms, s->prog.downtime_ms, (unsigned long long)s->conn.sent);
        return 0;
    }
    if (r < 0) {
        /* Paused, maybe running there: never resumed here. */
        s->prog.phase = "failed";
        snprintf(s->prog.message, sizeof(s->prog.message), "%s", e->msg);
        report(s, true);
        if (dirty_on)
            vm_dirty_stop(s->vm);
        mig_conn_shutdown(&s->conn);
        return r;
    }
    r = e->code ? e->code : -EIO;
    /* fall through: the guest goes on here */
fail:
    throttle_end(s);
    if (dirty_on)
        vm_dirty_stop(s->vm);
    /* A receiver that gave up says why before it goes: better than "closed". */
    if (s->conn.fd >= 0 && (r == -EPIPE || r == -ECONNRESET)) {
        uint32_t type;
        const uint8_t *rp;
        size_t rlen;
        if (mig_recv(&s->conn, &type, &rp, &rlen, 200, NULL) == 0 && type == MIG_REFUSE)
            err_set(e, -ECONNREFUSED, "the receiver refused: %.*s", (int)(rlen < 600 ? rlen : 600),
                    (const char *)rp);
    }
    if (s->vm && vm_paused(s->vm) && atomic_load(&s->vm->stop) == VM_RUNNING)
        vm_resume(s->vm);
    if (s->conn.fd >= 0) {
        char why[sizeof(e->msg)];
        snprintf(why, sizeof(why), "%s", e->msg[0] ? e->msg : "the sender gave up");
        mig_send(&s->conn, MIG_REFUSE, why, strlen(why), NULL);
        mig_conn_shutdown(&s->conn);
    }
    s->prog.phase = "failed";
    snprintf(s->prog.message, sizeof(s->prog.message), "%s", e->msg);
    report(s, true);
    return r;
}

void migrate_cancel(struct mig_sender **slot)
{
    struct mig_sender *s = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!s)
        return;
    atomic_store(&s->cancelled, true);
    if (!atomic_load(&s->committed))
        mig_conn_shutdown(&s->conn);   /* a blocked send or receive returns */
}

/* ---- after the switch-over ------------------------------------------------------- */

void migrate_drain(struct mig_sender *s)
{
    if (!s)
        return;
    if (!s->nb || s->conn.fd < 0) {
        sender_free(s);
        return;
    }
    uint64_t start = mig_now_ns(), last_check = 0;
    int idle_checks = 0;
    for (;;) {
        uint64_t now = mig_now_ns();
        if (now - last_check >= 1000000000ull) {
            last_check = now;
            int n = net_backend_connections(s->nb);
            idle_checks = n <= 0 ? idle_checks + 1 : 0;
            if (idle_checks >= 2 || now - start > 3600ull * 1000000000ull)
                break;
        }
        uint32_t type;
        const uint8_t *p;
        size_t len;
        struct err e = ERR_INIT;
        int r = mig_recv(&s->conn, &type, &p, &len, 500, &e);
        if (r == -ETIMEDOUT)
            continue;
        if (r < 0)
            break;   /* the receiver went: its old connections with it */
        if (type == MIG_FRAME && len >= NET_MIN_FRAME && len <= NET_MAX_FRAME)
            net_send(s->nb, p, len);
    }
    log_info("migration: no connection of the guest's is left here; the sender exits");
    mig_send(&s->conn, MIG_DRAIN_END, NULL, 0, NULL);
    net_backend_close(s->nb);
    s->nb = NULL;
    sender_free(s);
}

void migrate_sender_free(struct mig_sender *s)
{
    sender_free(s);
}

const struct mig_progress *migrate_sender_progress(const struct mig_sender *s)
{
    return &s->prog;
}
