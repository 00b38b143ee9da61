/* A tiny AML (ACPI Machine Language) writer: enough to emit hostel's DSDT
 * (scopes, devices, names, integers, strings, packages, resource buffers). */
#ifndef HOSTEL_AML_H
#define HOSTEL_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf;
    size_t len, cap;
    int overflow;            /* set when a write did not fit; the output is then unusable */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* "\\_SB.PCI0", "_HID", "^FOO": segments shorter than 4 are padded with '_'. */
void aml_name(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A03") as its 32-bit compressed integer. */
void aml_eisaid(struct aml *a, const char *id);

/* A construct with a PkgLength: aml_open writes the opcode and reserves
 * room; aml_close fills in the length.  Nest freely. */
size_t aml_open(struct aml *a, const uint8_t *op, size_t oplen);
void aml_close(struct aml *a, size_t at);

/* Common constructs built on the above. */
size_t aml_scope(struct aml *a, const char *name);        /* close with aml_close */
size_t aml_device(struct aml *a, const char *name);       /* close with aml_close */
void aml_name_int(struct aml *a, const char *name, uint64_t v);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* A resource template (the body of a _CRS buffer) being built. */
struct aml_res {
    uint8_t b[256];
    size_t n;
    int overflow;
};
void res_io(struct aml_res *r, uint16_t base, uint8_t len);          /* fixed 16-bit decode */
void res_irq(struct aml_res *r, unsigned irq);                       /* ISA IRQ, edge/high */
void res_word_bus(struct aml_res *r, uint16_t min, uint16_t max);    /* bus number range */
void res_word_io(struct aml_res *r, uint16_t min, uint16_t max);     /* I/O window */
void res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max);   /* 32-bit MMIO window */
/* Name(name, Buffer) holding the template; the end tag is added here. */
void aml_name_resources(struct aml *a, const char *name, const struct aml_res *r);

#endif
