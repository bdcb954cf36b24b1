// The real BPF programs: each event kind triggered by a real syscall, every field asserted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "catalog/catalog_scanner.h"
#include "common/log.h"
#include "decode/record_decoder.h"
#include "sensor/bpf_sensor.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string skip_reason() {
  if (geteuid() != 0) return "needs root to load BPF programs";
  if (!KernelFeatures::has_vmlinux_btf()) return "kernel has no BTF (/sys/kernel/btf/vmlinux)";
  return "";
}

uint64_t self_cgroup_id() {
  std::ifstream in("/proc/self/cgroup");
  std::string line, path;
  while (std::getline(in, line))
    if (line.rfind("0::", 0) == 0) path = line.substr(3);
  struct stat st{};
  if (stat((KernelFeatures::cgroup2_mount() + path).c_str(), &st) != 0) return 0;
  return st.st_ino;
}

uint32_t ns_inode(const char *which, pid_t pid = 0) {
  struct stat st{};
  std::string path = pid ? "/proc/" + std::to_string(pid) + "/ns/" + which : std::string("/proc/self/ns/") + which;
  stat(path.c_str(), &st);
  return static_cast<uint32_t>(st.st_ino);
}

// Runs fn in a child process named comm; returns its pid after it exits with fn's return value.
pid_t run_child(const char *comm, const std::function<int()> &fn, int *status_out = nullptr) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, comm);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (status_out) *status_out = status;
  return pid;
}

// Owns a sensor and a thread that decodes everything it delivers.
class Harness {
 public:
  explicit Harness(SensorOptions options) {
    options.agent_tgid = static_cast<uint32_t>(getpid());
    sensor = std::make_unique<BpfSensor>(options, [this](std::span<const uint8_t> data) {
      auto result = decoder.decode(data);
      std::lock_guard lock(mutex);
      if (auto *ev = std::get_if<Event>(&result))
        events.push_back(std::move(*ev));
      else if (auto *err = std::get_if<DecodeError>(&result))
        decode_errors.push_back(err->reason);  // environment chunks are not these tests' subject
    });
    poller = std::thread([this] {
      while (!stop) sensor->poll(50);
    });
  }
  ~Harness() {
    stop = true;
    poller.join();
  }

  // Waits until an event satisfies pred; returns a copy.
  std::optional<Event> wait_for(const std::function<bool(const Event &)> &pred, std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex);
        for (const auto &ev : events)
          if (pred(ev)) return ev;
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }
  // Waits until cond holds (it may call all_of, which wait_for's predicate may not); false on timeout.
  static bool wait_until(const std::function<bool()> &cond, std::chrono::milliseconds timeout = 3s) {
    for (auto deadline = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(10ms))
      if (cond()) return true;
    return false;
  }
  std::vector<Event> all_of(uint32_t tgid, std::optional<EventKind> kind = std::nullopt) {
    std::lock_guard lock(mutex);
    std::vector<Event> out;
    for (const auto &ev : events)
      if (ev.process.tgid == tgid && (!kind || ev.kind == *kind)) out.push_back(ev);
    return out;
  }

  BootClock clock;
  RecordDecoder decoder{clock};
  std::unique_ptr<BpfSensor> sensor;
  std::mutex mutex;
  std::vector<Event> events;
  std::vector<std::string> decode_errors;
  std::atomic<bool> stop{false};
  std::thread poller;
};

class SensorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!skip_reason().empty()) return;
    setup_logging(spdlog::level::warn, LogFormat::Human);
    root = fs::temp_directory_path() / ("cw-bpf-" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "home/.aws");
    fs::create_directories(root / "plain");
    std::ofstream(root / "home/.aws/credentials") << "[default]\naws_access_key_id = AKIATEST\n";
    std::ofstream(root / "plain/notes.txt") << "not a secret\n";
    fs::create_symlink(root / "home/.aws/credentials", root / "link-to-creds");
    fs::create_hard_link(root / "home/.aws/credentials", root / "plain/hardlink");

    harness = new Harness(SensorOptions{});
    catalog = new SecretCatalog(SecretCatalog::builtin());
    auto &maps = harness->sensor->secret_maps();
    maps.load_name_filter(catalog->kernel_filter());
    CatalogScanner scanner(*catalog, "/nonexistent", {(root / "home").string()});
    for (const auto &s : scanner.scan()) maps.add_secret_inode(s.dev, s.ino, s.catalog_id);
    struct stat st{};
    stat((root / "home/.aws/credentials").c_str(), &st);
    secret_dev = kernel_dev(st.st_dev);
    secret_ino = st.st_ino;
    aws_id = catalog->match((root / "home/.aws/credentials").string())->id;
  }
  static void TearDownTestSuite() {
    delete harness;
    harness = nullptr;
    delete catalog;
    if (!root.empty()) fs::remove_all(root);
  }
  void SetUp() override {
    if (auto why = skip_reason(); !why.empty()) GTEST_SKIP() << why;
  }

  static std::optional<Event> open_event_of(pid_t pid) {
    return harness->wait_for([pid](const Event &e) {
      return e.kind == EventKind::FileOpen && e.process.tgid == static_cast<uint32_t>(pid);
    });
  }

  static void expect_common(const Event &ev, pid_t pid, const char *comm) {
    EXPECT_EQ(ev.process.pid, static_cast<uint32_t>(pid));
    EXPECT_EQ(ev.process.tgid, static_cast<uint32_t>(pid));
    EXPECT_EQ(ev.process.ppid, static_cast<uint32_t>(getpid()));
    EXPECT_EQ(ev.process.uid, 0u);
    EXPECT_EQ(ev.process.gid, 0u);
    EXPECT_EQ(ev.process.comm, comm);
    EXPECT_EQ(ev.process.cgroup_id, self_cgroup_id());
    EXPECT_NE(ev.process.start_ns, 0u);
    EXPECT_LT(std::llabs(ev.time_ns - wall_now_ns()), 10'000'000'000LL);
  }

  // A second sensor that folds repeats in the kernel (the suite's own sends every event), knowing the secret.
  static std::unique_ptr<Harness> folding_harness(uint64_t window_ns = 5'000'000'000) {
    SensorOptions options;
    options.repeat_window_ns = window_ns;  // windows are aligned on boot time: a test may cross one boundary
    auto h = std::make_unique<Harness>(options);
    h->sensor->secret_maps().load_name_filter(catalog->kernel_filter());
    h->sensor->secret_maps().add_secret_inode(secret_dev, secret_ino, aws_id);
    return h;
  }

  static inline fs::path root;
  static inline Harness *harness = nullptr;
  static inline SecretCatalog *catalog = nullptr;
  static inline uint64_t secret_dev = 0, secret_ino = 0;
  static inline uint32_t aws_id = 0;
};

TEST_F(SensorTest, AllFamiliesAttach) {
  for (const auto &[family, status] : harness->sensor->family_status())
    EXPECT_EQ(status.rfind("attached", 0), 0u) << family << ": " << status;
  EXPECT_TRUE(harness->decode_errors.empty());
}

TEST_F(SensorTest, AbsolutePathOpenOfAKnownSecret) {
  std::string path = (root / "home/.aws/credentials").string();
  pid_t pid = run_child("cw-abs", [&] {
    int fd = open(path.c_str(), O_RDONLY);
    return fd >= 0 ? 0 : 1;
  });
  auto ev = open_event_of(pid);
  ASSERT_TRUE(ev);
  expect_common(*ev, pid, "cw-abs");
  EXPECT_EQ(ev->process.mnt_ns, ns_inode("mnt"));
  auto &d = std::get<FileOpenDetails>(ev->details);
  EXPECT_EQ(d.requested, path);
  EXPECT_EQ(d.resolved, "");  // inode hits are not re-walked
  EXPECT_GE(d.result, 3);
  EXPECT_EQ(d.dev, secret_dev);
  EXPECT_EQ(d.ino, secret_ino);
  EXPECT_EQ(d.flags & O_ACCMODE, static_cast<uint32_t>(O_RDONLY));
  EXPECT_EQ(d.dirfd, AT_FDCWD);
  EXPECT_EQ(d.syscall, "openat");  // glibc's open() is openat
  EXPECT_EQ(d.match, OpenMatch::Inode);
  EXPECT_EQ(d.catalog_id, aws_id);
}

TEST_F(SensorTest, RelativeOpenatWithDirfd) {
  std::string dir = (root / "home/.aws").string();
  pid_t pid = run_child("cw-dirfd", [&] {
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    return openat(dfd, "credentials", O_RDONLY) >= 0 ? 0 : 1;
  });
  auto ev = open_event_of(pid);
  ASSERT_TRUE(ev);
  auto &d = std::get<FileOpenDetails>(ev->details);
  EXPECT_EQ(d.requested, "credentials");
  EXPECT_GE(d.dirfd, 3);
  EXPECT_EQ(d.match, OpenMatch::Inode);
  EXPECT_EQ(d.ino, secret_ino);
}

TEST_F(SensorTest, SymlinkAndHardLinkReachTheSameInode) {
  for (const char *name : {"link-to-creds", "plain/hardlink"}) {
    std::string path = (root / name).string();
    pid_t pid = run_child("cw-link", [&] { return open(path.c_str(), O_RDONLY) >= 0 ? 0 : 1; });
    auto ev = open_event_of(pid);
    ASSERT_TRUE(ev) << name;
    auto &d = std::get<FileOpenDetails>(ev->details);
    EXPECT_EQ(d.requested, path);
    EXPECT_EQ(d.ino, secret_ino) << name;
    EXPECT_EQ(d.match, OpenMatch::Inode) << name;
  }
}

