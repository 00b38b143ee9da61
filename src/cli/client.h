/* The CLI's side of the control socket: connect, ask, read the answer. */
#ifndef HOSTEL_CLIENT_H
#define HOSTEL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

/* Connects to the machine's control socket; -ENOENT/-ECONNREFUSED when no
 * VMM listens there. */
int client_connect(const char *name, int *fd_out);
/* Sends {"op": op} and returns the parsed reply (NULL with e set on failure). */
json_t *client_request(const char *name, const char *op, struct err *e);
/* Sends the request object (taking it) and returns the parsed reply. */
json_t *client_call(const char *name, json_t *req, struct err *e);
/* Reads one JSON line from fd (blocking, bounded); NULL with e set on failure. */
json_t *client_read_reply(int fd, struct err *e);

#endif
