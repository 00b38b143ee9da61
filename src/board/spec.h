/* The machine spec: everything that describes a machine, however it was
 * given: `hostel run`'s flags, an appliance's manifest, a named machine's
 * folder (and later a snapshot).  Each source has one parser that yields a
 * spec *layer* (only the fields it sets); layers are laid over the defaults
 * with spec_apply, and board/run.c turns the result into a running machine.
 * The JSON form (spec_to_json / spec_from_json) is what a machine's folder
 * stores; docs/machines.md describes it. */
#ifndef HOSTEL_SPEC_H
#define HOSTEL_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "net/net.h"

#define SPEC_MAX_DISKS 8
#define SPEC_MAX_SHARES 8
#define SPEC_SHARE_TAG_MAX 36    /* virtio-fs config tag bytes */
#define SPEC_MAX_CPUS 64
#define SPEC_MIN_MEMORY (16ULL << 20)
#define SPEC_MAX_MEMORY (1ULL << 40)
/* What --memory-limit must leave the VMM above the guest's RAM. */
#define SPEC_VMM_OVERHEAD (64ULL << 20)
/* Of that, what the VMM needs beside the engine's caches (devices' buffers,
 * libslirp, threads' stacks); the rest of a memory limit is the caches'. */
#define SPEC_VMM_OTHER (32ULL << 20)

/* Which scalar fields a layer sets. */
enum spec_field {
    SPEC_KERNEL    = 1u << 0,
    SPEC_INITRD    = 1u << 1,
    SPEC_CMDLINE   = 1u << 2,
    SPEC_CPUS      = 1u << 3,
    SPEC_MEMORY    = 1u << 4,
    SPEC_ENGINE    = 1u << 5,
    SPEC_SERIAL    = 1u << 6,
    SPEC_CONSOLE   = 1u << 7,
    SPEC_RNG       = 1u << 8,
    SPEC_NO_REBOOT = 1u << 9,
    SPEC_WATCHDOG  = 1u << 10,
    SPEC_NET       = 1u << 11,
    SPEC_MAC       = 1u << 12,
    SPEC_APPLIANCE = 1u << 13,
    SPEC_FIRMWARE  = 1u << 14,
    SPEC_BOOT      = 1u << 15,
    SPEC_CDROM     = 1u << 16,
    SPEC_CLOUD_INIT = 1u << 17,
    SPEC_SSH_KEY   = 1u << 18,
    SPEC_CPU       = 1u << 19,
    SPEC_NET_LIMIT = 1u << 20,
    SPEC_CPU_LIMIT = 1u << 21,
    SPEC_MEMORY_LIMIT = 1u << 22,
    SPEC_SANDBOX   = 1u << 23,
    SPEC_DISPLAY   = 1u << 24,
    SPEC_HPET      = 1u << 25,
    SPEC_JAIL_USER = 1u << 26,
};

/* What runs first: the PC firmware (SeaBIOS from Debian's seabios package),
 * or hostel's own loaders handing the kernel its boot state directly.  Auto:
 * the firmware unless a kernel is given (docs/boot.md). */
enum spec_firmware { SPEC_FW_AUTO = 0, SPEC_FW_NONE, SPEC_FW_BIOS, SPEC_FW_UEFI };

/* Boot devices, in the order --boot lists them (at most one of each). */
enum spec_boot_dev { SPEC_BOOT_DISK = 1, SPEC_BOOT_CDROM, SPEC_BOOT_NETWORK };
#define SPEC_BOOT_MAX 3

/* A virtio-blk disk.  With path NULL it is a blank disk of size bytes:
 * `hostel run` backs it with a deleted temporary file, `hostel create` makes
 * a file in the machine's folder. */
struct spec_disk {
    char *path;
    uint64_t size;
    int format;              /* enum block_format (block/block.h) */
    bool readonly;
    bool seed;               /* the cloud-init seed hostel made (not a boot disk) */
    uint64_t bps, iops;      /* rate limits, bytes/s and requests/s (0: none) */
};

/* A shared folder (virtio-fs): the host directory, the tag the guest
 * mounts it by, read-only, and the guest ids the hostel user's files
 * appear as (docs/shares.md). */
struct spec_share {
    char *dir;               /* absolute */
    char tag[SPEC_SHARE_TAG_MAX + 1];
    bool readonly;
    uint32_t uid, gid;
};

