/* The machine spec (board/spec.h): layers, the option parser every command
 * shares, the checks, and the JSON form a machine's folder keeps. */
#include "board/spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/block.h"
#include "lib/size.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void replace_str(char **dst, const char *src)
{
    char *n = dup_or_null(src);
    free(*dst);
    *dst = n;
}

void spec_init(struct machine_spec *s)
{
    memset(s, 0, sizeof(*s));
}

void spec_defaults(struct machine_spec *s)
{
    spec_init(s);
    s->set = SPEC_CPUS | SPEC_MEMORY | SPEC_ENGINE | SPEC_SERIAL | SPEC_CONSOLE | SPEC_RNG |
             SPEC_NO_REBOOT | SPEC_WATCHDOG | SPEC_NET;
    s->cpus = 1;
    s->memory = 512ULL << 20;
    s->engine = strdup("auto");
    s->serial = strdup("stdio");
    s->rng = true;
    s->watchdog_s = 120;
    s->net_mode = NET_MODE_DEFAULT;
}

void spec_free(struct machine_spec *s)
{
    free(s->appliance);
    free(s->kernel);
    free(s->initrd);
    free(s->cmdline);
    free(s->engine);
    free(s->cpu);
    free(s->serial);
    free(s->tap);
    for (int i = 0; i < s->ndisks; i++)
        free(s->disks[i].path);
    spec_init(s);
}

int spec_copy(struct machine_spec *dst, const struct machine_spec *src)
{
    *dst = *src;
    dst->appliance = dup_or_null(src->appliance);
    dst->kernel = dup_or_null(src->kernel);
    dst->initrd = dup_or_null(src->initrd);
    dst->cmdline = dup_or_null(src->cmdline);
    dst->engine = dup_or_null(src->engine);
    dst->cpu = dup_or_null(src->cpu);
    dst->serial = dup_or_null(src->serial);
    dst->tap = dup_or_null(src->tap);
    for (int i = 0; i < src->ndisks; i++)
        dst->disks[i].path = dup_or_null(src->disks[i].path);
    return 0;
}

/* Adds f, or replaces the forward for the same protocol and guest port. */
static int add_forward(struct machine_spec *s, const struct net_forward *f, struct err *e)
{
    for (int i = 0; i < s->nforwards; i++) {
        if (net_forward_same_guest(&s->forwards[i], f)) {
            s->forwards[i] = *f;
            return 0;
        }
    }
    if (s->nforwards == NET_MAX_FORWARDS)
        return err_set(e, -EINVAL, "--forward: at most %d forwards", NET_MAX_FORWARDS);
    s->forwards[s->nforwards++] = *f;
    return 0;
}

int spec_apply(struct machine_spec *s, const struct machine_spec *l, struct err *e)
{
    if (s->ndisks + l->ndisks > SPEC_MAX_DISKS)
        return err_set(e, -EINVAL, "--disk: at most %d disks (%d given and %d from before)",
                       SPEC_MAX_DISKS, l->ndisks, s->ndisks);
    /* Forwards that will be added, not replaced: checked before anything
     * changes, so a refused layer leaves s as it was. */
    int kept = (l->set & SPEC_NET) && (l->net_mode == NET_MODE_NONE ||
                                       l->net_mode == NET_MODE_TAP) ? 0 : s->nforwards;
    int added = 0;
    for (int i = 0; i < l->nforwards; i++) {
        bool replaces = false;
        for (int j = 0; j < kept && !replaces; j++)
            replaces = net_forward_same_guest(&s->forwards[j], &l->forwards[i]);
        for (int j = 0; j < i && !replaces; j++)
            replaces = net_forward_same_guest(&l->forwards[j], &l->forwards[i]);
        added += !replaces;
    }
    if (kept + added > NET_MAX_FORWARDS)
        return err_set(e, -EINVAL, "--forward: at most %d forwards", NET_MAX_FORWARDS);
    if (l->set & SPEC_APPLIANCE)
        replace_str(&s->appliance, l->appliance);
    if (l->set & SPEC_KERNEL)
        replace_str(&s->kernel, l->kernel);
    if (l->set & SPEC_INITRD)
        replace_str(&s->initrd, l->initrd);
    if (l->set & SPEC_CMDLINE)
        replace_str(&s->cmdline, l->cmdline);
    if (l->set & SPEC_CPUS)
        s->cpus = l->cpus;
    if (l->set & SPEC_MEMORY)
        s->memory = l->memory;
    if (l->set & SPEC_ENGINE)
        replace_str(&s->engine, l->engine);
    if (l->set & SPEC_CPU)
        replace_str(&s->cpu, l->cpu);
    if (l->set & SPEC_SERIAL)
        replace_str(&s->serial, l->serial);
    if (l->set & SPEC_CONSOLE)
        s->virtio_console = l->virtio_console;
    if (l->set & SPEC_RNG)
        s->rng = l->rng;
    if (l->set & SPEC_NO_REBOOT)
        s->no_reboot = l->no_reboot;
    if (l->set & SPEC_WATCHDOG)
        s->watchdog_s = l->watchdog_s;
    if (l->set & SPEC_MAC)
        memcpy(s->mac, l->mac, 6);
    if (l->set & SPEC_NET) {
        s->net_mode = l->net_mode;
        s->net_restrict = l->net_restrict;
        replace_str(&s->tap, l->tap);
        if (l->net_mode == NET_MODE_NONE || l->net_mode == NET_MODE_TAP)
            s->nforwards = 0;   /* forwards need user networking: a new mode drops them */
    }
    for (int i = 0; i < l->nforwards; i++) {
        int r = add_forward(s, &l->forwards[i], e);
        if (r < 0)
            return r;
    }
    for (int i = 0; i < l->ndisks; i++) {
        s->disks[s->ndisks] = l->disks[i];
        s->disks[s->ndisks].path = dup_or_null(l->disks[i].path);
        s->ndisks++;
    }
    s->set |= l->set;
    return 0;
}

