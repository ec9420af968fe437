/* Test-time native code for tests/native: wrapper functions of both ABIs, alloc actions that
 * log their calls, entry points, and a caller that enters the dispatch function like JIT'd code.
 * Compiled by tests/native/conftest.py; never shipped. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  union {
    char *ValuePtr;
    char Value[8];
  } Data;
  size_t Size;
} wfr;

static wfr make_bytes(const char *data, size_t size) {
  wfr r;
  memset(&r, 0, sizeof(r));
  r.Size = size;
  if (size > 8) {
    r.Data.ValuePtr = malloc(size);
    memcpy(r.Data.ValuePtr, data, size);
  } else if (size > 0) {
    memcpy(r.Data.Value, data, size);
  }
  return r;
}

static wfr make_error(const char *message) {
  wfr r;
  memset(&r, 0, sizeof(r));
  r.Data.ValuePtr = strdup(message);
  return r;
}

/* ---- synchronous wrapper functions -------------------------------------------------------- */

wfr echo_wrapper(const char *data, size_t size) { return make_bytes(data, size); }

wfr oob_wrapper(const char *data, size_t size) {
  char message[128] = "boom: ";
  size_t n = size < 100 ? size : 100;
  memcpy(message + 6, data, n);
  message[6 + n] = 0;
  return make_error(message);
}

wfr empty_wrapper(const char *data, size_t size) {
  (void)data;
  (void)size;
  wfr r;
  memset(&r, 0, sizeof(r));
  return r;
}

/* ---- alloc actions: args = [code][mode]; mode 0 ok, 1 SPSError failure, 2 OOB error -------- */

static char action_log[256];
static size_t action_log_len;

void reset_action_log(void) { action_log_len = 0; }

size_t read_action_log(char *out, size_t capacity) {
  size_t n = action_log_len < capacity ? action_log_len : capacity;
  memcpy(out, action_log, n);
  return n;
}

wfr record_action(const char *data, size_t size) {
  if (size < 2)
    return make_error("record_action: need 2 argument bytes");
  if (action_log_len < sizeof(action_log))
    action_log[action_log_len++] = data[0];
  if (data[1] == 2)
    return make_error("action failed out of band");
  if (data[1] == 1) {
    char message[32];
    size_t length = (size_t)snprintf(message, sizeof(message), "action %c failed", data[0]);
    char bytes[1 + 8 + 32];
    bytes[0] = 1;
    uint64_t le = length; /* x86-64 is little-endian */
    memcpy(bytes + 1, &le, 8);
    memcpy(bytes + 9, message, length);
    return make_bytes(bytes, 9 + length);
  }
  char ok = 0;
  return make_bytes(&ok, 1);
}

/* ---- entry points ------------------------------------------------------------------------- */

static char main_record[512];

const char *last_main_record(void) { return main_record; }

/* Records "argc=N;null=B;arg|arg|..." and returns argc + 100 if argv[argc] is NULL. */
int record_main(int argc, char **argv) {
  int pos = snprintf(main_record, sizeof(main_record), "argc=%d;null=%d;", argc,
                     argv[argc] == NULL);
  for (int i = 0; i < argc && pos < (int)sizeof(main_record); i++)
    pos += snprintf(main_record + pos, sizeof(main_record) - (size_t)pos, "%s|", argv[i]);
  for (int i = 0; i < argc; i++)
    if (argv[i][0] != 0)
      argv[i][0] = 'X'; /* main may write to its arguments */
  return argc + (argv[argc] == NULL ? 100 : 0);
}

int negative_main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return -42;
}

static int void_calls;

void count_void(void) { void_calls++; }
int void_call_count(void) { return void_calls; }
int twice_minus_one(int x) { return 2 * x - 1; }

/* ---- the seed's asynchronous wrapper ABI -------------------------------------------------- */

typedef void (*return_fn)(void *session, uint64_t call_id, wfr result);

/* Returns the argument bytes immediately (ownership of args passes on to the return). */
void async_echo(void *session, uint64_t call_id, return_fn ret, wfr args) {
  ret(session, call_id, args);
}

