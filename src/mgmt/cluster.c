/* Cluster definitions: the cluster file (read with libyaml, so every node
 * knows its line and a JSON file reads as well as a YAML one), its
 * normalized JSON form in the cluster's folder, the switch configuration it
 * gives, and what both the CLI and the cluster daemon do to a cluster's
 * machines (stop them, remove them) and to its control socket. */
#include "mgmt/cluster.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/file.h"
#include "lib/home.h"
#include "lib/size.h"

/* ---- reading the file --------------------------------------------------- */

struct ctx {
    yaml_document_t *doc;
    const char *file;
    struct err *e;
};

static yaml_node_t *node(struct ctx *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

static int line_of(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

static int fail(struct ctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct ctx *c, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(c->e, -EINVAL, "%s:%d: %s: %s", c->file, line_of(n), path, msg);
}

static bool is_null(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* A scalar's text; NULL (with e set) for a list or a mapping. */
static const char *scalar(struct ctx *c, const yaml_node_t *n, const char *path)
{
    if (n->type != YAML_SCALAR_NODE) {
        fail(c, n, path, "expected a single value, found a %s",
             n->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        return NULL;
    }
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        fail(c, n, path, "a NUL character in the value");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static int get_bool(struct ctx *c, const yaml_node_t *n, const char *path, bool *out)
{
    const char *v = scalar(c, n, path);
    if (!v)
        return -EINVAL;
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off")) {
        *out = false;
        return 0;
    }
    return fail(c, n, path, "'%s' is not true or false", v);
}

static int get_int(struct ctx *c, const yaml_node_t *n, const char *path, long lo, long hi,
                   long *out)
{
    const char *v = scalar(c, n, path);
    if (!v)
        return -EINVAL;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return fail(c, n, path, "'%s' is not a whole number from %ld to %ld", v, lo, hi);
    *out = x;
    return 0;
}

static int check_keys(struct ctx *c, const yaml_node_t *map, const char *path,
                      const char *const *known)
{
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, map, path, "expected a mapping of keys (%s, ...)", known[0]);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(c, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            return fail(c, k, path, "a key must be a plain word");
        const char *key = (const char *)k->data.scalar.value;
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok |= !strcmp(key, known[i]);
        if (!ok) {
            char list[400] = "";
            for (int i = 0; known[i]; i++)
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                         i ? ", " : "", known[i]);
            return fail(c, k, path, "unknown key '%s' (known: %s)", key, list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = node(c, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE &&
                !strcmp((const char *)k2->data.scalar.value, key))
                return fail(c, k, path, "'%s' is given twice (also on line %d)", key,
                            line_of(k2));
        }
    }
    return 0;
}

/* The value of key in map, or NULL (also for an explicit null). */
static yaml_node_t *get(struct ctx *c, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(c, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key)) {
            yaml_node_t *v = node(c, p->value);
            return is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

static char *path_of(char *buf, size_t len, const char *base, const char *key)
{
    snprintf(buf, len, "%s%s%s", base, *base ? "." : "", key);
    return buf;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *const MACHINE_KEYS[] = { "name", "count", "appliance", "memory", "cpus",
                                            "engine", "disk_size", "address", "mac", "ready",
                                            NULL };
static const char *const DEFAULT_KEYS[] = { "appliance", "memory", "cpus", "engine",
                                            "disk_size", "ready", NULL };

/* The settings a machine entry (or "defaults") gives, over what m has. */
static int machine_settings(struct ctx *c, const yaml_node_t *map, const char *base,
                            struct cluster_machine *m)
{
    char p[128];
    yaml_node_t *v;
    const char *s;
    if ((v = get(c, map, "appliance"))) {
        if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "appliance"))))
            return -EINVAL;
        if (!*s)
            return fail(c, v, p, "name an appliance (such as tiny) or its folder");
        free(m->appliance);
        m->appliance = strdup(s);
    }
    if ((v = get(c, map, "memory"))) {
        if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "memory"))))
            return -EINVAL;
        if (parse_size(s, &m->memory) < 0 || m->memory < SPEC_MIN_MEMORY ||
            m->memory > SPEC_MAX_MEMORY)
            return fail(c, v, p, "'%s' is not a memory size from 16M to 1T (write 256M, 1G)", s);
    }
    if ((v = get(c, map, "disk_size"))) {
        if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "disk_size"))))
            return -EINVAL;
        if (parse_size(s, &m->disk_size) < 0 || m->disk_size < (1 << 20))
            return fail(c, v, p, "'%s' is not a disk size (write 1G)", s);
    }
    if ((v = get(c, map, "cpus"))) {
        long n;
        if (get_int(c, v, path_of(p, sizeof(p), base, "cpus"), 1, SPEC_MAX_CPUS, &n) < 0)
            return -EINVAL;
        m->cpus = (int)n;
    }
    if ((v = get(c, map, "engine"))) {
        if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "engine"))))
            return -EINVAL;
        if (strcmp(s, "auto") && strcmp(s, "kvm") && strcmp(s, "emu"))
            return fail(c, v, p, "'%s': choose auto, kvm or emu", s);
        free(m->engine);
        m->engine = strdup(s);
    }
    if ((v = get(c, map, "ready"))) {
        if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "ready"))))
            return -EINVAL;
        if (!*s)
            return fail(c, v, p, "give the console text that shows the machine is up");
        free(m->ready);
        m->ready = strdup(s);
    }
    return 0;
}

