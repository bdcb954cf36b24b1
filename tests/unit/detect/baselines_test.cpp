// Baselines: the learning window, what it records, the cap, reset, iteration and the JSON round trip.
#include "detect/baselines.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "detect_fixtures.h"

namespace credwatch {
namespace {

using namespace credwatch::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

TEST(Baselines, LearnsDuringTheWindowThenFreezes) {
  FakeClock clock;
  WallNs t0 = clock.now();
  Baselines b;
  b.observe(file_read(kApi, t0, "/root/.aws/credentials", "cw_00000000000000aa"), std::nullopt, t0);
  EXPECT_EQ(b.state(kApi, t0), BaselineState::Learning);
  clock.advance(2 * kHour);
  b.observe(connect_to(kApi, clock.now(), "10.0.0.1", 443), std::nullopt, clock.now());
  b.observe(connect_to(kApi, clock.now(), "/run/app.sock", 0), std::nullopt, clock.now());
  b.observe(exec_of(kApi, clock.now(), "/usr/bin/curl"), std::nullopt, clock.now());

  clock.set(t0 + 24 * kHour);
  EXPECT_EQ(b.state(kApi, clock.now()), BaselineState::Enforcing);
  b.observe(file_read(kApi, clock.now(), "/etc/other", "cw_00000000000000bb"), std::nullopt, clock.now());
  b.observe(connect_to(kApi, clock.now(), "203.0.113.9", 443), std::nullopt, clock.now());

  const IdentityBaseline *ib = b.find(kApi);
  ASSERT_NE(ib, nullptr);
  EXPECT_EQ(ib->started_ns, t0);
  EXPECT_EQ(ib->window_ns, 24 * kHour);
  EXPECT_THAT(ib->credentials.ids(), ElementsAre("cw_00000000000000aa"));
  EXPECT_THAT(ib->credential_sources, ElementsAre("file:/root/.aws/credentials"));
  EXPECT_THAT(ib->destinations, ElementsAre("/run/app.sock", "10.0.0.1:443"));
  EXPECT_THAT(ib->executables, ElementsAre("/usr/bin/curl"));
  EXPECT_TRUE(b.knows_credential(kApi, "cw_00000000000000aa"));
  EXPECT_FALSE(b.knows_credential(kApi, "cw_00000000000000bb"));
  EXPECT_FALSE(b.knows_destination(kApi, "203.0.113.9:443"));
  EXPECT_FALSE(ib->truncated);
}

TEST(Baselines, UnknownIdentityIsLearningAndFailedOpensAreNotUses) {
  Baselines b;
  EXPECT_EQ(b.state(kWorker, 5), BaselineState::Learning);
  Event failed = file_read(kApi, 1, "/root/.aws/credentials", "cw_00000000000000aa");
  std::get<FileOpenDetails>(failed.details).result = -13;
  b.observe(failed, std::nullopt, 1);
  ASSERT_NE(b.find(kApi), nullptr);
  EXPECT_TRUE(b.find(kApi)->credentials.empty());
}

TEST(Baselines, PolicyWindowReplacesTheDefaultAndZeroTurnsItOff) {
  Baselines b(24 * kHour);
  b.observe(connect_to(kApi, 0, "10.0.0.1", 443), kHour, 0);
  EXPECT_EQ(b.state(kApi, kHour - 1), BaselineState::Learning);
  EXPECT_EQ(b.state(kApi, kHour), BaselineState::Enforcing);
  // A reload that lengthens the window re-opens learning from the same start.
  b.observe(connect_to(kApi, kHour + 1, "10.0.0.2", 443), 2 * kHour, kHour + 1);
  EXPECT_EQ(b.find(kApi)->window_ns, 2 * kHour);
  EXPECT_TRUE(b.knows_destination(kApi, "10.0.0.2:443"));

  b.observe(connect_to(kWorker, 0, "10.0.0.1", 443), 0, 0);
  EXPECT_EQ(b.state(kWorker, 0), BaselineState::Off);
  EXPECT_FALSE(b.knows_destination(kWorker, "10.0.0.1:443"));
  EXPECT_EQ(to_string(BaselineState::Off), "off");
}

TEST(Baselines, CapsEachSetAndSaysSo) {
  Baselines b(kHour, 2);
  for (int i = 1; i <= 3; ++i) b.observe(connect_to(kApi, i, "10.0.0." + std::to_string(i), 443), std::nullopt, i);
  EXPECT_EQ(b.find(kApi)->destinations.size(), 2u);
  EXPECT_TRUE(b.find(kApi)->truncated);
  EXPECT_FALSE(b.knows_destination(kApi, "10.0.0.3:443"));
}

TEST(Baselines, ResetStartsANewWindowAndIterationListsIdentities) {
  Baselines b(kHour);
  b.observe(connect_to(kWorker, 0, "10.0.0.1", 443), std::nullopt, 0);
  b.observe(connect_to(kApi, 0, "10.0.0.1", 443), std::nullopt, 0);
  EXPECT_THAT(b.identities(), ElementsAre(kWorker, kApi));  // sorted by id
  std::vector<std::string> seen;
  for (const auto &[id, baseline] : b) seen.push_back(baseline.identity);
  EXPECT_THAT(seen, UnorderedElementsAre(kWorker, kApi));  // iteration is in no particular order

  EXPECT_TRUE(b.reset(kApi));
  EXPECT_FALSE(b.reset(kApi));
  EXPECT_EQ(b.size(), 1u);
  b.observe(connect_to(kApi, 5 * kHour, "10.9.9.9", 443), std::nullopt, 5 * kHour);
  EXPECT_EQ(b.find(kApi)->started_ns, 5 * kHour);
  EXPECT_EQ(b.state(kApi, 5 * kHour + kMin), BaselineState::Learning);
  EXPECT_FALSE(b.knows_destination(kApi, "10.0.0.1:443"));
}

TEST(Baselines, JsonRoundTripKeepsEverything) {
  Baselines b(kHour);
  b.observe(file_read(kApi, 10, "/root/.aws/credentials", "cw_00000000000000aa,cw_00000000000000ab"), std::nullopt, 10);
  b.observe(env_read(kApi, 11, "STRIPE_KEY", "cw_00000000000000ac"), std::nullopt, 11);
  b.observe(connect_to(kApi, 12, "::1", 8443), std::nullopt, 12);
  b.observe(exec_of(kWorker, 13, "/bin/sh"), 0, 13);

  // Through text, as the agent stores it.
  nlohmann::json doc = nlohmann::json::parse(b.to_json().dump());
  EXPECT_EQ(doc["version"], 1);
  Baselines copy;
  EXPECT_EQ(copy.load_json(doc), "");
  ASSERT_EQ(copy.size(), 2u);
  const IdentityBaseline *api = copy.find(kApi);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->started_ns, 10);
  EXPECT_EQ(api->window_ns, kHour);
  EXPECT_THAT(api->credentials.ids(), ElementsAre("cw_00000000000000aa", "cw_00000000000000ab", "cw_00000000000000ac"));
  EXPECT_THAT(api->credential_sources, ElementsAre("env:STRIPE_KEY", "file:/root/.aws/credentials"));
  EXPECT_THAT(api->destinations, ElementsAre("[::1]:8443"));
  EXPECT_EQ(copy.find(kWorker)->window_ns, 0);
  EXPECT_EQ(copy.to_json(), b.to_json());
}

TEST(Baselines, LoadRejectsBadDocumentsAndKeepsWhatItHad) {
  Baselines b(kHour);
  b.observe(connect_to(kApi, 0, "10.0.0.1", 443), std::nullopt, 0);
  nlohmann::json before = b.to_json();

  EXPECT_THAT(b.load_json(nlohmann::json::array()), HasSubstr("must be an object"));
  EXPECT_THAT(b.load_json({{"version", 2}, {"baselines", nlohmann::json::array()}}), HasSubstr("version 2"));
  EXPECT_THAT(b.load_json({{"version", 1}}), HasSubstr("no 'baselines' array"));

  nlohmann::json doc = before;
  doc["baselines"][0]["destinations"] = "10.0.0.1:443";
  EXPECT_EQ(b.load_json(doc), "baselines[0]: baseline of " + kApi + ": 'destinations' must be an array of strings");
  doc["baselines"][0]["destinations"] = {"10.0.0.1:443", 7};
  EXPECT_EQ(b.load_json(doc),
            "baselines[0]: baseline of " + kApi + ": 'destinations' must be an array of strings, found number");
  doc = before;
  doc["baselines"][0].erase("started_ns");
  EXPECT_THAT(b.load_json(doc), HasSubstr("'started_ns' is missing or not an integer"));
  doc = before;
  doc["baselines"][0]["window_ns"] = -1;
  EXPECT_THAT(b.load_json(doc), HasSubstr("'window_ns' must not be negative"));
  doc = before;
  doc["baselines"].push_back(before["baselines"][0]);
  EXPECT_THAT(b.load_json(doc), HasSubstr("appears twice"));
  doc = before;
  doc["baselines"][0].erase("identity");
  EXPECT_EQ(b.load_json(doc), "baselines[0]: 'identity' is missing or not a non-empty string");
  doc = before;
  doc["baselines"][0]["credentials"] = {"cw_00000000000000aa", "cw_A"};
  EXPECT_EQ(b.load_json(doc), "baselines[0]: baseline of " + kApi +
                                  ": 'credentials' holds 'cw_A', which is not a credential id (cw_ and 16 lower-case "
                                  "hex digits)");
  doc["baselines"][0]["credentials"] = {7};
  EXPECT_THAT(b.load_json(doc), HasSubstr("'credentials' holds 7, which is not a credential id"));

  EXPECT_EQ(b.to_json(), before);
}

TEST(Baselines, PutReplacesOneIdentity) {
  Baselines b(kHour);
  b.observe(connect_to(kApi, 0, "10.0.0.1", 443), std::nullopt, 0);
  std::string error;
  auto imported = IdentityBaseline::from_json(
      {{"identity", kApi}, {"started_ns", 7}, {"window_ns", 0}, {"destinations", {"10.0.0.9:80"}}}, &error);
  ASSERT_TRUE(imported) << error;
  b.put(*imported);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_TRUE(b.knows_destination(kApi, "10.0.0.9:80"));
  EXPECT_FALSE(b.knows_destination(kApi, "10.0.0.1:443"));
  EXPECT_EQ(b.state(kApi, 100), BaselineState::Off);
}

}  // namespace
}  // namespace credwatch
