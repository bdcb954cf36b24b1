// Identity formatting for every kind, the resolver's cache (hits, forget, sweep, id reuse), and the resolver
// end to end over fake kubelet and runtime directories.
#include "identity/workload_identity.h"

#include <gtest/gtest.h>

#include <map>

#include "identity_fixtures.h"

namespace credwatch {
namespace {

using testing::kContainerId;
using testing::kOtherContainerId;
using testing::kOtherPodUid;
using testing::kPodUid;
using testing::kPodUidEscaped;
using testing::TempDir;

// Cgroup ids -> paths; still_at follows the same map, so tests delete and recreate cgroups by editing it.
class FakeCgroups : public CgroupPathLookup {
 public:
  std::map<uint64_t, std::string> paths;
  int path_calls = 0, still_calls = 0;
  std::optional<std::string> path_of(uint64_t id) override {
    ++path_calls;
    auto it = paths.find(id);
    if (it == paths.end()) return std::nullopt;
    return it->second;
  }
  bool still_at(uint64_t id, const std::string &path) override {
    ++still_calls;
    auto it = paths.find(id);
    return it != paths.end() && it->second == path;
  }
};

class FakePods : public PodMetadataSource {
 public:
  std::map<std::string, PodMetadata> pods;
  int calls = 0;
  PodMetadata pod(std::string_view uid) override {
    ++calls;
    auto it = pods.find(std::string(uid));
    if (it != pods.end()) return it->second;
    PodMetadata md;
    md.uid = uid;
    return md;
  }
};

class FakeContainerLogs : public ContainerLogIndex {
 public:
  FakeContainerLogs() : ContainerLogIndex("/nonexistent") {}
  std::map<std::string, ContainerLogName> logs;
  std::optional<ContainerLogName> find(std::string_view id) const override {
    auto it = logs.find(std::string(id));
    if (it == logs.end()) return std::nullopt;
    return it->second;
  }
};

class FakeContainerNames : public ContainerNameSource {
 public:
  std::map<std::string, ContainerName> names;
  int calls = 0;
  std::optional<ContainerName> name(std::string_view id, ContainerRuntime) override {
    ++calls;
    auto it = names.find(std::string(id));
    if (it == names.end()) return std::nullopt;
    return it->second;
  }
};

PodMetadata token_metadata(const std::string &uid, const std::string &ns, const std::string &pod,
                           const std::string &sa) {
  PodMetadata md;
  md.uid = uid;
  md.namespace_name = ns;
  md.pod_name = pod;
  md.service_account = sa;
  md.source = std::string(kSourceSaToken);
  return md;
}

std::string pod_cgroup(const std::string &uid_escaped, const std::string &cid) {
  return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_escaped + ".slice/cri-containerd-" +
         cid + ".scope";
}

class ResolverTest : public ::testing::Test {
 protected:
  ResolverTest() {
    config.node_name = "worker-1";
    pods.pods[kPodUid] = token_metadata(kPodUid, "payments", "api-7d9f8-x2k4q", "api");
    logs.logs[kContainerId] = {"api-7d9f8-x2k4q", "payments", "server", kContainerId};
    cgroups.paths[100] = pod_cgroup(kPodUidEscaped, kContainerId);
    cgroups.paths[200] = "/machine.slice/libpod-" + kOtherContainerId + ".scope";
    cgroups.paths[300] = "/system.slice/nginx.service";
    cgroups.paths[400] = "/user.slice/user-1000.slice/session-3.scope";
  }
  IdentityResolver resolver() { return IdentityResolver(config, cgroups, pods, logs, names); }

