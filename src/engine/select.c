/* Engine choice: an explicit name, or "auto", which measures instead of
 * assuming that a present /dev/kvm is a fast one.  The measurement is kept
 * per host (engine_cache_path()) under a key that changes with the kernel,
 * the kvm modules, /dev/kvm itself and the CPU, so `auto` costs one
 * calibration per host, not one per start. */
#include <cpuid.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "lib/file.h"

/* Measured guest instructions per second of kvm, or -errno.  Implemented
 * next to the kvm engine (engine/kvm_calibrate.c). */
int kvm_calibrate(double *insns_per_sec, struct err *e);

/* Below this, a Linux boot on kvm would take minutes: emu is faster. */
#define KVM_FAST_ENOUGH 50e6
/* Bump when the calibration guest or the threshold changes meaning. */
#define CALIBRATION_VERSION 1

int engine_cache_path(char *buf, size_t len)
{
    const char *d = getenv("HOSTEL_CACHE_DIR");
    int n;
    if (d && *d)
        n = snprintf(buf, len, "%s/engine-auto.json", d);
    else if ((d = getenv("XDG_CACHE_HOME")) && *d)
        n = snprintf(buf, len, "%s/hostel/engine-auto.json", d);
    else if ((d = getenv("HOME")) && *d)
        n = snprintf(buf, len, "%s/.cache/hostel/engine-auto.json", d);
    else
        return -ENOENT;
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void append(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, fmt, a, b);
}

static void read_line(const char *path, char *out, size_t len)
{
    out[0] = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(out, (int)len, f))
        out[strcspn(out, "\n")] = 0;
    fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a kvm measurement depends on: the running kernel, the loaded kvm
 * modules (their names and source versions), the /dev/kvm node (a new one
 * after every boot or module reload) and the CPU. */
int engine_host_key(char *key, size_t len)
{
    struct utsname u;
    key[0] = 0;
    snprintf(key, len, "v%d", CALIBRATION_VERSION);
    if (uname(&u) == 0) {
        append(key, len, ";kernel=%s %s", u.release, u.version);
        append(key, len, ";arch=%s%s", u.machine, "");
    }
    struct stat st;
    if (stat("/dev/kvm", &st) == 0) {
        char dev[96];
        snprintf(dev, sizeof(dev), "%llx:%llu:%lld", (unsigned long long)st.st_rdev,
                 (unsigned long long)st.st_ino, (long long)st.st_ctime);
        append(key, len, ";dev=%s%s", dev, "");
    } else {
        append(key, len, ";dev=none%s%s", "", "");
    }
    DIR *dir = opendir("/sys/module");
    if (dir) {
        char *names[32];
        int n = 0;
        struct dirent *e;
        while ((e = readdir(dir)) && n < 32)
            if (!strncmp(e->d_name, "kvm", 3) && (names[n] = strdup(e->d_name)))
                n++;
        closedir(dir);
        qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
        for (int i = 0; i < n; i++) {
            char path[300], src[64];
            snprintf(path, sizeof(path), "/sys/module/%s/srcversion", names[i]);
            read_line(path, src, sizeof(src));
            append(key, len, ";mod=%s@%s", names[i], src[0] ? src : "builtin");
            free(names[i]);
        }
    }
    unsigned regs[12];
    if (__get_cpuid(0x80000000u, &regs[0], &regs[1], &regs[2], &regs[3]) &&
        regs[0] >= 0x80000004u) {
        char brand[49];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2],
                        &regs[4 * i + 3]);
        memcpy(brand, regs, 48);
        brand[48] = 0;
        char *b = brand;
        while (*b == ' ')
            b++;
        append(key, len, ";cpu=%s%s", b, "");
    }
    return 0;
}

/* The cached kvm speed for this host key, or -ENOENT. */
static int cache_load(const char *path, const char *key, double *ips, long long *when)
{
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return -ENOENT;
    int r = -ENOENT;
    const char *k = json_string_value(json_object_get(o, "key"));
    json_t *v = json_object_get(o, "kvm_insns_per_sec");
    if (k && !strcmp(k, key) && json_is_number(v) && json_number_value(v) > 0) {
        *ips = json_number_value(v);
        *when = (long long)json_integer_value(json_object_get(o, "measured_at"));
        r = 0;
    }
    json_decref(o);
    return r;
}

static void cache_store(const char *path, const char *key, double ips, long long when)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
    json_t *o = json_pack("{s:s, s:f, s:I, s:f, s:s}", "key", key, "kvm_insns_per_sec", ips,
                          "measured_at", (json_int_t)when, "fast_enough", KVM_FAST_ENOUGH,
                          "about", "hostel's --engine auto: how fast /dev/kvm ran the "
                          "calibration guest on this host; `hostel engines --measure` "
                          "measures again");
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL, *line = NULL;
    if (text && asprintf(&line, "%s\n", text) > 0)
        file_write_atomic(path, line, strlen(line));   /* best effort: a cache */
    free(line);
    free(text);
    json_decref(o);
}

