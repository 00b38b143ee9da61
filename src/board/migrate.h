/* Live migration of a running machine to another VMM (another host, another
 * HOSTEL_HOME, or the other engine on this host), docs/migration.md.
 *
 * The sender copies guest RAM (and, with copy disks, the disks) while the
 * guest runs, in rounds over what the guest wrote meanwhile (machine/dirty.h),
 * until what is left fits the downtime target, throttling the guest when it
 * writes faster than the link carries; then it pauses the guest, sends the
 * rest and the machine's state (the snapshot state format), and the
 * receiver loads it.  A two-step commit (READY, GO, RUNNING) leaves exactly
 * one VMM running the guest whatever fails.  After the switch-over the
 * sender lingers while its network carries connections the guest had, and
 * relays their frames (net/split.h).  This layer knows machines, not the
 * machine library: the owner (mgmt/) says what to do with folders, locks
 * and ports through the hooks. */
#ifndef HOSTEL_MIGRATE_H
#define HOSTEL_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "board/migrate_wire.h"
#include "board/spec.h"
#include "engine/cpuid_model.h"
#include "lib/err.h"
#include "net/net.h"

struct vm;

#define MIG_DEFAULT_DOWNTIME_MS 300
#define MIG_DISK_SHIFT 16               /* disks are copied in 64 KiB granules */
#define MIG_MAX_FILE (512u << 20)       /* a kernel or initrd the receiver lacks */
#define MIG_MAX_CDROM (4ull << 30)      /* a CD image the receiver lacks */
#define MIG_NFILES 3                    /* the kernel, the initrd, the CD image */

/* What a migration is doing, for progress lines, events and status. */
struct mig_progress {
    const char *phase;        /* "connecting", "files", "ram", "disk", "switchover",
                               * "committed", "completed", "failed" */
    int round;
    uint64_t ram_pages;       /* pages of guest RAM */
    uint64_t pages_sent;      /* pages sent so far (zero pages included) */
    uint64_t dirty_pages;     /* pages written since they were sent */
    uint64_t disk_bytes_sent;
    uint64_t disk_dirty_bytes;
    uint64_t bytes_sent;      /* on the wire */
    double dirty_rate;        /* pages per second the guest writes */
    double page_rate;         /* pages per second we send */
    double expected_downtime_ms;
    int throttle_pct;         /* auto-converge: share of the vCPUs' time taken */
    double elapsed_ms;
    double downtime_ms;       /* at the end: paused until the receiver ran */
    /* ... in parts: pausing, sending the rest and the state, the receiver
     * loading it (until READY), the commit (GO until RUNNING). */
    double pause_ms, final_ms, load_ms, commit_ms;
    char message[1024];       /* something to say ("cannot converge: throttling ...") */
};

struct mig_params {
    uint64_t max_downtime_ms;  /* default MIG_DEFAULT_DOWNTIME_MS */
    uint64_t bandwidth;        /* bytes per second; 0: as fast as the link goes */
    bool copy_disks;           /* stream the disks; else they are shared by path */
    bool no_auto_converge;     /* fail rather than throttle the guest */
};

/* ---- sending ------------------------------------------------------------------ */

struct mig_source {
    struct vm *vm;
    const struct machine_spec *spec;   /* what runs (disk paths absolute) */
    const char *config_json;           /* the owner's description of the machine */
    const char *folder;                /* where it lives here, to tell a same-folder move */
    const struct net_forward *bound;   /* the forwards' real host ports */
    int nbound;
    void *opaque;
    void (*progress)(void *opaque, const struct mig_progress *p);
    /* Just before GO: let go of what the receiver takes on (the machine's
     * lock when it is the same folder).  Forwards are released here. */
    void (*release)(void *opaque, bool same_folder);
    /* GO was not taken up: take it all back, to run the guest here again;
     * -errno when that is impossible (someone else holds the machine: then
     * the guest stays paused here). */
    int (*reclaim)(void *opaque, bool same_folder);
};

