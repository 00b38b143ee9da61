/* A main for a fuzz target built without libFuzzer (gcc, ASan + UBSan):
 * runs LLVMFuzzerTestOneInput once over every file named, or every file of
 * every directory named, in name order, so make test replays the corpus
 * where clang is missing.  On a crash it names the input that caused it. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static char replay_current[4096];

static void replay_name_culprit(void)
{
    static const char pre[] = "\nreplay: crashed on input ";
    if (!replay_current[0])
        return;
    /* write(2) only: this runs from a signal handler too. */
    (void)!write(2, pre, sizeof(pre) - 1);
    (void)!write(2, replay_current, strlen(replay_current));
    (void)!write(2, "\n", 1);
}

static void replay_signal(int sig)
{
    replay_name_culprit();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            uint8_t *n = realloc(buf, cap);
            if (!n) {
                fclose(f);
                free(buf);
                fprintf(stderr, "replay: out of memory reading %s\n", path);
                return -1;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    /* An exact-size copy, so ASan sees reads past the input's end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    snprintf(replay_current, sizeof(replay_current), "%s", path);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    /* A leak is this input's: look now, not at exit. */
    if (__lsan_do_recoverable_leak_check()) {
        replay_name_culprit();
        exit(1);
    }
    replay_current[0] = 0;
    return 0;
}

static int replay_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; the count run, or -1. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **nn = realloc(names, cap * sizeof(*names));
            if (!nn)
                abort();
            names = nn;
        }
        size_t l = strlen(dir) + strlen(de->d_name) + 2;
        names[n] = malloc(l);
        if (!names[n])
            abort();
        snprintf(names[n], l, "%s/%s", dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), replay_cmp);
    int count = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) < 0)
                bad = 1;
            else
                count++;
        }
        free(names[i]);
    }
    free(names);
    return bad ? -1 : count;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
        return 2;
    }
    __sanitizer_set_death_callback(replay_name_culprit);
    /* ASan reports faults itself (and calls the death callback); an
     * abort() of the target's own checks comes here. */
    signal(SIGABRT, replay_signal);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int r;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            r = replay_dir(argv[i]);
        else
            r = replay_file(argv[i]) < 0 ? -1 : 1;
        if (r < 0)
            return 2;
        total += r;
    }
    printf("replayed %d inputs\n", total);
    return 0;
}
