// Service-account claims from minted tokens, the kubelet pod directory (token, etc-hosts, fallbacks), and
// container log names.
#include "identity/kubelet_pods.h"

#include <gtest/gtest.h>

#include "identity_fixtures.h"

namespace credwatch {
namespace {

using testing::kContainerId;
using testing::kOtherPodUid;
using testing::kPodUid;
using testing::kubelet_etc_hosts;
using testing::kubernetes_claims;
using testing::mint_token;
using testing::mint_token_raw;
using testing::TempDir;
using testing::write_projected_token;

// --- claims --------------------------------------------------------------------------------------------

TEST(ServiceAccountToken, BoundTokenGivesNamespacePodAndServiceAccount) {
  auto c = service_account_from_token(mint_token(kubernetes_claims("payments", "api-7d9f8-x2k4q", kPodUid, "api")));
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.namespace_name, "payments");
  EXPECT_EQ(c.pod_name, "api-7d9f8-x2k4q");
  EXPECT_EQ(c.pod_uid, kPodUid);
  EXPECT_EQ(c.service_account, "api");
  EXPECT_EQ(c.service_account_uid, "7a2b9c1d-0000-4000-8000-000000000002");
}

TEST(ServiceAccountToken, TrailingNewlineIsAccepted) {
  auto c = service_account_from_token(mint_token(kubernetes_claims("payments", "p", kPodUid, "api")) + "\n");
  EXPECT_TRUE(c.ok()) << c.error;
}

TEST(ServiceAccountToken, LegacySecretTokenGivesNamespaceAndServiceAccount) {
  nlohmann::json claims = {{"iss", "kubernetes/serviceaccount"},
                           {"kubernetes.io/serviceaccount/namespace", "legacy"},
                           {"kubernetes.io/serviceaccount/secret.name", "builder-token-8x7kq"},
                           {"kubernetes.io/serviceaccount/service-account.name", "builder"},
                           {"kubernetes.io/serviceaccount/service-account.uid", "1b2c"},
                           {"sub", "system:serviceaccount:legacy:builder"}};
  auto c = service_account_from_token(mint_token(claims));
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.namespace_name, "legacy");
  EXPECT_EQ(c.service_account, "builder");
  EXPECT_EQ(c.service_account_uid, "1b2c");
  EXPECT_EQ(c.pod_name, "");
}

TEST(ServiceAccountToken, SubjectAloneIsEnough) {
  auto c = service_account_from_token(mint_token({{"sub", "system:serviceaccount:ci:runner"}}));
  ASSERT_TRUE(c.ok()) << c.error;
  EXPECT_EQ(c.namespace_name, "ci");
  EXPECT_EQ(c.service_account, "runner");
}

TEST(ServiceAccountToken, SubjectThatContradictsTheClaimIsAnError) {
  auto claims = kubernetes_claims("payments", "p", kPodUid, "api");
  claims["sub"] = "system:serviceaccount:kube-system:admin";
  auto c = service_account_from_token(mint_token(claims));
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.error.find("different service accounts"), std::string::npos) << c.error;
}

struct BadToken {
  std::string name;
  std::string token;
  std::string error_part;
};