/* Migrates to addr and returns 0 once the guest runs on the receiver: the
 * machine here has been asked to stop (VM_STOP_MIGRATED) and its network
 * backend taken; the caller runs migrate_drain next.  On failure the guest
 * runs here as before (or, said in e, stays paused when the receiver may
 * have it). */
struct mig_sender;
int migrate_send(const struct mig_source *src, const char *addr, const struct mig_params *p,
                 struct mig_sender **out, struct err *e);
/* After migrate_send succeeded: carries the old connections' frames until
 * none is left (or the receiver goes), then frees everything. */
void migrate_drain(struct mig_sender *s);
/* Asks a migration in progress to stop (from another thread). */
void migrate_cancel(struct mig_sender **slot);
/* After a failed migrate_send (which leaves *out for its last progress). */
void migrate_sender_free(struct mig_sender *s);
const struct mig_progress *migrate_sender_progress(const struct mig_sender *s);

/* ---- receiving ---------------------------------------------------------------- */

struct mig_disk_desc {
    uint64_t size;
    bool readonly;
    char *path;                /* the sender's image (absolute) */
};

struct mig_file_desc {
    char *path;                /* on the sender */
    uint64_t size;
    uint32_t crc;
    bool need;                 /* the receiver wants it sent */
    char *dest;                /* where the receiver puts it */
};

/* A connection from a sender, with what it said about the machine. */
struct mig_incoming {
    struct mig_conn conn;
    int listen_fd;             /* kept to answer a sender that lost us (QUERY) */
    struct mig_allow allow;
    uint8_t id[16];
    bool copy_disks;
    char *sender_host, *sender_folder, *sender_engine;
    char *config_json;         /* the sender's description (mgmt's business) */
    struct machine_spec sent_spec;
    uint64_t ram_size;
    uint32_t ncpus;
    struct cpuid_model model;
    int ndisks;
    struct mig_disk_desc disks[SPEC_MAX_DISKS];
    struct mig_file_desc kernel, initrd, cdrom;
    struct net_forward bound[NET_MAX_FORWARDS];
    int nbound;
    bool same_folder;          /* set by the owner before migrate_accept_reply */
    /* Owner hooks for the commit (GO): take on the machine (its lock, the
     * forwards' ports); -errno refuses GO and the sender keeps the guest. */
    void *opaque;
    int (*commit)(void *opaque, struct vm *vm, struct err *e);
    void (*progress)(void *opaque, const struct mig_progress *p);
    /* internal */
    struct mig_progress prog;
    struct mig_relay *relay;
    uint64_t t0;
};

/* Waits for a sender (accepting only allowed addresses; others are
 * closed and logged) and reads its HELLO.  timeout_ms < 0: forever. */
int migrate_accept(int listen_fd, const struct mig_allow *allow, int timeout_ms,
                   struct mig_incoming **out, struct err *e);
/* Answers: ACCEPT (and receives the files marked need into their dest), or
 * REFUSE with the reason (then frees in). */
int migrate_accept_reply(struct mig_incoming *in, const char *my_host, const char *my_folder,
                         struct err *e);
void migrate_refuse(struct mig_incoming *in, const char *why);
/* run_host.incoming: sets the CPUID model, creates the vCPUs, receives
 * RAM, disks and state into vm and loads them; waits for GO, calls commit,
 * and returns 0: the caller starts the vCPUs then calls migrate_started. */
int migrate_incoming_run(void *opaque, struct vm *vm, struct err *e);
/* The guest runs: tells the sender (RUNNING) and relays old connections. */
void migrate_started(struct mig_incoming *in, struct vm *vm);
/* Before the vm goes: stops relaying. */
void migrate_incoming_stop(struct mig_incoming *in);
/* After the vm that received the machine is destroyed (its network backend
 * holds a hook into what this frees), or when none was built. */
void migrate_incoming_free(struct mig_incoming *in);

/* Size and CRC-32 of a file (is a kernel or initrd here the sender's?); -errno. */
int mig_file_summary(const char *path, uint64_t *size, uint32_t *crc);
/* This host's name for "same host" checks (hostname and boot id). */
void migrate_host_id(char *buf, size_t len);

#endif