void spec_net_options(const struct machine_spec *s, struct net_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = s->net_mode;
    o->restrict_outbound = s->net_restrict;
    o->tap_name = s->tap;
    o->nforwards = s->nforwards;
    memcpy(o->forwards, s->forwards, sizeof(s->forwards[0]) * (size_t)s->nforwards);
    o->mac_set = s->set & SPEC_MAC;
    memcpy(o->mac, s->mac, 6);
}

int spec_check(const struct machine_spec *s, struct err *e)
{
    if (!s->kernel || !*s->kernel)
        return err_set(e, -EINVAL, "no kernel given: name an appliance or use --kernel PATH");
    if (s->cpus < 1 || s->cpus > SPEC_MAX_CPUS)
        return err_set(e, -EINVAL, "--cpus %d: give a number from 1 to %d", s->cpus,
                       SPEC_MAX_CPUS);
    if (s->memory < SPEC_MIN_MEMORY || s->memory > SPEC_MAX_MEMORY)
        return err_set(e, -EINVAL, "--memory %llu bytes: give between 16M and 1T",
                       (unsigned long long)s->memory);
    struct net_options o;
    spec_net_options(s, &o);
    enum net_mode m = net_effective_mode(&o);
    if (s->nforwards && m != NET_MODE_USER)
        return err_set(e, -EINVAL, "--forward needs user networking (--net user)");
    if (m == NET_MODE_USER && !net_user_available())
        return err_set(e, -ENOTSUP, "user networking needs libslirp, which this hostel was "
                       "built without: install libslirp-dev (scripts/deps.sh) and rebuild, or "
                       "use --net tap=NAME");
    return 0;
}

/* ---- option values ------------------------------------------------------ */

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* PATH[,format=raw|qcow2][,readonly=on|off], size=SIZE[,...], or a bare
 * size ("8G") when no such file exists. */
int spec_parse_disk(const char *text, struct spec_disk *d, struct err *e)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
        return err_set(e, -EINVAL, "--disk: '%.40s...' is too long", text);
    memset(d, 0, sizeof(*d));
    d->format = BLOCK_FORMAT_AUTO;
    const char *path = NULL;
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (!strncmp(item, "format=", 7)) {
            if (!strcmp(item + 7, "raw"))
                d->format = BLOCK_FORMAT_RAW;
            else if (!strcmp(item + 7, "qcow2"))
                d->format = BLOCK_FORMAT_QCOW2;
            else
                return err_set(e, -EINVAL, "--disk: format '%s': choose raw or qcow2", item + 7);
        } else if (!strncmp(item, "readonly=", 9)) {
            if (strcmp(item + 9, "on") && strcmp(item + 9, "off"))
                return err_set(e, -EINVAL, "--disk: readonly '%s': choose on or off", item + 9);
            d->readonly = !strcmp(item + 9, "on");
        } else if (!strncmp(item, "size=", 5)) {
            if (parse_size(item + 5, &d->size) < 0 || d->size < 512)
                return err_set(e, -EINVAL, "--disk: size '%s': give a size such as 8G", item + 5);
        } else if (!path && !strchr(item, '=')) {
            path = item;
        } else {
            return err_set(e, -EINVAL,
                           "--disk: cannot understand '%s' (PATH, format=, readonly=, size=)", item);
        }
    }
    uint64_t bare;
    if (path && !d->size && !strchr(path, '/') && !is_file(path) &&
        parse_size(path, &bare) == 0 && bare >= 512) {
        d->size = bare;    /* "--disk 8G": a blank disk */
        path = NULL;
    }
    if (path && d->size)
        return err_set(e, -EINVAL, "--disk: give either a PATH or size=, not both");
    if (!path && !d->size)
        return err_set(e, -EINVAL, "--disk: give an image PATH or size=SIZE");
    if (path && !(d->path = strdup(path)))
        return err_set(e, -ENOMEM, "out of memory");
    return 0;
}

