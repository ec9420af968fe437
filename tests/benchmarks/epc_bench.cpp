//===- epc_bench.cpp - controller-side benchmark for SimpleRemoteEPC executors -===//
//
// Drives any executor that speaks LLVM's SimpleRemoteEPC protocol (LLVM's own
// llvm-jitlink-executor, or orcrt's executor) through LLVM's own controller classes,
// and prints one JSON line with latency and throughput figures.
//
// The executor is reached the way llvm-jitlink reaches it: either it is started as a
// child with two anonymous pipes and the extra argument `filedescs=R,W` (R = the fd it
// reads controller->executor frames from, W = the fd it writes executor->controller
// frames to), or it is already listening and we connect over TCP (`--connect H:P`).
//
// Figures (see README.md in this directory):
//   seq_*          sequential round trips of __llvm_orc_bootstrap_mem_write_buffers_wrapper
//                  writing 0 bytes into a finalized RW buffer, via EPC::callSPSWrapper.
//   seq_memaccess  the same call through EPC.getMemoryAccess().writeBuffers().
//   inflight_*     the same call with N calls outstanding at all times.
//   alloc_*        reserve + finalize + deallocate (LLVM 22: reserve + initialize +
//                  release) of a small R-X + RW allocation through the EPC's
//                  EPCGenericJITLinkMemoryManager.
//
// Builds against LLVM 14 and LLVM 22 (the differences are under LLVM_VERSION_MAJOR).
//
//===----------------------------------------------------------------------------===//

#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/JITLink/JITLinkMemoryManager.h"
#include "llvm/ExecutionEngine/Orc/Core.h"
#include "llvm/ExecutionEngine/Orc/EPCGenericMemoryAccess.h"
#include "llvm/ExecutionEngine/Orc/ExecutorProcessControl.h"
#include "llvm/ExecutionEngine/Orc/Shared/OrcRTBridge.h"
#include "llvm/ExecutionEngine/Orc/Shared/SimpleRemoteEPCUtils.h"
#include "llvm/ExecutionEngine/Orc/Shared/TargetProcessControlTypes.h"
#include "llvm/ExecutionEngine/Orc/SimpleRemoteEPC.h"
#include "llvm/ExecutionEngine/Orc/TaskDispatch.h"
#include "llvm/Support/Error.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if LLVM_VERSION_MAJOR != 14 && LLVM_VERSION_MAJOR != 22
#error "epc_bench supports LLVM 14 and LLVM 22 only"
#endif

using namespace llvm;
using namespace llvm::orc;

