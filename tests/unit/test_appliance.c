/* Unit tests for appliance manifests and archives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mgmt/appliance.h"
#include "machine/vm.h"

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
    char dir[128], err[1024];
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
    CHECK_EQ(appliance_open(dir, &a, err, sizeof(err)), 0);
    CHECK(!strcmp(a.name, "t"));
    CHECK_EQ(a.cpus, 2);
    CHECK_EQ(a.memory, 256ULL << 20);
    CHECK_EQ(a.ndisks, 1);
    CHECK(a.disks[0].readonly);
    CHECK(strstr(a.kernel, "/app/vmlinuz") != NULL);
    CHECK_EQ(a.nforwards, 1);
    struct vm_config cfg = { .cpus = 1, .memory = 1ULL << 30, .cmdline = "mine" };
    appliance_apply(&a, &cfg, false, true);
    CHECK_EQ(cfg.cpus, 2);                   /* from the appliance */
    CHECK_EQ(cfg.memory, 1ULL << 30);        /* --memory given: kept */
    CHECK(!strcmp(cfg.cmdline, "mine"));     /* --cmdline given: kept */
    CHECK(cfg.kernel == a.kernel);
    appliance_free(&a);
}

static void bad_manifests_are_named(void)
{
    char dir[128], err[1024];
    struct appliance a;
    snprintf(dir, sizeof(dir), "%s/app", root);
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"../../etc/passwd\"}");
    CHECK(appliance_open(dir, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "inside the appliance") != NULL);
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"missing\"}");
    CHECK(appliance_open(dir, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "missing") != NULL);
    put("app/appliance.json", "{\"format\":2,\"name\":\"t\"}");
    CHECK(appliance_open(dir, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "format 1") != NULL);
    put("app/appliance.json", "{\"format\":1,");
    CHECK(appliance_open(dir, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "appliance.json") != NULL);
    put("app/appliance.json", "{\"format\":1,\"name\":\"t\",\"kernel\":\"vmlinuz\",\"cpus\":0}");
    CHECK(appliance_open(dir, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "cpus") != NULL);
    CHECK(appliance_open("no-such-appliance-xyz", &a, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "no appliance named") != NULL);
}

static void tar_appliance_extracts_safely(void)
{
    char cmd[512], tar[128], err[1024];
    struct appliance a;
    put("app/appliance.json", "{\"format\":1,\"name\":\"packed\",\"kernel\":\"vmlinuz\"}");
    snprintf(tar, sizeof(tar), "%s/packed.tar", root);
    snprintf(cmd, sizeof(cmd), "tar -C %s/app -cf %s appliance.json vmlinuz", root, tar);
    CHECK_EQ(system(cmd), 0);
    CHECK_EQ(appliance_open(tar, &a, err, sizeof(err)), 0);
    CHECK(a.name && !strcmp(a.name, "packed"));
    CHECK(a.kernel && access(a.kernel, R_OK) == 0);
    appliance_free(&a);
    /* A member that climbs out of the folder is refused. */
    snprintf(tar, sizeof(tar), "%s/evil.tar", root);
    snprintf(cmd, sizeof(cmd), "cd %s/app && tar -cf %s -P appliance.json ../app/vmlinuz", root, tar);
    CHECK_EQ(system(cmd), 0);
    CHECK(appliance_open(tar, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "refusing") != NULL);
    snprintf(cmd, sizeof(cmd), "%s/escaped", root);
    CHECK(access(cmd, F_OK) != 0);
    /* Not a tar at all. */
    put("junk.tar", "this is not a tar archive, not even close; it is only text\n");
    snprintf(tar, sizeof(tar), "%s/junk.tar", root);
    CHECK(appliance_open(tar, &a, err, sizeof(err)) < 0);
}

int main(void)
{
    snprintf(root, sizeof(root), "/tmp/hostel-app-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    setenv("HOSTEL_HOME", root, 1);
    RUN_TEST(folder_appliance_loads);
    RUN_TEST(bad_manifests_are_named);
    RUN_TEST(tar_appliance_extracts_safely);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd)) { }
    return CHECK_DONE();
}