void spec_format_disk(const struct spec_disk *d, char *buf, size_t len)
{
    char size[32] = "";
    if (!d->path)
        format_size(d->size, size, sizeof(size));
    snprintf(buf, len, "%s%s%s%s%s", d->path ? d->path : "size=", d->path ? "" : size,
             d->format == BLOCK_FORMAT_RAW ? ",format=raw"
             : d->format == BLOCK_FORMAT_QCOW2 ? ",format=qcow2" : "",
             d->readonly ? ",readonly=on" : "", "");
}

/* user[,restrict=on|off], tap=NAME or none. */
int spec_parse_net(const char *text, struct machine_spec *s, struct err *e)
{
    struct net_options o;
    memset(&o, 0, sizeof(o));
    int r = net_parse_mode(text, &o, e);
    if (r < 0)
        return r;
    if (o.mode == NET_MODE_USER && !net_user_available())
        return err_set(e, -ENOTSUP, "--net user: this hostel was built without libslirp: "
                       "install libslirp-dev (scripts/deps.sh) and rebuild, or use --net tap=NAME");
    s->net_mode = o.mode;
    s->net_restrict = o.restrict_outbound;
    replace_str(&s->tap, o.mode == NET_MODE_TAP ? o.tap_name : NULL);
    s->set |= SPEC_NET;
    return 0;
}

void spec_format_net(const struct machine_spec *s, char *buf, size_t len)
{
    switch (s->net_mode) {
    case NET_MODE_USER:
        snprintf(buf, len, "user%s", s->net_restrict ? ",restrict=on" : "");
        break;
    case NET_MODE_TAP:
        snprintf(buf, len, "tap=%s", s->tap ? s->tap : "");
        break;
    case NET_MODE_NONE:
        snprintf(buf, len, "none");
        break;
    default:
        snprintf(buf, len, "default");
        break;
    }
}

static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int on_off(const char *arg, bool *out)
{
    if (!strcmp(arg, "on"))
        *out = true;
    else if (!strcmp(arg, "off"))
        *out = false;
    else
        return -EINVAL;
    return 0;
}

