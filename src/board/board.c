/* The PC board: every device a machine gets, in one explicit list, created
 * in order and destroyed in reverse; and the one place that knows where
 * each device's ports, interrupt lines and MSIs go. */
#include "board/board.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "board/firmware.h"
#include "board/layout.h"
#include "board/snapfile.h"
#include "host/chardev.h"
#include "host/display.h"
#include "hw/acpi_pm.h"
#include "hw/debugexit.h"
#include "hw/fw_cfg.h"
#include "hw/hpet.h"
#include "hw/i8042.h"
#include "hw/irqchip.h"
#include "hw/pci.h"
#include "hw/pit.h"
#include "hw/post.h"
#include "hw/rom.h"
#include "hw/rtc.h"
#include "hw/uart.h"
#include "hw/vga.h"
#include "hw/virtio/blk.h"
#include "hw/virtio/console.h"
#include "hw/virtio/fs.h"
#include "hw/virtio/net.h"
#include "hw/virtio/rng.h"
#include "hw/virtio/scsi.h"
#include "hw/scsi_cd.h"
#include "lib/file.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/ratelimit.h"
#include "machine/vm.h"
#include "net/net.h"
#include "share/server.h"

struct board {
    struct vm *vm;
    struct irqchip *irqchip;     /* ours, when the engine has no in-kernel one */
    struct pit *pit;
    struct uart *com1;
    struct rtc *rtc;
    struct hpet *hpet;           /* spec->hpet: on both engines, in user space */
    struct i8042 *i8042;
    struct debugexit *debugexit;
    bool post;
    struct pci_bus *pci;
    struct acpi_pm *acpi_pm;
    struct blockdev *disks[SPEC_MAX_DISKS];
    struct virtio_blk *blks[SPEC_MAX_DISKS];
    struct blockdev *cdrom_image;
    struct virtio_scsi *cdrom;   /* --cdrom: a CD-ROM drive on virtio-scsi */
    struct virtio_rng *rng;
    struct virtio_console *vcon;
    struct virtio_net *net;
    struct share_server *share_srv[SPEC_MAX_SHARES];
    struct virtio_fs *fs[SPEC_MAX_SHARES];
    char share_tag[SPEC_MAX_SHARES][SPEC_SHARE_TAG_MAX + 1];
    struct chardev *console;
    struct rom *bios;            /* the firmware at the top of 4 GiB (firmware boot) */
    struct fw_cfg *fw_cfg;
    struct vga *vga;             /* --display: the VGA, its keys through the i8042 */
    struct display *display;
};

/* ---- interrupt wiring ---------------------------------------------------- */

/* With an in-kernel irqchip (kvm) a line is a GSI of the engine's. */
static void engine_line_set(void *opaque, unsigned gsi, int level)
{
    struct vm *vm = opaque;
    vm->engine->set_irq(vm, gsi, level);
}

static void engine_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    struct vm *vm = opaque;
    vm->engine->signal_msi(vm, addr, data);
}

/* Our IOAPIC's messages go to the engine's local APICs. */
static void engine_apic_deliver(void *opaque, const struct apic_msg *msg)
{
    struct vm *vm = opaque;
    vm->engine->apic_deliver(vm, msg);
}

static struct irq_line line(struct board *b, unsigned gsi)
{
    if (b->irqchip)
        return irqchip_line(b->irqchip, gsi);
    return (struct irq_line){ .set = engine_line_set, .opaque = b->vm, .n = gsi };
}

static struct irq_line hpet_line(void *opaque, unsigned gsi)
{
    return line(opaque, gsi);
}

static struct msi_sink msi(struct board *b)
{
    if (b->irqchip)
        return irqchip_msi_sink(b->irqchip);
    return (struct msi_sink){ .send = engine_msi_send, .opaque = b->vm };
}

/* vm->power_button: the ACPI power button (for `hostel stop`). */
static void press_power_button(struct vm *vm)
{
    struct board *b = vm->board;
    if (b && b->acpi_pm)
        acpi_pm_power_button(b->acpi_pm);
}

/* Ctrl-A x on the console: true when this machine took it. */
static bool console_quit(void *opaque)
{
    struct vm *vm = opaque;
    if (atomic_load(&vm->stop) != VM_RUNNING)
        return false;
    vm_request_stop(vm, VM_STOP_QUIT, 0);
    return true;
}

