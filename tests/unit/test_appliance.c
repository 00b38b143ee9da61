/* Unit tests for appliance manifests and archives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "block/block.h"
#include "board/spec.h"
#include "mgmt/appliance.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void folder_appliance_loads(void)
{
    char dir[128];
    struct err err = ERR_INIT;
    snprintf(dir, sizeof(dir), "%s/app", root);
    mkdir(dir, 0755);
    put("app/vmlinuz", "k");
    put("app/initrd.img", "i");
    put("app/disk.img", "d");
    put("app/appliance.json",
        "{\"format\":1,\"name\":\"t\",\"version\":\"2\",\"kernel\":\"vmlinuz\","
        "\"initrd\":\"initrd.img\",\"cmdline\":\"console=ttyS0\",\"cpus\":2,\"memory\":\"256M\","
        "\"disks\":[{\"file\":\"disk.img\",\"format\":\"raw\",\"readonly\":true}],"
        "\"forwards\":[\"tcp:2222:22\"]}");
    struct appliance a;
    CHECK_EQ(appliance_open(dir, &a, &err), 0);
    CHECK(!strcmp(a.name, "t"));
    CHECK_EQ(a.cpus, 2);
    CHECK_EQ(a.memory, 256ULL << 20);
    CHECK_EQ(a.ndisks, 1);
    CHECK(a.disks[0].readonly);
    CHECK(strstr(a.kernel, "/app/vmlinuz") != NULL);
    CHECK_EQ(a.nforwards, 1);
    /* As `hostel run` lays them: defaults, the appliance, then the flags
     * (--memory 1G --cmdline mine --disk extra.img). */
    struct machine_spec s, app, flags;
    struct err e = ERR_INIT;
    CHECK_EQ(appliance_spec(&a, &app, &e), 0);
    CHECK(app.set & SPEC_APPLIANCE);
    CHECK(app.appliance && !strcmp(app.appliance, a.dir));
    spec_defaults(&s);
    spec_init(&flags);
    CHECK_EQ(spec_set_option(&flags, "memory", "1G", &e), 0);
    CHECK_EQ(spec_set_option(&flags, "cmdline", "mine", &e), 0);
    CHECK_EQ(spec_set_option(&flags, "disk", "/images/extra.img", &e), 0);
    CHECK_EQ(spec_apply(&s, &app, &e), 0);
    CHECK_EQ(spec_apply(&s, &flags, &e), 0);
    CHECK_EQ(s.cpus, 2);                     /* from the appliance */
    CHECK_EQ(s.memory, 1ULL << 30);          /* --memory given: kept */
    CHECK(!strcmp(s.cmdline, "mine"));       /* --cmdline given: kept */
    CHECK(s.kernel && !strcmp(s.kernel, a.kernel));
    CHECK(s.initrd && !strcmp(s.initrd, a.initrd));
    /* The appliance's disks come first, then any --disk given. */
    CHECK_EQ(s.ndisks, 2);
    CHECK(s.disks[0].path && !strcmp(s.disks[0].path, a.disks[0].path));
    CHECK_EQ(s.disks[0].format, BLOCK_FORMAT_RAW);
    CHECK(s.disks[0].readonly);
    CHECK(s.disks[1].path && !strcmp(s.disks[1].path, "/images/extra.img"));
    CHECK(!s.disks[1].readonly);
    /* Its forwards bring user networking. */
    CHECK_EQ(s.net_mode, NET_MODE_USER);
    CHECK_EQ(s.nforwards, 1);
    CHECK_EQ(s.forwards[0].host_port, 2222);
    CHECK_EQ(s.forwards[0].guest_port, 22);
    /* Without the flags the appliance's own values stand. */
    spec_free(&s);
    spec_defaults(&s);
    CHECK_EQ(spec_apply(&s, &app, &e), 0);
    CHECK_EQ(s.memory, 256ULL << 20);
    CHECK(!strcmp(s.cmdline, "console=ttyS0"));
    CHECK_EQ(s.ndisks, 1);
    CHECK(!err_is_set(&e));
    spec_free(&s);
    spec_free(&flags);
    spec_free(&app);
    appliance_free(&a);
}

/* A forward the manifest spells wrong is reported when the appliance
 * becomes a spec, naming the appliance and the forward. */
