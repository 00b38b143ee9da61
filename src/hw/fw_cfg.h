/* QEMU's firmware configuration interface (fw_cfg), the way SeaBIOS and
 * OVMF read what the board has to tell them: a 16-bit selector at port
 * 0x510, a byte-wide data port at 0x511, a file directory (item 0x19) and
 * the DMA interface at 0x514 (big-endian address of a control structure).
 * The board fills it before the machine starts (items and named files:
 * etc/e820, bootorder, the ACPI tables and their table-loader script,
 * option ROMs); the guest only reads.  Facts: docs/specs/fw_cfg.rst in
 * QEMU's tree. */
#ifndef HOSTEL_FW_CFG_H
#define HOSTEL_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "machine/bus.h"
#include "machine/mem.h"

/* Well-known item keys. */
#define FW_CFG_SIGNATURE   0x0000
#define FW_CFG_ID          0x0001
#define FW_CFG_UUID        0x0002
#define FW_CFG_RAM_SIZE    0x0003
#define FW_CFG_NOGRAPHIC   0x0004
#define FW_CFG_NB_CPUS     0x0005
#define FW_CFG_MACHINE_ID  0x0006
#define FW_CFG_BOOT_MENU   0x000e
#define FW_CFG_MAX_CPUS    0x000f
#define FW_CFG_FILE_DIR    0x0019
#define FW_CFG_FILE_FIRST  0x0020
#define FW_CFG_FILE_MAX    64          /* files this board can carry */
#define FW_CFG_NAME_MAX    56          /* with the terminating zero */

#define FW_CFG_PORT_SEL    0x510
#define FW_CFG_PORT_DATA   0x511
#define FW_CFG_PORT_DMA    0x514       /* 8 bytes: high half, then low half (writing it starts) */

struct fw_cfg;

/* Claims the ports at base (selector), base + 1 (data) and base + 4..+11
 * (DMA) on pio; DMA reads and writes go to mem (RAM only: anything else is
 * an error in the control word, never a write outside it). */
int fw_cfg_create(struct bus *pio, uint16_t base, struct guest_mem *mem, struct fw_cfg **out);
void fw_cfg_destroy(struct fw_cfg *f);

/* An item by key (replaced when it exists); the bytes are copied. */
int fw_cfg_add_item(struct fw_cfg *f, uint16_t key, const void *data, size_t len);
int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v);
/* A named file in the directory (names up to 55 bytes; a second file of the
 * same name replaces the first).  -ENOSPC when the directory is full,
 * -ENAMETOOLONG, -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len);
/* The bytes of a file already added (NULL when none): for tests. */
const uint8_t *fw_cfg_file(const struct fw_cfg *f, const char *name, size_t *len);

#endif
