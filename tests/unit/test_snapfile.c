/* The snapshot state file: a written file reads back section by section;
 * every truncation, every flipped byte and random damage is refused with a
 * message, never a crash. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board/snapfile.h"
#include "check.h"
#include "lib/file.h"

#include <zlib.h>

static char path[] = "/tmp/hostel-test-snap-XXXXXX";

static void write_sample(void)
{
    struct snap_writer w;
    struct state_out a, b;
    struct err e = ERR_INIT;
    snap_write_begin(&w, "{\"kernel\":\"/k\",\"cpus\":2}", 64ULL << 20, 1234567);
    state_out_init(&a);
    st_put_u32(&a, 0xdeadbeef);
    st_put_u64(&a, 42);
    state_out_init(&b);
    for (int i = 0; i < 1000; i++)
        st_put_u8(&b, (uint8_t)i);
    snap_write_section(&w, "vcpu0", 3, &a);
    snap_write_section(&w, "uart@3f8", 1, &b);
    struct state_out empty;
    state_out_init(&empty);
    snap_write_section(&w, "post", 1, &empty);
    CHECK_EQ(snap_write_finish(&w, path, &e), 0);
    snap_writer_free(&w);
    state_out_free(&a);
    state_out_free(&b);
}

static void roundtrip(void)
{
    int fd = mkstemp(path);
    close(fd);
    write_sample();
    struct snapshot_file s;
    struct err e = ERR_INIT;
    CHECK_EQ(snap_read(path, &s, &e), 0);
    CHECK_EQ(s.created, 1234567);
    CHECK_EQ(s.ram_size, 64ULL << 20);
    CHECK(!strcmp(s.spec_json, "{\"kernel\":\"/k\",\"cpus\":2}"));
    CHECK_EQ(s.nsections, 3);
    const struct snap_section *v = snap_find(&s, "vcpu0");
    CHECK(v && v->version == 3 && v->len == 12);
    if (v) {
        struct state_in in;
        state_in_init(&in, v->data, v->len);
        CHECK_EQ(st_get_u32(&in), 0xdeadbeef);
        CHECK_EQ(st_get_u64(&in), 42);
        CHECK(state_in_done(&in));
    }
    const struct snap_section *u = snap_find(&s, "uart@3f8");
    CHECK(u && u->len == 1000 && u->data[999] == (uint8_t)999);
    CHECK(snap_find(&s, "post") && snap_find(&s, "post")->len == 0);
    CHECK(snap_find(&s, "nosuch") == NULL);
    snap_free(&s);
}

static void damage_is_refused(void)
{
    struct file_buf b;
    CHECK_EQ(file_read_all(path, &b), 0);
    struct snapshot_file s;
    struct err e = ERR_INIT;
    /* Every truncation. */
    int bad = 0;
    for (size_t n = 0; n < b.len; n++) {
        err_clear(&e);
        if (snap_parse(b.data, n, "t", &s, &e) == 0) {
            snap_free(&s);
            bad++;
        } else if (!e.msg[0]) {
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
    /* Every single flipped byte. */
    uint8_t *copy = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        memcpy(copy, b.data, b.len);
        copy[i] ^= 0x5a;
        err_clear(&e);
        if (snap_parse(copy, b.len, "t", &s, &e) == 0) {
            snap_free(&s);
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
    /* Random damage with the checksum recomputed: the structure checks alone
     * must hold (lengths, counts, names). */
    srand(7);
    for (int round = 0; round < 20000; round++) {
        memcpy(copy, b.data, b.len);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++)
            copy[8 + (size_t)rand() % (b.len - 12)] = (uint8_t)rand();
        size_t len = b.len - (size_t)(rand() % 3 == 0 ? rand() % 64 : 0);
        uint32_t c = (uint32_t)crc32(0, copy, (uInt)(len - 4));
        for (int k = 0; k < 4; k++)
            copy[len - 4 + (size_t)k] = (uint8_t)(c >> (8 * k));
        if (snap_parse(copy, len, "t", &s, &e) == 0) {
            /* Accepted: then everything it points at is inside the copy. */
            for (uint32_t k = 0; k < s.nsections; k++)
                CHECK(s.sections[k].data >= s.buf && s.sections[k].data + s.sections[k].len <= s.buf + s.len);
            snap_free(&s);
        }
    }
    /* The messages say what is wrong. */
    memcpy(copy, b.data, b.len);
    copy[0] = 'X';
    CHECK(snap_parse(copy, b.len, "f", &s, &e) < 0 && strstr(e.msg, "not a hostel snapshot"));
    memcpy(copy, b.data, b.len);
    copy[8] = 9;
    CHECK(snap_parse(copy, b.len, "f", &s, &e) < 0 && strstr(e.msg, "format version 9"));
    memcpy(copy, b.data, b.len);
    copy[b.len / 2] ^= 1;
    CHECK(snap_parse(copy, b.len, "f", &s, &e) < 0 && strstr(e.msg, "damaged or truncated"));
    CHECK(snap_read("/nonexistent/x", &s, &e) < 0 && strstr(e.msg, "cannot read"));
    free(copy);
    file_buf_free(&b);
    unlink(path);
}

int main(void)
{
    RUN_TEST(roundtrip);
    RUN_TEST(damage_is_refused);
    return CHECK_DONE();
}