TEST_F(SensorTest, BindMountInAnotherMountNamespace) {
  std::string target = (root / "bindtarget").string();
  fs::create_directories(target);
  std::string source = (root / "home/.aws").string();
  pid_t pid = run_child("cw-bind", [&] {
    if (unshare(CLONE_NEWNS) != 0) return 2;
    mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);  // keep the bind out of the host
    if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) return 3;
    return open((target + "/credentials").c_str(), O_RDONLY) >= 0 ? 0 : 1;
  });
  auto ev = open_event_of(pid);
  ASSERT_TRUE(ev);
  auto &d = std::get<FileOpenDetails>(ev->details);
  EXPECT_EQ(d.requested, target + "/credentials");
  EXPECT_EQ(d.ino, secret_ino);
  EXPECT_EQ(d.match, OpenMatch::Inode);
  EXPECT_NE(ev->process.mnt_ns, ns_inode("mnt"));  // the child's own namespace
}

TEST_F(SensorTest, UnknownFileWithASecretNameIsACandidateWithItsResolvedPath) {
  fs::create_directories(root / "later/.aws");
  std::string path = (root / "later/.aws/credentials").string();
  std::ofstream(path) << "[x]\n";
  pid_t pid = run_child("cw-name", [&] { return open(path.c_str(), O_RDONLY) >= 0 ? 0 : 1; });
  auto ev = open_event_of(pid);
  ASSERT_TRUE(ev);
  auto &d = std::get<FileOpenDetails>(ev->details);
  EXPECT_EQ(d.match, OpenMatch::Name);
  EXPECT_EQ(d.resolved, path);
  EXPECT_NE(d.catalog_id, 0u);  // the "credentials" selector's entry

  // Once userspace says "not a secret", the kernel stops reporting that inode.
  harness->sensor->secret_maps().mark_not_secret(d.dev, d.ino);
  pid_t again = run_child("cw-name2", [&] {
    open(path.c_str(), O_RDONLY);
    return open((root / "home/.aws/credentials").c_str(), O_RDONLY) >= 0 ? 0 : 1;  // a sentinel after it
  });
  auto sentinel = open_event_of(again);
  ASSERT_TRUE(sentinel);
  EXPECT_EQ(harness->all_of(again, EventKind::FileOpen).size(), 1u);
}

// The build for kernels without bpf_rdonly_cast (before 6.2) reads the file, inode, device and names through
// helper calls; the suite's own sensor takes the plain-load build wherever the kernel has the kfunc.
TEST_F(SensorTest, HelperCallBuildOfTheFileProbesFindsTheSameOpens) {
  EXPECT_EQ(file_probes_walk_btf(SensorOptions{}), KernelFeatures::btf_has_func("bpf_rdonly_cast"));
  EXPECT_FALSE(KernelFeatures::btf_has_func("task_struct"));  // a struct of that name is no kfunc
  SensorOptions options;
  options.file_btf_walk = false;
  ASSERT_FALSE(file_probes_walk_btf(options));
  Harness old(options);
  old.sensor->secret_maps().load_name_filter(catalog->kernel_filter());
  old.sensor->secret_maps().add_secret_inode(secret_dev, secret_ino, aws_id);
  fs::create_directories(root / "older/.aws");
  std::string candidate = (root / "older/.aws/credentials").string();
  std::ofstream(candidate) << "[x]\n";
  std::string secret = (root / "home/.aws/credentials").string();
  std::string plain = (root / "plain/notes.txt").string();
  pid_t pid = run_child("cw-helpers", [&] {
    close(open(plain.c_str(), O_RDONLY));
    close(open(candidate.c_str(), O_RDONLY));
    return open(secret.c_str(), O_RDONLY) >= 0 ? 0 : 1;  // last: once it is here, so is everything before it
  });
  ASSERT_TRUE(old.wait_for([&](const Event &ev) {
    return ev.process.tgid == static_cast<uint32_t>(pid) && ev.kind == EventKind::FileOpen &&
           std::get<FileOpenDetails>(ev.details).match == OpenMatch::Inode;
  }));
  auto opens = old.all_of(pid, EventKind::FileOpen);
  ASSERT_EQ(opens.size(), 2u);  // the plain file produced nothing
  const auto &name = std::get<FileOpenDetails>(opens[0].details);
  EXPECT_EQ(name.match, OpenMatch::Name);
  EXPECT_EQ(name.resolved, candidate);
  const auto &inode = std::get<FileOpenDetails>(opens[1].details);
  EXPECT_EQ(inode.dev, secret_dev);
  EXPECT_EQ(inode.ino, secret_ino);
  EXPECT_EQ(inode.catalog_id, aws_id);
}

