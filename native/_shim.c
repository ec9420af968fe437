/* C shim for orcrt's native layer: the pieces ctypes cannot express (see native/__init__.py).
 *
 * This is a plain shared library loaded with ctypes.CDLL (not a Python extension): it includes no
 * Python header and never touches a Python object. Python hands it opaque `user` pointers and
 * process-wide callback thunks; the shim only stores and passes them back.
 *
 * Why it exists:
 *  - LLVM's wrapper ABI returns a 16-byte struct by value (RAX:RDX on x86-64). A ctypes callback
 *    cannot return a struct, so JIT'd code's calls to the dispatch entry point
 *    (__llvm_orc_SimpleRemoteEPC_dispatch_fn) land here and are forwarded to a callback that
 *    fills an out-parameter.
 *  - The seed's asynchronous orc-rt ABI passes that struct by value in both directions; doing it
 *    in C avoids ctypes struct-by-value callback arguments.
 *  - Calls to arbitrary native addresses go through fixed C entry points, so Python builds each
 *    ctypes prototype once instead of once per called address.
 *  - The GDB JIT interface needs the well-known symbols __jit_debug_descriptor and a
 *    non-inlined __jit_debug_register_code for a debugger to set its breakpoint on.
 *  - Writing a JIT segment (copy, zero-fill, protect, icache) is one call instead of four.
 *  - A C++ host's start-up and exit state (native/_host.py): the std::ios_base::Init object a
 *    C++ program constructs before main and destroys at exit, flushing the standard C++ streams
 *    before C stdio, and C stdio buffering as a C program starts with it.
 *
 * Lifetime of dispatch contexts and async channels: both may be entered from any thread at any
 * time, including after the owning Session is gone (JIT'd code keeps the pointer). So the struct
 * itself is never freed (a few dozen bytes per Session), a closed one refuses calls without
 * entering Python, and the Python-side reference (`user`) is released exactly once, by whichever
 * comes last: close(), or the last call that was in flight when close() happened.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORCRT_SHIM_ABI_VERSION 2u

/* Returns the shim's ABI version so the loader can check it found the right library. */
uint32_t orcrt_shim_abi_version(void) { return ORCRT_SHIM_ABI_VERSION; }

/* ---- CWrapperFunctionResult / orc_rt_WrapperFunctionBuffer (same 16-byte layout) ---------- */

typedef struct {
  union {
    char *ValuePtr;
    char Value[sizeof(char *)];
  } Data;
  size_t Size;
} orcrt_wfr;

/* Frees memory that native code malloc'd (large results, out-of-band error strings). */
void orcrt_free(void *ptr) { free(ptr); }

/* Fills *out with a copy of data: inline when size <= 8, malloc'd otherwise, {NULL, 0} when
 * empty. Returns 0, or -1 if malloc failed (then *out is empty). */
int orcrt_wfr_set_bytes(orcrt_wfr *out, const char *data, size_t size) {
  memset(out, 0, sizeof(*out));
  if (size == 0)
    return 0;
  if (size <= sizeof(out->Data.Value)) {
    memcpy(out->Data.Value, data, size);
  } else {
    char *copy = malloc(size);
    if (copy == NULL)
      return -1;
    memcpy(copy, data, size);
    out->Data.ValuePtr = copy;
  }
  out->Size = size;
  return 0;
}

/* Fills *out with an out-of-band error: Size 0 and a malloc'd NUL-terminated copy of message.
 * Returns 0, or -1 if malloc failed (then *out is empty). */
int orcrt_wfr_set_error(orcrt_wfr *out, const char *message) {
  memset(out, 0, sizeof(*out));
  size_t length = strlen(message);
  char *copy = malloc(length + 1);
  if (copy == NULL)
    return -1;
  memcpy(copy, message, length + 1);
  out->Data.ValuePtr = copy;
  return 0;
}

/* Frees what a buffer owns: the malloc'd bytes of a large result or an out-of-band message. */
static void wfr_dispose(orcrt_wfr *buffer) {
  if (buffer->Size > sizeof(buffer->Data.Value) || buffer->Size == 0)
    free(buffer->Data.ValuePtr); /* NULL for an empty buffer; free(NULL) is a no-op */
  memset(buffer, 0, sizeof(*buffer));
}

/* ---- Calling native code ------------------------------------------------------------------ */

typedef orcrt_wfr (*orcrt_sync_wrapper_fn)(const char *, size_t);

/* Calls an LLVM-style synchronous wrapper function and stores its result in *out. */
void orcrt_call_wrapper(void *fn, const char *data, size_t size, orcrt_wfr *out) {
  *out = ((orcrt_sync_wrapper_fn)fn)(data, size);
}