std::vector<BadToken> bad_tokens() {
  std::string good = mint_token(kubernetes_claims("payments", "p", kPodUid, "api"));
  auto bad_claims = [](auto mutate) {
    auto claims = kubernetes_claims("payments", "p", kPodUid, "api");
    mutate(claims);
    return mint_token(claims);
  };
  nlohmann::json big = kubernetes_claims("payments", "p", kPodUid, "api");
  big["padding"] = std::string(20000, 'x');
  return {
      {"empty", "", "three dot-separated segments"},
      {"not a token", "hello world", "three dot-separated segments"},
      {"two segments", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0", "three dot-separated segments"},
      {"four segments", good + ".extra", "three dot-separated segments"},
      {"truncated mid-payload", good.substr(0, good.find('.') + 20) + ".sig", "JWT payload"},
      {"payload not base64url", mint_token_raw("x").substr(0, good.find('.') + 1) + "!!!!.sig", "base64url"},
      {"payload not JSON", mint_token_raw("this is not json"), "not JSON"},
      {"payload a JSON array", mint_token_raw("[1,2,3]"), "not a JSON object"},
      {"payload truncated JSON", mint_token_raw(R"({"sub":"system:serviceaccount:a:b)"), "not JSON"},
      {"oversized", mint_token(big), "exceeds"},
      {"other issuer", mint_token({{"sub", "user@example.com"}, {"iss", "https://accounts.example.com"}}),
       "no Kubernetes service-account claims"},
      {"namespace of the wrong type", bad_claims([](auto &c) {
         c["kubernetes.io"]["namespace"] = 42;
         c.erase("sub");
       }),
       "no Kubernetes service-account claims"},
      {"kubernetes.io not an object", bad_claims([](auto &c) {
         c["kubernetes.io"] = "payments";
         c.erase("sub");
       }),
       "no Kubernetes service-account claims"},
      {"invalid namespace", bad_claims([](auto &c) {
         c["kubernetes.io"]["namespace"] = "../etc";
         c.erase("sub");
       }),
       "not a valid namespace"},
      {"invalid service account", bad_claims([](auto &c) {
         c["kubernetes.io"]["serviceaccount"]["name"] = "a/b";
         c.erase("sub");
       }),
       "not a valid service-account"},
      {"invalid pod uid", bad_claims([](auto &c) { c["kubernetes.io"]["pod"]["uid"] = "not-a-uid"; }),
       "pod uid claim is not a UID"},
  };
}

TEST(ServiceAccountToken, MalformedTokensGiveAClearError) {
  for (const auto &b : bad_tokens()) {
    SCOPED_TRACE(b.name);
    ServiceAccountClaims c;
    ASSERT_NO_THROW(c = service_account_from_token(b.token));
    EXPECT_FALSE(c.ok());
    EXPECT_NE(c.error.find(b.error_part), std::string::npos) << c.error;
  }
}

TEST(ServiceAccountToken, EveryTruncationIsHandled) {
  std::string good = mint_token(kubernetes_claims("payments", "p", kPodUid, "api"));
  size_t ok = 0;
  for (size_t n = 0; n < good.size(); ++n) {
    ServiceAccountClaims c;
    ASSERT_NO_THROW(c = service_account_from_token(std::string_view(good).substr(0, n))) << n;
    if (c.ok()) {
      ++ok;  // only cuts inside the signature keep the claims intact
      EXPECT_GT(n, good.rfind('.'));
      EXPECT_EQ(c.service_account, "api");
    } else {
      EXPECT_FALSE(c.error.empty());
    }
  }
  EXPECT_GT(ok, 0u);
}

// --- etc-hosts -----------------------------------------------------------------------------------------

TEST(EtcHosts, HostnameIsTheEntryAfterTheBoilerplate) {
  auto e = pod_entry_from_etc_hosts(kubelet_etc_hosts("10.244.1.7", "api-7d9f8-x2k4q"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hostname, "api-7d9f8-x2k4q");
  EXPECT_EQ(e->namespace_name, "");
}

TEST(EtcHosts, SubdomainFqdnNamesTheNamespace) {
  auto e =
      pod_entry_from_etc_hosts(kubelet_etc_hosts("10.244.1.7", "db-0.db-headless.payments.svc.cluster.local\tdb-0"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hostname, "db-0");
  EXPECT_EQ(e->namespace_name, "payments");
}

TEST(EtcHosts, HostAliasesAreNotThePod) {
  std::string text = kubelet_etc_hosts("10.244.1.7", "web-1") +
                     "\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tfoo.remote\n";
  auto e = pod_entry_from_etc_hosts(text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hostname, "web-1");
}

TEST(EtcHosts, DualStackGivesTheSameName) {
  std::string text = kubelet_etc_hosts("10.244.1.7", "web-1") + "fd00::7\tweb-1\n";
  auto e = pod_entry_from_etc_hosts(text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->hostname, "web-1");
}

TEST(EtcHosts, FilesTheKubeletDidNotWriteForAPodGiveNothing) {
  EXPECT_FALSE(pod_entry_from_etc_hosts(""));
  EXPECT_FALSE(pod_entry_from_etc_hosts("127.0.0.1 localhost\n10.0.0.1 node-a\n"));  // a node's own file
  EXPECT_FALSE(
      pod_entry_from_etc_hosts("# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n"
                               "10.0.0.1 node-a\n"));
  std::string only_boilerplate = kubelet_etc_hosts("::1", "localhost");
  EXPECT_FALSE(pod_entry_from_etc_hosts(only_boilerplate));
  EXPECT_FALSE(pod_entry_from_etc_hosts(kubelet_etc_hosts("10.0.0.1", "Not_A_Hostname")));
}

// --- the kubelet directory -----------------------------------------------------------------------------

class KubeletDirectoryTest : public ::testing::Test {
 protected:
  KubeletPodDirectory pods() { return KubeletPodDirectory(dir.str() + "/kubelet", dir.str() + "/pods-log"); }
  std::string pod_dir(const std::string &uid = kPodUid) const { return "kubelet/pods/" + uid; }
  TempDir dir;
};

TEST_F(KubeletDirectoryTest, ProjectedTokenIsTheSource) {
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p",
                        mint_token(kubernetes_claims("payments", "api-7d9f8-x2k4q", kPodUid, "api")));
  dir.write(pod_dir() + "/etc-hosts", kubelet_etc_hosts("10.244.1.7", "something-else"));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.uid, kPodUid);
  EXPECT_EQ(md.namespace_name, "payments");
  EXPECT_EQ(md.pod_name, "api-7d9f8-x2k4q");
  EXPECT_EQ(md.service_account, "api");
  EXPECT_EQ(md.source, kSourceSaToken);
  EXPECT_EQ(md.error, "");
  EXPECT_TRUE(md.complete());
}

TEST_F(KubeletDirectoryTest, EscapedUidFindsTheDashedDirectory) {
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p",
                        mint_token(kubernetes_claims("payments", "api-1", kPodUid, "api")));
  EXPECT_EQ(pods().pod(testing::kPodUidEscaped).service_account, "api");
}

TEST_F(KubeletDirectoryTest, KubeApiAccessVolumeWinsOverOtherProjectedTokens) {
  write_projected_token(dir, kPodUid, "aaa-vault-token", mint_token({{"sub", "system:serviceaccount:other:vault"}}));
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p",
                        mint_token(kubernetes_claims("payments", "api-1", kPodUid, "api")));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.namespace_name, "payments");
  EXPECT_EQ(md.service_account, "api");
}

