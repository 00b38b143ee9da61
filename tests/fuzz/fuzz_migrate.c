/* libFuzzer target for the live migration receiver (src/board/migrate_in.c
 * over src/board/migrate_wire.c): the input is what a sender sends, read
 * from a socket by the real framing (lengths, types, CRCs), the HELLO
 * parsed (spec, CPU model, disks, files, forwards), and, when it fits the
 * machine of fuzz_snapshot.h, the receive loop run into that machine: RAM
 * and disk batches (raw or zstd), the state.  Byte 0 bit 0 set: the rest is
 * records [type le32][length le16][payload] that the harness sends with the
 * real sender functions (valid framing and CRCs; RAM, DISK and STATE
 * packed, zstd when bit 1 is set too), END and GO left out so the receiver
 * never waits for the switch-over; clear: the bytes go on the wire as
 * they are. */
#include <pthread.h>
#include <sys/socket.h>

#include "fuzz_snapshot.h"
#include "board/migrate_in.c"

struct fz_mig_feed {
    int fd;
    const uint8_t *data;
    size_t size;
};

static void *fz_mig_writer(void *arg)
{
    struct fz_mig_feed *f = arg;
    const uint8_t *d = f->data + 1;
    size_t left = f->size - 1;
    if (!(f->data[0] & 1)) {
        while (left) {
            ssize_t w = send(f->fd, d, left, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            d += w;
            left -= (size_t)w;
        }
    } else {
        struct mig_conn c;
        mig_conn_init(&c, f->fd);
        c.level = (f->data[0] & 2) ? 1 : 0;
        while (left >= 6) {
            uint32_t type;
            uint16_t len;
            memcpy(&type, d, 4);
            memcpy(&len, d + 4, 2);
            d += 6;
            left -= 6;
            if (len > left)
                len = (uint16_t)left;
            int r = 0;
            if (type == MIG_END || type == MIG_GO)
                r = 0;
            else if (type == MIG_RAM || type == MIG_DISK || type == MIG_STATE)
                r = mig_send_packed(&c, type, d, len, NULL);
            else
                r = mig_send(&c, type, d, len, NULL);
            if (r < 0)
                break;
            d += len;
            left -= len;
        }
        c.fd = -1;                       /* ours to close */
        mig_conn_free(&c);
    }
    shutdown(f->fd, SHUT_WR);
    /* Whatever the receiver answers, until it closes its end. */
    char sink[4096];
    while (recv(f->fd, sink, sizeof(sink), 0) > 0)
        ;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct machine_spec *spec = fz_spec();
    if (size < 1)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    struct fz_mig_feed feed = { sv[1], data, size };
    pthread_t t;
    if (pthread_create(&t, NULL, fz_mig_writer, &feed))
        abort();
    /* As migrate_accept takes a connection, without the listening socket. */
    struct mig_incoming *in = calloc(1, sizeof(*in));
    if (!in)
        abort();
    mig_conn_init(&in->conn, sv[0]);
    in->conn.timeout_ms = 5000;
    in->listen_fd = -1;
    spec_init(&in->sent_spec);
    in->t0 = mig_now_ns();
    uint32_t type;
    const uint8_t *p;
    size_t len;
    struct err e = ERR_INIT;
    int r = mig_recv(&in->conn, &type, &p, &len, 5000, &e);
    if (r == 0 && type == MIG_HELLO && parse_hello(in, p, len, &e) == 0) {
        struct chardev *cd;
        struct vm *vm = fz_machine(spec, false, &cd, &e);
        if (!vm)
            abort();
        if (migrate_incoming_run(in, vm, &e) == 0)
            abort();                     /* ran without END and GO: cannot be */
        if (!e.msg[0])
            abort();
        fz_machine_free(vm, cd);
    } else if (r < 0 && !e.msg[0]) {
        abort();
    }
    mig_conn_shutdown(&in->conn);
    pthread_join(t, NULL);
    close(sv[1]);
    migrate_incoming_free(in);
    return 0;
}
