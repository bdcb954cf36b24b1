// Doctor logic without a kernel: capability and lockdown parsing, verdicts per finding, rendering of fake reports.
#include "doctor/doctor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/table.h"
#include "doctor/doctor_report.h"
#include "doctor/host_facts.h"
#include "doctor/program_probes.h"

namespace credwatch {
namespace {

const CheckResult &by_id(const std::vector<CheckResult> &checks, const std::string &id) {
  for (const auto &c : checks)
    if (c.id == id) return c;
  throw std::runtime_error("no check " + id);
}

TEST(HostFacts, ParsesCapEff) {
  std::string status =
      "Name:\tcredwatch\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\n"
      "CapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n";
  EXPECT_EQ(parse_cap_eff(status), 0x000001fffeffffffull);
  EXPECT_EQ(parse_cap_eff("CapEff:\t00000000a80425fb\n"), 0xa80425fbull);
  EXPECT_EQ(parse_cap_eff("Name: x\n"), std::nullopt);
  EXPECT_EQ(parse_cap_eff("CapEff:\tzz\n"), std::nullopt);
  EXPECT_EQ(parse_cap_eff("CapEff:\t\n"), std::nullopt);
}

TEST(HostFacts, DecodesCapabilities) {
  EXPECT_EQ(capability_name(kCapBpf), "CAP_BPF");
  EXPECT_EQ(capability_name(kCapPerfmon), "CAP_PERFMON");
  EXPECT_EQ(capability_name(kCapSysAdmin), "CAP_SYS_ADMIN");
  EXPECT_EQ(capability_name(kCapSysResource), "CAP_SYS_RESOURCE");
  EXPECT_EQ(capability_name(kCapSysPtrace), "CAP_SYS_PTRACE");
  EXPECT_EQ(capability_name(kCapDacReadSearch), "CAP_DAC_READ_SEARCH");
  EXPECT_EQ(capability_name(kCapNetAdmin), "CAP_NET_ADMIN");
  EXPECT_EQ(capability_name(45), "CAP_45");
  // Docker's default set: chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service net_raw
  // sys_chroot mknod audit_write setfcap.
  EXPECT_EQ(capability_names(0xa80425fb),
            (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                                      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
                                      "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP"}));
  auto all_but_resource = capability_names(0x000001fffeffffffull);
  EXPECT_EQ(all_but_resource.size(), 40u);
  EXPECT_EQ(std::count(all_but_resource.begin(), all_but_resource.end(), "CAP_SYS_RESOURCE"), 0);
  EXPECT_EQ(all_but_resource.back(), "CAP_CHECKPOINT_RESTORE");
}

TEST(HostFacts, ParsesLockdownLsmAndKernelVersion) {
  EXPECT_EQ(parse_lockdown("none [integrity] confidentiality\n"), "integrity");
  EXPECT_EQ(parse_lockdown("[none] integrity confidentiality\n"), "none");
  EXPECT_EQ(parse_lockdown("none integrity [confidentiality]"), "confidentiality");
  EXPECT_EQ(parse_lockdown("none integrity confidentiality\n"), std::nullopt);
  EXPECT_EQ(parse_lockdown("[]"), std::nullopt);
  EXPECT_EQ(parse_lockdown(""), std::nullopt);
  EXPECT_EQ(parse_lsm_list("lockdown,capability,landlock,bpf\n"),
            (std::vector<std::string>{"lockdown", "capability", "landlock", "bpf"}));
  EXPECT_TRUE(parse_lsm_list("\n").empty());
  auto v = parse_kernel_version("6.18.44-fc-v782");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 6);
  EXPECT_EQ(v->minor, 18);
  EXPECT_TRUE(v->at_least(5, 17));
  EXPECT_FALSE((KernelVersion{5, 4}.at_least(5, 8)));
  EXPECT_TRUE((KernelVersion{5, 11}.at_least(5, 11)));
  auto rhel = parse_kernel_version("4.18.0-553.el8.x86_64");
  ASSERT_TRUE(rhel);
  EXPECT_EQ(rhel->major, 4);
  EXPECT_EQ(rhel->minor, 18);
  EXPECT_FALSE(parse_kernel_version("linux"));
  EXPECT_FALSE(parse_kernel_version("6"));
}