/* vm->quiesce: every device thread stops touching RAM and lines while the
 * machine is paused, and starts again in reverse order. */
static void quiesce(struct vm *vm, bool pause)
{
    struct board *b = vm->board;
    if (!b)
        return;
    if (pause) {
        uart_pause(b->com1);
        i8042_pause(b->i8042);
        rtc_pause(b->rtc);
        acpi_pm_pause(b->acpi_pm);
        for (int i = 0; i < SPEC_MAX_DISKS; i++)
            if (b->blks[i])
                virtio_blk_pause(b->blks[i]);
        if (b->cdrom)
            virtio_scsi_pause(b->cdrom);
        if (b->rng)
            virtio_rng_pause(b->rng);
        if (b->vcon)
            virtio_console_pause(b->vcon);
        if (b->net)
            virtio_net_pause(b->net);
        for (int i = 0; i < SPEC_MAX_SHARES; i++)
            if (b->fs[i])
                virtio_fs_pause(b->fs[i]);
    } else {
        for (int i = SPEC_MAX_SHARES - 1; i >= 0; i--)
            if (b->fs[i])
                virtio_fs_resume(b->fs[i]);
        if (b->net)
            virtio_net_resume(b->net);
        if (b->vcon)
            virtio_console_resume(b->vcon);
        if (b->rng)
            virtio_rng_resume(b->rng);
        if (b->cdrom)
            virtio_scsi_resume(b->cdrom);
        for (int i = SPEC_MAX_DISKS - 1; i >= 0; i--)
            if (b->blks[i])
                virtio_blk_resume(b->blks[i]);
        acpi_pm_resume(b->acpi_pm);
        rtc_resume(b->rtc);
        i8042_resume(b->i8042);
        uart_resume(b->com1);
    }
}

/* ---- firmware boot ---------------------------------------------------------- */

/* The BIOS at the top of 4 GiB (read-only: through the engine's ROM mapping
 * where it has one, else the MMIO bus), its last 128 KiB in RAM at 0xE0000
 * where the reset vector's far jump lands (the i440FX's shadow RAM, as the
 * firmware finds it after a reset), fw_cfg with what it reads, and the
 * CMOS bytes it looks at. */
static int board_firmware(struct board *b, const struct machine_spec *spec,
                          const struct board_host *host, struct err *e)
{
    struct vm *vm = b->vm;
    uint64_t base = MEM_HIGH_START - host->bios_len;
    int r = rom_create(&vm->mmio, base, host->bios, host->bios_len, &b->bios);
    if (r < 0)
        return err_set(e, r, "cannot map the BIOS at %#llx: %s", (unsigned long long)base,
                       strerror(-r));
    if (vm->engine->map_rom) {
        r = vm->engine->map_rom(vm, base, rom_host(b->bios), host->bios_len);
        if (r < 0)
            return err_set(e, r, "engine %s cannot map the BIOS read-only at %#llx: %s",
                           vm->engine->name, (unsigned long long)base, strerror(-r));
    }
    size_t low = host->bios_len < FIRMWARE_LOW_ALIAS ? host->bios_len : FIRMWARE_LOW_ALIAS;
    if (!host->ram_restored &&
        mem_write(&vm->mem, 0x100000 - low, host->bios + host->bios_len - low, low) < 0)
        return err_set(e, -EFAULT, "no guest RAM below 1 MiB for the BIOS");
    r = fw_cfg_create(&vm->pio, FW_CFG_PORT_SEL, &vm->mem, &b->fw_cfg);
    if (r < 0)
        return err_set(e, r, "cannot create fw_cfg at 0x%x: %s", FW_CFG_PORT_SEL, strerror(-r));
    struct firmware_devices devs = { .cdrom_slot = -1, .net_slot = -1 };
    for (int i = 0; i < spec->ndisks && i < SPEC_MAX_DISKS; i++)
        if (b->blks[i] && !spec->disks[i].seed)
            devs.disk_slot[devs.ndisks++] = virtio_blk_slot(b->blks[i]);
    if (b->net)
        devs.net_slot = virtio_net_slot(b->net);
    if (b->cdrom)
        devs.cdrom_slot = virtio_scsi_slot(b->cdrom);
    devs.vga = b->vga != NULL;
    uint8_t r3d, r38;
    firmware_cmos_boot(spec, &r3d, &r38);
    rtc_set_cmos(b->rtc, 0x3d, r3d);
    rtc_set_cmos(b->rtc, 0x38, r38);
    rtc_set_cmos(b->rtc, 0x5f, (uint8_t)(vm->ncpus - 1));   /* CPUs besides the first */
    return firmware_configure(b->fw_cfg, &vm->mem, spec, &devs, e);
}

