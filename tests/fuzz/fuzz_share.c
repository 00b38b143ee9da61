/* libFuzzer target for the shared-folder server's request parser
 * (src/share/server.c): the input is a run of FUSE requests, each as the
 * guest's virtio-fs driver would lay it in a chain (split into segments,
 * with a writable part of some size), answered by a read-write or a
 * read-only share of a scratch directory.  Besides crashes and sanitizer
 * reports it aborts when a reply claims more bytes than the writable part
 * holds, and when anything beside the share changed (a sentinel file and
 * the directory around the share): an escape.  Built by `make fuzz-share`
 * (clang); replayed by tests/fuzz/run_fuzz.sh and tests/unit/test_share_fuzz.c. */
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "fuzz_scratch.h"
#include "share/server.h"

#define FUZZ_OUT_MAX (1u << 17)

static struct fz_scratch fuzz_scr;
static struct share_server *fuzz_rw, *fuzz_ro;
static uint8_t *fuzz_out, *fuzz_req;

static void fuzz_put(const char *dir, const char *name, const char *text)
{
    char p[160];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        abort();
    close(fd);
}

/* The share: a file, a directory with a file, symlinks out of the share.
 * The directory itself stays: the servers hold it open. */
static void fuzz_fill(void)
{
    char p[160];
    fz_scratch_empty(&fuzz_scr, false);
    snprintf(p, sizeof(p), "%s/d", fuzz_scr.dir);
    if (mkdir(p, 0755) < 0)
        abort();
    fuzz_put(fuzz_scr.dir, "f", "hello\n");
    fuzz_put(fuzz_scr.dir, "d/g", "x\n");
    snprintf(p, sizeof(p), "%s/up", fuzz_scr.dir);
    if (symlink("..", p) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/root", fuzz_scr.dir);
    if (symlink("/", p) < 0)
        abort();
}

static void fuzz_setup(void)
{
    /* On tmpfs where there is one: the guest's FSYNCs then cost nothing. */
    fz_scratch_make(&fuzz_scr, "share", "share");
    fuzz_fill();
    struct share_options rw = { .dir = fuzz_scr.dir, .max_inodes = 32, .max_handles = 8 };
    struct share_options ro = rw;
    ro.readonly = true;
    struct err e = ERR_INIT;
    if (share_server_open(&rw, &fuzz_rw, &e) < 0 || share_server_open(&ro, &fuzz_ro, &e) < 0)
        abort();
    fuzz_out = malloc(FUZZ_OUT_MAX);
    fuzz_req = malloc(1 << 16);
    if (!fuzz_out || !fuzz_req)
        abort();
}

/* One request: in (len bytes) cut at `cut` into two segments, a writable
 * part of outlen bytes (itself in two segments). */
static void fuzz_one(struct share_server *s, const uint8_t *in, size_t len, size_t cut,
                     size_t outlen)
{
    memcpy(fuzz_req, in, len);
    if (cut > len)
        cut = len;
    struct iovec iv[2] = { { fuzz_req, cut }, { fuzz_req + cut, len - cut } };
    struct iovec ov[2] = { { fuzz_out, outlen / 2 }, { fuzz_out + outlen / 2, outlen - outlen / 2 } };
    size_t n = share_server_handle(s, iv, 2, ov, 2);
    if (n > outlen)
        abort();
    if (n) {
        struct fuse_out_header oh;
        memcpy(&oh, fuzz_out, sizeof(oh));
        if (oh.len != n || oh.error > 0 || oh.error < -4095)
            abort();
    }
}

static void fuzz_init(struct share_server *s)
{
    uint8_t buf[sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in)];
    struct fuse_in_header h = { .len = sizeof(buf), .opcode = FUSE_INIT, .unique = 1 };
    struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536,
                               .flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES };
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), &in, sizeof(in));
    fuzz_one(s, buf, sizeof(buf), 7, 256);
}

/* Input: byte 0 picks the share (bit 0: read-only); then records of
 * [u16 len][u8 cut][u8 out size class][len bytes of request]. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t out_sizes[8] = { 0, 8, 16, 17, 64, 200, 4096, FUZZ_OUT_MAX };
    if (!fuzz_rw)
        fuzz_setup();
    if (size < 1)
        return 0;
    struct share_server *s = (data[0] & 1) ? fuzz_ro : fuzz_rw;
    fuzz_init(s);
    size_t off = 1;
    bool changes = false;
    while (off + 4 <= size) {
        size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
        size_t cut = data[off + 2];
        size_t outlen = out_sizes[data[off + 3] & 7];
        off += 4;
        if (len > size - off)
            len = size - off;
        if (len >= 8) {
            uint32_t op;
            memcpy(&op, data + off + 4, 4);
            changes |= op != FUSE_LOOKUP && op != FUSE_GETATTR && op != FUSE_READ &&
                       op != FUSE_READDIR && op != FUSE_READLINK && op != FUSE_STATFS &&
                       op != FUSE_OPENDIR && op != FUSE_FORGET && op != FUSE_BATCH_FORGET;
        }
        fuzz_one(s, data + off, len, cut, outlen);
        off += len;
    }
    share_server_reset(s);
    fz_scratch_check_outside(&fuzz_scr);
    if (s == fuzz_rw && changes)     /* the tree back as it was, for the next input */
        fuzz_fill();
    return 0;
}
