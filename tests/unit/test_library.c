/* Unit tests for the machine library: names, configs (version 2, and
 * version 1 read and converted), locks and states. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "block/block.h"
#include "board/spec.h"
#include "lib/file.h"
#include "mgmt/library.h"
#include "net/net.h"

static void names_are_checked(void)
{
    struct err ne = ERR_INIT;
    CHECK_EQ(machine_name_check("web", &ne), 0);
    CHECK_EQ(machine_name_check("db-1.test_a", &ne), 0);
    CHECK_EQ(machine_name_check("", &ne), -EINVAL);
    CHECK_EQ(machine_name_check("../etc", &ne), -EINVAL);
    CHECK_EQ(machine_name_check("a/b", &ne), -EINVAL);
    CHECK_EQ(machine_name_check("a..b", &ne), -EINVAL);
    CHECK_EQ(machine_name_check(".hidden", &ne), -EINVAL);
    CHECK_EQ(machine_name_check("sp ace", &ne), -EINVAL);
    CHECK(strstr(ne.msg, "may hold only") != NULL);
    char longname[100];
    memset(longname, 'a', 99);
    longname[99] = 0;
    CHECK_EQ(machine_name_check(longname, &ne), -EINVAL);
}

static int set(struct machine_spec *s, const char *name, const char *arg)
{
    struct err e = ERR_INIT;
    int r = spec_set_option(s, name, arg, &e);
    if (r < 0)
        printf("  --%s %s: %s\n", name, arg ? arg : "", e.msg);
    return r;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Every field of two specs, one CHECK each (the failing one is named). */
static void check_same_spec(const struct machine_spec *a, const struct machine_spec *b)
{
    CHECK_EQ(a->set, b->set);
    CHECK(str_eq(a->appliance, b->appliance));
    CHECK(str_eq(a->kernel, b->kernel));
    CHECK(str_eq(a->initrd, b->initrd));
    CHECK(str_eq(a->cmdline, b->cmdline));
    CHECK_EQ(a->cpus, b->cpus);
    CHECK_EQ(a->memory, b->memory);
    CHECK(str_eq(a->engine, b->engine));
    CHECK(str_eq(a->serial, b->serial));
    CHECK_EQ(a->virtio_console, b->virtio_console);
    CHECK_EQ(a->rng, b->rng);
    CHECK_EQ(a->no_reboot, b->no_reboot);
    CHECK_EQ(a->watchdog_s, b->watchdog_s);
    CHECK_EQ(a->ndisks, b->ndisks);
    for (int i = 0; i < a->ndisks && i < b->ndisks; i++) {
        CHECK(str_eq(a->disks[i].path, b->disks[i].path));
        CHECK_EQ(a->disks[i].size, b->disks[i].size);
        CHECK_EQ(a->disks[i].format, b->disks[i].format);
        CHECK_EQ(a->disks[i].readonly, b->disks[i].readonly);
    }
    CHECK_EQ(a->net_mode, b->net_mode);
    CHECK_EQ(a->net_restrict, b->net_restrict);
    CHECK_EQ(a->net_mtu, b->net_mtu);
    CHECK(str_eq(a->tap, b->tap));
    CHECK_EQ(a->nforwards, b->nforwards);
    for (int i = 0; i < a->nforwards && i < b->nforwards; i++) {
        CHECK_EQ(a->forwards[i].udp, b->forwards[i].udp);
        CHECK_EQ(a->forwards[i].host_addr, b->forwards[i].host_addr);
        CHECK_EQ(a->forwards[i].host_port, b->forwards[i].host_port);
        CHECK_EQ(a->forwards[i].guest_port, b->forwards[i].guest_port);
    }
    CHECK(!memcmp(a->mac, b->mac, 6));
}

/* Writes text as machine name's config.json, making its folder. */
static void write_config(const char *name, const char *text)
{
    char path[4096];
    machine_path(name, "", path, sizeof(path));
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    CHECK_EQ(system(cmd), 0);
    machine_path(name, "config.json", path, sizeof(path));
    CHECK_EQ(file_write_atomic(path, text, strlen(text)), 0);
}