/* ---- the display ------------------------------------------------------------ */

/* The VGA on the PCI bus, drawing with the 8x16 font of the VGA BIOS the
 * firmware runs; the display's keys and pointer go to the i8042. */
static int board_display(struct board *b, struct display *d, struct err *e)
{
    struct vm *vm = b->vm;
    struct file_buf rom;
    int r = file_read_all(FIRMWARE_VGA_ROM, &rom);
    if (r < 0)
        return err_set(e, r, "--display: cannot read the VGA BIOS %s (its font draws text "
                       "mode): %s (install Debian's seabios package; scripts/deps.sh does)",
                       FIRMWARE_VGA_ROM, strerror(-r));
    struct vga_wiring w = { .pio = &vm->pio, .pci = b->pci, .mem = &vm->mem, .display = d,
                            .font = vga_find_font(rom.data, rom.len) };
    if (!w.font)
        log_warn("--display: no 8x16 font found in %s: text is drawn as boxes",
                 FIRMWARE_VGA_ROM);
    r = vga_create(&w, &b->vga);
    file_buf_free(&rom);
    if (r < 0)
        return err_set(e, r, "cannot create the VGA (ports 0x%x and 0x%x, PCI 1234:1111): %s",
                       VGA_PORT_BASE, VBE_PORT_INDEX, strerror(-r));
    b->display = d;
    i8042_attach_display(b->i8042, d);
    return 0;
}

/* ---- the device list ------------------------------------------------------ */

int board_create(struct vm *vm, const struct machine_spec *spec, const struct board_host *host,
                 struct err *e)
{
    struct board *b = calloc(1, sizeof(*b));
    struct stop_request stop = vm_stop_request(vm);
    int r;

    if (!b)
        return err_set(e, -ENOMEM, "out of memory for the board");
    b->vm = vm;
    struct chardev *console = host->console;
    b->console = console;
    vm->board = b;

