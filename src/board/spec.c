/* The machine spec (board/spec.h): layers, the option parser every command
 * shares, the checks, and the JSON form a machine's folder keeps. */
#include "board/spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "engine/cpuid_model.h"
#include "lib/jail.h"
#include "lib/ratelimit.h"
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
             SPEC_NO_REBOOT | SPEC_WATCHDOG | SPEC_NET | SPEC_SANDBOX | SPEC_HPET;
    s->sandbox = true;
    s->cpus = 1;
    s->memory = 512ULL << 20;
    s->engine = strdup("auto");
    s->serial = strdup("stdio");
    s->rng = true;
    s->hpet = true;
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
    free(s->display);
    free(s->jail_user);
    free(s->serial);
    free(s->tap);
    free(s->net_switch);
    free(s->tftp);
    free(s->bootfile);
    free(s->cdrom);
    free(s->cloud_init);
    free(s->ssh_key);
    for (int i = 0; i < s->ndisks; i++)
        free(s->disks[i].path);
    for (int i = 0; i < s->nshares; i++)
        free(s->shares[i].dir);
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
    dst->display = dup_or_null(src->display);
    dst->jail_user = dup_or_null(src->jail_user);
    dst->serial = dup_or_null(src->serial);
    dst->tap = dup_or_null(src->tap);
    dst->net_switch = dup_or_null(src->net_switch);
    dst->tftp = dup_or_null(src->tftp);
    dst->bootfile = dup_or_null(src->bootfile);
    dst->cdrom = dup_or_null(src->cdrom);
    dst->cloud_init = dup_or_null(src->cloud_init);
    dst->ssh_key = dup_or_null(src->ssh_key);
    for (int i = 0; i < src->ndisks; i++)
        dst->disks[i].path = dup_or_null(src->disks[i].path);
    for (int i = 0; i < src->nshares; i++)
        dst->shares[i].dir = dup_or_null(src->shares[i].dir);
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

static int find_share(const struct machine_spec *s, int n, const char *tag)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s->shares[i].tag, tag))
            return i;
    return -1;
}

/* Adds sh (its dir is taken), or replaces the share with its tag. */
static int add_share(struct machine_spec *s, struct spec_share *sh, struct err *e)
{
    int i = find_share(s, s->nshares, sh->tag);
    if (i < 0 && s->nshares == SPEC_MAX_SHARES) {
        free(sh->dir);
        return err_set(e, -EINVAL, "--share: at most %d shares", SPEC_MAX_SHARES);
    }
    if (i < 0)
        i = s->nshares++;
    else
        free(s->shares[i].dir);
    s->shares[i] = *sh;
    return 0;
}

