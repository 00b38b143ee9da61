/* Unit tests for the root jail (lib/jail.h): which user it chooses, that a
 * kept fd answers a later open of its name (even once the name points
 * elsewhere), and, as root, in a child: the user, capabilities and mounts
 * after jail_enter; a folder left to its owner, written only by a thread
 * that raised the file capabilities kept for it; a socket not given to the
 * jail user with its folder.  (The whole VMM in its jail:
 * tests/machines/run_jail.sh and run_jail2.sh.) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lib/jail.h"

static void user_choice(void)
{
    uid_t u = 0;
    gid_t g = 0;
    struct err e = ERR_INIT;
    setenv("HOSTEL_JAIL_USER", "5000:6000", 1);
    CHECK_EQ(jail_user(&u, &g, &e), 0);
    CHECK_EQ(u, 5000);
    CHECK_EQ(g, 6000);
    setenv("HOSTEL_JAIL_USER", "7000", 1);
    CHECK_EQ(jail_user(&u, &g, &e), 0);
    CHECK_EQ(u, 7000);
    CHECK_EQ(g, 7000);
    setenv("HOSTEL_JAIL_USER", "off", 1);
    CHECK_EQ(jail_user(&u, &g, &e), 1);
    const char *bad[] = { "0", "0:5", "5:0", "5:x", "no-such-user-hostel-test" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct err be = ERR_INIT;
        setenv("HOSTEL_JAIL_USER", bad[i], 1);
        CHECK_EQ(jail_user(&u, &g, &be), -EINVAL);
        CHECK(strstr(be.msg, bad[i]) != NULL);
    }
    unsetenv("HOSTEL_JAIL_USER");
    CHECK_EQ(jail_user(&u, &g, &e), 0);
    CHECK(u != 0 && g != 0);
    /* A machine's own setting wins over the environment, and is named. */
    setenv("HOSTEL_JAIL_USER", "5000", 1);
    CHECK_EQ(jail_user_for("8000:9000", &u, &g, &e), 0);
    CHECK_EQ(u, 8000);
    CHECK_EQ(g, 9000);
    CHECK_EQ(jail_user_for("off", &u, &g, &e), 1);
    CHECK_EQ(jail_user_for(NULL, &u, &g, &e), 0);
    CHECK_EQ(u, 5000);
    struct err be = ERR_INIT;
    CHECK_EQ(jail_user_for("0:7", &u, &g, &be), -EINVAL);
    CHECK(strstr(be.msg, "--jail-user '0:7'") != NULL);
    unsetenv("HOSTEL_JAIL_USER");
}