static void machine_copy(struct cluster_machine *dst, const struct cluster_machine *src)
{
    *dst = *src;
    dst->appliance = dup_or_null(src->appliance);
    dst->engine = dup_or_null(src->engine);
    dst->ready = dup_or_null(src->ready);
}

static void machine_free(struct cluster_machine *m)
{
    free(m->appliance);
    free(m->engine);
    free(m->ready);
    memset(m, 0, sizeof(*m));
}

static uint32_t net_size(const struct cluster_def *d)
{
    return 1u << (32 - d->prefix);
}

/* Which problem an address has on this network, or NULL. */
static const char *address_problem(const struct cluster_def *d, uint32_t ip)
{
    uint32_t mask = 0xffffffffu << (32 - d->prefix);
    if ((ip & mask) != d->network)
        return "is not on the cluster's network";
    if (ip == d->network)
        return "is the network's own address";
    if (ip == (d->network | ~mask))
        return "is the network's broadcast address";
    if (ip == d->network + 1)
        return "is the switch's (DHCP, DNS and gateway)";
    return NULL;
}

static int parse_machines(struct ctx *c, const yaml_node_t *list, struct cluster_def *d,
                          const struct cluster_machine *defaults, int *lines)
{
    if (list->type != YAML_SEQUENCE_NODE)
        return fail(c, list, "machines", "expected a list of machines");
    int idx = 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++, idx++) {
        yaml_node_t *m = node(c, *it);
        char base[64], p[128];
        snprintf(base, sizeof(base), "machines[%d]", idx);
        if (!m || check_keys(c, m, base, MACHINE_KEYS) < 0)
            return -EINVAL;
        yaml_node_t *nv = get(c, m, "name");
        if (!nv)
            return fail(c, m, base, "every machine needs a \"name\"");
        const char *name = scalar(c, nv, path_of(p, sizeof(p), base, "name"));
        if (!name)
            return -EINVAL;
        struct err ne = ERR_INIT;
        if (machine_name_check(name, &ne) < 0 || net_switch_name_check(name, "name", &ne) < 0)
            return fail(c, nv, p, "%s", ne.msg);
        long count = 1;
        yaml_node_t *cv = get(c, m, "count");
        if (cv && get_int(c, cv, path_of(p, sizeof(p), base, "count"), 1, CLUSTER_MAX_MACHINES,
                          &count) < 0)
            return -EINVAL;
        struct cluster_machine proto;
        machine_copy(&proto, defaults);
        proto.ip = 0;
        memset(proto.mac, 0, 6);
        if (machine_settings(c, m, base, &proto) < 0) {
            machine_free(&proto);
            return -EINVAL;
        }
        yaml_node_t *av = get(c, m, "address"), *mv = get(c, m, "mac");
        if (count > 1 && (av || mv)) {
            machine_free(&proto);
            return fail(c, av ? av : mv, path_of(p, sizeof(p), base, av ? "address" : "mac"),
                        "a machine with a count gets addresses and MACs of its own: give "
                        "none, or list the machines one by one");
        }
        if (av) {
            const char *s = scalar(c, av, path_of(p, sizeof(p), base, "address"));
            const char *why;
            if (!s || switch_parse_ip(s, &proto.ip) < 0) {
                machine_free(&proto);
                return s ? fail(c, av, p, "'%s' is not an IPv4 address", s) : -EINVAL;
            }
            if ((why = address_problem(d, proto.ip))) {
                machine_free(&proto);
                return fail(c, av, p, "%s %s", s, why);
            }
        }
        if (mv) {
            const char *s = scalar(c, mv, path_of(p, sizeof(p), base, "mac"));
            if (!s || net_parse_mac(s, proto.mac) < 0) {
                machine_free(&proto);
                return s ? fail(c, mv, p, "'%s' is not a unicast MAC address such as "
                                "52:54:00:12:34:56", s) : -EINVAL;
            }
        }
        if (!proto.appliance) {
            machine_free(&proto);
            return fail(c, m, base, "machine '%s' needs an \"appliance\" (here or in "
                        "\"defaults\")", name);
        }
        for (long k = 1; k <= count; k++) {
            if (d->nmachines == CLUSTER_MAX_MACHINES) {
                machine_free(&proto);
                return fail(c, m, base, "a cluster has at most %d machines",
                            CLUSTER_MAX_MACHINES);
            }
            struct cluster_machine *cm = &d->machines[d->nmachines];
            machine_copy(cm, &proto);
            int n = count > 1 ? snprintf(cm->name, sizeof(cm->name), "%s%ld", name, k)
                              : snprintf(cm->name, sizeof(cm->name), "%s", name);
            if (n >= (int)sizeof(cm->name)) {
                machine_free(cm);
                machine_free(&proto);
                return fail(c, nv, path_of(p, sizeof(p), base, "name"), "'%s' with its number "
                            "is longer than %d characters", name, MACHINE_NAME_MAX);
            }
            for (int j = 0; j < d->nmachines; j++) {
                if (!strcasecmp(d->machines[j].name, cm->name)) {
                    machine_free(cm);
                    machine_free(&proto);
                    return fail(c, nv, path_of(p, sizeof(p), base, "name"), "a machine "
                                "named '%s' is already declared on line %d", name, lines[j]);
                }
                if (cm->ip && d->machines[j].ip == cm->ip) {
                    machine_free(cm);
                    machine_free(&proto);
                    return fail(c, av, path_of(p, sizeof(p), base, "address"), "machine '%s' "
                                "on line %d has this address already", d->machines[j].name,
                                lines[j]);
                }
                if (mv && !memcmp(d->machines[j].mac, cm->mac, 6)) {
                    machine_free(cm);
                    machine_free(&proto);
                    return fail(c, mv, path_of(p, sizeof(p), base, "mac"), "machine '%s' on "
                                "line %d has this MAC already", d->machines[j].name, lines[j]);
                }
            }
            if (!strcasecmp(cm->name, SWITCH_SERVICE)) {
                machine_free(cm);
                machine_free(&proto);
                return fail(c, nv, path_of(p, sizeof(p), base, "name"), "'%s' is the name of "
                            "the switch's own host: choose another", SWITCH_SERVICE);
            }
            lines[d->nmachines] = line_of(m);
            d->nmachines++;
        }
        machine_free(&proto);
    }
    return 0;
}

