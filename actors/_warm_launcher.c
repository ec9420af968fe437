/* orcrt-executor and orcrt-jitlink: orcrt's two programs that are run once per JIT'd program, in
 * C so that they start in ~1 ms. One binary, installed under both names; the name it runs under
 * (its file's, not argv[0]) says which program it is. Below, "the program" is the executor
 * (what llvm-jitlink's -oop-executor= runs) or the controller orcrt-jitlink.
 *
 * Without ORCRT_WARM in the environment (or with ORCRT_WARM=0) it execs the Python program,
 * `orcrt-executor-py` or `orcrt-jitlink-py` beside it, with the same arguments: the cold start,
 * the same process.
 *
 * With ORCRT_WARM=1 (or ORCRT_WARM=verbose, which also says on stderr what it decides) it is
 * the warm start's launcher, as Mercurial's chg is for hg: it connects to this user's server
 * (`orcrt-warm-server` beside it, started on first use), sends it everything a process
 * inherits (its open descriptors, among them the filedescs=R,W pipes and stdio; working
 * directory; environment; umask; resource limits; signal mask and ignored signals; its parent's
 * pid, for the executor's LLVM version detection), and the server forks an already-imported
 * Python process that takes all of it over and runs the program. This process then only relays:
 * signals it receives go to that process, and it exits with its exit status, or dies by the
 * signal that killed it. Whenever the server cannot be used before the request is handed over,
 * it falls back to the cold start.
 *
 * The wire format and the server are in actors/_warm_wire.py and actors/_warm_server.py; the
 * README's "Warm start" section has the design and what differs for JIT'd code.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SERVER_NAME "orcrt-warm-server"
/* Keep in step with actors/_warm_wire.py. */
#define REQUEST_MAGIC 0x3152574fu /* "OWR1" */
#define GREETING_MAGIC 0x3153574fu /* "OWS1" */
#define KIND_LAUNCH 1u         /* an executor */
#define KIND_LAUNCH_JITLINK 3u /* orcrt-jitlink */
/* The two programs: the launcher's name, the Python script of the cold start, the request kind. */
typedef struct {
  const char *name, *cold_name;
  uint32_t kind;
  const char *noun; /* what the forked process is called in messages */
} program;
static const program PROGRAMS[] = {
    {"orcrt-executor", "orcrt-executor-py", KIND_LAUNCH, "executor"},
    {"orcrt-jitlink", "orcrt-jitlink-py", KIND_LAUNCH_JITLINK, "process"},
};
#define NPROGRAMS (sizeof PROGRAMS / sizeof *PROGRAMS)
#define MAX_PASSED_FDS 250 /* SCM_RIGHTS carries at most 253 per message */
#define DEFAULT_TIMEOUT_MS 10000

static int verbose;
static const program *self = &PROGRAMS[0]; /* which one we are, from our file name */
static char self_dir[PATH_MAX - 32]; /* room for a sibling's name */
static char self_exe[PATH_MAX];
static volatile sig_atomic_t executor_pid;

static void note(const char *format, ...) {
  if (!verbose)
    return;
  va_list args;
  va_start(args, format);
  char line[1024];
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  dprintf(2, "%s: warm: %s\n", self->name, line);
}

static void close_from(int lowest) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  closefrom(lowest);
#else
  long highest = sysconf(_SC_OPEN_MAX);
  for (long fd = lowest; fd < (highest > 0 ? highest : 65536); fd++)
    close((int)fd);
#endif
}

/* ---- The cold start ------------------------------------------------------------------------ */

static void sibling(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", self_dir, name);
}

static _Noreturn void exec_cold(char **argv) {
  char path[PATH_MAX];
  sibling(path, sizeof path, self->cold_name);
  argv[0] = path;
  execv(path, argv);
  dprintf(2, "%s: error: cannot run %s: %s (reinstall orcrt)\n", self->name, path, strerror(errno));
  _exit(127);
}

/* ---- Where this user's server lives ---------------------------------------------------------- */

/* A directory only this user can reach: owned by us, not a symlink, no access for group or
 * others. Creates it (0700) when asked and missing. */