// The name filter's every selector kind, on names of 1, 2, up to 16 (read in one piece by the plain-load build) and
// more bytes (each pair from its own read): both builds report the same candidates with the same catalog entries, and nothing else.
TEST_F(SensorTest, BothFileBuildsApplyEveryKindOfNameSelector) {
  SecretCatalog names = SecretCatalog::builtin();
  names.add({0, "signing-keys", "tls_private_key", {"**/*-signing.pem"}, {}, {}, "test suffix selector", false});
  names.add({0, "short-and-17", "generic_secret", {"**/k", "**/service-key.token"}, {}, {}, "test exact names", false});
  auto id_of = [&](const char *entry) {
    for (const auto &e : names.entries())
      if (e.name == entry) return e.id;
    return 0u;
  };
  const fs::path dir = root / "selectors", azure = root / "selectors-home/.azure";
  fs::create_directories(dir);
  fs::create_directories(azure);
  const std::map<fs::path, uint32_t> expected = {
      {dir / "eks-pod-identity-token", id_of("eks-pod-identity-token")},  // exact, 22 bytes
      {dir / ".git-credentials", id_of("git-credentials")},               // exact, 16 bytes
      {dir / "service-key.token", id_of("short-and-17")},                 // exact, 17 bytes
      {dir / "k", id_of("short-and-17")},                                 // exact, 1 byte
      {dir / ".netrc", id_of("netrc")},                                   // exact, 6 bytes
      {dir / "id_ed25519", id_of("ssh-private-key")},                     // prefix "id_"
      {azure / "msal_token_cache.json", id_of("azure-token-cache")},      // parent ".azure"
      {azure / "a", id_of("azure-token-cache")},                          // parent, a 1-byte name
      {dir / "k-signing.pem", id_of("signing-keys")},                     // suffix, 13 bytes
      {dir / "abcd-signing.pem", id_of("signing-keys")},                  // suffix, 16 bytes: bytes 14 and 15
      {dir / "release-build-signing.pem", id_of("signing-keys")},         // suffix, 25 bytes
  };
  const std::vector<fs::path> others = {dir / "a",     dir / "ab",     dir / "id", dir / "tokens",
                                        dir / "exactly-16-bytes", dir / "seventeen-bytes-x", dir / "notes.txt"};
  for (const auto &[path, id] : expected) {
    ASSERT_NE(id, 0u) << path;
    std::ofstream(path) << "x\n";
  }
  for (const auto &path : others) std::ofstream(path) << "x\n";

  for (bool btf : {true, false}) {
    SCOPED_TRACE(btf ? "plain-load build" : "helper-call build");
    SensorOptions options;
    options.file_btf_walk = btf;
    Harness h(options);
    h.sensor->secret_maps().load_name_filter(names.kernel_filter());
    std::string sentinel = (root / "later-sentinel/.aws/credentials").string();
    fs::create_directories(fs::path(sentinel).parent_path());
    std::ofstream(sentinel) << "[x]\n";
    pid_t pid = run_child("cw-selectors", [&] {
      for (const auto &path : others) close(open(path.c_str(), O_RDONLY));
      for (const auto &[path, id] : expected) close(open(path.c_str(), O_RDONLY));
      return open(sentinel.c_str(), O_RDONLY) >= 0 ? 0 : 1;  // last: once it is here, so is everything before it
    });
    ASSERT_TRUE(h.wait_for([&](const Event &ev) {
      return ev.process.tgid == static_cast<uint32_t>(pid) && ev.kind == EventKind::FileOpen &&
             std::get<FileOpenDetails>(ev.details).resolved == sentinel;
    }));
    std::map<fs::path, uint32_t> seen;
    for (const auto &ev : h.all_of(pid, EventKind::FileOpen)) {
      const auto &d = std::get<FileOpenDetails>(ev.details);
      EXPECT_EQ(d.match, OpenMatch::Name) << d.resolved;
      if (d.resolved != sentinel) seen[d.resolved] = d.catalog_id;
    }
    EXPECT_EQ(seen, expected);
  }
}

TEST_F(SensorTest, WriteOnlyOpen) {
  std::string path = (root / "home/.aws/credentials").string();
  pid_t pid = run_child("cw-write", [&] { return open(path.c_str(), O_WRONLY | O_APPEND) >= 0 ? 0 : 1; });
  auto ev = open_event_of(pid);
  ASSERT_TRUE(ev);
  auto &d = std::get<FileOpenDetails>(ev->details);
  EXPECT_EQ(d.flags & O_ACCMODE, static_cast<uint32_t>(O_WRONLY));
  EXPECT_TRUE(d.flags & O_APPEND);
  EXPECT_EQ(d.access(), "write");
}

