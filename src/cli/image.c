/* `hostel image create|info|check|convert`, and the hidden `write-random`
 * used by the block tests to drive the block API from a separate process. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"
#include "cli/image.h"
#include "lib/log.h"
#include "lib/size.h"

void image_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel image create [-f raw|qcow2] [-b BACKING] PATH [SIZE]\n"
            "       hostel image info PATH [--json]\n"
            "       hostel image check [--repair] PATH\n"
            "       hostel image convert [-O raw|qcow2] SRC DST\n"
            "\n"
            "Disk images: raw files (sparse) and qcow2 (versions 2 and 3).  SIZE takes\n"
            "units: 512M, 8G.  With -b, SIZE defaults to the backing file's size; a\n"
            "relative BACKING is relative to PATH's directory.\n");
}

static int parse_format(const char *s, enum block_format *f)
{
    if (!strcmp(s, "raw"))
        *f = BLOCK_FORMAT_RAW;
    else if (!strcmp(s, "qcow2"))
        *f = BLOCK_FORMAT_QCOW2;
    else {
        log_error("unknown image format '%s' (raw or qcow2)", s);
        return -EINVAL;
    }
    return 0;
}

static int image_create(int argc, char **argv)
{
    struct block_create_opts o = { .format = BLOCK_FORMAT_QCOW2 };
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+f:b:c:h")) != -1) {
        switch (c) {
        case 'f': if (parse_format(optarg, &o.format) < 0) return 2; break;
        case 'b': o.backing = optarg; break;
        case 'c': {
            uint64_t cs;
            if (parse_size(optarg, &cs) < 0 || cs > UINT32_MAX) {
                log_error("bad cluster size '%s'", optarg);
                return 2;
            }
            o.cluster_size = (uint32_t)cs;
            break;
        }
        case 'h': image_usage(stdout); return 0;
        default: image_usage(stderr); return 2;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        image_usage(stderr);
        return 2;
    }
    const char *path = argv[optind];
    if (optind + 1 < argc && parse_size(argv[optind + 1], &o.size) < 0) {
        log_error("bad size '%s' (a number with an optional K, M, G or T)", argv[optind + 1]);
        return 2;
    }
    if (optind + 1 >= argc && !o.backing) {
        log_error("image create: give a SIZE (or a backing file with -b)");
        return 2;
    }
    if (o.backing && o.format == BLOCK_FORMAT_RAW) {
        log_error("image create: raw images cannot have a backing file; use -f qcow2");
        return 2;
    }
    struct err e = ERR_INIT;
    if (block_create(path, &o, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    return 0;
}

static int open_image(const char *path, bool ro, struct blockdev **bd, struct err *e)
{
    struct block_open_opts o = { .format = BLOCK_FORMAT_AUTO, .readonly = ro };
    return block_open(path, &o, bd, e);
}

static int image_info(int argc, char **argv)
{
    bool as_json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            image_usage(stdout);
            return 0;
        } else if (!path)
            path = argv[i];
        else {
            image_usage(stderr);
            return 2;
        }
    }
    if (!path) {
        image_usage(stderr);
        return 2;
    }
    struct blockdev *bd;
    struct err e = ERR_INIT;
    if (open_image(path, true, &bd, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    json_t *chain = json_array();
    int depth = 0;
    for (struct blockdev *b = bd; b; b = block_backing(b), depth++) {
        struct block_image_info in;
        block_get_info(b, &in);
        if (as_json) {
            json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "filename", block_path(b), "format",
                                  in.format, "virtual-size", (json_int_t)in.virtual_size,
                                  "actual-size", (json_int_t)in.disk_size);
            if (in.cluster_size) {
                json_object_set_new(o, "cluster-size", json_integer(in.cluster_size));
                json_object_set_new(o, "version", json_integer(in.qcow2_version));
                json_object_set_new(o, "refcount-bits", json_integer(in.refcount_bits));
                json_object_set_new(o, "compression-type", json_string(in.compression));
                json_object_set_new(o, "dirty", json_boolean(in.dirty));
                json_object_set_new(o, "corrupt", json_boolean(in.corrupt));
            }
            if (in.backing[0]) {
                json_object_set_new(o, "backing-filename", json_string(in.backing));
                if (in.backing_format[0])
                    json_object_set_new(o, "backing-filename-format", json_string(in.backing_format));
            }
            json_array_append_new(chain, o);
            continue;
        }
        char vs[32], ds[32];
        format_size(in.virtual_size, vs, sizeof(vs));
        format_size(in.disk_size, ds, sizeof(ds));
        if (depth)
            printf("\nbacking file %d:\n", depth);
        printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRIu64 " bytes)\ndisk size: %s\n",
               block_path(b), in.format, vs, in.virtual_size, ds);
        if (in.cluster_size) {
            printf("cluster size: %u\nqcow2 version: %d\nrefcount bits: %d\ncompression: %s\n",
                   in.cluster_size, in.qcow2_version, in.refcount_bits, in.compression);
            if (in.dirty || in.corrupt)
                printf("flags:%s%s\n", in.dirty ? " dirty" : "", in.corrupt ? " corrupt" : "");
        }
        if (in.backing[0])
            printf("backing file: %s%s%s%s\n", in.backing, in.backing_format[0] ? " (format " : "",
                   in.backing_format, in.backing_format[0] ? ")" : "");
    }
    if (as_json) {
        char *s = json_dumps(chain, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
    }
    json_decref(chain);
    block_close(bd);
    return 0;
}

static int image_check(int argc, char **argv)
{
    bool repair = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repair") || !strcmp(argv[i], "-r"))
            repair = true;
        else if (!path)
            path = argv[i];
        else {
            image_usage(stderr);
            return 2;
        }
    }
    if (!path) {
        image_usage(stderr);
        return 2;
    }
    struct blockdev *bd;
    struct err e = ERR_INIT;
    int r = repair ? block_open_repair(path, &bd, &e)
                   : block_open(path, &(struct block_open_opts){ .readonly = true }, &bd, &e);
    if (r < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    struct block_check_report rep;
    r = block_check(bd, repair, &rep, &e);
    block_close(bd);
    if (r < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (!rep.supported) {
        printf("%s: raw image, nothing to check\n", path);
        return 0;
    }
    if (repair)
        printf("repaired %" PRIu64 " leaked clusters and %" PRIu64 " errors\n", rep.leaks_fixed,
               rep.errors_fixed);
    if (!rep.leaks && !rep.errors)
        printf("No errors were found on the image.\n");
    if (rep.leaks)
        printf("%" PRIu64 " leaked clusters were found on the image.\n"
               "This means waste of disk space, but no harm to data; "
               "'hostel image check --repair' reclaims them.\n", rep.leaks);
    if (rep.errors)
        printf("%" PRIu64 " errors were found on the image.\n"
               "Data may be corrupted; 'hostel image check --repair' rebuilds the refcounts.\n",
               rep.errors);
    printf("%" PRIu64 "/%" PRIu64 " clusters allocated\n", rep.allocated_clusters,
           rep.total_clusters);
    return rep.errors ? 2 : (rep.leaks ? 3 : 0);
}

static int image_convert(int argc, char **argv)
{
    enum block_format format = BLOCK_FORMAT_RAW;
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "+O:h")) != -1) {
        switch (c) {
        case 'O': if (parse_format(optarg, &format) < 0) return 2; break;
        case 'h': image_usage(stdout); return 0;
        default: image_usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        image_usage(stderr);
        return 2;
    }
    struct err e = ERR_INIT;
    if (block_copy_image(argv[optind], argv[optind + 1], format, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    return 0;
}

/* A tiny deterministic generator, so a test can replay the same writes. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* write-random PATH SEED COUNT [UPTO [FROM]]: COUNT seeded writes,
 * write-zeroes and discards of up to 256 KiB (ops FROM..UPTO-1 of them
 * performed); prints "op N OFFSET LENGTH" before and "done N" after each, so
 * a test that kills the process knows how far it got and what was in flight. */