static int private_dir(const char *path, int create) {
  if (create && mkdir(path, 0700) != 0 && errno != EEXIST) {
    note("cannot create %s: %s", path, strerror(errno));
    return 0;
  }
  struct stat st;
  if (lstat(path, &st) != 0) {
    note("cannot stat %s: %s", path, strerror(errno));
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    note("%s is not a directory", path);
    return 0;
  }
  if (st.st_uid != getuid()) {
    note("%s belongs to uid %u, not to us (uid %u)", path, (unsigned)st.st_uid, (unsigned)getuid());
    return 0;
  }
  if (st.st_mode & 077) {
    note("%s has mode %03o: group or others may enter it", path, (unsigned)(st.st_mode & 0777));
    return 0;
  }
  return 1;
}

/* A parent we may put our directory in: owned by us, or root's with the sticky bit (/tmp). */
static int safe_parent(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    note("%s is not a directory", path);
    return 0;
  }
  if (st.st_uid == getuid() || (st.st_uid == 0 && (st.st_mode & S_ISVTX)))
    return 1;
  note("%s is neither ours nor a sticky root directory", path);
  return 0;
}

static int socket_dir(char *out, size_t size) {
  const char *runtime = getenv("XDG_RUNTIME_DIR");
  int written;
  if (runtime && runtime[0] == '/') {
    if (!safe_parent(runtime))
      return 0;
    written = snprintf(out, size, "%s/orcrt-warm", runtime);
  } else {
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/')
      tmp = "/tmp";
    if (!safe_parent(tmp))
      return 0;
    written = snprintf(out, size, "%s/orcrt-warm-%u", tmp, (unsigned)getuid());
  }
  if (written < 0 || (size_t)written >= size) {
    note("socket directory path too long");
    return 0;
  }
  return private_dir(out, 1);
}

/* ---- Which server: a name per installation and per state of it ------------------------------- */

typedef struct {
  uint64_t value;
} fnv;

static void fnv_add(fnv *hash, const void *data, size_t size) {
  const unsigned char *bytes = data;
  for (size_t i = 0; i < size; i++) {
    hash->value ^= bytes[i];
    hash->value *= 0x100000001b3ull;
  }
}

static void fnv_add_stat(fnv *hash, const char *path) {
  struct stat st;
  int64_t fields[6] = {0};
  if (stat(path, &st) == 0) {
    fields[0] = (int64_t)st.st_dev;
    fields[1] = (int64_t)st.st_ino;
    fields[2] = (int64_t)st.st_size;
    fields[3] = (int64_t)st.st_mtim.tv_sec;
    fields[4] = (int64_t)st.st_mtim.tv_nsec;
    fields[5] = (int64_t)st.st_ctim.tv_nsec;
  }
  fnv_add(hash, path, strlen(path) + 1);
  fnv_add(hash, fields, sizeof fields);
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "<family>-<state>": family names the installation (the real directory of this binary), state
 * changes whenever it is upgraded (the launchers and the Python scripts beside them) or the
 * environment the interpreter starts from changes (PYTHON* and LD_* variables). Both programs
 * of an installation compute the same name, so one server forks both. The server checks the
 * Python modules it imported itself, before every launch. */
static void server_name(char *out, size_t size) {
  fnv family = {0xcbf29ce484222325ull}, state = {0xcbf29ce484222325ull};
  fnv_add(&family, self_dir, strlen(self_dir) + 1);
  char path[PATH_MAX];
  for (size_t i = 0; i < NPROGRAMS; i++) {
    sibling(path, sizeof path, PROGRAMS[i].name);
    fnv_add_stat(&state, path);
    sibling(path, sizeof path, PROGRAMS[i].cold_name);
    fnv_add_stat(&state, path);
  }
  sibling(path, sizeof path, SERVER_NAME);
  fnv_add_stat(&state, path);
  size_t count = 0;
  for (char **entry = environ; *entry; entry++)
    count++;
  char **picked = calloc(count + 1, sizeof *picked);
  size_t n = 0;
  for (char **entry = environ; picked && *entry; entry++)
    if (strncmp(*entry, "PYTHON", 6) == 0 || strncmp(*entry, "LD_", 3) == 0)
      picked[n++] = *entry;
  if (picked) {
    qsort(picked, n, sizeof *picked, compare_strings);
    for (size_t i = 0; i < n; i++)
      fnv_add(&state, picked[i], strlen(picked[i]) + 1);
    free(picked);
  }
  snprintf(out, size, "%016llx-%016llx", (unsigned long long)family.value,
           (unsigned long long)state.value);
}

/* ---- Talking to the server ------------------------------------------------------------------- */

static long timeout_ms(void) {
  const char *text = getenv("ORCRT_WARM_TIMEOUT_S");
  if (!text || !*text)
    return DEFAULT_TIMEOUT_MS;
  char *end;
  double seconds = strtod(text, &end);
  if (*end || seconds <= 0)
    return DEFAULT_TIMEOUT_MS;
  return (long)(seconds * 1000.0);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly `size` bytes before `deadline` (now_ms; -1: none). 1: done, 0: EOF or error. */
static int read_full(int fd, void *buffer, size_t size, int64_t deadline) {
  char *at = buffer;
  while (size > 0) {
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      struct pollfd pfd = {fd, POLLIN, 0};
      int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready <= 0) {
        note("the server did not answer in time");
        errno = ETIMEDOUT;
        return 0;
      }
    }
    ssize_t got = read(fd, at, size);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return 0;
    at += got;
    size -= (size_t)got;
  }
  return 1;
}