static void configs_round_trip(void)
{
    struct err e = ERR_INIT;
    struct machine_config mc;
    memset(&mc, 0, sizeof(mc));
    mc.created = 1234;
    snprintf(mc.name, sizeof(mc.name), "alpha");
    spec_init(&mc.spec);
    CHECK_EQ(set(&mc.spec, "cpus", "3"), 0);
    CHECK_EQ(set(&mc.spec, "memory", "768M"), 0);
    CHECK_EQ(set(&mc.spec, "kernel", "/boot/k"), 0);
    CHECK_EQ(set(&mc.spec, "cmdline", "console=ttyS0 \"quoted\""), 0);
    CHECK_EQ(set(&mc.spec, "engine", "emu"), 0);
    CHECK_EQ(machine_create(&mc, &e), 0);
    CHECK_EQ(machine_create(&mc, &e), -EEXIST);
    CHECK(strstr(e.msg, "already exists") != NULL);
    struct machine_config back;
    err_clear(&e);
    CHECK_EQ(machine_config_load("alpha", &back, &e), 0);
    CHECK(!strcmp(back.name, "alpha"));
    CHECK_EQ(back.created, 1234);
    CHECK_EQ(back.spec.cpus, 3);
    CHECK_EQ(back.spec.memory, 768ULL << 20);
    CHECK(!strcmp(back.spec.kernel, "/boot/k"));
    CHECK(!strcmp(back.spec.cmdline, mc.spec.cmdline));
    CHECK(!strcmp(back.spec.engine, "emu"));
    CHECK(back.spec.initrd == NULL);
    machine_config_free(&back);
    machine_config_free(&mc);
    CHECK_EQ(machine_config_load("nosuch", &back, &e), -ENOENT);
    CHECK(strstr(e.msg, "no machine named") != NULL);
}

static void corrupt_config_is_reported(void)
{
    char path[4096];
    struct err e = ERR_INIT;
    struct machine_config mc;
    memset(&mc, 0, sizeof(mc));
    snprintf(mc.name, sizeof(mc.name), "broken");
    spec_init(&mc.spec);
    CHECK_EQ(set(&mc.spec, "cpus", "1"), 0);
    CHECK_EQ(set(&mc.spec, "memory", "1G"), 0);
    CHECK_EQ(set(&mc.spec, "kernel", "/k"), 0);
    CHECK_EQ(machine_create(&mc, &e), 0);
    machine_config_free(&mc);
    machine_path("broken", "config.json", path, sizeof(path));
    CHECK_EQ(file_write_atomic(path, "{\"version\": 1, \"cpus\": ", 23), 0);
    CHECK(machine_config_load("broken", &mc, &e) < 0);
    CHECK(strstr(e.msg, "config.json") != NULL);
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
    struct err e = ERR_INIT;
    CHECK_EQ(machine_remove("alpha", &e), 0);
    CHECK_EQ(machine_remove("alpha", &e), -ENOENT);
    CHECK(strstr(e.msg, "no machine named 'alpha'") != NULL);
}

/* A version 1 config (before the machine spec) as hostel wrote them: read
 * into a complete spec over the defaults, and written back as version 2. */