TEST_F(SensorTest, FailedOpenOfASecretPath) {
  std::string path = (root / "missing/.aws/credentials").string();
  pid_t pid = run_child("cw-fail", [&] { return open(path.c_str(), O_RDONLY) < 0 ? 0 : 1; });
  auto ev = open_event_of(pid);
  ASSERT_TRUE(ev);
  auto &d = std::get<FileOpenDetails>(ev->details);
  EXPECT_EQ(d.result, -ENOENT);
  EXPECT_EQ(d.match, OpenMatch::FailedName);
  EXPECT_EQ(d.requested, path);
  EXPECT_EQ(d.dev, 0u);
  EXPECT_EQ(d.ino, 0u);
}

TEST_F(SensorTest, NonSecretOpensProduceNothing) {
  std::string plain = (root / "plain/notes.txt").string();
  std::string secret = (root / "home/.aws/credentials").string();
  pid_t pid = run_child("cw-plain", [&] {
    for (int i = 0; i < 100; ++i) {
      close(open(plain.c_str(), O_RDONLY));
      close(open("/etc/hostname", O_RDONLY));
      open("/nonexistent/file.txt", O_RDONLY);
    }
    return open(secret.c_str(), O_RDONLY) >= 0 ? 0 : 1;  // sentinel: arrives after everything above
  });
  ASSERT_TRUE(open_event_of(pid));
  auto mine = harness->all_of(pid, EventKind::FileOpen);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(std::get<FileOpenDetails>(mine[0].details).requested, secret);
}

// Identical read-only opens of a known secret within a repeat window: one record, the rest counted in the kernel
// and taken by the agent once the window closes. Writes and other processes are never folded.
TEST_F(SensorTest, RepeatedReadsOfASecretAreCountedInTheKernel) {
  auto folding_ptr = folding_harness();
  Harness &folding = *folding_ptr;
  std::string path = (root / "home/.aws/credentials").string();
  auto reader = [&] {
    for (int i = 0; i < 30; ++i) close(open(path.c_str(), O_RDONLY));
    for (int i = 0; i < 5; ++i) close(open(path.c_str(), O_RDWR));  // a write is never a repeat
    return 0;
  };
  pid_t first = run_child("cw-reread", reader);
  pid_t second = run_child("cw-reread", reader);
  auto writes_of = [](Harness &h, pid_t pid) {
    size_t n = 0;
    for (const auto &ev : h.all_of(pid, EventKind::FileOpen))
      n += (std::get<FileOpenDetails>(ev.details).flags & O_ACCMODE) == O_RDWR;
    return n;
  };
  for (pid_t pid : {first, second}) {
    // The writes come last: once all five are here, so is every record of the reads.
    ASSERT_TRUE(Harness::wait_until([&] { return writes_of(folding, pid) == 5; })) << pid;
    ASSERT_TRUE(Harness::wait_until([&] { return writes_of(*harness, pid) == 5; })) << pid;
  }
  auto counts = folding.sensor->take_repeats(true);
  for (pid_t pid : {first, second}) {
    std::vector<uint64_t> windows;  // kernel times of the records that opened a window
    size_t read_records = 0;
    for (const auto &ev : folding.all_of(pid, EventKind::FileOpen)) {
      const auto &d = std::get<FileOpenDetails>(ev.details);
      if ((d.flags & O_ACCMODE) == O_RDWR) {
        EXPECT_EQ(d.kernel_window_ns, 0u);
        continue;
      }
      ++read_records;
      EXPECT_EQ(d.match, OpenMatch::Inode);
      EXPECT_NE(d.kernel_window_ns, 0u);
      windows.push_back(d.kernel_window_ns);
    }
    EXPECT_GE(read_records, 1u) << pid;
    EXPECT_LE(read_records, 2u) << pid;  // one per window
    uint64_t counted = 0;
    for (const auto &c : counts) {
      if (c.tgid != static_cast<uint32_t>(pid)) continue;
      EXPECT_EQ(c.of, RepeatCount::Of::FileOpen);
      EXPECT_NE(std::find(windows.begin(), windows.end(), c.first_boot_ns), windows.end())
          << "a count names a record that opened its window";
      EXPECT_GE(c.last_boot_ns, c.first_boot_ns);
      counted += c.count;
    }
    EXPECT_EQ(read_records + counted, 30u) << pid;
    // The sensor without a repeat window sent every open.
    EXPECT_EQ(harness->all_of(pid, EventKind::FileOpen).size(), 35u) << pid;
  }
  // Taken windows are gone from the kernel.
  for (const auto &c : folding.sensor->take_repeats(true))
    EXPECT_TRUE(c.tgid != static_cast<uint32_t>(first) && c.tgid != static_cast<uint32_t>(second));
}

class Listener {
 public:
  Listener(int family, const std::string &unix_path = "") : family_(family) {
    fd_ = socket(family, SOCK_STREAM, 0);
    if (family == AF_INET) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a));
      socklen_t len = sizeof(a);
      getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
      port_ = ntohs(a.sin_port);
    } else if (family == AF_INET6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_loopback;
      bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a));
      socklen_t len = sizeof(a);
      getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len);
      port_ = ntohs(a.sin6_port);
    } else {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      strncpy(a.sun_path, unix_path.c_str(), sizeof(a.sun_path) - 1);
      unlink(unix_path.c_str());
      bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof(a));
    }
    listen(fd_, 16);
  }
  ~Listener() { close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int family_;
  int fd_;
  uint16_t port_ = 0;
};

