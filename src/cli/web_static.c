/* `hostel web`'s scripts from the build: web_static.h. */
#include "cli/web_static.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name, *type;
} files[] = {
    { "hostel.js", "text/javascript" },
    { "novnc.js", "text/javascript" },
    { "xterm.js", "text/javascript" },
    { "xterm.css", "text/css" },
};

const char *web_static_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("HOSTEL_WEB_DIR");
    if (env && *env)
        return env;
    if (!dir[0]) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
            return "web";
        exe[n] = 0;
        snprintf(dir, sizeof(dir), "%s/web", dirname(exe));
    }
    return dir;
}

struct MHD_Response *web_static(const char *file, bool *missing)
{
    *missing = false;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (strcmp(file, files[i].name))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", web_static_dir(), file);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            if (fd >= 0)
                close(fd);
            *missing = true;
            return NULL;
        }
        struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        if (!r) {
            close(fd);
            return NULL;
        }
        MHD_add_response_header(r, "Content-Type", files[i].type);
        MHD_add_response_header(r, "Cache-Control", "no-store");
        return r;
    }
    return NULL;
}