/* Connects to the server's socket. Returns the socket, -1 when no server listens there (no
 * file, or nobody behind it: ENOENT, ECONNREFUSED), -2 when the server must not be used. */
static int connect_server(const char *path, pid_t *server_pid) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note("socket: %s", strerror(errno));
    return -2;
  }
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    int error = errno;
    close(fd);
    if (error == ENOENT || error == ECONNREFUSED) {
      note("no server at %s (%s)", path, strerror(error));
      return -1;
    }
    note("cannot connect to %s: %s", path, strerror(error));
    return -2;
  }
  struct ucred peer;
  socklen_t length = sizeof peer;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.uid != getuid()) {
    note("the server at %s is not ours (uid %d)", path, (int)peer.uid);
    close(fd);
    return -2;
  }
  *server_pid = peer.pid;
  return fd;
}

/* Starts a server for `socket_path` (detached: its own session, stdio on /dev/null and the log
 * file, no descriptor of ours) and waits until it listens. 1: it does. */
static int spawn_server(const char *socket_path, const char *log_path, long timeout) {
  char script[PATH_MAX];
  sibling(script, sizeof script, SERVER_NAME);
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0)
    return 0;
  pid_t middle = fork();
  if (middle < 0) {
    close(ready[0]);
    close(ready[1]);
    return 0;
  }
  if (middle == 0) {
    /* Detach: a new session, then a grandchild that init adopts, so the server is nobody's
     * child here and holds nothing of the launcher's (pipes, stdio, working directory). */
    setsid();
    if (fork() != 0)
      _exit(0);
    /* All above the numbers being set up (the launcher may have run with 0-2 closed). */
    int ready_fd = fcntl(ready[1], F_DUPFD, 10);
    int null = fcntl(open("/dev/null", O_RDWR | O_CLOEXEC), F_DUPFD, 10);
    int log = fcntl(open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600), F_DUPFD, 10);
    if (ready_fd < 0 || null < 0 || log < 0)
      _exit(126);
    dup2(null, 0);
    dup2(null, 1);
    dup2(log, 2);
    dup2(ready_fd, 3);
    close_from(4);
    if (chdir("/") != 0)
      _exit(126);
    umask(077);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
      signal(sig, SIG_DFL);
    execl(script, script, "--socket", socket_path, "--ready-fd", "3", (char *)NULL);
    dprintf(2, "%s: warm: cannot run %s: %s\n", self->name, script, strerror(errno));
    _exit(127);
  }
  close(ready[1]);
  int status;
  while (waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  char byte = 0;
  int ok = read_full(ready[0], &byte, 1, now_ms() + timeout) && byte == 'R';
  close(ready[0]);
  if (!ok)
    note("the server did not start (see %s)", log_path);
  return ok;
}

/* ---- The request ------------------------------------------------------------------------------ */

typedef struct {
  char *data;
  size_t size, capacity;
} buffer;

static int put(buffer *out, const void *data, size_t size) {
  if (out->size + size > out->capacity) {
    size_t capacity = out->capacity ? out->capacity : 4096;
    while (capacity < out->size + size)
      capacity *= 2;
    char *grown = realloc(out->data, capacity);
    if (!grown)
      return 0;
    out->data = grown;
    out->capacity = capacity;
  }
  memcpy(out->data + out->size, data, size);
  out->size += size;
  return 1;
}

static int put_u32(buffer *out, uint32_t value) { return put(out, &value, sizeof value); }
static int put_u64(buffer *out, uint64_t value) { return put(out, &value, sizeof value); }