  IdentityConfig config;
  FakeCgroups cgroups;
  FakePods pods;
  FakeContainerLogs logs;
  FakeContainerNames names;
};

TEST_F(ResolverTest, KubernetesIdentity) {
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(100, 65532, "/app/server");
  EXPECT_EQ(id.id, "spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(id.kind, "kubernetes");
  std::map<std::string, std::string> want{
      {"k8s.ns", "payments"},
      {"k8s.pod", "api-7d9f8-x2k4q"},
      {"k8s.pod_uid", kPodUid},
      {"k8s.sa", "api"},
      {"k8s.qos", "burstable"},
      {"container.id", kContainerId},
      {"container.name", "server"},
      {"container.runtime", "containerd"},
      {"cgroup.path", pod_cgroup(kPodUidEscaped, kContainerId)},
      {"identity.source", "sa-token"},
  };
  EXPECT_EQ(id.attributes.to_map(), want);
}

TEST_F(ResolverTest, TwoPodsOfOneServiceAccountShareTheId) {
  pods.pods[kOtherPodUid] = token_metadata(kOtherPodUid, "payments", "api-7d9f8-zzzzz", "api");
  cgroups.paths[101] = "/kubepods/burstable/pod" + kOtherPodUid + "/" + kOtherContainerId;
  auto r = resolver();
  WorkloadIdentity a = *r.resolve(100, 0, "/app/server");
  WorkloadIdentity b = *r.resolve(101, 0, "/app/server");
  EXPECT_EQ(a.id, b.id);
  EXPECT_NE(a.attributes.at("k8s.pod"), b.attributes.at("k8s.pod"));
  EXPECT_NE(a.attributes.at("k8s.pod_uid"), b.attributes.at("k8s.pod_uid"));
  EXPECT_EQ(b.attributes.count("container.runtime"), 0u);  // a bare cgroupfs id does not name its runtime
}

TEST_F(ResolverTest, PodWithoutTokenTakesNamesFromTheContainerLog) {
  PodMetadata md;
  md.uid = kPodUid;
  md.pod_name = "rewritten";
  md.source = std::string(kSourceEtcHosts);
  pods.pods[kPodUid] = md;
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(100, 0, "/app/server");
  EXPECT_EQ(id.id, "spiffe://cluster.local/ns/payments/sa/_unknown");
  EXPECT_EQ(id.attributes.at("identity.source"), "container-log");
  EXPECT_EQ(id.attributes.at("k8s.pod"), "api-7d9f8-x2k4q");
  EXPECT_EQ(id.attributes.count("k8s.sa"), 0u);
}

TEST_F(ResolverTest, PodKnownOnlyByUidSaysSo) {
  pods.pods.clear();
  logs.logs.clear();
  PodMetadata md;
  md.uid = kPodUid;
  md.error = "service-account token x: JWT payload is not JSON";
  pods.pods[kPodUid] = md;
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(100, 0, "/app/server");
  EXPECT_EQ(id.id, "spiffe://cluster.local/ns/_unknown/sa/_unknown");
  EXPECT_EQ(id.attributes.at("identity.source"), "unknown");
  EXPECT_EQ(id.attributes.at("identity.error"), "service-account token x: JWT payload is not JSON");
  EXPECT_EQ(id.attributes.at("k8s.pod_uid"), kPodUid);
  EXPECT_EQ(id.attributes.count("k8s.ns"), 0u);
}

TEST_F(ResolverTest, ContainerIdentityByName) {
  names.names[kOtherContainerId] = {"web", std::string(kSourcePodmanStorage)};
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(200, 0, "/usr/sbin/nginx");
  EXPECT_EQ(id.id, "spiffe://cluster.local/node/worker-1/container/web");
  EXPECT_EQ(id.kind, "container");
  std::map<std::string, std::string> want{{"container.id", kOtherContainerId},
                                          {"container.name", "web"},
                                          {"container.runtime", "podman"},
                                          {"cgroup.path", cgroups.paths[200]},
                                          {"identity.source", "podman-storage"}};
  EXPECT_EQ(id.attributes.to_map(), want);
}

TEST_F(ResolverTest, ContainerWithoutNameUsesTheShortId) {
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(200, 0, "/usr/sbin/nginx");
  EXPECT_EQ(id.id, "spiffe://cluster.local/node/worker-1/container/" + kOtherContainerId.substr(0, 12));
  EXPECT_EQ(id.attributes.at("identity.source"), "container-id");
  EXPECT_EQ(id.attributes.count("container.name"), 0u);
}

TEST_F(ResolverTest, ConmonIsMarked) {
  cgroups.paths[201] = "/machine.slice/libpod-conmon-" + kOtherContainerId + ".scope";
  auto r = resolver();
  EXPECT_EQ(r.resolve(201, 0, "/usr/bin/conmon")->attributes.at("container.monitor"), "conmon");
}

TEST_F(ResolverTest, SystemdIdentity) {
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(300, 33, "/usr/sbin/nginx");
  EXPECT_EQ(id.id, "spiffe://cluster.local/node/worker-1/systemd/nginx.service");
  EXPECT_EQ(id.kind, "systemd");
  std::map<std::string, std::string> want{{"systemd.unit", "nginx.service"},
                                          {"systemd.slice", "system.slice"},
                                          {"cgroup.path", "/system.slice/nginx.service"},
                                          {"identity.source", "cgroup"}};
  EXPECT_EQ(id.attributes.to_map(), want);
}

TEST_F(ResolverTest, HostIdentityFromALoginSession) {
  auto r = resolver();
  WorkloadIdentity id = *r.resolve(400, 1000, "/usr/bin/curl");
  EXPECT_EQ(id.id, "spiffe://cluster.local/node/worker-1/host/uid/1000/curl");
  EXPECT_EQ(id.kind, "host");
  std::map<std::string, std::string> want{{"systemd.unit", "session-3.scope"},
                                          {"systemd.slice", "user-1000.slice"},
                                          {"cgroup.path", "/user.slice/user-1000.slice/session-3.scope"},
                                          {"process.uid", "1000"},
                                          {"process.exe", "/usr/bin/curl"},
                                          {"identity.source", "cgroup"}};
  EXPECT_EQ(id.attributes.to_map(), want);
  // Same cgroup, another user and program: another identity, from the same cache entry.
  EXPECT_EQ(r.resolve(400, 0, "/usr/bin/sudo")->id, "spiffe://cluster.local/node/worker-1/host/uid/0/sudo");
  EXPECT_EQ(cgroups.path_calls, 1);
}

TEST_F(ResolverTest, HostIdentitiesAreBoundedAcrossCgroups) {
  auto r = resolver();
  // Any user can run any number of programs in host cgroups: the cache holds at most 16,384, all cgroups together.
  for (int i = 0; i < 12'000; ++i) {
    r.resolve(400, 1000, "/home/u/bin/t" + std::to_string(i));
    r.resolve(0, 1000, "/home/u/bin/t" + std::to_string(i));
  }
  EXPECT_LE(r.cached_host_identities(), 16'384u);
  EXPECT_GT(r.cached_host_identities(), 0u);
  EXPECT_EQ(r.resolve(400, 1000, "/home/u/bin/t5")->id, "spiffe://cluster.local/node/worker-1/host/uid/1000/t5");
}

TEST_F(ResolverTest, IdentitiesAreSharedNotRebuilt) {
  auto r = resolver();
  // The same workload twice: one object, not two copies of its attributes.
  IdentityRef pod = r.resolve(100, 0, "/app/server");
  EXPECT_EQ(r.resolve(100, 1000, "/bin/sh").get(), pod.get());
  // Host cgroups: one object per (uid, program), kept apart.
  IdentityRef curl = r.resolve(400, 1000, "/usr/bin/curl");
  IdentityRef sudo = r.resolve(400, 0, "/usr/bin/sudo");
  EXPECT_EQ(r.resolve(400, 1000, "/usr/bin/curl").get(), curl.get());
  EXPECT_NE(curl.get(), sudo.get());
  EXPECT_EQ(curl->attributes.at("process.exe"), "/usr/bin/curl");
  EXPECT_EQ(sudo->attributes.at("process.exe"), "/usr/bin/sudo");
  IdentityRef none = r.resolve(0, 7, "/usr/bin/id");
  EXPECT_EQ(r.resolve(0, 7, "/usr/bin/id").get(), none.get());
  EXPECT_EQ(r.resolve(0, 8, "/usr/bin/id")->id, "spiffe://cluster.local/node/worker-1/host/uid/8/id");
  // Host identities of a forgotten cgroup go with it; others stay.
  size_t before = r.cached_host_identities();
  r.forget(400);
  EXPECT_EQ(r.cached_host_identities(), before - 2);  // curl and sudo; the two without a cgroup stay
  EXPECT_EQ(curl->id, "spiffe://cluster.local/node/worker-1/host/uid/1000/curl");
  // What a caller holds outlives the cache entry it came from.
  r.forget(100);
  EXPECT_EQ(pod->id, "spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(curl->id, "spiffe://cluster.local/node/worker-1/host/uid/1000/curl");
}

TEST_F(ResolverTest, ZeroAndUnresolvableIdsAreHost) {
  auto r = resolver();
  WorkloadIdentity zero = *r.resolve(0, 0, "/usr/lib/systemd/systemd");
  EXPECT_EQ(zero.id, "spiffe://cluster.local/node/worker-1/host/uid/0/systemd");
  EXPECT_EQ(zero.attributes.at("identity.source"), "no-cgroup");
  EXPECT_EQ(cgroups.path_calls, 0);
  WorkloadIdentity gone = *r.resolve(777, 5, "");
  EXPECT_EQ(gone.id, "spiffe://cluster.local/node/worker-1/host/uid/5/_unknown");
  EXPECT_EQ(gone.attributes.at("identity.source"), "unresolved-cgroup");
  EXPECT_EQ(gone.attributes.count("cgroup.path"), 0u);
  EXPECT_EQ(gone.attributes.count("process.exe"), 0u);
}

TEST_F(ResolverTest, TrustDomainAndNodeFromConfig) {
  config.trust_domain = "prod.example.org";
  config.node_name = "ip-10-0-1-7.ec2.internal";
  auto r = resolver();
  EXPECT_EQ(r.resolve(100, 0, "")->id, "spiffe://prod.example.org/ns/payments/sa/api");
  EXPECT_EQ(r.resolve(300, 0, "")->id, "spiffe://prod.example.org/node/ip-10-0-1-7.ec2.internal/systemd/nginx.service");
}

TEST_F(ResolverTest, InvalidConfigIsRefused) {
  config.trust_domain = "Prod/Example";
  EXPECT_THROW(resolver(), std::invalid_argument);
  EXPECT_NE(validate_identity_config(config).find("trust domain 'Prod/Example'"), std::string::npos);
  config.trust_domain = "";
  EXPECT_NE(validate_identity_config(config).find("empty"), std::string::npos);
  config.trust_domain = "cluster.local";
  EXPECT_EQ(validate_identity_config(config), "");
}

TEST_F(ResolverTest, EmptyNodeNameIsThisMachine) {
  config.node_name = "";
  auto r = resolver();
  EXPECT_EQ(r.resolve(300, 0, "")->id,
            "spiffe://cluster.local/node/" + spiffe_segment(default_node_name()) + "/systemd/nginx.service");
  EXPECT_FALSE(default_node_name().empty());
}

// --- the cache ---------------------------------------------------------------------------------------------

TEST_F(ResolverTest, CacheHitsTouchNothing) {
  auto r = resolver();
  WorkloadIdentity first = *r.resolve(100, 0, "/app/server");
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*r.resolve(100, 0, "/app/server"), first);
  EXPECT_EQ(cgroups.path_calls, 1);
  EXPECT_EQ(cgroups.still_calls, 0);
  EXPECT_EQ(pods.calls, 1);
  EXPECT_EQ(r.cached_cgroups(), 1u);
}

TEST_F(ResolverTest, ForgottenIdReusedForAnotherCgroupDoesNotInherit) {
  auto r = resolver();
  ASSERT_EQ(r.resolve(100, 0, "")->kind, "kubernetes");
  // The pod's cgroup is removed and the kernel hands its id to a systemd service.
  cgroups.paths[100] = "/system.slice/nginx.service";
  EXPECT_EQ(r.resolve(100, 0, "")->kind, "kubernetes");  // not yet told: still cached
  r.forget(100);
  WorkloadIdentity reused = *r.resolve(100, 0, "");
  EXPECT_EQ(reused.kind, "systemd");
  EXPECT_EQ(reused.attributes.count("k8s.ns"), 0u);
}

TEST_F(ResolverTest, SweepDropsCgroupsThatAreGoneOrReplaced) {
  names.names[kOtherContainerId] = {"web", std::string(kSourcePodmanStorage)};
  auto r = resolver();
  r.resolve(100, 0, "");
  r.resolve(200, 0, "");
  r.resolve(300, 0, "");
  ASSERT_EQ(r.cached_cgroups(), 3u);
  EXPECT_EQ(r.sweep(), 0u);  // all alive
  EXPECT_EQ(r.cached_cgroups(), 3u);
  EXPECT_EQ(cgroups.still_calls, 3);

  cgroups.paths.erase(200);                                            // removed
  cgroups.paths[300] = "/user.slice/user-1000.slice/session-9.scope";  // id reused elsewhere
  EXPECT_EQ(r.sweep(), 2u);
  EXPECT_EQ(r.cached_cgroups(), 1u);
  WorkloadIdentity reused = *r.resolve(300, 1000, "/bin/bash");
  EXPECT_EQ(reused.kind, "host");
  EXPECT_EQ(reused.id, "spiffe://cluster.local/node/worker-1/host/uid/1000/bash");
  EXPECT_EQ(r.resolve(200, 0, "/usr/sbin/nginx")->kind, "host");  // gone: no stale container name
}

TEST_F(ResolverTest, SweepRetriesIncompleteAndUnresolvedEntries) {
  PodMetadata md;
  md.uid = kPodUid;
  pods.pods[kPodUid] = md;  // token not there yet
  logs.logs.clear();
  auto r = resolver();
  EXPECT_EQ(r.resolve(100, 0, "")->id, "spiffe://cluster.local/ns/_unknown/sa/_unknown");
  EXPECT_EQ(r.resolve(500, 0, "")->attributes.at("identity.source"), "unresolved-cgroup");
  pods.pods[kPodUid] = token_metadata(kPodUid, "payments", "api-1", "api");
  cgroups.paths[500] = "/system.slice/late.service";
  EXPECT_EQ(r.resolve(100, 0, "")->id, "spiffe://cluster.local/ns/_unknown/sa/_unknown");  // cached
  EXPECT_EQ(r.sweep(), 2u);
  EXPECT_EQ(r.resolve(100, 0, "")->id, "spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(r.resolve(500, 0, "")->kind, "systemd");
}

TEST_F(ResolverTest, FullCacheStartsOver) {
  config.max_cached_cgroups = 2;
  auto r = resolver();
  r.resolve(100, 0, "");
  r.resolve(200, 0, "");
  EXPECT_EQ(r.cached_cgroups(), 2u);
  r.resolve(300, 0, "");
  EXPECT_EQ(r.cached_cgroups(), 1u);
  EXPECT_EQ(r.resolve(100, 0, "")->kind, "kubernetes");
}

// --- formatting ------------------------------------------------------------------------------------------

TEST(SpiffeIds, OneBuilderPerKind) {
  EXPECT_EQ(kubernetes_spiffe_id("cluster.local", "payments", "api"), "spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(kubernetes_spiffe_id("cluster.local", "", ""), "spiffe://cluster.local/ns/_unknown/sa/_unknown");
  EXPECT_EQ(container_spiffe_id("td", "node-a", "web"), "spiffe://td/node/node-a/container/web");
  EXPECT_EQ(systemd_spiffe_id("td", "node-a", "getty@tty1.service"),
            "spiffe://td/node/node-a/systemd/getty_tty1.service");
  EXPECT_EQ(host_spiffe_id("td", "node-a", 1000, "/usr/bin/python3.11"),
            "spiffe://td/node/node-a/host/uid/1000/python3.11");
}

TEST(SpiffeIds, HostileNamesCannotAddSegments) {
  EXPECT_EQ(spiffe_segment("a b/c"), "a_b_c");
  EXPECT_EQ(spiffe_segment(".."), "__");
  EXPECT_EQ(spiffe_segment("."), "_");
  EXPECT_EQ(spiffe_segment("..x"), "..x");
  EXPECT_EQ(spiffe_segment("100%"), "100_");
  EXPECT_EQ(spiffe_segment(std::string("a\0b", 3)), "a_b");
  EXPECT_EQ(spiffe_segment("\xc3\xa9"), "__");
  EXPECT_EQ(spiffe_segment("Web_1.v2-x"), "Web_1.v2-x");
  EXPECT_EQ(spiffe_segment(""), "_unknown");
  EXPECT_EQ(host_spiffe_id("td", "n", 0, "/tmp/x/.."), "spiffe://td/node/n/host/uid/0/__");
  EXPECT_EQ(host_spiffe_id("td", "n", 0, "/usr/bin/python3 (deleted)"), "spiffe://td/node/n/host/uid/0/python3");
  EXPECT_EQ(host_spiffe_id("td", "n", 0, "/usr/bin/"), "spiffe://td/node/n/host/uid/0/_unknown");
  EXPECT_EQ(host_spiffe_id("td", "n", 0, "my prog"), "spiffe://td/node/n/host/uid/0/my_prog");
}

WorkloadIdentity sample(const std::string &kind) {
  WorkloadIdentity id;
  id.kind = kind;
  if (kind == "kubernetes") {
    id.id = "spiffe://cluster.local/ns/payments/sa/api";
    id.attributes = {{"k8s.ns", "payments"}, {"k8s.sa", "api"}, {"identity.source", "sa-token"}};
  } else if (kind == "container") {
    id.id = "spiffe://cluster.local/node/n1/container/web";
    id.attributes = {{"container.id", kContainerId}, {"container.runtime", "podman"}};
  } else if (kind == "systemd") {
    id.id = "spiffe://cluster.local/node/n1/systemd/nginx.service";
    id.attributes = {{"systemd.unit", "nginx.service"}};
  } else {
    id.id = "spiffe://cluster.local/node/n1/host/uid/0/bash";
    id.attributes = {{"process.uid", "0"}};
  }
  return id;
}

TEST(FormatIdentity, AllFourKinds) {
  EXPECT_EQ(format_identity(sample("kubernetes")),
            "spiffe://cluster.local/ns/payments/sa/api (kubernetes; identity.source=sa-token, k8s.ns=payments, "
            "k8s.sa=api)");
  EXPECT_EQ(format_identity(sample("container")),
            "spiffe://cluster.local/node/n1/container/web (container; "
            "container.id=" +
                kContainerId + ", container.runtime=podman)");
  EXPECT_EQ(format_identity(sample("systemd")),
            "spiffe://cluster.local/node/n1/systemd/nginx.service (systemd; systemd.unit=nginx.service)");
  EXPECT_EQ(format_identity(sample("host")), "spiffe://cluster.local/node/n1/host/uid/0/bash (host; process.uid=0)");
  WorkloadIdentity bare;
  bare.id = "spiffe://td/x";
  bare.kind = "host";
  EXPECT_EQ(format_identity(bare), "spiffe://td/x (host)");
}

TEST(FormatIdentity, ControlBytesAreNotPrinted) {
  WorkloadIdentity id = sample("host");
  id.attributes.set("process.exe", "/tmp/evil\n[fake log line]\x1b[31m");
  std::string text = format_identity(id);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("process.exe=/tmp/evil?[fake log line]?[31m"), std::string::npos) << text;
}

TEST(IdentityJson, AttributesAndWholeIdentity) {
  WorkloadIdentity id = sample("kubernetes");
  EXPECT_EQ(identity_attributes_json(id), R"({"identity.source":"sa-token","k8s.ns":"payments","k8s.sa":"api"})");
  auto parsed = nlohmann::json::parse(identity_json(id));
  EXPECT_EQ(parsed["id"], "spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(parsed["kind"], "kubernetes");
  EXPECT_EQ(parsed["attributes"]["k8s.sa"], "api");
  EXPECT_EQ(identity_attributes_json(WorkloadIdentity{}), "{}");
}

TEST(IdentityJson, InvalidUtf8IsReplacedNotThrown) {
  WorkloadIdentity id = sample("host");
  id.attributes.set("process.exe", "/tmp/\xff\xfe\"quoted\"");
  std::string json;
  ASSERT_NO_THROW(json = identity_attributes_json(id));
  auto parsed = nlohmann::json::parse(json);
  EXPECT_EQ(parsed["process.exe"], "/tmp/\xEF\xBF\xBD\xEF\xBF\xBD\"quoted\"");
  ASSERT_NO_THROW(identity_json(id));
}

// --- end to end over fake kubelet and runtime directories -------------------------------------------------

TEST(ResolverFiles, KubeletAndDockerDirectories) {
  TempDir dir;
  testing::write_projected_token(dir, kPodUid, "kube-api-access-9xk2p",
                                 testing::mint_token(testing::kubernetes_claims("payments", "api-1", kPodUid, "api")));
  dir.write("containers/api-1_payments_server-" + kContainerId + ".log", "");
  dir.write("docker/containers/" + kOtherContainerId + "/config.v2.json",
            R"({"Config":{"Env":["TOKEN=abc"]},"Name":"/billing"})");
  IdentityConfig config;
  config.node_name = "worker-1";
  config.kubelet_root = dir.str() + "/kubelet";
  config.container_log_dir = dir.str() + "/containers";
  config.pod_log_dir = dir.str() + "/pods";
  config.docker_roots = {dir.str() + "/docker"};
  config.podman_roots = {dir.str() + "/podman"};
  FakeCgroups cgroups;
  cgroups.paths[1] = pod_cgroup(kPodUidEscaped, kContainerId);
  cgroups.paths[2] = "/system.slice/docker-" + kOtherContainerId + ".scope";
  IdentityResolver r(config, cgroups);

  WorkloadIdentity pod = *r.resolve(1, 0, "/app/server");
  EXPECT_EQ(pod.id, "spiffe://cluster.local/ns/payments/sa/api");
  EXPECT_EQ(pod.attributes.at("k8s.pod"), "api-1");
  EXPECT_EQ(pod.attributes.at("container.name"), "server");
  EXPECT_EQ(pod.attributes.at("identity.source"), "sa-token");
  EXPECT_EQ(pod.attributes.count("identity.error"), 0u);

  WorkloadIdentity docker = *r.resolve(2, 0, "/usr/bin/billing");
  EXPECT_EQ(docker.id, "spiffe://cluster.local/node/worker-1/container/billing");
  EXPECT_EQ(docker.attributes.at("container.runtime"), "docker");
  EXPECT_EQ(docker.attributes.at("identity.source"), "docker-config");

  // The cache answers without the files.
  std::filesystem::remove_all(dir.path() / "kubelet");
  std::filesystem::remove_all(dir.path() / "docker");
  EXPECT_EQ(*r.resolve(1, 0, "/app/server"), pod);
  EXPECT_EQ(*r.resolve(2, 0, "/usr/bin/billing"), docker);
}

}  // namespace
}  // namespace credwatch