static void kept_fd_answers(void)
{
    char dir[] = "/tmp/hostel-test-jail-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char a[64], b[64];
    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    int fd = open(a, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && write(fd, "kept", 4) == 4);
    close(fd);
    CHECK_EQ(jail_keep(a, O_RDWR), 0);
    /* The name now leads to another file: the kept one still answers. */
    CHECK_EQ(rename(a, b), 0);
    fd = open(a, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && write(fd, "new!", 4) == 4);
    close(fd);
    char buf[5] = "";
    fd = jail_open(a, O_RDONLY);
    CHECK(fd >= 0 && pread(fd, buf, 4, 0) == 4);
    CHECK(!strcmp(buf, "kept"));
    CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    close(fd);
    /* A name never kept is opened as usual. */
    fd = jail_open(b, O_RDONLY);
    CHECK(fd >= 0);
    close(fd);
    CHECK(jail_open("/nonexistent/hostel", O_RDONLY) < 0 && errno == ENOENT);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

/* As root, in a child: the jail shows only what it was given, as uid and
 * gid 64434 with no capabilities; exit status 0 when all held. */
static int jailed_child(const char *dir)
{
    struct jail_config c = { .uid = JAIL_DEFAULT_ID, .gid = JAIL_DEFAULT_ID };
    struct err e = ERR_INIT;
    jail_add(&c, dir, true);
    jail_add(&c, "/dev/null", false);
    if (jail_enter(&c, &e) < 0) {
        printf("  enter: %s\n", e.msg);
        return 10;
    }
    if (getuid() != JAIL_DEFAULT_ID || geteuid() != JAIL_DEFAULT_ID || getgid() != JAIL_DEFAULT_ID)
        return 11;
    if (access("/etc/passwd", F_OK) == 0 || access("/proc/self", F_OK) == 0)
        return 12;    /* the host's files are out of reach */
    char p[128];
    snprintf(p, sizeof(p), "%s/made-inside", dir);
    int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return 13;    /* the folder given is writable, by the jail user */
    close(fd);
    if (open("/new-file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0)
        return 14;    /* the jail's own root is read-only */
    if (setuid(0) == 0 || chroot("/") == 0)
        return 15;    /* no capability left to regain root or move */
    return 0;
}

static void enter_as_root(void)
{
    if (geteuid() != 0) {
        printf("SKIP: enter_as_root (not root: the jail needs it)\n");
        return;
    }
    char dir[] = "/tmp/hostel-test-jail-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(jailed_child(dir));
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    char p[128];
    snprintf(p, sizeof(p), "%s/made-inside", dir);
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && sb.st_uid == JAIL_DEFAULT_ID);
    CHECK(stat(dir, &sb) == 0 && sb.st_uid == JAIL_DEFAULT_ID);
    unlink(p);
    rmdir(dir);
}

/* A thread that raises the file capabilities, then makes a file in a
 * folder that is not the jail user's. */
static void *make_with_caps(void *arg)
{
    static int r;
    r = jail_raise_file_caps();
    if (r == 0) {
        int fd = open(arg, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        r = fd < 0 ? -errno : 0;
        if (fd >= 0)
            close(fd);
    }
    return &r;
}

/* As root, in a child: FOREIGN (root's, 0755) is shown writable but left
 * to root; the main thread cannot write in it, a thread that raised the
 * file capabilities can, and the main thread still has none in effect. */
static int file_caps_child(const char *dir, const char *foreign)
{
    struct jail_config c = { .uid = JAIL_DEFAULT_ID, .gid = JAIL_DEFAULT_ID,
                             .keep_file_caps = true };
    struct err e = ERR_INIT;
    jail_add(&c, dir, true);
    jail_add_foreign(&c, foreign, true);
    if (jail_enter(&c, &e) < 0) {
        printf("  enter: %s\n", e.msg);
        return 20;
    }
    char p[160];
    snprintf(p, sizeof(p), "%s/by-main", foreign);
    if (open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0 || errno != EACCES)
        return 21;    /* no capability in effect on this thread */
    snprintf(p, sizeof(p), "%s/by-thread", foreign);
    pthread_t t;
    void *res = NULL;
    if (pthread_create(&t, NULL, make_with_caps, p) || pthread_join(t, &res) || *(int *)res)
        return 22;
    snprintf(p, sizeof(p), "%s/by-main-after", foreign);
    if (open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600) >= 0)
        return 23;    /* the thread's capabilities stayed its own */
    return 0;
}

static void file_caps_as_root(void)
{
    if (geteuid() != 0) {
        printf("SKIP: file_caps_as_root (not root: the jail needs it)\n");
        return;
    }
    char dir[] = "/tmp/hostel-test-jail-XXXXXX", foreign[] = "/tmp/hostel-test-jail-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && mkdtemp(foreign) != NULL);
    CHECK_EQ(chmod(foreign, 0755), 0);
    /* A socket in the folder given away stays root's. */
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.sock", dir);
    const char *sp = sa.sun_path;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(file_caps_child(dir, foreign));
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    struct stat sb;
    char p[160];
    snprintf(p, sizeof(p), "%s/by-thread", foreign);
    CHECK(stat(p, &sb) == 0 && sb.st_uid == JAIL_DEFAULT_ID);
    CHECK(stat(foreign, &sb) == 0 && sb.st_uid == 0);     /* left to its owner */
    CHECK(stat(dir, &sb) == 0 && sb.st_uid == JAIL_DEFAULT_ID);
    CHECK(stat(sp, &sb) == 0 && sb.st_uid == 0);          /* the socket too */
    close(s);
    unlink(p);
    unlink(sp);
    rmdir(foreign);
    rmdir(dir);
}

int main(void)
{
    RUN_TEST(user_choice);
    RUN_TEST(kept_fd_answers);
    RUN_TEST(enter_as_root);
    RUN_TEST(file_caps_as_root);
    return CHECK_DONE();
}