int connect_to(int family, uint16_t port, const std::string &unix_path = "") {
  int fd = socket(family, SOCK_STREAM, 0);
  int rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
  } else if (family == AF_INET6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    rc = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
  } else {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, unix_path.c_str(), sizeof(a.sun_path) - 1);
    rc = connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
  }
  return rc == 0 ? 0 : errno;
}

TEST_F(SensorTest, ConnectsIpv4Ipv6AndUnixSuccessfulAndRefused) {
  Listener v4(AF_INET), v6(AF_INET6);
  std::string sock = (root / "app.sock").string();
  Listener ux(AF_UNIX, sock);
  uint16_t closed_port;
  {
    Listener tmp(AF_INET);
    closed_port = tmp.port();
  }  // closed: connects are refused
  struct Case {
    int family;
    uint16_t port;
    std::string path;
    int expect_errno;
    std::string dest;
  };
  std::vector<Case> cases = {
      {AF_INET, v4.port(), "", 0, "127.0.0.1:" + std::to_string(v4.port())},
      {AF_INET, closed_port, "", ECONNREFUSED, "127.0.0.1:" + std::to_string(closed_port)},
      {AF_INET6, v6.port(), "", 0, "[::1]:" + std::to_string(v6.port())},
      {AF_UNIX, 0, sock, 0, sock},
      {AF_UNIX, 0, (root / "nobody.sock").string(), ENOENT, (root / "nobody.sock").string()},
  };
  for (const auto &c : cases) {
    pid_t pid = run_child("cw-conn", [&] { return connect_to(c.family, c.port, c.path) == c.expect_errno ? 0 : 1; });
    auto ev = harness->wait_for([pid](const Event &e) {
      return e.kind == EventKind::Connect && e.process.tgid == static_cast<uint32_t>(pid);
    });
    ASSERT_TRUE(ev) << c.dest;
    expect_common(*ev, pid, "cw-conn");
    auto &d = std::get<ConnectDetails>(ev->details);
    EXPECT_EQ(d.destination(), c.dest);
    EXPECT_EQ(d.result, -c.expect_errno) << c.dest;
    EXPECT_EQ(d.family, c.family);
    EXPECT_EQ(d.sock_type, SOCK_STREAM);
    EXPECT_GE(d.fd, 3);
  }
}

// An IPv6 address passed with the 24 bytes the kernel accepts (no scope id), ending right at an unmapped page: the
// program reads no more than the caller gave.
TEST_F(SensorTest, AShortIpv6AddressAtTheEndOfAPageIsSeen) {
  Listener v6(AF_INET6);
  constexpr socklen_t kShortLen = 24;  // offsetof(sockaddr_in6, sin6_scope_id)
  pid_t pid = run_child("cw-conn6", [&] {
    long page = sysconf(_SC_PAGESIZE);
    auto *pages =
        static_cast<char *>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (pages == MAP_FAILED || munmap(pages + page, page) != 0) return 2;
    auto *sin6 = reinterpret_cast<sockaddr_in6 *>(pages + page - kShortLen);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(v6.port());
    sin6->sin6_flowinfo = 0;
    sin6->sin6_addr = in6addr_loopback;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    int rc = connect(fd, reinterpret_cast<sockaddr *>(sin6), kShortLen);
    close(fd);
    return rc == 0 ? 0 : 1;
  });
  auto ev = harness->wait_for(
      [pid](const Event &e) { return e.kind == EventKind::Connect && e.process.tgid == static_cast<uint32_t>(pid); });
  ASSERT_TRUE(ev);
  auto &d = std::get<ConnectDetails>(ev->details);
  EXPECT_EQ(d.destination(), "[::1]:" + std::to_string(v6.port()));
  EXPECT_EQ(d.result, 0);
}

