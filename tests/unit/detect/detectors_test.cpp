// Every detector through the engine: when it fires (with what), and when it must stay quiet.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/capabilities.h"
#include "detect/credential_reuse.h"
#include "detect/escalation_detectors.h"
#include "detect_fixtures.h"

namespace credwatch {
namespace {

using namespace credwatch::testing;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr std::string_view kCredentialRule = "policy.credential_not_allowed";
constexpr std::string_view kEgressRule = "policy.egress_not_allowed";
constexpr std::string_view kSharedRule = "reuse.shared_credential";
constexpr std::string_view kCrossEnvRule = "reuse.cross_environment";
constexpr std::string_view kNewCredentialRule = "escalation.new_credential";
constexpr std::string_view kExfilRule = "escalation.exfil_chain";
constexpr std::string_view kSnoopRule = "escalation.proc_snoop";
constexpr std::string_view kPrivilegeRule = "escalation.privilege_change";
constexpr std::string_view kExpiredRule = "lifecycle.credential_expired_use";

const std::string kAwsPath = "/root/.aws/credentials";
const std::string kTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const std::string kCredA = "cw_00000000000000aa";
const std::string kCredB = "cw_00000000000000bb";
const std::string kCredC = "cw_00000000000000cc";

// ---- policy.credential_not_allowed / policy.egress_not_allowed

class PolicyDetectors : public EngineTest {
 protected:
  void SetUp() override { make_engine({}, load_policies_text(kPaymentsPolicy)); }
};

TEST_F(PolicyDetectors, CredentialOutsideTheAllowListAlertsWithTheSectionsAction) {
  DetectionContext ctx = context_for("payments", {chain_entry(1, "/sbin/tini"), chain_entry(100, "/app/api")});
  ctx.credentials.push_back({kCredA, "aws_credentials", kAwsPath, "",
                             CredentialDescriptor::from({{"access_key_id", "AKIAEXAMPLEKEYID0001"}})});
  auto u =
      process_rule(kCredentialRule, file_read(kApi, clock.now(), kAwsPath, kCredA, "aws_credentials", 100, 7), ctx);
  ASSERT_THAT(u, SizeIs(1));
  const Alert &a = u[0].alert;
  EXPECT_EQ(u[0].kind, AlertUpdate::Kind::New);
  EXPECT_EQ(a.severity, Severity::High);
  EXPECT_EQ(a.action, ResponseAction::Revoke);
  EXPECT_EQ(a.identity, kApi);
  EXPECT_EQ(a.identity_kind, "kubernetes");
  EXPECT_EQ(a.identity_attributes.at("k8s.ns"), "payments");
  EXPECT_EQ(a.node, "node-1");
  EXPECT_EQ(a.credential_id, kCredA);
  EXPECT_EQ(a.credential_kind, "aws_credentials");
  EXPECT_EQ(a.credential_descriptor["access_key_id"], "AKIAEXAMPLEKEYID0001");
  EXPECT_THAT(a.evidence, ElementsAre(7));
  ASSERT_THAT(a.process_chain, SizeIs(2));
  EXPECT_EQ(a.process_chain[1].exe, "/app/api");
  EXPECT_EQ(a.summary, kApi + " used aws_credentials at " + kAwsPath + " (" + kCredA +
                           "), which no allow entry of policy payments-api matches");
  EXPECT_EQ(a.details["denied"], false);
  EXPECT_EQ(a.details["path"], kAwsPath);
  EXPECT_EQ(a.dedup_key, std::string(kCredentialRule) + "|" + kApi + "|" + kCredA);
  EXPECT_EQ(a.time_ns, clock.now());
  EXPECT_EQ(a.first_seen_ns, clock.now());
}

// The agent's contexts carry no descriptors (it keeps them in its store): the engine's describer completes each new
// alert once, and the repeats that fold into it keep what it was given.
TEST_F(PolicyDetectors, TheDescriberCompletesANewAlertOnceAndItsFoldsKeepIt) {
  std::vector<std::string> asked;
  engine->set_credential_describer([&](const std::string &id) {
    asked.push_back(id);
    return CredentialDescriptor::from({{"access_key_id", "AKIAEXAMPLEKEYID0002"}});
  });
  DetectionContext ctx = context_for("payments", {chain_entry(100, "/app/api")});
  ctx.credentials.push_back({kCredA, "aws_credentials", kAwsPath, "", CredentialDescriptor::empty()});
  auto first = process_rule(kCredentialRule, file_read(kApi, clock.now(), kAwsPath, kCredA, "aws_credentials", 100, 7), ctx);
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].kind, AlertUpdate::Kind::New);
  EXPECT_EQ(first[0].alert.credential_descriptor["access_key_id"], "AKIAEXAMPLEKEYID0002");
  clock.advance(kSec);
  auto repeat = process_rule(kCredentialRule, file_read(kApi, clock.now(), kAwsPath, kCredA, "aws_credentials", 100, 8), ctx);
  ASSERT_THAT(repeat, SizeIs(1));
  EXPECT_EQ(repeat[0].kind, AlertUpdate::Kind::Folded);
  EXPECT_EQ(repeat[0].alert.credential_descriptor["access_key_id"], "AKIAEXAMPLEKEYID0002");
  EXPECT_THAT(asked, ElementsAre(kCredA));