/* Calls int main(int, char **). */
int orcrt_run_as_main(void *fn, int argc, char **argv) {
  return ((int (*)(int, char **))fn)(argc, argv);
}

/* Calls void fn(void). */
void orcrt_run_as_void(void *fn) { ((void (*)(void))fn)(); }

/* Calls int fn(int). */
int orcrt_run_as_int(void *fn, int arg) { return ((int (*)(int))fn)(arg); }

/* Makes newly written code visible to instruction fetch (a no-op on x86-64). */
void orcrt_flush_icache(void *addr, size_t size) {
  __builtin___clear_cache((char *)addr, (char *)addr + size);
}

/* ---- JIT memory: one call per segment ------------------------------------------------------ */

/* Writes one segment of a finalize request: copies `content_size` bytes of `content` to `addr`,
 * zero-fills the rest up to `size`, applies `prot` (wire bits R=1 W=2 X=4, the Linux PROT_*
 * values) to the pages covering the segment, and makes code visible to instruction fetch.
 * A read-write segment gets no mprotect: the caller keeps unused slab memory read-write and
 * makes the pages writable first when they may not be (native/_memory_map.py). The caller has
 * checked the range and that `page_size` is a power of two. Returns 0, or the errno of a failed
 * mprotect (the bytes are written by then). */
int orcrt_write_segment(char *addr, const char *content, size_t content_size, size_t size,
                        int prot, size_t page_size) {
  if (content_size != 0)
    memcpy(addr, content, content_size);
  if (size > content_size)
    memset(addr + content_size, 0, size - content_size);
  if (size == 0)
    return 0;
  if (prot != (PROT_READ | PROT_WRITE)) {
    uintptr_t mask = ~(uintptr_t)(page_size - 1);
    uintptr_t start = (uintptr_t)addr & mask;
    uintptr_t end = ((uintptr_t)addr + size + page_size - 1) & mask;
    if (mprotect((void *)start, end - start, prot) != 0)
      return errno;
  }
  if (prot & PROT_EXEC)
    __builtin___clear_cache(addr, addr + size);
  return 0;
}

/* ---- What a C++ host sets up before main and tears down at exit (native/_host.py) -------- */

typedef void (*orcrt_this_fn)(void *self);

#define ORCRT_MAX_STD_STREAMS 8

/* Written once, by orcrt_cxx_streams_init on the main thread before any other thread runs JIT'd
 * code; read-only afterwards. */
static struct {
  void *object[ORCRT_MAX_STD_STREAMS];
  orcrt_this_fn flush[ORCRT_MAX_STD_STREAMS];
  size_t count;
} std_streams;

/* std::ios_base::Init is an empty class; this is the object a C++ program's <iostream> defines. */
static unsigned char ios_init_object[16];

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

/* Does what a C++ program's static std::ios_base::Init does: runs its constructor (the standard
 * streams std::cout, cin, cerr, clog and the wide ones are constructed, synchronised with C
 * stdio) and registers its destructor with __cxa_atexit, so exit() flushes them before it
 * flushes C stdio, in the order a C++ program has. Also keeps `count` pairs (stream object,
 * its flush member function) for orcrt_flush_standard_streams. Call once. Returns 0, or -1 if
 * count is too large or __cxa_atexit failed (the streams are constructed then). */
int orcrt_cxx_streams_init(void *init_ctor, void *init_dtor, void *const *objects,
                           void *const *flushes, size_t count) {
  if (count > ORCRT_MAX_STD_STREAMS)
    return -1;
  ((orcrt_this_fn)init_ctor)(ios_init_object);
  if (__cxa_atexit((void (*)(void *))init_dtor, ios_init_object, NULL) != 0)
    return -1;
  for (size_t i = 0; i < count; i++) {
    std_streams.object[i] = objects[i];
    std_streams.flush[i] = (orcrt_this_fn)flushes[i];
  }
  std_streams.count = count;
  return 0;
}

/* Flushes the standard C++ output streams registered by orcrt_cxx_streams_init (if any), then
 * every C stdio stream: the order exit() flushes them in. Any thread. */
void orcrt_flush_standard_streams(void) {
  for (size_t i = 0; i < std_streams.count; i++)
    std_streams.flush[i](std_streams.object[i]);
  fflush(NULL);
}

/* glibc's _IO_UNBUFFERED flag (libio.h), which its public headers no longer define. */
#define ORCRT_GLIBC_IO_UNBUFFERED 0x0002

