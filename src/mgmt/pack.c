/* Tar writing shared by appliance packs and machine backups (mgmt/pack.h). */
#include "mgmt/pack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int pack_filter_for(const char *out, int *filter, struct err *e)
{
    int f;
    if (ends_with(out, ".tar"))
        f = ARCHIVE_FILTER_NONE;
    else if (ends_with(out, ".tar.gz") || ends_with(out, ".tgz"))
        f = ARCHIVE_FILTER_GZIP;
    else if (ends_with(out, ".tar.zst") || ends_with(out, ".hostel") ||
             ends_with(out, ".hostel-backup"))
        f = ARCHIVE_FILTER_ZSTD;
    else
        return err_set(e, -EINVAL, "%s: the name must end in .tar, .tar.gz, .tar.zst or .hostel "
                       "(it picks the compression)", out);
    if (filter)
        *filter = f;
    return 0;
}

/* The temporary file being packed, removed if we are interrupted. */
static char pack_tmp[PATH_MAX];
static void pack_interrupted(int sig)
{
    unlink(pack_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A file's data regions, so that holes in a sparse disk are not stored. */
static void add_sparse_map(int fd, const struct stat *st, struct archive_entry *ent)
{
    if ((uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size)
        return;   /* not sparse */
    off_t pos = 0;
    while (pos < st->st_size) {
        off_t data = lseek(fd, pos, SEEK_DATA);
        if (data < 0)
            break;   /* only a hole is left (ENXIO), or no SEEK_DATA here */
        off_t hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0)
            hole = st->st_size;
        if (hole >= st->st_size)
            hole = st->st_size;
        archive_entry_sparse_add_entry(ent, data, hole - data);
        pos = hole;
    }
    /* A trailing hole is stored as one data byte at the end, because some
     * unpackers (libarchive's into-fd, used by `hostel run FILE`) seek over
     * holes and would leave the file short. */
    if (pos < st->st_size)
        archive_entry_sparse_add_entry(ent, st->st_size - 1, 1);
    lseek(fd, 0, SEEK_SET);
}

static int add_file(struct archive *aw, const char *dir, const char *rel, char *buf,
                    size_t buflen, struct err *e)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        int r = err_set(e, -EINVAL, "%s: %s", path, fd < 0 ? strerror(errno) : "not a file");
        if (fd >= 0)
            close(fd);
        return r;
    }
    struct archive_entry *ent = archive_entry_new();
    archive_entry_set_pathname(ent, rel);
    archive_entry_set_filetype(ent, AE_IFREG);
    archive_entry_set_perm(ent, st.st_mode & 0777);
    archive_entry_set_size(ent, st.st_size);
    archive_entry_set_mtime(ent, st.st_mtime, 0);
    archive_entry_set_uid(ent, 0);
    archive_entry_set_gid(ent, 0);
    add_sparse_map(fd, &st, ent);
    int r = 0;
    if (archive_write_header(aw, ent) != ARCHIVE_OK)
        r = err_set(e, -EIO, "%s: %s", rel, archive_error_string(aw));
    /* Holes are read as zeros and fed on: the writer skips what its sparse
     * map calls a hole. */
    off_t left = st.st_size;
    while (r == 0 && left > 0) {
        ssize_t got = read(fd, buf, buflen);
        if (got <= 0)
            r = err_set(e, -EIO, "reading %s: %s", path,
                        got < 0 ? strerror(errno) : "it shrank while being packed");
        else if (archive_write_data(aw, buf, (size_t)got) < 0)
            r = err_set(e, -EIO, "writing %s: %s", rel, archive_error_string(aw));
        else
            left -= got;
    }
    archive_entry_free(ent);
    close(fd);
    return r;
}

int pack_files(const char *out, const char *dir, const char *const *rel, int n, struct err *e)
{
    int filter;
    int r = pack_filter_for(out, &filter, e);
    if (r < 0)
        return r;
    snprintf(pack_tmp, sizeof(pack_tmp), "%s.tmp", out);
    int fd = open(pack_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, -errno, "cannot create %s: %s", pack_tmp, strerror(errno));
    struct sigaction sa = { .sa_handler = pack_interrupted };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    struct archive *aw = archive_write_new();
    r = archive_write_set_format_pax_restricted(aw) == ARCHIVE_OK &&
        archive_write_add_filter(aw, filter) == ARCHIVE_OK &&
        archive_write_open_fd(aw, fd) == ARCHIVE_OK ? 0 : -EIO;
    if (r < 0)
        err_set(e, r, "%s: %s", pack_tmp, archive_error_string(aw));
    size_t buflen = 1 << 20;
    char *buf = malloc(buflen);
    if (!buf && r == 0)
        r = err_set(e, -ENOMEM, "out of memory");
    for (int i = 0; r == 0 && i < n; i++)
        r = add_file(aw, dir, rel[i], buf, buflen, e);
    free(buf);
    if (r == 0 && archive_write_close(aw) != ARCHIVE_OK)
        r = err_set(e, -EIO, "finishing %s: %s", pack_tmp, archive_error_string(aw));
    archive_write_free(aw);
    if (r == 0 && fsync(fd) < 0)
        r = err_set(e, -errno, "writing %s: %s", pack_tmp, strerror(errno));
    close(fd);
    if (r == 0 && rename(pack_tmp, out) < 0)
        r = err_set(e, -errno, "cannot rename %s to %s: %s", pack_tmp, out, strerror(errno));
    if (r < 0)
        unlink(pack_tmp);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    return r;
}
