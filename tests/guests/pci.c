/* pci: enumerates bus 0 through configuration mechanism #1 (0xcf8/0xcfc),
 * prints vendor, device and class of every function, and checks what an OS
 * relies on: 0xcf8 reads back (Linux's probe), a host bridge (class 0x0600)
 * at 00:00.0, an absent slot reading vendor 0xffff, sub-dword reads. */
#include "lib/cpu64.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static uint32_t cfg_addr(int dev, int fn, int off)
{
    return 0x80000000u | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (uint32_t)(off & 0xfc);
}

static uint32_t cfg_read32(int dev, int fn, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, fn, off));
    return inl(PCI_DATA);
}

static uint16_t cfg_read16(int dev, int fn, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, fn, off));
    return inw((uint16_t)(PCI_DATA + (off & 2)));
}

static uint8_t cfg_read8(int dev, int fn, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, fn, off));
    return inb((uint16_t)(PCI_DATA + (off & 3)));
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("pci: start\n");

    outl(PCI_ADDR, 0x80000000u);
    uint32_t back = inl(PCI_ADDR);
    if (back != 0x80000000u)
        fail(1, "0xcf8 reads back %x after writing 80000000", back);

    int functions = 0, absent = -1;
    for (int dev = 0; dev < 32; dev++) {
        int nfn = 1;
        for (int fn = 0; fn < nfn; fn++) {
            uint32_t id = cfg_read32(dev, fn, 0x00);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0 && absent < 0)
                    absent = dev;
                continue;
            }
            uint32_t cls = cfg_read32(dev, fn, 0x08);
            uint8_t hdr = cfg_read8(dev, fn, 0x0e);
            if (fn == 0 && (hdr & 0x80))
                nfn = 8;
            gprintf("00:%02x.%u %04x:%04x class %04x prog-if %02x header %02x\n", dev, fn,
                    id & 0xffff, id >> 16, cls >> 16, (cls >> 8) & 0xff, hdr);
            functions++;
            if (cfg_read16(dev, fn, 0x00) != (id & 0xffff) ||
                cfg_read16(dev, fn, 0x02) != (id >> 16))
                fail(2, "16-bit config reads of 00:%02x.%u disagree with the 32-bit read %x",
                     dev, fn, id);
        }
    }
    gprintf("functions: %d\n", functions);

    uint32_t id = cfg_read32(0, 0, 0x00), cls = cfg_read32(0, 0, 0x08);
    if ((id & 0xffff) == 0xffff)
        fail(3, "no device at 00:00.0");
    if ((cls >> 16) != 0x0600)
        fail(4, "00:00.0 has class %04x, expected a host bridge (0600)", cls >> 16);
    gprintf("host bridge %04x:%04x ok\n", id & 0xffff, id >> 16);

    if (absent < 0)
        fail(5, "every slot on bus 0 is populated: cannot check an absent one");
    if (cfg_read16(absent, 0, 0x00) != 0xffff || cfg_read32(absent, 0, 0x08) != 0xffffffffu)
        fail(6, "absent slot 00:%02x.0 does not read all ones", absent);
    gprintf("absent slot 00:%02x.0 reads ffff ok\n", absent);

    /* With the enable bit clear, 0xcfc must not reach configuration space. */
    outl(PCI_ADDR, 0);
    uint32_t off = inl(PCI_DATA);
    if (off == id)
        fail(7, "0xcfc returned the host bridge ID with 0xcf8 bit 31 clear");
    gprintf("pci: ok\n");
}