static int parse_forwards(struct ctx *c, const yaml_node_t *list, struct cluster_def *d)
{
    static const char *const keys[] = { "machine", "guest", "host", "proto", "address", NULL };
    if (list->type != YAML_SEQUENCE_NODE)
        return fail(c, list, "forwards", "expected a list of forwards");
    int idx = 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++, idx++) {
        yaml_node_t *f = node(c, *it);
        char base[64], p[128];
        snprintf(base, sizeof(base), "forwards[%d]", idx);
        if (!f || check_keys(c, f, base, keys) < 0)
            return -EINVAL;
        if (d->nforwards == NET_MAX_FORWARDS)
            return fail(c, f, base, "at most %d forwards", NET_MAX_FORWARDS);
        struct switch_forward *sf = &d->forwards[d->nforwards];
        memset(sf, 0, sizeof(*sf));
        sf->f.host_addr = htonl(0x7f000001);
        yaml_node_t *v = get(c, f, "machine");
        if (!v)
            return fail(c, f, base, "a forward needs the \"machine\" it goes to");
        const char *s = scalar(c, v, path_of(p, sizeof(p), base, "machine"));
        if (!s)
            return -EINVAL;
        int mi = cluster_find_machine(d, s);
        if (mi < 0)
            return fail(c, v, p, "no machine named '%s' in this cluster", s);
        const char *canon = d->machines[mi].name;   /* as the machine spells it */
        size_t cl = strnlen(canon, sizeof(sf->machine) - 1);
        memcpy(sf->machine, canon, cl);
        sf->machine[cl] = 0;
        long n;
        if (!(v = get(c, f, "guest")))
            return fail(c, f, base, "a forward needs the \"guest\" port");
        if (get_int(c, v, path_of(p, sizeof(p), base, "guest"), 1, 65535, &n) < 0)
            return -EINVAL;
        sf->f.guest_port = (uint16_t)n;
        if ((v = get(c, f, "host"))) {
            if (get_int(c, v, path_of(p, sizeof(p), base, "host"), 0, 65535, &n) < 0)
                return -EINVAL;
            sf->f.host_port = (uint16_t)n;
        }
        if ((v = get(c, f, "proto"))) {
            if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "proto"))))
                return -EINVAL;
            if (strcmp(s, "tcp") && strcmp(s, "udp"))
                return fail(c, v, p, "'%s': choose tcp or udp", s);
            sf->f.udp = !strcmp(s, "udp");
        }
        if ((v = get(c, f, "address"))) {
            if (!(s = scalar(c, v, path_of(p, sizeof(p), base, "address"))))
                return -EINVAL;
            uint32_t a;
            if (switch_parse_ip(s, &a) < 0)
                return fail(c, v, p, "'%s' is not an IPv4 address of this host (127.0.0.1, "
                            "0.0.0.0)", s);
            sf->f.host_addr = htonl(a);
        }
        for (int j = 0; j < d->nforwards; j++)
            if (d->forwards[j].f.udp == sf->f.udp && d->forwards[j].f.host_port &&
                d->forwards[j].f.host_port == sf->f.host_port)
                return fail(c, f, base, "host port %u is forwarded twice", sf->f.host_port);
        d->nforwards++;
    }
    return 0;
}

