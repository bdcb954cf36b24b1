// Benchmark driver: one syscall workload (getppid, openat+close, loopback TCP connect) in a loop, printing ns/op.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char *kUsage =
    "usage: credwatch_bench_loop getppid|open|connect --iterations N [--batches B] [--pause-ms MS] [--path FILE]\n"
    "  getppid  the cheapest syscall (raw syscall, no libc caching)\n"
    "  open     openat(AT_FDCWD, FILE, O_RDONLY) + close\n"
    "  connect  socket + connect to a listener on 127.0.0.1 + accept + close both\n"
    "Times B batches (default 5) of N iterations, MS apart (default 0; the pause is not timed), after an\n"
    "untimed warm-up of N/10. Prints one JSON line with the median batch's ns/op and every batch's.\n";

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void fail(const std::string &what) {
  fprintf(stderr, "credwatch_bench_loop: %s\n", what.c_str());
  exit(1);
}

[[noreturn]] void fail_errno(const std::string &what) {
  fail(what + ": " + strerror(errno));
}

// A loopback TCP listener; every iteration connects to it and accepts the connection, so the workload needs
// no second process. The client closes with linger 0 (RST): no TIME_WAIT, so ports never run out.
class LoopbackPair {
 public:
  LoopbackPair() {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) fail_errno("creating the listening socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) fail_errno("binding 127.0.0.1:0");
    if (listen(listener_, 64) != 0) fail_errno("listening on 127.0.0.1");
    socklen_t len = sizeof(addr_);
    if (getsockname(listener_, reinterpret_cast<sockaddr *>(&addr_), &len) != 0) fail_errno("getsockname");
  }
  ~LoopbackPair() { close(listener_); }
  LoopbackPair(const LoopbackPair &) = delete;
  LoopbackPair &operator=(const LoopbackPair &) = delete;

  void once() {
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client < 0) fail_errno("socket");
    if (connect(client, reinterpret_cast<const sockaddr *>(&addr_), sizeof(addr_)) != 0) fail_errno("connect");
    int server = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (server < 0) fail_errno("accept");
    linger abort_close{1, 0};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
    close(client);
    close(server);
  }

 private:
  int listener_ = -1;
  sockaddr_in addr_{};
};

struct LoopPlan {
  uint64_t iterations = 0;  // per batch
  uint64_t batches = 5;
  uint64_t pause_ms = 0;  // between batches: lets an event consumer drain, so no batch meets a full ring buffer
};

// ns/op of each batch.
std::vector<double> time_loop(const LoopPlan &plan, const std::function<void()> &op) {
  // A tenth of a batch first, untimed: page faults, dentry cache, the BPF programs' maps warm.
  for (uint64_t i = 0; i < plan.iterations / 10; ++i) op();
  std::vector<double> out;
  for (uint64_t b = 0; b < plan.batches; ++b) {
    if (b > 0 && plan.pause_ms > 0) usleep(static_cast<useconds_t>(plan.pause_ms * 1000));
    int64_t start = monotonic_ns();
    for (uint64_t i = 0; i < plan.iterations; ++i) op();
    out.push_back(static_cast<double>(monotonic_ns() - start) / static_cast<double>(plan.iterations));
  }
  return out;
}

uint64_t parse_count(const char *flag, const char *text, bool allow_zero) {
  char *end = nullptr;
  errno = 0;
  uint64_t v = strtoull(text, &end, 10);
  if (*text == '\0' || *end != '\0' || errno != 0 || text[0] == '-' || (v == 0 && !allow_zero))
    fail(std::string(flag) + " '" + text + "' is not a " + (allow_zero ? "number" : "positive number"));
  return v;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(kUsage, stderr);
    return 2;
  }
  std::string_view workload = argv[1];
  if (workload != "getppid" && workload != "open" && workload != "connect") {
    fprintf(stderr, "credwatch_bench_loop: unknown workload '%s'\n%s", argv[1], kUsage);
    return 2;
  }
  LoopPlan plan;
  std::string path;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--iterations" && i + 1 < argc) {
      plan.iterations = parse_count("--iterations", argv[++i], false);
    } else if (arg == "--batches" && i + 1 < argc) {
      plan.batches = parse_count("--batches", argv[++i], false);
    } else if (arg == "--pause-ms" && i + 1 < argc) {
      plan.pause_ms = parse_count("--pause-ms", argv[++i], true);
    } else if (arg == "--path" && i + 1 < argc) {
      path = argv[++i];
    } else {
      fprintf(stderr, "credwatch_bench_loop: unknown or incomplete argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (plan.iterations == 0) fail("--iterations is required");

  std::vector<double> ns;
  if (workload == "getppid") {
    ns = time_loop(plan, [] { syscall(SYS_getppid); });
  } else if (workload == "open") {
    if (path.empty()) fail("open needs --path");
    int probe = openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC);
    if (probe < 0) fail_errno("opening '" + path + "'");
    close(probe);
    const char *p = path.c_str();
    ns = time_loop(plan, [p] {
      int fd = openat(AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) close(fd);
    });
  } else {
    LoopbackPair pair;
    ns = time_loop(plan, [&pair] { pair.once(); });
  }
  std::vector<double> sorted = ns;
  std::sort(sorted.begin(), sorted.end());
  printf("{\"workload\":\"%s\",\"iterations\":%llu,\"batches\":%llu,\"ns_per_op\":%.2f,\"batch_ns_per_op\":[", argv[1],
         static_cast<unsigned long long>(plan.iterations), static_cast<unsigned long long>(plan.batches),
         sorted[sorted.size() / 2]);
  for (size_t i = 0; i < ns.size(); ++i) printf("%s%.2f", i ? "," : "", ns[i]);
  printf("]}\n");
  return 0;
}
