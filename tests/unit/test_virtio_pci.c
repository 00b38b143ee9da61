/* End-to-end tests of the virtio-pci transport, driven like a guest driver
 * would: PCI discovery, capabilities, feature negotiation, queue set-up,
 * MSI-X and INTx interrupts, reset and NEEDS_RESET, with virtio-rng as the
 * device behind it. */
#include <stdlib.h>

#include "check.h"
#include "hw/virtio/rng.h"
#include "virtio_test_driver.h"

#define F_VERSION_1 (1ULL << 32)
#define F_INDIRECT  (1ULL << 28)
#define F_EVENT_IDX (1ULL << 29)
#define BUF 0x200000ULL

static struct vt t;
static struct virtio_rng *rng;

static void setup(void)
{
    vt_init(&t);
    CHECK_EQ(virtio_rng_create(&t.dh.mem, t.bus, &rng), 0);
    CHECK_EQ(vt_probe(&t, 0x1044), 0);
}

static void teardown(void)
{
    virtio_rng_destroy(rng);
    vt_destroy(&t);
}

static void virtio_pci_identity_and_caps(void)
{
    setup();
    CHECK_EQ(vt_cfg_read(&t, PCI_REVISION_ID, 1), 1);
    CHECK_EQ(vt_cfg_read(&t, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
    CHECK_EQ(vt_cfg_read(&t, PCI_INTERRUPT_PIN, 1), 1);
    CHECK_EQ(t.common, 0x0000);
    CHECK_EQ(t.notify_mult, 4);
    CHECK(t.msix_cap > 0);
    CHECK_EQ(vt_cfg_read(&t, (unsigned)t.msix_cap + 2, 2) & 0x7ff, 1);   /* 2 vectors */
    CHECK_EQ(vt_rd(&t, t.common + VT_NUMQ, 2), 1);
    uint64_t f = vt_device_features(&t);
    CHECK(f & F_VERSION_1);
    CHECK(f & F_INDIRECT);
    CHECK(f & F_EVENT_IDX);
    teardown();
}

static void virtio_pci_feature_negotiation(void)
{
    setup();
    /* No VERSION_1: we offer only the modern interface, so FEATURES_OK
     * does not stick. */
    CHECK_EQ(vt_negotiate(&t, 0) & 8, 0);
    /* A feature we never offered. */
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1 | 1ULL << 40) & 8, 0);
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1 | F_EVENT_IDX) & 8, 8);
    /* Once FEATURES_OK is set the driver features are frozen. */
    vt_wr(&t, t.common + VT_GFSELECT, 4, 0);
    vt_wr(&t, t.common + VT_GF, 4, 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_GF, 4), (uint32_t)F_EVENT_IDX);
    teardown();
}

/* Submits one 64-byte random request on queue 0 and waits for it. */
static void rng_request(uint16_t idx_after)
{
    tq_desc(&t.q[0], 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t.q[0], 0);
    vt_notify(&t, 0);
    CHECK(vt_wait_used(&t, 0, idx_after));
}

static void virtio_rng_fills_buffer_msix(void)
{
    setup();
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1), 0x0b);
    vt_msix_enable(&t, 2);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, 1), 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_QMSIX, 2), 1);
    vt_driver_ok(&t);
    memset(mem_ptr(&t.dh.mem, BUF, 64), 0, 64);
    rng_request(1);
    uint32_t id, len;
    tq_used_elem(&t.q[0], 0, &id, &len);
    CHECK_EQ(id, 0);
    CHECK_EQ(len, 64);
    const uint8_t *p = mem_ptr(&t.dh.mem, BUF, 64);
    int nonzero = 0;
    for (int i = 0; i < 64; i++)
        nonzero += p[i] != 0;
    CHECK(nonzero > 32);
    CHECK(vt_wait_msi(1));
    CHECK_EQ(fake_msi_last_data, 0x41);
    CHECK_EQ(fake_msi_last_addr, 0xfee00000);
    CHECK_EQ(fake_irq_level[vt_cfg_read(&t, PCI_INTERRUPT_LINE, 1)], 0);
    teardown();
}