TEST_F(KubeletDirectoryTest, LegacySecretTokenWithNameFromEtcHosts) {
  nlohmann::json claims = {{"kubernetes.io/serviceaccount/namespace", "legacy"},
                           {"kubernetes.io/serviceaccount/service-account.name", "builder"},
                           {"sub", "system:serviceaccount:legacy:builder"}};
  dir.write(pod_dir() + "/volumes/kubernetes.io~secret/builder-token-8x7kq/token", mint_token(claims));
  dir.write(pod_dir() + "/volumes/kubernetes.io~secret/db-password/token", "not-read");
  dir.write(pod_dir() + "/etc-hosts", kubelet_etc_hosts("10.244.1.9", "builder-5b6c"));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.namespace_name, "legacy");
  EXPECT_EQ(md.service_account, "builder");
  EXPECT_EQ(md.pod_name, "builder-5b6c");
  EXPECT_EQ(md.source, kSourceSaToken);
}

TEST_F(KubeletDirectoryTest, NoTokenFallsBackToEtcHosts) {
  dir.write(pod_dir() + "/etc-hosts", kubelet_etc_hosts("10.244.1.8", "batch-job-x7"));
  // The CA configmap proves the pod has a namespace, not which one.
  dir.write(pod_dir() + "/volumes/kubernetes.io~configmap/kube-root-ca.crt/ca.crt", "-----BEGIN CERTIFICATE-----");
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.pod_name, "batch-job-x7");
  EXPECT_EQ(md.namespace_name, "");
  EXPECT_EQ(md.service_account, "");
  EXPECT_EQ(md.source, kSourceEtcHosts);
  EXPECT_EQ(md.error, "");
  EXPECT_FALSE(md.complete());
}

TEST_F(KubeletDirectoryTest, NoTokenPrefersThePodLogDirectory) {
  dir.write(pod_dir() + "/etc-hosts", kubelet_etc_hosts("10.244.1.8", "rewritten-by-workload"));
  dir.mkdir("pods-log/batch_nightly-report-28391_" + kPodUid + "/report");
  dir.mkdir("pods-log/batch_other_" + kOtherPodUid);
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.namespace_name, "batch");
  EXPECT_EQ(md.pod_name, "nightly-report-28391");
  EXPECT_EQ(md.source, kSourcePodLog);
}

TEST_F(KubeletDirectoryTest, NothingKnownIsUnknownWithTheReason) {
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.source, kSourceUnknown);
  EXPECT_EQ(md.namespace_name, "");
  EXPECT_NE(md.error.find("no kubelet pod directory"), std::string::npos) << md.error;
  EXPECT_NE(md.error.find(kPodUid), std::string::npos) << md.error;

  dir.mkdir(pod_dir());
  md = pods().pod(kPodUid);
  EXPECT_EQ(md.source, kSourceUnknown);
  EXPECT_EQ(md.error, "");
}

TEST_F(KubeletDirectoryTest, BrokenTokenIsReportedAndFallsBack) {
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p", mint_token_raw("{not json"));
  dir.write(pod_dir() + "/etc-hosts", kubelet_etc_hosts("10.244.1.8", "web-2"));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.source, kSourceEtcHosts);
  EXPECT_EQ(md.pod_name, "web-2");
  EXPECT_NE(md.error.find("not JSON"), std::string::npos) << md.error;
  EXPECT_NE(md.error.find("kube-api-access-9xk2p"), std::string::npos) << md.error;
}

TEST_F(KubeletDirectoryTest, TruncatedTokenFileIsReported) {
  std::string token = mint_token(kubernetes_claims("payments", "api-1", kPodUid, "api"));
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p", token.substr(0, token.size() / 3));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.source, kSourceUnknown);
  EXPECT_FALSE(md.error.empty());
}

