// The engine: policy rule overrides, reload, rule switches, baseline reset, the clock, tick and option checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "detect_fixtures.h"

namespace credwatch {
namespace {

using namespace credwatch::testing;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const std::string kAwsPath = "/root/.aws/credentials";
const std::string kCredA = "cw_00000000000000aa";
const std::string kCredB = "cw_00000000000000bb";

const std::string kOverridePolicy = kPaymentsPolicy + R"(  rules:
    - rule: "escalation.proc_snoop"
      severity: low
    - rule: "escalation.*"
      action: kill
      severity: critical
    - rule: "policy.credential_not_allowed"
      severity: info
)";

TEST_F(EngineTest, PolicyRuleOverridesSetActionAndSeverity) {
  make_engine({}, load_policies_text(kOverridePolicy));
  DetectionContext ctx = context_for("payments");
  auto priv = process_rule("escalation.privilege_change", privilege(kApi, clock.now(), 1000, 0), ctx);
  ASSERT_THAT(priv, SizeIs(1));
  EXPECT_EQ(priv[0].alert.severity, Severity::Critical);
  EXPECT_EQ(priv[0].alert.action, ResponseAction::Kill);

  // The first matching entry gives the severity; the action comes from the next entry that sets one.
  auto snoop = process_rule("escalation.proc_snoop", proc_snoop(kApi, clock.now(), 100, 4242, kWorker), ctx);
  ASSERT_THAT(snoop, SizeIs(1));
  EXPECT_EQ(snoop[0].alert.severity, Severity::Low);
  EXPECT_EQ(snoop[0].alert.action, ResponseAction::Kill);

  // Severity overridden; the action stays the credentials section's.
  auto cred = process_rule("policy.credential_not_allowed", file_read(kApi, clock.now(), kAwsPath, kCredA), ctx);
  ASSERT_THAT(cred, SizeIs(1));
  EXPECT_EQ(cred[0].alert.severity, Severity::Info);
  EXPECT_EQ(cred[0].alert.action, ResponseAction::Revoke);

  // Identities the policy does not select keep the defaults.
  auto other =
      process_rule("escalation.privilege_change", privilege(kBatch, clock.now(), 1000, 0), context_for("batch"));
  ASSERT_THAT(other, SizeIs(1));
  EXPECT_EQ(other[0].alert.severity, Severity::High);
  EXPECT_EQ(other[0].alert.action, ResponseAction::Alert);
}

TEST_F(EngineTest, RepeatsFoldAndTickReopens) {
  make_engine({}, load_policies_text(kPaymentsPolicy));
  DetectionContext ctx = context_for("payments");
  WallNs t0 = clock.now();
  auto first = process(file_read(kApi, t0, kAwsPath, kCredA, "aws_credentials", 100, 1), ctx);
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].kind, AlertUpdate::Kind::New);
  engine->alert_stored(first[0].alert.dedup_key, 501);

  clock.advance(5 * kMin);
  auto second = process(file_read(kApi, clock.now(), kAwsPath, kCredA, "aws_credentials", 100, 2), ctx);
  ASSERT_THAT(second, SizeIs(1));
  EXPECT_EQ(second[0].kind, AlertUpdate::Kind::Folded);
  EXPECT_EQ(second[0].alert.id, 501);
  EXPECT_EQ(second[0].alert.count, 2u);
  EXPECT_EQ(second[0].alert.first_seen_ns, t0);
  EXPECT_EQ(second[0].alert.last_seen_ns, t0 + 5 * kMin);
  EXPECT_EQ(engine->open_alerts(), 1u);

  clock.set(t0 + kHour);
  engine->tick();
  EXPECT_EQ(engine->open_alerts(), 0u);
  auto third = process(file_read(kApi, clock.now(), kAwsPath, kCredA, "aws_credentials", 100, 3), ctx);
  ASSERT_THAT(third, SizeIs(1));
  EXPECT_EQ(third[0].kind, AlertUpdate::Kind::New);
  EXPECT_EQ(third[0].alert.id, 0);
  EXPECT_EQ(third[0].alert.count, 1u);
}

TEST_F(EngineTest, ReloadSwapsThePolicies) {
  make_engine({}, load_policies_text(kPaymentsPolicy));
  DetectionContext ctx = context_for("payments");
  EXPECT_THAT(process(connect_to(kApi, clock.now(), "203.0.113.9", 443), ctx), SizeIs(1));

  engine->set_policies(load_policies_text(R"(apiVersion: credwatch.io/v1alpha1
kind: CredentialPolicy
metadata: {name: open-egress}
spec:
  selector: {namespaces: ["payments"]}
  egress:
    allow:
      - cidr: 0.0.0.0/0
    action: alert
)"));
  EXPECT_EQ(engine->policies().policies().size(), 1u);
  EXPECT_EQ(engine->policies().policies()[0].name, "open-egress");
  EXPECT_THAT(process(connect_to(kApi, clock.now(), "203.0.113.9", 443), ctx), IsEmpty());
  // The reload also dropped the credential restrictions.
  EXPECT_THAT(process(file_read(kApi, clock.now(), kAwsPath, kCredA), ctx), IsEmpty());

  engine->set_policies(PolicySet());
  EXPECT_THAT(process(connect_to(kApi, clock.now(), "203.0.113.9", 443), ctx), IsEmpty());
  engine->set_policies(load_policies_text(kPaymentsPolicy));
  auto again = process(connect_to(kApi, clock.now(), "203.0.113.9", 443), ctx);
  ASSERT_THAT(again, SizeIs(1));
  EXPECT_EQ(again[0].kind, AlertUpdate::Kind::Folded);  // same key, same window as the first
}

TEST_F(EngineTest, ContextPolicyTakesPrecedenceOverTheEnginesSet) {
  make_engine();  // no policies
  PolicySet set = load_policies_text(kPaymentsPolicy);
  DetectionContext ctx = context_for("payments");
  ctx.policy = set.for_subject(PolicySubject::from_spiffe_id(kApi));
  auto u = process_rule("policy.egress_not_allowed", connect_to(kApi, clock.now(), "203.0.113.9", 443), ctx);
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.action, ResponseAction::Block);
}