static int image_write_random(int argc, char **argv)
{
    if (argc < 4) {
        log_error("usage: hostel image write-random PATH SEED COUNT [UPTO [FROM]]");
        return 2;
    }
    uint64_t seed = strtoull(argv[2], NULL, 0) * 2654435761u + 1;
    long count = strtol(argv[3], NULL, 0);
    long upto = argc > 4 ? strtol(argv[4], NULL, 0) : count;
    long skip_below = argc > 5 ? strtol(argv[5], NULL, 0) : 0;
    struct blockdev *bd;
    struct err e = ERR_INIT;
    if (open_image(argv[1], false, &bd, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    uint64_t sectors = block_size(bd) / 512;
    uint8_t *buf = malloc(256 * 1024);
    int r = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long i = 0; i < count && i < upto && sectors && r == 0; i++) {
        uint64_t kind = rnd(&seed) % 16;
        uint64_t len = 1 + rnd(&seed) % 512;
        if (rnd(&seed) % 4 == 0)
            len = 1 + rnd(&seed) % 8;
        uint64_t start = rnd(&seed) % sectors;
        if (start + len > sectors)
            len = sectors - start;
        uint64_t fill = rnd(&seed);
        for (uint64_t j = 0; j < len * 512; j += 8)
            memcpy(buf + j, &(uint64_t){ fill + j }, 8);
        if (i >= skip_below)
            printf("op %ld %" PRIu64 " %" PRIu64 "\n", i + 1, start * 512, len * 512);
        if (i < skip_below)
            continue;
        if (kind == 0)
            r = block_write_zeroes(bd, start * 512, len * 512);
        else if (kind == 1)
            r = block_discard(bd, start * 512, len * 512);
        else {
            struct iovec v[2] = { { buf, len * 256 }, { buf + len * 256, len * 256 } };
            r = block_pwritev(bd, start * 512, v, 2);
        }
        if (r == 0 && i % 499 == 0)
            r = block_flush(bd);
        if (r == 0)
            printf("done %ld\n", i + 1);
    }
    if (r < 0)
        log_error("write-random on %s: %s", argv[1], strerror(-r));
    free(buf);
    block_close(bd);
    return r < 0 ? 1 : 0;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        image_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {   /* `hostel image convert --help` */
            image_usage(stdout);
            return 0;
        }
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "create"))
        return image_create(argc - 1, argv + 1);
    if (!strcmp(sub, "info"))
        return image_info(argc - 1, argv + 1);
    if (!strcmp(sub, "check"))
        return image_check(argc - 1, argv + 1);
    if (!strcmp(sub, "convert"))
        return image_convert(argc - 1, argv + 1);
    if (!strcmp(sub, "write-random"))
        return image_write_random(argc - 1, argv + 1);
    log_error("unknown image command '%s' (see 'hostel image --help')", sub);
    return 2;
}
