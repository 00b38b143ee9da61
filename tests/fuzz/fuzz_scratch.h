/* A scratch folder for the fuzz targets that make files (share, archive):
 * BASE/NAME beside a sentinel file BASE/sentinel, on tmpfs where there is
 * one; emptied between inputs, and checked that nothing beside it changed
 * (an escape). */
#ifndef HOSTEL_FUZZ_SCRATCH_H
#define HOSTEL_FUZZ_SCRATCH_H

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fz_scratch {
    char base[64], dir[128], sentinel[96];
    const char *name;
};

static inline void fz_scratch_empty_fd(int fd, bool strict);

/* The one scratch folder of this process, removed at exit. */
static struct fz_scratch *fz_scratch_atexit;

static inline void fz_scratch_remove(void)
{
    struct fz_scratch *s = fz_scratch_atexit;
    chmod(s->dir, 0755);
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0)
        fz_scratch_empty_fd(fd, false);
    rmdir(s->dir);
    unlink(s->sentinel);
    rmdir(s->base);
}

static inline void fz_scratch_make(struct fz_scratch *s, const char *what, const char *name)
{
    struct stat shm;
    snprintf(s->base, sizeof(s->base), "%s/hostel-fuzz-%s-XXXXXX",
             stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) && access("/dev/shm", W_OK) == 0
                 ? "/dev/shm" : "/tmp", what);
    if (!mkdtemp(s->base))
        abort();
    s->name = name;
    snprintf(s->dir, sizeof(s->dir), "%s/%s", s->base, name);
    snprintf(s->sentinel, sizeof(s->sentinel), "%s/sentinel", s->base);
    int fd = open(s->sentinel, O_CREAT | O_WRONLY, 0600);
    if (fd < 0 || write(fd, "secret\n", 7) != 7)
        abort();
    close(fd);
    if (mkdir(s->dir, 0755) < 0)
        abort();
    fz_scratch_atexit = s;
    atexit(fz_scratch_remove);
}

/* Empties directory fd (closing it), whatever modes were left.  strict:
 * abort on anything but regular files without set-id bits and folders. */
static inline void fz_scratch_empty_fd(int fd, bool strict)
{
    DIR *d = fdopendir(fd);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (strict)
                abort();
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            fchmodat(fd, de->d_name, 0700, 0);
            int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (sub >= 0)
                fz_scratch_empty_fd(sub, strict);
            else if (strict)
                abort();
            unlinkat(fd, de->d_name, AT_REMOVEDIR);
        } else {
            if (strict && (!S_ISREG(st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID))))
                abort();                      /* a link, device, FIFO or set-id file */
            unlinkat(fd, de->d_name, 0);
        }
    }
    closedir(d);
}

static inline void fz_scratch_empty(const struct fz_scratch *s, bool strict)
{
    chmod(s->dir, 0755);
    int fd = open(s->dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        abort();
    fz_scratch_empty_fd(fd, strict);
}

/* Nothing beside the folder changed: only it and the sentinel in the base,
 * the sentinel as it was. */
static inline void fz_scratch_check_outside(const struct fz_scratch *s)
{
    struct stat st;
    if (stat(s->sentinel, &st) < 0 || st.st_size != 7 || (st.st_mode & 07777) != 0600)
        abort();
    DIR *d = opendir(s->base);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, s->name) &&
            strcmp(de->d_name, "sentinel"))
            abort();
    closedir(d);
}

#endif