  // A context that carries a descriptor keeps it: the describer is not asked.
  DetectionContext described = ctx;
  described.credentials[0] = {kCredB, "aws_credentials", kAwsPath, "",
                              CredentialDescriptor::from({{"access_key_id", "AKIAEXAMPLEKEYID0003"}})};
  auto own = process_rule(kCredentialRule, file_read(kApi, clock.now(), kAwsPath, kCredB, "aws_credentials", 100, 9),
                          described);
  ASSERT_THAT(own, SizeIs(1));
  EXPECT_EQ(own[0].alert.credential_descriptor["access_key_id"], "AKIAEXAMPLEKEYID0003");
  EXPECT_THAT(asked, ElementsAre(kCredA));
}

TEST_F(PolicyDetectors, DeniedVariableNamesTheDenyEntry) {
  auto u =
      process_rule(kCredentialRule, env_read(kApi, clock.now(), "STRIPE_ADMIN_KEY", kCredB), context_for("payments"));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.details["denied"], true);
  EXPECT_EQ(u[0].alert.details["env"], "STRIPE_ADMIN_KEY");
  EXPECT_THAT(u[0].alert.summary, HasSubstr("which policy payments-api denies (payments-api credentials.deny[0]"));
}

TEST_F(PolicyDetectors, AllowedUsesAndUnrestrictedIdentitiesStayQuiet) {
  EXPECT_THAT(process(file_read(kApi, clock.now(), kTokenPath, kCredA, "kubernetes_sa_token"), context_for("payments")),
              IsEmpty());
  EXPECT_THAT(process(env_read(kApi, clock.now(), "STRIPE_KEY", kCredB), context_for("payments")), IsEmpty());
  // No policy selects the batch runner: everything is allowed.
  EXPECT_THAT(process(file_read(kBatch, clock.now(), kAwsPath, kCredC), context_for("batch")), IsEmpty());
  // A failed open is not a use.
  Event failed = file_read(kApi, clock.now(), kAwsPath, kCredA);
  std::get<FileOpenDetails>(failed.details).result = -13;
  EXPECT_THAT(process(failed, context_for("payments")), IsEmpty());
}

TEST_F(PolicyDetectors, UnfingerprintedSecretIsCheckedByKindAndPath) {
  auto u = process_rule(kCredentialRule, file_read(kApi, clock.now(), kAwsPath, ""), context_for("payments"));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.credential_id, "");
  EXPECT_EQ(u[0].alert.dedup_key, std::string(kCredentialRule) + "|" + kApi + "|" + kAwsPath);
}

TEST_F(PolicyDetectors, EgressOutsideTheAllowListAlertsWithBlock) {
  auto u = process_rule(kEgressRule, connect_to(kApi, clock.now(), "203.0.113.9", 443), context_for("payments"));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.severity, Severity::Medium);
  EXPECT_EQ(u[0].alert.action, ResponseAction::Block);
  EXPECT_EQ(u[0].alert.details["destination"], "203.0.113.9:443");
  EXPECT_EQ(u[0].alert.details["denied"], false);
  EXPECT_EQ(u[0].alert.dedup_key, std::string(kEgressRule) + "|" + kApi + "||203.0.113.9:443");

  auto denied = process_rule(kEgressRule, connect_to(kApi, clock.now(), "10.0.5.5", 8500), context_for("payments"));
  ASSERT_THAT(denied, SizeIs(1));
  EXPECT_EQ(denied[0].alert.details["denied"], true);

  EXPECT_THAT(process(connect_to(kApi, clock.now(), "10.1.2.3", 443), context_for("payments")), IsEmpty());
  EXPECT_THAT(process(connect_to(kBatch, clock.now(), "203.0.113.9", 443), context_for("batch")), IsEmpty());
}

// ---- reuse.shared_credential / reuse.cross_environment

class ReuseDetectors : public EngineTest {
 protected:
  void SetUp() override {
    DetectionOptions o;
    o.reuse.environments = {{"prod-*", "production"}, {"staging", "staging"}};
    make_engine(o);
  }
};

