/* The CLI's side of the control socket: connect, ask, read the answer. */
#ifndef HOSTEL_CLIENT_H
#define HOSTEL_CLIENT_H

#include <jansson.h>
#include <stddef.h>

/* Connects to the machine's control socket; -ENOENT/-ECONNREFUSED when no
 * VMM listens there. */
int client_connect(const char *name, int *fd_out);
/* Sends {"op": op} and returns the parsed reply (NULL with err set on failure). */
json_t *client_request(const char *name, const char *op, char *err, size_t errlen);
/* Reads one JSON line from fd (blocking, bounded). */
json_t *client_read_reply(int fd, char *err, size_t errlen);

#endif