/* Gives an unbuffered stream back the buffering glibc gives a fresh one at its first use: line
 * buffered on a terminal, else fully buffered, with a buffer of the file's block size (at most
 * BUFSIZ). Returns 1 if it changed the stream, 0 if the stream was not unbuffered, -1 on error. */
static int restore_buffering(FILE *stream) {
#ifdef __GLIBC__
  if (!(stream->_flags & ORCRT_GLIBC_IO_UNBUFFERED))
    return 0;
  int fd = fileno(stream);
  struct stat st;
  size_t size = BUFSIZ;
  int mode = _IOFBF;
  if (fd >= 0 && fstat(fd, &st) == 0) {
    if (S_ISCHR(st.st_mode) && isatty(fd))
      mode = _IOLBF;
    if (st.st_blksize > 0 && (size_t)st.st_blksize < BUFSIZ)
      size = (size_t)st.st_blksize;
  }
  char *buffer = malloc(size); /* the stream's for the rest of the process */
  if (buffer == NULL)
    return -1;
  if (setvbuf(stream, buffer, mode, size) != 0) {
    free(buffer);
    return -1;
  }
  return 1;
#else
  (void)stream;
  return 0;
#endif
}

/* A C program starts with stdin and stdout buffered; the Python interpreter makes them
 * unbuffered when asked (-u, PYTHONUNBUFFERED), although it never uses them itself. Undo that
 * before JIT'd code runs. Returns how many streams changed (0..2), or -1 on error. */
int orcrt_restore_stdio_buffering(void) {
  int in = restore_buffering(stdin);
  int out = restore_buffering(stdout);
  return in < 0 || out < 0 ? -1 : in + out;
}

/* ---- Shared lifetime bookkeeping for contexts entered from native code -------------------- */

typedef void (*orcrt_release_fn)(void *user);

typedef struct {
  pthread_mutex_t lock;
  void *user;               /* a reference owned on behalf of the Python side */
  orcrt_release_fn release; /* drops `user`; called exactly once */
  int closed;
  int released;
  uint64_t in_flight;
  uint64_t entered;
  uint64_t refused;
} orcrt_gate;

static void gate_init(orcrt_gate *gate, void *user, orcrt_release_fn release) {
  pthread_mutex_init(&gate->lock, NULL);
  gate->user = user;
  gate->release = release;
  gate->closed = 0;
  gate->released = 0;
  gate->in_flight = 0;
  gate->entered = 0;
  gate->refused = 0;
}

/* Returns 1 and counts the call in flight if the gate is open, else 0 (counted as refused). */
static int gate_enter(orcrt_gate *gate) {
  pthread_mutex_lock(&gate->lock);
  int open = !gate->closed;
  if (open) {
    gate->in_flight++;
    gate->entered++;
  } else {
    gate->refused++;
  }
  pthread_mutex_unlock(&gate->lock);
  return open;
}

/* Ends a call; the last call out of a closed gate releases the user reference. */
static void gate_leave(orcrt_gate *gate) {
  pthread_mutex_lock(&gate->lock);
  gate->in_flight--;
  int release_now = gate->closed && gate->in_flight == 0 && !gate->released;
  if (release_now)
    gate->released = 1;
  pthread_mutex_unlock(&gate->lock);
  if (release_now)
    gate->release(gate->user);
}

/* Closes the gate. Returns 1 if the caller must release the user reference itself (no call in
 * flight), 0 if the last in-flight call will do it (or it was already closed). */
static int gate_close(orcrt_gate *gate) {
  pthread_mutex_lock(&gate->lock);
  gate->closed = 1;
  int release_now = gate->in_flight == 0 && !gate->released;
  if (release_now)
    gate->released = 1;
  pthread_mutex_unlock(&gate->lock);
  return release_now;
}

static void gate_counts(orcrt_gate *gate, uint64_t *counts) {
  pthread_mutex_lock(&gate->lock);
  counts[0] = gate->in_flight;
  counts[1] = gate->entered;
  counts[2] = gate->refused;
  counts[3] = (uint64_t)gate->closed;
  pthread_mutex_unlock(&gate->lock);
}

/* ---- Dispatch: JIT'd code calling the controller (simple-remote-epc.md section 8) --------- */

/* Callback into Python: must fill *out (bytes or out-of-band error). */
typedef void (*orcrt_dispatch_callback)(void *user, uint64_t tag, const char *data, size_t size,
                                        orcrt_wfr *out);

typedef struct {
  orcrt_gate gate;
  orcrt_dispatch_callback callback;
} orcrt_dispatch_ctx;

static const char dispatch_closed_message[] = "jit_dispatch not available (EPC server shut down)";
static const char dispatch_no_result_message[] = "jit_dispatch handler produced no result";