void async_error(void *session, uint64_t call_id, return_fn ret, wfr args) {
  if (args.Size > 8)
    free(args.Data.ValuePtr);
  ret(session, call_id, make_error("async failure"));
}

/* Returns twice: the second return must be forwarded, not crash. */
void async_twice(void *session, uint64_t call_id, return_fn ret, wfr args) {
  wfr copy = make_bytes(args.Size > 8 ? args.Data.ValuePtr : args.Data.Value, args.Size);
  ret(session, call_id, args);
  ret(session, call_id, copy);
}

struct later {
  void *session;
  uint64_t call_id;
  return_fn ret;
  wfr args;
};

static void *return_later(void *arg) {
  struct later *l = arg;
  l->ret(l->session, l->call_id, l->args);
  free(l);
  return NULL;
}

static pthread_t later_thread;

/* Returns the argument bytes from a new thread, after this function has returned. */
void async_from_thread(void *session, uint64_t call_id, return_fn ret, wfr args) {
  struct later *l = malloc(sizeof(*l));
  l->session = session;
  l->call_id = call_id;
  l->ret = ret;
  l->args = args;
  pthread_create(&later_thread, NULL, return_later, l);
}

void join_async_thread(void) { pthread_join(later_thread, NULL); }

/* ---- calling the dispatch entry like JIT'd code ------------------------------------------- */

typedef wfr (*dispatch_fn)(void *ctx, const void *tag, const char *data, size_t size);

/* One call; copies the result or error message to out. Returns the size, -1 for an OOB error
 * (message in out), or -2 for an empty result. */
long dispatch_once(dispatch_fn fn, void *ctx, uint64_t tag, const char *data, size_t size,
                   char *out, size_t capacity) {
  wfr r = fn(ctx, (const void *)(uintptr_t)tag, data, size);
  if (r.Size == 0) {
    if (r.Data.ValuePtr == NULL)
      return -2;
    strncpy(out, r.Data.ValuePtr, capacity);
    free(r.Data.ValuePtr);
    return -1;
  }
  const char *bytes = r.Size > 8 ? r.Data.ValuePtr : r.Data.Value;
  memcpy(out, bytes, r.Size < capacity ? r.Size : capacity);
  if (r.Size > 8)
    free(r.Data.ValuePtr);
  return (long)r.Size;
}

struct dispatch_job {
  dispatch_fn fn;
  void *ctx;
  uint64_t tag;
  int failures;
};

/* Sends 32 bytes of (tag & 0xff) with the job's tag; expects back 8-byte tag + the 32 bytes. */
static void *dispatch_worker(void *arg) {
  struct dispatch_job *job = arg;
  char data[32];
  memset(data, (int)(job->tag & 0xff), sizeof(data));
  wfr r = job->fn(job->ctx, (const void *)(uintptr_t)job->tag, data, sizeof(data));
  if (r.Size != 40 || memcmp(r.Data.ValuePtr, &job->tag, 8) != 0 ||
      memcmp(r.Data.ValuePtr + 8, data, 32) != 0)
    job->failures++;
  if (r.Size > 8 || (r.Size == 0 && r.Data.ValuePtr != NULL))
    free(r.Data.ValuePtr);
  return NULL;
}

/* Calls dispatch from `threads` threads at once (tags first_tag, first_tag+1, ...).
 * Returns the number of wrong results, or -1 if threads could not be started. */
int dispatch_from_threads(dispatch_fn fn, void *ctx, uint64_t first_tag, int threads) {
  pthread_t ids[64];
  struct dispatch_job jobs[64];
  if (threads > 64)
    return -1;
  for (int i = 0; i < threads; i++) {
    jobs[i].fn = fn;
    jobs[i].ctx = ctx;
    jobs[i].tag = first_tag + (uint64_t)i;
    jobs[i].failures = 0;
    if (pthread_create(&ids[i], NULL, dispatch_worker, &jobs[i]) != 0)
      return -1;
  }
  int failures = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(ids[i], NULL);
    failures += jobs[i].failures;
  }
  return failures;
}