namespace {

using Clock = std::chrono::steady_clock;

#if LLVM_VERSION_MAJOR >= 22
using MemProtT = orc::MemProt;
#else
using MemProtT = jitlink::MemProt;
#endif

// The SPS signature of __llvm_orc_bootstrap_mem_write_buffers_wrapper (same in 14 and 22).
using WriteBuffersSig = void(shared::SPSSequence<shared::SPSMemoryAccessBufferWrite>);

struct Options {
  unsigned Iterations = 5000;
  unsigned Warmup = 200;
  unsigned InFlight = 64;
  unsigned AllocCycles = 0; // 0 = Iterations / 5
  std::string Connect;      // "host:port"; empty = launch the executor over pipes
  std::vector<std::string> ExecArgv;
};

void usage(const char *Argv0) {
  std::fprintf(stderr,
               "usage: %s [--iterations N] [--warmup N] [--inflight N] "
               "[--alloc-cycles N]\n"
               "          (--connect HOST:PORT | -- EXECUTOR [ARGS...])\n"
               "The executor is started as EXECUTOR ARGS... filedescs=R,W "
               "(as llvm-jitlink -oop-executor does).\n",
               Argv0);
}

bool parseUnsigned(const char *Name, const char *Text, unsigned &Out) {
  char *End = nullptr;
  errno = 0;
  unsigned long V = std::strtoul(Text, &End, 10);
  if (errno != 0 || End == Text || *End != '\0' || V == 0 || V > 100000000UL) {
    std::fprintf(stderr, "epc_bench: %s expects a positive integer, got '%s'\n", Name,
                 Text);
    return false;
  }
  Out = static_cast<unsigned>(V);
  return true;
}

bool parseOptions(int Argc, char **Argv, Options &O) {
  int I = 1;
  for (; I < Argc; ++I) {
    std::string A = Argv[I];
    if (A == "--") {
      ++I;
      break;
    }
    if (A == "-h" || A == "--help") {
      usage(Argv[0]);
      std::exit(0);
    }
    if (I + 1 >= Argc) {
      std::fprintf(stderr, "epc_bench: unknown option or missing value: '%s'\n", A.c_str());
      return false;
    }
    const char *V = Argv[++I];
    if (A == "--iterations") {
      if (!parseUnsigned("--iterations", V, O.Iterations))
        return false;
    } else if (A == "--warmup") {
      if (!parseUnsigned("--warmup", V, O.Warmup))
        return false;
    } else if (A == "--inflight") {
      if (!parseUnsigned("--inflight", V, O.InFlight))
        return false;
    } else if (A == "--alloc-cycles") {
      if (!parseUnsigned("--alloc-cycles", V, O.AllocCycles))
        return false;
    } else if (A == "--connect") {
      O.Connect = V;
    } else {
      std::fprintf(stderr, "epc_bench: unknown option '%s'\n", A.c_str());
      return false;
    }
  }
  for (; I < Argc; ++I)
    O.ExecArgv.push_back(Argv[I]);
  if (O.Connect.empty() == O.ExecArgv.empty()) {
    std::fprintf(stderr, "epc_bench: give exactly one of --connect HOST:PORT or "
                         "-- EXECUTOR [ARGS...]\n");
    return false;
  }
  if (O.AllocCycles == 0)
    O.AllocCycles = std::max(1u, O.Iterations / 5);
  return true;
}

/// Starts the executor as a child with two pipes, as llvm-jitlink -oop-executor does.
/// On success sets FromExecutor/ToExecutor to the controller's ends and Pid to the child.
bool launchExecutor(const std::vector<std::string> &ExecArgv, int &FromExecutor,
                    int &ToExecutor, pid_t &Pid) {
  int ToPipe[2], FromPipe[2];
  if (pipe(ToPipe) != 0 || pipe(FromPipe) != 0) {
    std::perror("epc_bench: pipe");
    return false;
  }
  // Build argv before forking: only async-signal-safe calls are allowed in the child.
  std::string FdArg = "filedescs=" + std::to_string(ToPipe[0]) + "," +
                      std::to_string(FromPipe[1]);
  std::vector<char *> Args;
  for (const std::string &S : ExecArgv)
    Args.push_back(const_cast<char *>(S.c_str()));
  Args.push_back(const_cast<char *>(FdArg.c_str()));
  Args.push_back(nullptr);

  Pid = fork();
  if (Pid < 0) {
    std::perror("epc_bench: fork");
    return false;
  }
  if (Pid == 0) {
    close(ToPipe[1]);
    close(FromPipe[0]);
    execvp(Args[0], Args.data());
    const char Msg[] = "epc_bench: execvp of the executor failed\n";
    ssize_t Ignored = write(2, Msg, sizeof(Msg) - 1);
    (void)Ignored;
    _exit(127);
  }
  close(ToPipe[0]);
  close(FromPipe[1]);
  FromExecutor = FromPipe[0];
  ToExecutor = ToPipe[1];
  return true;
}

/// Connects to an executor started with `listen=HOST:PORT`. Returns the socket or -1.
int connectExecutor(const std::string &HostPort) {
  size_t Colon = HostPort.rfind(':');
  if (Colon == std::string::npos || Colon == 0 || Colon + 1 == HostPort.size()) {
    std::fprintf(stderr, "epc_bench: --connect expects HOST:PORT, got '%s'\n",
                 HostPort.c_str());
    return -1;
  }
  std::string Host = HostPort.substr(0, Colon), Port = HostPort.substr(Colon + 1);
  addrinfo Hints;
  std::memset(&Hints, 0, sizeof(Hints));
  Hints.ai_family = AF_UNSPEC;
  Hints.ai_socktype = SOCK_STREAM;
  addrinfo *AI = nullptr;
  if (int EC = getaddrinfo(Host.c_str(), Port.c_str(), &Hints, &AI)) {
    std::fprintf(stderr, "epc_bench: cannot resolve %s: %s\n", HostPort.c_str(),
                 gai_strerror(EC));
    return -1;
  }
  int FD = -1;
  for (addrinfo *P = AI; P; P = P->ai_next) {
    FD = socket(P->ai_family, P->ai_socktype, P->ai_protocol);
    if (FD < 0)
      continue;
    if (connect(FD, P->ai_addr, P->ai_addrlen) == 0)
      break;
    close(FD);
    FD = -1;
  }
  freeaddrinfo(AI);
  if (FD < 0) {
    std::fprintf(stderr, "epc_bench: cannot connect to %s: %s\n", HostPort.c_str(),
                 std::strerror(errno));
    return -1;
  }
  // LLVM's transport writes header and payload separately; without TCP_NODELAY every
  // controller->executor frame would wait for a delayed ACK (~40 ms).
  int One = 1;
  setsockopt(FD, IPPROTO_TCP, TCP_NODELAY, &One, sizeof(One));
  return FD;
}

/// How the executor child ended: wait status, and whether we had to kill it.
/// (No RSS here: Linux keeps the pre-exec RSS high-water mark, so a child forked from
/// this LLVM-sized process would report at least our RSS; use rss_exec for that.)
struct ChildEnd {
  int Status = 0;
  bool Killed = false;
};

/// Waits up to TimeoutMs for the child, then kills it (SIGKILL) if it is still running.
ChildEnd reapChild(pid_t Pid, int TimeoutMs) {
  ChildEnd E;
  auto Deadline = Clock::now() + std::chrono::milliseconds(TimeoutMs);
  for (;;) {
    pid_t R = waitpid(Pid, &E.Status, WNOHANG);
    if (R == Pid)
      return E;
    if (R < 0 && errno != EINTR) {
      E.Status = -1;
      return E;
    }
    if (Clock::now() >= Deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  E.Killed = true;
  kill(Pid, SIGKILL);
  while (waitpid(Pid, &E.Status, 0) < 0 && errno == EINTR) {
  }
  return E;
}

std::string describeStatus(const ChildEnd &E) {
  if (E.Status == -1)
    return "unknown (wait4 failed)";
  std::string Kill = E.Killed ? " (killed after timeout)" : "";
  if (WIFEXITED(E.Status))
    return "exit status " + std::to_string(WEXITSTATUS(E.Status)) + Kill;
  if (WIFSIGNALED(E.Status))
    return "signal " + std::to_string(WTERMSIG(E.Status)) + Kill;
  return "wait status " + std::to_string(E.Status) + Kill;
}

std::unique_ptr<TaskDispatcher> makeDispatcher() {
#if LLVM_VERSION_MAJOR >= 22
  return std::make_unique<DynamicThreadPoolTaskDispatcher>(std::nullopt);
#else
  return std::make_unique<DynamicThreadPoolTaskDispatcher>();
#endif
}

SimpleRemoteEPC::Setup makeSetup() {
  SimpleRemoteEPC::Setup S;
#if LLVM_VERSION_MAJOR == 14
  // LLVM 14's SimpleRemoteEPC installs no MemoryAccess by default (its factory returns
  // null), so build the generic one from the executor's bootstrap symbols.
  S.CreateMemoryAccess = [](SimpleRemoteEPC &EPC)
      -> Expected<std::unique_ptr<ExecutorProcessControl::MemoryAccess>> {
    EPCGenericMemoryAccess::FuncAddrs FAs;
    if (auto Err = EPC.getBootstrapSymbols(
            {{FAs.WriteUInt8s, rt::MemoryWriteUInt8sWrapperName},
             {FAs.WriteUInt16s, rt::MemoryWriteUInt16sWrapperName},
             {FAs.WriteUInt32s, rt::MemoryWriteUInt32sWrapperName},
             {FAs.WriteUInt64s, rt::MemoryWriteUInt64sWrapperName},
             {FAs.WriteBuffers, rt::MemoryWriteBuffersWrapperName}}))
      return std::move(Err);
    return std::make_unique<EPCGenericMemoryAccess>(EPC, FAs);
  };
#endif
  return S;
}

tpctypes::BufferWrite emptyWrite(ExecutorAddr Addr) {
#if LLVM_VERSION_MAJOR >= 22
  return tpctypes::BufferWrite(Addr, ArrayRef<char>());
#else
  return tpctypes::BufferWrite(Addr, StringRef());
#endif
}

Expected<jitlink::SimpleSegmentAlloc>
makeSegments(ExecutorProcessControl &EPC, jitlink::SimpleSegmentAlloc::SegmentMap Segs) {
#if LLVM_VERSION_MAJOR >= 22
  return jitlink::SimpleSegmentAlloc::Create(EPC.getMemMgr(), EPC.getSymbolStringPool(),
                                             EPC.getTargetTriple(), nullptr,
                                             std::move(Segs));
#else
  return jitlink::SimpleSegmentAlloc::Create(EPC.getMemMgr(), nullptr, std::move(Segs));
#endif
}

double percentile(std::vector<double> Sorted, double P) {
  // Nearest-rank percentile of an ascending vector.
  size_t Rank = static_cast<size_t>(std::ceil(P / 100.0 * Sorted.size()));
  if (Rank == 0)
    Rank = 1;
  return Sorted[std::min(Rank, Sorted.size()) - 1];
}

double secondsSince(Clock::time_point T0) {
  return std::chrono::duration<double>(Clock::now() - T0).count();
}

/// One benchmark session; every step returns an Error naming what failed.
class Bench {
public:
  Bench(const Options &O, ExecutorProcessControl &EPC) : O(O), EPC(EPC) {}

  Error setUp() {
    if (auto Err = EPC.getBootstrapSymbols(
            {{WriteBuffers, rt::MemoryWriteBuffersWrapperName}}))
      return Err;
    // A finalized RW buffer to aim the 0-byte writes at (a real JIT'd data page).
    auto SA = makeSegments(EPC, {{MemProtT::Read | MemProtT::Write, {64, Align(8)}}});
    if (!SA)
      return SA.takeError();
    Target = SA->getSegInfo(MemProtT::Read | MemProtT::Write).Addr;
    auto FA = SA->finalize();
    if (!FA)
      return FA.takeError();
    TargetAlloc = std::move(*FA);
    Writes.push_back(emptyWrite(Target));
    return Error::success();
  }

  Error tearDown() {
    if (!TargetAlloc)
      return Error::success();
    return EPC.getMemMgr().deallocate(std::move(TargetAlloc));
  }

  Error sequential() {
    for (unsigned I = 0; I < O.Warmup; ++I)
      if (auto Err = EPC.callSPSWrapper<WriteBuffersSig>(WriteBuffers, Writes))
        return Err;
    std::vector<double> Us;
    Us.reserve(O.Iterations);
    auto Start = Clock::now();
    for (unsigned I = 0; I < O.Iterations; ++I) {
      auto T0 = Clock::now();
      if (auto Err = EPC.callSPSWrapper<WriteBuffersSig>(WriteBuffers, Writes))
        return Err;
      Us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - T0).count());
    }
    SeqCallsPerS = O.Iterations / secondsSince(Start);
    std::sort(Us.begin(), Us.end());
    SeqP50 = percentile(Us, 50);
    SeqP99 = percentile(Us, 99);
    return Error::success();
  }

  Error sequentialMemoryAccess() {
    auto &MA = EPC.getMemoryAccess();
    for (unsigned I = 0; I < O.Warmup; ++I)
      if (auto Err = MA.writeBuffers(Writes))
        return Err;
    std::vector<double> Us;
    Us.reserve(O.Iterations);
    for (unsigned I = 0; I < O.Iterations; ++I) {
      auto T0 = Clock::now();
      if (auto Err = MA.writeBuffers(Writes))
        return Err;
      Us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - T0).count());
    }
    std::sort(Us.begin(), Us.end());
    SeqMemAccessP50 = percentile(Us, 50);
    return Error::success();
  }

  Error inFlight() {
    // Warm up with the same shape, then measure.
    if (auto Err = runWindow(std::min(O.Warmup, O.Iterations)))
      return Err;
    auto Start = Clock::now();
    if (auto Err = runWindow(O.Iterations))
      return Err;
    InFlightCallsPerS = O.Iterations / std::chrono::duration<double>(LastDone - Start).count();
    return Error::success();
  }

  Error allocCycles() {
    for (unsigned I = 0; I < std::min(O.Warmup, O.AllocCycles); ++I)
      if (auto Err = oneAllocCycle())
        return Err;
    auto Start = Clock::now();
    for (unsigned I = 0; I < O.AllocCycles; ++I)
      if (auto Err = oneAllocCycle())
        return Err;
    AllocCyclesPerS = O.AllocCycles / secondsSince(Start);
    return Error::success();
  }

  double SeqP50 = 0, SeqP99 = 0, SeqCallsPerS = 0, SeqMemAccessP50 = 0;
  double InFlightCallsPerS = 0, AllocCyclesPerS = 0;

