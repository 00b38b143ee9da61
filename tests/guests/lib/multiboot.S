/* Multiboot v1 header shared by every guest.  Flags: bit 1 asks for the
 * memory fields, bit 16 says the address fields below are valid, so a
 * loader (hostel's or QEMU's -kernel) needs no ELF parsing and ELF64 files
 * load too. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010002

    .section .multiboot, "a"
    .align 4
    .globl multiboot_header
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header      /* header_addr */
    .long _load_start           /* load_addr */
    .long _load_end             /* load_end_addr */
    .long _bss_end              /* bss_end_addr */
    .long _start                /* entry_addr */
