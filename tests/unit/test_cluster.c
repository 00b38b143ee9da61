/* Cluster files: YAML and JSON read alike, defaults and counts, addresses
 * and MACs assigned, the normalized form read back the same, and every
 * malformed file refused with its line and key. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mgmt/cluster.h"

static int parse(const char *text, struct cluster_def *d, struct err *e)
{
    return cluster_def_parse(text, strlen(text), "c.yaml", d, e);
}

static void yaml_and_json_alike(void)
{
    static const char *yaml =
        "# a comment\n"
        "name: db\n"
        "network: 10.10.0.0/24\n"
        "machines:\n"
        "  - name: n1\n"
        "    appliance: tiny\n"
        "    memory: 256M\n"
        "  - {name: n2, appliance: tiny, cpus: 2, address: 10.10.0.50}\n"
        "forwards:\n"
        "  - {machine: n1, host: 0, guest: 5432}\n";
    static const char *json =
        "{ \"name\": \"db\", \"network\": \"10.10.0.0/24\",\n"
        "  \"machines\": [ {\"name\": \"n1\", \"appliance\": \"tiny\", \"memory\": \"256M\"},\n"
        "\t{\"name\": \"n2\", \"appliance\": \"tiny\", \"cpus\": 2, \"address\": \"10.10.0.50\"} ],\n"
        "  \"forwards\": [ {\"machine\": \"n1\", \"host\": 0, \"guest\": 5432} ] }\n";
    struct cluster_def a, b;
    struct err e = ERR_INIT;
    CHECK_EQ(parse(yaml, &a, &e), 0);
    CHECK_EQ(parse(json, &b, &e), 0);
    if (e.msg[0])
        printf("  %s\n", e.msg);
    CHECK(!strcmp(a.name, "db") && a.nmachines == 2 && b.nmachines == 2);
    CHECK_EQ(a.machines[0].ip, 0x0a0a000b);       /* .11 */
    CHECK_EQ(a.machines[1].ip, 0x0a0a0032);       /* as given */
    CHECK_EQ(a.machines[0].memory, 256 << 20);
    CHECK_EQ(a.machines[1].cpus, 2);
    CHECK_EQ(a.nforwards, 1);
    CHECK_EQ(a.forwards[0].f.guest_port, 5432);
    CHECK_EQ(a.forwards[0].f.guest_addr, htonl(0x0a0a000b));
    json_t *ja = cluster_def_to_json(&a), *jb = cluster_def_to_json(&b);
    CHECK(json_equal(ja, jb));
    struct cluster_def c;
    CHECK_EQ(cluster_def_from_json(ja, &c, &e), 0);   /* the normalized form reads back */
    json_t *jc = cluster_def_to_json(&c);
    CHECK(json_equal(ja, jc));
    json_decref(ja);
    json_decref(jb);
    json_decref(jc);
    cluster_def_free(&a);
    cluster_def_free(&b);
    cluster_def_free(&c);
}

static void defaults_and_counts(void)
{
    struct cluster_def d;
    struct err e = ERR_INIT;
    CHECK_EQ(parse("name: big\n"
                   "defaults: {appliance: tiny, memory: 128M}\n"
                   "machines:\n"
                   "  - {name: n, count: 20}\n"
                   "  - {name: db, memory: 1G, address: 10.10.0.12}\n", &d, &e), 0);
    CHECK_EQ(d.nmachines, 21);
    CHECK(!strcmp(d.machines[0].name, "n1") && !strcmp(d.machines[19].name, "n20"));
    CHECK_EQ(d.machines[0].ip, 0x0a0a000b);       /* default network 10.10.0.0/24 */
    CHECK_EQ(d.machines[1].ip, 0x0a0a000d);       /* .12 is db's */
    CHECK_EQ(d.machines[20].ip, 0x0a0a000c);
    CHECK_EQ(d.machines[5].memory, 128 << 20);
    CHECK_EQ(d.machines[20].memory, 1 << 30);
    CHECK(!strcmp(d.machines[3].appliance, "tiny"));
    CHECK(memcmp(d.machines[0].mac, d.machines[1].mac, 6) != 0);
    struct switch_config *c = calloc(1, sizeof(*c));
    cluster_switch_config(&d, c);
    CHECK_EQ(c->service_ip, 0x0a0a0001);
    CHECK_EQ(c->nhosts, 21);
    CHECK(c->pool_first > 0x0a0a000d + 20 && c->pool_last == 0x0a0a00fe);
    free(c);
    cluster_def_free(&d);
}

