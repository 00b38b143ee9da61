/* The PC board: every device a machine gets, in one explicit list, created
 * in order and destroyed in reverse. */
#include "board/board.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hw/acpi_pm.h"
#include "hw/debugexit.h"
#include "hw/i8042.h"
#include "hw/irqchip.h"
#include "hw/pci.h"
#include "hw/pit.h"
#include "hw/post.h"
#include "hw/rtc.h"
#include "hw/uart.h"
#include "hw/virtio/blk.h"
#include "hw/virtio/console.h"
#include "hw/virtio/net.h"
#include "hw/virtio/rng.h"
#include "block/block.h"
#include "lib/log.h"
#include "net/net.h"
#include "host/chardev.h"
#include "board/layout.h"
#include "machine/vm.h"

struct board {
    struct pit *pit;
    struct uart *com1;
    struct rtc *rtc;
    struct i8042 *i8042;
    struct debugexit *debugexit;
    bool post;
    struct pci_bus *pci;
    struct acpi_pm *acpi_pm;
    struct blockdev *disks[VM_MAX_DISKS];
    struct virtio_blk *blks[VM_MAX_DISKS];
    struct virtio_rng *rng;
    struct virtio_console *vcon;
    struct virtio_net *net;
};

/* vm->power_button: the ACPI power button (for `hostel stop`). */
static void press_power_button(struct vm *vm)
{
    struct board *b = vm->board;
    if (b && b->acpi_pm)
        acpi_pm_power_button(b->acpi_pm);
}

int board_create(struct vm *vm)
{
    struct board *b = calloc(1, sizeof(*b));
    int r;

    if (!b)
        return -ENOMEM;
    vm->board = b;

    if (!vm->engine->irqchip_in_engine) {
        r = irqchip_create(vm, &vm->irqchip);
        if (r < 0) {
            log_error("cannot create the interrupt controllers (PIC, IOAPIC) for engine %s: %s",
                      vm->engine->name, strerror(-r));
            goto fail;
        }
        r = pit_create(vm, &b->pit);
        if (r < 0) {
            log_error("cannot create the PIT for engine %s: %s", vm->engine->name, strerror(-r));
            goto fail;
        }
    }
    r = uart_create(vm, PORT_COM1, IRQ_COM1, vm->console, &b->com1);
    if (r < 0) {
        log_error("cannot create the serial port COM1 at 0x%x: %s", PORT_COM1, strerror(-r));
        goto fail;
    }
    r = rtc_create(vm, vm->mem.low_size, vm->mem.high_size, &b->rtc);
    if (r < 0) {
        log_error("cannot create the RTC at 0x%x: %s", PORT_RTC, strerror(-r));
        goto fail;
    }
    r = i8042_create(vm, &b->i8042);
    if (r < 0) {
        log_error("cannot create the keyboard controller at 0x%x: %s", PORT_I8042_DATA,
                  strerror(-r));
        goto fail;
    }
    r = debugexit_create(vm, PORT_DEBUG_EXIT, &b->debugexit);
    if (r < 0) {
        log_error("cannot create the debug-exit port 0x%x: %s", PORT_DEBUG_EXIT, strerror(-r));
        goto fail;
    }
    r = post_create(vm);
    if (r < 0) {
        log_error("cannot claim the POST port 0x%x: %s", PORT_POST, strerror(-r));
        goto fail;
    }
    b->post = true;
    r = pci_bus_create(vm, &b->pci);
    if (r < 0) {
        log_error("cannot create the PCI host bridge at 0x%x: %s", PORT_PCI_CONFIG_ADDR,
                  strerror(-r));
        goto fail;
    }
    /* virtio devices: disks first, so they take the lowest PCI slots. */
    static const struct vm_config no_config;
    const struct vm_config *cfg = vm->cfg ? vm->cfg : &no_config;
    for (int i = 0; i < cfg->ndisks && i < VM_MAX_DISKS; i++) {
        const struct vm_disk *dk = &cfg->disks[i];
        struct block_open_opts o = { .format = (enum block_format)dk->format,
                                     .readonly = dk->readonly };
        char err[512], serial[24];
        r = block_open(dk->path, &o, &b->disks[i], err, sizeof(err));
        if (r < 0) {
            log_error("%s", err);
            goto fail;
        }
        snprintf(serial, sizeof(serial), "hostel-disk%d", i);
        r = virtio_blk_create(vm, b->pci, b->disks[i], serial, &b->blks[i]);
        if (r < 0) {
            log_error("cannot create virtio-blk for %s: %s", dk->path, strerror(-r));
            goto fail;
        }
    }
    if (!cfg->no_rng) {
        r = virtio_rng_create(vm, b->pci, &b->rng);
        if (r < 0) {
            log_error("cannot create virtio-rng: %s (--rng off leaves it out)", strerror(-r));
            goto fail;
        }
    }
    if (cfg->virtio_console) {
        r = virtio_console_create(vm, b->pci, vm->console, &b->vcon);
        if (r < 0) {
            log_error("cannot create virtio-console: %s", strerror(-r));
            goto fail;
        }
    }
    if (net_effective_mode(cfg->net) != NET_MODE_NONE) {
        uint8_t mac[6];
        char err[512] = "";
        if (cfg->net->mac_set)
            memcpy(mac, cfg->net->mac, 6);
        else
            net_default_mac(cfg->kernel, cfg->cmdline, mac);
        r = virtio_net_create(vm, b->pci, cfg->net, mac, &b->net, err, sizeof(err));
        if (r < 0) {
            log_error("cannot create virtio-net: %s", err[0] ? err : strerror(-r));
            goto fail;
        }
        log_info("virtio-net %02x:%02x:%02x:%02x:%02x:%02x on %s networking", mac[0], mac[1],
                 mac[2], mac[3], mac[4], mac[5],
                 net_effective_mode(cfg->net) == NET_MODE_TAP ? "tap" : "user");
    }
    r = acpi_pm_create(vm, &b->acpi_pm);
    if (r < 0) {
        log_error("cannot create the ACPI PM block at 0x%x: %s", PORT_ACPI_PM1A_EVT,
                  strerror(-r));
        goto fail;
    }
    vm->power_button = press_power_button;
    /* Last: from here on Ctrl-A x stops this machine. */
    chardev_attach_vm(vm->console, vm);
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
    chardev_attach_vm(vm->console, NULL);
    vm->power_button = NULL;
    acpi_pm_destroy(b->acpi_pm);
    virtio_net_destroy(b->net);
    virtio_console_destroy(b->vcon);
    virtio_rng_destroy(b->rng);
    for (int i = VM_MAX_DISKS - 1; i >= 0; i--) {
        virtio_blk_destroy(b->blks[i]);
        if (b->disks[i])
            block_close(b->disks[i]);
    }
    pci_bus_destroy(b->pci);
    if (b->post)
        post_destroy(vm);
    debugexit_destroy(b->debugexit);
    i8042_destroy(b->i8042);
    rtc_destroy(b->rtc);
    uart_destroy(b->com1);
    if (b->pit)
        pit_destroy(b->pit);
    if (vm->irqchip) {
        irqchip_destroy(vm->irqchip);
        vm->irqchip = NULL;
    }
    free(b);
    vm->board = NULL;
}