static void virtio_pci_msix_mask_and_pba(void)
{
    setup();
    vt_negotiate(&t, F_VERSION_1);
    vt_msix_enable(&t, 2);
    uint32_t table = vt_cfg_read(&t, (unsigned)t.msix_cap + 4, 4) & ~7u;
    uint32_t pba = vt_cfg_read(&t, (unsigned)t.msix_cap + 8, 4) & ~7u;
    vt_wr(&t, table + 16 + 12, 4, 1);                /* mask vector 1 */
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, 1), 0);
    vt_driver_ok(&t);
    rng_request(1);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    CHECK_EQ(fake_msi_count, 0);
    CHECK_EQ(vt_rd(&t, pba, 8) & 2, 2);               /* pending */
    vt_wr(&t, table + 16 + 12, 4, 0);                /* unmask: delivered now */
    CHECK_EQ(fake_msi_count, 1);
    CHECK_EQ(vt_rd(&t, pba, 8) & 2, 0);
    teardown();
}

static void virtio_pci_intx_fallback(void)
{
    setup();
    unsigned gsi = vt_cfg_read(&t, PCI_INTERRUPT_LINE, 1);
    CHECK(gsi == 10 || gsi == 11);
    vt_negotiate(&t, F_VERSION_1);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, VIRTIO_MSI_NO_VECTOR), 0);
    vt_driver_ok(&t);
    rng_request(1);
    for (int i = 0; i < 1000 && !fake_irq_level[gsi]; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    CHECK_EQ(fake_irq_level[gsi], 1);
    CHECK_EQ(vt_cfg_read(&t, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
    /* Reading ISR returns the queue bit, clears it and lowers the line. */
    CHECK_EQ(vt_rd(&t, t.isr, 1), 1);
    CHECK_EQ(fake_irq_level[gsi], 0);
    CHECK_EQ(vt_rd(&t, t.isr, 1), 0);
    CHECK_EQ(fake_msi_count, 0);
    teardown();
}

static void virtio_pci_reset_restores_initial_state(void)
{
    setup();
    vt_negotiate(&t, F_VERSION_1 | F_EVENT_IDX);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, 1), 0);
    vt_wr(&t, t.common + VT_CONFIG_MSIX, 2, 0);
    vt_driver_ok(&t);
    vt_wr(&t, t.common + VT_STATUS, 1, 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_STATUS, 1), 0);
    vt_wr(&t, t.common + VT_GFSELECT, 4, 1);
    CHECK_EQ(vt_rd(&t, t.common + VT_GF, 4), 0);
    vt_wr(&t, t.common + VT_QSELECT, 2, 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_QENABLE, 2), 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_QSIZE, 2), 64);
    CHECK_EQ(vt_rd(&t, t.common + VT_QDESC, 8), 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
    CHECK_EQ(vt_rd(&t, t.common + VT_CONFIG_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
    /* And the device works again after a fresh set-up. */
    vt_negotiate(&t, F_VERSION_1);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, VIRTIO_MSI_NO_VECTOR), 0);
    vt_driver_ok(&t);
    rng_request(1);
    teardown();
}

static void virtio_pci_bad_queue_needs_reset(void)
{
    setup();
    vt_negotiate(&t, F_VERSION_1);
    vt_msix_enable(&t, 2);
    vt_wr(&t, t.common + VT_CONFIG_MSIX, 2, 0);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, 1), 0);
    vt_driver_ok(&t);
    /* A descriptor pointing outside RAM: the device stops the queue and asks
     * for a reset through the config vector. */
    tq_desc(&t.q[0], 0, VT_RAM - 16, 64, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t.q[0], 0);
    vt_notify(&t, 0);
    for (int i = 0; i < 1000 && !(vt_rd(&t, t.common + VT_STATUS, 1) & 64); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    CHECK_EQ(vt_rd(&t, t.common + VT_STATUS, 1) & 64, 64);
    CHECK(vt_wait_msi(1));
    CHECK_EQ(fake_msi_last_data, 0x40);
    CHECK_EQ(tq_used_idx(&t.q[0]), 0);
    /* Rings outside RAM are refused at enable time too. */
    vt_negotiate(&t, F_VERSION_1);
    vt_wr(&t, t.common + VT_QSELECT, 2, 0);
    vt_wr(&t, t.common + VT_QDESC, 8, 0xfee00000);
    vt_wr(&t, t.common + VT_QENABLE, 2, 1);
    CHECK_EQ(vt_rd(&t, t.common + VT_QENABLE, 2), 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_STATUS, 1) & 64, 64);
    teardown();
}

static void virtio_pci_no_processing_before_driver_ok(void)
{
    setup();
    vt_negotiate(&t, F_VERSION_1);
    CHECK_EQ(vt_setup_queue(&t, 0, 16, 0x10000, VIRTIO_MSI_NO_VECTOR), 0);
    tq_desc(&t.q[0], 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t.q[0], 0);
    vt_notify(&t, 0);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    CHECK_EQ(tq_used_idx(&t.q[0]), 0);
    vt_driver_ok(&t);          /* picks up what was queued */
    CHECK(vt_wait_used(&t, 0, 1));
    teardown();
}