static void refused_with_line_and_key(void)
{
    static const struct { const char *text, *want; } cases[] = {
        { "name: db\nmachines:\n  - name: n1\n    appliance: tiny\n    memory: 12X\n",
          "c.yaml:5: machines[0].memory: '12X' is not a memory size" },
        { "name: db\nmachines:\n  - name: n1\n    appliance: tiny\n    memroy: 1G\n",
          "c.yaml:5: machines[0]: unknown key 'memroy'" },
        { "name: db\nmachnes: []\n", "c.yaml:2: (top): unknown key 'machnes'" },
        { "name: db\n", "c.yaml:1: machines: the cluster needs a list of \"machines\"" },
        { "machines: []\n", "c.yaml:1: name: the cluster needs a \"name\"" },
        { "name: d/b\nmachines: []\n", "c.yaml:1: name: cluster name 'd/b'" },
        { "name: db\nnetwork: 10.0.0.0/31\nmachines: []\n", "c.yaml:2: network: '10.0.0.0/31'" },
        { "name: db\nmachines:\n - {name: n1}\n", "c.yaml:3: machines[0]: machine 'n1' needs an \"appliance\"" },
        { "name: db\nmachines:\n - {name: n1, appliance: t}\n - {name: N1, appliance: t}\n",
          "c.yaml:4: machines[1].name: a machine named 'N1' is already declared on line 3" },
        { "name: db\nmachines:\n - {name: n1, appliance: t, address: 10.10.0.1}\n",
          "c.yaml:3: machines[0].address: 10.10.0.1 is the switch's" },
        { "name: db\nmachines:\n - {name: n1, appliance: t, address: 10.10.0.255}\n",
          "is the network's broadcast address" },
        { "name: db\nmachines:\n - {name: n1, appliance: t, mac: 01:00:5e:00:00:01}\n",
          "c.yaml:3: machines[0].mac: '01:00:5e:00:00:01' is not a unicast MAC" },
        { "name: db\nmachines:\n - {name: n, appliance: t, count: 2, address: 10.10.0.5}\n",
          "c.yaml:3: machines[0].address: a machine with a count" },
        { "name: db\nmachines:\n - {name: n1, appliance: t, cpus: [1]}\n",
          "c.yaml:3: machines[0].cpus: expected a single value, found a list" },
        { "name: db\nmachines:\n - {name: n1, appliance: t, cpus: 0}\n",
          "machines[0].cpus: '0' is not a whole number from 1 to 64" },
        { "name: db\nmachines:\n - {name: n1, appliance: t, engine: fast}\n",
          "machines[0].engine: 'fast': choose auto, kvm or emu" },
        { "name: db\nmachines:\n - {name: gateway, appliance: t}\n",
          "machines[0].name: 'gateway' is the name of the switch's own host" },
        { "name: db\nnat: maybe\nmachines: []\n", "c.yaml:2: nat: 'maybe' is not true or false" },
        { "name: db\nmachines: []\nforwards:\n - {machine: n1, guest: 22}\n",
          "c.yaml:4: forwards[0].machine: no machine named 'n1'" },
        { "name: db\nmachines: [{name: n1, appliance: t}]\nforwards:\n - {machine: n1, guest: 0}\n",
          "c.yaml:4: forwards[0].guest: '0' is not a whole number from 1 to 65535" },
        { "name: db\nmachines: [{name: n1, appliance: t}]\nforwards:\n - {machine: n1, guest: 1, proto: sctp}\n",
          "forwards[0].proto: 'sctp': choose tcp or udp" },
        { "name: db\nname: dc\nmachines: []\n", "c.yaml:2: (top): 'name' is given twice (also on line 1)" },
        { "name: db\nmachines: [\n", "c.yaml:3: " },
        { "", "c.yaml: the file is empty" },
        { "name: db\nnetwork: 10.10.0.0/29\nmachines: [{name: n, count: 6, appliance: t}]\n",
          "c.yaml:2: network: too small for 6 machines" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cluster_def d;
        struct err e = ERR_INIT;
        int r = parse(cases[i].text, &d, &e);
        if (r != -EINVAL || !strstr(e.msg, cases[i].want)) {
            printf("  case %zu: got %d \"%s\", expected \"%s\"\n", i, r, e.msg, cases[i].want);
            check_failed_now = 1;
        }
        if (r == 0)
            cluster_def_free(&d);
    }
}

int main(void)
{
    RUN_TEST(yaml_and_json_alike);
    RUN_TEST(defaults_and_counts);
    RUN_TEST(refused_with_line_and_key);
    return CHECK_DONE();
}
