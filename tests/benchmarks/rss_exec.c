/* rss_exec.c - run a command as a child and report that child's peak RSS and CPU time.
 *
 * usage: rss_exec OUT_FILE COMMAND [ARGS...]
 *
 * Runs COMMAND (PATH search) with every open fd inherited, waits for it, writes one line
 * "MAXRSS_KIB USER_US SYSTEM_US" to OUT_FILE (wait4's ru_maxrss, ru_utime, ru_stime: the
 * child's peak resident set size and CPU time, including children it waited for), and
 * exits with COMMAND's exit status (128 + N if it died of signal N).
 * Exit 126 if the child could not be started or waited for, 127 if exec failed.
 *
 * Why a separate, tiny C program: Linux keeps a process's RSS high-water mark across
 * execve (the pre-exec image counts). Forking the executor from the benchmark or from a
 * Python wrapper would report at least that parent's RSS. Forked from this program the
 * floor is this program's own RSS (about 1 MiB), far below any executor's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rss_exec OUT_FILE COMMAND [ARGS...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("rss_exec: fork");
    return 126;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    fprintf(stderr, "rss_exec: cannot execute %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage usage;
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      perror("rss_exec: wait4");
      return 126;
    }
  }
  FILE *out = fopen(argv[1], "w");
  long long user_us = (long long)usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec;
  long long system_us = (long long)usage.ru_stime.tv_sec * 1000000 + usage.ru_stime.tv_usec;
  if (out == NULL ||
      fprintf(out, "%ld %lld %lld\n", usage.ru_maxrss, user_us, system_us) < 0 ||
      fclose(out) != 0) {
    fprintf(stderr, "rss_exec: cannot write %s: %s\n", argv[1], strerror(errno));
    return 126;
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 126;
}
