// `credwatch doctor` against the real kernel: every probe program loads (or is refused) as ENVIRONMENT.md says,
// the pseudo-filesystems are mounted when missing, and the binary's JSON and exit code agree.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "doctor/doctor.h"
#include "sensor/kernel_features.h"

namespace credwatch {
namespace {

class DoctorOnThisKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: the doctor loads BPF programs and mounts filesystems";
    db_dir_ = std::filesystem::temp_directory_path() / ("cw-doctor-bpf-" + std::to_string(getpid()));
  }
  void TearDown() override { std::filesystem::remove_all(db_dir_); }

  DoctorOptions options() const {
    DoctorOptions o;
    o.db_path = (db_dir_ / "credwatch.db").string();
    o.kubelet_root = "/nonexistent/kubelet";
    return o;
  }

  static const CheckResult &check(const DoctorReport &r, const std::string &id) {
    const CheckResult *c = r.find(id);
    if (!c) throw std::runtime_error("no check " + id);
    return *c;
  }

  std::filesystem::path db_dir_;
};

TEST_F(DoctorOnThisKernel, ReportsWhatEnvironmentMdLists) {
  DoctorReport r = run_doctor(options());
  for (const auto &c : r.checks)
    std::printf("%-32s %-9s %s%s%s\n", c.id.c_str(), std::string(to_string(c.status)).c_str(), c.detail.c_str(),
                c.instead.empty() ? "" : " | instead: ", c.instead.c_str());

  // Absent or refused here: kprobes (CONFIG_KPROBES off), fentry and LSM (EPERM at load). All have fallbacks.
  const auto &kprobes = check(r, "bpf.kprobes");
  EXPECT_EQ(kprobes.status, CheckStatus::Fallback);
  EXPECT_NE(kprobes.detail.find("attach: "), std::string::npos) << kprobes.detail;
  EXPECT_NE(kprobes.detail.find("no kprobe support in this kernel"), std::string::npos) << kprobes.detail;
  for (const char *id : {"bpf.fentry", "bpf.lsm"}) {
    const auto &c = check(r, id);
    EXPECT_EQ(c.status, CheckStatus::Fallback) << id;
    EXPECT_EQ(c.detail.substr(0, 11), "load: EPERM") << id << ": " << c.detail;
    EXPECT_FALSE(c.instead.empty()) << id;
  }

  // Everything else works.
  for (const char *id :
       {"bpf.syscall", "bpf.syscall_tracepoints", "bpf.btf_tracepoints", "bpf.raw_tracepoints", "bpf.uprobes",
        "bpf.cgroup_connect4", "bpf.cgroup_connect6", "bpf.ring_buffer", "bpf.send_signal", "bpf.loop", "kernel.btf",
        "fs.tracefs", "fs.cgroup2", "security.lsm", "security.lockdown", "privileges.cap_bpf", "privileges.cap_perfmon",
        "privileges.cap_sys_admin", "node.database"}) {
    const auto &c = check(r, id);
    EXPECT_EQ(c.status, CheckStatus::Ok) << id << ": " << c.detail;
  }
  for (const char *id : {"bpf.syscall_tracepoints", "bpf.btf_tracepoints", "bpf.raw_tracepoints"})
    EXPECT_EQ(check(r, id).detail, "loaded, attached, detached") << id;
  EXPECT_NE(check(r, "bpf.uprobes").detail.find("attached to getenv in /"), std::string::npos);
  EXPECT_NE(check(r, "bpf.cgroup_connect4").detail.find("attached to a temporary cgroup"), std::string::npos);
  EXPECT_EQ(check(r, "security.lockdown").detail.substr(0, 9), "integrity");
  EXPECT_NE(check(r, "security.lsm").detail.find("bpf"), std::string::npos);  // active, yet trampolines are refused
  EXPECT_EQ(check(r, "node.kubelet").status, CheckStatus::Missing);
  EXPECT_TRUE(r.agent_can_run());

  // The temporary cgroup is gone again.
  for (const auto &e : std::filesystem::directory_iterator("/sys/fs/cgroup/unified"))
    EXPECT_EQ(e.path().filename().string().find("credwatch-doctor-"), std::string::npos) << e.path();
}