TEST_F(EngineTest, RulesCanBeSwitchedOffAndOn) {
  DetectionOptions o;
  o.disabled_rules = {"escalation.privilege_change"};
  make_engine(o);
  EXPECT_FALSE(engine->rule_enabled("escalation.privilege_change"));
  EXPECT_THAT(process(privilege(kApi, clock.now(), 1000, 0)), IsEmpty());

  EXPECT_TRUE(engine->set_rule_enabled("escalation.privilege_change", true));
  EXPECT_THAT(process(privilege(kApi, clock.now(), 1000, 0)), SizeIs(1));

  EXPECT_TRUE(engine->set_rule_enabled("escalation.proc_snoop", false));
  EXPECT_THAT(process(proc_snoop(kApi, clock.now(), 100, 4242, kWorker)), IsEmpty());
  EXPECT_FALSE(engine->set_rule_enabled("escalation.sudo", false));
  EXPECT_FALSE(engine->rule_enabled("escalation.sudo"));

  auto rules = engine->rules();
  ASSERT_THAT(rules, SizeIs(9));
  EXPECT_EQ(rules[0].info.name, "policy.credential_not_allowed");
  EXPECT_EQ(rules[0].info.default_severity, Severity::High);
  size_t disabled = 0;
  for (const auto &r : rules) disabled += !r.enabled;
  EXPECT_EQ(disabled, 1u);
}

TEST_F(EngineTest, ResetBaselineStartsLearningAgain) {
  DetectionOptions o;
  o.learning_window_ns = kHour;
  make_engine(o);
  WallNs t0 = clock.now();
  process(file_read(kApi, t0, kAwsPath, kCredA));
  clock.set(t0 + 2 * kHour);
  EXPECT_THAT(process_rule("escalation.new_credential", env_read(kApi, clock.now(), "TOKEN", kCredB)), SizeIs(1));

  EXPECT_TRUE(engine->reset_baseline(kApi));
  EXPECT_FALSE(engine->reset_baseline(kApi));
  EXPECT_EQ(engine->baselines().find(kApi), nullptr);
  clock.advance(kMin);
  EXPECT_THAT(process_rule("escalation.new_credential", env_read(kApi, clock.now(), "OTHER", "cw_00000000000000cc")),
              IsEmpty());
  EXPECT_EQ(engine->baselines().find(kApi)->started_ns, t0 + 2 * kHour + kMin);
  EXPECT_EQ(engine->baselines().state(kApi, clock.now()), BaselineState::Learning);
}

TEST_F(EngineTest, EventsWithoutATimeUseTheClock) {
  make_engine();
  clock.set(1'800'000'000'000'000'000);
  Event e = privilege(kApi, 0, 1000, 0);
  auto u = process(e);
  ASSERT_THAT(u, SizeIs(1));
  EXPECT_EQ(u[0].alert.time_ns, 1'800'000'000'000'000'000);
  EXPECT_EQ(engine->baselines().find(kApi)->started_ns, 1'800'000'000'000'000'000);
}

TEST_F(EngineTest, BaselinesSurviveAnExportAndImport) {
  DetectionOptions o;
  o.learning_window_ns = kHour;
  make_engine(o);
  WallNs t0 = clock.now();
  process(file_read(kApi, t0, kAwsPath, kCredA));
  nlohmann::json saved = engine->baselines().to_json();

  make_engine(o);  // an agent restart
  ASSERT_EQ(engine->baselines().load_json(saved), "");
  clock.set(t0 + 2 * kHour);
  EXPECT_THAT(process_rule("escalation.new_credential", file_read(kApi, clock.now(), kAwsPath, kCredA)), IsEmpty());
  EXPECT_THAT(process_rule("escalation.new_credential", env_read(kApi, clock.now(), "TOKEN", kCredB)), SizeIs(1));
}

TEST(DetectionOptions, ValidateNamesTheProblem) {
  DetectionOptions o;
  EXPECT_EQ(validate(o), "");
  o.disabled_rules = {"escalation.sudo"};
  EXPECT_EQ(validate(o), "disabled rule 'escalation.sudo' is not a detection rule");
  o = {};
  o.dedup_window_ns = 0;
  EXPECT_EQ(validate(o), "deduplication window must be positive");
  o = {};
  o.exfil.window_ns = -1;
  EXPECT_EQ(validate(o), "exfil chain window must be positive");
  o = {};
  o.reuse.environments = {{"", "prod"}};
  EXPECT_EQ(validate(o), "reuse: environments[0]: empty namespace glob");
  o = {};
  o.learning_window_ns = -5;
  EXPECT_THAT(validate(o), HasSubstr("learning window"));
}

TEST(SystemClock, FollowsTheWallClock) {
  SystemClock c;
  WallNs before = wall_now_ns();
  WallNs now = c.now();
  EXPECT_GE(now, before);
  EXPECT_LT(now - before, 5 * kSec);
}

}  // namespace
}  // namespace credwatch
