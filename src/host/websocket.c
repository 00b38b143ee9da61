/* WebSocket framing (RFC 6455): see websocket.h. */
#include "host/websocket.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN])
{
    /* 16 random bytes in base64: 22 characters and "==". */
    if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return -1;
    for (int i = 0; i < 22; i++) {
        char c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return -1;
    }
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, 24, (const uint8_t *)key);
    sha1_update(&ctx, sizeof(ws_guid) - 1, (const uint8_t *)ws_guid);
    sha1_digest(&ctx, sizeof(digest), digest);
    base64_encode_raw(out, sizeof(digest), digest);
    out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = 0;
    return 0;
}

int ws_parse_header(const uint8_t *buf, size_t n, struct ws_frame *f)
{
    if (n < 2)
        return 0;
    if (buf[0] & 0x70)                  /* RSV1-3: no extension was agreed */
        return -1;
    f->fin = buf[0] & 0x80;
    f->opcode = buf[0] & 0x0f;
    f->masked = buf[1] & 0x80;
    if (!f->masked)                     /* a client masks every frame */
        return -1;
    switch (f->opcode) {
    case WS_OP_CONT: case WS_OP_TEXT: case WS_OP_BINARY:
        break;
    case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
        if (!f->fin || (buf[1] & 0x7f) > 125)
            return -1;
        break;
    default:
        return -1;
    }
    size_t h = 2;
    uint64_t len = buf[1] & 0x7f;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | buf[2 + i];
        if (len >> 63)
            return -1;
        h = 10;
    }
    if (n < h + 4)
        return 0;
    memcpy(f->mask, buf + h, 4);
    f->len = len;
    f->header = h + 4;
    return 1;
}

size_t ws_write_header(uint8_t out[WS_MAX_HEADER], unsigned opcode, uint64_t len)
{
    out[0] = 0x80 | (opcode & 0x0f);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

void ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        data[i] ^= mask[(offset + i) & 3];
}
