/* Unit tests for the machine library: names, configs, locks and states. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/file.h"
#include "mgmt/library.h"

static void names_are_checked(void)
{
    char why[200];
    CHECK_EQ(machine_name_check("web", why, sizeof(why)), 0);
    CHECK_EQ(machine_name_check("db-1.test_a", why, sizeof(why)), 0);
    CHECK_EQ(machine_name_check("", why, sizeof(why)), -EINVAL);
    CHECK_EQ(machine_name_check("../etc", why, sizeof(why)), -EINVAL);
    CHECK_EQ(machine_name_check("a/b", why, sizeof(why)), -EINVAL);
    CHECK_EQ(machine_name_check("a..b", why, sizeof(why)), -EINVAL);
    CHECK_EQ(machine_name_check(".hidden", why, sizeof(why)), -EINVAL);
    CHECK_EQ(machine_name_check("sp ace", why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "may hold only") != NULL);
    char longname[100];
    memset(longname, 'a', 99);
    longname[99] = 0;
    CHECK_EQ(machine_name_check(longname, why, sizeof(why)), -EINVAL);
}

static void configs_round_trip(void)
{
    char err[512];
    struct machine_config mc = { .cpus = 3, .memory = 768ULL << 20, .created = 1234 };
    snprintf(mc.name, sizeof(mc.name), "alpha");
    mc.kernel = strdup("/boot/k");
    mc.cmdline = strdup("console=ttyS0 \"quoted\"");
    mc.engine = strdup("emu");
    CHECK_EQ(machine_create(&mc, err, sizeof(err)), 0);
    CHECK_EQ(machine_create(&mc, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "already exists") != NULL);
    struct machine_config back;
    CHECK_EQ(machine_config_load("alpha", &back, err, sizeof(err)), 0);
    CHECK_EQ(back.cpus, 3);
    CHECK_EQ(back.memory, 768ULL << 20);
    CHECK(!strcmp(back.kernel, "/boot/k"));
    CHECK(!strcmp(back.cmdline, mc.cmdline));
    CHECK(!strcmp(back.engine, "emu"));
    CHECK(back.initrd == NULL);
    machine_config_free(&back);
    machine_config_free(&mc);
    CHECK_EQ(machine_config_load("nosuch", &back, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "no machine named") != NULL);
}

static void corrupt_config_is_reported(void)
{
    char err[512], path[4096];
    struct machine_config mc = { .cpus = 1, .memory = 1 << 30 };
    snprintf(mc.name, sizeof(mc.name), "broken");
    mc.kernel = strdup("/k");
    CHECK_EQ(machine_create(&mc, err, sizeof(err)), 0);
    machine_config_free(&mc);
    machine_path("broken", "config.json", path, sizeof(path));
    CHECK_EQ(file_write_atomic(path, "{\"version\": 1, \"cpus\": ", 23), 0);
    CHECK(machine_config_load("broken", &mc, err, sizeof(err)) < 0);
    CHECK(strstr(err, "config.json") != NULL);
}

static void list_is_sorted(void)
{
    char **names;
    int n;
    CHECK_EQ(machine_list(&names, &n), 0);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK(!strcmp(names[0], "alpha"));
        CHECK(!strcmp(names[1], "broken"));
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void lock_decides_state(void)
{
    char why[256], path[4096];
    CHECK_EQ(machine_state_get("alpha", why, sizeof(why)), MACHINE_STOPPED);
    int fd;
    CHECK_EQ(machine_lock_acquire("alpha", &fd), 0);
    CHECK(machine_lock_held("alpha"));
    machine_path("alpha", "state", path, sizeof(path));
    file_write_atomic(path, "running 1\n", 10);
    CHECK_EQ(machine_state_get("alpha", why, sizeof(why)), MACHINE_RUNNING);
    /* A second VMM (another process) cannot take the lock. */
    pid_t pid = fork();
    if (pid == 0) {
        int fd2;
        _exit(machine_lock_acquire("alpha", &fd2) == -EBUSY ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fd);
    /* The state file still says running, but nobody holds the lock. */
    CHECK_EQ(machine_state_get("alpha", why, sizeof(why)), MACHINE_CRASHED);
    CHECK(strstr(why, "died") != NULL);
}

static void remove_deletes_folder(void)
{
    char err[512];
    CHECK_EQ(machine_remove("alpha", err, sizeof(err)), 0);
    CHECK_EQ(machine_remove("alpha", err, sizeof(err)), -ENOENT);
}

int main(void)
{
    char tmpl[] = "/tmp/hostel-lib-XXXXXX";
    if (!mkdtemp(tmpl))
        return 1;
    setenv("HOSTEL_HOME", tmpl, 1);
    RUN_TEST(names_are_checked);
    RUN_TEST(configs_round_trip);
    RUN_TEST(corrupt_config_is_reported);
    RUN_TEST(list_is_sorted);
    RUN_TEST(lock_decides_state);
    RUN_TEST(remove_deletes_folder);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
    if (system(cmd)) { }
    return CHECK_DONE();
}
