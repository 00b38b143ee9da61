/* The snapshot state file (board/snapfile.h). */
#include "board/snapfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/file.h"

static uint32_t crc(const uint8_t *p, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

void snap_write_begin(struct snap_writer *w, const char *spec_json, uint64_t ram_size,
                      uint64_t created)
{
    memset(w, 0, sizeof(*w));
    state_out_init(&w->out);
    st_put_bytes(&w->out, SNAP_MAGIC, 8);
    st_put_u32(&w->out, SNAP_VERSION);
    st_put_u32(&w->out, 0);                        /* flags, none yet */
    st_put_u64(&w->out, created);
    st_put_u64(&w->out, ram_size);
    size_t n = strlen(spec_json);
    st_put_u32(&w->out, (uint32_t)n);
    st_put_bytes(&w->out, spec_json, n);
    w->count_at = w->out.len;
    st_put_u32(&w->out, 0);                        /* the section count, patched */
}

void snap_write_section(struct snap_writer *w, const char *name, uint32_t version,
                        const struct state_out *payload)
{
    size_t n = strlen(name);
    if (n > SNAP_NAME_MAX || !state_out_ok(payload)) {
        w->out.failed = true;
        return;
    }
    st_put_u8(&w->out, (uint8_t)n);
    st_put_bytes(&w->out, name, n);
    st_put_u32(&w->out, version);
    st_put_u64(&w->out, payload->len);
    st_put_bytes(&w->out, payload->data, payload->len);
    st_put_u32(&w->out, crc(payload->data, payload->len));
    w->nsections++;
}

int snap_write_end(struct snap_writer *w, struct err *e)
{
    if (!state_out_ok(&w->out) || w->nsections > SNAP_MAX_SECTIONS)
        return err_set(e, -ENOMEM, "out of memory, or a section too large, while saving the "
                       "machine's state");
    for (int i = 0; i < 4; i++)
        w->out.data[w->count_at + (size_t)i] = (uint8_t)(w->nsections >> (8 * i));
    st_put_u32(&w->out, crc(w->out.data, w->out.len));
    if (!state_out_ok(&w->out))
        return err_set(e, -ENOMEM, "out of memory while saving the machine's state");
    return 0;
}

int snap_write_finish(struct snap_writer *w, const char *path, struct err *e)
{
    int r = snap_write_end(w, e);
    if (r < 0)
        return err_wrap(e, "%s", path);
    r = file_write_atomic(path, w->out.data, w->out.len);
    if (r < 0)
        return err_set(e, r, "cannot write %s: %s", path, strerror(-r));
    return 0;
}

void snap_writer_free(struct snap_writer *w)
{
    state_out_free(&w->out);
}

static bool printable_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

int snap_parse(const uint8_t *data, size_t len, const char *what, struct snapshot_file *out,
               struct err *e)
{
    memset(out, 0, sizeof(*out));
    if (len < 8 + 4 + 4 + 8 + 8 + 4 + 4 + 4)
        return err_set(e, -EINVAL, "%s: too short to be a hostel snapshot (%zu bytes)", what,
                       len);
    if (memcmp(data, SNAP_MAGIC, 8))
        return err_set(e, -EINVAL, "%s: not a hostel snapshot (no %s magic)", what, SNAP_MAGIC);
    uint32_t stored = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 |
                      (uint32_t)data[len - 2] << 16 | (uint32_t)data[len - 1] << 24;
    struct state_in in;
    state_in_init(&in, data, len - 4);
    in.off = 8;
    uint32_t version = st_get_u32(&in);
    if (version != SNAP_VERSION)
        return err_set(e, -EINVAL, "%s: snapshot format version %u; this hostel reads "
                       "version %d", what, version, SNAP_VERSION);
    if (crc(data, len - 4) != stored)
        return err_set(e, -EINVAL, "%s: the file's checksum does not match: it is damaged "
                       "or truncated", what);
    uint32_t flags = st_get_u32(&in);
    if (flags)
        return err_set(e, -EINVAL, "%s: unknown snapshot flags %#x", what, flags);
    out->created = st_get_u64(&in);
    out->ram_size = st_get_u64(&in);
    uint32_t spec_len = st_get_u32(&in);
    if (spec_len > SNAP_MAX_SPEC || spec_len > in.len - in.off)
        return err_set(e, -EINVAL, "%s: its machine spec's length (%u) runs past the file", what,
                       spec_len);
    out->buf = malloc(len);
    out->spec_json = malloc(spec_len + 1);
    if (!out->buf || !out->spec_json) {
        snap_free(out);
        return err_set(e, -ENOMEM, "%s: out of memory", what);
    }
    memcpy(out->buf, data, len);
    out->len = len;
    memcpy(out->spec_json, data + in.off, spec_len);
    out->spec_json[spec_len] = 0;
    in.off += spec_len;
    out->nsections = st_get_u32(&in);
    if (in.bad || out->nsections > SNAP_MAX_SECTIONS) {
        snap_free(out);
        return err_set(e, -EINVAL, "%s: %s", what, in.bad ? "truncated header"
                       : "more sections than any machine has");
    }
    out->sections = calloc(out->nsections ? out->nsections : 1, sizeof(*out->sections));
    if (!out->sections) {
        snap_free(out);
        return err_set(e, -ENOMEM, "%s: out of memory", what);
    }
    for (uint32_t i = 0; i < out->nsections; i++) {
        struct snap_section *s = &out->sections[i];
        uint8_t n = st_get_u8(&in);
        if (in.bad || n > SNAP_NAME_MAX || n > in.len - in.off ||
            !printable_name((const char *)data + in.off, n)) {
            snap_free(out);
            return err_set(e, -EINVAL, "%s: section %u has a malformed name", what, i);
        }
        memcpy(s->name, data + in.off, n);
        s->name[n] = 0;
        in.off += n;
        s->version = st_get_u32(&in);
        uint64_t slen = st_get_u64(&in);
        char name[SNAP_NAME_MAX + 1];
        memcpy(name, s->name, sizeof(name));   /* for messages after snap_free */
        if (in.bad || slen > SNAP_MAX_SECTION || slen + 4 > in.len - in.off) {
            snap_free(out);
            return err_set(e, -EINVAL, "%s: section \"%s\"'s length runs past the file", what,
                           name);
        }
        s->data = out->buf + in.off;
        s->len = (size_t)slen;
        in.off += slen;
        if (crc(s->data, s->len) != st_get_u32(&in)) {
            snap_free(out);
            return err_set(e, -EINVAL, "%s: section \"%s\" is damaged (checksum)", what, name);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (!strcmp(out->sections[j].name, name)) {
                snap_free(out);
                return err_set(e, -EINVAL, "%s: section \"%s\" appears twice", what, name);
            }
        }
    }
    if (in.off != in.len) {
        snap_free(out);
        return err_set(e, -EINVAL, "%s: %zu bytes after the last section", what,
                       in.len - in.off);
    }
    return 0;
}

int snap_read(const char *path, struct snapshot_file *out, struct err *e)
{
    struct file_buf b;
    memset(out, 0, sizeof(*out));
    int r = file_read_all(path, &b);
    if (r < 0)
        return err_set(e, r, "cannot read %s: %s", path, strerror(-r));
    r = snap_parse(b.data, b.len, path, out, e);
    file_buf_free(&b);
    return r;
}

const struct snap_section *snap_find(const struct snapshot_file *s, const char *name)
{
    for (uint32_t i = 0; i < s->nsections; i++)
        if (!strcmp(s->sections[i].name, name))
            return &s->sections[i];
    return NULL;
}

void snap_free(struct snapshot_file *s)
{
    free(s->buf);
    free(s->spec_json);
    free(s->sections);
    memset(s, 0, sizeof(*s));
}