static int put_strings(buffer *out, char **strings, uint32_t count) {
  int ok = put_u32(out, count);
  for (uint32_t i = 0; ok && i < count; i++)
    ok = put(out, strings[i], strlen(strings[i]) + 1);
  return ok;
}

/* This process's open descriptors, as the cold executor would inherit them. */
static int open_fds(int *fds, int capacity) {
  DIR *dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  int count = 0, skip = dirfd(dir);
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.')
      continue;
    int fd = atoi(entry->d_name);
    if (fd == skip)
      continue;
    if (count == capacity) {
      count = -1;
      break;
    }
    fds[count++] = fd;
  }
  closedir(dir);
  return count;
}

/* The whole request: header (magic, kind, body size) and body; see actors/_warm_wire.py. */
static int build_request(buffer *out, int argc, char **argv, const int *fds, int nfds) {
  uint32_t header[3] = {REQUEST_MAGIC, self->kind, 0};
  if (!put(out, header, sizeof header))
    return 0;
  mode_t mask = umask(0);
  umask(mask);
  sigset_t blocked;
  sigprocmask(SIG_BLOCK, NULL, &blocked);
  uint64_t blocked_bits = 0, ignored_bits = 0;
  for (int sig = 1; sig <= 64 && sig < NSIG; sig++) {
    struct sigaction action;
    if (sigismember(&blocked, sig) == 1)
      blocked_bits |= 1ull << (sig - 1);
    if (sigaction(sig, NULL, &action) == 0 && action.sa_handler == SIG_IGN)
      ignored_bits |= 1ull << (sig - 1);
  }
  int ok = put_u32(out, (uint32_t)getpid()) && put_u32(out, (uint32_t)getppid()) &&
           put_u32(out, (uint32_t)mask) && put_u64(out, blocked_bits) && put_u64(out, ignored_bits);
  ok = ok && put_u32(out, RLIM_NLIMITS);
  for (int resource = 0; ok && resource < RLIM_NLIMITS; resource++) {
    struct rlimit limit = {RLIM_INFINITY, RLIM_INFINITY};
    getrlimit(resource, &limit);
    ok = put_u64(out, limit.rlim_cur) && put_u64(out, limit.rlim_max);
  }
  ok = ok && put_u32(out, (uint32_t)nfds);
  for (int i = 0; ok && i < nfds; i++)
    ok = put_u32(out, (uint32_t)fds[i]);
  ok = ok && put_strings(out, argv, (uint32_t)argc);
  uint32_t envc = 0;
  for (char **entry = environ; *entry; entry++)
    envc++;
  ok = ok && put_strings(out, environ, envc);
  if (ok) {
    uint32_t body = (uint32_t)(out->size - sizeof header);
    memcpy(out->data + 2 * sizeof(uint32_t), &body, sizeof body);
  }
  return ok;
}

/* Sends the request (header and body, in `message`) with the working directory and `fds`
 * attached to its first byte (SCM_RIGHTS). */
