// Benchmark driver: time from an open of a secret file to its event row in the agent's database; or connects to new
// loopback destinations, each timed, for the suite to time the alert webhook each one causes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char *kUsage =
    "usage: credwatch_bench_latency --db FILE --path SECRET [--samples N] [--gap-ms MS] [--timeout-ms MS]\n"
    "Opens SECRET N times (default 200), MS apart on average (default 20), each time from a new process (one\n"
    "process's identical opens within the agent's repeat window fold into one row), and polls the agent's\n"
    "database every 0.5 ms until the file_open row appears. Prints one JSON line with every latency in ms.\n"
    "   or: credwatch_bench_latency --connect-ports FIRST [--samples N] [--gap-ms MS]\n"
    "Connects to 127.0.0.1 port FIRST, FIRST+1, ... (each a destination it has not used, so each a new alert under\n"
    "an egress policy), MS apart on average, and prints one JSON line with each port and the wall time (ns) just\n"
    "before its connect.\n";

int64_t wall_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void fail(const std::string &what) {
  fprintf(stderr, "credwatch_bench_latency: %s\n", what.c_str());
  exit(1);
}

long parse_count(const char *flag, const char *text) {
  char *end = nullptr;
  long v = strtol(text, &end, 10);
  if (*end != '\0' || v <= 0) fail(std::string(flag) + " '" + text + "' is not a positive number");
  return v;
}

struct DbClose {
  void operator()(sqlite3 *db) const { sqlite3_close(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
};

void sleep_ns(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  nanosleep(&ts, nullptr);
}

// One connect to each of samples new loopback ports from first; whether it is refused does not matter.
int run_connects(long first, long samples, long gap_ms) {
  if (first + samples > 65536) fail("--connect-ports " + std::to_string(first) + " leaves too few ports");
  std::mt19937 rng(12345);
  std::uniform_int_distribution<long> jitter(gap_ms / 2, gap_ms + gap_ms / 2);
  std::vector<std::pair<long, int64_t>> connects;
  for (long s = 0; s < samples; ++s) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(std::string("socket: ") + strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(first + s));
    int64_t before = wall_ns();
    connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    close(fd);
    connects.emplace_back(first + s, before);
    sleep_ns(std::max<long>(jitter(rng), 2) * 1'000'000);
  }
  printf("{\"connects\":[");
  for (size_t i = 0; i < connects.size(); ++i)
    printf("%s[%ld,%lld]", i ? "," : "", connects[i].first, static_cast<long long>(connects[i].second));
  printf("]}\n");
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  std::string db_path, path;
  long samples = 200, gap_ms = 20, timeout_ms = 5000, connect_first = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "credwatch_bench_latency: '%s' needs a value\n%s", argv[i], kUsage);
      return 2;
    }
    if (arg == "--db") {
      db_path = argv[++i];
    } else if (arg == "--path") {
      path = argv[++i];
    } else if (arg == "--samples") {
      samples = parse_count("--samples", argv[++i]);
    } else if (arg == "--gap-ms") {
      gap_ms = parse_count("--gap-ms", argv[++i]);
    } else if (arg == "--timeout-ms") {
      timeout_ms = parse_count("--timeout-ms", argv[++i]);
    } else if (arg == "--connect-ports") {
      connect_first = parse_count("--connect-ports", argv[++i]);
    } else {
      fprintf(stderr, "credwatch_bench_latency: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (connect_first) return run_connects(connect_first, samples, gap_ms);
  if (db_path.empty() || path.empty()) {
    fputs(kUsage, stderr);
    return 2;
  }

  sqlite3 *raw = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    fail("opening database '" + db_path + "': " + why);
  }
  std::unique_ptr<sqlite3, DbClose> db(raw);
  sqlite3_busy_timeout(db.get(), 50);
  sqlite3_stmt *rs = nullptr;
  // (kind, time_ns) is indexed: the poll reads a handful of rows however large the table is.
  const char *sql = "SELECT 1 FROM events WHERE kind = 'file_open' AND time_ns >= ?1 AND path = ?2 LIMIT 1";
  if (sqlite3_prepare_v2(db.get(), sql, -1, &rs, nullptr) != SQLITE_OK)
    fail("preparing the event query on '" + db_path + "': " + sqlite3_errmsg(db.get()));
  std::unique_ptr<sqlite3_stmt, StmtFinalize> query(rs);

  std::mt19937 rng(12345);
  std::uniform_int_distribution<long> jitter(gap_ms / 2, gap_ms + gap_ms / 2);
  std::vector<double> latencies;
  long timeouts = 0;
  for (long s = 0; s < samples; ++s) {
    int64_t before = wall_ns();
    // A new process each time: a new event, not a repeat of the last one.
    pid_t child = fork();
    if (child < 0) fail(std::string("fork: ") + strerror(errno));
    if (child == 0) {
      int fd = openat(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC);
      _exit(fd < 0 ? 1 : 0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      fail("opening '" + path + "' in a child process failed");
    // Rows are stamped with the kernel's time of the open, after `before`; 1 ms of slack covers the
    // boot-to-wall clock conversion, and samples are further apart than that.
    int64_t deadline = before + timeout_ms * 1'000'000;
    bool seen = false;
    while (!seen && wall_ns() < deadline) {
      sqlite3_reset(query.get());
      sqlite3_bind_int64(query.get(), 1, before - 1'000'000);
      sqlite3_bind_text(query.get(), 2, path.c_str(), -1, SQLITE_STATIC);
      int rc = sqlite3_step(query.get());
      if (rc == SQLITE_ROW) {
        seen = true;
        break;
      }
      if (rc != SQLITE_DONE && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        fail("querying '" + db_path + "': " + sqlite3_errmsg(db.get()));
      sleep_ns(500'000);
    }
    if (seen)
      latencies.push_back(static_cast<double>(wall_ns() - before) / 1e6);
    else
      ++timeouts;
    sleep_ns(std::max<long>(jitter(rng), 2) * 1'000'000);
  }

  printf("{\"samples\":%ld,\"timeouts\":%ld,\"timeout_ms\":%ld,\"latencies_ms\":[", samples, timeouts, timeout_ms);
  for (size_t i = 0; i < latencies.size(); ++i) printf("%s%.3f", i ? "," : "", latencies[i]);
  printf("]}\n");
  return 0;
}
