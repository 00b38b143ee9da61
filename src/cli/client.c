/* Control-socket client used by the machine commands. */
#include "cli/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mgmt/library.h"

int client_connect(const char *name, int *fd_out)
{
    char path[4096];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int r = machine_path(name, "control.sock", path, sizeof(path));
    if (r < 0)
        return r;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    *fd_out = fd;
    return 0;
}

json_t *client_read_reply(int fd, struct err *e)
{
    char buf[65536];
    size_t have = 0;
    while (have < sizeof(buf) - 1) {
        struct pollfd p = { fd, POLLIN, 0 };
        int pr = poll(&p, 1, 30000);
        if (pr == 0) {
            err_set(e, -ETIMEDOUT, "the machine's VMM did not answer within 30 s");
            return NULL;
        }
        ssize_t n = read(fd, buf + have, 1);   /* byte by byte: never eat console data */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err_set(e, n < 0 ? -errno : -ECONNRESET, "the machine's VMM closed the connection");
            return NULL;
        }
        if (buf[have] == '\n') {
            buf[have] = 0;
            json_error_t je;
            json_t *reply = json_loads(buf, 0, &je);
            if (!reply)
                err_set(e, -EPROTO, "unreadable answer from the VMM: %s", je.text);
            return reply;
        }
        have++;
    }
    err_set(e, -EMSGSIZE, "answer from the VMM is too long");
    return NULL;
}

json_t *client_request(const char *name, const char *op, struct err *e)
{
    int fd;
    int r = client_connect(name, &fd);
    if (r < 0) {
        err_set(e, r, "machine '%s' is not running", name);
        return NULL;
    }
    char line[256];
    int n = snprintf(line, sizeof(line), "{\"op\":\"%s\"}\n", op);
    if (write(fd, line, (size_t)n) != n) {
        err_set(e, errno ? -errno : -EIO, "cannot talk to the VMM of '%s': %s", name,
                strerror(errno));
        close(fd);
        return NULL;
    }
    json_t *reply = client_read_reply(fd, e);
    close(fd);
    return reply;
}

json_t *client_call(const char *name, json_t *req, struct err *e)
{
    int fd;
    int r = client_connect(name, &fd);
    if (r < 0) {
        json_decref(req);
        err_set(e, r, "machine '%s' is not running", name);
        return NULL;
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *line = NULL;
    if (!text || asprintf(&line, "%s\n", text) < 0) {
        free(text);
        close(fd);
        err_set(e, -ENOMEM, "out of memory");
        return NULL;
    }
    free(text);
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t)n) {
        err_set(e, errno ? -errno : -EIO, "cannot talk to the VMM of '%s': %s", name,
                strerror(errno));
        free(line);
        close(fd);
        return NULL;
    }
    free(line);
    json_t *reply = client_read_reply(fd, e);
    close(fd);
    return reply;
}