/* Sentinel Size meaning "the callback did not write *out" (e.g. it raised past ctypes). */
#define ORCRT_NO_RESULT ((size_t)-1)

/* Creates a dispatch context. Returns NULL if out of memory. */
orcrt_dispatch_ctx *orcrt_dispatch_ctx_create(orcrt_dispatch_callback callback, void *user,
                                              orcrt_release_fn release) {
  orcrt_dispatch_ctx *ctx = malloc(sizeof(*ctx));
  if (ctx == NULL)
    return NULL;
  gate_init(&ctx->gate, user, release);
  ctx->callback = callback;
  return ctx;
}

/* The entry point JIT'd code calls as __orc_rt_jit_dispatch (LLVM's
 * __llvm_orc_SimpleRemoteEPC_dispatch_fn signature). Safe from any number of threads. */
orcrt_wfr orcrt_dispatch_fn(void *ctx_ptr, const void *tag, const char *data, size_t size) {
  orcrt_dispatch_ctx *ctx = ctx_ptr;
  orcrt_wfr out;
  if (!gate_enter(&ctx->gate)) {
    orcrt_wfr_set_error(&out, dispatch_closed_message);
    return out;
  }
  memset(&out, 0, sizeof(out));
  out.Size = ORCRT_NO_RESULT;
  ctx->callback(ctx->gate.user, (uint64_t)(uintptr_t)tag, data, size, &out);
  gate_leave(&ctx->gate);
  if (out.Size == ORCRT_NO_RESULT)
    orcrt_wfr_set_error(&out, dispatch_no_result_message);
  return out;
}

int orcrt_dispatch_ctx_close(orcrt_dispatch_ctx *ctx) { return gate_close(&ctx->gate); }

/* counts = {in_flight, entered, refused, closed} */
void orcrt_dispatch_ctx_counts(orcrt_dispatch_ctx *ctx, uint64_t *counts) {
  gate_counts(&ctx->gate, counts);
}

/* ---- The seed's asynchronous orc-rt wrapper ABI ------------------------------------------- */

/* Callback into Python with a result (error == NULL) or an out-of-band error message. */
typedef void (*orcrt_async_callback)(void *user, uint64_t call_id, const char *data, size_t size,
                                     const char *error);

typedef struct {
  orcrt_gate gate;
  orcrt_async_callback callback;
} orcrt_async_channel;

typedef void (*orcrt_async_return_fn)(void *session, uint64_t call_id, orcrt_wfr result);
typedef void (*orcrt_async_wrapper_fn)(void *session, uint64_t call_id,
                                       orcrt_async_return_fn return_fn, orcrt_wfr arg_bytes);

orcrt_async_channel *orcrt_async_channel_create(orcrt_async_callback callback, void *user,
                                                orcrt_release_fn release) {
  orcrt_async_channel *channel = malloc(sizeof(*channel));
  if (channel == NULL)
    return NULL;
  gate_init(&channel->gate, user, release);
  channel->callback = callback;
  return channel;
}

/* The orc_rt_WrapperFunctionReturn handed to async wrapper functions: `session` is the channel.
 * Takes ownership of `result` (frees it). Callable from any thread, at most once per call id by
 * contract; extra or late returns are forwarded (or, after close, counted as refused). */
void orcrt_async_return(void *session, uint64_t call_id, orcrt_wfr result) {
  orcrt_async_channel *channel = session;
  if (gate_enter(&channel->gate)) {
    if (result.Size == 0 && result.Data.ValuePtr != NULL)
      channel->callback(channel->gate.user, call_id, NULL, 0, result.Data.ValuePtr);
    else if (result.Size <= sizeof(result.Data.Value))
      channel->callback(channel->gate.user, call_id, result.Data.Value, result.Size, NULL);
    else
      channel->callback(channel->gate.user, call_id, result.Data.ValuePtr, result.Size, NULL);
    gate_leave(&channel->gate);
  }
  wfr_dispose(&result);
}

/* Calls an async wrapper function with a copy of the argument bytes (ownership passes to the
 * callee). Returns 0, or -1 if the argument buffer could not be allocated (fn not called). */
int orcrt_call_async_wrapper(void *fn, orcrt_async_channel *channel, uint64_t call_id,
                             const char *data, size_t size) {
  orcrt_wfr args;
  if (orcrt_wfr_set_bytes(&args, data, size) != 0)
    return -1;
  ((orcrt_async_wrapper_fn)fn)(channel, call_id, orcrt_async_return, args);
  return 0;
}

