/* The library's folder: $HOSTEL_HOME, else $XDG_DATA_HOME/hostel, else
 * ~/.local/share/hostel. */
#include "lib/home.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hostel_home(char *buf, size_t len)
{
    const char *h = getenv("HOSTEL_HOME");
    int n;
    if (h && *h) {
        n = snprintf(buf, len, "%s", h);
    } else if ((h = getenv("XDG_DATA_HOME")) && *h) {
        n = snprintf(buf, len, "%s/hostel", h);
    } else {
        h = getenv("HOME");
        if (!h || !*h) {
            struct passwd *pw = getpwuid(getuid());
            h = pw ? pw->pw_dir : "/tmp";
        }
        n = snprintf(buf, len, "%s/.local/share/hostel", h);
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int hostel_home_list(const char *folder, bool (*keep)(const char *name, void *opaque), void *opaque,
                     char ***names, int *count)
{
    char home[3072], dir[3200];
    *names = NULL;
    *count = 0;
    int r = hostel_home(home, sizeof(home));
    if (r < 0)
        return r;
    snprintf(dir, sizeof(dir), "%s/%s", home, folder);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    char **v = NULL;
    int n = 0, cap = 0;
    r = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !keep(e->d_name, opaque))
            continue;
        char **nv = v;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            nv = realloc(v, (size_t)cap * sizeof(*v));
        }
        char *dup = nv ? strdup(e->d_name) : NULL;
        if (nv)
            v = nv;
        if (!dup) {
            r = -ENOMEM;
            break;
        }
        v[n++] = dup;
    }
    closedir(d);
    if (r < 0) {
        for (int i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return r;
    }
    if (n)
        qsort(v, (size_t)n, sizeof(*v), cmp_names);
    *names = v;
    *count = n;
    return 0;
}