// Without all, only windows that closed (and settled) are taken; the others stay counting until they have.
TEST_F(SensorTest, OnlyClosedRepeatWindowsAreTaken) {
  constexpr uint64_t kWindow = 200'000'000;
  auto folding = folding_harness(kWindow);
  std::string path = (root / "home/.aws/credentials").string();
  pid_t pid = run_child("cw-windows", [&] {
    for (int i = 0; i < 10; ++i) close(open(path.c_str(), O_RDONLY));
    return 0;
  });
  auto boot_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  };
  // The kernel reads the time for its windows to within a tick (10 ms at the slowest tick rate): the window a
  // record opened may be the one before its precise time's.
  constexpr uint64_t kTick = 10'000'000;
  uint64_t counted = 0;
  for (const auto &c : folding->sensor->take_repeats()) {
    if (c.tgid != static_cast<uint32_t>(pid)) continue;
    EXPECT_LE(((c.first_boot_ns - kTick) / kWindow + 1) * kWindow + 250'000'000, boot_now())
        << "a window still open was taken";
    counted += c.count;
  }
  std::this_thread::sleep_for(std::chrono::nanoseconds(2 * kWindow + 350'000'000));  // closed and settled
  for (const auto &c : folding->sensor->take_repeats())
    if (c.tgid == static_cast<uint32_t>(pid)) counted += c.count;
  size_t records = folding->all_of(pid, EventKind::FileOpen).size();
  EXPECT_GE(records, 1u);
  EXPECT_LT(records, 10u);  // most were counted, not sent
  EXPECT_EQ(records + counted, 10u);  // every window closed by now, each taken once
}

// Identical connects within a window: one record, the rest counted in the kernel; but after a secret read in the
// same cgroup the next connect is sent, so the agent sees the read and then a connect, and the ones after it count
// again (on the window's first record).
TEST_F(SensorTest, RepeatedConnectsAreCountedInTheKernelAndAReadSendsTheNextOne) {
  auto folding = folding_harness();
  uint16_t refused;
  {
    Listener tmp(AF_INET);
    refused = tmp.port();
  }  // closed: every connect is refused at once, the same outcome each time
  std::string secret = (root / "home/.aws/credentials").string();
  pid_t pid = run_child("cw-reconnect", [&] {
    for (int i = 0; i < 20; ++i) connect_to(AF_INET, refused);
    close(open(secret.c_str(), O_RDONLY));
    for (int i = 0; i < 10; ++i) connect_to(AF_INET, refused);
    close(open(secret.c_str(), O_RDWR));  // sentinel: arrives after everything above
    return 0;
  });
  auto sentinel = [&](const Event &ev) {
    return ev.process.tgid == static_cast<uint32_t>(pid) && ev.kind == EventKind::FileOpen &&
           (std::get<FileOpenDetails>(ev.details).flags & O_ACCMODE) == O_RDWR;
  };
  ASSERT_TRUE(folding->wait_for(sentinel));
  ASSERT_TRUE(harness->wait_for(sentinel));
  EXPECT_EQ(harness->all_of(pid, EventKind::Connect).size(), 30u);  // without a window: every connect

  // The records in order: connects before the read, the read, connects after it.
  size_t before = 0, after = 0;
  bool read_seen = false;
  std::vector<uint64_t> windows;  // kernel times of the connects that opened a window
  for (const auto &ev : folding->all_of(pid)) {
    if (ev.kind == EventKind::FileOpen) {
      read_seen = read_seen || (std::get<FileOpenDetails>(ev.details).flags & O_ACCMODE) == O_RDONLY;
      continue;
    }
    if (ev.kind != EventKind::Connect) continue;
    const auto &d = std::get<ConnectDetails>(ev.details);
    EXPECT_EQ(d.result, -ECONNREFUSED);
    if (d.kernel_window_ns) windows.push_back(d.kernel_window_ns);
    ++(read_seen ? after : before);
  }
  EXPECT_TRUE(read_seen);
  EXPECT_GE(before, 1u);
  EXPECT_LE(before, 2u);  // one per window
  // The first connect after the read is sent, and the ones after it fold again (into the window's count). A
  // window boundary between them sends one more.
  EXPECT_GE(after, 1u);
  EXPECT_LE(after, 2u);
  uint64_t counted = 0;
  for (const auto &c : folding->sensor->take_repeats(true)) {
    if (c.tgid != static_cast<uint32_t>(pid) || c.of != RepeatCount::Of::Connect) continue;
    EXPECT_NE(std::find(windows.begin(), windows.end(), c.first_boot_ns), windows.end());
    counted += c.count;
  }
  EXPECT_EQ(before + after + counted, 30u);
}