/* The survey keeps short reasons; a longer message is cut to fit. */
static void keep_reason(char *dst, size_t len, const struct err *e)
{
    snprintf(dst, len, "%.*s", (int)(len - 1), e->msg);
}

int engine_survey(bool remeasure, struct engine_survey *s)
{
    struct err e = ERR_INIT;
    memset(s, 0, sizeof(*s));
    s->emu_available = engine_emu.probe(&e) == 0;
    if (!s->emu_available)
        keep_reason(s->emu_reason, sizeof(s->emu_reason), &e);
    err_clear(&e);
    s->kvm_available = engine_kvm.probe(&e) == 0;
    if (!s->kvm_available)
        keep_reason(s->kvm_reason, sizeof(s->kvm_reason), &e);

    if (s->kvm_available) {
        char key[1024];
        engine_host_key(key, sizeof(key));
        bool have_path = engine_cache_path(s->cache_path, sizeof(s->cache_path)) == 0;
        if (!have_path)
            s->cache_path[0] = 0;
        if (!remeasure && have_path &&
            cache_load(s->cache_path, key, &s->kvm_ips, &s->measured_at) == 0) {
            s->measured = true;
            s->from_cache = true;
        } else {
            err_clear(&e);
            if (kvm_calibrate(&s->kvm_ips, &e) == 0) {
                s->measured = true;
                s->measured_at = (long long)time(NULL);
                if (have_path)
                    cache_store(s->cache_path, key, s->kvm_ips, s->measured_at);
            } else {
                keep_reason(s->calibration_error, sizeof(s->calibration_error), &e);
            }
        }
        s->kvm_fast = s->measured && s->kvm_ips >= KVM_FAST_ENOUGH;
    }

    char cached[64] = "";
    if (s->from_cache) {
        struct tm tm;
        time_t t = (time_t)s->measured_at;
        char date[32] = "?";
        if (localtime_r(&t, &tm))
            strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
        snprintf(cached, sizeof(cached), ", measured %s", date);
    }
    if (!s->kvm_available) {
        if (!s->emu_available) {
            snprintf(s->auto_why, sizeof(s->auto_why),
                     "no engine can run here: kvm: %s; emu: %s", s->kvm_reason, s->emu_reason);
            return -ENODEV;
        }
        s->auto_choice = &engine_emu;
        snprintf(s->auto_why, sizeof(s->auto_why),
                 "kvm is not available (%s), using the software CPU", s->kvm_reason);
    } else if (s->kvm_fast) {
        s->auto_choice = &engine_kvm;
        snprintf(s->auto_why, sizeof(s->auto_why),
                 "kvm runs the calibration guest at %.0f million instructions/s%s",
                 s->kvm_ips / 1e6, cached);
    } else if (!s->emu_available) {
        s->auto_choice = &engine_kvm;
        snprintf(s->auto_why, sizeof(s->auto_why),
                 "kvm is slow here (%.1f million instructions/s%s) but emu is not "
                 "available (%s): using kvm anyway", s->kvm_ips / 1e6, cached, s->emu_reason);
    } else {
        s->auto_choice = &engine_emu;
        if (!s->measured)
            snprintf(s->auto_why, sizeof(s->auto_why),
                     "kvm calibration failed (%s), using the software CPU",
                     s->calibration_error);
        else
            snprintf(s->auto_why, sizeof(s->auto_why),
                     "kvm is present but slow here (%.1f million instructions/s%s, nested "
                     "virtualization?), using the software CPU", s->kvm_ips / 1e6, cached);
    }
    return 0;
}

int engine_select(const char *name, const struct engine_ops **out, char *why, size_t len,
                  struct err *e)
{
    struct err why_not = ERR_INIT;

    if (!name || !strcmp(name, "kvm")) {
        if (engine_kvm.probe(&why_not) < 0)
            return err_set(e, -ENODEV, "engine kvm is not available: %s (try --engine emu)",
                           why_not.msg);
        *out = &engine_kvm;
        snprintf(why, len, "chosen with --engine kvm");
        return 0;
    }
    if (!strcmp(name, "emu")) {
        if (engine_emu.probe(&why_not) < 0)
            return err_set(e, -ENODEV, "engine emu is not available: %s", why_not.msg);
        *out = &engine_emu;
        snprintf(why, len, "chosen with --engine emu");
        return 0;
    }
    if (strcmp(name, "auto"))
        return err_set(e, -EINVAL, "unknown engine '%s' (choose auto, kvm or emu)", name);
    struct engine_survey *s = malloc(sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory");
    int r = engine_survey(false, s);
    if (r == 0) {
        *out = s->auto_choice;
        snprintf(why, len, "%s", s->auto_why);
    } else {
        err_set(e, r, "%s", s->auto_why);
    }
    free(s);
    return r;
}
