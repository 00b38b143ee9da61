/* The NoCloud seed (board/cloud_init.h), written by libarchive's ISO 9660
 * writer with Rock Ridge and Joliet names, as genisoimage does for
 * cloud-localds. */
#include "board/cloud_init.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/file.h"

#define MAX_USER_DATA (16u << 20)
#define MAX_KEY       16384

static uint64_t fnv1a64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* One line of an OpenSSH public key ("ssh-ed25519 AAAA... comment"). */
static int read_key(const char *path, char **out, struct err *e)
{
    struct file_buf f;
    int r = file_read_all(path, &f);
    if (r < 0)
        return err_set(e, r, "--ssh-key %s: %s", path, strerror(-r));
    if (f.len == 0 || f.len > MAX_KEY) {
        file_buf_free(&f);
        return err_set(e, -EINVAL, "--ssh-key %s: not an OpenSSH public key (give the .pub file)",
                       path);
    }
    char *k = strndup((const char *)f.data, f.len);
    file_buf_free(&f);
    if (!k)
        return err_set(e, -ENOMEM, "out of memory");
    k[strcspn(k, "\r\n")] = 0;
    bool printable = true;
    for (const char *p = k; *p; p++)
        printable = printable && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\';
    if (!printable || (strncmp(k, "ssh-", 4) && strncmp(k, "ecdsa-", 6) && strncmp(k, "sk-", 3)) ||
        !strchr(k, ' ')) {
        free(k);
        return err_set(e, -EINVAL, "--ssh-key %s: not an OpenSSH public key (a line such as "
                       "\"ssh-ed25519 AAAA... you@host\"; give the .pub file, never the private "
                       "key)", path);
    }
    *out = k;
    return 0;
}

static int add_file(struct archive *a, const char *name, const void *data, size_t len)
{
    struct archive_entry *en = archive_entry_new();
    if (!en)
        return -ENOMEM;
    archive_entry_set_pathname(en, name);
    archive_entry_set_size(en, (la_int64_t)len);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_mtime(en, 0, 0);
    int r = archive_write_header(a, en);
    if (r == ARCHIVE_OK && len && archive_write_data(a, data, len) != (la_ssize_t)len)
        r = ARCHIVE_FATAL;
    archive_entry_free(en);
    return r == ARCHIVE_OK ? 0 : -EIO;
}

static bool valid_hostname(const char *h)
{
    size_t n = strlen(h);
    if (!n || n > 63 || h[0] == '-')
        return false;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

int cloud_init_write_seed(const struct machine_spec *spec, const struct seed_identity *who, int fd,
                          struct err *e)
{
    struct file_buf user = { 0 };
    char *key = NULL, *meta = NULL;
    struct archive *a = NULL;
    int r;
    const char *host = who && who->hostname && valid_hostname(who->hostname) ? who->hostname
                                                                             : "hostel";
    if (spec->cloud_init) {
        r = file_read_all(spec->cloud_init, &user);
        if (r < 0)
            return err_set(e, r, "--cloud-init %s: %s", spec->cloud_init, strerror(-r));
        if (user.len > MAX_USER_DATA) {
            file_buf_free(&user);
            return err_set(e, -EFBIG, "--cloud-init %s: %zu bytes; user-data is at most %u MiB",
                           spec->cloud_init, user.len, MAX_USER_DATA >> 20);
        }
    }
    if (spec->ssh_key && (r = read_key(spec->ssh_key, &key, e)) < 0)
        goto out;
    static const char default_user[] = "#cloud-config\n# made by hostel: no --cloud-init file "
                                       "was given\n{}\n";
    const void *ud = user.data ? (const void *)user.data : default_user;
    size_t ud_len = user.data ? user.len : strlen(default_user);
    char id[64];
    if (who && who->id && *who->id) {
        snprintf(id, sizeof(id), "hostel-%.40s", who->id);
    } else {
        uint64_t h = fnv1a64(14695981039346656037ULL, ud, ud_len);
        h = fnv1a64(h, key ? key : "", key ? strlen(key) : 0);
        h = fnv1a64(h, host, strlen(host));
        snprintf(id, sizeof(id), "hostel-%016llx", (unsigned long long)h);
    }
    if (asprintf(&meta, "instance-id: %s\nlocal-hostname: %s\n%s%s%s", id, host,
                 key ? "public-keys:\n  - \"" : "", key ? key : "", key ? "\"\n" : "") < 0) {
        meta = NULL;
        r = err_set(e, -ENOMEM, "out of memory");
        goto out;
    }
    a = archive_write_new();
    if (!a || archive_write_set_format_iso9660(a) != ARCHIVE_OK ||
        archive_write_set_format_option(a, "iso9660", "volume-id", "cidata") != ARCHIVE_OK ||
        archive_write_set_format_option(a, "iso9660", "rockridge", "1") != ARCHIVE_OK ||
        archive_write_set_format_option(a, "iso9660", "joliet", "1") != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        r = err_set(e, -EIO, "cannot make the cloud-init seed: %s",
                    a ? archive_error_string(a) : "out of memory");
        goto out;
    }
    if ((r = add_file(a, "user-data", ud, ud_len)) < 0 ||
        (r = add_file(a, "meta-data", meta, strlen(meta))) < 0 ||
        archive_write_close(a) != ARCHIVE_OK) {
        r = err_set(e, -EIO, "cannot write the cloud-init seed: %s", archive_error_string(a));
        goto out;
    }
    r = 0;
out:
    if (a)
        archive_write_free(a);
    free(meta);
    free(key);
    file_buf_free(&user);
    return r;
}