int spec_apply(struct machine_spec *s, const struct machine_spec *l, struct err *e)
{
    int keep_shares = l->shares_clear ? 0 : s->nshares, new_shares = 0;
    for (int i = 0; i < l->nshares; i++)
        new_shares += find_share(s, keep_shares, l->shares[i].tag) < 0;
    if (keep_shares + new_shares > SPEC_MAX_SHARES)
        return err_set(e, -EINVAL, "--share: at most %d shares (%d given and %d from before)",
                       SPEC_MAX_SHARES, l->nshares, s->nshares);
    if (s->ndisks + l->ndisks > SPEC_MAX_DISKS)
        return err_set(e, -EINVAL, "--disk: at most %d disks (%d given and %d from before)",
                       SPEC_MAX_DISKS, l->ndisks, s->ndisks);
    for (int i = 0; i < SPEC_MAX_DISKS; i++)
        if (l->disk_limit[i].set && i >= s->ndisks + l->ndisks)
            return err_set(e, -EINVAL, "--disk-limit %d: the machine has %d disk%s (numbered from "
                           "0, as 'hostel info' lists them)", i, s->ndisks + l->ndisks,
                           s->ndisks + l->ndisks == 1 ? "" : "s");
    /* Forwards that will be added, not replaced: checked before anything
     * changes, so a refused layer leaves s as it was. */
    int kept = (l->set & SPEC_NET) && (l->net_mode == NET_MODE_NONE ||
                                       l->net_mode == NET_MODE_TAP ||
                                       l->net_mode == NET_MODE_SWITCH) ? 0 : s->nforwards;
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
    if (l->set & SPEC_DISPLAY)
        replace_str(&s->display, l->display);
    if (l->set & SPEC_SERIAL)
        replace_str(&s->serial, l->serial);
    if (l->set & SPEC_CONSOLE)
        s->virtio_console = l->virtio_console;
    if (l->set & SPEC_RNG)
        s->rng = l->rng;
    if (l->set & SPEC_HPET)
        s->hpet = l->hpet;
    if (l->set & SPEC_NO_REBOOT)
        s->no_reboot = l->no_reboot;
    if (l->set & SPEC_WATCHDOG)
        s->watchdog_s = l->watchdog_s;
    if (l->set & SPEC_MAC)
        memcpy(s->mac, l->mac, 6);
    if (l->set & SPEC_FIRMWARE)
        s->firmware = l->firmware;
    if (l->set & SPEC_BOOT)
        memcpy(s->boot, l->boot, sizeof(s->boot));
    if (l->set & SPEC_CDROM)
        replace_str(&s->cdrom, l->cdrom);
    if (l->set & SPEC_CLOUD_INIT)
        replace_str(&s->cloud_init, l->cloud_init);
    if (l->set & SPEC_SSH_KEY)
        replace_str(&s->ssh_key, l->ssh_key);
    if (l->set & SPEC_NET_LIMIT) {
        s->net_bps = l->net_bps;
        s->net_pps = l->net_pps;
    }
    if (l->set & SPEC_CPU_LIMIT)
        s->cpu_limit_milli = l->cpu_limit_milli;
    if (l->set & SPEC_MEMORY_LIMIT)
        s->memory_limit = l->memory_limit;
    if (l->set & SPEC_SANDBOX)
        s->sandbox = l->sandbox;
    if (l->set & SPEC_JAIL_USER)
        replace_str(&s->jail_user, l->jail_user);
    if (l->set & SPEC_NET) {
        s->net_mode = l->net_mode;
        s->net_restrict = l->net_restrict;
        s->net_mtu = l->net_mtu;
        replace_str(&s->tap, l->tap);
        replace_str(&s->net_switch, l->net_switch);
        replace_str(&s->tftp, l->tftp);
        replace_str(&s->bootfile, l->bootfile);
        if (l->net_mode == NET_MODE_NONE || l->net_mode == NET_MODE_TAP ||
            l->net_mode == NET_MODE_SWITCH)
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
    for (int i = 0; i < s->ndisks; i++) {
        if (l->disk_limit[i].set) {
            s->disks[i].bps = l->disk_limit[i].bps;
            s->disks[i].iops = l->disk_limit[i].iops;
        }
    }
    if (l->shares_clear) {
        for (int i = 0; i < s->nshares; i++)
            free(s->shares[i].dir);
        s->nshares = 0;
    }
    for (int i = 0; i < l->nshares; i++) {
        struct spec_share sh = l->shares[i];
        sh.dir = dup_or_null(l->shares[i].dir);
        add_share(s, &sh, NULL);    /* counted above: cannot fail */
    }
    s->set |= l->set;
    return 0;
}

void spec_net_options(const struct machine_spec *s, struct net_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = s->net_mode;
    o->restrict_outbound = s->net_restrict;
    o->user_mtu = s->net_mtu;
    o->tap_name = s->tap;
    o->switch_spec = s->net_switch;
    if (s->tftp)
        snprintf(o->tftp_root, sizeof(o->tftp_root), "%s", s->tftp);
    if (s->bootfile)
        snprintf(o->bootfile, sizeof(o->bootfile), "%s", s->bootfile);
    o->nforwards = s->nforwards;
    memcpy(o->forwards, s->forwards, sizeof(s->forwards[0]) * (size_t)s->nforwards);
    o->mac_set = s->set & SPEC_MAC;
    memcpy(o->mac, s->mac, 6);
}

int spec_firmware(const struct machine_spec *s)
{
    if (s->firmware != SPEC_FW_AUTO)
        return s->firmware;
    return s->kernel && *s->kernel ? SPEC_FW_NONE : SPEC_FW_BIOS;
}

int spec_boot_order(const struct machine_spec *s, uint8_t order[SPEC_BOOT_MAX])
{
    int n = 0;
    for (; n < SPEC_BOOT_MAX && s->boot[n]; n++)
        order[n] = s->boot[n];
    if (n)
        return n;
    order[0] = SPEC_BOOT_DISK;
    order[1] = SPEC_BOOT_CDROM;
    order[2] = SPEC_BOOT_NETWORK;
    return 3;
}

int spec_check(const struct machine_spec *s, struct err *e)
{
    int fw = spec_firmware(s);
    bool has_kernel = s->kernel && *s->kernel;
    if (fw == SPEC_FW_NONE && !has_kernel)
        return err_set(e, -EINVAL, "no kernel given: name an appliance or use --kernel PATH "
                       "(or boot a --disk or --cdrom image through the firmware: leave out "
                       "--firmware none)");
    if (fw != SPEC_FW_NONE && has_kernel)
        return err_set(e, -EINVAL, "--kernel boots without firmware: leave out --firmware %s, "
                       "or boot a disk or --cdrom image instead of a kernel",
                       fw == SPEC_FW_UEFI ? "uefi" : "bios");
    if (fw == SPEC_FW_BIOS && !has_kernel && !s->ndisks && !s->cdrom &&
        !(s->set & SPEC_NET && s->net_mode != NET_MODE_NONE && s->net_mode != NET_MODE_DEFAULT) &&
        !s->nforwards)
        return err_set(e, -EINVAL, "nothing to boot: give --kernel PATH, a --disk or --cdrom image "
                       "for the firmware to boot, --net user,tftp=DIR,bootfile=FILE for a network "
                       "boot, or name an appliance");
    if (fw == SPEC_FW_UEFI)
        return err_set(e, -ENOTSUP, "--firmware uefi: this hostel has no UEFI firmware support "
                       "yet; use --firmware bios");
    if ((s->cloud_init || s->ssh_key) && fw == SPEC_FW_NONE && !s->ndisks)
        return err_set(e, -EINVAL, "--cloud-init/--ssh-key make a seed disk for cloud-init in a "
                       "disk image: give the image with --disk");
    if (s->cpus < 1 || s->cpus > SPEC_MAX_CPUS)
        return err_set(e, -EINVAL, "--cpus %d: give a number from 1 to %d", s->cpus,
                       SPEC_MAX_CPUS);
    if (s->memory < SPEC_MIN_MEMORY || s->memory > SPEC_MAX_MEMORY)
        return err_set(e, -EINVAL, "--memory %llu bytes: give between 16M and 1T",
                       (unsigned long long)s->memory);
    if (s->memory_limit && s->memory_limit < s->memory + SPEC_VMM_OVERHEAD) {
        char mem[32];
        format_size(s->memory + SPEC_VMM_OVERHEAD, mem, sizeof(mem));
        return err_set(e, -EINVAL, "--memory-limit: the cap holds the guest's RAM and the VMM "
                       "too: give at least %s (--memory plus 64M), or none", mem);
    }
    struct net_options o;
    spec_net_options(s, &o);
    enum net_mode m = net_effective_mode(&o);
    if (s->nforwards && m != NET_MODE_USER)
        return err_set(e, -EINVAL, "--forward needs user networking (--net user)");
    for (int i = 0; i < s->nshares; i++) {
        struct stat st;
        const struct spec_share *sh = &s->shares[i];
        if (stat(sh->dir, &st) < 0)
            return err_set(e, -errno, "--share %s:%s: %s: %s", sh->dir, sh->tag, sh->dir,
                           strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return err_set(e, -ENOTDIR, "--share %s:%s: %s is not a directory", sh->dir, sh->tag,
                           sh->dir);
    }
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
        } else if (!strncmp(item, "bps=", 4)) {
            if (parse_rate_bytes(item + 4, &d->bps) < 0)
                return err_set(e, -EINVAL, "--disk: bps '%s': give bytes per second such as "
                               "10M", item + 4);
        } else if (!strncmp(item, "iops=", 5)) {
            if (parse_rate_count(item + 5, &d->iops) < 0)
                return err_set(e, -EINVAL, "--disk: iops '%s': give requests per second such "
                               "as 500", item + 5);
        } else if (!strncmp(item, "size=", 5)) {
            if (parse_size(item + 5, &d->size) < 0 || d->size < 512)
                return err_set(e, -EINVAL, "--disk: size '%s': give a size such as 8G", item + 5);
        } else if (!path && !strchr(item, '=')) {
            path = item;
        } else {
            return err_set(e, -EINVAL,
                           "--disk: cannot understand '%s' (PATH, format=, readonly=, size=, bps=, "
                           "iops=)", item);
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
    char bps[40] = "", iops[40] = "";
    if (d->bps) {
        memcpy(bps, ",bps=", 5);
        format_size(d->bps, bps + 5, sizeof(bps) - 5);
    }
    if (d->iops)
        snprintf(iops, sizeof(iops), ",iops=%llu", (unsigned long long)d->iops);
    snprintf(buf, len, "%s%s%s%s%s%s", d->path ? d->path : "size=", d->path ? "" : size,
             d->format == BLOCK_FORMAT_RAW ? ",format=raw"
             : d->format == BLOCK_FORMAT_QCOW2 ? ",format=qcow2" : "",
             d->readonly ? ",readonly=on" : "", bps, iops);
}

int spec_parse_net_limit(const char *text, struct machine_spec *s, struct err *e)
{
    char buf[128];
    uint64_t bps = 0, pps = 0;
    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
        return err_set(e, -EINVAL, "--net-limit '%.40s...': too long", text);
    if (strcmp(buf, "none")) {
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strncmp(t, "bps=", 4) && parse_rate_bytes(t + 4, &bps) == 0)
                continue;
            if (!strncmp(t, "pps=", 4) && parse_rate_count(t + 4, &pps) == 0)
                continue;
            return err_set(e, -EINVAL, "--net-limit '%s': cannot understand '%s' (bps=SIZE for "
                           "bytes per second such as 10M, pps=N for packets per second, or "
                           "none)", text, t);
        }
        if (!bps && !pps)
            return err_set(e, -EINVAL, "--net-limit '%s': give bps=SIZE, pps=N or none", text);
    }
    s->net_bps = bps;
    s->net_pps = pps;
    s->set |= SPEC_NET_LIMIT;
    return 0;
}

