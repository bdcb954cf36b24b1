// The process table with a fake /proc: seeding, exec/fork/exit, pid reuse, ancestry, expiry, open paths.
#include "enrich/process_table.h"

#include <map>

#include <gtest/gtest.h>

namespace credwatch {
namespace {

class FakeProc : public ProcSource {
 public:
  std::map<uint32_t, ProcSnapshot> procs;
  std::map<uint32_t, std::string> cwds;
  std::map<std::pair<uint32_t, int>, std::string> fds;

  std::vector<uint32_t> pids() override {
    std::vector<uint32_t> out;
    for (auto &[pid, _] : procs) out.push_back(pid);
    return out;
  }
  std::optional<ProcSnapshot> read(uint32_t tgid) override {
    auto it = procs.find(tgid);
    if (it == procs.end()) return std::nullopt;
    return it->second;
  }
  std::string cwd(uint32_t tgid) override { return cwds.count(tgid) ? cwds[tgid] : ""; }
  std::string fd_path(uint32_t tgid, int fd) override {
    auto it = fds.find({tgid, fd});
    return it == fds.end() ? "" : it->second;
  }
  SecretBytes environ(uint32_t) override { return SecretBytes(); }
  uint32_t tgid_of(uint32_t tid) override { return procs.count(tid) ? tid : 0; }
};

ProcSnapshot snap(uint32_t pid, uint32_t ppid, const std::string &comm, uint64_t start) {
  ProcSnapshot s;
  s.tgid = pid;
  s.ppid = ppid;
  s.comm = comm;
  s.exe = "/usr/bin/" + comm;
  s.args = {comm};
  s.start_ns = start;
  s.cgroup_id = 77;
  return s;
}

Event lifecycle(EventKind kind, uint32_t tgid, uint32_t ppid, uint64_t start, WallNs t) {
  Event ev;
  ev.kind = kind;
  ev.time_ns = t;
  ev.process.tgid = ev.process.pid = tgid;
  ev.process.ppid = ppid;
  ev.process.start_ns = start;
  ev.process.comm = "x";
  return ev;
}

TEST(ProcessTable, SeedsFromProcAndLinksParents) {
  FakeProc proc;
  proc.procs[1] = snap(1, 0, "systemd", 10'000'000);
  proc.procs[100] = snap(100, 1, "python3", 500'000'000);
  ProcessTable table(proc);
  auto seeded = table.seed(1000);
  EXPECT_EQ(seeded.size(), 2u);
  ASSERT_NE(table.find(100), nullptr);
  EXPECT_EQ(table.find(100)->parent_start_ns, 10'000'000u);
  EXPECT_TRUE(table.find(100)->from_proc);
}

TEST(ProcessTable, ForkExecExitBuildAChain) {
  FakeProc proc;
  proc.procs[100] = snap(100, 1, "python3", 500'000'000);
  ProcessTable table(proc);
  table.seed(0);

  // python3 (seeded, coarse start) forks sh, which execs curl.
  Event fork = lifecycle(EventKind::Fork, 100, 1, 503'000'000, 10);  // within the /proc tick slack
  fork.details = ForkDetails{200, 900'000'000};
  const ProcessInfo *child = table.apply(fork);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->tgid, 200u);
  EXPECT_EQ(child->ppid, 100u);
  EXPECT_EQ(child->exe, "/usr/bin/python3");  // inherited until exec
  EXPECT_EQ(fork.process.exe, "/usr/bin/python3");

  Event exec = lifecycle(EventKind::Exec, 200, 100, 900'000'000, 20);
  exec.process.exe = "/usr/bin/curl";
  exec.process.comm = "curl";
  exec.details = ExecDetails{"/usr/bin/curl", {"curl", "http://x"}, false, 0, 0, 0, 0, 500'000'000};
  const ProcessInfo *execd = table.apply(exec);
  ASSERT_NE(execd, nullptr);
  EXPECT_EQ(execd->exe, "/usr/bin/curl");
  EXPECT_EQ(execd->args, (std::vector<std::string>{"curl", "http://x"}));

  auto chain = table.ancestry(200);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0]->comm, "curl");
  EXPECT_EQ(chain[1]->comm, "python3");

  // An event of the child gets its program filled in.
  Event open = lifecycle(EventKind::FileOpen, 200, 100, 900'000'000, 25);
  open.details = FileOpenDetails{};
  table.apply(open);
  EXPECT_EQ(open.process.exe, "/usr/bin/curl");

  Event exit = lifecycle(EventKind::Exit, 200, 100, 900'000'000, 30);
  exit.details = ExitDetails{7 << 8};
  const ProcessInfo *gone = table.apply(exit);
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(gone->exit_status, 7 << 8);
  EXPECT_EQ(exit.process.exe, "/usr/bin/curl");

  table.expire(30 + 29'000'000'000);  // within the grace period
  EXPECT_NE(table.find(200), nullptr);
  table.expire(30 + 31'000'000'000);
  EXPECT_EQ(table.find(200), nullptr);
  EXPECT_NE(table.find(100), nullptr);
}

TEST(ProcessTable, ShortLivedProcessUnknownToProcIsStillAttributedByExec) {
  FakeProc proc;  // /proc never sees pid 300
  ProcessTable table(proc);
  Event exec = lifecycle(EventKind::Exec, 300, 1, 42, 5);
  exec.process.exe = "/usr/bin/cat";
  exec.details = ExecDetails{"/usr/bin/cat", {"cat", "/etc/shadow"}, false, 0, 0, 0, 0, 0};
  table.apply(exec);
  Event open = lifecycle(EventKind::FileOpen, 300, 1, 42, 6);
  open.details = FileOpenDetails{};
  table.apply(open);
  EXPECT_EQ(open.process.exe, "/usr/bin/cat");
}

TEST(ProcessTable, ReusedPidIsNotConfusedWithTheOldProcess) {
  FakeProc proc;
  ProcessTable table(proc);
  Event exec = lifecycle(EventKind::Exec, 400, 1, 1000, 5);
  exec.process.exe = "/usr/bin/old";
  exec.details = ExecDetails{};
  table.apply(exec);
  // Same pid, new process (different start time) that /proc now shows.
  proc.procs[400] = snap(400, 1, "new", 9'000'000'000);
  Event open = lifecycle(EventKind::FileOpen, 400, 1, 9'000'000'000, 10);
  open.details = FileOpenDetails{};
  table.apply(open);
  EXPECT_EQ(open.process.exe, "/usr/bin/new");
}

TEST(OpenPath, AbsoluteRelativeDirfdAndGone) {
  FakeProc proc;
  proc.cwds[5] = "/home/alice";
  proc.fds[{5, 7}] = "/etc";
  FileOpenDetails d;
  d.requested = "/etc/./kubernetes/../shadow";
  EXPECT_EQ(absolute_open_path(proc, 5, d), "/etc/shadow");
  d.requested = ".aws/credentials";
  d.dirfd = -100;
  EXPECT_EQ(absolute_open_path(proc, 5, d), "/home/alice/.aws/credentials");
  d.requested = "shadow";
  d.dirfd = 7;
  EXPECT_EQ(absolute_open_path(proc, 5, d), "/etc/shadow");
  d.requested = "shadow";
  d.resolved = "/etc/shadow";
  EXPECT_EQ(absolute_open_path(proc, 99, d), "/etc/shadow");  // process gone: the kernel's path
  EXPECT_EQ(normalize_path("/../a//b/"), "/a/b");
  EXPECT_EQ(normalize_path("/"), "/");
}

}  // namespace
}  // namespace credwatch