int spec_set_option(struct machine_spec *s, const char *name, const char *arg, struct err *e)
{
    long v;
    if (!strcmp(name, "kernel") || !strcmp(name, "initrd") || !strcmp(name, "cmdline") ||
        !strcmp(name, "append")) {
        if (!strcmp(name, "kernel")) {
            replace_str(&s->kernel, arg);
            s->set |= SPEC_KERNEL;
        } else if (!strcmp(name, "initrd")) {
            replace_str(&s->initrd, arg);
            s->set |= SPEC_INITRD;
        } else {
            replace_str(&s->cmdline, arg);
            s->set |= SPEC_CMDLINE;
        }
        return 0;
    }
    if (!strcmp(name, "cpus")) {
        if (parse_count(arg, 1, SPEC_MAX_CPUS, &v) < 0)
            return err_set(e, -EINVAL, "--cpus '%s': give a number from 1 to %d", arg,
                           SPEC_MAX_CPUS);
        s->cpus = (int)v;
        s->set |= SPEC_CPUS;
        return 0;
    }
    if (!strcmp(name, "memory")) {
        uint64_t m;
        if (parse_size(arg, &m) < 0)
            return err_set(e, -EINVAL, "--memory '%s': give a size such as 512M or 2G", arg);
        if (m < SPEC_MIN_MEMORY || m > SPEC_MAX_MEMORY)
            return err_set(e, -EINVAL, "--memory '%s': give between 16M and 1T", arg);
        s->memory = m;
        s->set |= SPEC_MEMORY;
        return 0;
    }
    if (!strcmp(name, "engine")) {
        if (strcmp(arg, "auto") && strcmp(arg, "kvm") && strcmp(arg, "emu"))
            return err_set(e, -EINVAL, "--engine '%s': choose auto, kvm or emu", arg);
        replace_str(&s->engine, arg);
        s->set |= SPEC_ENGINE;
        return 0;
    }
    if (!strcmp(name, "cpu")) {
        if (strcmp(arg, "host") && strcmp(arg, "portable"))
            return err_set(e, -EINVAL, "--cpu '%s': choose host or portable", arg);
        replace_str(&s->cpu, arg);
        s->set |= SPEC_CPU;
        return 0;
    }
    if (!strcmp(name, "serial")) {
        if (strcmp(arg, "stdio") && strcmp(arg, "none") &&
            (strncmp(arg, "file:", 5) || !arg[5]))
            return err_set(e, -EINVAL, "--serial '%s': choose stdio, file:PATH or none", arg);
        replace_str(&s->serial, arg);
        s->set |= SPEC_SERIAL;
        return 0;
    }
    if (!strcmp(name, "no-reboot")) {
        bool b = true;
        if (arg && on_off(arg, &b) < 0)
            return err_set(e, -EINVAL, "--no-reboot '%s': choose on or off", arg);
        s->no_reboot = b;
        s->set |= SPEC_NO_REBOOT;
        return 0;
    }
    if (!strcmp(name, "watchdog")) {
        if (parse_count(arg, 0, 1L << 30, &v) < 0)
            return err_set(e, -EINVAL, "--watchdog '%s': give seconds, or 0 to turn it off", arg);
        s->watchdog_s = (int)v;
        s->set |= SPEC_WATCHDOG;
        return 0;
    }
    if (!strcmp(name, "console")) {
        if (strcmp(arg, "serial") && strcmp(arg, "virtio"))
            return err_set(e, -EINVAL, "--console '%s': choose serial or virtio", arg);
        s->virtio_console = !strcmp(arg, "virtio");
        s->set |= SPEC_CONSOLE;
        return 0;
    }
    if (!strcmp(name, "rng")) {
        if (on_off(arg, &s->rng) < 0)
            return err_set(e, -EINVAL, "--rng '%s': choose on or off", arg);
        s->set |= SPEC_RNG;
        return 0;
    }
    if (!strcmp(name, "disk")) {
        if (s->ndisks == SPEC_MAX_DISKS)
            return err_set(e, -EINVAL, "--disk: at most %d disks", SPEC_MAX_DISKS);
        int r = spec_parse_disk(arg, &s->disks[s->ndisks], e);
        if (r < 0)
            return r;
        s->ndisks++;
        return 0;
    }
    if (!strcmp(name, "net"))
        return spec_parse_net(arg, s, e);
    if (!strcmp(name, "forward")) {
        struct net_forward f;
        int r = net_parse_forward(arg, &f, e);
        if (r < 0)
            return r;
        return add_forward(s, &f, e);
    }
    if (!strcmp(name, "mac")) {
        if (net_parse_mac(arg, s->mac) < 0)
            return err_set(e, -EINVAL, "--mac '%s': give six hex bytes such as "
                           "52:54:00:12:34:56 (the first byte even: not a multicast address)",
                           arg);
        s->set |= SPEC_MAC;
        return 0;
    }
    return -ENOENT;
}

/* ---- JSON --------------------------------------------------------------- */

