/* libFuzzer target for appliance archives (src/mgmt/appliance.c): the input
 * is a tar file (any compression libarchive detects) unpacked as `hostel
 * run` and `hostel import` do into a scratch folder, then, when it held a
 * manifest, the appliance opened from there (appliance.json: kernel,
 * disks, forwards, ssh) and turned into a machine spec.  Besides crashes
 * and sanitizer reports it aborts when anything but regular files and
 * folders appears in the scratch folder, or anything beside it changed. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board/spec.h"
#include "mgmt/appliance.h"

static char fz_ar_base[64], fz_ar_dir[96], fz_ar_sentinel[96];
static int fz_ar_fd = -1;
static char fz_ar_path[64];

/* Empties directory fd (closing it); aborts on what unpacking may not make. */
static void fz_ar_clear(int fd)
{
    DIR *d = fdopendir(fd);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            abort();
        if (S_ISDIR(st.st_mode)) {
            fchmodat(fd, de->d_name, 0700, 0);
            int sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            if (sub < 0)
                abort();
            fz_ar_clear(sub);
            if (unlinkat(fd, de->d_name, AT_REMOVEDIR) < 0)
                abort();
        } else if (S_ISREG(st.st_mode)) {
            if (st.st_mode & (S_ISUID | S_ISGID))
                abort();                      /* set-id bits from an archive */
            if (unlinkat(fd, de->d_name, 0) < 0)
                abort();
        } else {
            abort();                          /* a link, device or FIFO was made */
        }
    }
    closedir(d);
}

static void fz_ar_setup(void)
{
    struct stat shm;
    snprintf(fz_ar_base, sizeof(fz_ar_base), "%s/hostel-fuzz-archive-XXXXXX",
             stat("/dev/shm", &shm) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(fz_ar_base))
        abort();
    snprintf(fz_ar_dir, sizeof(fz_ar_dir), "%s/x", fz_ar_base);
    snprintf(fz_ar_sentinel, sizeof(fz_ar_sentinel), "%s/sentinel", fz_ar_base);
    int fd = open(fz_ar_sentinel, O_CREAT | O_WRONLY, 0600);
    if (fd < 0 || write(fd, "secret\n", 7) != 7)
        abort();
    close(fd);
    if (mkdir(fz_ar_dir, 0755) < 0)
        abort();
    fz_ar_fd = memfd_create("fuzz-appliance.tar", 0);
    if (fz_ar_fd < 0)
        abort();
    snprintf(fz_ar_path, sizeof(fz_ar_path), "/proc/self/fd/%d", fz_ar_fd);
}

static void fz_ar_check_outside(void)
{
    struct stat st;
    if (stat(fz_ar_sentinel, &st) < 0 || st.st_size != 7 || (st.st_mode & 07777) != 0600)
        abort();
    DIR *d = opendir(fz_ar_base);
    if (!d)
        abort();
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "x") &&
            strcmp(de->d_name, "sentinel"))
            abort();
    closedir(d);
}

/* Byte 0 bit 0: unpack as an import (a damaged archive is an error);
 * the rest is the archive. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_ar_fd < 0)
        fz_ar_setup();
    if (size < 1)
        return 0;
    if (ftruncate(fz_ar_fd, 0) < 0 || pwrite(fz_ar_fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
        abort();
    struct err e = ERR_INIT;
    int r = appliance_unpack(fz_ar_path, fz_ar_dir, data[0] & 1, &e);
    if (r < 0 && !e.msg[0])
        abort();
    if (r == 0) {
        struct appliance a;
        struct err oe = ERR_INIT;
        if (appliance_open(fz_ar_dir, &a, &oe) == 0) {
            struct machine_spec layer;
            spec_init(&layer);
            struct err se = ERR_INIT;
            if (appliance_spec(&a, &layer, &se) < 0 && !se.msg[0])
                abort();
            spec_free(&layer);
            appliance_free(&a);
        } else if (!oe.msg[0]) {
            abort();
        }
    }
    fz_ar_check_outside();
    chmod(fz_ar_dir, 0755);
    int fd = open(fz_ar_dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        abort();
    fz_ar_clear(fd);
    return 0;
}
