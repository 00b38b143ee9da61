/* Raw images through the block layer's vectored calls (one preadv or
 * pwritev per request, block.c's iov_full): many segments of odd sizes
 * land where a byte-by-byte copy puts them, more segments
 * than one system call takes (IOV_MAX) go in pieces, and a read past the
 * end of a file cut short behind the disk's back gives zeros. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block/block.h"
#include "check.h"

#define DISK (4u << 20)

static char path[64];
static struct blockdev *bd;
static uint8_t *want;   /* what the disk should hold */

static void open_disk(void)
{
    struct err err = ERR_INIT;
    snprintf(path, sizeof(path), "/tmp/hostel-raw-%d.img", (int)getpid());
    unlink(path);
    struct block_create_opts co = { .format = BLOCK_FORMAT_RAW, .size = DISK };
    CHECK_EQ(block_create(path, &co, &err), 0);
    struct block_open_opts oo = { .format = BLOCK_FORMAT_RAW };
    CHECK_EQ(block_open(path, &oo, &bd, &err), 0);
    want = calloc(1, DISK);
}

static void close_disk(void)
{
    block_close(bd);
    unlink(path);
    free(want);
}

/* Splits [buf, buf + len) into segments of 1..max bytes (a fixed
 * sequence); returns how many. */
static int split(uint8_t *buf, size_t len, struct iovec *iov, int cap, unsigned max, unsigned seed)
{
    int n = 0;
    size_t at = 0;
    while (at < len && n < cap) {
        size_t s = 1 + (seed = seed * 1103515245u + 12345u) % max;
        if (s > len - at)
            s = len - at;
        iov[n].iov_base = buf + at;
        iov[n].iov_len = s;
        n++;
        at += s;
    }
    return n;
}

static void raw_many_segments(void)
{
    open_disk();
    enum { LEN = 600064, CAP = 8000 };   /* whole sectors, as the layer takes */
    static struct iovec iov[CAP];
    uint8_t *src = malloc(LEN), *dst = malloc(LEN);
    for (unsigned i = 0; i < LEN; i++)
        src[i] = (uint8_t)(i * 7 + (i >> 9));
    uint64_t off = 123 * 512;
    int n = split(src, LEN, iov, CAP, 700, 1);
    CHECK(n > IOV_MAX);   /* the write goes in more than one pwritev */
    CHECK_EQ(block_pwritev(bd, off, iov, n), 0);
    memcpy(want + off, src, LEN);
    /* Read back, split another way, and with one pread of the file. */
    memset(dst, 0xee, LEN);
    n = split(dst, LEN, iov, CAP, 300, 2);
    CHECK(n > IOV_MAX);
    CHECK_EQ(block_preadv(bd, off, iov, n), 0);
    CHECK(!memcmp(dst, src, LEN));
    uint8_t *all = malloc(DISK);
    struct iovec one = { all, DISK };
    CHECK_EQ(block_preadv(bd, 0, &one, 1), 0);
    CHECK(!memcmp(all, want, DISK));
    free(all);
    free(src);
    free(dst);
    close_disk();
}

static void raw_read_past_end_of_file(void)
{
    open_disk();
    uint8_t block[8192];
    memset(block, 0x5a, sizeof(block));
    struct iovec w = { block, sizeof(block) };
    CHECK_EQ(block_pwritev(bd, DISK - sizeof(block), &w, 1), 0);
    /* The file loses its last 4 KiB behind the disk's back: the disk's
     * size stays, and those bytes read as zeros. */
    CHECK_EQ(truncate(path, DISK - 4096), 0);
    uint8_t got[3][4096];
    memset(got, 0xee, sizeof(got));
    struct iovec r[3] = { { got[0], 4096 }, { got[1], 4096 }, { got[2], 4096 } };
    CHECK_EQ(block_preadv(bd, DISK - 3 * 4096, r, 3), 0);
    for (int i = 0; i < 4096; i++) {
        if (got[0][i] != 0 || got[1][i] != 0x5a || got[2][i] != 0) {
            CHECK(!"bytes past the end of the file read as zeros, the rest as written");
            break;
        }
    }
    close_disk();
}

int main(void)
{
    RUN_TEST(raw_many_segments);
    RUN_TEST(raw_read_past_end_of_file);
    return CHECK_DONE();
}
