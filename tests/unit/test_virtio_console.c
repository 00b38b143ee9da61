/* End-to-end tests of virtio-console: guest output reaches the chardev,
 * typed input fills the guest's receive buffers, and input that arrives
 * before there are buffers waits for them instead of being lost. */
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "hw/virtio/console.h"
#include "virtio_test_driver.h"
#include "host/chardev.h"

#define F_VERSION_1 (1ULL << 32)
#define TXBUF 0x200000ULL
#define RXBUF 0x210000ULL

static struct vt t;
static struct virtio_console *con;
static struct chardev *cd;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char out[256];
static size_t out_len;

static void capture(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    pthread_mutex_lock(&out_lock);
    if (out_len + len < sizeof(out)) {
        memcpy(out + out_len, buf, len);
        out_len += len;
    }
    pthread_mutex_unlock(&out_lock);
}

static void setup(void)
{
    vt_init(&t);
    out_len = 0;
    memset(out, 0, sizeof(out));
    CHECK_EQ(chardev_open_callback(capture, NULL, &cd), 0);
    CHECK_EQ(virtio_console_create(&t.dh.mem, t.bus, cd, &con), 0);
    CHECK_EQ(vt_probe(&t, 0x1043), 0);
    CHECK_EQ(vt_rd(&t, t.common + VT_NUMQ, 2), 2);
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1), 0x0b);
    vt_msix_enable(&t, 3);
    CHECK_EQ(vt_setup_queue(&t, 0, 8, 0x10000, 1), 0);
    CHECK_EQ(vt_setup_queue(&t, 1, 8, 0x20000, 2), 0);
    vt_driver_ok(&t);
}

static void teardown(void)
{
    virtio_console_destroy(con);
    chardev_close(cd);
    vt_destroy(&t);
}

static void virtio_console_output(void)
{
    setup();
    mem_write(&t.dh.mem, TXBUF, "hello, ", 7);
    mem_write(&t.dh.mem, TXBUF + 0x100, "hvc0\n", 5);
    tq_desc(&t.q[1], 0, TXBUF, 7, VIRTQ_DESC_F_NEXT, 1);
    tq_desc(&t.q[1], 1, TXBUF + 0x100, 5, 0, 0);
    tq_submit(&t.q[1], 0);
    vt_notify(&t, 1);
    CHECK(vt_wait_used(&t, 1, 1));
    pthread_mutex_lock(&out_lock);
    CHECK_EQ(out_len, 12);
    CHECK(memcmp(out, "hello, hvc0\n", 12) == 0);
    pthread_mutex_unlock(&out_lock);
    CHECK(vt_wait_msi(1));
    CHECK_EQ(fake_msi_last_data, 0x42);
    teardown();
}

static void virtio_console_input(void)
{
    setup();
    /* Input before any receive buffer: kept, not dropped. */
    CHECK_EQ(chardev_push_input(cd, (const uint8_t *)"ls\r", 3), 3);
    for (unsigned i = 0; i < 2; i++)
        tq_desc(&t.q[0], i, RXBUF + 0x100 * i, 2, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t.q[0], 0);
    tq_submit(&t.q[0], 1);
    vt_notify(&t, 0);
    CHECK(vt_wait_used(&t, 0, 2));
    uint32_t id, len;
    tq_used_elem(&t.q[0], 0, &id, &len);
    CHECK_EQ(len, 2);
    tq_used_elem(&t.q[0], 1, &id, &len);
    CHECK_EQ(len, 1);
    char got[3];
    mem_read(&t.dh.mem, RXBUF, got, 2);
    mem_read(&t.dh.mem, RXBUF + 0x100, got + 2, 1);
    CHECK(memcmp(got, "ls\r", 3) == 0);
    CHECK(vt_wait_msi(1));
    CHECK_EQ(fake_msi_last_data, 0x41);
    /* A buffer that is device-readable only is never written. */
    uint8_t mark = 0xab;
    mem_write(&t.dh.mem, RXBUF + 0x200, &mark, 1);
    tq_desc(&t.q[0], 2, RXBUF + 0x200, 4, 0, 0);
    tq_submit(&t.q[0], 2);
    vt_notify(&t, 0);
    chardev_push_input(cd, (const uint8_t *)"x", 1);
    CHECK(vt_wait_used(&t, 0, 3));
    mem_read(&t.dh.mem, RXBUF + 0x200, &mark, 1);
    CHECK_EQ(mark, 0xab);
    teardown();
}

int main(void)
{
    RUN_TEST(virtio_console_output);
    RUN_TEST(virtio_console_input);
    return CHECK_DONE();
}