void spec_format_net_limit(const struct machine_spec *s, char *buf, size_t len)
{
    char bps[32] = "";
    if (s->net_bps)
        format_size(s->net_bps, bps, sizeof(bps));
    if (s->net_bps && s->net_pps)
        snprintf(buf, len, "bps=%s,pps=%llu", bps, (unsigned long long)s->net_pps);
    else if (s->net_bps)
        snprintf(buf, len, "bps=%s", bps);
    else if (s->net_pps)
        snprintf(buf, len, "pps=%llu", (unsigned long long)s->net_pps);
    else
        snprintf(buf, len, "%s", "");
}

void spec_format_cpu_limit(uint32_t milli, char *buf, size_t len)
{
    if (milli % 1000 == 0)
        snprintf(buf, len, "%u", milli / 1000);
    else if (milli % 100 == 0)
        snprintf(buf, len, "%u.%u", milli / 1000, milli / 100 % 10);
    else if (milli % 10 == 0)
        snprintf(buf, len, "%u.%02u", milli / 1000, milli / 10 % 100);
    else
        snprintf(buf, len, "%u.%03u", milli / 1000, milli % 1000);
}

static bool tag_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static int parse_id(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > 0xfffffffeUL)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* HOSTDIR:TAG[,ro][,uid=N][,gid=N]: the tag (no ':' in it) follows the last
 * ':', so a directory may have ':' and ',' in its name. */
