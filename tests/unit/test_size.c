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

/* For people: rounded to a unit, one decimal below 10. */
static void size_formats_for_people(void)
{
    static const struct { uint64_t bytes; const char *text; } cases[] = {
        { 0, "0B" }, { 1023, "1023B" }, { 1024, "1K" }, { 1536, "1.5K" },
        { 106871921, "102M" }, { 9227, "9.0K" }, { 3ULL << 30, "3G" },
        { (3ULL << 30) / 2, "1.5G" }, { 5ULL << 40, "5T" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[32];
        format_size_human(cases[i].bytes, buf, sizeof(buf));
        if (strcmp(buf, cases[i].text))
            printf("  %llu bytes: '%s', expected '%s'\n", (unsigned long long)cases[i].bytes, buf,
                   cases[i].text);
        CHECK(!strcmp(buf, cases[i].text));
    }
}

int main(void)
{
    RUN_TEST(size_parses_units);
    RUN_TEST(size_rejects_garbage);
    RUN_TEST(size_formats_round_trip);
    RUN_TEST(size_formats_for_people);
    return CHECK_DONE();
}
