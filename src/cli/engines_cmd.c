/* `hostel engines`: which engines can run on this host, how fast kvm is here,
 * and what --engine auto picks and why.  Tests ask it instead of guessing. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/engines_cmd.h"
#include "engine/engine.h"
#include "lib/log.h"

static void usage_engines(FILE *f)
{
    fprintf(f,
            "usage: hostel engines [--json] [--measure]\n"
            "\n"
            "Lists the engines hostel has (kvm: hardware virtualization through /dev/kvm;\n"
            "emu: hostel's own x86-64 CPU in software), whether each can run here and\n"
            "why not, and which one --engine auto (the default) picks, and why.\n"
            "\n"
            "auto runs a tiny calibration guest on kvm once per host and keeps the result\n"
            "in $HOSTEL_CACHE_DIR/engine-auto.json (default ~/.cache/hostel/), keyed by\n"
            "the kernel, the kvm modules, the /dev/kvm node and the CPU: any change\n"
            "measures again.  HOSTEL_NO_KVM=1 hides /dev/kvm from hostel.\n"
            "\n"
            "      --measure   run the calibration again now and update the cache\n"
            "      --json      one JSON object, for scripts\n"
            "  -h, --help      this text\n");
}

static json_t *survey_json(const struct engine_survey *s)
{
    json_t *kvm = json_pack("{s:b}", "available", s->kvm_available);
    if (!s->kvm_available)
        json_object_set_new(kvm, "reason", json_string(s->kvm_reason));
    if (s->measured) {
        json_object_set_new(kvm, "insns_per_sec", json_real(s->kvm_ips));
        json_object_set_new(kvm, "fast", json_boolean(s->kvm_fast));
        json_object_set_new(kvm, "measured_at", json_integer(s->measured_at));
        json_object_set_new(kvm, "cached", json_boolean(s->from_cache));
    } else if (s->kvm_available) {
        json_object_set_new(kvm, "calibration_error", json_string(s->calibration_error));
    }
    json_t *emu = json_pack("{s:b}", "available", s->emu_available);
    if (!s->emu_available)
        json_object_set_new(emu, "reason", json_string(s->emu_reason));
    json_t *o = json_pack("{s:{s:o, s:o}}", "engines", "kvm", kvm, "emu", emu);
    json_object_set_new(o, "auto", s->auto_choice ? json_string(s->auto_choice->name)
                                                  : json_null());
    json_object_set_new(o, "why", json_string(s->auto_why));
    if (s->cache_path[0])
        json_object_set_new(o, "cache", json_string(s->cache_path));
    return o;
}

int cmd_engines(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "measure", no_argument, NULL, 'M' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    bool as_json = false, measure = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = true; break;
        case 'M': measure = true; break;
        case 'h': usage_engines(stdout); return 0;
        default: usage_engines(stderr); return 1;
        }
    }
    if (optind < argc) {
        log_error("engines: unexpected argument '%s' (see 'hostel engines --help')",
                  argv[optind]);
        return 1;
    }
    struct engine_survey *s = malloc(sizeof(*s));
    if (!s) {
        log_error("engines: out of memory");
        return 1;
    }
    int r = engine_survey(measure, s);
    if (as_json) {
        json_t *o = survey_json(s);
        char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(o);
    } else {
        printf("%-6s %-10s %s\n", "ENGINE", "AVAILABLE", "NOTES");
        if (!s->kvm_available)
            printf("%-6s %-10s %s\n", "kvm", "no", s->kvm_reason);
        else if (!s->measured)
            printf("%-6s %-10s calibration failed: %s\n", "kvm", "yes", s->calibration_error);
        else
            printf("%-6s %-10s %.1f million instructions/s (%s; %s)\n", "kvm", "yes",
                   s->kvm_ips / 1e6, s->kvm_fast ? "fast" : "slow: nested?",
                   s->from_cache ? "cached measurement" : "measured now");
        printf("%-6s %-10s %s\n", "emu", s->emu_available ? "yes" : "no",
               s->emu_available ? "hostel's own x86-64 CPU" : s->emu_reason);
        if (s->auto_choice)
            printf("\nauto picks %s: %s\n", s->auto_choice->name, s->auto_why);
        else
            printf("\nauto: %s\n", s->auto_why);
        if (s->cache_path[0] && s->kvm_available)
            printf("measurement kept in %s ('hostel engines --measure' measures again)\n",
                   s->cache_path);
    }
    free(s);
    return r < 0 ? 1 : 0;
}