static void virtio_pci_register_abuse(void)
{
    setup();
    /* Out-of-range selects, odd widths and writes to read-only fields. */
    vt_wr(&t, t.common + VT_QSELECT, 2, 7);
    CHECK_EQ(vt_rd(&t, t.common + VT_QSIZE, 2), 0);
    vt_wr(&t, t.common + VT_QENABLE, 2, 1);
    CHECK_EQ(vt_rd(&t, t.common + VT_QENABLE, 2), 0);
    vt_wr(&t, t.common + VT_NUMQ, 2, 9);
    CHECK_EQ(vt_rd(&t, t.common + VT_NUMQ, 2), 1);
    vt_wr(&t, t.common + VT_DFSELECT, 4, 0x12345);
    CHECK_EQ(vt_rd(&t, t.common + VT_DF, 4), 0);
    vt_wr(&t, t.common + VT_QSELECT, 2, 0);
    vt_wr(&t, t.common + VT_QSIZE, 2, 3);       /* not a power of two */
    vt_negotiate(&t, F_VERSION_1);
    vt_wr(&t, t.common + VT_QSELECT, 2, 0);
    vt_wr(&t, t.common + VT_QSIZE, 2, 3);
    vt_wr(&t, t.common + VT_QENABLE, 2, 1);
    CHECK_EQ(vt_rd(&t, t.common + VT_QENABLE, 2), 0);
    vt_wr(&t, t.common + VT_QMSIX, 2, 5);       /* no such vector */
    CHECK_EQ(vt_rd(&t, t.common + VT_QMSIX, 2), VIRTIO_MSI_NO_VECTOR);
    vt_wr(&t, 0x7ff8, 8, ~0ULL);                 /* unused part of the BAR */
    vt_wr(&t, t.notify + 4 * 5, 2, 5);           /* notify for a queue that isn't */
    CHECK_EQ(vt_rd(&t, t.isr + 1, 1), 0);
    teardown();
}

static void virtio_pci_cfg_window(void)
{
    setup();
    /* Find the PCI_CFG capability and read num_queues and write
     * queue_select through it, without touching the BAR. */
    unsigned p = vt_cfg_read(&t, PCI_CAPABILITY_LIST, 1), cap = 0;
    for (int guard = 0; p && guard < 48; guard++) {
        if (vt_cfg_read(&t, p, 1) == 0x09 && vt_cfg_read(&t, p + 3, 1) == 5)
            cap = p;
        p = vt_cfg_read(&t, p + 1, 1);
    }
    CHECK(cap != 0);
    vt_cfg_write(&t, cap + 4, 1, 4);                 /* bar */
    vt_cfg_write(&t, cap + 8, 4, t.common + VT_NUMQ);
    vt_cfg_write(&t, cap + 12, 4, 2);                /* length */
    CHECK_EQ(vt_cfg_read(&t, cap + 16, 4), 1);
    vt_cfg_write(&t, cap + 8, 4, t.common + VT_QSELECT);
    vt_cfg_write(&t, cap + 16, 4, 3);
    CHECK_EQ(vt_rd(&t, t.common + VT_QSELECT, 2), 3);
    vt_cfg_write(&t, cap + 12, 4, 3);                /* a bad length reaches nothing */
    CHECK_EQ(vt_cfg_read(&t, cap + 16, 4), 0);
    vt_cfg_write(&t, cap + 4, 1, 0);                 /* another BAR: nothing */
    vt_cfg_write(&t, cap + 12, 4, 2);
    vt_cfg_write(&t, cap + 8, 4, t.common + VT_NUMQ);
    CHECK_EQ(vt_cfg_read(&t, cap + 16, 4), 0);
    teardown();
}

int main(void)
{
    RUN_TEST(virtio_pci_identity_and_caps);
    RUN_TEST(virtio_pci_feature_negotiation);
    RUN_TEST(virtio_rng_fills_buffer_msix);
    RUN_TEST(virtio_pci_msix_mask_and_pba);
    RUN_TEST(virtio_pci_intx_fallback);
    RUN_TEST(virtio_pci_reset_restores_initial_state);
    RUN_TEST(virtio_pci_bad_queue_needs_reset);
    RUN_TEST(virtio_pci_no_processing_before_driver_ok);
    RUN_TEST(virtio_pci_register_abuse);
    RUN_TEST(virtio_pci_cfg_window);
    return CHECK_DONE();
}
