/* Where the loaders put what they hand a kernel in low guest memory (below
 * the EBDA at 0x9fc00, which the board keeps; board/layout.h). */
#ifndef HOSTEL_BOOT_LAYOUT_H
#define HOSTEL_BOOT_LAYOUT_H

#define LAYOUT_BOOT_GDT      0x500ULL     /* flat GDT for 32/64-bit entry (boot.c) */
#define LAYOUT_PML4          0x1000ULL    /* identity page tables for 64-bit entry */
#define LAYOUT_PDPT          0x2000ULL
#define LAYOUT_PD            0x3000ULL    /* 4 pages: first 4 GiB with 2 MiB pages */
#define LAYOUT_ZERO_PAGE     0x7000ULL    /* Linux boot_params */
#define LAYOUT_MB_INFO       0x8000ULL    /* Multiboot info, module list, strings */
#define LAYOUT_CMDLINE       0x20000ULL   /* kernel command line (up to 64 KiB) */
#define LAYOUT_CMDLINE_MAX   0x10000ULL
#define LAYOUT_KERNEL        0x100000ULL  /* 1 MiB: where kernels load by default */

#endif