int spec_parse_share(const char *text, struct spec_share *sh, struct err *e)
{
    char buf[4200];
    memset(sh, 0, sizeof(*sh));
    if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
        return err_set(e, -EINVAL, "--share: '%.40s...' is too long", text);
    char *colon = strrchr(buf, ':');
    if (!colon || colon == buf)
        return err_set(e, -EINVAL, "--share '%s': give HOSTDIR:TAG[,ro] (for example "
                       "~/src:src), or none", text);
    *colon = 0;
    char *save = NULL, *tag = strtok_r(colon + 1, ",", &save);
    size_t n = tag ? strlen(tag) : 0;
    if (n == 0 || n > SPEC_SHARE_TAG_MAX)
        return err_set(e, -EINVAL, "--share '%s': the tag (after the last ':') must be 1 to %d "
                       "characters", text, SPEC_SHARE_TAG_MAX);
    for (size_t i = 0; i < n; i++)
        if (!tag_char(tag[i]))
            return err_set(e, -EINVAL, "--share '%s': the tag '%s' may hold only letters, "
                           "digits, '_', '-' and '.'", text, tag);
    memcpy(sh->tag, tag, n + 1);
    for (char *o = strtok_r(NULL, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (!strcmp(o, "ro") || !strcmp(o, "readonly") || !strcmp(o, "readonly=on"))
            sh->readonly = true;
        else if (!strcmp(o, "rw") || !strcmp(o, "readonly=off"))
            sh->readonly = false;
        else if (!strncmp(o, "uid=", 4) && parse_id(o + 4, &sh->uid) == 0)
            ;
        else if (!strncmp(o, "gid=", 4) && parse_id(o + 4, &sh->gid) == 0)
            ;
        else
            return err_set(e, -EINVAL, "--share '%s': cannot understand '%s' (ro, uid=N, gid=N)",
                           text, o);
    }
    /* Absolute, so a named machine finds it from anywhere; resolved when it
     * exists (spec_check says when it does not). */
    char *dir = realpath(buf, NULL);
    if (!dir) {
        if (buf[0] == '/') {
            dir = strdup(buf);
        } else {
            char cwd[4096];
            if (!getcwd(cwd, sizeof(cwd)))
                return err_set(e, -errno, "--share %s: %s", buf, strerror(errno));
            size_t len = strlen(cwd) + strlen(buf) + 2;
            if ((dir = malloc(len)))
                snprintf(dir, len, "%s/%s", cwd, buf);
        }
    }
    if (!dir)
        return err_set(e, -ENOMEM, "out of memory");
    sh->dir = dir;
    return 0;
}

void spec_format_share(const struct spec_share *sh, char *buf, size_t len)
{
    char ids[48] = "";
    if (sh->uid || sh->gid)
        snprintf(ids, sizeof(ids), ",uid=%u,gid=%u", sh->uid, sh->gid);
    snprintf(buf, len, "%s:%s%s%s", sh->dir ? sh->dir : "", sh->tag, sh->readonly ? ",ro" : "",
             ids);
}

/* user[,restrict=on|off][,mtu=N][,tftp=DIR][,bootfile=FILE], tap=NAME,
 * switch=NAME[,name=LABEL] or none. */
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
    s->net_mtu = o.user_mtu;
    replace_str(&s->tap, o.mode == NET_MODE_TAP ? o.tap_name : NULL);
    replace_str(&s->net_switch, o.mode == NET_MODE_SWITCH ? o.switch_spec : NULL);
    replace_str(&s->tftp, o.tftp_root[0] ? o.tftp_root : NULL);
    replace_str(&s->bootfile, o.bootfile[0] ? o.bootfile : NULL);
    s->set |= SPEC_NET;
    return 0;
}