TEST(Privileges, FullRootOnANewKernelIsAllOk) {
  auto checks = privilege_checks(0, 0x000001ffffffffffull, {6, 18});
  ASSERT_EQ(checks.size(), 8u);
  for (const auto &c : checks) {
    EXPECT_EQ(c.status, CheckStatus::Ok) << c.id;
    EXPECT_FALSE(c.blocking) << c.id;
  }
  EXPECT_EQ(by_id(checks, "privileges.user").detail, "euid 0 (root)");
  EXPECT_EQ(by_id(checks, "privileges.cap_bpf").detail, "held (loading programs, creating maps)");
}

TEST(Privileges, WhatEachMissingCapabilityCosts) {
  // This machine: everything but CAP_SYS_RESOURCE, which 5.11+ does not need.
  auto here = privilege_checks(0, 0x000001fffeffffffull, {6, 18});
  EXPECT_EQ(by_id(here, "privileges.cap_sys_resource").status, CheckStatus::Ok);
  EXPECT_NE(by_id(here, "privileges.cap_sys_resource").detail.find("not held; not needed"), std::string::npos);
  auto old = privilege_checks(0, 0x000001fffeffffffull, {5, 10});
  EXPECT_EQ(by_id(old, "privileges.cap_sys_resource").status, CheckStatus::Missing);

  // A container with Docker's default capabilities: no BPF at all.
  auto docker = privilege_checks(0, 0xa80425fb, {6, 1});
  EXPECT_TRUE(by_id(docker, "privileges.cap_bpf").blocking);
  EXPECT_TRUE(by_id(docker, "privileges.cap_perfmon").blocking);
  EXPECT_EQ(by_id(docker, "privileges.cap_bpf").status, CheckStatus::Error);
  EXPECT_EQ(by_id(docker, "privileges.cap_sys_admin").status, CheckStatus::Missing);
  EXPECT_FALSE(by_id(docker, "privileges.cap_sys_admin").blocking);  // 5.8+: CAP_BPF + CAP_PERFMON would do
  EXPECT_EQ(by_id(docker, "privileges.cap_sys_ptrace").status, CheckStatus::Missing);
  EXPECT_EQ(by_id(docker, "privileges.cap_dac_read_search").status, CheckStatus::Missing);
  EXPECT_EQ(by_id(docker, "privileges.cap_net_admin").status, CheckStatus::Missing);

  // CAP_SYS_ADMIN alone covers CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN.
  auto admin_only = privilege_checks(0, uint64_t{1} << kCapSysAdmin, {6, 1});
  EXPECT_EQ(by_id(admin_only, "privileges.cap_bpf").status, CheckStatus::Ok);
  EXPECT_EQ(by_id(admin_only, "privileges.cap_bpf").detail, "not held; CAP_SYS_ADMIN covers it");
  EXPECT_EQ(by_id(admin_only, "privileges.cap_perfmon").status, CheckStatus::Ok);
  EXPECT_EQ(by_id(admin_only, "privileges.cap_net_admin").status, CheckStatus::Ok);

  // Before 5.8 there is no CAP_BPF: without CAP_SYS_ADMIN nothing loads.
  uint64_t split = (uint64_t{1} << kCapBpf) | (uint64_t{1} << kCapPerfmon);
  auto pre58 = privilege_checks(0, split, {5, 4});
  EXPECT_TRUE(by_id(pre58, "privileges.cap_sys_admin").blocking);
  auto post58 = privilege_checks(0, split, {5, 8});
  EXPECT_FALSE(by_id(post58, "privileges.cap_sys_admin").blocking);

  auto unreadable = privilege_checks(1000, std::nullopt, {6, 1});
  ASSERT_EQ(unreadable.size(), 2u);
  EXPECT_EQ(unreadable[0].detail, "euid 1000");
  EXPECT_EQ(unreadable[1].status, CheckStatus::Error);
}