json_t *spec_to_json(const struct machine_spec *s)
{
    json_t *o = json_object();
    char buf[4200];
    if ((s->set & SPEC_APPLIANCE) && s->appliance)
        json_object_set_new(o, "appliance", json_string(s->appliance));
    if ((s->set & SPEC_KERNEL) && s->kernel)
        json_object_set_new(o, "kernel", json_string(s->kernel));
    if ((s->set & SPEC_INITRD) && s->initrd)
        json_object_set_new(o, "initrd", json_string(s->initrd));
    if ((s->set & SPEC_CMDLINE) && s->cmdline)
        json_object_set_new(o, "cmdline", json_string(s->cmdline));
    if (s->set & SPEC_CPUS)
        json_object_set_new(o, "cpus", json_integer(s->cpus));
    if (s->set & SPEC_MEMORY) {
        format_size(s->memory, buf, sizeof(buf));
        uint64_t back;
        if (parse_size(buf, &back) == 0 && back == s->memory)
            json_object_set_new(o, "memory", json_string(buf));
        else
            json_object_set_new(o, "memory", json_integer((json_int_t)s->memory));
    }
    if ((s->set & SPEC_ENGINE) && s->engine)
        json_object_set_new(o, "engine", json_string(s->engine));
    if ((s->set & SPEC_CPU) && s->cpu)
        json_object_set_new(o, "cpu", json_string(s->cpu));
    if ((s->set & SPEC_SERIAL) && s->serial)
        json_object_set_new(o, "serial", json_string(s->serial));
    if (s->set & SPEC_CONSOLE)
        json_object_set_new(o, "console", json_string(s->virtio_console ? "virtio" : "serial"));
    if (s->set & SPEC_RNG)
        json_object_set_new(o, "rng", json_boolean(s->rng));
    if (s->set & SPEC_NO_REBOOT)
        json_object_set_new(o, "no_reboot", json_boolean(s->no_reboot));
    if (s->set & SPEC_WATCHDOG)
        json_object_set_new(o, "watchdog", json_integer(s->watchdog_s));
    if (s->ndisks) {
        json_t *a = json_array();
        for (int i = 0; i < s->ndisks; i++) {
            const struct spec_disk *d = &s->disks[i];
            json_t *dj = json_object();
            if (d->path)
                json_object_set_new(dj, "path", json_string(d->path));
            else {
                format_size(d->size, buf, sizeof(buf));
                json_object_set_new(dj, "size", json_string(buf));
            }
            if (d->format != BLOCK_FORMAT_AUTO)
                json_object_set_new(dj, "format",
                                    json_string(d->format == BLOCK_FORMAT_QCOW2 ? "qcow2" : "raw"));
            if (d->readonly)
                json_object_set_new(dj, "readonly", json_true());
            json_array_append_new(a, dj);
        }
        json_object_set_new(o, "disks", a);
    }
    if ((s->set & SPEC_NET) && s->net_mode != NET_MODE_DEFAULT) {
        spec_format_net(s, buf, sizeof(buf));
        json_object_set_new(o, "net", json_string(buf));
    }
    if (s->nforwards) {
        json_t *a = json_array();
        for (int i = 0; i < s->nforwards; i++) {
            const struct net_forward *f = &s->forwards[i];
            if (f->host_addr == htonl(INADDR_LOOPBACK))   /* the default: the short form */
                snprintf(buf, sizeof(buf), "%s:%u:%u", f->udp ? "udp" : "tcp", f->host_port,
                         f->guest_port);
            else
                net_format_forward(f, buf, sizeof(buf));
            json_array_append_new(a, json_string(buf));
        }
        json_object_set_new(o, "forwards", a);
    }
    if (s->set & SPEC_MAC) {
        snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1],
                 s->mac[2], s->mac[3], s->mac[4], s->mac[5]);
        json_object_set_new(o, "mac", json_string(buf));
    }
    return o;
}

/* What JSON type each key takes. */
enum json_kind { JK_STRING = 1, JK_INT = 2, JK_BOOL = 4 };

/* A JSON value as the text its flag would take, for one parser of values;
 * only the kinds the key allows. */