/* Addresses for machines that did not give one: .11, .12, ... (or from .2
 * on a small network), below the pool kept for machines that join ad hoc. */
static int assign_addresses(struct ctx *c, const yaml_node_t *root, struct cluster_def *d)
{
    uint32_t size = net_size(d);
    uint32_t first = size > 64 ? CLUSTER_FIRST_HOST : 2;
    uint32_t next = d->network + first;
    for (int i = 0; i < d->nmachines; i++) {
        struct cluster_machine *m = &d->machines[i];
        if (!m->mac[0] && !m->mac[1] && !m->mac[2])
            switch_machine_mac(d->name, m->name, m->mac);
        if (m->ip)
            continue;
        for (;;) {
            if (next >= d->network + size - 1)
                return fail(c, root, "network", "too small for %d machines", d->nmachines);
            bool taken = false;
            for (int j = 0; j < d->nmachines; j++)
                taken |= d->machines[j].ip == next;
            if (!taken)
                break;
            next++;
        }
        m->ip = next++;
    }
    for (int i = 0; i < d->nforwards; i++) {
        int k = cluster_find_machine(d, d->forwards[i].machine);
        d->forwards[i].f.guest_addr = htonl(d->machines[k].ip);
    }
    return 0;
}

int cluster_def_parse(const char *text, size_t len, const char *name, struct cluster_def *d,
                      struct err *e)
{
    static const char *const keys[] = { "name", "network", "nat", "machines", "forwards",
                                        "defaults", NULL };
    memset(d, 0, sizeof(*d));
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return err_set(e, -ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int r = err_set(e, -EINVAL, "%s:%d: %s%s%s", name, (int)parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "cannot be read",
                        parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return r;
    }
    struct ctx c = { &doc, name, e };
    int *lines = calloc(CLUSTER_MAX_MACHINES, sizeof(int));
    struct cluster_machine defaults;
    memset(&defaults, 0, sizeof(defaults));
    int r = -EINVAL;
    yaml_node_t *root = yaml_document_get_root_node(&doc), *v;
    const char *s;
    if (!lines) {
        r = err_set(e, -ENOMEM, "%s: out of memory", name);
        goto out;
    }
    if (!root) {
        err_set(e, -EINVAL, "%s: the file is empty: give at least \"name\" and \"machines\"",
                name);
        goto out;
    }
    if (check_keys(&c, root, "(top)", keys) < 0)
        goto out;
    if (!(v = get(&c, root, "name"))) {
        fail(&c, root, "name", "the cluster needs a \"name\"");
        goto out;
    }
    if (!(s = scalar(&c, v, "name")))
        goto out;
    struct err ne = ERR_INIT;
    if (net_switch_name_check(s, "cluster name", &ne) < 0) {
        fail(&c, v, "name", "%s", ne.msg);
        goto out;
    }
    snprintf(d->name, sizeof(d->name), "%s", s);
    if ((v = get(&c, root, "network"))) {
        if (!(s = scalar(&c, v, "network")))
            goto out;
        if (switch_parse_cidr(s, &d->network, &d->prefix) < 0) {
            fail(&c, v, "network", "'%s' is not an IPv4 network such as 10.10.0.0/24 "
                 "(prefix 8 to 30, no host bits)", s);
            goto out;
        }
    } else {
        switch_parse_cidr("10.10.0.0/24", &d->network, &d->prefix);
    }
    if ((v = get(&c, root, "nat")) && get_bool(&c, v, "nat", &d->nat) < 0)
        goto out;
    if ((v = get(&c, root, "defaults"))) {
        if (check_keys(&c, v, "defaults", DEFAULT_KEYS) < 0 ||
            machine_settings(&c, v, "defaults", &defaults) < 0)
            goto out;
    }
    if (!(v = get(&c, root, "machines"))) {
        fail(&c, root, "machines", "the cluster needs a list of \"machines\" (it may be "
             "empty: [])");
        goto out;
    }
    if (parse_machines(&c, v, d, &defaults, lines) < 0)
        goto out;
    if ((v = get(&c, root, "forwards")) && parse_forwards(&c, v, d) < 0)
        goto out;
    if (assign_addresses(&c, get(&c, root, "network") ? get(&c, root, "network") : root, d) < 0)
        goto out;
    r = 0;
out:
    machine_free(&defaults);
    free(lines);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (r < 0)
        cluster_def_free(d);
    return r;
}

int cluster_def_load_file(const char *path, struct cluster_def *d, struct err *e)
{
    struct file_buf b;
    int r = file_read_all(path, &b);
    if (r < 0)
        return err_set(e, r, "cannot read cluster file %s: %s", path, strerror(-r));
    if (b.len > (4 << 20)) {
        file_buf_free(&b);
        return err_set(e, -EFBIG, "%s: larger than 4 MiB: not a cluster file", path);
    }
    r = cluster_def_parse((const char *)b.data, b.len, path, d, e);
    file_buf_free(&b);
    if (r == 0) {
        char *abs = realpath(path, NULL);
        d->source = abs ? abs : strdup(path);
    }
    return r;
}

void cluster_def_free(struct cluster_def *d)
{
    for (int i = 0; i < d->nmachines; i++)
        machine_free(&d->machines[i]);
    free(d->source);
    d->source = NULL;
    d->nmachines = 0;
}

int cluster_find_machine(const struct cluster_def *d, const char *machine)
{
    for (int i = 0; i < d->nmachines; i++)
        if (!strcasecmp(d->machines[i].name, machine))
            return i;
    return -1;
}

/* ---- the normalized form ------------------------------------------------ */

json_t *cluster_def_to_json(const struct cluster_def *d)
{
    char b[64];
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(1));
    json_object_set_new(o, "name", json_string(d->name));
    switch_format_ip(d->network, b, sizeof(b));
    snprintf(b + strlen(b), sizeof(b) - strlen(b), "/%d", d->prefix);
    json_object_set_new(o, "network", json_string(b));
    json_object_set_new(o, "nat", json_boolean(d->nat));
    if (d->source)
        json_object_set_new(o, "source", json_string(d->source));
    json_t *ms = json_array();
    for (int i = 0; i < d->nmachines; i++) {
        const struct cluster_machine *m = &d->machines[i];
        json_t *jm = json_object();
        json_object_set_new(jm, "name", json_string(m->name));
        json_object_set_new(jm, "appliance", json_string(m->appliance));
        if (m->memory) {
            format_size(m->memory, b, sizeof(b));
            json_object_set_new(jm, "memory", json_string(b));
        }
        if (m->disk_size) {
            format_size(m->disk_size, b, sizeof(b));
            json_object_set_new(jm, "disk_size", json_string(b));
        }
        if (m->cpus)
            json_object_set_new(jm, "cpus", json_integer(m->cpus));
        if (m->engine)
            json_object_set_new(jm, "engine", json_string(m->engine));
        if (m->ready)
            json_object_set_new(jm, "ready", json_string(m->ready));
        switch_format_ip(m->ip, b, sizeof(b));
        json_object_set_new(jm, "address", json_string(b));
        snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m->mac[0], m->mac[1],
                 m->mac[2], m->mac[3], m->mac[4], m->mac[5]);
        json_object_set_new(jm, "mac", json_string(b));
        json_array_append_new(ms, jm);
    }
    json_object_set_new(o, "machines", ms);
    json_t *fs = json_array();
    for (int i = 0; i < d->nforwards; i++) {
        const struct switch_forward *f = &d->forwards[i];
        uint32_t ha = ntohl(f->f.host_addr);
        switch_format_ip(ha, b, sizeof(b));
        json_array_append_new(fs, json_pack("{s:s, s:s, s:s, s:i, s:i}", "machine", f->machine,
                                            "proto", f->f.udp ? "udp" : "tcp", "address", b,
                                            "host", f->f.host_port, "guest", f->f.guest_port));
    }
    json_object_set_new(o, "forwards", fs);
    return o;
}