TEST(Security, LockdownAndLsmVerdicts) {
  EXPECT_EQ(lockdown_check("none", "").status, CheckStatus::Ok);
  auto integrity = lockdown_check("integrity", "");
  EXPECT_EQ(integrity.status, CheckStatus::Ok);
  EXPECT_EQ(integrity.detail, "integrity (kernel reads allowed; bpf_probe_write_user refused, unused)");
  auto conf = lockdown_check("confidentiality", "");
  EXPECT_EQ(conf.status, CheckStatus::Error);
  EXPECT_TRUE(conf.blocking);
  auto unknown = lockdown_check(std::nullopt, "securityfs unavailable");
  EXPECT_EQ(unknown.status, CheckStatus::Missing);
  EXPECT_EQ(unknown.detail, "unknown: securityfs unavailable");
  EXPECT_FALSE(unknown.blocking);

  auto with_bpf = lsm_check(std::vector<std::string>{"lockdown", "capability", "bpf"}, "");
  EXPECT_EQ(with_bpf.status, CheckStatus::Ok);
  EXPECT_EQ(with_bpf.detail, "lockdown,capability,bpf");
  auto without = lsm_check(std::vector<std::string>{"capability", "apparmor"}, "");
  EXPECT_EQ(without.status, CheckStatus::Fallback);
  EXPECT_NE(without.instead, "");
}

TEST(ProgramChecks, OutcomesMapToStatusDetailAndFallback) {
  ProbeOutcome eperm;
  eperm.failed_step = "load";
  eperm.error = EPERM;
  auto fentry = program_check(ProgramProbe::Fentry, eperm);
  EXPECT_EQ(fentry.id, "bpf.fentry");
  EXPECT_EQ(fentry.status, CheckStatus::Fallback);
  EXPECT_EQ(fentry.detail, "load: EPERM (Operation not permitted)");
  EXPECT_EQ(fentry.instead, "tracepoints instead");
  EXPECT_FALSE(fentry.blocking);
  EXPECT_EQ(program_check(ProgramProbe::Lsm, eperm).status, CheckStatus::Fallback);

  ProbeOutcome no_tracefs;
  no_tracefs.loaded = true;
  no_tracefs.attach_tried = true;
  no_tracefs.failed_step = "attach";
  no_tracefs.error = ENOENT;
  no_tracefs.detail = "tracefs is not mounted";
  auto tp = program_check(ProgramProbe::SyscallTracepoint, no_tracefs);
  EXPECT_EQ(tp.status, CheckStatus::Error);
  EXPECT_TRUE(tp.blocking);
  EXPECT_EQ(tp.detail, "attach: ENOENT (No such file or directory); tracefs is not mounted");

  EXPECT_TRUE(program_check(ProgramProbe::RingBuffer, eperm).blocking);
  EXPECT_TRUE(program_check(ProgramProbe::Loop, eperm).blocking);
  EXPECT_TRUE(program_check(ProgramProbe::BpfSyscall, eperm).blocking);
  EXPECT_EQ(program_check(ProgramProbe::BtfTracepoint, eperm).status, CheckStatus::Fallback);
  EXPECT_EQ(program_check(ProgramProbe::Uprobe, eperm).status, CheckStatus::Missing);
  EXPECT_EQ(program_check(ProgramProbe::SendSignal, eperm).status, CheckStatus::Missing);
  EXPECT_EQ(program_check(ProgramProbe::CgroupConnect6, eperm).status, CheckStatus::Missing);

  ProbeOutcome ok;
  ok.loaded = ok.attach_tried = ok.attached = true;
  auto attached = program_check(ProgramProbe::RawTracepoint, ok);
  EXPECT_EQ(attached.status, CheckStatus::Ok);
  EXPECT_EQ(attached.detail, "loaded, attached, detached");
  EXPECT_EQ(attached.instead, "");
  ProbeOutcome loaded;
  loaded.loaded = true;
  EXPECT_EQ(program_check(ProgramProbe::Loop, loaded).detail, "loaded");
  EXPECT_EQ(all_program_probes().size(), 13u);
}

