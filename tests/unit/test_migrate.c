/* Unit tests for live migration's parts: CPUID models as data, the wire
 * (framing, checksums, compression, bounds), the address allow list, dirty
 * tracking (guest RAM through mem.h and emu's TLB, disks), the receiver's
 * split of old and new network connections; then a whole migration of a
 * machine (emu, no vCPU running) between two machines in this process over
 * loopback, RAM and state compared; then that stream replayed into fresh
 * receivers with one message damaged at a time (its checksum made right,
 * so the parsers behind it are reached): each is refused or loaded, never
 * a crash or a read out of bounds (the ASan build runs this too). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "block/block.h"
#include "board/board.h"
#include "board/migrate.h"
#include "board/snapfile.h"
#include "board/snapshot.h"
#include "engine/cpuid_model.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/mmu.h"
#include "engine/engine.h"
#include "host/chardev.h"
#include "machine/dirty.h"
#include "machine/vm.h"
#include "net/split.h"

static char tmpdir[] = "/tmp/hostel-test-migrate-XXXXXX";

/* ---- CPUID models ---------------------------------------------------------------- */

static void cpuid_models(void)
{
    struct cpuid_model *m = calloc(1, sizeof(*m)), *back = calloc(1, sizeof(*back));
    CHECK_EQ(engine_emu.cpuid_get ? 0 : -1, 0);
    CHECK_EQ(engine_portable_cpuid(2, m), 0);
    CHECK(m->n > 10);
    const struct cpuid_leaf *l1 = cpuid_model_find(m, 1, 0);
    CHECK(l1 && !(l1->ecx & 1) && (l1->edx & (1u << 26)));   /* no SSE3, SSE2 */
    struct state_out o;
    state_out_init(&o);
    cpuid_model_encode(m, &o);
    struct state_in in;
    state_in_init(&in, o.data, o.len);
    CHECK_EQ(cpuid_model_decode(&in, back, NULL), 0);
    CHECK(state_in_done(&in));
    CHECK(cpuid_model_equal(m, back));
    /* Every truncation is refused; a leaf out of order too. */
    int refused = 0;
    for (size_t n = 0; n < o.len; n += 7) {
        state_in_init(&in, o.data, n);
        refused += cpuid_model_decode(&in, back, NULL) < 0 || !state_in_done(&in);
    }
    CHECK_EQ(refused, (int)((o.len + 6) / 7));
    uint8_t *bad = malloc(o.len);
    memcpy(bad, o.data, o.len);
    memcpy(bad + 4, o.data + 4 + 28, 4);   /* leaf 1 first */
    state_in_init(&in, bad, o.len);
    CHECK(cpuid_model_decode(&in, back, NULL) < 0);
    free(bad);
    state_out_free(&o);
    /* The APIC ID differs per vCPU: still the same model. */
    *back = *m;
    for (uint32_t i = 0; i < back->n; i++)
        if (back->e[i].leaf == 1)
            back->e[i].ebx |= 3u << 24;
    CHECK(cpuid_model_equal(m, back));
    /* A feature the other lacks is named. */
    for (uint32_t i = 0; i < back->n; i++)
        if (back->e[i].leaf == 1)
            back->e[i].ecx |= (1u << 28) | (1u << 20);   /* avx, sse4_2 */
    char names[200];
    CHECK_EQ(cpuid_model_missing(back, m, names, sizeof(names)), 2);
    CHECK(strstr(names, "sse4_2") && strstr(names, "avx"));
    CHECK(!cpuid_model_equal(m, back));
    free(m);
    free(back);
}

/* ---- the wire ---------------------------------------------------------------------- */

