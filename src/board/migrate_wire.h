/* Live migration's stream (docs/migration.md): length-prefixed messages,
 * each with its type and a CRC-32, over a TCP or Unix socket; batches of
 * pages or disk blocks compressed with zstd when that pays; a bandwidth
 * limit; the addresses a sender connects to and a receiver listens on, and
 * the addresses a receiver accepts.  Everything read is treated as
 * hostile: lengths are bounded before anything is allocated. */
#ifndef HOSTEL_MIGRATE_WIRE_H
#define HOSTEL_MIGRATE_WIRE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/err.h"

#define MIG_MAGIC       "HOSTELMG"
#define MIG_VERSION     1
#define MIG_MAX_MSG     (32u << 20)     /* the largest message either side takes */

enum mig_type {
    MIG_HELLO = 1,    /* S->R: magic, version, machine spec, CPUID model, disks, files */
    MIG_ACCEPT,       /* R->S: ready to receive (and which files it needs) */
    MIG_REFUSE,       /* either way: why not (text); the stream ends */
    MIG_FILE,         /* S->R: a piece of the kernel or initrd the receiver lacks */
    MIG_RAM,          /* S->R: a packed batch of guest pages */
    MIG_DISK,         /* S->R: a packed batch of disk blocks */
    MIG_STATE,        /* S->R: the paused machine's state (snapshot state format), packed */
    MIG_END,          /* S->R: everything sent; totals to check */
    MIG_READY,        /* R->S: all loaded, waiting for GO */
    MIG_GO,           /* S->R: the sender will never run the guest again: start it */
    MIG_RUNNING,      /* R->S: the guest runs on the receiver */
    MIG_QUERY,        /* S->R on a new connection after a cut: did the guest start? */
    MIG_ANSWER,       /* R->S: u8 1 running here, 0 not (and never will) */
    MIG_FRAME,        /* either way, after RUNNING: an Ethernet frame of an old connection */
    MIG_DRAIN_END,    /* S->R: the sender's network has no old connection left */
    MIG_RELEASED,     /* S->R: the sender let go of its forwards' host ports */
    MIG_TYPE_MAX
};
const char *mig_type_name(uint32_t type);

struct mig_conn {
    int fd;
    uint64_t sent, received;        /* bytes on the wire */
    uint64_t raw_sent;              /* payload bytes before compression */
    uint64_t bw_limit;              /* bytes per second, 0: none */
    uint64_t bw_t0_ns, bw_sent0;
    int timeout_ms;                 /* a read or write must make progress within it */
    int level;                      /* zstd level; 0: no compression */
    pthread_mutex_t send_lock;
    uint8_t *rbuf, *zbuf, *cbuf;
    size_t rcap, zcap, ccap;
    void *zc, *zd;
};

void mig_conn_init(struct mig_conn *c, int fd);
/* Closes the socket too. */
void mig_conn_free(struct mig_conn *c);
/* Ends the stream at once: a blocked send or receive on another thread returns. */
void mig_conn_shutdown(struct mig_conn *c);

/* Sends REFUSE with why, then ends the stream so that it arrives: reads
 * and drops what the peer still sends, for up to ms (the caller frees). */
void mig_refuse_linger(struct mig_conn *c, const char *why, int ms);
/* The sender, between batches: has the receiver said something (it says
 * nothing during the copy unless it refuses)?  0: nothing waits; else
 * -ECONNREFUSED with its reason, or why the stream broke. */
int mig_peer_refused(struct mig_conn *c, struct err *e);

int mig_send(struct mig_conn *c, uint32_t type, const void *payload, size_t len, struct err *e);
/* A batch: codec (u8: 0 raw, 1 zstd), its raw length (u32), then the
 * bytes, compressed when that saves at least an eighth. */
int mig_send_packed(struct mig_conn *c, uint32_t type, const void *raw, size_t len,
                    struct err *e);
/* Receives one message; *payload stays valid until the next receive.
 * timeout_ms < 0: the connection's own. */
int mig_recv(struct mig_conn *c, uint32_t *type, const uint8_t **payload, size_t *len,
             int timeout_ms, struct err *e);
/* Unpacks a batch received with mig_recv; max: the largest raw length the
 * caller takes. */
int mig_unpack(struct mig_conn *c, const uint8_t *p, size_t len, size_t max,
               const uint8_t **raw, size_t *raw_len, struct err *e);

/* "tcp:HOST:PORT", "HOST:PORT" (IPv4 or [IPv6]) or "unix:PATH". */
struct mig_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[300];
};
int mig_parse_addr(const char *s, struct mig_addr *a, struct err *e);
void mig_format_addr(const struct sockaddr_storage *ss, char *buf, size_t len);
int mig_connect(const struct mig_addr *a, int timeout_ms, int *fd, struct err *e);
/* Listens; *bound gets the real address (port 0 picks one). */
int mig_listen(const struct mig_addr *a, int *fd, struct mig_addr *bound, struct err *e);

/* Who may connect to a receiver: "any", or addresses with an optional
 * prefix length ("10.0.0.0/8", "::1").  Default: loopback only.  A Unix
 * socket's peers are this host's users: the socket's mode decides. */
#define MIG_ALLOW_MAX 16
struct mig_allow {
    bool any;
    int n;
    struct { int family; uint8_t addr[16]; int prefix; } e[MIG_ALLOW_MAX];
};
void mig_allow_default(struct mig_allow *a);
int mig_allow_add(struct mig_allow *a, const char *s, struct err *e);
bool mig_allow_match(const struct mig_allow *a, const struct sockaddr_storage *ss);

/* CRC-32 (zlib's) of bytes. */
uint32_t mig_crc32(uint32_t crc, const void *p, size_t len);
uint64_t mig_now_ns(void);

#endif