    if (!vm->engine->irqchip_in_engine) {
        struct irqchip_wiring w = {
            .pio = &vm->pio, .mmio = &vm->mmio,
            .pic_master = PORT_PIC_MASTER, .pic_slave = PORT_PIC_SLAVE, .elcr = PORT_ELCR,
            .ioapic_base = LAYOUT_IOAPIC,
            .apic = { .deliver = engine_apic_deliver, .opaque = vm },
        };
        r = irqchip_create(&w, &b->irqchip);
        if (r < 0) {
            err_set(e, r, "cannot create the interrupt controllers (PIC at 0x%x, IOAPIC at "
                    "%#llx) for engine %s: %s", PORT_PIC_MASTER,
                    (unsigned long long)LAYOUT_IOAPIC, vm->engine->name, strerror(-r));
            goto fail;
        }
        vm->ext_intr = irqchip_ext_intr(b->irqchip);
        r = pit_create(&vm->pio, PORT_PIT, PORT_SYSCTL, &vm->clock, line(b, IRQ_PIT),
                       b->irqchip, &b->pit);
        if (r < 0) {
            err_set(e, r, "cannot create the PIT at 0x%x (and port 0x%x) for engine %s: %s",
                    PORT_PIT, PORT_SYSCTL, vm->engine->name, strerror(-r));
            goto fail;
        }
    }
    r = uart_create(&vm->pio, PORT_COM1, line(b, IRQ_COM1), console, &b->com1);
    if (r < 0) {
        err_set(e, r, "cannot create the serial port COM1 at 0x%x: %s", PORT_COM1,
                strerror(-r));
        goto fail;
    }
    r = rtc_create(&vm->pio, PORT_RTC, line(b, IRQ_RTC), vm->mem.low_size, vm->mem.high_size,
                   &b->rtc);
    if (r < 0) {
        err_set(e, r, "cannot create the RTC at 0x%x: %s", PORT_RTC, strerror(-r));
        goto fail;
    }
    if (spec->hpet) {
        r = hpet_create(&vm->mmio, LAYOUT_HPET, &vm->clock, hpet_line, b, &b->hpet);
        if (r < 0) {
            err_set(e, r, "cannot create the HPET at %#llx: %s",
                    (unsigned long long)LAYOUT_HPET, strerror(-r));
            goto fail;
        }
    }
    r = i8042_create(&vm->pio, PORT_I8042_DATA, PORT_I8042_CMD, line(b, IRQ_KBD),
                     line(b, IRQ_AUX), stop, &b->i8042);
    if (r < 0) {
        err_set(e, r, "cannot create the keyboard controller at 0x%x: %s", PORT_I8042_DATA,
                strerror(-r));
        goto fail;
    }
    r = debugexit_create(&vm->pio, PORT_DEBUG_EXIT, stop, &b->debugexit);
    if (r < 0) {
        err_set(e, r, "cannot create the debug-exit port 0x%x: %s", PORT_DEBUG_EXIT,
                strerror(-r));
        goto fail;
    }
    r = post_create(&vm->pio, PORT_POST);
    if (r < 0) {
        err_set(e, r, "cannot claim the POST port 0x%x: %s", PORT_POST, strerror(-r));
        goto fail;
    }
    b->post = true;
    struct pci_host_wiring pw = {
        .pio = &vm->pio, .mmio = &vm->mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { line(b, PCI_IRQ_A), line(b, PCI_IRQ_B) }, .msi = msi(b), .reset = stop,
        .fixed = {
            { 0, vm->mem.low_size, "guest RAM" },
            { 1ULL << 32, vm->mem.high_size, "guest RAM" },
            { LAYOUT_PCI_MMIO_END, (1ULL << 32) - LAYOUT_PCI_MMIO_END,
              "the IOAPIC, HPET, LAPIC and firmware range" },
        },
        .nfixed = 3,
    };
    r = pci_bus_create(&pw, &b->pci);
    if (r < 0) {
        err_set(e, r, "cannot create the PCI host bridge at 0x%x: %s", PORT_PCI_CONFIG_ADDR,
                strerror(-r));
        goto fail;
    }
    /* The display first: the lowest free slot, as on a PC. */
    if (host->display) {
        r = board_display(b, host->display, e);
        if (r < 0)
            goto fail;
        if (!host->bios && !host->ram_restored)
            vga_clear_text(b->vga);   /* what the VGA BIOS would have done */
    }
    /* virtio devices: disks first, so they take the lowest PCI slots. */
    for (int i = 0; i < spec->ndisks && i < SPEC_MAX_DISKS; i++) {
        const struct spec_disk *dk = &spec->disks[i];
        struct block_open_opts o = { .format = (enum block_format)dk->format,
                                     .readonly = dk->readonly };
        char serial[24];
        if (!dk->path) {
            r = err_set(e, -EINVAL, "disk %d has no image (a blank disk must be made first)", i);
            goto fail;
        }
        r = block_open(dk->path, &o, &b->disks[i], e);
        if (r < 0)
            goto fail;
        snprintf(serial, sizeof(serial), "hostel-disk%d", i);
        r = virtio_blk_create(&vm->mem, b->pci, b->disks[i], serial, &b->blks[i]);
        if (r < 0) {
            err_set(e, r, "cannot create virtio-blk for %s: %s", dk->path, strerror(-r));
            goto fail;
        }
        if (dk->bps || dk->iops) {
            struct rate_limits lim = { .bytes_per_s = dk->bps, .ops_per_s = dk->iops };
            virtio_blk_set_limits(b->blks[i], &lim);
        }
    }
    if (spec->cdrom) {
        struct block_open_opts o = { .format = BLOCK_FORMAT_RAW, .readonly = true };
        r = block_open(spec->cdrom, &o, &b->cdrom_image, e);
        if (r < 0) {
            err_wrap(e, "--cdrom");
            goto fail;
        }
        r = scsi_cd_check_image(b->cdrom_image, spec->cdrom, e);
        if (r < 0)
            goto fail;
        r = virtio_scsi_create(&vm->mem, b->pci, b->cdrom_image, &b->cdrom);
        if (r < 0) {
            err_set(e, r, "cannot create the CD-ROM drive (virtio-scsi) for %s: %s", spec->cdrom,
                    strerror(-r));
            goto fail;
        }
    }
    if (spec->rng) {
        r = virtio_rng_create(&vm->mem, b->pci, &b->rng);
        if (r < 0) {
            err_set(e, r, "cannot create virtio-rng: %s (--rng off leaves it out)", strerror(-r));
            goto fail;
        }
    }
    if (spec->virtio_console) {
        r = virtio_console_create(&vm->mem, b->pci, console, &b->vcon);
        if (r < 0) {
            err_set(e, r, "cannot create virtio-console: %s", strerror(-r));
            goto fail;
        }
    }
    struct net_options net;
    spec_net_options(spec, &net);
    if (net_effective_mode(&net) != NET_MODE_NONE) {
        uint8_t mac[6];
        if (net.mac_set)
            memcpy(mac, net.mac, 6);
        else
            net_default_mac(spec->kernel, spec->cmdline, mac);
        net.bound = host->bound;
        net.defer_forwards = host->defer_forwards;
        r = virtio_net_create(&vm->mem, b->pci, &net, mac, &b->net, e);
        if (r < 0) {
            err_wrap(e, "cannot create virtio-net");
            goto fail;
        }
        if (spec->net_bps || spec->net_pps) {
            struct rate_limits lim = { .bytes_per_s = spec->net_bps, .ops_per_s = spec->net_pps };
            virtio_net_set_limits(b->net, &lim);
        }
        log_info("virtio-net %02x:%02x:%02x:%02x:%02x:%02x on %s networking", mac[0], mac[1],
                 mac[2], mac[3], mac[4], mac[5],
                 net_mode_name(net_effective_mode(&net)));
    }
    /* Shared folders: one virtio-fs device and server per share. */
    for (int i = 0; i < spec->nshares && i < SPEC_MAX_SHARES; i++) {
        const struct spec_share *sh = &spec->shares[i];
        struct share_options so = { .dir = sh->dir, .readonly = sh->readonly,
                                    .guest_uid = sh->uid, .guest_gid = sh->gid };
        if (jail_active()) {
            /* Its /proc/self/fd was kept before the jail (jail_setup.c). */
            so.jailed = true;
            jail_outside_ids(&so.owner_uid, &so.owner_gid);
            so.proc_fd = jail_open("/proc/self/fd", O_PATH | O_DIRECTORY);
            if (so.proc_fd < 0) {
                r = err_set(e, -errno, "--share %s:%s: no /proc/self/fd kept for the jail: %s",
                            sh->dir, sh->tag, strerror(errno));
                goto fail;
            }
        }
        r = share_server_open(&so, &b->share_srv[i], e);
        if (r < 0) {
            err_wrap(e, "--share %s:%s", sh->dir, sh->tag);
            goto fail;
        }
        snprintf(b->share_tag[i], sizeof(b->share_tag[i]), "%s", sh->tag);
        r = virtio_fs_create(&vm->mem, b->pci, b->share_srv[i], sh->tag, &b->fs[i]);
        if (r < 0) {
            err_set(e, r, "cannot create virtio-fs for the share '%s' (%s): %s", sh->tag,
                    sh->dir, strerror(-r));
            goto fail;
        }
        log_info("share '%s': %s%s", sh->tag, sh->dir, sh->readonly ? " (read-only)" : "");
    }
    r = acpi_pm_create(&vm->pio, PORT_ACPI_PM, line(b, IRQ_SCI), &vm->clock, stop,
                       &b->acpi_pm);
    if (r < 0) {
        err_set(e, r, "cannot create the ACPI PM block at 0x%x: %s", PORT_ACPI_PM,
                strerror(-r));
        goto fail;
    }
    if (host->bios) {
        r = board_firmware(b, spec, host, e);
        if (r < 0)
            goto fail;
    }
    vm->power_button = press_power_button;
    vm->quiesce = quiesce;
    /* Last: from here on Ctrl-A x stops this machine. */
    chardev_attach(console, console_quit, vm);
    return 0;

fail:
    board_destroy(vm);
    return r;
}

