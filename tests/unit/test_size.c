/* Unit tests for size parsing and printing. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "lib/size.h"

static void size_parses_units(void)
{
    uint64_t v;
    CHECK_EQ(parse_size("4096", &v), 0); CHECK_EQ(v, 4096);
    CHECK_EQ(parse_size("512M", &v), 0); CHECK_EQ(v, 512ULL << 20);
    CHECK_EQ(parse_size("2G", &v), 0); CHECK_EQ(v, 2ULL << 30);
    CHECK_EQ(parse_size("1.5G", &v), 0); CHECK_EQ(v, 3ULL << 29);
    CHECK_EQ(parse_size("64k", &v), 0); CHECK_EQ(v, 64ULL << 10);
    CHECK_EQ(parse_size("8GiB", &v), 0); CHECK_EQ(v, 8ULL << 30);
    CHECK_EQ(parse_size("1T", &v), 0); CHECK_EQ(v, 1ULL << 40);
}

static void size_rejects_garbage(void)
{
    uint64_t v;
    CHECK_EQ(parse_size("", &v), -EINVAL);
    CHECK_EQ(parse_size("M", &v), -EINVAL);
    CHECK_EQ(parse_size("12X", &v), -EINVAL);
    CHECK_EQ(parse_size("-1G", &v), -EINVAL);
    CHECK_EQ(parse_size("1.5", &v), -EINVAL);
    CHECK_EQ(parse_size("5G ", &v), -EINVAL);
    CHECK_EQ(parse_size("99999999999999999999", &v), -ERANGE);
    CHECK_EQ(parse_size("99999999999T", &v), -ERANGE);
}

static void size_formats_round_trip(void)
{
    char buf[32];
    format_size(512ULL << 20, buf, sizeof(buf));
    CHECK(!strcmp(buf, "512M"));
    format_size(3ULL << 30, buf, sizeof(buf));
    CHECK(!strcmp(buf, "3G"));
    format_size(1000, buf, sizeof(buf));
    CHECK(!strcmp(buf, "1000"));
}

int main(void)
{
    RUN_TEST(size_parses_units);
    RUN_TEST(size_rejects_garbage);
    RUN_TEST(size_formats_round_trip);
    return CHECK_DONE();
}
