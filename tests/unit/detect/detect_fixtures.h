// Events, contexts and policies for the detection tests: one line per event, times from a fake clock.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "detect/detection_context.h"
#include "model/event.h"
#include "policy/policy.h"
#include "policy/policy_loader.h"

namespace credwatch::testing {

inline constexpr int64_t kSec = 1'000'000'000;
inline constexpr int64_t kMin = 60 * kSec;
inline constexpr int64_t kHour = 60 * kMin;

inline const std::string kApi = "spiffe://cluster.local/ns/payments/sa/api";
inline const std::string kWorker = "spiffe://cluster.local/ns/billing/sa/worker";
inline const std::string kBatch = "spiffe://cluster.local/ns/batch/sa/runner";

inline ProcessRef process(uint32_t tgid, uint32_t ppid = 1, uint64_t start_ns = 0) {
  ProcessRef p;
  p.pid = tgid;
  p.tgid = tgid;
  p.ppid = ppid;
  p.start_ns = start_ns ? start_ns : tgid * 1000ULL;
  p.comm = "proc" + std::to_string(tgid);
  p.exe = "/usr/bin/proc" + std::to_string(tgid);
  return p;
}

inline Event base_event(EventKind kind, const std::string &identity, WallNs time, uint32_t tgid, int64_t id) {
  Event e;
  e.id = id;
  e.kind = kind;
  e.time_ns = time;
  e.identity = identity;
  e.process = process(tgid);
  return e;
}

inline Event file_read(const std::string &identity, WallNs time, const std::string &path, const std::string &cred,
                       const std::string &kind = "aws_credentials", uint32_t tgid = 100, int64_t id = 0) {
  Event e = base_event(EventKind::FileOpen, identity, time, tgid, id);
  e.credential = cred;
  FileOpenDetails d;
  d.requested = d.path = path;
  d.result = 3;
  d.flags = O_RDONLY;
  d.credential_kind = kind;
  e.details = d;
  return e;
}

inline Event env_read(const std::string &identity, WallNs time, const std::string &name, const std::string &cred,
                      uint32_t tgid = 100, int64_t id = 0) {
  Event e = base_event(EventKind::EnvRead, identity, time, tgid, id);
  e.credential = cred;
  e.details = EnvReadDetails{name, "getenv"};
  return e;
}

inline Event connect_to(const std::string &identity, WallNs time, const std::string &address, uint16_t port,
                        uint32_t tgid = 100, int64_t id = 0) {
  Event e = base_event(EventKind::Connect, identity, time, tgid, id);
  ConnectDetails d;
  d.family = address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (!address.empty() && address[0] == '/') d.family = AF_UNIX;
  d.sock_type = SOCK_STREAM;
  d.address = address;
  d.port = port;
  e.details = d;
  return e;
}

inline Event exec_of(const std::string &identity, WallNs time, const std::string &exe, uint32_t tgid = 100) {
  Event e = base_event(EventKind::Exec, identity, time, tgid, 0);
  e.process.exe = exe;
  ExecDetails d;
  d.filename = exe;
  e.details = d;
  return e;
}

inline Event proc_snoop(const std::string &identity, WallNs time, uint32_t tgid, uint32_t target_tgid,
                        const std::string &target_identity, const std::string &method = "environ") {
  Event e = base_event(EventKind::ProcSnoop, identity, time, tgid, 0);
  ProcSnoopDetails d;
  d.target_pid = d.target_tgid = target_tgid;
  d.target_comm = "victim";
  d.target_identity = target_identity;
  d.method = method;
  e.details = d;
  return e;
}

inline Event privilege(const std::string &identity, WallNs time, std::optional<uint32_t> previous_euid, uint32_t euid,
                       std::optional<uint64_t> previous_caps = std::nullopt, uint64_t caps = 0, int64_t result = 0) {
  Event e = base_event(EventKind::Privilege, identity, time, 100, 0);
  PrivilegeDetails d;
  d.syscall = previous_caps ? "capset" : "setuid";
  d.result = result;
  d.euid = euid;
  d.cap_effective = caps;
  d.previous_euid = previous_euid;
  d.previous_cap_effective = previous_caps;
  e.details = d;
  return e;
}

inline DetectionContext context_for(const std::string &ns = "", std::vector<ProcessChainEntry> chain = {}) {
  DetectionContext c;
  c.identity_kind = ns.empty() ? "host" : "kubernetes";
  if (!ns.empty())
    c.identity_attributes = std::make_shared<const IdentityAttributes>(IdentityAttributes{{"k8s.ns", ns}});
  c.process_chain = std::move(chain);
  return c;
}

inline ProcessChainEntry chain_entry(uint32_t pid, const std::string &exe) {
  return {pid, pid * 1000ULL, exe.substr(exe.rfind('/') + 1), exe, {exe}};
}

inline PolicySet load_policies_text(const std::string &yaml) {
  PolicyLoadResult r = parse_policies(yaml, "test.yaml");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
  return r.policies ? *r.policies : PolicySet();
}

}  // namespace credwatch::testing

#include "common/clock.h"
#include "detect/detection_engine.h"

namespace credwatch::testing {

// The payments API may use its service-account token and STRIPE_* variables (not STRIPE_ADMIN_*), and connect to
// 10.0.0.0/8 on 443 (not the Consul agent's 8500 in 10.0.0.0/16).
inline const std::string kPaymentsPolicy = R"(apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: payments-api}
spec:
  selector:
    namespaces: ["payments"]
  credentials:
    allow:
      - kind: kubernetes_sa_token
      - env: "STRIPE_*"
    deny:
      - env: "STRIPE_ADMIN_*"
    action: revoke
  egress:
    allow:
      - cidr: 10.0.0.0/8
        ports: ["443"]
    deny:
      - cidr: 10.0.0.0/16
        ports: ["8500"]
    action: block
)";

// An engine on a fake clock, and the updates of one rule among what an event produced.
class EngineTest : public ::testing::Test {
 protected:
  void make_engine(DetectionOptions options = {}, PolicySet policies = {}) {
    options.node = "node-1";
    ASSERT_EQ(validate(options), "");
    engine = std::make_unique<DetectionEngine>(clock, std::move(options), std::move(policies));
  }
  std::vector<AlertUpdate> process(const Event &e, const DetectionContext &c = {}) { return engine->process(e, c); }
  static std::vector<AlertUpdate> of_rule(const std::vector<AlertUpdate> &updates, std::string_view rule) {
    std::vector<AlertUpdate> out;
    for (const auto &u : updates)
      if (u.alert.rule == rule) out.push_back(u);
    return out;
  }
  std::vector<AlertUpdate> process_rule(std::string_view rule, const Event &e, const DetectionContext &c = {}) {
    return of_rule(process(e, c), rule);
  }

  FakeClock clock;
  std::unique_ptr<DetectionEngine> engine;
};

}  // namespace credwatch::testing
