/* The root jail for a machine (board/jail_setup.h): what its spec names,
 * shown and kept open, then lib/jail.c's namespace, user and capability drop. */
#include "board/jail_setup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"
#include "board/migrate.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "net/switch.h"

/* The device nodes a running VMM opens: /dev/kvm again at every guest
 * reboot (kept open), libc's and libslirp's randomness, /dev/null. */
static const char *const dev_nodes[] = {
    "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/kvm",
};

static const char *const firmware_dirs[] = {
    "/usr/share/seabios", "/usr/share/qemu", "/usr/lib/ipxe/qemu",
};

static int threads_now(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Shared folders: each shown at its own name, writable unless read-only,
 * and left to its owner.  The server reopens the guest's inodes through
 * /proc/self/fd (kept: /proc is not in the jail) and makes files with the
 * file capabilities its thread alone raises (lib/jail.h). */
static int add_shares(const struct machine_spec *spec, struct jail_config *c, struct err *e)
{
    for (int i = 0; i < spec->nshares && i < SPEC_MAX_SHARES; i++)
        if (jail_add_foreign(c, spec->shares[i].dir, !spec->shares[i].readonly) < 0)
            return err_set(e, -E2BIG, "jail: more than %d paths to show", JAIL_MAX_PATHS);
    if (!spec->nshares)
        return 0;
    int r = jail_keep("/proc/self/fd", O_PATH | O_DIRECTORY);
    if (r < 0)
        return err_set(e, r, "jail: shares need /proc/self/fd: %s", strerror(-r));
    c->keep_file_caps = true;
    return 0;
}

/* A switch NIC joins (and rejoins, and joins again at a guest reboot) the
 * switch's socket by name: its cluster's folder is shown read-only
 * (connecting needs no write on the folder; the switch makes its socket
 * connectable by any user who can reach it, net/switch.c). */
static int add_switch(const struct machine_spec *spec, struct jail_config *c, struct err *e)
{
    char name[SWITCH_NAME_MAX + 1], label[64], dir[4096];
    if (spec->net_mode != NET_MODE_SWITCH || !spec->net_switch ||
        net_switch_parse(spec->net_switch, name, sizeof(name), label, sizeof(label), e) < 0 ||
        net_switch_path(name, NULL, dir, sizeof(dir)) < 0)
        return 0;     /* a bad spec is refused, by name, when the NIC is made */
    if (jail_add(c, dir, false) < 0)
        return err_set(e, -E2BIG, "jail: more than %d paths to show", JAIL_MAX_PATHS);
    return 0;
}

static bool beneath(const char *p, const char *folder)
{
    size_t fl = folder ? strlen(folder) : 0;
    return fl && !strncmp(p, folder, fl) && p[fl] == '/';
}

/* A qcow2 disk's backing chain is opened by name at every boot: each
 * image in it outside the machine's folder is kept and shown (read-only)
 * too.  Those in the folder are opened by name: snapshots rename files
 * there, and a name must reach what it names now, not what it named when
 * the machine started. */
static int add_backing_chain(struct jail_config *c, const char *disk, const char *folder,
                             struct err *e)
{
    struct block_open_opts o = { .readonly = true };
    struct blockdev *bd;
    if (block_open(disk, &o, &bd, e) < 0)
        return err_wrap(e, "jail: the backing chain of %s", disk);
    int r = 0;
    for (struct blockdev *b = block_backing(bd); b && r == 0; b = block_backing(b)) {
        const char *p = block_path(b);
        if (beneath(p, folder))
            continue;
        r = jail_keep(p, O_RDONLY | O_NONBLOCK);
        if (r < 0) {
            err_set(e, r, "jail: cannot open backing image %s: %s", p, strerror(-r));
            break;
        }
        if ((r = jail_add(c, p, false)) < 0)
            err_set(e, r, "jail: more than %d paths to show", JAIL_MAX_PATHS);
    }
    block_close(bd);
    return r;
}

static void say(char *report, size_t len, const char *fmt, const char *what)
{
    if (report)
        snprintf(report, len, fmt, what);
}

/* What the spec names: shown in c, and kept open where it is opened again. */
static int collect(const struct machine_spec *spec, const char *folder, struct jail_config *c,
                   struct err *e)
{
    int r = jail_add(c, folder, true);
    for (int i = 0; r == 0 && i < spec->ndisks; i++) {
        const char *p = spec->disks[i].path;
        if (!p)
            continue;
        /* A guest reboot opens the disks again: one outside the folder
         * from these fds; the folder's own by name (a snapshot makes a new
         * file under the disk's name, which the VMM then opens). */
        int kr = 0;
        if (!beneath(p, folder))
            kr = jail_keep(p, (spec->disks[i].readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK);
        if (kr < 0)
            return err_set(e, kr, "jail: cannot open disk image %s: %s", p, strerror(-kr));
        if (strncmp(p, "/proc/", 6) && !beneath(p, folder))
            r = jail_add(c, p, false);
        if (r == 0 && (kr = add_backing_chain(c, p, folder, e)) < 0)
            return kr;
    }
    if (r == 0 && ((r = add_shares(spec, c, e)) < 0 || (r = add_switch(spec, c, e)) < 0))
        return r;
    if (r == 0)
        r = jail_add(c, spec->kernel, false);
    if (r == 0)
        r = jail_add(c, spec->initrd, false);
    /* The cloud-init seed is written when the machine starts, in the jail. */
    if (r == 0)
        r = jail_add(c, spec->cloud_init, false);
    if (r == 0)
        r = jail_add(c, spec->ssh_key, false);
    if (r == 0 && spec->cdrom) {
        jail_keep(spec->cdrom, O_RDONLY | O_NONBLOCK);    /* read-only, as a disk */
        r = jail_add(c, spec->cdrom, false);
    }
    /* User networking forwards the guest's DNS to the host's servers:
     * libslirp reads them from here when the guest first asks. */
    struct net_options no;
    spec_net_options(spec, &no);
    if (r == 0 && net_effective_mode(&no) == NET_MODE_USER)
        r = jail_add(c, "/etc/resolv.conf", false);
    /* Its TFTP server (network boot) serves files from this folder. */
    if (r == 0 && net_effective_mode(&no) == NET_MODE_USER && no.tftp_root[0])
        r = jail_add(c, no.tftp_root, false);
    /* A firmware boot reads SeaBIOS, its VGA BIOS and iPXE's virtio ROM
     * at each (re)boot, and a display the VGA BIOS (its font): Debian's
     * packaged files, shown read-only. */
    bool firmware = spec_firmware(spec) == SPEC_FW_BIOS || spec_has_display(spec);
    for (size_t i = 0; r == 0 && firmware && i < sizeof(firmware_dirs) / sizeof(firmware_dirs[0]);
         i++)
        r = jail_add(c, firmware_dirs[i], false);
    if (r == 0 && spec_firmware(spec) == SPEC_FW_BIOS)
        r = jail_add(c, getenv("HOSTEL_BIOS"), false);
    for (size_t i = 0; r == 0 && i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++)
        r = jail_add(c, dev_nodes[i], false);
    if (r < 0)
        return err_set(e, r, "jail: more than %d paths to show", JAIL_MAX_PATHS);
    /* --serial file:PATH, made (as the user asked) and kept for writing:
     * the console opens it after the jail, from this fd. */
    if (spec->serial && !strncmp(spec->serial, "file:", 5) && spec->serial[5]) {
        const char *p = spec->serial + 5;
        int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int kr = fd < 0 ? -errno : jail_keep(p, O_WRONLY | O_APPEND);
        if (fd >= 0)
            close(fd);
        if (kr < 0)
            return err_set(e, kr, "cannot open %s for writing: %s", p, strerror(-kr));
    }
    /* --display's password file, read after the jail (a named machine's
     * daemon enters it before the display is made). */
    struct spec_display sd;
    if (spec_has_display(spec) && spec_parse_display(spec->display, &sd, NULL) == 0 &&
        sd.password_file[0]) {
        int kr = jail_keep(sd.password_file, O_RDONLY);
        if (kr < 0)
            return err_set(e, kr, "--display: cannot read the password file %s: %s",
                           sd.password_file, strerror(-kr));
    }
    if (getenv("HOSTEL_STATS"))
        jail_keep("/proc/self/smaps", O_RDONLY);    /* bench/startup's memory figure */
    if (access("/dev/kvm", R_OK | W_OK) == 0)
        jail_keep("/dev/kvm", O_RDWR);
    if (spec->tap) {
        /* TUNSETIFF on the kept /dev/net/tun needs CAP_NET_ADMIN: kept,
         * alone (docs/security.md). */
        int kr = jail_keep("/dev/net/tun", O_RDWR);
        if (kr < 0)
            return err_set(e, kr, "jail: cannot open /dev/net/tun: %s", strerror(-kr));
        c->keep_net_admin = true;
    }
    return 0;
}

int machine_jail(const struct machine_spec *spec, const char *folder,
                 const struct jail_extra *x, char *report, size_t report_len, struct err *e)
{
    if (jail_active())
        return 0;
    if (report && report_len)
        report[0] = 0;
    if (geteuid() != 0 || !spec->sandbox)
        return 0;
    struct jail_config c = { 0 };
    int r = jail_user_for(spec->jail_user, &c.uid, &c.gid, e);
    if (r < 0)
        return r;
    if (r > 0) {
        const char *how = spec->jail_user ? "--jail-user off" : "HOSTEL_JAIL_USER=off";
        log_warn("the VMM runs as root WITHOUT its jail (%s): a guest that breaks out of a "
                 "device model reaches every file root can", how);
        say(report, report_len, "off (%s)", how);
        return 0;
    }
    int n = threads_now();
    if (n != 1)
        return err_set(e, -EBUSY, "jail: the VMM has %d threads already; it must enter the jail "
                       "with one (a hostel bug)", n);
    char host_id[330];
    migrate_host_id(host_id, sizeof(host_id));   /* read now: /proc is not in the jail */
    r = collect(spec, folder, &c, e);
    if (r == 0 && x && x->save_folder) {
        if (jail_add_foreign(&c, x->save_folder, true) < 0)
            r = err_set(e, -E2BIG, "jail: more than %d paths to show", JAIL_MAX_PATHS);
        c.keep_file_caps = true;
    }
    if (x && x->file_caps)
        c.keep_file_caps = true;
    int npaths = c.npaths;
    if (r == 0)
        r = jail_enter(&c, e);
    jail_config_free(&c);
    if (r < 0)
        return r;
    /* The machine's folder is the one writable place in the jail: temporary
     * files (libarchive's, for the cloud-init seed) go there. */
    if (folder)
        setenv("TMPDIR", folder, 1);
    bool ctl = x && x->save_folder;
    const char *files = !c.keep_file_caps ? ""
                        : spec->nshares && ctl ? ", file capabilities on its share and control "
                                                 "threads alone"
                        : spec->nshares ? ", file capabilities on its share threads alone"
                        : ctl ? ", file capabilities on its control threads alone"
                        : ", file capabilities permitted, not effective";
    log_info("jail: uid %u gid %u, no capabilities%s%s, a mount namespace showing %d paths",
             (unsigned)c.uid, (unsigned)c.gid, c.keep_net_admin ? " but CAP_NET_ADMIN (tap)" : "",
             files, npaths);
    if (report)
        snprintf(report, report_len, "on (uid %u gid %u, %s%s, %d paths in its mount namespace)",
                 (unsigned)c.uid, (unsigned)c.gid,
                 c.keep_net_admin ? "only CAP_NET_ADMIN (tap)" : "no capabilities", files, npaths);
    return 0;
}
