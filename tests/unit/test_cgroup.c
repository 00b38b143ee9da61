/* Unit tests for lib/cgroup.c's sweep of cgroups left by jailed VMMs (on
 * plain folders: rmdir is what a cgroup's removal is). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/cgroup.h"

static char root[64];

static void make(const char *name)
{
    char p[160];
    snprintf(p, sizeof(p), "%s/%s", root, name);
    CHECK_EQ(mkdir(p, 0755), 0);
}

static int exists(const char *name)
{
    char p[160];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", root, name);
    return stat(p, &st) == 0;
}

static void sweep_removes_only_the_dead(void)
{
    strcpy(root, "/tmp/hostel-cgsweep-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    /* A pid that is gone: a child, reaped. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    CHECK(dead > 0);
    waitpid(dead, NULL, 0);
    char gone[64], alive[64], mine[64], busy[64];
    snprintf(gone, sizeof(gone), "hostel-web-%d", (int)dead);
    snprintf(alive, sizeof(alive), "hostel-db-%d", (int)getppid());
    snprintf(mine, sizeof(mine), "hostel-run-%d", (int)getpid());
    snprintf(busy, sizeof(busy), "hostel-full-%d", (int)dead);
    make(gone);
    make(alive);
    make(mine);
    make(busy);
    make("other-1");
    make("hostel-odd-x");
    char inner[200];
    snprintf(inner, sizeof(inner), "%s/%s/child", root, busy);
    CHECK_EQ(mkdir(inner, 0755), 0);   /* rmdir refuses it, as a cgroup with processes */
    CHECK_EQ(cgroup_sweep(root), 1);
    CHECK(!exists(gone));
    CHECK(exists(alive));
    CHECK(exists(mine));
    CHECK(exists(busy));
    CHECK(exists("other-1"));
    CHECK(exists("hostel-odd-x"));
    CHECK_EQ(cgroup_sweep("/nonexistent/hostel"), 0);
    char cmd[100];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    CHECK_EQ(system(cmd), 0);
}

int main(void)
{
    RUN_TEST(sweep_removes_only_the_dead);
    return CHECK_DONE();
}