TEST_F(SensorTest, ForkExecExitWithCodesAndSignals) {
  int status = 0;
  pid_t pid = run_child(
      "cw-parent",
      [] {
        pid_t child = fork();
        if (child == 0) {
          execl("/bin/sh", "sh", "-c", "exit 7", static_cast<char *>(nullptr));
          _exit(127);
        }
        int st;
        waitpid(child, &st, 0);
        return WEXITSTATUS(st) == 7 ? 3 : 1;
      },
      &status);
  ASSERT_EQ(WEXITSTATUS(status), 3);

  auto fork_ev = harness->wait_for(
      [pid](const Event &e) { return e.kind == EventKind::Fork && e.process.tgid == static_cast<uint32_t>(pid); });
  ASSERT_TRUE(fork_ev);
  expect_common(*fork_ev, pid, "cw-parent");
  uint32_t child = std::get<ForkDetails>(fork_ev->details).child_tgid;
  EXPECT_NE(child, 0u);
  EXPECT_GT(std::get<ForkDetails>(fork_ev->details).child_start_ns, fork_ev->process.start_ns);

  auto exec_ev = harness->wait_for([child](const Event &e) { return e.kind == EventKind::Exec && e.process.tgid == child; });
  ASSERT_TRUE(exec_ev);
  auto &x = std::get<ExecDetails>(exec_ev->details);
  EXPECT_EQ(exec_ev->process.comm, "sh");
  EXPECT_EQ(exec_ev->process.ppid, static_cast<uint32_t>(pid));
  EXPECT_EQ(x.filename, "/bin/sh");
  EXPECT_EQ(exec_ev->process.exe, fs::canonical("/bin/sh").string());
  EXPECT_EQ(x.args, (std::vector<std::string>{"sh", "-c", "exit 7"}));
  EXPECT_FALSE(x.args_truncated);
  EXPECT_EQ(x.euid, 0u);
  EXPECT_EQ(x.parent_start_ns, fork_ev->process.start_ns);
  EXPECT_EQ(exec_ev->process.start_ns, std::get<ForkDetails>(fork_ev->details).child_start_ns);

  auto child_exit = harness->wait_for([child](const Event &e) { return e.kind == EventKind::Exit && e.process.tgid == child; });
  ASSERT_TRUE(child_exit);
  EXPECT_EQ(std::get<ExitDetails>(child_exit->details).exit_code(), 7);
  auto parent_exit = harness->wait_for(
      [pid](const Event &e) { return e.kind == EventKind::Exit && e.process.tgid == static_cast<uint32_t>(pid); });
  ASSERT_TRUE(parent_exit);
  EXPECT_EQ(std::get<ExitDetails>(parent_exit->details).exit_code(), 3);

  // Killed by a signal; and a multi-threaded process exits once.
  pid_t killed = fork();
  if (killed == 0) {
    std::thread t([] { pause(); });
    t.detach();
    pause();
    _exit(0);
  }
  std::this_thread::sleep_for(100ms);
  kill(killed, SIGKILL);
  waitpid(killed, nullptr, 0);
  auto kill_ev = harness->wait_for(
      [killed](const Event &e) { return e.kind == EventKind::Exit && e.process.tgid == static_cast<uint32_t>(killed); });
  ASSERT_TRUE(kill_ev);
  EXPECT_EQ(std::get<ExitDetails>(kill_ev->details).signal(), SIGKILL);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(harness->all_of(killed, EventKind::Exit).size(), 1u);
}

TEST_F(SensorTest, ProcessThatExistedBeforeTheSensorStarted) {
  // This process started before a second sensor loads; its open is still attributed to it.
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  std::string path = (root / "home/.aws/credentials").string();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, "cw-early");
    char c;
    if (read(go[0], &c, 1) != 1) _exit(2);
    _exit(open(path.c_str(), O_RDONLY) >= 0 ? 0 : 1);
  }
  std::this_thread::sleep_for(50ms);
  Harness late(SensorOptions{});
  auto &maps = late.sensor->secret_maps();
  maps.load_name_filter(catalog->kernel_filter());
  maps.add_secret_inode(secret_dev, secret_ino, aws_id);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  waitpid(pid, nullptr, 0);
  auto ev = late.wait_for([pid](const Event &e) {
    return e.kind == EventKind::FileOpen && e.process.tgid == static_cast<uint32_t>(pid);
  });
  ASSERT_TRUE(ev);
  expect_common(*ev, pid, "cw-early");
  close(go[0]);
  close(go[1]);
}

TEST_F(SensorTest, RingBufferLossesAreCountedPerProgram) {
  SensorOptions small;
  small.ring_buffer_bytes = 4096 * 2;  // room for a handful of records
  small.process = false;
  small.net = false;
  BootClock clock;
  RecordDecoder decoder(clock);
  uint64_t delivered = 0;
  small.agent_tgid = static_cast<uint32_t>(getpid());
  BpfSensor sensor(small, [&](std::span<const uint8_t>) { ++delivered; });
  sensor.secret_maps().load_name_filter(catalog->kernel_filter());
  sensor.secret_maps().add_secret_inode(secret_dev, secret_ino, aws_id);
  std::string path = (root / "home/.aws/credentials").string();
  const int opens = 2000;
  run_child("cw-storm", [&] {
    for (int i = 0; i < opens; ++i) close(open(path.c_str(), O_RDONLY));
    return 0;
  });
  while (sensor.poll(100) > 0) {
  }
  uint64_t emitted = 0, lost = 0;
  for (const auto &c : sensor.counters())
    if (c.program == "file_open") {
      emitted = c.emitted;
      lost = c.lost;
    }
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(emitted + lost, static_cast<uint64_t>(opens));
  EXPECT_EQ(delivered, emitted);
}

}  // namespace
}  // namespace credwatch