/* The normalized form is the file's form too: read it with the same parser,
 * so the rules (and the messages) are the same. */
int cluster_def_from_json(json_t *o, struct cluster_def *d, struct err *e)
{
    json_t *copy = json_deep_copy(o);
    if (!copy)
        return err_set(e, -ENOMEM, "out of memory");
    const char *src = json_string_value(json_object_get(copy, "source"));
    char *source = src ? strdup(src) : NULL;
    json_object_del(copy, "source");
    json_object_del(copy, "version");
    char *text = json_dumps(copy, JSON_INDENT(1));
    json_decref(copy);
    if (!text) {
        free(source);
        return err_set(e, -ENOMEM, "out of memory");
    }
    int r = cluster_def_parse(text, strlen(text), CLUSTER_DEF_FILE, d, e);
    free(text);
    if (r == 0)
        d->source = source;
    else
        free(source);
    return r;
}

int cluster_path(const char *name, const char *file, char *buf, size_t len)
{
    return net_switch_path(name, file, buf, len);
}

int cluster_def_save(const struct cluster_def *d, struct err *e)
{
    char dir[4096], path[4200];
    int r = cluster_path(d->name, NULL, dir, sizeof(dir));
    if (r < 0 || (r = file_mkdir_p(dir)) < 0)
        return err_set(e, r, "cannot create the cluster's folder %s: %s", dir, strerror(-r));
    snprintf(path, sizeof(path), "%s/%s", dir, CLUSTER_DEF_FILE);
    json_t *o = cluster_def_to_json(d);
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!text)
        return err_set(e, -ENOMEM, "out of memory");
    size_t len = strlen(text);
    char *t = realloc(text, len + 2);
    if (!t) {
        free(text);
        return err_set(e, -ENOMEM, "out of memory");
    }
    strcpy(t + len, "\n");
    r = file_write_atomic(path, t, len + 1);
    free(t);
    return r < 0 ? err_set(e, r, "cannot write %s: %s", path, strerror(-r)) : 0;
}