static void bad_forward_is_named(void)
{
    char dir[128];
    struct err err = ERR_INIT;
    snprintf(dir, sizeof(dir), "%s/app", root);
    put("app/appliance.json",
        "{\"format\":1,\"name\":\"t\",\"kernel\":\"vmlinuz\",\"forwards\":[\"tcp:22\"]}");
    struct appliance a;
    CHECK_EQ(appliance_open(dir, &a, &err), 0);
    struct machine_spec l;
    struct err e = ERR_INIT;
    CHECK_EQ(appliance_spec(&a, &l, &e), -EINVAL);
    CHECK(strstr(e.msg, "tcp:22") != NULL);
    CHECK(strstr(e.msg, "/app") != NULL);
    CHECK(l.kernel == NULL && l.set == 0);   /* nothing left to free */
    appliance_free(&a);
    /* "net": "user" alone asks for user networking, with no forwards. */
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"vmlinuz\",\"net\":\"user\"}");
    CHECK_EQ(appliance_open(dir, &a, &err), 0);
    err_clear(&e);
    CHECK_EQ(appliance_spec(&a, &l, &e), 0);
    CHECK(l.set & SPEC_NET);
    CHECK_EQ(l.net_mode, NET_MODE_USER);
    CHECK_EQ(l.nforwards, 0);
    CHECK(!(l.set & SPEC_INITRD) && l.initrd == NULL);
    spec_free(&l);
    appliance_free(&a);
}

static void bad_manifests_are_named(void)
{
    char dir[128];
    struct err err = ERR_INIT;
    struct appliance a;
    snprintf(dir, sizeof(dir), "%s/app", root);
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"../../etc/passwd\"}");
    CHECK(appliance_open(dir, &a, &err) < 0);
    CHECK(strstr(err.msg, "inside the appliance") != NULL);
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"missing\"}");
    CHECK(appliance_open(dir, &a, &err) < 0);
    CHECK(strstr(err.msg, "missing") != NULL);
    put("app/appliance.json", "{\"format\":2,\"name\":\"t\"}");
    CHECK(appliance_open(dir, &a, &err) < 0);
    CHECK(strstr(err.msg, "format 1") != NULL);
    put("app/appliance.json", "{\"format\":1,");
    CHECK(appliance_open(dir, &a, &err) < 0);
    CHECK(strstr(err.msg, "appliance.json") != NULL);
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"vmlinuz\",\"cpus\":0}");
    CHECK(appliance_open(dir, &a, &err) < 0);
    CHECK(strstr(err.msg, "cpus") != NULL);
    CHECK(appliance_open("no-such-appliance-xyz", &a, &err) == -ENOENT);
    CHECK(strstr(err.msg, "no appliance named") != NULL);
}

static void tar_appliance_extracts_safely(void)
{
    char cmd[512], tar[128];
    struct err err = ERR_INIT;
    struct appliance a;
    put("app/appliance.json", "{\"format\":1,\"name\":\"packed\",\"kernel\":\"vmlinuz\"}");
    snprintf(tar, sizeof(tar), "%s/packed.tar", root);
    snprintf(cmd, sizeof(cmd), "tar -C %s/app -cf %s appliance.json vmlinuz", root, tar);
    CHECK_EQ(system(cmd), 0);
    CHECK_EQ(appliance_open(tar, &a, &err), 0);
    CHECK(a.name && !strcmp(a.name, "packed"));
    CHECK(a.kernel && access(a.kernel, R_OK) == 0);
    appliance_free(&a);
    /* A member that climbs out of the folder is refused. */
    snprintf(tar, sizeof(tar), "%s/evil.tar", root);
    snprintf(cmd, sizeof(cmd), "cd %s/app && tar -cf %s -P appliance.json ../app/vmlinuz", root, tar);
    CHECK_EQ(system(cmd), 0);
    CHECK(appliance_open(tar, &a, &err) < 0);
    CHECK(strstr(err.msg, "refusing") != NULL);
    snprintf(cmd, sizeof(cmd), "%s/escaped", root);
    CHECK(access(cmd, F_OK) != 0);
    /* Not a tar at all. */
    put("junk.tar", "this is not a tar archive, not even close; it is only text\n");
    snprintf(tar, sizeof(tar), "%s/junk.tar", root);
    CHECK(appliance_open(tar, &a, &err) < 0);
}

int main(void)
{
    snprintf(root, sizeof(root), "/tmp/hostel-app-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    setenv("HOSTEL_HOME", root, 1);
    RUN_TEST(folder_appliance_loads);
    RUN_TEST(bad_forward_is_named);
    RUN_TEST(bad_manifests_are_named);
    RUN_TEST(tar_appliance_extracts_safely);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd)) { }
    return CHECK_DONE();
}