struct machine_spec {
    uint32_t set;            /* SPEC_* fields this layer gives */
    char *appliance;         /* the appliance it was made from (a folder), or NULL */
    char *kernel, *initrd, *cmdline;
    int cpus;
    uint64_t memory;
    char *engine;            /* auto, kvm or emu */
    char *cpu;               /* the CPU model: NULL or "host" (the engine's own), or
                              * "portable" (one every engine shows: docs/migration.md) */
    char *serial;            /* stdio, none or file:PATH */
    bool virtio_console;     /* --console virtio */
    bool rng;
    bool hpet;               /* the HPET at 0xfed00000 and its ACPI table (default on) */
    bool no_reboot;
    int watchdog_s;          /* 0: off */
    int ndisks;
    struct spec_disk disks[SPEC_MAX_DISKS];
    /* Network: a mode, its options, forwards (user mode) and the NIC's MAC. */
    enum net_mode net_mode;
    bool net_restrict;
    unsigned net_mtu;        /* user networking's link MTU (mtu=N; 0: the default) */
    char *tap;
    char *net_switch;        /* --net switch=NAME[,name=LABEL]: what follows "switch=" */
    int nforwards;
    struct net_forward forwards[NET_MAX_FORWARDS];
    uint8_t mac[6];
    /* Shares by tag: a layer's share replaces the one with its tag;
     * shares_clear (--share none) drops those from below first. */
    int nshares;
    struct spec_share shares[SPEC_MAX_SHARES];
    bool shares_clear;
    char *tftp, *bootfile;   /* user networking: TFTP root and BOOTP file name (PXE) */
    /* Firmware boot (docs/boot.md). */
    int firmware;            /* enum spec_firmware */
    uint8_t boot[SPEC_BOOT_MAX];   /* enum spec_boot_dev, 0-terminated; empty: disk, cdrom, network */
    char *cdrom;             /* an ISO image on the CD-ROM drive */
    char *cloud_init;        /* user-data for a cloud-init NoCloud seed hostel makes */
    char *ssh_key;           /* a public key file: the seed's default user gets it */
    /* The screen (docs/display.md): NULL or "none" (no display device), or
     * "vnc" / "vnc=ADDR:PORT" (a VGA with the Bochs VBE extension, shown
     * over VNC; the default listens on 127.0.0.1:5900 and up). */
    char *display;
    /* Isolation and limits (docs/security.md). */
    uint64_t net_bps, net_pps;      /* the NIC's rate limits each way (0: none) */
    uint32_t cpu_limit_milli;       /* host CPU, thousandths of a core (0: none) */
    uint64_t memory_limit;          /* the VMM process's hard memory cap (0: none) */
    bool sandbox;                   /* seccomp confinement (default on) */
    char *jail_user;                /* the root jail's user: a name, UID[:GID] or "off";
                                     * NULL: $HOSTEL_JAIL_USER or the default */
    /* --disk-limit N,bps=..,iops=..: new limits for disk N of the spec
     * below (a layer's change to a disk it does not list). */
    struct {
        bool set;
        uint64_t bps, iops;
    } disk_limit[SPEC_MAX_DISKS];
};

/* The firmware a spec boots with: SPEC_FW_NONE or SPEC_FW_BIOS/UEFI, auto
 * resolved (the firmware unless a kernel is given). */
int spec_firmware(const struct machine_spec *s);
/* The boot order (fills order, returns its length): --boot, or the default
 * disk, cdrom, network. */
int spec_boot_order(const struct machine_spec *s, uint8_t order[SPEC_BOOT_MAX]);

/* An empty layer; spec_defaults gives hostel run's defaults, every field set. */
void spec_init(struct machine_spec *s);
void spec_defaults(struct machine_spec *s);
void spec_free(struct machine_spec *s);
int spec_copy(struct machine_spec *dst, const struct machine_spec *src);

/* Lays layer over s: each field the layer sets replaces s's; the layer's
 * disks come after s's; its forwards replace s's for the same protocol and
 * guest port and are added otherwise; a network mode of none or tap drops
 * s's forwards.  -EINVAL (too many disks or forwards) with e set. */
int spec_apply(struct machine_spec *s, const struct machine_spec *layer, struct err *e);

/* A complete spec makes sense: a kernel, sizes in range, forwards only with
 * user networking.  Messages name the flag a user would change. */
int spec_check(const struct machine_spec *s, struct err *e);

/* Whether the spec has a display, and where its VNC server listens:
 * "none", "vnc" or "vnc=[ADDR]:PORT[,password-file=FILE]": the address
 * (127.0.0.1 unless given), the TCP port (0: the first free one from 5900)
 * and the file holding the VNC password ("" for none).  -EINVAL with e
 * for text --display refuses. */
struct spec_display {
    char addr[64];
    int port;
    char password_file[4096];
};
bool spec_has_display(const struct machine_spec *s);
int spec_parse_display(const char *text, struct spec_display *out, struct err *e);

/* The network as net/ wants it; tap_name points into s. */
void spec_net_options(const struct machine_spec *s, struct net_options *o);

/* One option, by its `hostel run` name without dashes ("cpus", "disk",
 * "forward", ...), and its argument: the parser behind every command's
 * flags.  -ENOENT for a name that is not a spec option. */
int spec_set_option(struct machine_spec *s, const char *name, const char *arg, struct err *e);

/* The JSON form: only the fields the layer sets.  spec_from_json is strict:
 * an unknown key or a malformed value is an error naming it. */
json_t *spec_to_json(const struct machine_spec *s);
int spec_from_json(json_t *o, struct machine_spec *s, struct err *e);

/* Parsers of the option values, shared by flags and JSON. */
int spec_parse_disk(const char *text, struct spec_disk *d, struct err *e);
void spec_format_disk(const struct spec_disk *d, char *buf, size_t len);
int spec_parse_net(const char *text, struct machine_spec *s, struct err *e);
void spec_format_net(const struct machine_spec *s, char *buf, size_t len);
/* HOSTDIR:TAG[,ro][,uid=N][,gid=N]; a relative HOSTDIR is made absolute. */
int spec_parse_share(const char *text, struct spec_share *sh, struct err *e);
void spec_format_share(const struct spec_share *sh, char *buf, size_t len);
/* --net-limit bps=SIZE[,pps=N] or none; its text back ("" when none). */
int spec_parse_net_limit(const char *text, struct machine_spec *s, struct err *e);
void spec_format_net_limit(const struct machine_spec *s, char *buf, size_t len);
/* --cpu-limit 0.5: "0.5" back. */
void spec_format_cpu_limit(uint32_t milli, char *buf, size_t len);
/* "cdrom,disk": the boot order as --boot takes it. */
void spec_format_boot(const struct machine_spec *s, char *buf, size_t len);

#endif