DoctorReport fake_report() {
  DoctorReport r;
  r.credwatch_version = "0.1.0";
  r.kernel_release = "6.18.44";
  r.machine = "x86_64";
  r.checks = {
      {"kernel.btf", "kernel", "kernel BTF", CheckStatus::Ok, "present", "", false},
      {"bpf.kprobes", "bpf", "kprobes", CheckStatus::Fallback, "attach: ENOENT", "tracepoints instead", false},
      {"node.kubelet", "node", "kubelet directory", CheckStatus::Missing, "no pods dir", "no pod identity", false},
      {"fs.tracefs", "filesystems", "tracefs", CheckStatus::Error, "mount failed: EPERM", "files off", true}};
  return r;
}

TEST(Rendering, JsonHasTheDocumentedSchema) {
  auto j = doctor_json(fake_report());
  EXPECT_EQ(j["credwatch_version"], "0.1.0");
  EXPECT_EQ(j["kernel"]["release"], "6.18.44");
  EXPECT_EQ(j["kernel"]["machine"], "x86_64");
  EXPECT_EQ(j["agent_can_run"], false);
  EXPECT_EQ(j["blocking"], nlohmann::json::array({"fs.tracefs"}));
  EXPECT_EQ(j["summary"], (nlohmann::json{{"ok", 1}, {"fallback", 1}, {"missing", 1}, {"error", 1}}));
  ASSERT_EQ(j["checks"].size(), 4u);
  EXPECT_EQ(j["checks"][1], (nlohmann::json{{"id", "bpf.kprobes"},
                                            {"area", "bpf"},
                                            {"name", "kprobes"},
                                            {"status", "fallback"},
                                            {"detail", "attach: ENOENT"},
                                            {"instead", "tracepoints instead"},
                                            {"blocking", false}}));
  EXPECT_EQ(j["checks"][3]["blocking"], true);
  // Round-trips as text.
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);
}

std::vector<std::string> print_lines(const DoctorTable &t, bool colour) {
  TextTable table(t.headers);
  for (size_t i = 0; i < t.rows.size(); ++i) table.add_row(t.rows[i], t.colours[i]);
  char *buf = nullptr;
  size_t size = 0;
  FILE *out = open_memstream(&buf, &size);
  table.print(out, colour, 90);
  fclose(out);
  std::string text(buf, size);
  free(buf);
  std::vector<std::string> lines;
  size_t pos = 0, nl;
  while ((nl = text.find('\n', pos)) != std::string::npos) {
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

TEST(Rendering, TableIsAlignedWithStatusAndInsteadColumns) {
  auto report = fake_report();
  auto t = doctor_table(report);
  EXPECT_EQ(t.headers, (std::vector<std::string>{"CHECK", "STATUS", "DETAIL", "AGENT DOES INSTEAD"}));
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"kernel BTF", "ok", "present", "-"}));
  EXPECT_EQ(t.rows[3][1], "error (blocking)");

  auto lines = print_lines(t, false);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].find("\033"), std::string::npos);  // no colour when not asked
  // Every column starts at the same offset on every line.
  size_t status_col = lines[0].find("STATUS"), detail_col = lines[0].find("DETAIL"),
         instead_col = lines[0].find("AGENT DOES INSTEAD");
  EXPECT_EQ(status_col, std::string("kubelet directory").size() + 2);
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(status_col, t.rows[i - 1][1].size()), t.rows[i - 1][1]) << lines[i];
    EXPECT_EQ(lines[i].substr(detail_col, t.rows[i - 1][2].size()), t.rows[i - 1][2]) << lines[i];
    EXPECT_EQ(lines[i].substr(instead_col), t.rows[i - 1][3]) << lines[i];
  }

  auto coloured = print_lines(t, true);
  EXPECT_EQ(coloured[1].substr(0, 5), "\033[32m");    // ok: green
  EXPECT_EQ(coloured[2].substr(0, 5), "\033[33m");    // fallback: yellow
  EXPECT_EQ(coloured[3].substr(0, 5), "\033[35m");    // missing: magenta
  EXPECT_EQ(coloured[4].substr(0, 7), "\033[1;31m");  // error: bold red
}