static void wire_round_trip_and_damage(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct mig_conn a, b;
    mig_conn_init(&a, sv[0]);
    mig_conn_init(&b, sv[1]);
    struct err e = ERR_INIT;
    uint8_t page[8192];
    memset(page, 0x5a, sizeof(page));
    CHECK_EQ(mig_send_packed(&a, MIG_RAM, page, sizeof(page), &e), 0);   /* compresses */
    CHECK(a.sent < 1000);
    uint32_t type;
    const uint8_t *p, *raw;
    size_t len, rlen;
    CHECK_EQ(mig_recv(&b, &type, &p, &len, 1000, &e), 0);
    CHECK_EQ(type, MIG_RAM);
    CHECK_EQ(mig_unpack(&b, p, len, sizeof(page), &raw, &rlen, &e), 0);
    CHECK(rlen == sizeof(page) && !memcmp(raw, page, rlen));
    /* More than the reader takes. */
    CHECK_EQ(mig_send_packed(&a, MIG_RAM, page, sizeof(page), &e), 0);
    CHECK_EQ(mig_recv(&b, &type, &p, &len, 1000, &e), 0);
    CHECK(mig_unpack(&b, p, len, 4096, &raw, &rlen, &e) < 0);
    /* A flipped byte. */
    uint8_t msg[12 + 3] = { 0 };
    msg[0] = MIG_GO;
    msg[4] = 3;
    memcpy(msg + 12, "abc", 3);
    uint32_t crc = (uint32_t)crc32(crc32(0, msg, 8), msg + 12, 3);
    memcpy(msg + 8, &crc, 4);
    msg[13] ^= 1;
    CHECK_EQ(write(sv[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
    CHECK_EQ(mig_recv(&b, &type, &p, &len, 1000, &e), -EBADMSG);
    /* A length past the limit, an unknown type: refused before anything is allocated. */
    uint8_t huge[12] = { MIG_RAM, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f };
    CHECK_EQ(write(sv[0], huge, sizeof(huge)), (ssize_t)sizeof(huge));
    CHECK_EQ(mig_recv(&b, &type, &p, &len, 1000, &e), -EPROTO);
    uint8_t unknown[12] = { 200 };
    CHECK_EQ(write(sv[0], unknown, sizeof(unknown)), (ssize_t)sizeof(unknown));
    CHECK_EQ(mig_recv(&b, &type, &p, &len, 1000, &e), -EPROTO);
    /* A compressed batch claiming another size. */
    uint8_t lie[5 + 64] = { 1, 0x10, 0, 0, 0 };
    CHECK(mig_unpack(&b, lie, sizeof(lie), 1 << 20, &raw, &rlen, &e) < 0);
    uint8_t codec[5] = { 7, 0, 0, 0, 0 };
    CHECK(mig_unpack(&b, codec, sizeof(codec), 1 << 20, &raw, &rlen, &e) < 0);
    /* The peer gone: an error, not a hang. */
    mig_conn_free(&a);
    CHECK_EQ(mig_recv(&b, &type, &p, &len, 1000, &e), -ECONNRESET);
    mig_conn_free(&b);
}

static void addresses_and_allow_list(void)
{
    struct mig_addr a;
    struct err e = ERR_INIT;
    CHECK_EQ(mig_parse_addr("tcp:127.0.0.1:4444", &a, &e), 0);
    CHECK_EQ(a.ss.ss_family, AF_INET);
    CHECK_EQ(mig_parse_addr("[::1]:4444", &a, &e), 0);
    CHECK_EQ(a.ss.ss_family, AF_INET6);
    CHECK_EQ(mig_parse_addr("unix:/tmp/x.sock", &a, &e), 0);
    CHECK(mig_parse_addr("nocolon", &a, &e) < 0);
    CHECK(mig_parse_addr("127.0.0.1:99999", &a, &e) < 0);
    struct mig_allow al;
    mig_allow_default(&al);
    struct sockaddr_storage ss;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    memset(&ss, 0, sizeof(ss));
    in->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.7", &in->sin_addr);
    CHECK(mig_allow_match(&al, &ss));
    inet_pton(AF_INET, "10.1.2.3", &in->sin_addr);
    CHECK(!mig_allow_match(&al, &ss));
    CHECK_EQ(mig_allow_add(&al, "10.0.0.0/8", &e), 0);
    CHECK(mig_allow_match(&al, &ss));
    inet_pton(AF_INET, "11.1.2.3", &in->sin_addr);
    CHECK(!mig_allow_match(&al, &ss));
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    memset(&ss, 0, sizeof(ss));
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:10.9.9.9", &in6->sin6_addr);   /* v4-mapped */
    CHECK(mig_allow_match(&al, &ss));
    CHECK(mig_allow_add(&al, "10.0.0.0/33", &e) < 0);
    CHECK(mig_allow_add(&al, "host.example", &e) < 0);
    CHECK_EQ(mig_allow_add(&al, "any", &e), 0);
    inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr);
    CHECK(mig_allow_match(&al, &ss));
}

/* ---- dirty tracking ------------------------------------------------------------------- */

static struct vm *emu_machine(uint64_t mem, struct chardev **cd, const char *kernel)
{
    struct vm *vm = NULL;
    struct err e = ERR_INIT;
    if (vm_create(1, mem, &engine_emu, &vm, &e) < 0) {
        printf("  vm_create: %s\n", e.msg);
        return NULL;
    }
    struct machine_spec spec;
    spec_defaults(&spec);
    spec.kernel = strdup(kernel);
    spec.memory = mem;
    spec.set |= SPEC_KERNEL;
    chardev_open("none", cd, &e);
    struct board_host host = { .console = *cd };
    if (board_create(vm, &spec, &host, &e) < 0 || vm_create_vcpus(vm, &e) < 0) {
        printf("  machine: %s\n", e.msg);
        spec_free(&spec);
        return NULL;
    }
    spec_free(&spec);
    return vm;
}

static void free_machine(struct vm *vm, struct chardev *cd)
{
    board_destroy(vm);
    vm_destroy(vm);
    chardev_close(cd);
}

static void dirty_ram_and_emu_tlb(void)
{
    char kernel[256];
    snprintf(kernel, sizeof(kernel), "%s/kernel", tmpdir);
    struct chardev *cd;
    struct vm *vm = emu_machine(8ULL << 20, &cd, kernel);
    if (!vm)
        return;
    struct err e = ERR_INIT;
    uint64_t pages = vm_dirty_pages(vm);
    uint64_t *bits = calloc(dirty_words(pages), 8);
    CHECK_EQ(vm_dirty_start(vm, &e), 0);
    /* A device's write (mem_write) is marked... */
    CHECK_EQ(mem_write(&vm->mem, 5 * 4096 + 100, "x", 1), 0);
    CHECK_EQ(vm_dirty_sync(vm, bits), 0);
    CHECK(dirty_test(bits, 5));
    CHECK_EQ(dirty_count(bits, pages), 1);
    memset(bits, 0, dirty_words(pages) * 8);
    CHECK_EQ(vm_dirty_sync(vm, bits), 0);
    CHECK_EQ(dirty_count(bits, pages), 0);   /* ... once */
    /* emu: a store through the slow path, and a TLB fill with write permission. */
    struct emu_cpu *c = emu_cpu_of(&vm->vcpus[0]);
    emu_write(c, 7 * 4096 + 8, 8, 0x1122334455667788ULL);
    CHECK_EQ(vm_dirty_sync(vm, bits), 0);
    CHECK(dirty_test(bits, 7));
    /* The sync asked the vCPU to drop its write permissions. */
    CHECK(atomic_load(&c->events) & EMU_EV_DIRTY);
    emu_tlb_drop_writes(c);
    memset(bits, 0, dirty_words(pages) * 8);
    emu_translate(c, 9 * 4096, 1);              /* a fill for a write */
    CHECK_EQ(vm_dirty_sync(vm, bits), 0);
    CHECK(dirty_test(bits, 9));
    vm_dirty_stop(vm);
    CHECK_EQ(mem_write(&vm->mem, 11 * 4096, "y", 1), 0);   /* off: nothing recorded */
    CHECK(!vm_dirty_active(vm));
    free(bits);
    free_machine(vm, cd);
}

static void dirty_disk(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/disk.qcow2", tmpdir);
    struct err e = ERR_INIT;
    struct block_create_opts co = { .format = BLOCK_FORMAT_QCOW2, .size = 4ULL << 20 };
    CHECK_EQ(block_create(path, &co, &e), 0);
    struct blockdev *bd;
    struct block_open_opts oo = { .format = BLOCK_FORMAT_QCOW2 };
    CHECK_EQ(block_open(path, &oo, &bd, &e), 0);
    CHECK_EQ(block_dirty_start(bd, 16), 0);
    CHECK_EQ(block_dirty_granules(bd), 64);
    uint8_t buf[4096] = { 1 };
    struct iovec iov = { buf, sizeof(buf) };
    CHECK_EQ(block_pwritev(bd, (3ULL << 16) + 512, &iov, 1), 0);
    CHECK_EQ(block_write_zeroes(bd, 10ULL << 16, 1ULL << 17), 0);
    uint64_t bits[1] = { 0 };
    CHECK_EQ(block_dirty_take(bd, bits), 0);
    CHECK_EQ(bits[0], (1ULL << 3) | (1ULL << 10) | (1ULL << 11));
    bits[0] = 0;
    CHECK_EQ(block_dirty_take(bd, bits), 0);
    CHECK_EQ(bits[0], 0);
    block_dirty_stop(bd);
    block_close(bd);
}

/* ---- the receiver's network split -------------------------------------------------------- */

static size_t tcp_frame(uint8_t *f, const char *src, uint16_t sport, const char *dst,
                        uint16_t dport, uint8_t flags)
{
    memset(f, 0, 64);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[9] = 6;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    uint8_t *t = ip + 20;
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    t[13] = flags;
    return 14 + 20 + 20;
}

static int old_frames;
static void to_old(void *opaque, const uint8_t *f, size_t len)
{
    (void)opaque;
    (void)f;
    (void)len;
    old_frames++;
}

static void network_split(void)
{
    struct net_split *s;
    CHECK_EQ(net_split_create(NULL, to_old, NULL, &s), 0);
    uint8_t f[64];
    size_t n;
    /* An old connection's segment (its SYN never seen here) goes to the sender. */
    n = tcp_frame(f, "10.0.2.15", 7777, "10.0.2.2", 40000, 0x18);
    CHECK_EQ(net_split_classify_from_guest(s, f, n), 1);
    /* The guest opens one here: this side's from its SYN on. */
    n = tcp_frame(f, "10.0.2.15", 50000, "1.2.3.4", 80, 0x02);
    CHECK_EQ(net_split_classify_from_guest(s, f, n), 0);
    n = tcp_frame(f, "10.0.2.15", 50000, "1.2.3.4", 80, 0x10);
    CHECK_EQ(net_split_classify_from_guest(s, f, n), 0);
    /* ARP: both sides see it; anything else not TCP: this side. */
    uint8_t arp[42] = { [12] = 0x08, [13] = 0x06 };
    CHECK_EQ(net_split_classify_from_guest(s, arp, sizeof(arp)), 2);
    uint8_t udp[64];
    n = tcp_frame(udp, "10.0.2.15", 5353, "10.0.2.3", 53, 0);
    udp[14 + 9] = 17;
    CHECK_EQ(net_split_classify_from_guest(s, udp, n), 0);
    /* Short or odd frames are not read past their end. */
    for (size_t k = 0; k < n; k++)
        net_split_classify_from_guest(s, f, k);
    /* The old side gone: everything here. */
    net_split_end(s);
    n = tcp_frame(f, "10.0.2.15", 7777, "10.0.2.2", 40000, 0x18);
    CHECK_EQ(net_split_classify_from_guest(s, f, n), 0);
    net_split_destroy(s);
}

/* ---- a whole migration in this process ----------------------------------------------------- */

struct sender_run {
    struct vm *vm;
    struct machine_spec spec;
    char to[320];
    int r;
    struct err e;
};

static void *sender_main(void *opaque)
{
    struct sender_run *sr = opaque;
    struct mig_source src = { .vm = sr->vm, .spec = &sr->spec, .config_json = "{}",
                              .folder = "/test/sender" };
    struct mig_params p = { .max_downtime_ms = 300 };
    struct mig_sender *s = NULL;
    sr->r = migrate_send(&src, sr->to, &p, &s, &sr->e);
    if (sr->r == 0)
        migrate_drain(s);
    else
        migrate_sender_free(s);
    return NULL;
}

/* The recorded stream from the sender (a relay between the two). */
struct relay {
    int listen_fd, target_port;
    uint8_t *rec;
    size_t len, cap;
};

static void *relay_main(void *opaque)
{
    struct relay *rl = opaque;
    int c = accept(rl->listen_fd, NULL, NULL);
    struct mig_addr a;
    char t[64];
    snprintf(t, sizeof(t), "127.0.0.1:%d", rl->target_port);
    mig_parse_addr(t, &a, NULL);
    int u = -1;
    if (c < 0 || mig_connect(&a, 5000, &u, NULL) < 0)
        return NULL;
    for (;;) {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(c, &rs);
        FD_SET(u, &rs);
        if (select((c > u ? c : u) + 1, &rs, NULL, NULL, NULL) <= 0)
            break;
        uint8_t buf[65536];
        if (FD_ISSET(c, &rs)) {
            ssize_t n = read(c, buf, sizeof(buf));
            if (n <= 0)
                break;
            if (rl->len + (size_t)n > rl->cap) {
                rl->cap = (rl->len + (size_t)n) * 2;
                rl->rec = realloc(rl->rec, rl->cap);
            }
            memcpy(rl->rec + rl->len, buf, (size_t)n);
            rl->len += (size_t)n;
            if (write(u, buf, (size_t)n) != n)
                break;
        }
        if (FD_ISSET(u, &rs)) {
            ssize_t n = read(u, buf, sizeof(buf));
            if (n <= 0 || write(c, buf, (size_t)n) != n)
                break;
        }
    }
    close(c);
    close(u);
    return NULL;
}

static uint8_t *stream;
static size_t stream_len;

/* Receives one machine on listen_fd into a fresh machine; 0 when it loaded. */
/* *out (when given) gets the machine and *inp what received it: the
 * caller frees the machine first, then migrate_incoming_free(*inp). */
static int receive_one(int listen_fd, const char *kernel, struct vm **out, struct chardev **cd,
                       struct mig_incoming **inp)
{
    struct mig_allow al;
    mig_allow_default(&al);
    struct mig_incoming *in = NULL;
    struct err e = ERR_INIT;
    int r = migrate_accept(listen_fd, &al, 3000, &in, &e);
    if (r < 0)
        return r;
    r = migrate_accept_reply(in, "test-host", "/test/receiver", &e);
    struct vm *vm = r == 0 ? emu_machine(in->ram_size, cd, kernel) : NULL;
    if (r == 0 && !vm)
        r = -ENOMEM;
    if (r == 0)
        r = migrate_incoming_run(in, vm, &e);
    if (r == 0)
        migrate_started(in, vm);
    if (vm && r == 0 && out) {
        *out = vm;
        *inp = in;
        return r;
    }
    migrate_incoming_stop(in);
    if (vm)
        free_machine(vm, *cd);
    migrate_incoming_free(in);
    return r;
}

static void whole_migration(void)
{
    char kernel[256];
    snprintf(kernel, sizeof(kernel), "%s/kernel", tmpdir);
    struct chardev *cd, *cd2 = NULL;
    struct sender_run sr = { .r = -1 };
    sr.vm = emu_machine(16ULL << 20, &cd, kernel);
    if (!sr.vm)
        return;
    spec_defaults(&sr.spec);
    sr.spec.kernel = strdup(kernel);
    sr.spec.memory = 16ULL << 20;
    sr.spec.set |= SPEC_KERNEL;
    /* A guest's RAM: a pattern here and there, and a vCPU with its registers. */
    for (uint64_t pg = 0; pg < 4096; pg += 3)
        memset(sr.vm->mem.host + pg * 4096 + (pg % 7) * 8, (int)(pg & 0xff) | 1, 200);
    struct cpu_state st;
    engine_emu.get_state(&sr.vm->vcpus[0], &st);
    st.gpr[0] = 0xfeedfacecafebeefULL;
    st.rip = 0x1234;
    engine_emu.set_state(&sr.vm->vcpus[0], &st);

    struct mig_addr la, bound, rla, rbound;
    int lfd, rfd;
    mig_parse_addr("127.0.0.1:0", &la, NULL);
    CHECK_EQ(mig_listen(&la, &lfd, &bound, NULL), 0);
    mig_parse_addr("127.0.0.1:0", &rla, NULL);
    CHECK_EQ(mig_listen(&rla, &rfd, &rbound, NULL), 0);
    struct relay rl = { .listen_fd = rfd,
                        .target_port = ntohs(((struct sockaddr_in *)&bound.ss)->sin_port) };
    pthread_t rt, stt;
    pthread_create(&rt, NULL, relay_main, &rl);
    snprintf(sr.to, sizeof(sr.to), "%s", rbound.text);
    pthread_create(&stt, NULL, sender_main, &sr);
    struct vm *dst = NULL;
    struct mig_incoming *din = NULL;
    int r = receive_one(lfd, kernel, &dst, &cd2, &din);
    pthread_join(stt, NULL);
    pthread_join(rt, NULL);
    CHECK_EQ(r, 0);
    CHECK_EQ(sr.r, 0);
    if (sr.r)
        printf("  sender: %s\n", sr.e.msg);
    CHECK_EQ(atomic_load(&sr.vm->stop), VM_STOP_MIGRATED);
    if (dst) {
        CHECK(!memcmp(dst->mem.host, sr.vm->mem.host, dst->mem.size));
        struct cpu_state d;
        engine_emu.get_state(&dst->vcpus[0], &d);
        CHECK(d.gpr[0] == 0xfeedfacecafebeefULL && d.rip == 0x1234);
        migrate_incoming_stop(din);
        free_machine(dst, cd2);
    }
    migrate_incoming_free(din);
    stream = rl.rec;
    stream_len = rl.len;
    close(lfd);
    close(rfd);
    spec_free(&sr.spec);
    free_machine(sr.vm, cd);
}

/* ---- that stream, damaged ---------------------------------------------------------------- */

struct feed {
    int port;
    const uint8_t *data;
    size_t len;
};

static void *feed_main(void *opaque)
{
    struct feed *f = opaque;
    char t[64];
    struct mig_addr a;
    snprintf(t, sizeof(t), "127.0.0.1:%d", f->port);
    mig_parse_addr(t, &a, NULL);
    int fd;
    if (mig_connect(&a, 3000, &fd, NULL) < 0)
        return NULL;
    size_t off = 0;
    while (off < f->len) {
        ssize_t n = send(fd, f->data + off, f->len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    uint8_t sink[4096];
    while (read(fd, sink, sizeof(sink)) > 0) { }
    close(fd);
    return NULL;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void damaged_streams(void)
{
    if (!stream || stream_len < 100) {
        CHECK(!"no recorded stream");
        return;
    }
    char kernel[256];
    snprintf(kernel, sizeof(kernel), "%s/kernel", tmpdir);
    /* Where each message starts. */
    size_t starts[4096];
    int nmsg = 0;
    for (size_t off = 0; off + 12 <= stream_len && nmsg < 4096;) {
        starts[nmsg++] = off;
        off += 12 + get32(stream + off + 4);
    }
    CHECK(nmsg > 4);
    struct mig_addr la, bound;
    int lfd;
    mig_parse_addr("127.0.0.1:0", &la, NULL);
    CHECK_EQ(mig_listen(&la, &lfd, &bound, NULL), 0);
    int port = ntohs(((struct sockaddr_in *)&bound.ss)->sin_port);
    uint8_t *copy = malloc(stream_len);
    srand(42);
    int loaded = 0, refused = 0;
    int rounds = getenv("HOSTEL_TEST_ALL") ? 400 : 60;
    for (int i = 0; i < rounds; i++) {
        memcpy(copy, stream, stream_len);
        size_t len = stream_len;
        int m = rand() % nmsg;
        size_t at = starts[m];
        uint32_t plen = get32(copy + at + 4);
        int kind = rand() % 4;
        if (kind == 0 || !plen) {
            len = at + (size_t)(rand() % (int)(12 + plen));   /* cut short */
        } else {
            /* Bytes changed inside, the checksum made right. */
            for (int k = 0; k < 1 + rand() % 4; k++) {
                size_t b = at + 12 + (size_t)rand() % plen;
                copy[b] = kind == 1 ? (uint8_t)rand() : kind == 2 ? copy[b] ^ 0x80 : 0xff;
            }
            uint32_t crc = (uint32_t)crc32(crc32(0, copy + at, 8), copy + at + 12, plen);
            memcpy(copy + at + 8, &crc, 4);
        }
        struct feed f = { port, copy, len };
        pthread_t t;
        pthread_create(&t, NULL, feed_main, &f);
        struct chardev *cd = NULL;
        int r = receive_one(lfd, kernel, NULL, &cd, NULL);
        pthread_join(t, NULL);
        r == 0 ? loaded++ : refused++;
    }
    printf("  %d damaged streams: %d loaded, %d refused\n", rounds, loaded, refused);
    CHECK(refused > 0);
    free(copy);
    close(lfd);
    free(stream);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    char kernel[256];
    snprintf(kernel, sizeof(kernel), "%s/kernel", tmpdir);
    FILE *f = fopen(kernel, "w");
    fputs("not really a kernel", f);
    fclose(f);
    RUN_TEST(cpuid_models);
    RUN_TEST(wire_round_trip_and_damage);
    RUN_TEST(addresses_and_allow_list);
    RUN_TEST(dirty_ram_and_emu_tlb);
    RUN_TEST(dirty_disk);
    RUN_TEST(network_split);
    RUN_TEST(whole_migration);
    RUN_TEST(damaged_streams);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd)) { }
    return CHECK_DONE();
}