private:
  /// Issues Total calls keeping O.InFlight outstanding; completions run in place on the
  /// transport's reader thread and issue the next call, so the controller adds no thread
  /// hop per call.
  Error runWindow(unsigned Total) {
    std::mutex M;
    std::condition_variable CV;
    unsigned Issued = 0, Done = 0;
    Error FirstErr = Error::success();
    std::function<void()> IssueOne;
    IssueOne = [&]() {
      EPC.callSPSWrapperAsync<WriteBuffersSig>(
          ExecutorProcessControl::RunInPlace(), WriteBuffers,
          [&](Error Err) {
            bool IssueNext = false;
            {
              std::lock_guard<std::mutex> Lock(M);
              if (Err) {
                if (!FirstErr)
                  FirstErr = std::move(Err);
                else
                  consumeError(std::move(Err));
              }
              ++Done;
              if (Issued < Total && !FirstErr) {
                ++Issued;
                IssueNext = true;
              }
              if (Done == Issued && !IssueNext) {
                LastDone = Clock::now();
                // Notify under the lock: once it is released the waiter may return and
                // destroy M and CV.
                CV.notify_all();
              }
            }
            if (IssueNext)
              IssueOne();
          },
          ArrayRef<tpctypes::BufferWrite>(Writes));
    };
    unsigned Window = std::min(O.InFlight, Total);
    {
      std::lock_guard<std::mutex> Lock(M);
      Issued = Window;
    }
    for (unsigned I = 0; I < Window; ++I)
      IssueOne();
    std::unique_lock<std::mutex> Lock(M);
    CV.wait(Lock, [&] { return Done == Issued && (Issued == Total || FirstErr); });
    return FirstErr;
  }

  Error oneAllocCycle() {
    auto SA = makeSegments(EPC, {{MemProtT::Read | MemProtT::Exec, {16, Align(16)}},
                                 {MemProtT::Read | MemProtT::Write, {16, Align(8)}}});
    if (!SA)
      return SA.takeError();
    auto FA = SA->finalize();
    if (!FA)
      return FA.takeError();
    return EPC.getMemMgr().deallocate(std::move(*FA));
  }

  const Options &O;
  ExecutorProcessControl &EPC;
  ExecutorAddr WriteBuffers, Target;
  jitlink::JITLinkMemoryManager::FinalizedAlloc TargetAlloc;
  std::vector<tpctypes::BufferWrite> Writes;
  Clock::time_point LastDone;
};