void board_destroy(struct vm *vm)
{
    struct board *b = vm->board;
    if (!b)
        return;
    chardev_attach(b->console, NULL, NULL);
    vm->power_button = NULL;
    vm->quiesce = NULL;
    fw_cfg_destroy(b->fw_cfg);
    rom_destroy(b->bios);
    acpi_pm_destroy(b->acpi_pm);
    for (int i = SPEC_MAX_SHARES - 1; i >= 0; i--) {
        virtio_fs_destroy(b->fs[i]);
        share_server_close(b->share_srv[i]);
    }
    virtio_net_destroy(b->net);
    virtio_console_destroy(b->vcon);
    virtio_rng_destroy(b->rng);
    virtio_scsi_destroy(b->cdrom);
    if (b->cdrom_image)
        block_close(b->cdrom_image);
    for (int i = SPEC_MAX_DISKS - 1; i >= 0; i--) {
        virtio_blk_destroy(b->blks[i]);
        if (b->disks[i])
            block_close(b->disks[i]);
    }
    if (b->display)
        i8042_attach_display(b->i8042, NULL);
    vga_destroy(b->vga);
    pci_bus_destroy(b->pci);
    if (b->post)
        post_destroy(&vm->pio, PORT_POST);
    debugexit_destroy(b->debugexit);
    i8042_destroy(b->i8042);
    hpet_destroy(b->hpet);
    rtc_destroy(b->rtc);
    uart_destroy(b->com1);
    if (b->pit)
        pit_destroy(b->pit);
    if (b->irqchip) {
        memset(&vm->ext_intr, 0, sizeof(vm->ext_intr));
        irqchip_destroy(b->irqchip);
    }
    free(b);
    vm->board = NULL;
}

