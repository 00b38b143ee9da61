/* Measures how fast /dev/kvm really runs guest code, for --engine auto.
 * On nested hosts without hardware support for nesting, KVM may emulate
 * every instruction (about a microsecond each): present, but useless. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/jail.h"

/* Guest instructions per second, or -errno with e saying what failed. */
int kvm_calibrate(double *insns_per_sec, struct err *e);
bool kvm_hidden(void);   /* engine/kvm.c */

#define CAL_LOOPS 50000u      /* 100k instructions: 0.1 ms fast, 0.1 s when emulated */
#define CAL_MEM   0x10000

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int kvm_calibrate(double *insns_per_sec, struct err *e)
{
    /* Real mode at 0x1000: mov ecx, CAL_LOOPS; 1: dec ecx; jnz 1b; hlt */
    const uint8_t code[] = {
        0x66, 0xb9, CAL_LOOPS & 0xff, (CAL_LOOPS >> 8) & 0xff, (CAL_LOOPS >> 16) & 0xff, 0,
        0x66, 0x49,
        0x75, 0xfc,
        0xf4,
    };
    int sys = -1, vmfd = -1, cpu = -1, r = -EIO;
    void *mem = MAP_FAILED;
    struct kvm_run *run = MAP_FAILED;
    int run_size = 0;
    double best = 0;

    *insns_per_sec = 0;
    if (kvm_hidden())
        return err_set(e, -ENOENT, "/dev/kvm is hidden from hostel (HOSTEL_NO_KVM is set)");
    sys = jail_open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (sys < 0) {
        r = err_set(e, -errno, "cannot open /dev/kvm: %s", strerror(errno));
        goto out;
    }
    vmfd = ioctl(sys, KVM_CREATE_VM, 0);
    run_size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
    mem = mmap(NULL, CAL_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vmfd < 0 || run_size <= 0 || mem == MAP_FAILED) {
        err_set(e, r, "cannot create a calibration machine: %s", strerror(errno));
        goto out;
    }
    memcpy((uint8_t *)mem + 0x1000, code, sizeof(code));
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = CAL_MEM,
        .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &region) < 0 ||
        ioctl(vmfd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0) {
        err_set(e, r, "cannot set up calibration memory: %s", strerror(errno));
        goto out;
    }
    cpu = ioctl(vmfd, KVM_CREATE_VCPU, 0);
    if (cpu < 0) {
        err_set(e, r, "cannot create a calibration vCPU: %s", strerror(errno));
        goto out;
    }
    run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    if (run == MAP_FAILED) {
        err_set(e, r, "cannot map the calibration vCPU: %s", strerror(errno));
        goto out;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        struct kvm_sregs sregs;
        struct kvm_regs regs;
        if (ioctl(cpu, KVM_GET_SREGS, &sregs) < 0)
            goto ioctl_fail;
        sregs.cs.base = 0;
        sregs.cs.selector = 0;
        memset(&regs, 0, sizeof(regs));
        regs.rip = 0x1000;
        regs.rflags = 2;
        if (ioctl(cpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0)
            goto ioctl_fail;
        double t0 = now_sec();
        for (;;) {
            if (ioctl(cpu, KVM_RUN, 0) < 0) {
                if (errno == EINTR)
                    continue;
                goto ioctl_fail;
            }
            if (run->exit_reason == KVM_EXIT_HLT)
                break;
            err_set(e, r, "calibration guest exited unexpectedly (reason %u)", run->exit_reason);
            goto out;
        }
        double t = now_sec() - t0;
        double ips = (2.0 * CAL_LOOPS + 2) / (t > 1e-9 ? t : 1e-9);
        if (ips > best)
            best = ips;
    }
    *insns_per_sec = best;
    r = 0;
    goto out;
ioctl_fail:
    r = err_set(e, -errno, "calibration run failed: %s", strerror(errno));
out:
    if (run != MAP_FAILED)
        munmap(run, (size_t)run_size);
    if (cpu >= 0)
        close(cpu);
    if (vmfd >= 0)
        close(vmfd);
    if (mem != MAP_FAILED)
        munmap(mem, CAL_MEM);
    if (sys >= 0)
        close(sys);
    return r;
}
