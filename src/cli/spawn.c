/* Detached daemons for the CLI: the double fork, the log, the ready pipe. */
#include "cli/spawn.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/log.h"

ssize_t cli_spawn_daemon(const char *log_path, int verbosity, int (*fn)(void *opaque, int ready_fd),
                         void *opaque, char *reply, size_t len)
{
    int pipefd[2];
    if (len == 0)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        log_error("pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        /* Its own session, no terminal, stderr into its log. */
        close(pipefd[0]);
        setsid();
        int devnull = open("/dev/null", O_RDWR);
        int logfd = log_path ? open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        if (logfd >= 0)
            dup2(logfd, 2);
        else if (devnull >= 0)
            dup2(devnull, 2);
        if (verbosity >= 0)
            log_verbosity = verbosity;
        pid_t inner = fork();   /* not a child of the CLI: it outlives it */
        if (inner != 0)
            _exit(inner < 0 ? 1 : 0);
        _exit(fn(opaque, pipefd[1]));
    }
    close(pipefd[1]);
    waitpid(pid, NULL, 0);
    size_t have = 0;
    for (;;) {
        ssize_t n = read(pipefd[0], reply + have, len - 1 - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    close(pipefd[0]);
    reply[have] = 0;
    reply[strcspn(reply, "\n")] = 0;
    return (ssize_t)strlen(reply);
}

const char *cli_daemon_why(const char *reply, ssize_t have, const char *died)
{
    if (have <= 0)
        return died;
    return strncmp(reply, "error: ", 7) ? reply : reply + 7;
}
