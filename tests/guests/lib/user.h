/* CPL 3 round trips for the 64-bit guests: user_init() makes the first
 * 2 MiB (the image) user-accessible, sets EFER.SCE and STAR (SYSRET base
 * 0x23, SYSCALL CS 0x08) and a DPL 3 gate at vector 0x80; sysret_to()
 * enters CPL 3 and returns when user code runs INT 0x80, with its RAX. */
#ifndef GUEST_USER_H
#define GUEST_USER_H

#include "cpu64.h"

#define USER_RETURN_VEC 0x80

struct user_return {
    uint64_t cs, rip;   /* where the INT 0x80 came from */
    int count;
};
extern volatile struct user_return user_return_seen;

void user_init(void);
/* The same without touching the page tables: for guests whose user code
 * lives in pages they map with PTE_U themselves (map_page). */
void user_entry_init(void);
/* SYSRETQ (compat 0) or SYSRETL to rip with R11 = r11 and RSP = rsp. */
uint64_t sysret_to(uint64_t rip, uint64_t r11, uint64_t rsp, int compat);
/* IRETQ to 64-bit rip at CPL 3 with RSP = rsp and IF clear. */
uint64_t enter_user(uint64_t rip, uint64_t rsp);

#endif
