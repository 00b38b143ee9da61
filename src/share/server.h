/* The shared-folder server: hostel's own FUSE protocol server for one host
 * directory, behind the virtio-fs device (hw/virtio/fs.c).  Every path the
 * guest names is one checked component resolved beneath a directory it
 * already holds (openat2 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so the
 * guest never leaves the shared directory; docs/shares.md has the threat
 * model. */
#ifndef HOSTEL_SHARE_SERVER_H
#define HOSTEL_SHARE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct err;
struct share_server;

struct share_options {
    const char *dir;          /* the host directory */
    bool readonly;            /* every write-type request is answered EROFS */
    /* The guest ids the hostel user's files appear as (and that a guest
     * chown may name); every file the guest makes belongs to the hostel
     * user on the host. */
    uint32_t guest_uid, guest_gid;
    /* Bounds (0: defaults from RLIMIT_NOFILE): inodes the guest holds and
     * files it has open at once. */
    unsigned max_inodes, max_handles;
    /* Seconds the guest may cache names and attributes (default 1; -1: 0). */
    int cache_s;
    /* In a root jail (lib/jail.h): the server runs as the jail user with
     * the file capabilities on its thread; new files go to owner_uid and
     * owner_gid (the user hostel runs as), and proc_fd, an O_PATH fd of
     * /proc/self/fd kept before the jail, is taken over (closed with the
     * server, or on failure). */
    bool jailed;
    uid_t owner_uid;
    gid_t owner_gid;
    int proc_fd;
};

/* Opens the directory and gets ready for FUSE_INIT.  -errno with e set. */
int share_server_open(const struct share_options *o, struct share_server **out, struct err *e);
void share_server_close(struct share_server *s);

/* Answers one request: the readable segments in[0..nin) hold the FUSE
 * header and arguments (WRITE's data too), the writable out[0..nout) take
 * the reply.  Returns the bytes written into out: 0 for requests that get
 * no reply (FORGET, BATCH_FORGET, INTERRUPT) or when out cannot hold even a
 * reply header.  Never fails: a malformed request gets an error reply. */
size_t share_server_handle(struct share_server *s, const struct iovec *in, unsigned nin,
                           const struct iovec *out, unsigned nout);

/* Forgets every inode and closes every open file (device reset): the next
 * request must be FUSE_INIT again. */
void share_server_reset(struct share_server *s);

/* For tests and messages: inodes and open files held now. */
void share_server_counts(const struct share_server *s, unsigned *inodes, unsigned *handles);

#endif