int cluster_def_load(const char *name, struct cluster_def *d, struct err *e)
{
    char path[4096];
    memset(d, 0, sizeof(*d));
    struct err ne = ERR_INIT;
    if (net_switch_name_check(name, "cluster name", &ne) < 0)
        return err_set(e, -EINVAL, "%s", ne.msg);
    int r = cluster_path(name, CLUSTER_DEF_FILE, path, sizeof(path));
    if (r < 0)
        return err_set(e, r, "cluster %s: %s", name, strerror(-r));
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        if (access(path, F_OK) < 0)
            return err_set(e, -ENOENT, "no cluster named '%s' (see 'hostel cluster ls')", name);
        return err_set(e, -EINVAL, "%s:%d: %s", path, je.line, je.text);
    }
    r = cluster_def_from_json(o, d, e);
    json_decref(o);
    if (r < 0)
        return err_wrap(e, "cluster %s's definition is damaged", name);
    return 0;
}

void cluster_switch_config(const struct cluster_def *d, struct switch_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", d->name);
    c->network = d->network;
    c->prefix = d->prefix;
    c->service_ip = d->network + 1;
    uint32_t size = net_size(d);
    c->pool_first = d->network + size / 4 * 3;
    c->pool_last = d->network + size - 2;
    c->nhosts = d->nmachines;
    for (int i = 0; i < d->nmachines; i++) {
        snprintf(c->hosts[i].name, sizeof(c->hosts[i].name), "%s", d->machines[i].name);
        memcpy(c->hosts[i].mac, d->machines[i].mac, 6);
        c->hosts[i].ip = d->machines[i].ip;
    }
    c->nat = d->nat;
    c->nforwards = d->nforwards;
    memcpy(c->forwards, d->forwards, sizeof(d->forwards[0]) * (size_t)d->nforwards);
    c->lease_s = 86400;
}