static int send_request(int sock, buffer *message, int cwd, const int *fds, int nfds) {
  int passed[MAX_PASSED_FDS + 1];
  passed[0] = cwd;
  memcpy(passed + 1, fds, (size_t)nfds * sizeof *fds);
  size_t fd_bytes = (size_t)(nfds + 1) * sizeof(int);
  union {
    char bytes[CMSG_SPACE(sizeof(int) * (MAX_PASSED_FDS + 1))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {message->data, message->size};
  struct msghdr header = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = CMSG_SPACE(fd_bytes)};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(fd_bytes);
  memcpy(CMSG_DATA(cmsg), passed, fd_bytes);
  ssize_t sent;
  do
    sent = sendmsg(sock, &header, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  size_t done = sent > 0 ? (size_t)sent : 0;
  while (sent > 0 && done < message->size) {
    /* The descriptors went with the first byte; the rest is plain data. */
    do
      sent = send(sock, message->data + done, message->size - done, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent > 0)
      done += (size_t)sent;
  }
  if (done < message->size) {
    note("sending the request failed: %s", strerror(errno));
    return 0;
  }
  return 1;
}

/* Waits until process `pid` (not our child) has exited: a pidfd polls readable then. Returns
 * 0 if this kernel has no pidfd_open (nothing waited for). */
static int wait_gone(pid_t pid, long timeout) {
#ifdef SYS_pidfd_open
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return errno == ESRCH; /* already gone */
  struct pollfd pfd = {pidfd, POLLIN, 0};
  int ready;
  do
    ready = poll(&pfd, 1, (int)timeout);
  while (ready < 0 && errno == EINTR);
  close(pidfd);
  return ready > 0;
#else
  (void)pid;
  (void)timeout;
  return 0;
#endif
}

/* ---- Relaying ------------------------------------------------------------------------------------ */

/* Where a signal goes. One the kernel sent for the terminal (Ctrl-C, Ctrl-\, Ctrl-Z, a
 * hang-up: si_code SI_KERNEL) reached our whole process group, so in a cold start it would
 * have reached what the program started too (orcrt-jitlink's executor): it goes to the forked
 * process's group (its pid: it made a group of its own). One sent to us alone (kill(2)) goes to
 * the process alone. Until the process has its group, everything goes to the process. */
static void send_on(const siginfo_t *info, int sig) {
  if (executor_pid <= 0)
    return;
  if (info != NULL && info->si_code == SI_KERNEL && kill(-executor_pid, sig) == 0)
    return;
  kill(executor_pid, sig);
}

static void forward(int sig, siginfo_t *info, void *context) {
  (void)context;
  int saved = errno;
  send_on(info, sig);
  errno = saved;
}

static void stop_both(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)context;
  int saved = errno;
  send_on(info, SIGSTOP); /* its default SIGTSTP is void in an orphaned process group */
  raise(SIGSTOP);
  errno = saved;
}

static const int forwarded[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,  SIGUSR1,
                                SIGUSR2, SIGALRM, SIGCONT, SIGWINCH, SIGTSTP};

static void install_forwarding(void) {
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) {
    struct sigaction current;
    if (sigaction(forwarded[i], NULL, &current) == 0 && current.sa_handler == SIG_IGN)
      continue; /* ignored here, so ignored by the executor too: nothing to forward */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = forwarded[i] == SIGTSTP ? stop_both : forward;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(forwarded[i], &action, NULL);
  }
}

/* Waits for the executor's wait status and ends this process the same way. */
static _Noreturn void relay(int sock, pid_t pid) {
  executor_pid = pid;
  install_forwarding();
  unsigned char tag;
  int32_t status;
  if (!read_full(sock, &tag, 1, -1) || tag != 'X' || !read_full(sock, &status, 4, -1)) {
    /* The server died; the executor may still serve its controller. Stay as long as it runs
     * (to whoever waits for us, we are it), but its status is lost with the server. */
    wait_gone(pid, -1);
    dprintf(2, "%s: error: the warm server ended before %s %d did; its exit status is lost\n",
            self->name, self->noun, (int)pid);
    _exit(1);
  }
  if (WIFEXITED(status))
    _exit(WEXITSTATUS(status));
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  note("%s %d was killed by signal %d", self->noun, (int)pid, sig);
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) == 0) {
    core.rlim_cur = 0; /* the executor dumped its own core, if any */
    setrlimit(RLIMIT_CORE, &core);
  }
  signal(sig, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  sigprocmask(SIG_UNBLOCK, &only, NULL);
  raise(sig);
  _exit(128 + sig);
}

/* ---- The warm start ------------------------------------------------------------------------------ */

typedef enum { LAUNCH_FALLBACK, LAUNCH_RETRY } outcome;

/* One attempt; returns only when the executor was not started (the caller falls back or
 * retries), otherwise relays and exits. */