void spec_format_net(const struct machine_spec *s, char *buf, size_t len)
{
    switch (s->net_mode) {
    case NET_MODE_USER: {
        char mtu[16] = "";
        if (s->net_mtu)
            snprintf(mtu, sizeof(mtu), ",mtu=%u", s->net_mtu);
        snprintf(buf, len, "user%s%s%s%s%s%s", s->net_restrict ? ",restrict=on" : "", mtu,
                 s->tftp ? ",tftp=" : "", s->tftp ? s->tftp : "",
                 s->bootfile ? ",bootfile=" : "", s->bootfile ? s->bootfile : "");
        break;
    }
    case NET_MODE_TAP:
        snprintf(buf, len, "tap=%s", s->tap ? s->tap : "");
        break;
    case NET_MODE_SWITCH:
        snprintf(buf, len, "switch=%s", s->net_switch ? s->net_switch : "");
        break;
    case NET_MODE_NONE:
        snprintf(buf, len, "none");
        break;
    default:
        snprintf(buf, len, "default");
        break;
    }
}

void spec_format_boot(const struct machine_spec *s, char *buf, size_t len)
{
    static const char *names[] = { "", "disk", "cdrom", "network" };
    uint8_t order[SPEC_BOOT_MAX];
    int n = spec_boot_order(s, order);
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", names[order[i] & 3]);
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

bool spec_has_display(const struct machine_spec *s)
{
    return s->display && strcmp(s->display, "none");
}

int spec_parse_display(const char *text, struct spec_display *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->addr, sizeof(out->addr), "127.0.0.1");
    if (!strcmp(text, "none") || !strcmp(text, "vnc"))
        return 0;
    if (strncmp(text, "vnc=", 4))
        return err_set(e, -EINVAL, "--display '%s': give none, vnc or vnc=ADDR:PORT", text);
    char where[128];
    const char *a = text + 4, *comma = strchr(a, ',');
    size_t wlen = comma ? (size_t)(comma - a) : strlen(a);
    if (comma) {
        if (strncmp(comma, ",password-file=", 15) || !comma[15] ||
            strlen(comma + 15) >= sizeof(out->password_file))
            return err_set(e, -EINVAL, "--display '%s': after the address only "
                           "password-file=FILE may follow", text);
        snprintf(out->password_file, sizeof(out->password_file), "%s", comma + 15);
    }
    if (wlen >= sizeof(where))
        return err_set(e, -EINVAL, "--display '%s': the address is too long", text);
    memcpy(where, a, wlen);
    where[wlen] = 0;
    char *colon = strrchr(where, ':'), *end;
    long p;
    struct in_addr in;
    if (!colon || (p = strtol(colon + 1, &end, 10), *end || end == colon + 1 || p < 0 ||
                   p > 65535))
        return err_set(e, -EINVAL, "--display '%s': give vnc=ADDR:PORT, such as "
                       "vnc=127.0.0.1:5901 (port 0: the first free one from 5900)", text);
    *colon = 0;
    if (*where) {
        if (inet_pton(AF_INET, where, &in) != 1)
            return err_set(e, -EINVAL, "--display '%s': '%s' is not an IPv4 address", text,
                           where);
        inet_ntop(AF_INET, &in, out->addr, sizeof(out->addr));
    }
    out->port = (int)p;
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
        if (strcmp(arg, "host") && strcmp(arg, "portable") && strcmp(arg, "v2") && strcmp(arg, "v3"))
            return err_set(e, -EINVAL, "--cpu '%s': unknown CPU model; choose " CPUID_MODEL_NAMES,
                           arg);
        replace_str(&s->cpu, arg);
        s->set |= SPEC_CPU;
        return 0;
    }
    if (!strcmp(name, "display")) {
        struct spec_display dsp;
        int r = spec_parse_display(arg, &dsp, e);
        if (r < 0)
            return r;
        replace_str(&s->display, arg);
        s->set |= SPEC_DISPLAY;
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
    if (!strcmp(name, "hpet")) {
        if (on_off(arg, &s->hpet) < 0)
            return err_set(e, -EINVAL, "--hpet '%s': choose on or off", arg);
        s->set |= SPEC_HPET;
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
    if (!strcmp(name, "share")) {
        if (!strcmp(arg, "none")) {
            for (int i = 0; i < s->nshares; i++)
                free(s->shares[i].dir);
            s->nshares = 0;
            s->shares_clear = true;
            return 0;
        }
        struct spec_share sh;
        int r = spec_parse_share(arg, &sh, e);
        return r < 0 ? r : add_share(s, &sh, e);
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
    if (!strcmp(name, "firmware")) {
        static const char *names[] = { [SPEC_FW_AUTO] = "auto", [SPEC_FW_NONE] = "none",
                                       [SPEC_FW_BIOS] = "bios", [SPEC_FW_UEFI] = "uefi" };
        for (int i = 0; i < 4; i++)
            if (!strcmp(arg, names[i])) {
                s->firmware = i;
                s->set |= SPEC_FIRMWARE;
                return 0;
            }
        return err_set(e, -EINVAL, "--firmware '%s': choose bios, uefi, none (a --kernel "
                       "booted directly) or auto", arg);
    }
    if (!strcmp(name, "boot")) {
        uint8_t order[SPEC_BOOT_MAX] = { 0 };
        int n = 0;
        char buf[64];
        if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
            return err_set(e, -EINVAL, "--boot '%.40s...': too long", arg);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            uint8_t d = !strcmp(t, "disk") || !strcmp(t, "hd") ? SPEC_BOOT_DISK
                        : !strcmp(t, "cdrom") || !strcmp(t, "cd") ? SPEC_BOOT_CDROM
                        : !strcmp(t, "network") || !strcmp(t, "net") ? SPEC_BOOT_NETWORK : 0;
            if (!d)
                return err_set(e, -EINVAL, "--boot '%s': '%s' is not a boot device (disk, cdrom, "
                               "network; several in order: cdrom,disk)", arg, t);
            for (int k = 0; k < n; k++)
                if (order[k] == d)
                    return err_set(e, -EINVAL, "--boot '%s': '%s' is listed twice", arg, t);
            order[n++] = d;
        }
        if (!n)
            return err_set(e, -EINVAL, "--boot '%s': name disk, cdrom or network", arg);
        memcpy(s->boot, order, sizeof(s->boot));
        s->set |= SPEC_BOOT;
        return 0;
    }
    if (!strcmp(name, "cdrom") || !strcmp(name, "cloud-init") || !strcmp(name, "ssh-key")) {
        if (!*arg)
            return err_set(e, -EINVAL, "--%s: give a file (or none to take it out)", name);
        const char *v = strcmp(arg, "none") ? arg : NULL;   /* none: eject, drop */
        if (name[1] == 'd') {
            replace_str(&s->cdrom, v);
            s->set |= SPEC_CDROM;
        } else if (name[1] == 'l') {
            replace_str(&s->cloud_init, v);
            s->set |= SPEC_CLOUD_INIT;
        } else {
            replace_str(&s->ssh_key, v);
            s->set |= SPEC_SSH_KEY;
        }
        return 0;
    }
    if (!strcmp(name, "net-limit"))
        return spec_parse_net_limit(arg, s, e);
    if (!strcmp(name, "disk-limit")) {
        /* N,bps=SIZE,iops=N or N,none: parsed as a disk's options. */
        char *end;
        errno = 0;
        long n = strtol(arg, &end, 10);
        if (errno || end == arg || *end != ',' || n < 0 || n >= SPEC_MAX_DISKS)
            return err_set(e, -EINVAL, "--disk-limit '%s': give the disk's number (from 0, as "
                           "'hostel info' lists them) and bps=SIZE, iops=N or none, such as "
                           "0,bps=10M", arg);
        struct spec_disk d = { 0 };
        if (strcmp(end + 1, "none")) {
            char text[256];
            if (snprintf(text, sizeof(text), "x,%s", end + 1) >= (int)sizeof(text))
                return err_set(e, -EINVAL, "--disk-limit '%.40s...': too long", arg);
            int r = spec_parse_disk(text, &d, e);
            free(d.path);
            if (r < 0 || d.format != BLOCK_FORMAT_AUTO || d.readonly || d.size || !(d.bps || d.iops))
                return err_set(e, -EINVAL, "--disk-limit '%s': after the disk's number give only "
                               "bps=SIZE and iops=N, or none", arg);
        }
        s->disk_limit[n].set = true;
        s->disk_limit[n].bps = d.bps;
        s->disk_limit[n].iops = d.iops;
        return 0;
    }
    if (!strcmp(name, "cpu-limit")) {
        char *end;
        double cores = 0;
        if (strcmp(arg, "none")) {
            errno = 0;
            cores = strtod(arg, &end);
            if (errno || end == arg || *end || !(cores >= 0.01 && cores <= 1024))
                return err_set(e, -EINVAL, "--cpu-limit '%s': give host cores from 0.01 to "
                               "1024 (0.5 is half a core), or none", arg);
        }
        s->cpu_limit_milli = (uint32_t)(cores * 1000 + 0.5);
        s->set |= SPEC_CPU_LIMIT;
        return 0;
    }
    if (!strcmp(name, "memory-limit")) {
        uint64_t m = 0;
        if (strcmp(arg, "none") && (parse_size(arg, &m) < 0 || m == 0))
            return err_set(e, -EINVAL, "--memory-limit '%s': give a size such as 1G (the "
                           "guest's RAM and the VMM together), or none", arg);
        s->memory_limit = m;
        s->set |= SPEC_MEMORY_LIMIT;
        return 0;
    }
    if (!strcmp(name, "jail-user")) {
        uid_t u;
        gid_t g;
        if (!*arg)
            return err_set(e, -EINVAL, "--jail-user '': give a user name, UID[:GID], or 'off'");
        int r = jail_user_for(arg, &u, &g, e);
        if (r < 0)
            return r;
        replace_str(&s->jail_user, arg);
        s->set |= SPEC_JAIL_USER;
        return 0;
    }
    if (!strcmp(name, "sandbox") || !strcmp(name, "no-sandbox")) {
        bool on = false;
        if (name[0] == 's' && on_off(arg, &on) < 0)
            return err_set(e, -EINVAL, "--sandbox '%s': choose on or off", arg);
        s->sandbox = on;
        s->set |= SPEC_SANDBOX;
        return 0;
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
    if ((s->set & SPEC_DISPLAY) && s->display)
        json_object_set_new(o, "display", json_string(s->display));
    if ((s->set & SPEC_SERIAL) && s->serial)
        json_object_set_new(o, "serial", json_string(s->serial));
    if (s->set & SPEC_CONSOLE)
        json_object_set_new(o, "console", json_string(s->virtio_console ? "virtio" : "serial"));
    if (s->set & SPEC_RNG)
        json_object_set_new(o, "rng", json_boolean(s->rng));
    if (s->set & SPEC_HPET)
        json_object_set_new(o, "hpet", json_boolean(s->hpet));
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
            if (d->bps) {
                format_size(d->bps, buf, sizeof(buf));
                json_object_set_new(dj, "bps", json_string(buf));
            }
            if (d->iops)
                json_object_set_new(dj, "iops", json_integer((json_int_t)d->iops));
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
    if (s->set & SPEC_FIRMWARE) {
        static const char *fw[] = { "auto", "none", "bios", "uefi" };
        json_object_set_new(o, "firmware", json_string(fw[s->firmware & 3]));
    }
    if ((s->set & SPEC_BOOT) && s->boot[0]) {
        spec_format_boot(s, buf, sizeof(buf));
        json_object_set_new(o, "boot", json_string(buf));
    }
    if ((s->set & SPEC_CDROM) && s->cdrom)
        json_object_set_new(o, "cdrom", json_string(s->cdrom));
    if ((s->set & SPEC_CLOUD_INIT) && s->cloud_init)
        json_object_set_new(o, "cloud_init", json_string(s->cloud_init));
    if ((s->set & SPEC_SSH_KEY) && s->ssh_key)
        json_object_set_new(o, "ssh_key", json_string(s->ssh_key));
    if (s->set & SPEC_MAC) {
        snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", s->mac[0], s->mac[1],
                 s->mac[2], s->mac[3], s->mac[4], s->mac[5]);
        json_object_set_new(o, "mac", json_string(buf));
    }
    if (s->set & SPEC_NET_LIMIT) {
        spec_format_net_limit(s, buf, sizeof(buf));
        json_object_set_new(o, "net_limit", json_string(buf[0] ? buf : "none"));
    }
    if (s->set & SPEC_CPU_LIMIT) {
        spec_format_cpu_limit(s->cpu_limit_milli, buf, sizeof(buf));
        json_object_set_new(o, "cpu_limit", json_string(s->cpu_limit_milli ? buf : "none"));
    }
    if (s->set & SPEC_MEMORY_LIMIT) {
        format_size(s->memory_limit, buf, sizeof(buf));
        json_object_set_new(o, "memory_limit", json_string(s->memory_limit ? buf : "none"));
    }
    if (s->set & SPEC_SANDBOX)
        json_object_set_new(o, "sandbox", json_boolean(s->sandbox));
    if ((s->set & SPEC_JAIL_USER) && s->jail_user)
        json_object_set_new(o, "jail_user", json_string(s->jail_user));
    if (s->nshares || s->shares_clear) {
        json_t *a = json_array();
        for (int i = 0; i < s->nshares; i++) {
            const struct spec_share *sh = &s->shares[i];
            json_t *sj = json_pack("{s:s, s:s}", "dir", sh->dir, "tag", sh->tag);
            if (sh->readonly)
                json_object_set_new(sj, "readonly", json_true());
            if (sh->uid)
                json_object_set_new(sj, "uid", json_integer(sh->uid));
            if (sh->gid)
                json_object_set_new(sj, "gid", json_integer(sh->gid));
            json_array_append_new(a, sj);
        }
        json_object_set_new(o, "shares", a);
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

/* {"dir", "tag", "readonly", "uid", "gid"} or a --share string. */
static int share_from_json(json_t *v, struct machine_spec *s, struct err *e)
{
    if (json_is_string(v))
        return spec_set_option(s, "share", json_string_value(v), e);
    const char *key;
    json_t *x;
    if (!json_is_object(v))
        return err_set(e, -EINVAL, "\"shares\": each share is an object {\"dir\", \"tag\", "
                       "\"readonly\", \"uid\", \"gid\"} or a --share string");
    json_object_foreach(v, key, x) {
        if (strcmp(key, "dir") && strcmp(key, "tag") && strcmp(key, "readonly") &&
            strcmp(key, "uid") && strcmp(key, "gid"))
            return err_set(e, -EINVAL, "\"shares\": unknown key \"%s\" (dir, tag, readonly, "
                           "uid, gid)", key);
    }
    json_t *dir = json_object_get(v, "dir"), *tag = json_object_get(v, "tag");
    json_t *ro = json_object_get(v, "readonly");
    json_t *uid = json_object_get(v, "uid"), *gid = json_object_get(v, "gid");
    if (!json_is_string(dir) || !json_is_string(tag) || (ro && !json_is_boolean(ro)) ||
        (uid && !json_is_integer(uid)) || (gid && !json_is_integer(gid)))
        return err_set(e, -EINVAL, "\"shares\": dir and tag are strings, readonly is true or "
                       "false, uid and gid are numbers");
    if (strchr(json_string_value(tag), ':') || strchr(json_string_value(tag), ','))
        return err_set(e, -EINVAL, "\"shares\": the tag '%s' may hold only letters, digits, "
                       "'_', '-' and '.'", json_string_value(tag));
    char text[4300];
    snprintf(text, sizeof(text), "%s:%s%s,uid=%lld,gid=%lld", json_string_value(dir),
             json_string_value(tag), ro && json_is_true(ro) ? ",ro" : "",
             uid ? (long long)json_integer_value(uid) : 0LL,
             gid ? (long long)json_integer_value(gid) : 0LL);
    return spec_set_option(s, "share", text, e);
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
            strcmp(key, "readonly") && strcmp(key, "bps") && strcmp(key, "iops"))
            return err_set(e, -EINVAL, "\"disks\": unknown key \"%s\" (path, size, format, "
                           "readonly, bps, iops)", key);
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
    char bps[64] = "", iops[64] = "";
    json_t *bv = json_object_get(v, "bps"), *iv = json_object_get(v, "iops");
    if (bv) {
        memcpy(bps, ",bps=", 6);
        if (json_arg(bv, "bps", JK_STRING | JK_INT, bps + 5, sizeof(bps) - 5, e) < 0)
            return e ? e->code : -EINVAL;
    }
    if (iv) {
        memcpy(iops, ",iops=", 7);
        if (json_arg(iv, "iops", JK_INT, iops + 6, sizeof(iops) - 6, e) < 0)
            return e ? e->code : -EINVAL;
    }
    snprintf(text, sizeof(text), "%s%s%s%s%s%s%s%s", path ? json_string_value(path) : "",
             size ? (path ? ",size=" : "size=") : "", sz,
             format ? ",format=" : "", format ? json_string_value(format) : "",
             ro && json_is_true(ro) ? ",readonly=on" : "", bps, iops);
    return spec_parse_disk(text[0] == ',' ? text + 1 : text, d, e);
}

int spec_from_json(json_t *o, struct machine_spec *s, struct err *e)
{
    static const struct { const char *key, *option; unsigned kinds; } scalars[] = {
        { "kernel", "kernel", JK_STRING }, { "initrd", "initrd", JK_STRING },
        { "cmdline", "cmdline", JK_STRING }, { "cpus", "cpus", JK_INT },
        { "memory", "memory", JK_STRING | JK_INT }, { "engine", "engine", JK_STRING },
        { "cpu", "cpu", JK_STRING }, { "serial", "serial", JK_STRING }, { "console", "console", JK_STRING },
        { "rng", "rng", JK_BOOL | JK_STRING }, { "hpet", "hpet", JK_BOOL | JK_STRING },
        { "no_reboot", "no-reboot", JK_BOOL | JK_STRING },
        { "watchdog", "watchdog", JK_INT }, { "net", "net", JK_STRING },
        { "mac", "mac", JK_STRING }, { "firmware", "firmware", JK_STRING },
        { "boot", "boot", JK_STRING }, { "cdrom", "cdrom", JK_STRING },
        { "cloud_init", "cloud-init", JK_STRING }, { "ssh_key", "ssh-key", JK_STRING },
        { "display", "display", JK_STRING },
        { "net_limit", "net-limit", JK_STRING }, { "cpu_limit", "cpu-limit", JK_STRING },
        { "memory_limit", "memory-limit", JK_STRING }, { "sandbox", "sandbox", JK_BOOL },
        { "jail_user", "jail-user", JK_STRING },
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
        } else if (!strcmp(key, "shares")) {
            if (!json_is_array(v)) {
                r = err_set(e, -EINVAL, "\"shares\": give a list");
                goto fail;
            }
            size_t n;
            json_t *x;
            s->shares_clear = true;     /* the list is the machine's whole set */
            json_array_foreach(v, n, x) {
                if ((r = share_from_json(x, s, e)) < 0)
                    goto fail;
            }
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