static void v1_config_loads_and_converts(void)
{
    bool user = net_user_available();
    char text[1024];
    snprintf(text, sizeof(text),
             "{\n  \"cmdline\": \"console=ttyS0 quiet\",\n  \"cpus\": 2,\n"
             "  \"created\": 1700000000,\n  \"disk\": \"disk.qcow2\",\n  \"engine\": \"emu\",\n"
             "  %s\n  \"initrd\": \"/boot/initrd.img\",\n  \"kernel\": \"/boot/vmlinuz\",\n"
             "  \"memory\": 268435456,\n  \"name\": \"old\",\n  \"net\": \"%s\",\n"
             "  \"version\": 1\n}\n",
             user ? "\"forwards\": [\"tcp:0:22\", \"udp:5353:53\"]," : "", user ? "user" : "none");
    write_config("old", text);
    struct machine_config mc;
    struct err e = ERR_INIT;
    CHECK_EQ(machine_config_load("old", &mc, &e), 0);
    if (err_is_set(&e))
        printf("  %s\n", e.msg);
    CHECK(!strcmp(mc.name, "old"));
    CHECK_EQ(mc.created, 1700000000);
    const struct machine_spec *s = &mc.spec;
    CHECK(str_eq(s->kernel, "/boot/vmlinuz"));
    CHECK(str_eq(s->initrd, "/boot/initrd.img"));
    CHECK(str_eq(s->cmdline, "console=ttyS0 quiet"));
    CHECK(str_eq(s->engine, "emu"));
    CHECK_EQ(s->cpus, 2);
    CHECK_EQ(s->memory, 256ULL << 20);
    /* Its own disk: a qcow2 file in the machine folder. */
    CHECK_EQ(s->ndisks, 1);
    CHECK(str_eq(s->disks[0].path, "disk.qcow2"));
    CHECK_EQ(s->disks[0].format, BLOCK_FORMAT_QCOW2);
    CHECK(!s->disks[0].readonly);
    if (user) {
        CHECK_EQ(s->net_mode, NET_MODE_USER);
        CHECK_EQ(s->nforwards, 2);
        CHECK_EQ(s->forwards[0].host_port, 0);
        CHECK_EQ(s->forwards[0].guest_port, 22);
        CHECK(s->forwards[1].udp);
        CHECK_EQ(s->forwards[1].host_port, 5353);
    } else {
        CHECK_EQ(s->net_mode, NET_MODE_NONE);
    }
    /* What version 1 did not store comes from the defaults. */
    CHECK(str_eq(s->serial, "stdio"));
    CHECK(s->rng);
    CHECK_EQ(s->watchdog_s, 120);
    CHECK(!s->virtio_console);
    CHECK(!s->no_reboot);
    CHECK(s->set & SPEC_KERNEL);
    struct err ce = ERR_INIT;
    CHECK_EQ(spec_check(s, &ce), 0);
    /* Saved, it becomes version 2 and reads back the same. */
    CHECK_EQ(machine_config_save(&mc, &e), 0);
    char path[4096];
    machine_path("old", "config.json", path, sizeof(path));
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    CHECK(root != NULL);
    CHECK_EQ(json_integer_value(json_object_get(root, "version")), 2);
    CHECK(str_eq(json_string_value(json_object_get(root, "name")), "old"));
    CHECK_EQ(json_integer_value(json_object_get(root, "created")), 1700000000);
    CHECK(json_is_object(json_object_get(root, "spec")));
    CHECK(json_object_get(root, "kernel") == NULL);       /* inside "spec" now */
    json_decref(root);
    struct machine_config again;
    CHECK_EQ(machine_config_load("old", &again, &e), 0);
    CHECK(!strcmp(again.name, "old"));
    CHECK_EQ(again.created, mc.created);
    check_same_spec(&mc.spec, &again.spec);
    machine_config_free(&again);
    machine_config_free(&mc);
    CHECK(machine_remove("old", NULL) == 0);
}

/* A version 1 machine made from an appliance: the appliance under what the
 * machine stored, its own disk in place of the appliance's first. */