static int json_arg(json_t *v, const char *key, unsigned kinds, char *buf, size_t len,
                    struct err *e)
{
    if ((kinds & JK_STRING) && json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if ((kinds & JK_INT) && json_is_integer(v))
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
    else if ((kinds & JK_BOOL) && json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "on" : "off");
    else
        return err_set(e, -EINVAL, "\"%s\": give %s", key,
                       kinds == JK_STRING ? "a string"
                       : kinds == JK_INT ? "a whole number"
                       : kinds == (JK_STRING | JK_INT) ? "a string or a number"
                       : kinds == (JK_STRING | JK_BOOL) ? "true, false, \"on\" or \"off\""
                       : "true or false");
    return 0;
}

static int disk_from_json(json_t *v, struct spec_disk *d, struct err *e)
{
    char text[4200];
    if (json_is_string(v))
        return spec_parse_disk(json_string_value(v), d, e);
    if (!json_is_object(v))
        return err_set(e, -EINVAL, "\"disks\": each disk is an object {\"path\" or \"size\", "
                       "\"format\", \"readonly\"} or a --disk string");
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x) {
        if (strcmp(key, "path") && strcmp(key, "size") && strcmp(key, "format") &&
            strcmp(key, "readonly"))
            return err_set(e, -EINVAL, "\"disks\": unknown key \"%s\" (path, size, format, "
                           "readonly)", key);
    }
    json_t *path = json_object_get(v, "path"), *size = json_object_get(v, "size");
    json_t *format = json_object_get(v, "format"), *ro = json_object_get(v, "readonly");
    if ((path && !json_is_string(path)) || (format && !json_is_string(format)) ||
        (ro && !json_is_boolean(ro)))
        return err_set(e, -EINVAL, "\"disks\": path and format are strings, readonly is "
                       "true or false");
    char sz[64] = "";
    if (size && json_arg(size, "size", JK_STRING | JK_INT, sz, sizeof(sz), e) < 0)
        return e ? e->code : -EINVAL;
    if (path && strchr(json_string_value(path), ','))
        return err_set(e, -EINVAL, "\"disks\": the path \"%s\" has a comma, which hostel's disk "
                       "syntax cannot carry", json_string_value(path));
    snprintf(text, sizeof(text), "%s%s%s%s%s%s", path ? json_string_value(path) : "",
             size ? (path ? ",size=" : "size=") : "", sz,
             format ? ",format=" : "", format ? json_string_value(format) : "",
             ro && json_is_true(ro) ? ",readonly=on" : "");
    return spec_parse_disk(text[0] == ',' ? text + 1 : text, d, e);
}

int spec_from_json(json_t *o, struct machine_spec *s, struct err *e)
{
    static const struct { const char *key, *option; unsigned kinds; } scalars[] = {
        { "kernel", "kernel", JK_STRING }, { "initrd", "initrd", JK_STRING },
        { "cmdline", "cmdline", JK_STRING }, { "cpus", "cpus", JK_INT },
        { "memory", "memory", JK_STRING | JK_INT }, { "engine", "engine", JK_STRING },
        { "cpu", "cpu", JK_STRING }, { "serial", "serial", JK_STRING }, { "console", "console", JK_STRING },
        { "rng", "rng", JK_BOOL | JK_STRING }, { "no_reboot", "no-reboot", JK_BOOL | JK_STRING },
        { "watchdog", "watchdog", JK_INT }, { "net", "net", JK_STRING },
        { "mac", "mac", JK_STRING },
    };
    spec_init(s);
    if (!json_is_object(o))
        return err_set(e, -EINVAL, "a machine spec is a JSON object");
    const char *key;
    json_t *v;
    char arg[4200];
    int r = 0;
    json_object_foreach(o, key, v) {
        size_t i;
        for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
            if (!strcmp(key, scalars[i].key))
                break;
        if (i < sizeof(scalars) / sizeof(scalars[0])) {
            if ((r = json_arg(v, key, scalars[i].kinds, arg, sizeof(arg), e)) < 0)
                goto fail;
            if ((r = spec_set_option(s, scalars[i].option, arg, e)) < 0) {
                err_wrap(e, "\"%s\"", key);
                goto fail;
            }
        } else if (!strcmp(key, "appliance")) {
            if (!json_is_string(v)) {
                r = err_set(e, -EINVAL, "\"appliance\": give the appliance's folder");
                goto fail;
            }
            replace_str(&s->appliance, json_string_value(v));
            s->set |= SPEC_APPLIANCE;
        } else if (!strcmp(key, "disks") || !strcmp(key, "forwards")) {
            if (!json_is_array(v)) {
                r = err_set(e, -EINVAL, "\"%s\": give a list", key);
                goto fail;
            }
            size_t n;
            json_t *x;
            json_array_foreach(v, n, x) {
                if (!strcmp(key, "disks")) {
                    if (s->ndisks == SPEC_MAX_DISKS) {
                        r = err_set(e, -EINVAL, "\"disks\": at most %d disks", SPEC_MAX_DISKS);
                        goto fail;
                    }
                    if ((r = disk_from_json(x, &s->disks[s->ndisks], e)) < 0)
                        goto fail;
                    s->ndisks++;
                } else if (!json_is_string(x)) {
                    r = err_set(e, -EINVAL, "\"forwards\": each forward is a string such as "
                                "\"tcp:2222:22\"");
                    goto fail;
                } else if ((r = spec_set_option(s, "forward", json_string_value(x), e)) < 0) {
                    goto fail;
                }
            }
        } else {
            r = err_set(e, -EINVAL, "unknown key \"%s\" in a machine spec", key);
            goto fail;
        }
    }
    return 0;
fail:
    spec_free(s);
    return r;
}