TEST(Rendering, VerdictNamesTheBlockers) {
  auto report = fake_report();
  EXPECT_FALSE(report.agent_can_run());
  EXPECT_EQ(doctor_verdict(report),
            "The credwatch agent cannot run on this node (1 ok, 1 fallback, 1 missing, 1 error). Blocking: tracefs.");
  report.checks.pop_back();
  EXPECT_TRUE(report.agent_can_run());
  EXPECT_EQ(doctor_verdict(report), "The credwatch agent can run on this node (1 ok, 1 fallback, 1 missing, 0 error).");
  EXPECT_EQ(report.find("bpf.kprobes")->status, CheckStatus::Fallback);
  EXPECT_EQ(report.find("nope"), nullptr);
}

class NodeDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cw-doctor-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NodeDirs, DatabasePath) {
  auto fresh = database_check((dir_ / "credwatch.db").string());
  EXPECT_EQ(fresh.status, CheckStatus::Ok);
  EXPECT_EQ(fresh.detail, (dir_ / "credwatch.db").string() + ": will be created (directory exists, writable)");
  auto nested = database_check((dir_ / "a/b/credwatch.db").string());
  EXPECT_EQ(nested.status, CheckStatus::Ok);
  EXPECT_NE(nested.detail.find("will be created (with " + (dir_ / "a/b").string() + ")"), std::string::npos);

  std::ofstream(dir_ / "existing.db") << "x";
  auto existing = database_check((dir_ / "existing.db").string());
  EXPECT_EQ(existing.status, CheckStatus::Ok);
  EXPECT_NE(existing.detail.find("exists, writable (1 bytes)"), std::string::npos) << existing.detail;

  auto is_dir = database_check(dir_.string());
  EXPECT_EQ(is_dir.status, CheckStatus::Error);
  EXPECT_TRUE(is_dir.blocking);
  EXPECT_NE(is_dir.detail.find("not a regular file"), std::string::npos);

  auto under_file = database_check((dir_ / "existing.db/credwatch.db").string());
  EXPECT_EQ(under_file.status, CheckStatus::Error);
  EXPECT_NE(under_file.detail.find("is not a directory"), std::string::npos) << under_file.detail;
  EXPECT_TRUE(database_check("").blocking);
}

TEST_F(NodeDirs, KubeletDirectory) {
  auto missing = kubelet_check((dir_ / "kubelet").string());
  EXPECT_EQ(missing.status, CheckStatus::Missing);
  EXPECT_NE(missing.detail.find("No such file or directory"), std::string::npos);
  std::filesystem::create_directories(dir_ / "kubelet/pods/0b1c2d3e-pod-a");
  std::filesystem::create_directories(dir_ / "kubelet/pods/4f5a6b7c-pod-b");
  auto found = kubelet_check((dir_ / "kubelet").string());
  EXPECT_EQ(found.status, CheckStatus::Ok);
  EXPECT_EQ(found.detail, (dir_ / "kubelet/pods").string() + ": 2 pod directories");
}

}  // namespace
}  // namespace credwatch