/* ---- state ------------------------------------------------------------------ */

/* Every device's state, by section name, in one table: what save writes
 * and load expects.  The names carry the wiring (port, disk index), so a
 * snapshot of another board shape is refused by name, not misread. */
enum dev_kind { D_PCI, D_UART, D_RTC, D_I8042, D_ACPI_PM, D_BLK, D_RNG, D_VCON, D_NET,
                D_NET_BACKEND, D_SCSI, D_VGA, D_HPET };

struct dev_ref {
    enum dev_kind kind;
    int index;
    char name[SNAP_NAME_MAX + 1];
    uint32_t version;
    bool optional;       /* a snapshot from before the device leaves it reset */
};

static int board_devices(struct board *b, struct dev_ref *out, int max)
{
    int n = 0;
#define ADD(k, i, v, ...)                                                        \
    do {                                                                         \
        if (n < max) {                                                           \
            out[n] = (struct dev_ref){ .kind = (k), .index = (i), .version = (v) }; \
            snprintf(out[n].name, sizeof(out[n].name), __VA_ARGS__);             \
            n++;                                                                 \
        }                                                                        \
    } while (0)
    ADD(D_PCI, 0, PCI_BUS_STATE_VERSION, "pci@%x", PORT_PCI_CONFIG_ADDR);
    ADD(D_UART, 0, UART_STATE_VERSION, "uart@%x", PORT_COM1);
    ADD(D_RTC, 0, RTC_STATE_VERSION, "rtc@%x", PORT_RTC);
    ADD(D_I8042, 0, I8042_STATE_VERSION, "i8042@%x", PORT_I8042_DATA);
    ADD(D_ACPI_PM, 0, ACPI_PM_STATE_VERSION, "acpi-pm@%x", PORT_ACPI_PM);
    if (b->hpet) {
        ADD(D_HPET, 0, HPET_STATE_VERSION, "hpet@%llx", (unsigned long long)LAYOUT_HPET);
        out[n - 1].optional = true;
    }
    if (b->vga)
        ADD(D_VGA, 0, VGA_STATE_VERSION, "vga@%x", VGA_PORT_BASE);
    for (int i = 0; i < SPEC_MAX_DISKS; i++)
        if (b->blks[i])
            ADD(D_BLK, i, VIRTIO_BLK_STATE_VERSION, "virtio-blk%d", i);
    if (b->cdrom)
        ADD(D_SCSI, 0, VIRTIO_SCSI_STATE_VERSION, "virtio-scsi-cd");
    if (b->rng)
        ADD(D_RNG, 0, VIRTIO_RNG_STATE_VERSION, "virtio-rng");
    if (b->vcon)
        ADD(D_VCON, 0, VIRTIO_CONSOLE_STATE_VERSION, "virtio-console");
    if (b->net) {
        ADD(D_NET, 0, VIRTIO_NET_STATE_VERSION, "virtio-net");
        ADD(D_NET_BACKEND, 0, NET_BACKEND_STATE_VERSION, "net-backend");
    }
#undef ADD
    return n;
}