static outcome try_launch(int argc, char **argv, const char *dir, const char *name,
                          const int *fds, int nfds, long timeout) {
  char socket_path[PATH_MAX], lock_path[PATH_MAX], log_path[PATH_MAX];
  snprintf(socket_path, sizeof socket_path, "%s/%s.sock", dir, name);
  snprintf(lock_path, sizeof lock_path, "%s/%s.lock", dir, name);
  snprintf(log_path, sizeof log_path, "%s/%s.log", dir, name);
  if (strlen(socket_path) >= sizeof((struct sockaddr_un *)0)->sun_path) {
    note("socket path too long: %s", socket_path);
    return LAUNCH_FALLBACK;
  }
  pid_t server = 0;
  int sock = connect_server(socket_path, &server);
  if (sock == -1) {
    /* Start one; the lock makes simultaneous launchers start only one between them. */
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
      note("cannot lock %s: %s", lock_path, strerror(errno));
      if (lock >= 0)
        close(lock);
      return LAUNCH_FALLBACK;
    }
    sock = connect_server(socket_path, &server);
    if (sock == -1 && spawn_server(socket_path, log_path, timeout)) {
      note("started a server for %s", socket_path);
      sock = connect_server(socket_path, &server);
    }
    close(lock);
  }
  if (sock < 0)
    return LAUNCH_FALLBACK;
  note("connected to server %d at %s", (int)server, socket_path);
  uint32_t greeting[2];
  if (!read_full(sock, greeting, sizeof greeting, now_ms() + timeout) ||
      greeting[0] != GREETING_MAGIC) {
    note("server %d did not greet; killing it", (int)server);
    close(sock);
    if (server > 0 && kill(server, SIGKILL) == 0)
      wait_gone(server, timeout); /* hung: gone before the retry starts a fresh one */
    return LAUNCH_RETRY;
  }
  int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0) {
    note("cannot open the working directory: %s", strerror(errno));
    close(sock);
    return LAUNCH_FALLBACK;
  }
  buffer body = {0};
  int ok = build_request(&body, argc, argv, fds, nfds) && send_request(sock, &body, cwd, fds, nfds);
  free(body.data);
  close(cwd);
  if (!ok) {
    close(sock);
    return LAUNCH_RETRY;
  }
  /* From here on the server holds our descriptors: no cold start unless it refuses. A server
   * that neither starts nor refuses within the timeout is killed (no hang). */
  unsigned char tag;
  if (!read_full(sock, &tag, 1, now_ms() + timeout)) {
    if (errno == ETIMEDOUT && server > 0)
      kill(server, SIGKILL);
    dprintf(2, "%s: error: the warm server %d %s while starting the program\n", self->name, (int)server,
            errno == ETIMEDOUT ? "hung (killed)" : "ended");
    _exit(1);
  }
  if (tag == 'P') {
    int32_t pid;
    if (!read_full(sock, &pid, 4, now_ms() + timeout)) {
      dprintf(2, "%s: error: the warm server %d ended while starting the program\n", self->name,
              (int)server);
      _exit(1);
    }
    note("%s %d forked by server %d", self->noun, (int)pid, (int)server);
    relay(sock, pid);
  }
  uint32_t length = 0;
  char reason[512] = "";
  if (tag == 'R' && read_full(sock, &length, 4, -1) && length < sizeof reason)
    read_full(sock, reason, length, -1);
  close(sock);
  note("server %d refused: %s", (int)server, reason);
  return strcmp(reason, "stale") == 0 ? LAUNCH_RETRY : LAUNCH_FALLBACK;
}

static void warm(int argc, char **argv) {
  int fds[MAX_PASSED_FDS];
  int nfds = open_fds(fds, MAX_PASSED_FDS);
  if (nfds < 0) {
    note("too many open descriptors to pass (more than %d), or no /proc", MAX_PASSED_FDS);
    return;
  }
  char dir[256], name[64]; /* a socket path must fit sockaddr_un's 108 bytes anyway */
  if (!socket_dir(dir, sizeof dir))
    return;
  server_name(name, sizeof name);
  long timeout = timeout_ms();
  for (int attempt = 0; attempt < 2; attempt++)
    if (try_launch(argc, argv, dir, name, fds, nfds, timeout) == LAUNCH_FALLBACK)
      break;
}

int main(int argc, char **argv) {
  ssize_t length = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  if (length <= 0 || (size_t)length >= sizeof self_dir) {
    dprintf(2, "%s: error: cannot find my own path: %s\n", self->name,
            length <= 0 ? strerror(errno) : "too long");
    return 1;
  }
  self_exe[length] = '\0';
  memcpy(self_dir, self_exe, (size_t)length + 1);
  char *slash = strrchr(self_dir, '/');
  if (slash) {
    *slash = '\0';
    for (size_t i = 0; i < NPROGRAMS; i++)
      if (strcmp(slash + 1, PROGRAMS[i].name) == 0)
        self = &PROGRAMS[i];
  }
  const char *mode = getenv("ORCRT_WARM");
  if (mode && *mode && strcmp(mode, "0") != 0) {
    verbose = strcmp(mode, "verbose") == 0;
    warm(argc, argv);
    note("falling back to a cold start");
  }
  exec_cold(argv);
}