static void v1_config_from_an_appliance(void)
{
    char home[1024], app[1200], cmd[2600], p[1400];
    CHECK_EQ(library_home(home, sizeof(home)), 0);
    snprintf(app, sizeof(app), "%s/apps/tiny", home);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cd '%s' && echo k > vmlinuz && echo i > initrd.img"
             " && echo d > root.img && echo d > data.img", app, app);
    CHECK_EQ(system(cmd), 0);
    snprintf(p, sizeof(p), "%s/appliance.json", app);
    const char *manifest =
        "{\"format\":1,\"name\":\"tiny\",\"version\":\"1\",\"kernel\":\"vmlinuz\","
        "\"initrd\":\"initrd.img\",\"cmdline\":\"console=ttyS0 root=/dev/vda\",\"cpus\":2,"
        "\"memory\":\"256M\",\"disks\":[{\"file\":\"root.img\",\"format\":\"raw\"},"
        "{\"file\":\"data.img\",\"readonly\":true}],\"forwards\":[\"tcp:0:22\"]}";
    CHECK_EQ(file_write_atomic(p, manifest, strlen(manifest)), 0);
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"version\":1,\"name\":\"fromapp\",\"appliance\":\"%s\",\"disk\":\"disk.qcow2\","
             "\"engine\":\"auto\",\"cpus\":4,\"memory\":1073741824,\"created\":5}", app);
    write_config("fromapp", text);
    struct machine_config mc;
    struct err e = ERR_INIT;
    CHECK_EQ(machine_config_load("fromapp", &mc, &e), 0);
    if (err_is_set(&e))
        printf("  %s\n", e.msg);
    const struct machine_spec *s = &mc.spec;
    CHECK(str_eq(s->appliance, app));
    snprintf(p, sizeof(p), "%s/vmlinuz", app);
    CHECK(str_eq(s->kernel, p));
    snprintf(p, sizeof(p), "%s/initrd.img", app);
    CHECK(str_eq(s->initrd, p));
    CHECK(str_eq(s->cmdline, "console=ttyS0 root=/dev/vda"));
    CHECK_EQ(s->cpus, 4);                                 /* the machine's, over the appliance's */
    CHECK_EQ(s->memory, 1ULL << 30);
    CHECK(str_eq(s->engine, "auto"));
    CHECK_EQ(s->ndisks, 2);
    CHECK(str_eq(s->disks[0].path, "disk.qcow2"));       /* its own, not root.img */
    CHECK_EQ(s->disks[0].format, BLOCK_FORMAT_QCOW2);
    snprintf(p, sizeof(p), "%s/data.img", app);
    CHECK(str_eq(s->disks[1].path, p));
    CHECK(s->disks[1].readonly);
    CHECK_EQ(s->net_mode, NET_MODE_USER);                /* the appliance's forward */
    CHECK_EQ(s->nforwards, 1);
    CHECK_EQ(s->forwards[0].guest_port, 22);
    machine_config_free(&mc);
    /* Its appliance gone: the message names the config and the appliance. */
    snprintf(text, sizeof(text),
             "{\"version\":1,\"name\":\"fromapp\",\"appliance\":\"%s/gone\",\"cpus\":1,"
             "\"memory\":1073741824}", home);
    write_config("fromapp", text);
    CHECK_EQ(machine_config_load("fromapp", &mc, &e), -ENOENT);
    CHECK(strstr(e.msg, "config.json: its appliance") != NULL);
    CHECK(strstr(e.msg, "gone") != NULL);
    CHECK(machine_remove("fromapp", NULL) == 0);
}

