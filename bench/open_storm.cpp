// Benchmark driver: a paced storm of opens of one (secret) file from several processes, for the agent's capacity.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char *kUsage =
    "usage: credwatch_bench_storm --path FILE --rate OPENS_PER_S --seconds S [--processes N]\n"
    "N processes (default 4) together open+close FILE at the given total rate for S seconds.\n"
    "Prints one JSON line: opens done, failures, achieved rate, and the wall-clock window.\n";

int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void fail(const std::string &what) {
  fprintf(stderr, "credwatch_bench_storm: %s\n", what.c_str());
  exit(1);
}

double parse_positive(const char *flag, const char *text) {
  char *end = nullptr;
  double v = strtod(text, &end);
  if (*end != '\0' || !(v > 0)) fail(std::string(flag) + " '" + text + "' is not a positive number");
  return v;
}

struct ChildResult {
  uint64_t opens = 0;
  uint64_t failures = 0;
};

// Opens at `rate` per second from `start` to `end` (CLOCK_MONOTONIC). Behind schedule it opens flat out,
// ahead of it it sleeps, so the achieved rate shows when the machine, not the pacing, was the limit.
ChildResult pace(const char *path, double rate, int64_t start, int64_t end) {
  ChildResult r;
  timespec nap{0, 50'000};
  while (clock_ns(CLOCK_MONOTONIC) < start) nanosleep(&nap, nullptr);
  for (;;) {
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    if (now >= end) break;
    auto due = static_cast<uint64_t>(rate * static_cast<double>(now - start) / 1e9);
    if (r.opens + r.failures >= due) {
      nanosleep(&nap, nullptr);
      continue;
    }
    // A small batch between clock reads keeps the pacing overhead out of the syscall path.
    for (uint64_t n = std::min<uint64_t>(due - r.opens - r.failures, 64); n > 0; --n) {
      int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        close(fd);
        ++r.opens;
      } else {
        ++r.failures;
      }
    }
  }
  return r;
}

}  // namespace

int main(int argc, char **argv) {
  std::string path;
  double rate = 0, seconds = 0;
  int processes = 4;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "credwatch_bench_storm: '%s' needs a value\n%s", argv[i], kUsage);
      return 2;
    }
    if (arg == "--path") {
      path = argv[++i];
    } else if (arg == "--rate") {
      rate = parse_positive("--rate", argv[++i]);
    } else if (arg == "--seconds") {
      seconds = parse_positive("--seconds", argv[++i]);
    } else if (arg == "--processes") {
      processes = static_cast<int>(parse_positive("--processes", argv[++i]));
    } else {
      fprintf(stderr, "credwatch_bench_storm: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (path.empty() || rate == 0 || seconds == 0) {
    fputs(kUsage, stderr);
    return 2;
  }
  int probe = openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (probe < 0) fail("opening '" + path + "': " + strerror(errno));
  close(probe);

  // Every child starts at the same instant, a little after the last fork.
  int64_t start = clock_ns(CLOCK_MONOTONIC) + 100'000'000;
  int64_t end = start + static_cast<int64_t>(seconds * 1e9);
  int64_t wall_start = clock_ns(CLOCK_REALTIME) + 100'000'000;
  std::vector<std::pair<pid_t, int>> children;
  for (int c = 0; c < processes; ++c) {
    int fds[2];
    if (pipe(fds) != 0) fail(std::string("pipe: ") + strerror(errno));
    pid_t pid = fork();
    if (pid < 0) fail(std::string("fork: ") + strerror(errno));
    if (pid == 0) {
      close(fds[0]);
      ChildResult r = pace(path.c_str(), rate / processes, start, end);
      ssize_t n = write(fds[1], &r, sizeof(r));
      _exit(n == static_cast<ssize_t>(sizeof(r)) ? 0 : 1);
    }
    close(fds[1]);
    children.emplace_back(pid, fds[0]);
  }
  ChildResult total;
  int broken = 0;
  for (auto &[pid, fd] : children) {
    ChildResult r;
    if (read(fd, &r, sizeof(r)) == static_cast<ssize_t>(sizeof(r))) {
      total.opens += r.opens;
      total.failures += r.failures;
    } else {
      ++broken;
    }
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
  }
  int64_t wall_end = clock_ns(CLOCK_REALTIME);
  if (broken) fail(std::to_string(broken) + " storm process(es) died without reporting their counts");
  printf(
      "{\"target_rate\":%.0f,\"processes\":%d,\"seconds\":%.3f,\"opens\":%llu,\"failures\":%llu,"
      "\"achieved_rate\":%.0f,\"wall_start_ns\":%lld,\"wall_end_ns\":%lld}\n",
      rate, processes, seconds, static_cast<unsigned long long>(total.opens),
      static_cast<unsigned long long>(total.failures), static_cast<double>(total.opens) / seconds,
      static_cast<long long>(wall_start), static_cast<long long>(wall_end));
  return 0;
}
