/* Sizes with units at the interface: "512M", "8G", "4096", "1.5G". */
#ifndef HOSTEL_SIZE_H
#define HOSTEL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* Parses a byte count with an optional K/M/G/T suffix (powers of 1024,
 * optional trailing "B" or "iB").  Returns 0, or -EINVAL for malformed text
 * and -ERANGE for values that do not fit in 64 bits. */
int parse_size(const char *text, uint64_t *out);

/* Formats a byte count the way parse_size reads it back ("512M", "1.5G"). */
void format_size(uint64_t bytes, char *buf, size_t len);
/* Rounded, for people: "167M", "1.5G" (format_size keeps every byte). */
void format_size_human(uint64_t bytes, char *buf, size_t len);

#endif
