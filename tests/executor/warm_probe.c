/* What JIT'd code sees of its process, for the warm-start tests (tests/executor/test_warm*.py).
 *
 * Built as a shared library by the tests; the controller opens it in the executor and runs its
 * functions with run_as_main (int f(int argc, char **argv), argv without a program name).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void json_string(FILE *out, const char *text) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\')
      fprintf(out, "\\%c", *c);
    else if (*c < 0x20 || *c >= 0x7f)
      fprintf(out, "\\u%04x", *c);
    else
      fputc(*c, out);
  }
  fputc('"', out);
}

/* argv[0]: the file to write a JSON object to. */
int probe_state(int argc, char **argv) {
  if (argc < 1)
    return 2;
  FILE *out = fopen(argv[0], "w");
  if (!out)
    return 3;
  char cwd[PATH_MAX];
  mode_t mask = umask(0);
  umask(mask);
  fprintf(out, "{\"pid\": %d, \"ppid\": %d, \"pgrp\": %d, \"sid\": %d, \"umask\": %u, \"cwd\": ",
          (int)getpid(), (int)getppid(), (int)getpgrp(), (int)getsid(0), (unsigned)mask);
  json_string(out, getcwd(cwd, sizeof cwd) ? cwd : "");
  fprintf(out, ", \"limits\": [");
  for (int resource = 0; resource < RLIM_NLIMITS; resource++) {
    struct rlimit limit;
    getrlimit(resource, &limit);
    fprintf(out, "%s[%llu, %llu]", resource ? ", " : "", (unsigned long long)limit.rlim_cur,
            (unsigned long long)limit.rlim_max);
  }
  fprintf(out, "], \"environ\": [");
  for (char **entry = environ; *entry; entry++) {
    if (entry != environ)
      fprintf(out, ", ");
    json_string(out, *entry);
  }
  sigset_t blocked;
  sigprocmask(SIG_BLOCK, NULL, &blocked);
  unsigned long long blocked_bits = 0, ignored_bits = 0;
  for (int sig = 1; sig <= 64 && sig < NSIG; sig++) {
    struct sigaction action;
    if (sigismember(&blocked, sig) == 1)
      blocked_bits |= 1ull << (sig - 1);
    if (sigaction(sig, NULL, &action) == 0 && action.sa_handler == SIG_IGN)
      ignored_bits |= 1ull << (sig - 1);
  }
  fprintf(out, "], \"blocked\": %llu, \"ignored\": %llu, \"fds\": {", blocked_bits, ignored_bits);
  DIR *dir = opendir("/proc/self/fd");
  int first = 1, skip = dir ? dirfd(dir) : -1;
  struct dirent *entry;
  while (dir && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.' || atoi(entry->d_name) == skip)
      continue;
    int fd = atoi(entry->d_name);
    struct stat st;
    if (fstat(fd, &st) != 0)
      continue;
    fprintf(out, "%s\"%d\": [%llu, %llu, %d, %d]", first ? "" : ", ", fd,
            (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, isatty(fd),
            (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    first = 0;
  }
  if (dir)
    closedir(dir);
  int tty = open("/dev/tty", O_RDONLY | O_NOCTTY);
  fprintf(out, "}, \"controlling_tty\": %d}\n", tty >= 0);
  if (tty >= 0)
    close(tty);
  return fclose(out) == 0 ? 0 : 4;
}

/* Ends the executor process at once with status argv[0]. */
int probe_exit(int argc, char **argv) {
  _exit(argc > 0 ? atoi(argv[0]) : 0);
}

/* Kills the executor process with signal argv[0]. */
int probe_raise(int argc, char **argv) {
  int sig = argc > 0 ? atoi(argv[0]) : SIGTERM;
  signal(sig, SIG_DFL);
  kill(getpid(), sig);
  pause();
  return 0;
}

/* Echoes a line of stdin to stdout, prefixed by argv[0]; writes argv[1] to stderr. */
int probe_echo(int argc, char **argv) {
  char line[256];
  if (!fgets(line, sizeof line, stdin))
    strcpy(line, "(eof)\n");
  printf("%s%s", argc > 0 ? argv[0] : "", line);
  fflush(stdout);
  if (argc > 1)
    fprintf(stderr, "%s\n", argv[1]);
  return 0;
}