TEST_F(ReuseDetectors, OneAlertPerCredentialListingTheIdentitiesAndFoldsWhenTheGroupGrows) {
  WallNs t0 = clock.now();
  EXPECT_THAT(process_rule(kSharedRule, file_read(kApi, t0, kAwsPath, kCredA, "aws_credentials", 100, 1)), IsEmpty());
  auto first =
      process_rule(kSharedRule, file_read(kWorker, t0 + 10 * kMin, kAwsPath, kCredA, "aws_credentials", 200, 2));
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].kind, AlertUpdate::Kind::New);
  EXPECT_EQ(first[0].alert.severity, Severity::Medium);
  EXPECT_EQ(first[0].alert.details["identities"], nlohmann::json({kWorker, kApi}));
  EXPECT_EQ(first[0].alert.details["namespaces"][kApi], "payments");  // from the SPIFFE ID
  EXPECT_THAT(first[0].alert.evidence, ElementsAre(2, 1));
  EXPECT_EQ(first[0].alert.dedup_key, std::string(kSharedRule) + "||" + kCredA);
  EXPECT_EQ(first[0].alert.summary, "aws_credentials at " + kAwsPath + " (" + kCredA +
                                        ") used by 2 identities within 1h: " + kWorker + ", " + kApi);

  // The same two again: nothing new to say.
  EXPECT_THAT(process_rule(kSharedRule, file_read(kApi, t0 + 11 * kMin, kAwsPath, kCredA)), IsEmpty());
  // A third identity joins: the alert folds with the longer list.
  auto grown = process_rule(kSharedRule, file_read(kBatch, t0 + 20 * kMin, kAwsPath, kCredA));
  ASSERT_THAT(grown, SizeIs(1));
  EXPECT_EQ(grown[0].kind, AlertUpdate::Kind::Folded);
  EXPECT_EQ(grown[0].alert.count, 2u);
  EXPECT_EQ(grown[0].alert.first_seen_ns, t0 + 10 * kMin);
  EXPECT_EQ(grown[0].alert.last_seen_ns, t0 + 20 * kMin);
  EXPECT_EQ(grown[0].alert.details["identities"], nlohmann::json({kBatch, kWorker, kApi}));
}

