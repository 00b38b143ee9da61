/* WebSocket (RFC 6455) as `hostel web` needs it for the screen: the
 * handshake's accept key, and frames parsed and written one at a time.
 * libmicrohttpd does the HTTP side (its connection upgrade); this is only
 * the framing on the upgraded socket.  docs/display.md. */
#ifndef HOSTEL_HOST_WEBSOCKET_H
#define HOSTEL_HOST_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

/* The largest frame header: 2 bytes, 8 of length, 4 of mask. */
#define WS_MAX_HEADER 14
/* The Sec-WebSocket-Accept value for a Sec-WebSocket-Key, NUL-ended:
 * base64 of a SHA-1 is 28 characters. */
#define WS_ACCEPT_LEN 29

struct ws_frame {
    bool fin;
    unsigned opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t len;                /* payload bytes */
    size_t header;               /* header bytes */
};

/* 0, or -1 when the key is not the 16 base64-coded bytes a client sends. */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN]);

/* A frame's header from the first n bytes of buf: 1 (f filled), 0 (more
 * bytes needed), -1 (not a frame a client may send: reserved bits or
 * opcodes, an unmasked frame, a fragmented or long control frame, a
 * length with its top bit set). */
int ws_parse_header(const uint8_t *buf, size_t n, struct ws_frame *f);

/* Writes a server frame's header (unmasked, final) for a payload of len
 * bytes into out: its size. */
size_t ws_write_header(uint8_t out[WS_MAX_HEADER], unsigned opcode, uint64_t len);

/* Unmasks n payload bytes in place, the first being the payload's byte
 * number offset. */
void ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset);

#endif