static int dev_save(struct board *b, const struct dev_ref *d, struct state_out *o)
{
    switch (d->kind) {
    case D_PCI: return pci_bus_save(b->pci, o);
    case D_UART: return uart_save(b->com1, o);
    case D_RTC: return rtc_save(b->rtc, o);
    case D_I8042: return i8042_save(b->i8042, o);
    case D_ACPI_PM: return acpi_pm_save(b->acpi_pm, o);
    case D_BLK: return virtio_blk_save(b->blks[d->index], o);
    case D_RNG: return virtio_rng_save(b->rng, o);
    case D_SCSI: return virtio_scsi_save(b->cdrom, o);
    case D_VGA: return vga_save(b->vga, o);
    case D_HPET: return hpet_save(b->hpet, o);
    case D_VCON: return virtio_console_save(b->vcon, o);
    case D_NET: return virtio_net_save(b->net, o);
    case D_NET_BACKEND: return net_backend_save(virtio_net_backend(b->net), o);
    }
    return -EINVAL;
}

static int dev_load(struct board *b, const struct dev_ref *d, struct state_in *in, struct err *e)
{
    switch (d->kind) {
    case D_PCI: return pci_bus_load(b->pci, in, e);
    case D_UART: return uart_load(b->com1, in, e);
    case D_RTC: return rtc_load(b->rtc, in, e);
    case D_I8042: return i8042_load(b->i8042, in, e);
    case D_ACPI_PM: return acpi_pm_load(b->acpi_pm, in, e);
    case D_BLK: return virtio_blk_load(b->blks[d->index], in, e);
    case D_RNG: return virtio_rng_load(b->rng, in, e);
    case D_SCSI: return virtio_scsi_load(b->cdrom, in, e);
    case D_VGA: return vga_load(b->vga, in, e);
    case D_HPET: return hpet_load(b->hpet, in, e);
    case D_VCON: return virtio_console_load(b->vcon, in, e);
    case D_NET: return virtio_net_load(b->net, in, e);
    case D_NET_BACKEND: return net_backend_load(virtio_net_backend(b->net), in, e);
    }
    return -EINVAL;
}

int board_irqchip_save(struct vm *vm, struct state_out *o)
{
    struct board *b = vm->board;
    if (!b->irqchip || !b->pit)
        return -EINVAL;
    int r = irqchip_save(b->irqchip, o);
    return r < 0 ? r : pit_save(b->pit, o);
}

int board_irqchip_load(struct vm *vm, struct state_in *in, struct err *e)
{
    struct board *b = vm->board;
    if (!b->irqchip || !b->pit)
        return err_set(e, -EINVAL, "this machine has no interrupt controllers of hostel's own");
    int r = irqchip_load(b->irqchip, in, e);
    return r < 0 ? r : pit_load(b->pit, in, e);
}

int board_savable(struct vm *vm, struct err *e)
{
    struct board *b = vm->board;
    /* A share's state is host descriptors and what the guest's kernel
     * caches about host files that may change meanwhile: not saved. */
    if (b->fs[0])
        return err_set(e, -EOPNOTSUPP, "this machine has a shared folder ('%s'): a running "
                       "machine with shares cannot be snapshotted, saved or moved (its open "
                       "host files cannot be saved); stop it for a disk-only snapshot, or "
                       "drop the shares (--share none) and restart it", b->share_tag[0]);
    return 0;
}