// In a private mount namespace without tracefs and securityfs (as this machine boots), the doctor mounts both,
// says so, and the checks that need them still pass. The host's mounts are not touched.
TEST_F(DoctorOnThisKernel, MountsTracefsAndSecurityfsWhenMissing) {
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(pipe(pipe_fds.data()), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    int rc = 0;
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) rc = 2;
    for (const char *m : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing", "/sys/kernel/security"})
      while (umount2(m, MNT_DETACH) == 0) {
      }
    std::string out;
    if (rc == 0) {
      DoctorReport r = run_doctor(options());
      nlohmann::json j;
      for (const char *id : {"fs.tracefs", "fs.securityfs", "security.lockdown", "bpf.syscall_tracepoints"}) {
        const auto &c = check(r, id);
        j[id] = {{"status", std::string(to_string(c.status))}, {"detail", c.detail}};
      }
      out = j.dump();
    }
    if (write(pipe_fds[1], out.data(), out.size()) < 0) rc = 3;
    _exit(rc);
  }
  close(pipe_fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "child could not set up a private mount namespace";
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["fs.tracefs"]["status"], "ok");
  EXPECT_EQ(j["fs.tracefs"]["detail"], "at /sys/kernel/tracing (was not mounted: mounted it, as the agent does)");
  EXPECT_EQ(j["fs.securityfs"]["status"], "ok");
  EXPECT_EQ(j["fs.securityfs"]["detail"], "at /sys/kernel/security (was not mounted: mounted it)");
  EXPECT_EQ(j["security.lockdown"]["status"], "ok");
  EXPECT_EQ(j["bpf.syscall_tracepoints"]["status"], "ok") << j.dump();
}

// The binary: --format json is one document with the same checks, and the exit code says the agent can run.
TEST_F(DoctorOnThisKernel, BinaryPrintsJsonAndExitsZero) {
  std::string cmd = std::string(CREDWATCH_BINARY) + " doctor --format json --db " + (db_dir_ / "x.db").string() +
                    " --kubelet-root /nonexistent";
  FILE *p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << text;
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["agent_can_run"], true);
  EXPECT_EQ(j["blocking"], nlohmann::json::array());
  EXPECT_EQ(j["checks"].size(), 32u);
  // Whether the kernel has bpf_rdonly_cast (6.2+): the cheaper build of the files programs, or the fallback.
  bool rdonly_cast_seen = false;
  for (const auto &c : j["checks"])
    if (c.value("id", "") == "bpf.rdonly_cast") {
      rdonly_cast_seen = true;
      EXPECT_EQ(c.value("status", ""), KernelFeatures::btf_has_func("bpf_rdonly_cast") ? "ok" : "fallback")
          << c.dump();
    }
  EXPECT_TRUE(rdonly_cast_seen);
  std::map<std::string, int> by_status;
  for (const auto &c : j["checks"]) {
    for (const char *key : {"id", "area", "name", "status", "detail", "instead", "blocking"})
      EXPECT_TRUE(c.contains(key)) << c.dump();
    ++by_status[c.value("status", "")];
  }
  // The summary counts the checks. Only what may be absent without harm falls back (here: kprobes, fentry and LSM
  // programs, which ENVIRONMENT.md measured as refused, and bpffs on a machine that has not mounted it), each
  // saying what the agent does instead, and none of them blocks.
  for (const char *status : {"ok", "fallback", "missing", "error"})
    EXPECT_EQ(j["summary"][status], by_status[status]) << status;
  const std::set<std::string> may_fall_back = {"fs.bpffs", "bpf.kprobes", "bpf.fentry", "bpf.lsm",
                                               "bpf.rdonly_cast"};
  for (const auto &c : j["checks"]) {
    if (c.value("status", "") != "fallback") continue;
    EXPECT_TRUE(may_fall_back.count(c.value("id", ""))) << c.dump();
    EXPECT_FALSE(c.value("instead", "").empty()) << c.dump();
    EXPECT_EQ(c.value("blocking", true), false) << c.dump();
  }

  // Not root (nobody): nothing loads, and the exit code says so.
  std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all " +
                          std::string(CREDWATCH_BINARY) + " doctor --format json --db /nonexistent-dir/x.db";
  FILE *q = popen(as_nobody.c_str(), "r");
  ASSERT_NE(q, nullptr);
  text.clear();
  while ((n = fread(buf, 1, sizeof(buf), q)) > 0) text.append(buf, n);
  status = pclose(q);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1) << text;
  auto k = nlohmann::json::parse(text);
  EXPECT_EQ(k["agent_can_run"], false);
  auto blocking = k["blocking"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(blocking.begin(), blocking.end(), "privileges.cap_bpf"), blocking.end()) << k["blocking"];
  EXPECT_NE(std::find(blocking.begin(), blocking.end(), "bpf.syscall_tracepoints"), blocking.end()) << k["blocking"];
}

}  // namespace
}  // namespace credwatch
