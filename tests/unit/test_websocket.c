/* Unit tests for host/websocket.c: the handshake's accept key (RFC 6455's
 * own example), frame headers of every length form, and the frames a
 * client may not send refused. */
#include <string.h>

#include "check.h"
#include "host/websocket.h"

static void accept_key(void)
{
    char out[WS_ACCEPT_LEN];
    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);   /* RFC 6455 1.3 */
    CHECK(!strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    CHECK_EQ(ws_accept_key(NULL, out), -1);
    CHECK_EQ(ws_accept_key("", out), -1);
    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -1);     /* no padding */
    CHECK_EQ(ws_accept_key("dGhlIHNhbXBsZSBub25j\r\n==", out), -1);
}

/* A masked client frame of len bytes, its header parsed back. */
static void header_round(uint64_t len, size_t want_header)
{
    uint8_t buf[WS_MAX_HEADER];
    size_t h = ws_write_header(buf, WS_OP_BINARY, len);
    CHECK_EQ(h + 4, want_header);
    buf[1] |= 0x80;                                 /* masked, as a client sends */
    memcpy(buf + h, "\x01\x02\x03\x04", 4);
    struct ws_frame f;
    for (size_t n = 0; n < h + 4; n++)              /* every short read: more needed */
        CHECK_EQ(ws_parse_header(buf, n, &f), 0);
    CHECK_EQ(ws_parse_header(buf, h + 4, &f), 1);
    CHECK_EQ(f.len, len);
    CHECK_EQ(f.header, want_header);
    CHECK_EQ(f.opcode, WS_OP_BINARY);
    CHECK(f.fin && f.masked && f.mask[3] == 4);
}

static void headers(void)
{
    header_round(0, 6);
    header_round(125, 6);
    header_round(126, 8);
    header_round(65535, 8);
    header_round(65536, 14);
    header_round(1ull << 40, 14);
}

static void refused(void)
{
    struct ws_frame f;
    const uint8_t unmasked[] = { 0x82, 0x01, 'x' };
    const uint8_t rsv[] = { 0xc2, 0x80, 0, 0, 0, 0 };
    const uint8_t opcode3[] = { 0x83, 0x80, 0, 0, 0, 0 };
    const uint8_t long_ping[] = { 0x89, 0xfe, 0, 200, 0, 0, 0, 0 };
    const uint8_t split_close[] = { 0x08, 0x80, 0, 0, 0, 0 };
    const uint8_t huge[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    CHECK_EQ(ws_parse_header(unmasked, sizeof(unmasked), &f), -1);
    CHECK_EQ(ws_parse_header(rsv, sizeof(rsv), &f), -1);
    CHECK_EQ(ws_parse_header(opcode3, sizeof(opcode3), &f), -1);
    CHECK_EQ(ws_parse_header(long_ping, sizeof(long_ping), &f), -1);
    CHECK_EQ(ws_parse_header(split_close, sizeof(split_close), &f), -1);
    CHECK_EQ(ws_parse_header(huge, sizeof(huge), &f), -1);
}

static void unmask(void)
{
    const uint8_t mask[4] = { 0x10, 0x20, 0x30, 0x40 };
    uint8_t data[6] = { 'h' ^ 0x10, 'e' ^ 0x20, 'l' ^ 0x30, 'l' ^ 0x40, 'o' ^ 0x10, '!' ^ 0x20 };
    ws_unmask(data, 3, mask, 0);                    /* in two pieces, as reads come */
    ws_unmask(data + 3, 3, mask, 3);
    CHECK(!memcmp(data, "hello!", 6));
}

int main(void)
{
    RUN_TEST(accept_key);
    RUN_TEST(headers);
    RUN_TEST(refused);
    RUN_TEST(unmask);
    return CHECK_DONE();
}
