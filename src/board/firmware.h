/* Booting through PC firmware (SeaBIOS from Debian's seabios package): where
 * the image is found, where it is mapped (the top of 4 GiB, its last 128 KiB
 * also at 0xE0000 as the shadowed BIOS area), and what the board tells it
 * through fw_cfg: the memory map, the boot order, hostel's ACPI tables
 * through the table loader, CPUs, the serial console, and the iPXE option
 * ROM for network boot.  docs/boot.md describes it for users. */
#ifndef HOSTEL_FIRMWARE_H
#define HOSTEL_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board/spec.h"
#include "lib/err.h"
#include "lib/file.h"
#include "machine/mem.h"

struct fw_cfg;

#define FIRMWARE_BIOS_MAX   (256u << 10)   /* ends at 4 GiB, above KVM's TSS pages */
#define FIRMWARE_LOW_ALIAS  (128u << 10)   /* the part also seen at 0xE0000-0xFFFFF */

/* The BIOS image: $HOSTEL_BIOS, else Debian's SeaBIOS (bios-256k.bin, then
 * bios.bin, in /usr/share/seabios and /usr/share/qemu).  Checked: a size
 * that is a multiple of 64 KiB, at most FIRMWARE_BIOS_MAX.  -errno with e
 * saying which file and what to install. */
int firmware_load_bios(struct file_buf *out, char *path, size_t path_len, struct err *e);

/* Where the boot devices sit, for the "bootorder" file. */
struct firmware_devices {
    int ndisks;
    int disk_slot[SPEC_MAX_DISKS];   /* the user's disks, in order (the seed is not listed) */
    int cdrom_slot;                  /* virtio-scsi, target 0 lun 0; -1: none */
    int net_slot;                    /* -1: none */
    bool vga;                        /* the display (hw/vga.h): its VGA BIOS is added */
};

/* The VGA BIOS for hw/vga.h's device, from Debian's seabios package: the
 * firmware runs it, and its 8x16 font draws text mode for every boot. */
#define FIRMWARE_VGA_ROM     "/usr/share/seabios/vgabios-stdvga.bin"
#define FIRMWARE_VGA_ROM_ID  "pci1234,1111.rom"   /* what SeaBIOS looks up for it */

/* Fills fw_cfg for spec: CPUs, RAM, the e820 map, the boot order, the ACPI
 * tables and their loader script, the serial console, the iPXE ROM when
 * the network is in the boot order.  (The board maps the image itself: a
 * ROM device at the top of 4 GiB, its last 128 KiB in RAM at 0xE0000.)
 * -errno with e set. */
int firmware_configure(struct fw_cfg *fw, const struct guest_mem *mem,
                       const struct machine_spec *spec, const struct firmware_devices *devs,
                       struct err *e);

/* The "bootorder" text for spec and devs (OpenFirmware paths, one a line,
 * then HALT so that nothing unlisted is booted); for tests too. */
int firmware_bootorder(const struct machine_spec *spec, const struct firmware_devices *devs,
                       char *buf, size_t len);

/* What the CMOS says about boot devices for BIOSes that read it (0x3d/0x38). */
void firmware_cmos_boot(const struct machine_spec *spec, uint8_t *reg3d, uint8_t *reg38);

/* The line SeaBIOS prints when nothing in the boot order boots. */
#define FIRMWARE_NO_BOOT_LINE "No bootable device."

#endif