int board_save(struct vm *vm, struct snap_writer *w, struct err *e)
{
    struct board *b = vm->board;
    int r0 = board_savable(vm, e);
    if (r0 < 0)
        return r0;
    struct dev_ref devs[32];
    int n = board_devices(b, devs, 32);
    for (int i = 0; i < n; i++) {
        struct state_out o;
        state_out_init(&o);
        int r = dev_save(b, &devs[i], &o);
        if (r < 0 || !state_out_ok(&o)) {
            state_out_free(&o);
            return err_set(e, r < 0 ? r : -ENOMEM, "cannot save %s: %s", devs[i].name,
                           strerror(r < 0 ? -r : ENOMEM));
        }
        snap_write_section(w, devs[i].name, devs[i].version, &o);
        state_out_free(&o);
    }
    return 0;
}

int board_load(struct vm *vm, const struct snapshot_file *s, bool live, struct err *e)
{
    struct board *b = vm->board;
    struct dev_ref devs[32];
    int n = board_devices(b, devs, 32);
    for (int i = 0; i < n; i++) {
        if (live && devs[i].kind == D_NET_BACKEND)
            continue;   /* the running backend keeps its host sockets */
        const struct snap_section *sec = snap_find(s, devs[i].name);
        if (!sec && devs[i].optional)
            continue;   /* saved before hostel had it: it stays as reset */
        if (!sec)
            return err_set(e, -EINVAL, "the snapshot has no state for %s: it is of a machine "
                           "with other devices", devs[i].name);
        if (sec->version != devs[i].version)
            return err_set(e, -EINVAL, "%s: state version %u, this hostel reads version %u",
                           devs[i].name, sec->version, devs[i].version);
        struct state_in in;
        state_in_init(&in, sec->data, sec->len);
        int r = dev_load(b, &devs[i], &in, e);
        if (r < 0)
            return r;
        if (!state_in_done(&in))
            return err_set(e, -EINVAL, "%s: %zu bytes of state left over (a newer or damaged "
                           "snapshot)", devs[i].name, in.len - in.off);
    }
    return 0;
}

bool board_owns_section(struct vm *vm, const char *name)
{
    struct dev_ref devs[32];
    int n = board_devices(vm->board, devs, 32);
    for (int i = 0; i < n; i++)
        if (!strcmp(devs[i].name, name))
            return true;
    return false;
}

struct blockdev *board_disk(struct vm *vm, int index)
{
    struct board *b = vm->board;
    return b && index >= 0 && index < SPEC_MAX_DISKS ? b->disks[index] : NULL;
}

struct net_backend *board_net_backend(struct vm *vm)
{
    struct board *b = vm->board;
    return b && b->net ? virtio_net_backend(b->net) : NULL;
}

struct net_backend *board_take_net_backend(struct vm *vm)
{
    struct board *b = vm->board;
    return b && b->net ? virtio_net_take_backend(b->net) : NULL;
}

int board_swap_disk(struct vm *vm, int index, const char *path, int format, struct err *e)
{
    struct board *b = vm->board;
    if (index < 0 || index >= SPEC_MAX_DISKS || !b->blks[index])
        return err_set(e, -ENOENT, "the machine has no disk %d", index);
    struct block_open_opts o = { .format = (enum block_format)format };
    struct blockdev *bd;
    int r = block_open(path, &o, &bd, e);
    if (r < 0)
        return r;
    if (block_size(bd) != block_size(b->disks[index])) {
        block_close(bd);
        return err_set(e, -EINVAL, "%s: %llu bytes, but disk %d has %llu", path,
                       (unsigned long long)block_size(bd), index,
                       (unsigned long long)block_size(b->disks[index]));
    }
    board_replace_disk(vm, index, bd);
    return 0;
}

void board_replace_disk(struct vm *vm, int index, struct blockdev *bd)
{
    struct board *b = vm->board;
    struct blockdev *old = virtio_blk_swap_image(b->blks[index], bd);
    b->disks[index] = bd;
    block_close(old);
}

int board_flush_disks(struct vm *vm, struct err *e)
{
    struct board *b = vm->board;
    for (int i = 0; i < SPEC_MAX_DISKS; i++) {
        if (!b->disks[i])
            continue;
        int r = block_flush(b->disks[i]);
        if (r < 0)
            return err_set(e, r, "cannot flush disk %d: %s", i, strerror(-r));
    }
    return 0;
}
