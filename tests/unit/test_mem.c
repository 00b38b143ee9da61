/* Guest RAM (machine/mem.c): anonymous memory that starts as zeros and
 * asks the host for transparent huge pages, and a sparse save that writes
 * the pages holding anything, at their offsets, and nothing else. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "machine/mem.h"

#define SIZE (64u << 20)

/* The VmFlags line of the mapping that holds addr, from /proc/self/smaps;
 * false when it cannot be read. */
static bool vm_flags(const void *addr, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return false;
    char line[512];
    bool in = false, found = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
            continue;
        }
        if (in && !strncmp(line, "VmFlags:", 8)) {
            size_t n = strlen(line + 8);
            if (n >= len)
                n = len - 1;
            memcpy(out, line + 8, n);
            out[n] = 0;
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

static void mem_starts_zero_and_asks_for_huge_pages(void)
{
    struct guest_mem m;
    CHECK_EQ(mem_init(&m, SIZE), 0);
    CHECK_EQ(m.size, SIZE);
    CHECK_EQ(m.fd, -1);
    bool zero = true;
    for (size_t i = 0; i < SIZE; i += 4096)
        zero &= m.host[i] == 0 && m.host[i + 4095] == 0;
    CHECK(zero);
    char flags[256];
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0) {
        printf("SKIP: mem_huge_page_advice (this kernel has no transparent huge pages)\n");
    } else if (!vm_flags(m.host, flags, sizeof(flags))) {
        printf("SKIP: mem_huge_page_advice (/proc/self/smaps has no VmFlags here)\n");
    } else {
        /* "hg": MADV_HUGEPAGE was given (whatever the host then does). */
        CHECK(strstr(flags, " hg") != NULL);
    }
    mem_destroy(&m);
}

static void mem_save_sparse_writes_only_data(void)
{
    struct guest_mem m;
    CHECK_EQ(mem_init(&m, SIZE), 0);
    memset(m.host + 5 * 4096, 0xa5, 4096);
    m.host[SIZE - 1] = 0x7e;
    memset(m.host + 9 * 4096, 0, 4096);   /* written, but all zeros: not saved */
    char path[64];
    snprintf(path, sizeof(path), "/tmp/hostel-mem-%d.bin", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    uint64_t stored = 0;
    CHECK_EQ(mem_save_sparse(&m, fd, &stored), 0);
    CHECK_EQ(stored, 2 * 4096);
    CHECK_EQ(lseek(fd, 0, SEEK_END), SIZE);
    uint8_t page[4096];
    CHECK_EQ(pread(fd, page, 4096, 5 * 4096), 4096);
    CHECK(page[0] == 0xa5 && page[4095] == 0xa5);
    CHECK_EQ(pread(fd, page, 4096, SIZE - 4096), 4096);
    CHECK(page[4095] == 0x7e && page[0] == 0);
    /* The first data in the file is page 5 (where the file system can
     * tell holes apart; else the bytes above said it). */
    off_t d = lseek(fd, 0, SEEK_DATA);
    CHECK(d < 0 || d >= 5 * 4096);
    close(fd);
    unlink(path);
    mem_destroy(&m);
}

int main(void)
{
    RUN_TEST(mem_starts_zero_and_asks_for_huge_pages);
    RUN_TEST(mem_save_sparse_writes_only_data);
    return CHECK_DONE();
}