static bool is_cluster(const char *name, void *opaque)
{
    (void)opaque;
    char f[4096];
    return net_switch_name_check(name, "cluster", NULL) == 0 &&
           cluster_path(name, CLUSTER_DEF_FILE, f, sizeof(f)) == 0 && access(f, F_OK) == 0;
}

int cluster_list(char ***names, int *count)
{
    return hostel_home_list("clusters", is_cluster, NULL, names, count);
}

bool cluster_up(const char *name)
{
    char path[4096];
    if (cluster_path(name, "lock", path, sizeof(path)) < 0)
        return false;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

bool cluster_of_spec(const struct machine_spec *s, char *name, size_t len)
{
    if (s->net_mode != NET_MODE_SWITCH || !s->net_switch)
        return false;
    return net_switch_parse(s->net_switch, name, len, NULL, 0, NULL) == 0;
}

/* ---- control sockets ------------------------------------------------------- */

json_t *cluster_socket_call(const char *path, json_t *req, int timeout_ms, struct err *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!line) {
        err_set(e, -ENOMEM, "out of memory");
        return NULL;
    }
    if (strlen(path) >= sizeof(sa.sun_path)) {
        free(line);
        err_set(e, -ENAMETOOLONG, "%s: too long for a Unix socket", path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        err_set(e, -errno, "cannot connect to %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(line);
        return NULL;
    }
    size_t len = strlen(line);
    line[len] = '\n';
    bool ok = send(fd, line, len + 1, MSG_NOSIGNAL) == (ssize_t)(len + 1);
    free(line);
    if (!ok) {
        err_set(e, -EIO, "cannot send to %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t cap = 65536, have = 0;
    char *buf = malloc(cap);
    json_t *reply = NULL;
    while (buf) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r = poll(&pfd, 1, timeout_ms);
        if (r <= 0) {
            err_set(e, -ETIMEDOUT, "no answer from %s within %d s", path, timeout_ms / 1000);
            break;
        }
        ssize_t n = recv(fd, buf + have, cap - have - 1, 0);
        if (n <= 0) {
            err_set(e, -EIO, "%s closed the connection without an answer", path);
            break;
        }
        have += (size_t)n;
        char *nl = memchr(buf, '\n', have);
        if (nl) {
            json_error_t je;
            reply = json_loadb(buf, (size_t)(nl - buf), 0, &je);
            if (!reply || !json_is_object(reply)) {
                json_decref(reply);
                reply = NULL;
                err_set(e, -EPROTO, "%s answered something that is not a JSON object", path);
            }
            break;
        }
        if (have + 1 == cap) {
            if (cap >= (64u << 20)) {
                err_set(e, -EFBIG, "%s: the answer is too long", path);
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf)
        err_set(e, -ENOMEM, "out of memory");
    free(buf);
    close(fd);
    return reply;
}

json_t *cluster_call(const char *name, json_t *req, struct err *e)
{
    char path[4096];
    if (cluster_path(name, CLUSTER_CONTROL_FILE, path, sizeof(path)) < 0) {
        json_decref(req);
        err_set(e, -EINVAL, "cluster %s: bad name", name);
        return NULL;
    }
    if (!cluster_up(name)) {
        json_decref(req);
        err_set(e, -ENOTCONN, "cluster '%s' is not up (start it with 'hostel cluster up')", name);
        return NULL;
    }
    /* "down" stops every machine first: allow for that. */
    return cluster_socket_call(path, req, 300000, e);
}

/* ---- machines of a cluster ------------------------------------------------- */

static pid_t machine_pid(const char *name)
{
    char path[4096], text[128] = "";
    if (machine_path(name, "state", path, sizeof(path)) < 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(text, sizeof(text), f))
        text[0] = 0;
    fclose(f);
    int pid = 0;
    if (sscanf(text, "running %d", &pid) == 1 || sscanf(text, "starting %d", &pid) == 1)
        return pid;
    return 0;
}

static void machine_op(const char *name, const char *op)
{
    char path[4096];
    if (machine_path(name, "control.sock", path, sizeof(path)) < 0)
        return;
    json_decref(cluster_socket_call(path, json_pack("{s:s}", "op", op), 5000, NULL));
}

static bool all_stopped(const struct cluster_def *d, const bool *mine)
{
    for (int i = 0; i < d->nmachines; i++)
        if (mine[i] && machine_lock_held(d->machines[i].name))
            return false;
    return true;
}

static void wait_stopped(const struct cluster_def *d, const bool *mine, int timeout_ms)
{
    for (int t = 0; t < timeout_ms && !all_stopped(d, mine); t += 100)
        usleep(100000);
}

int cluster_stop_machines(const struct cluster_def *d, int timeout_s)
{
    bool *mine = calloc((size_t)d->nmachines + 1, sizeof(bool));
    if (!mine)
        return -ENOMEM;
    for (int i = 0; i < d->nmachines; i++) {
        struct machine_config mc;
        char cl[SWITCH_NAME_MAX + 1];
        /* Only the cluster's own machines: a machine of the same name that
         * is on another network is not ours to stop. */
        if (machine_config_load(d->machines[i].name, &mc, NULL) < 0)
            continue;
        mine[i] = cluster_of_spec(&mc.spec, cl, sizeof(cl)) && !strcmp(cl, d->name) &&
                  machine_lock_held(d->machines[i].name);
        machine_config_free(&mc);
    }
    if (timeout_s > 0) {
        for (int i = 0; i < d->nmachines; i++)
            if (mine[i])
                machine_op(d->machines[i].name, "stop");
        wait_stopped(d, mine, timeout_s * 1000);
    }
    int killed = 0;
    for (int i = 0; i < d->nmachines; i++)
        if (mine[i] && machine_lock_held(d->machines[i].name)) {
            machine_op(d->machines[i].name, "kill");
            killed++;
        }
    wait_stopped(d, mine, 10000);
    for (int i = 0; i < d->nmachines; i++) {
        if (!mine[i] || !machine_lock_held(d->machines[i].name))
            continue;
        pid_t pid = machine_pid(d->machines[i].name);   /* a VMM that no longer listens */
        if (pid > 0)
            kill(pid, SIGKILL);
    }
    wait_stopped(d, mine, 5000);
    free(mine);
    return killed;
}

int cluster_remove(const struct cluster_def *d, struct err *e)
{
    int r = 0;
    for (int i = 0; i < d->nmachines; i++) {
        struct machine_config mc;
        char cl[SWITCH_NAME_MAX + 1];
        if (machine_config_load(d->machines[i].name, &mc, NULL) < 0)
            continue;
        bool mine = cluster_of_spec(&mc.spec, cl, sizeof(cl)) && !strcmp(cl, d->name);
        machine_config_free(&mc);
        if (!mine)
            continue;
        if (machine_lock_held(d->machines[i].name)) {
            r = err_set(e, -EBUSY, "machine '%s' still runs: not removed", d->machines[i].name);
            continue;
        }
        struct err me = ERR_INIT;
        if (machine_remove(d->machines[i].name, &me) < 0)
            r = err_set(e, me.code ? me.code : -EIO, "%s", me.msg);
    }
    char dir[4096];
    if (r == 0 && cluster_path(d->name, NULL, dir, sizeof(dir)) == 0) {
        int fr = file_remove_tree(dir);
        if (fr < 0 && fr != -ENOENT)      /* a daemon that removes it at the same time */
            r = err_set(e, fr, "cannot remove %s: %s", dir, strerror(-fr));
    }
    return r;
}