int orcrt_async_channel_close(orcrt_async_channel *channel) {
  return gate_close(&channel->gate);
}

/* counts = {in_flight, entered, refused, closed} */
void orcrt_async_channel_counts(orcrt_async_channel *channel, uint64_t *counts) {
  gate_counts(&channel->gate, counts);
}

/* ---- GDB JIT interface -------------------------------------------------------------------- */
/* The names and layout are fixed by GDB's JIT interface (gdb/jit.c, "JIT Compilation Interface"
 * in the GDB manual). The descriptor is process-global by nature: a debugger looks for exactly
 * one symbol of this name, so every Session in the process shares it (under one mutex). */

struct jit_code_entry {
  struct jit_code_entry *next_entry;
  struct jit_code_entry *prev_entry;
  const char *symfile_addr;
  uint64_t symfile_size;
};

struct jit_descriptor {
  uint32_t version;
  uint32_t action_flag; /* 0 = JIT_NOACTION, 1 = JIT_REGISTER_FN, 2 = JIT_UNREGISTER_FN */
  struct jit_code_entry *relevant_entry;
  struct jit_code_entry *first_entry;
};

struct jit_descriptor __jit_debug_descriptor = {1, 0, NULL, NULL};

/* A debugger sets a breakpoint here; it must stay a real, non-inlined call. */
__attribute__((noinline, used)) void __jit_debug_register_code(void) {
  __asm__ volatile("" ::: "memory");
}

static pthread_mutex_t gdb_jit_lock = PTHREAD_MUTEX_INITIALIZER;

/* Appends an entry for the object at [addr, addr+size) and notifies the debugger.
 * Returns the entry (the handle), or NULL if out of memory. */
void *orcrt_gdb_register(const char *addr, uint64_t size) {
  struct jit_code_entry *entry = malloc(sizeof(*entry));
  if (entry == NULL)
    return NULL;
  entry->symfile_addr = addr;
  entry->symfile_size = size;
  entry->next_entry = NULL;
  pthread_mutex_lock(&gdb_jit_lock);
  struct jit_code_entry *last = __jit_debug_descriptor.first_entry;
  while (last != NULL && last->next_entry != NULL)
    last = last->next_entry;
  entry->prev_entry = last;
  if (last == NULL)
    __jit_debug_descriptor.first_entry = entry;
  else
    last->next_entry = entry;
  __jit_debug_descriptor.relevant_entry = entry;
  __jit_debug_descriptor.action_flag = 1;
  __jit_debug_register_code();
  pthread_mutex_unlock(&gdb_jit_lock);
  return entry;
}

/* Unlinks an entry returned by orcrt_gdb_register and notifies the debugger.
 * Returns 0, or -1 if the entry is not registered (nothing changed). */
int orcrt_gdb_deregister(void *handle) {
  pthread_mutex_lock(&gdb_jit_lock);
  struct jit_code_entry *entry = __jit_debug_descriptor.first_entry;
  while (entry != NULL && entry != handle)
    entry = entry->next_entry;
  if (entry == NULL) {
    pthread_mutex_unlock(&gdb_jit_lock);
    return -1;
  }
  if (entry->prev_entry != NULL)
    entry->prev_entry->next_entry = entry->next_entry;
  else
    __jit_debug_descriptor.first_entry = entry->next_entry;
  if (entry->next_entry != NULL)
    entry->next_entry->prev_entry = entry->prev_entry;
  __jit_debug_descriptor.relevant_entry = entry;
  __jit_debug_descriptor.action_flag = 2;
  __jit_debug_register_code();
  pthread_mutex_unlock(&gdb_jit_lock);
  free(entry);
  return 0;
}

/* Copies up to `capacity` (symfile_addr, symfile_size) pairs of the registered entries, in list
 * order, into pairs[2*i], pairs[2*i+1]. Returns the total number of entries. */
size_t orcrt_gdb_entries(uint64_t *pairs, size_t capacity) {
  size_t count = 0;
  pthread_mutex_lock(&gdb_jit_lock);
  for (struct jit_code_entry *entry = __jit_debug_descriptor.first_entry; entry != NULL;
       entry = entry->next_entry) {
    if (count < capacity) {
      pairs[2 * count] = (uint64_t)(uintptr_t)entry->symfile_addr;
      pairs[2 * count + 1] = entry->symfile_size;
    }
    count++;
  }
  pthread_mutex_unlock(&gdb_jit_lock);
  return count;
}

/* The descriptor's address, so Python can inspect it without relying on symbol lookup. */
struct jit_descriptor *orcrt_gdb_descriptor(void) { return &__jit_debug_descriptor; }