// A credential the whole cluster reads: the alert names a bounded number of identities and counts the rest, and
// repeat uses by identities already reported stay quiet.
TEST_F(ReuseDetectors, AClusterWideGroupIsCountedNotListedInFull) {
  WallNs t0 = clock.now();
  size_t raised = 0;
  AlertUpdate last;
  for (int i = 0; i < 60; ++i) {
    std::string identity = "spiffe://cluster.local/ns/team-" + std::to_string(i) + "/sa/app";
    auto out = process_rule(kSharedRule, file_read(identity, t0 + i * 1'000'000'000LL, kAwsPath, kCredA,
                                                   "aws_credentials", 1000 + i, 10 + i));
    raised += out.size();
    if (!out.empty()) last = out.back();
  }
  EXPECT_EQ(raised, 59u);  // once per joining identity after the first
  EXPECT_EQ(last.alert.details["identity_count"], 60);
  EXPECT_EQ(last.alert.details["identities"].size(), 50u);
  EXPECT_LE(last.alert.evidence.size(), 50u);
  EXPECT_EQ(last.kind, AlertUpdate::Kind::Folded);  // one alert for the credential; its summary is the first's
  // Everyone again: nothing new.
  for (int i = 0; i < 60; ++i) {
    std::string identity = "spiffe://cluster.local/ns/team-" + std::to_string(i) + "/sa/app";
    EXPECT_THAT(process_rule(kSharedRule, file_read(identity, t0 + 61'000'000'000LL + i, kAwsPath, kCredA)), IsEmpty());
  }
}

// Members leave the window on time although the group is walked only when its oldest member may have left.
TEST(CredentialSharing, MembersLeaveTheWindowAndRefreshedMembersStay) {
  constexpr int64_t kWindow = 100;
  CredentialSharing sharing(kWindow);
  EXPECT_EQ(sharing.record(kCredA, "a", "", 0, 1).size(), 1u);
  EXPECT_EQ(sharing.record(kCredA, "b", "", 10, 2).size(), 2u);
  EXPECT_EQ(sharing.record(kCredA, "a", "", 90, 3).size(), 2u);  // a refreshed
  auto &at_105 = sharing.record(kCredA, "c", "", 105, 4);       // nobody has left: b is 95 old
  EXPECT_EQ(at_105.size(), 3u);
  auto &at_110 = sharing.record(kCredA, "c", "", 110, 5);       // b (10) left at 110
  auto names = [](const CredentialSharing::Users &users) {
    std::vector<std::string> out;
    for (const auto &[identity, use] : users) out.emplace_back(identity.view());
    return out;
  };
  EXPECT_THAT(names(at_110), ElementsAre("a", "c"));  // by identity
  auto &at_200 = sharing.record(kCredA, "d", "", 200, 6);       // a (90) left at 190, c (110) stays
  EXPECT_THAT(names(at_200), ElementsAre("c", "d"));
  EXPECT_EQ(at_200[1].second.event_id, 6);
  sharing.forget("c");
  EXPECT_THAT(names(sharing.record(kCredA, "b", "", 201, 7)), ElementsAre("b", "d"));
  sharing.expire(310);  // d (200) left at 300
  EXPECT_EQ(sharing.credentials(), 0u);
  EXPECT_TRUE(sharing.record("cw_a", "a", "", 400, 8).empty());  // not an id the inventory hands out
  EXPECT_EQ(sharing.credentials(), 0u);
}

TEST_F(ReuseDetectors, OneIdentityOrUsesFurtherApartThanTheWindowStayQuiet) {
  WallNs t0 = clock.now();
  EXPECT_THAT(process_rule(kSharedRule, file_read(kApi, t0, kAwsPath, kCredA, "aws_credentials", 100)), IsEmpty());
  EXPECT_THAT(process_rule(kSharedRule, file_read(kApi, t0 + kMin, kAwsPath, kCredA, "aws_credentials", 101)),
              IsEmpty());
  EXPECT_THAT(process_rule(kSharedRule, file_read(kWorker, t0 + 62 * kMin, kAwsPath, kCredA)), IsEmpty());
  // Different credentials of two identities are not shared.
  EXPECT_THAT(process_rule(kSharedRule, file_read(kBatch, t0 + 63 * kMin, kAwsPath, kCredB)), IsEmpty());
}

TEST_F(ReuseDetectors, IdentitiesInDifferentEnvironmentsRaiseCrossEnvironment) {
  WallNs t0 = clock.now();
  process(env_read(kApi, t0, "DB_PASSWORD", kCredA), context_for("prod-eu"));
  auto u = process(env_read(kWorker, t0 + kMin, "DB_PASSWORD", kCredA, 200), context_for("staging"));
  auto cross = of_rule(u, kCrossEnvRule);
  ASSERT_THAT(cross, SizeIs(1));
  EXPECT_THAT(of_rule(u, kSharedRule), SizeIs(1));
  const Alert &a = cross[0].alert;
  EXPECT_EQ(a.severity, Severity::High);
  EXPECT_EQ(a.details["environments"], nlohmann::json({"production", "staging"}));
  EXPECT_EQ(a.details["identities"][kApi]["namespace"], "prod-eu");
  EXPECT_EQ(a.details["identities"][kWorker]["environment"], "staging");
  EXPECT_EQ(a.summary,
            "credential in $DB_PASSWORD (" + kCredA + ") used in 2 environments within 1h: production, staging");
}

TEST_F(ReuseDetectors, SameEnvironmentOrUnmappedNamespacesAreOnlyShared) {
  WallNs t0 = clock.now();
  process(env_read(kApi, t0, "DB_PASSWORD", kCredA), context_for("prod-eu"));
  auto u = process(env_read(kWorker, t0 + kMin, "DB_PASSWORD", kCredA, 200), context_for("prod-us"));
  EXPECT_THAT(of_rule(u, kSharedRule), SizeIs(1));
  EXPECT_THAT(of_rule(u, kCrossEnvRule), IsEmpty());
  auto v = process(env_read(kBatch, t0 + 2 * kMin, "DB_PASSWORD", kCredA, 300), context_for("batch"));
  EXPECT_THAT(of_rule(v, kCrossEnvRule), IsEmpty());
}

TEST(CrossEnvironment, FirstMatchingGlobWinsAndOptionsAreValidated) {
  CredentialReuseOptions o;
  o.environments = {{"prod-eu", "eu-production"}, {"prod-*", "production"}};
  CrossEnvironmentReuseDetector d(o);
  EXPECT_EQ(d.environment_of("prod-eu"), "eu-production");
  EXPECT_EQ(d.environment_of("prod-us"), "production");
  EXPECT_EQ(d.environment_of("dev"), "");
  o.environments.push_back({"staging-[", "staging"});
  EXPECT_THAT(validate(o), HasSubstr("environments[2]: bad glob 'staging-['"));
  o.environments.back() = {"staging", ""};
  EXPECT_EQ(validate(o), "environments[2]: namespace glob 'staging' maps to no environment");
}

// ---- escalation.new_credential

class NewCredential : public EngineTest {
 protected:
  void SetUp() override {
    DetectionOptions o;
    o.learning_window_ns = kHour;
    make_engine(o);
    t0 = clock.now();
    process(file_read(kApi, t0, kAwsPath, kCredA));
  }
  WallNs t0 = 0;
};

TEST_F(NewCredential, QuietWhileLearningThenFiresForCredentialsOutsideTheBaseline) {
  EXPECT_THAT(process_rule(kNewCredentialRule, env_read(kApi, t0 + 30 * kMin, "STRIPE_KEY", kCredB)), IsEmpty());
  clock.set(t0 + 2 * kHour);
  EXPECT_THAT(process_rule(kNewCredentialRule, env_read(kApi, clock.now(), "STRIPE_KEY", kCredB)), IsEmpty());
  EXPECT_THAT(process_rule(kNewCredentialRule, file_read(kApi, clock.now(), kAwsPath, kCredA)), IsEmpty());

  auto u = process_rule(kNewCredentialRule,
                        file_read(kApi, clock.now(), "/home/app/.ssh/id_ed25519", kCredC, "ssh_private_key"));
  ASSERT_THAT(u, SizeIs(1));
  const Alert &a = u[0].alert;
  EXPECT_EQ(a.severity, Severity::Medium);
  EXPECT_EQ(a.credential_id, kCredC);
  EXPECT_EQ(a.credential_kind, "ssh_private_key");
  EXPECT_EQ(a.details["baseline_started_ns"], t0);
  EXPECT_EQ(a.details["baseline_until_ns"], t0 + kHour);
  EXPECT_EQ(a.details["source"], "file:/home/app/.ssh/id_ed25519");
  EXPECT_THAT(a.summary, HasSubstr("not in its baseline"));
}

TEST_F(NewCredential, RotationAtAKnownSourceIsNotANewCredential) {
  clock.set(t0 + 2 * kHour);
  EXPECT_THAT(process_rule(kNewCredentialRule, file_read(kApi, clock.now(), kAwsPath, kCredC)), IsEmpty());
  // Another identity still learning is not judged either.
  EXPECT_THAT(process_rule(kNewCredentialRule, file_read(kWorker, clock.now(), "/etc/x", kCredC)), IsEmpty());
}

TEST_F(NewCredential, PolicyLearningWindowApplies) {
  make_engine({}, load_policies_text(R"(apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: short}
spec:
  selector: {namespaces: ["payments"]}
  learning: {window: 10m}
)"));
  process(file_read(kApi, t0, kAwsPath, kCredA), context_for("payments"));
  auto u =
      process_rule(kNewCredentialRule, env_read(kApi, t0 + 11 * kMin, "STRIPE_KEY", kCredB), context_for("payments"));
  EXPECT_THAT(u, SizeIs(1));
  EXPECT_EQ(engine->baselines().find(kApi)->window_ns, 10 * kMin);
}

// ---- escalation.exfil_chain

class ExfilChain : public EngineTest {
 protected:
  void SetUp() override {
    DetectionOptions o;
    o.learning_window_ns = kHour;
    make_engine(o);
    t0 = clock.now();
    process(connect_to(kApi, t0, "10.0.0.1", 443));
    clock.set(t0 + 2 * kHour);
  }
  // The pod: tini (1) -> sh (100), with children 200 and 300 (via 250).
  DetectionContext chain_of(std::vector<uint32_t> pids) {
    std::vector<ProcessChainEntry> chain;
    for (uint32_t p : pids) chain.push_back(chain_entry(p, "/bin/p" + std::to_string(p)));
    return context_for("payments", chain);
  }
  Event read_at(WallNs t, uint32_t pid, int64_t id = 11) {
    return file_read(kApi, t, kTokenPath, kCredA, "kubernetes_sa_token", pid, id);
  }
  Event connect_from(WallNs t, uint32_t pid, uint32_t ppid, const std::string &addr = "203.0.113.9", int64_t id = 12) {
    Event e = connect_to(kApi, t, addr, 443, pid, id);
    e.process.ppid = ppid;
    return e;
  }
  WallNs t0 = 0;
};

// A read remembers no descriptor: the exfil alert gets its descriptor from the engine's describer, as the agent's do.
TEST_F(ExfilChain, TheAlertsDescriptorComesFromTheDescriber) {
  std::vector<std::string> asked;
  engine->set_credential_describer([&](const std::string &id) {
    asked.push_back(id);
    return CredentialDescriptor::from({{"jti", "jti-exfil"}});
  });
  WallNs t = clock.now();
  DetectionContext read_context = chain_of({1, 100});
  read_context.credentials.push_back({kCredA, "kubernetes_sa_token", kTokenPath, "",
                                      CredentialDescriptor::from({{"jti", "held-by-the-context"}})});
  process(read_at(t, 100), read_context);
  auto u = process_rule(kExfilRule, connect_from(t + 10 * kSec, 100, 1), chain_of({1, 100}));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.credential_id, kCredA);
  EXPECT_EQ(u[0].alert.credential_kind, "kubernetes_sa_token");
  EXPECT_EQ(u[0].alert.credential_descriptor["jti"], "jti-exfil");
  EXPECT_THAT(asked, Contains(kCredA));
}

// A secret the inventory could not fingerprint (no id) is cited by its path, and an id of all zeros at the same path
// is another credential; an id not shaped like the inventory's counts as unknown, by its path.
TEST_F(ExfilChain, ReadsWithoutAnIdAreCitedByTheirPath) {
  WallNs t = clock.now();
  const std::string kZero = "cw_0000000000000000";
  process(file_read(kApi, t, kTokenPath, "", "kubernetes_sa_token", 100, 11), chain_of({1, 100}));
  process(file_read(kApi, t + kSec, kTokenPath, kZero, "kubernetes_sa_token", 100, 13), chain_of({1, 100}));
  auto u = process_rule(kExfilRule, connect_from(t + 10 * kSec, 100, 1), chain_of({1, 100}));
  ASSERT_THAT(u, SizeIs(2));
  std::vector<std::string> keys, ids;
  for (const auto &update : u) {
    keys.push_back(update.alert.dedup_key);
    ids.push_back(update.alert.credential_id);
  }
  std::string prefix = std::string(kExfilRule) + "|" + kApi + "|";
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre(prefix + kTokenPath + "|203.0.113.9:443",
                                                      prefix + kZero + "|203.0.113.9:443"));
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre("", kZero));

  const std::string kOther = "/var/run/secrets/other/token";
  process(connect_to(kWorker, t0, "10.0.0.1", 443));  // the worker's baseline, learned by now
  process(file_read(kWorker, t, kOther, "cw_not-an-id", "kubernetes_sa_token", 100, 21), chain_of({1, 100}));
  auto w = process_rule(kExfilRule, [&] {
    Event e = connect_to(kWorker, t + 10 * kSec, "203.0.113.9", 443, 100, 22);
    e.process.ppid = 1;
    return e;
  }(), chain_of({1, 100}));
  ASSERT_THAT(w, SizeIs(1));
  EXPECT_EQ(w[0].alert.dedup_key, std::string(kExfilRule) + "|" + kWorker + "|" + kOther + "|203.0.113.9:443");
}

TEST_F(ExfilChain, ReadThenConnectOutsideTheBaselineFromTheSameProcess) {
  WallNs t = clock.now();
  process(read_at(t, 100), chain_of({1, 100}));
  auto u = process_rule(kExfilRule, connect_from(t + 10 * kSec, 100, 1), chain_of({1, 100}));
  ASSERT_THAT(u, SizeIs(1));
  const Alert &a = u[0].alert;
  EXPECT_EQ(a.severity, Severity::High);
  EXPECT_EQ(a.credential_id, kCredA);
  EXPECT_EQ(a.credential_kind, "kubernetes_sa_token");
  EXPECT_EQ(a.details["destination"], "203.0.113.9:443");
  EXPECT_EQ(a.details["relation"], "same process");
  EXPECT_EQ(a.details["elapsed_ns"], 10 * kSec);
  EXPECT_EQ(a.details["path"], kTokenPath);
  EXPECT_THAT(a.evidence, ElementsAre(11, 12));
  ASSERT_THAT(a.process_chain, SizeIs(2));
  EXPECT_EQ(a.process_chain[1].pid, 100u);
  EXPECT_EQ(a.dedup_key, std::string(kExfilRule) + "|" + kApi + "|" + kCredA + "|203.0.113.9:443");
  EXPECT_EQ(a.summary, "/usr/bin/proc100 (pid 100) of " + kApi +
                           " connected to 203.0.113.9:443, outside its baseline, 10s after /usr/bin/proc100 (pid "
                           "100) read kubernetes_sa_token at " +
                           kTokenPath + " (" + kCredA + ")");
}

// A process reading its token over and over keeps one pending read, and the alert cites the latest.
TEST_F(ExfilChain, RepeatedReadsByOneProcessKeepOnlyTheLatest) {
  WallNs t = clock.now();
  for (int i = 0; i < 1000; ++i) process(read_at(t + i * 1'000'000, 100, 1000 + i), chain_of({1, 100}));
  auto u = process_rule(kExfilRule, connect_from(t + 5 * kSec, 100, 1), chain_of({1, 100}));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_THAT(u[0].alert.evidence, ElementsAre(1999, 12));
  EXPECT_EQ(u[0].alert.details["elapsed_ns"], 5 * kSec - 999 * 1'000'000);
}

TEST_F(ExfilChain, DescendantsAndAncestorsOfTheReaderCount) {
  WallNs t = clock.now();
  process(read_at(t, 100), chain_of({1, 100}));
  auto child = process_rule(kExfilRule, connect_from(t + kSec, 200, 100), chain_of({1, 100, 200}));
  ASSERT_THAT(child, SizeIs(1));
  EXPECT_EQ(child[0].alert.details["relation"], "descendant of the reader");
  auto grandchild =
      process_rule(kExfilRule, connect_from(t + 2 * kSec, 300, 250, "198.51.100.7"), chain_of({1, 100, 250, 300}));
  ASSERT_THAT(grandchild, SizeIs(1));
  EXPECT_EQ(grandchild[0].alert.details["relation"], "descendant of the reader");

  process(read_at(t + 3 * kSec, 400, 21), chain_of({1, 350, 400}));
  auto parent = process_rule(kExfilRule, connect_from(t + 4 * kSec, 350, 1, "192.0.2.10"), chain_of({1, 350}));
  ASSERT_THAT(parent, SizeIs(1));
  EXPECT_EQ(parent[0].alert.details["relation"], "ancestor of the reader");
  EXPECT_THAT(parent[0].alert.evidence, ElementsAre(21, 12));
}

TEST_F(ExfilChain, QuietForBaselineDestinationsUnrelatedProcessesAndLateConnects) {
  WallNs t = clock.now();
  process(read_at(t, 100), chain_of({1, 100}));
  EXPECT_THAT(process_rule(kExfilRule, connect_from(t + kSec, 100, 1, "10.0.0.1"), chain_of({1, 100})), IsEmpty());
  EXPECT_THAT(process_rule(kExfilRule, connect_from(t + kSec, 500, 1), chain_of({1, 500})), IsEmpty());
  EXPECT_THAT(process_rule(kExfilRule, connect_from(t + 61 * kSec, 100, 1), chain_of({1, 100})), IsEmpty());
  // The same pid in another identity is another process.
  Event other = connect_from(t + 2 * kSec, 100, 1);
  other.identity = kWorker;
  EXPECT_THAT(process_rule(kExfilRule, other, chain_of({1, 100})), IsEmpty());
  // A pid reused by a later process (another start time) is not the reader.
  Event reused = connect_from(t + 3 * kSec, 100, 1);
  reused.process.start_ns = 999'999;
  DetectionContext reused_chain =
      context_for("payments", {chain_entry(1, "/sbin/tini"), {100, 999'999, "x", "/x", {}}});
  EXPECT_THAT(process_rule(kExfilRule, reused, reused_chain), IsEmpty());
}

// Reads share their reader's record while it is the same process: a pid reused by a later process is another one.
TEST_F(ExfilChain, AReusedPidIsAnotherReader) {
  WallNs t = clock.now();
  process(read_at(t, 100, 11), chain_of({1, 100}));
  Event later = file_read(kApi, t + kSec, kTokenPath, kCredB, "kubernetes_sa_token", 100, 21);
  later.process.start_ns = 999'999;
  later.process.exe = "/usr/bin/other";
  DetectionContext later_chain =
      context_for("payments", {chain_entry(1, "/sbin/tini"), {100, 999'999, "other", "/usr/bin/other", {}}});
  process(later, later_chain);
  Event connect = connect_from(t + 2 * kSec, 100, 1);
  connect.process.start_ns = 999'999;
  connect.process.exe = "/usr/bin/other";
  auto u = process_rule(kExfilRule, connect, later_chain);
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.credential_id, kCredB);
  EXPECT_EQ(u[0].alert.details["reader"], "/usr/bin/other");
  EXPECT_EQ(u[0].alert.details["relation"], "same process");
  EXPECT_THAT(u[0].alert.evidence, ElementsAre(21, 12));
  // The first process, still the reader of its own read, under its own name.
  auto first = process_rule(kExfilRule, connect_from(t + 3 * kSec, 100, 1, "198.51.100.7"), chain_of({1, 100}));
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].alert.credential_id, kCredA);
  EXPECT_EQ(first[0].alert.details["reader"], "/usr/bin/proc100");
}

TEST_F(ExfilChain, QuietWhileTheIdentityLearnsAndAfterTheWindowExpires) {
  WallNs t = clock.now();
  Event read = read_at(t, 100);
  read.identity = kWorker;  // first seen now: learning for an hour
  process(read, chain_of({1, 100}));
  Event connect = connect_from(t + kSec, 100, 1);
  connect.identity = kWorker;
  EXPECT_THAT(process_rule(kExfilRule, connect, chain_of({1, 100})), IsEmpty());

  process(read_at(t, 100), chain_of({1, 100}));
  engine->tick(t + 61 * kSec);  // the read falls out of the window
  // An out-of-order connect stamped inside the old window finds nothing left to match.
  EXPECT_THAT(process_rule(kExfilRule, connect_from(t + 30 * kSec, 100, 1), chain_of({1, 100})), IsEmpty());
}

// ---- escalation.proc_snoop

class ProcSnoop : public EngineTest {
 protected:
  void SetUp() override { make_engine(); }
};

TEST_F(ProcSnoop, AnotherIdentitysProcessIsHigh) {
  auto u = process_rule(kSnoopRule, proc_snoop(kApi, clock.now(), 100, 4242, kWorker), context_for("payments"));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.severity, Severity::High);
  EXPECT_EQ(u[0].alert.details["target_identity"], kWorker);
  EXPECT_EQ(u[0].alert.details["method"], "environ");
  EXPECT_EQ(u[0].alert.details["other_identity"], true);
  EXPECT_EQ(u[0].alert.summary, "/usr/bin/proc100 (pid 100) of " + kApi +
                                    " used environ on victim (pid 4242) of another identity, " + kWorker);
}

TEST_F(ProcSnoop, SameOrUnknownIdentityIsMediumAndSelfNeverAlerts) {
  auto same = process_rule(kSnoopRule, proc_snoop(kApi, clock.now(), 100, 4242, kApi, "ptrace"));
  ASSERT_THAT(same, SizeIs(1));
  EXPECT_EQ(same[0].alert.severity, Severity::Medium);
  auto unknown = process_rule(kSnoopRule, proc_snoop(kApi, clock.now(), 100, 4243, "", "mem"));
  ASSERT_THAT(unknown, SizeIs(1));
  EXPECT_EQ(unknown[0].alert.severity, Severity::Medium);

  EXPECT_THAT(process_rule(kSnoopRule, proc_snoop(kApi, clock.now(), 100, 100, kApi)), IsEmpty());
  Event thread = proc_snoop(kApi, clock.now(), 100, 0, kApi);
  std::get<ProcSnoopDetails>(thread.details).target_pid = 100;  // /proc/self/task/<own tid>/environ
  EXPECT_THAT(process_rule(kSnoopRule, thread), IsEmpty());
}

// ---- escalation.privilege_change

class PrivilegeChange : public EngineTest {
 protected:
  void SetUp() override { make_engine(); }
};

TEST_F(PrivilegeChange, BecomingRootOrGainingCapabilitiesIsHigh) {
  auto root = process_rule(kPrivilegeRule, privilege(kApi, clock.now(), 1000, 0));
  ASSERT_THAT(root, SizeIs(1));
  EXPECT_EQ(root[0].alert.severity, Severity::High);
  EXPECT_EQ(root[0].alert.details["became_root"], true);
  EXPECT_EQ(root[0].alert.details["previous_euid"], 1000);
  EXPECT_EQ(root[0].alert.summary,
            "/usr/bin/proc100 (pid 100) of " + kApi + " raised its privilege with setuid: euid 1000 -> 0");

  uint64_t sys_admin = 1ULL << 21, net_raw = 1ULL << 13;
  auto caps = process_rule(kPrivilegeRule, privilege(kWorker, clock.now(), 0, 0, net_raw, net_raw | sys_admin));
  ASSERT_THAT(caps, SizeIs(1));
  EXPECT_EQ(caps[0].alert.details["capabilities_gained"], nlohmann::json({"CAP_SYS_ADMIN"}));
  EXPECT_EQ(caps[0].alert.details["previous_cap_effective"], "0x2000");
  EXPECT_EQ(caps[0].alert.details["cap_effective"], "0x202000");
}

TEST_F(PrivilegeChange, DroppingFailingOrUnknownChangesStayQuiet) {
  EXPECT_THAT(process_rule(kPrivilegeRule, privilege(kApi, clock.now(), 0, 1000)), IsEmpty());
  EXPECT_THAT(process_rule(kPrivilegeRule, privilege(kApi, clock.now(), 0, 0)), IsEmpty());
  EXPECT_THAT(process_rule(kPrivilegeRule, privilege(kApi, clock.now(), 1000, 0, std::nullopt, 0, -1)), IsEmpty());
  EXPECT_THAT(process_rule(kPrivilegeRule, privilege(kApi, clock.now(), std::nullopt, 0)), IsEmpty());
  EXPECT_THAT(process_rule(kPrivilegeRule, privilege(kApi, clock.now(), 1000, 1000, 0x3000, 0x1000)), IsEmpty());
}

TEST(CapabilityNames, NamesKnownBitsAndNumbersTheRest) {
  EXPECT_THAT(capability_names((1ULL << 0) | (1ULL << 39) | (1ULL << 45)),
              ElementsAre("CAP_CHOWN", "CAP_BPF", "CAP_45"));
}

// ---- lifecycle.credential_expired_use

class ExpiredUse : public EngineTest {
 protected:
  void SetUp() override { make_engine(); }
  DetectionContext with_descriptor(nlohmann::json descriptor) {
    DetectionContext c;
    c.credentials.push_back(
        {kCredA, "kubernetes_sa_token", kTokenPath, "", CredentialDescriptor::from(descriptor)});
    return c;
  }
};

TEST_F(ExpiredUse, PastExpiryAlertsAndFutureOrMissingDoesNot) {
  int64_t now_s = clock.now() / kSec;
  auto u = process_rule(kExpiredRule, file_read(kApi, clock.now(), kTokenPath, kCredA),
                        with_descriptor({{"exp", now_s - 3600}, {"kid", "k1"}}));
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.severity, Severity::Medium);
  EXPECT_EQ(u[0].alert.details["expired_for_ns"], 3600 * kSec);
  EXPECT_EQ(u[0].alert.credential_descriptor["kid"], "k1");
  EXPECT_THAT(u[0].alert.summary, HasSubstr("(1h before)"));

  auto nested = process_rule(kExpiredRule, file_read(kWorker, clock.now(), kTokenPath, kCredA),
                             with_descriptor({{"jwt", {{"exp", now_s - 60}}}}));
  EXPECT_THAT(nested, SizeIs(1));
  EXPECT_THAT(process_rule(kExpiredRule, file_read(kBatch, clock.now(), kTokenPath, kCredA),
                           with_descriptor({{"exp", now_s + 3600}})),
              IsEmpty());
  EXPECT_THAT(process_rule(kExpiredRule, file_read(kBatch, clock.now(), kTokenPath, kCredA), with_descriptor({})),
              IsEmpty());
  EXPECT_THAT(process_rule(kExpiredRule, file_read(kBatch, clock.now(), kTokenPath, kCredA),
                           with_descriptor({{"exp", "soon"}})),
              IsEmpty());
}

// The agent's contexts carry the inventory's expiry and no descriptor; the describer gives the alert its descriptor.
TEST_F(ExpiredUse, TheInventorysExpiryIsEnoughAndTheDescriberCompletesTheAlert) {
  int64_t now_s = clock.now() / kSec;
  engine->set_credential_describer(
      [&](const std::string &) { return CredentialDescriptor::from({{"exp", now_s - 7200}, {"kid", "k2"}}); });
  DetectionContext c;
  CredentialContext token{kCredA, "kubernetes_sa_token", kTokenPath, "", CredentialDescriptor::empty()};
  token.expires_ns = (now_s - 7200) * kSec;
  c.credentials.push_back(token);
  auto u = process_rule(kExpiredRule, file_read(kApi, clock.now(), kTokenPath, kCredA), c);
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.details["expired_for_ns"], 7200 * kSec);
  EXPECT_EQ(u[0].alert.credential_descriptor["kid"], "k2");

  c.credentials[0].expires_ns = (now_s + 60) * kSec;  // the inventory's word wins over a descriptor's
  c.credentials[0].descriptor = CredentialDescriptor::from({{"exp", now_s - 7200}});
  EXPECT_THAT(process_rule(kExpiredRule, file_read(kWorker, clock.now(), kTokenPath, kCredA), c), IsEmpty());
}

}  // namespace
}  // namespace credwatch