static void bad_configs_are_named(void)
{
    struct machine_config mc;
    struct err e = ERR_INIT;
    /* Version 1 without what it always had. */
    write_config("bad", "{\"version\":1,\"name\":\"bad\",\"kernel\":\"/k\",\"memory\":1}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "bad/config.json: not a hostel machine config of version 1") != NULL);
    write_config("bad", "{\"version\":1,\"kernel\":\"/k\",\"cpus\":1,\"memory\":1073741824,"
                        "\"disk\":\"../other/disk.qcow2\"}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "\"disk\" must be a file name in the machine folder") != NULL);
    write_config("bad", "{\"version\":1,\"kernel\":\"/k\",\"cpus\":100,\"memory\":1073741824}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "bad/config.json") != NULL);
    CHECK(strstr(e.msg, "--cpus '100'") != NULL);
    /* A version this hostel does not know. */
    write_config("bad", "{\"version\":3,\"name\":\"bad\",\"spec\":{\"kernel\":\"/k\"}}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "\"version\" 3; this hostel reads 1 and 2") != NULL);
    /* Version 2 is strict about its spec, and needs a kernel. */
    write_config("bad", "{\"version\":2,\"name\":\"bad\",\"spec\":{\"kernel\":\"/k\","
                        "\"frobnicate\":true}}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "bad/config.json") != NULL);
    CHECK(strstr(e.msg, "unknown key \"frobnicate\"") != NULL);
    write_config("bad", "{\"version\":2,\"name\":\"bad\",\"spec\":{\"kernel\":\"/k\","
                        "\"cpus\":\"many\"}}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "\"cpus\": give a whole number") != NULL);
    write_config("bad", "{\"version\":2,\"name\":\"bad\",\"spec\":{\"cpus\":2}}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "bad/config.json: the machine has no kernel (nor a disk") != NULL);
    write_config("bad", "{\"version\":2,\"name\":\"bad\"}");
    CHECK_EQ(machine_config_load("bad", &mc, &e), -EINVAL);
    CHECK(strstr(e.msg, "a machine spec is a JSON object") != NULL);
    CHECK(machine_remove("bad", NULL) == 0);
}

/* Every spec field through machine_config_save and machine_config_load,
 * for each network mode. */
static void v2_config_round_trips_every_field(void)
{
    const char *nets[] = { "user,restrict=on,mtu=9000", "tap=hostel0", "none" };
    for (int n = 0; n < 3; n++) {
        if (n == 0 && !net_user_available()) {
            printf("  (user networking skipped: built without libslirp)\n");
            continue;
        }
        struct machine_config mc;
        struct err e = ERR_INIT;
        memset(&mc, 0, sizeof(mc));
        snprintf(mc.name, sizeof(mc.name), "every-%d", n);
        mc.created = 1733000000 + n;
        struct machine_spec *s = &mc.spec;
        spec_defaults(s);
        s->appliance = strdup("/apps/tiny");
        s->set |= SPEC_APPLIANCE;
        CHECK_EQ(set(s, "kernel", "/boot/vmlinuz-6.1"), 0);
        CHECK_EQ(set(s, "initrd", "/boot/initrd.img-6.1"), 0);
        CHECK_EQ(set(s, "cmdline", "console=ttyS0 init=\"/bin/sh\" path=C:\\dos"), 0);
        CHECK_EQ(set(s, "cpus", "4"), 0);
        CHECK_EQ(set(s, "memory", "3G"), 0);
        CHECK_EQ(set(s, "engine", "kvm"), 0);
        CHECK_EQ(set(s, "serial", "file:/tmp/hostel console.log"), 0);
        CHECK_EQ(set(s, "console", "virtio"), 0);
        CHECK_EQ(set(s, "rng", "off"), 0);
        CHECK_EQ(set(s, "no-reboot", "on"), 0);
        CHECK_EQ(set(s, "watchdog", "45"), 0);
        CHECK_EQ(set(s, "disk", "/images/root.qcow2,format=qcow2,readonly=on"), 0);
        CHECK_EQ(set(s, "disk", "/images/data.img,format=raw"), 0);
        CHECK_EQ(set(s, "disk", "own.img"), 0);              /* in the machine folder */
        CHECK_EQ(set(s, "disk", "size=8G"), 0);              /* blank */
        CHECK_EQ(set(s, "disk", "size=100M,format=qcow2"), 0);
        CHECK_EQ(set(s, "net", nets[n]), 0);
        if (n == 0) {
            CHECK_EQ(set(s, "forward", "tcp:2222:22"), 0);
            CHECK_EQ(set(s, "forward", "udp:0.0.0.0:5353:53"), 0);
            CHECK_EQ(set(s, "forward", "tcp:0:80"), 0);
        }
        CHECK_EQ(set(s, "mac", "52:54:00:aa:bb:0c"), 0);
        machine_new_id(mc.id);
        CHECK_EQ(machine_create(&mc, &e), 0);
        struct machine_config back;
        CHECK_EQ(machine_config_load(mc.name, &back, &e), 0);
        if (err_is_set(&e))
            printf("  %s: %s\n", nets[n], e.msg);
        CHECK(!strcmp(back.name, mc.name));
        CHECK(!strcmp(back.id, mc.id));
        CHECK_EQ(back.created, mc.created);
        check_same_spec(&mc.spec, &back.spec);
        /* A second save of what was loaded writes the same file. */
        char path[4096];
        machine_path(mc.name, "config.json", path, sizeof(path));
        struct file_buf first, second;
        CHECK_EQ(file_read_all(path, &first), 0);
        CHECK_EQ(machine_config_save(&back, &e), 0);
        CHECK_EQ(file_read_all(path, &second), 0);
        CHECK_EQ(first.len, second.len);
        CHECK(first.len == second.len && !memcmp(first.data, second.data, first.len));
        file_buf_free(&first);
        file_buf_free(&second);
        /* Running it: the machine's own disks get the folder's path. */
        CHECK_EQ(machine_spec_resolve(mc.name, &back.spec, &e), 0);
        CHECK(str_eq(back.spec.disks[0].path, "/images/root.qcow2"));
        machine_path(mc.name, "own.img", path, sizeof(path));
        CHECK(str_eq(back.spec.disks[2].path, path));
        CHECK(back.spec.disks[3].path == NULL);
        machine_config_free(&back);
        machine_config_free(&mc);
        CHECK(machine_remove(mc.name, NULL) == 0);
    }
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
    RUN_TEST(v1_config_loads_and_converts);
    RUN_TEST(v1_config_from_an_appliance);
    RUN_TEST(bad_configs_are_named);
    RUN_TEST(v2_config_round_trips_every_field);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
    if (system(cmd)) { }
    return CHECK_DONE();
}
