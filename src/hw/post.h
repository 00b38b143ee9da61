/* Port 0x80, the POST diagnostic port: claimed so writes (Linux's I/O delay,
 * firmware progress codes) are quietly absorbed. */
#ifndef HOSTEL_POST_H
#define HOSTEL_POST_H

struct vm;

int post_create(struct vm *vm);
void post_destroy(struct vm *vm);

#endif