std::string jsonEscape(const std::string &S) {
  std::string R;
  for (char C : S) {
    if (C == '"' || C == '\\') {
      R += '\\';
      R += C;
    } else if (static_cast<unsigned char>(C) < 0x20) {
      char Buf[8];
      std::snprintf(Buf, sizeof(Buf), "\\u%04x", C);
      R += Buf;
    } else {
      R += C;
    }
  }
  return R;
}

} // namespace

int main(int Argc, char **Argv) {
  Options O;
  if (!parseOptions(Argc, Argv, O)) {
    usage(Argv[0]);
    return 2;
  }
  // A dead executor must surface as an EPIPE error, not kill the benchmark.
  std::signal(SIGPIPE, SIG_IGN);

  pid_t Child = -1;
  int InFD = -1, OutFD = -1;
  auto ConnectStart = Clock::now();
  if (O.Connect.empty()) {
    if (!launchExecutor(O.ExecArgv, InFD, OutFD, Child))
      return 1;
  } else {
    InFD = OutFD = connectExecutor(O.Connect);
    if (InFD < 0)
      return 1;
  }

  auto EPCOrErr = SimpleRemoteEPC::Create<FDSimpleRemoteEPCTransport>(
      makeDispatcher(), makeSetup(), InFD, OutFD);
  if (!EPCOrErr) {
    std::fprintf(stderr, "epc_bench: session setup failed: %s\n",
                 toString(EPCOrErr.takeError()).c_str());
    if (Child > 0) {
      ChildEnd E = reapChild(Child, 2000);
      std::fprintf(stderr, "epc_bench: executor ended: %s\n", describeStatus(E).c_str());
    }
    return 1;
  }
  double ConnectMs =
      std::chrono::duration<double, std::milli>(Clock::now() - ConnectStart).count();

  // An ExecutionSession owns the EPC so that transport errors on the send path are
  // reported (SimpleRemoteEPC reports them through the session) instead of crashing.
  auto ES = std::make_unique<ExecutionSession>(std::move(*EPCOrErr));
  std::atomic<bool> Reported(false);
  ES->setErrorReporter([&](Error Err) {
    Reported = true;
    std::fprintf(stderr, "epc_bench: session error: %s\n", toString(std::move(Err)).c_str());
  });
  ExecutorProcessControl &EPC = ES->getExecutorProcessControl();

  Bench B(O, EPC);
  const char *Stage = "set-up";
  Error Err = B.setUp();
  if (!Err) {
    Stage = "sequential";
    Err = B.sequential();
  }
  if (!Err) {
    Stage = "sequential (MemoryAccess)";
    Err = B.sequentialMemoryAccess();
  }
  if (!Err) {
    Stage = "in-flight";
    Err = B.inFlight();
  }
  if (!Err) {
    Stage = "alloc cycles";
    Err = B.allocCycles();
  }
  if (!Err) {
    Stage = "tear-down";
    Err = B.tearDown();
  } else {
    consumeError(B.tearDown());
  }
  bool Failed = false;
  if (Err) {
    Failed = true;
    std::fprintf(stderr, "epc_bench: %s failed: %s\n", Stage, toString(std::move(Err)).c_str());
  }

  // For TCP, LLVM 14/22 close() the socket while their reader thread is blocked in read()
  // and nobody notices; shutting it down first wakes the reader and sends the FIN.
  if (!O.Connect.empty())
    shutdown(InFD, SHUT_RDWR);
  if (auto EndErr = ES->endSession()) {
    Failed = true;
    std::fprintf(stderr, "epc_bench: ending the session failed: %s\n",
                 toString(std::move(EndErr)).c_str());
  }
  ES.reset();

  std::string ExitJson = "null";
  if (Child > 0) {
    ChildEnd E = reapChild(Child, 5000);
    if (!E.Killed && E.Status != -1 && WIFEXITED(E.Status)) {
      ExitJson = std::to_string(WEXITSTATUS(E.Status));
    } else {
      ExitJson = "\"" + describeStatus(E) + "\"";
    }
    if (E.Killed || E.Status == -1 || !WIFEXITED(E.Status) || WEXITSTATUS(E.Status) != 0) {
      Failed = true;
      std::fprintf(stderr, "epc_bench: executor ended badly after disconnect: %s\n",
                   describeStatus(E).c_str());
    }
  }
  if (Failed || Reported)
    return 1;

  std::string Exec;
  if (O.Connect.empty()) {
    for (size_t I = 0; I < O.ExecArgv.size(); ++I)
      Exec += (I ? " " : "") + O.ExecArgv[I];
  } else {
    Exec = "tcp:" + O.Connect;
  }
  std::printf("{\"llvm\": %d, \"executor\": \"%s\", \"transport\": \"%s\", "
              "\"connect_ms\": %.3f, "
              "\"seq_p50_us\": %.3f, \"seq_p99_us\": %.3f, \"seq_calls_per_s\": %.1f, "
              "\"seq_memaccess_p50_us\": %.3f, "
              "\"inflight\": %u, \"inflight_calls_per_s\": %.1f, "
              "\"alloc_cycles_per_s\": %.1f, \"alloc_cycles\": %u, "
              "\"iterations\": %u, \"warmup\": %u, \"executor_exit\": %s}\n",
              LLVM_VERSION_MAJOR, jsonEscape(Exec).c_str(),
              O.Connect.empty() ? "pipe" : "tcp", ConnectMs, B.SeqP50, B.SeqP99,
              B.SeqCallsPerS, B.SeqMemAccessP50, O.InFlight, B.InFlightCallsPerS,
              B.AllocCyclesPerS, O.AllocCycles, O.Iterations, O.Warmup, ExitJson.c_str());
  return 0;
}