TEST_F(KubeletDirectoryTest, OversizedTokenFileIsNotRead) {
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p", std::string(100 * 1024, 'e'));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.source, kSourceUnknown);
  EXPECT_NE(md.error.find("102400 bytes, over the 65536-byte limit"), std::string::npos) << md.error;
}

TEST_F(KubeletDirectoryTest, TokenOfAnotherPodIsRejected) {
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p",
                        mint_token(kubernetes_claims("payments", "api-1", kOtherPodUid, "api")));
  PodMetadata md = pods().pod(kPodUid);
  EXPECT_EQ(md.source, kSourceUnknown);
  EXPECT_NE(md.error.find("belongs to pod " + kOtherPodUid), std::string::npos) << md.error;
}

TEST_F(KubeletDirectoryTest, ErrorsNeverQuoteTheToken) {
  std::string token = mint_token_raw("{\"sub\": \"secret-looking-value\"");
  write_projected_token(dir, kPodUid, "kube-api-access-9xk2p", token);
  PodMetadata md = pods().pod(kPodUid);
  ASSERT_FALSE(md.error.empty());
  EXPECT_EQ(md.error.find(token.substr(token.find('.') + 1, 12)), std::string::npos) << md.error;
  EXPECT_EQ(md.error.find("secret-looking-value"), std::string::npos) << md.error;
}

TEST_F(KubeletDirectoryTest, NonUidIsRefusedWithoutTouchingTheFilesystem) {
  PodMetadata md = pods().pod("../../etc");
  EXPECT_EQ(md.source, kSourceUnknown);
  EXPECT_NE(md.error.find("not a Kubernetes UID"), std::string::npos) << md.error;
}

// --- container logs ------------------------------------------------------------------------------------

TEST(ContainerLogName, ParsesPodNamespaceContainerAndId) {
  auto n = parse_container_log_name("api-7d9f8-x2k4q_payments_server-" + kContainerId + ".log");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->pod_name, "api-7d9f8-x2k4q");
  EXPECT_EQ(n->namespace_name, "payments");
  EXPECT_EQ(n->container_name, "server");
  EXPECT_EQ(n->container_id, kContainerId);

  auto dotted = parse_container_log_name("coredns-5d78c9869d-abcde_kube-system_coredns-" + kContainerId + ".log");
  ASSERT_TRUE(dotted);
  EXPECT_EQ(dotted->namespace_name, "kube-system");
  EXPECT_EQ(dotted->container_name, "coredns");
}

TEST(ContainerLogName, RejectsOtherShapes) {
  EXPECT_FALSE(parse_container_log_name("api_payments_server-" + kContainerId));  // no .log
  EXPECT_FALSE(parse_container_log_name("api_payments_server-" + kContainerId.substr(1) + ".log"));
  EXPECT_FALSE(parse_container_log_name("api_payments-" + kContainerId + ".log"));          // two parts
  EXPECT_FALSE(parse_container_log_name("a_b_c_server-" + kContainerId + ".log"));          // four parts
  EXPECT_FALSE(parse_container_log_name("api_payments_-" + kContainerId + ".log"));         // no container
  EXPECT_FALSE(parse_container_log_name("api_Pay/ments_server-" + kContainerId + ".log"));  // bad namespace
  EXPECT_FALSE(parse_container_log_name(""));
}

TEST(ContainerLogIndexTest, FindsByIdInTheDirectory) {
  TempDir dir;
  dir.write("containers/other_default_x-" + testing::kOtherContainerId + ".log", "");
  dir.write("containers/api-1_payments_server-" + kContainerId + ".log", "");
  ContainerLogIndex index(dir.str() + "/containers");
  auto n = index.find(kContainerId);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->pod_name, "api-1");
  EXPECT_EQ(n->container_name, "server");
  EXPECT_FALSE(index.find(testing::kHostContainerId));
  EXPECT_FALSE(index.find("../etc"));
  EXPECT_FALSE(ContainerLogIndex(dir.str() + "/missing").find(kContainerId));
}

TEST(DnsNames, LabelsAndSubdomains) {
  EXPECT_TRUE(is_dns_label("kube-system"));
  EXPECT_FALSE(is_dns_label("-a"));
  EXPECT_FALSE(is_dns_label("a-"));
  EXPECT_FALSE(is_dns_label("A"));
  EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
  EXPECT_FALSE(is_dns_label("a.b"));
  EXPECT_TRUE(is_dns_subdomain("a.b-c.d"));
  EXPECT_FALSE(is_dns_subdomain("a..b"));
  EXPECT_FALSE(is_dns_subdomain(""));
}

}  // namespace
}  // namespace credwatch
