// The outbox with fakes at its edges: written before attempted, retries and their bounds, maxAge and
// maxAttempts, 410 stops a sink, which statuses are retried, Retry-After, restarts, and slow sinks.
#include "response/outbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_http.h"
#include "response/webhook_signing.h"
#include "sample_alert.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;
using testing::FakeReceivers;
using testing::ManualClock;

constexpr WallNs T0 = 1'764'357'600'000'000'000;  // a whole second
constexpr int64_t kSecond = 1'000'000'000;

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-outbox-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "credwatch.db").string();
    clock = std::make_shared<ManualClock>(T0);
    rx = std::make_unique<FakeReceivers>(*clock);
    key = std::make_shared<const SecretBytes>(parse_signing_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  }
  void TearDown() override { fs::remove_all(dir); }

  WebhookSink sink(const std::string &name) {
    WebhookSink s;
    s.name = name;
    s.url = "https://receiver.test/" + name;
    s.signing_secret = key;
    return s;
  }
  WebhookConfig config(std::vector<WebhookSink> sinks) {
    WebhookConfig c;
    c.sinks = std::move(sinks);
    return c;
  }
  OutboxOptions options() {
    OutboxOptions o;
    o.node = "worker-1";
    o.agent_version = "0.1.0";
    o.clock = clock;
    o.make_client = rx->factory();
    o.random = [this] { return jitter; };
    o.poll_interval_ns = 20'000'000;
    return o;
  }
  // The table as the CLI sees it, through a connection of its own.
  std::vector<DeliveryRecord> rows(const std::string &sink = "") {
    OutboxStore store(Database::open(db));
    DeliveryQuery q;
    q.sink = sink;
    return store.list(q);
  }
  DeliveryRecord row(const std::string &id) {
    for (auto &r : rows())
      if (r.delivery_id == id) return r;
    ADD_FAILURE() << "no row " << id;
    return {};
  }
  SinkStats stats_of(Outbox &o, const std::string &sink) {
    for (auto &s : o.stats())
      if (s.sink == sink) return s;
    ADD_FAILURE() << "no sink " << sink;
    return {};
  }

  fs::path dir;
  std::string db;
  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<FakeReceivers> rx;
  std::shared_ptr<const SecretBytes> key;
  double jitter = 0.0;
};

TEST_F(OutboxTest, WrittenBeforeAttemptedThenDeliveredSigned) {
  Outbox outbox(db, config({sink("revoker")}), options());
  EnqueueResult r = outbox.enqueue(testing::revocation_alert());
  EXPECT_EQ(r.queued, 1u);
  EXPECT_EQ(r.errors, 0u);
  ASSERT_EQ(r.delivery_ids.size(), 1u);
  const std::string id = r.delivery_ids[0];

  // On disk before any attempt.
  auto before = rows();
  ASSERT_EQ(before.size(), 1u);
  const DeliveryRecord &p = before[0];
  EXPECT_EQ(p.delivery_id, id);
  EXPECT_EQ(p.sink, "revoker");
  EXPECT_EQ(p.alert_id, 42);
  EXPECT_EQ(p.rule, "lifecycle.task_end");
  EXPECT_EQ(p.action, "revoke");
  EXPECT_EQ(p.severity, "high");
  EXPECT_EQ(p.format, "credwatch");
  EXPECT_EQ(p.content_type, "application/json");
  EXPECT_EQ(p.state, DeliveryState::Pending);
  EXPECT_EQ(p.attempts, 0);
  EXPECT_EQ(p.created_ns, T0);
  EXPECT_EQ(p.next_attempt_ns, T0);
  EXPECT_EQ(nlohmann::json::parse(p.body)["id"], id);
  EXPECT_EQ(nlohmann::json::parse(p.body)["node"], "worker-1");
  EXPECT_TRUE(rx->requests().empty());
  EXPECT_EQ(stats_of(outbox, "revoker").depth, 1);

  EXPECT_EQ(outbox.deliver_due(), 1u);
  auto requests = rx->requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto &q = requests[0];
  EXPECT_EQ(q.request.url, "https://receiver.test/revoker");
  EXPECT_EQ(q.request.body, p.body);
  EXPECT_EQ(q.header("Content-Type"), "application/json");
  EXPECT_EQ(q.header("webhook-id"), id);
  EXPECT_EQ(q.header("webhook-timestamp"), std::to_string(T0 / kSecond));
  EXPECT_EQ(q.header("webhook-signature"), standard_webhook_signature(*key, id, T0 / kSecond, p.body));
  EXPECT_EQ(q.header("X-Hub-Signature-256"), "");  // not configured
  EXPECT_EQ(q.request.timeout_ns, kDefaultWebhookTimeoutNs);

  DeliveryRecord done = row(id);
  EXPECT_EQ(done.state, DeliveryState::Delivered);
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(done.last_status, 200);
  EXPECT_EQ(done.delivered_ns, T0);
  EXPECT_EQ(outbox.deliver_due(), 0u);
  SinkStats s = stats_of(outbox, "revoker");
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.depth, 0);
  EXPECT_EQ(s.failed_attempts, 0u);
  EXPECT_EQ(s.last_status, 200);
}

TEST_F(OutboxTest, ConfiguredHeadersAndHubSignature) {
  WebhookSink s = sink("gh");
  s.hub_signature = true;
  s.format = WebhookFormat::CloudEvents;
  s.headers = {{"Authorization", "Bearer t"}, {"X-Team", "platform"}};
  s.timeout_ns = 3 * kSecond;
  s.ca_file = "/etc/credwatch/ca.pem";
  Outbox outbox(db, config({s}), options());
  outbox.enqueue(testing::revocation_alert());
  outbox.deliver_due();
  auto q = rx->requests().at(0);
  EXPECT_EQ(q.header("Content-Type"), "application/cloudevents+json");
  EXPECT_EQ(q.header("X-Hub-Signature-256"), hub_signature_256(*key, q.request.body));
  EXPECT_EQ(q.header("Authorization"), "Bearer t");
  EXPECT_EQ(q.header("X-Team"), "platform");
  EXPECT_EQ(q.request.timeout_ns, 3 * kSecond);
  EXPECT_EQ(q.request.ca_file, "/etc/credwatch/ca.pem");
}

TEST_F(OutboxTest, UnsignedSinkStillSendsIdAndTimestamp) {
  WebhookSink s = sink("plain");
  s.signing_secret.reset();
  Outbox outbox(db, config({s}), options());
  std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  outbox.deliver_due();
  auto q = rx->requests().at(0);
  EXPECT_EQ(q.header("webhook-id"), id);
  EXPECT_EQ(q.header("webhook-timestamp"), std::to_string(T0 / kSecond));
  EXPECT_EQ(q.header("webhook-signature"), "");
}

TEST_F(OutboxTest, FiltersChooseSinks) {
  WebhookSink revoker = sink("revoker");
  revoker.filter.actions = {ResponseAction::Revoke};
  WebhookSink escalations = sink("escalations");
  escalations.filter.rules = {"escalation.*"};
  WebhookSink everything = sink("everything");
  Outbox outbox(db, config({revoker, escalations, everything}), options());
  EXPECT_EQ(outbox.enqueue(testing::revocation_alert()).queued, 2u);
  EXPECT_EQ(outbox.enqueue(testing::exfil_alert()).queued, 2u);
  EXPECT_EQ(rows("revoker").size(), 1u);
  EXPECT_EQ(rows("revoker")[0].rule, "lifecycle.task_end");
  EXPECT_EQ(rows("escalations").size(), 1u);
  EXPECT_EQ(rows("escalations")[0].rule, "escalation.exfil_chain");
  EXPECT_EQ(rows("everything").size(), 2u);
}

TEST_F(OutboxTest, BackoffBoundsWithJitter) {
  OutboxOptions o;  // 1 s initial, 5 min cap
  for (int64_t attempt = 1; attempt <= 30; ++attempt) {
    int64_t d = std::min<int64_t>(o.max_backoff_ns, o.initial_backoff_ns << std::min<int64_t>(attempt - 1, 40));
    for (double r : {0.0, 0.25, 0.5, 0.999999}) {
      int64_t b = Outbox::backoff_ns(attempt, r, o);
      EXPECT_GE(b, d / 2) << attempt << " " << r;
      EXPECT_LT(b, d) << attempt << " " << r;
    }
    EXPECT_EQ(Outbox::backoff_ns(attempt, 0.0, o), d / 2);
  }
  EXPECT_EQ(Outbox::backoff_ns(1, 0.0, o), 500'000'000);
  EXPECT_EQ(Outbox::backoff_ns(4, 0.5, o), 6'000'000'000);   // d = 8 s: 4 s + 0.5 * 4 s
  EXPECT_EQ(Outbox::backoff_ns(30, 0.0, o), 150 * kSecond);  // capped at 5 min
}

TEST_F(OutboxTest, RetriesWithExponentialBackoffKeepingTheWebhookId) {
  rx->respond("s", 500);
  rx->respond("s", 502);
  rx->respond("s", 504);
  Outbox outbox(db, config({sink("s")}), options());
  std::string id = outbox.enqueue(testing::revocation_alert()).delivery_ids.at(0);

  EXPECT_EQ(outbox.deliver_due(), 1u);  // t = 0: 500
  DeliveryRecord r = row(id);
  EXPECT_EQ(r.state, DeliveryState::Pending);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.last_status, 500);
  EXPECT_EQ(r.last_error, "HTTP 500");
  EXPECT_EQ(r.next_attempt_ns, T0 + 500'000'000);  // jitter 0: d/2 with d = 1 s
  EXPECT_EQ(outbox.deliver_due(), 0u);
  clock->advance(499'999'999);
  EXPECT_EQ(outbox.deliver_due(), 0u);
  clock->advance(1);
  EXPECT_EQ(outbox.deliver_due(), 1u);  // t = 0.5 s: 502
  EXPECT_EQ(row(id).next_attempt_ns, T0 + 500'000'000 + kSecond);
  clock->advance(kSecond);
  EXPECT_EQ(outbox.deliver_due(), 1u);  // t = 1.5 s: 504
  EXPECT_EQ(row(id).next_attempt_ns, T0 + 1'500'000'000 + 2 * kSecond);
  clock->advance(2 * kSecond);
  EXPECT_EQ(outbox.deliver_due(), 1u);  // t = 3.5 s: 200
  r = row(id);
  EXPECT_EQ(r.state, DeliveryState::Delivered);
  EXPECT_EQ(r.attempts, 4);

  auto requests = rx->requests();
  ASSERT_EQ(requests.size(), 4u);
  std::vector<std::string> stamps;
  for (const auto &q : requests) {
    EXPECT_EQ(q.header("webhook-id"), id);  // stable: receivers deduplicate on it
    EXPECT_EQ(q.request.body, requests[0].request.body);
    std::string ts = q.header("webhook-timestamp");
    EXPECT_EQ(ts, std::to_string(q.at / kSecond));  // the attempt's own time
    EXPECT_EQ(q.header("webhook-signature"), standard_webhook_signature(*key, id, std::stoll(ts), q.request.body));
    stamps.push_back(ts);
  }
  EXPECT_EQ(stamps, (std::vector<std::string>{std::to_string(T0 / kSecond), std::to_string(T0 / kSecond),
                                              std::to_string(T0 / kSecond + 1), std::to_string(T0 / kSecond + 3)}));
  SinkStats s = stats_of(outbox, "s");
  EXPECT_EQ(s.failed_attempts, 3u);
  EXPECT_EQ(s.delivered, 1u);
}

TEST_F(OutboxTest, DefaultJitterSpreadsRetries) {
  std::vector<WebhookSink> sinks;
  for (int i = 0; i < 8; ++i) {
    sinks.push_back(sink("s" + std::to_string(i)));
    rx->set_default("s" + std::to_string(i), 503);
  }
  OutboxOptions o = options();
  o.random = nullptr;  // the real generator
  Outbox outbox(db, config(sinks), o);
  outbox.enqueue(testing::exfil_alert());
  EXPECT_EQ(outbox.deliver_due(), 8u);
  std::set<WallNs> delays;
  for (const auto &r : rows()) {
    EXPECT_GE(r.next_attempt_ns - T0, 500'000'000);
    EXPECT_LT(r.next_attempt_ns - T0, kSecond);
    delays.insert(r.next_attempt_ns - T0);
  }
  EXPECT_GT(delays.size(), 1u) << "eight retries at exactly the same time: no jitter";
}

TEST_F(OutboxTest, FailingSinkPausesInsteadOfHammering) {
  rx->set_default("s", 503);
  Outbox outbox(db, config({sink("s")}), options());
  for (int i = 0; i < 5; ++i) outbox.enqueue(testing::exfil_alert());
  EXPECT_EQ(outbox.deliver_due(), 1u);  // one failure pauses the sink until that delivery's next attempt
  EXPECT_EQ(rx->requests().size(), 1u);
  clock->advance(kSecond);
  EXPECT_EQ(outbox.deliver_due(), 1u);
  rx->set_default("s", 200);
  clock->advance(10 * kSecond);
  EXPECT_EQ(outbox.deliver_due(), 5u);  // recovered: everything goes
  for (const auto &r : rows()) EXPECT_EQ(r.state, DeliveryState::Delivered);
}

TEST_F(OutboxTest, MaxAgeEndsRetries) {
  WebhookSink s = sink("s");
  s.max_age_ns = 10 * kSecond;
  rx->set_default("s", 503);
  Outbox outbox(db, config({s}), options());
  std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  for (int i = 0; i < 20; ++i) {
    outbox.deliver_due();
    clock->advance(kSecond);
  }
  DeliveryRecord r = row(id);
  EXPECT_EQ(r.state, DeliveryState::Failed);
  // jitter 0: attempts at 0, 0.5, 1.5, 3.5, 7.5 s; the next (15.5 s) would be past maxAge.
  EXPECT_EQ(r.attempts, 5);
  EXPECT_EQ(r.last_error, "gave up: maxAge (10.0s) reached after 5 attempt(s); last error: HTTP 503");
  EXPECT_EQ(rx->requests().size(), 5u);
  for (const auto &q : rx->requests()) EXPECT_LT(q.at, T0 + 10 * kSecond);
  SinkStats st = stats_of(outbox, "s");
  EXPECT_EQ(st.gave_up, 1u);
  EXPECT_EQ(st.failed_rows, 1);
  EXPECT_EQ(st.depth, 0);
}

TEST_F(OutboxTest, MaxAgePassedWhileTheAgentWasDown) {
  WebhookSink s = sink("s");
  s.max_age_ns = 60 * kSecond;
  std::string id;
  {
    Outbox first(db, config({s}), options());
    id = first.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  }
  clock->advance(61 * kSecond);
  Outbox second(db, config({s}), options());
  EXPECT_EQ(second.deliver_due(), 0u);
  EXPECT_TRUE(rx->requests().empty());
  EXPECT_EQ(row(id).state, DeliveryState::Failed);
  EXPECT_EQ(row(id).last_error, "gave up: maxAge reached before any attempt");
}

TEST_F(OutboxTest, MaxAttemptsEndsRetries) {
  WebhookSink s = sink("s");
  s.max_attempts = 3;
  rx->set_default("s", 500);
  Outbox outbox(db, config({s}), options());
  std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  for (int i = 0; i < 10; ++i) {
    outbox.deliver_due();
    clock->advance(10 * kSecond);
  }
  EXPECT_EQ(rx->requests().size(), 3u);
  EXPECT_EQ(row(id).state, DeliveryState::Failed);
  EXPECT_EQ(row(id).last_error, "gave up: maxAttempts (3) reached after 3 attempt(s); last error: HTTP 500");
}

TEST_F(OutboxTest, GoneStopsTheSinkAndMarksItsDeliveriesDead) {
  rx->respond("a", 410);
  Outbox outbox(db, config({sink("a"), sink("b")}), options());
  for (int i = 0; i < 3; ++i) outbox.enqueue(testing::exfil_alert());
  outbox.deliver_due();
  EXPECT_EQ(rx->requests("a").size(), 1u);  // one 410 is enough
  EXPECT_EQ(rx->requests("b").size(), 3u);  // the other sink is not affected
  auto dead = rows("a");
  ASSERT_EQ(dead.size(), 3u);
  for (const auto &r : dead) EXPECT_EQ(r.state, DeliveryState::Dead);
  EXPECT_EQ(dead[0].last_status, 410);
  EXPECT_EQ(dead[0].last_error, "the receiver answered 410 Gone: sink stopped");
  EXPECT_EQ(dead[1].last_error, "not attempted: the sink answered 410 Gone to " + dead[0].delivery_id);
  SinkStats a = stats_of(outbox, "a");
  EXPECT_TRUE(a.gone);
  EXPECT_EQ(a.gave_up, 3u);
  EXPECT_EQ(a.dead_rows, 3);
  EXPECT_EQ(a.depth, 0);

  // New alerts are recorded (so nothing vanishes silently) but not sent.
  EnqueueResult later = outbox.enqueue(testing::exfil_alert());
  EXPECT_EQ(later.dead, 1u);
  EXPECT_EQ(later.queued, 1u);  // b
  clock->advance(3600 * kSecond);
  outbox.deliver_due();
  EXPECT_EQ(rx->requests("a").size(), 1u);
  EXPECT_EQ(rx->requests("b").size(), 4u);

  // `credwatch outbox --retry ID` re-queues one: the sink is tried again.
  OutboxStore store(Database::open(db));
  EXPECT_EQ(store.requeue(dead[2].delivery_id, clock->now()), RequeueOutcome::Requeued);
  EXPECT_EQ(outbox.deliver_due(), 1u);
  EXPECT_EQ(rx->requests("a").size(), 2u);
  EXPECT_EQ(row(dead[2].delivery_id).state, DeliveryState::Delivered);
  EXPECT_FALSE(stats_of(outbox, "a").gone);
}

TEST_F(OutboxTest, ClientErrorsAreNotRetriedAndDoNotStopTheSink) {
  HttpResponse bad;
  bad.status = 400;
  bad.body_excerpt = "{\"error\":\"unknown field\"}\n";
  rx->respond("s", bad);
  rx->respond("s", 301);
  rx->respond("s", 404);
  Outbox outbox(db, config({sink("s")}), options());
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0));
  EXPECT_EQ(outbox.deliver_due(), 4u);
  EXPECT_EQ(row(ids[0]).state, DeliveryState::Failed);
  EXPECT_EQ(row(ids[0]).last_status, 400);
  EXPECT_EQ(row(ids[0]).last_error, "HTTP 400: {\"error\":\"unknown field\"} ; not retried");
  EXPECT_EQ(row(ids[1]).last_error, "HTTP 301 (redirects are not followed: configure the final URL); not retried");
  EXPECT_EQ(row(ids[2]).last_error, "HTTP 404; not retried");
  EXPECT_EQ(row(ids[3]).state, DeliveryState::Delivered);
  clock->advance(3600 * kSecond);
  EXPECT_EQ(outbox.deliver_due(), 0u);
  EXPECT_EQ(rx->requests().size(), 4u);
  EXPECT_EQ(stats_of(outbox, "s").gave_up, 3u);
}

TEST_F(OutboxTest, TimeoutsThrottlingAndServerErrorsAreRetried) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    rx->respond("s", status);
    Outbox outbox(db, config({sink("s")}), options());
    std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
    outbox.deliver_due();
    EXPECT_EQ(row(id).state, DeliveryState::Pending) << status;
    EXPECT_EQ(row(id).last_status, status);
    clock->advance(kSecond);
    outbox.deliver_due();
    EXPECT_EQ(row(id).state, DeliveryState::Delivered) << status;
  }
  HttpResponse refused;
  refused.error = "Failed to connect to receiver.test port 443: Connection refused";
  rx->respond("s", refused);
  Outbox outbox(db, config({sink("s")}), options());
  std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  outbox.deliver_due();
  DeliveryRecord r = row(id);
  EXPECT_EQ(r.state, DeliveryState::Pending);
  EXPECT_FALSE(r.last_status.has_value());
  EXPECT_EQ(r.last_error, "Failed to connect to receiver.test port 443: Connection refused");
}

TEST_F(OutboxTest, RetryAfterIsHonouredOn429And503) {
  Outbox outbox(db, config({sink("s")}), options());
  auto next_after = [&](int status, std::optional<std::string> retry_after) {
    rx->respond("s", status, retry_after);
    WallNs sent = clock->now();
    std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
    outbox.deliver_due();
    WallNs next = row(id).next_attempt_ns;
    clock->advance(4000 * kSecond);  // past any pause, and deliver it
    outbox.deliver_due();
    EXPECT_EQ(row(id).state, DeliveryState::Delivered);
    return next - sent;
  };
  EXPECT_EQ(next_after(429, "120"), 120 * kSecond);
  EXPECT_EQ(next_after(503, "7"), 7 * kSecond);
  // An HTTP date 30 s from now.
  time_t when = static_cast<time_t>(clock->now() / kSecond + 30);
  char date[64];
  tm utc{};
  gmtime_r(&when, &utc);
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  EXPECT_EQ(next_after(503, std::string(date)), 30 * kSecond);
  EXPECT_EQ(next_after(429, "0"), kSecond);              // raised to the 1 s floor
  EXPECT_EQ(next_after(429, "999999"), 3600 * kSecond);  // lowered to the 1 h ceiling
  EXPECT_EQ(next_after(429, "soon"), 500'000'000);       // unparseable: plain backoff
  EXPECT_EQ(next_after(500, "120"), 500'000'000);        // only 429 and 503 carry it
}

TEST_F(OutboxTest, RestartResumesPendingAndInFlightWithTheSameIds) {
  std::vector<std::string> ids;
  rx->respond("s", 200);
  rx->respond("s", 503);
  {
    Outbox first(db, config({sink("s")}), options());
    for (int i = 0; i < 3; ++i) ids.push_back(first.enqueue(testing::exfil_alert()).delivery_ids.at(0));
    first.deliver_due();  // ids[0] delivered, ids[1] failed once (sink paused), ids[2] not attempted
  }
  // The agent dies (kill -9) in the middle of the next attempt at ids[2]: the row is left in flight.
  {
    OutboxStore store(Database::open(db));
    auto claimed = store.claim_next("s", clock->now());
    ASSERT_TRUE(claimed.has_value());
    EXPECT_EQ(claimed->delivery_id, ids[2]);
    EXPECT_EQ(row(ids[2]).state, DeliveryState::InFlight);
  }
  EXPECT_EQ(row(ids[0]).state, DeliveryState::Delivered);
  EXPECT_EQ(row(ids[1]).state, DeliveryState::Pending);

  FakeReceivers after(*clock);
  OutboxOptions o = options();
  o.make_client = after.factory();
  clock->advance(kSecond);
  Outbox second(db, config({sink("s")}), o);
  EXPECT_EQ(row(ids[2]).state, DeliveryState::Pending);  // recovered on start
  EXPECT_EQ(second.deliver_due(), 2u);
  auto requests = after.requests();
  ASSERT_EQ(requests.size(), 2u);
  std::set<std::string> sent = {requests[0].header("webhook-id"), requests[1].header("webhook-id")};
  EXPECT_EQ(sent, (std::set<std::string>{ids[1], ids[2]}));  // the delivered one is not sent again
  for (const auto &id : ids) EXPECT_EQ(row(id).state, DeliveryState::Delivered);
  EXPECT_EQ(row(ids[2]).attempts, 2);  // the cut-short attempt counts
}

TEST_F(OutboxTest, RowsOfRemovedSinksBecomeDead) {
  std::string id;
  {
    Outbox first(db, config({sink("a"), sink("b")}), options());
    id = first.enqueue(testing::exfil_alert()).delivery_ids.at(1);
  }
  Outbox second(db, config({sink("a")}), options());
  EXPECT_EQ(row(id).sink, "b");
  EXPECT_EQ(row(id).state, DeliveryState::Dead);
  EXPECT_EQ(row(id).last_error, "sink 'b' is no longer configured");
}

TEST_F(OutboxTest, FinishedRowsArePrunedAfterRetention) {
  {
    Outbox first(db, config({sink("s")}), options());
    first.enqueue(testing::exfil_alert());
    first.enqueue(testing::exfil_alert());
    first.deliver_due();
  }
  EXPECT_EQ(rows().size(), 2u);
  clock->advance(6 * 86400 * kSecond);
  { Outbox kept(db, config({sink("s")}), options()); }
  EXPECT_EQ(rows().size(), 2u);
  clock->advance(2 * 86400 * kSecond);
  { Outbox pruned(db, config({sink("s")}), options()); }
  EXPECT_TRUE(rows().empty());
}

TEST_F(OutboxTest, DryRunLogsAndNeitherStoresNorSends) {
  WebhookConfig c = config({sink("a"), sink("b")});
  c.sinks[1].dry_run = true;
  Outbox one(db, c, options());
  EnqueueResult r = one.enqueue(testing::exfil_alert());
  EXPECT_EQ(r.queued, 1u);
  EXPECT_EQ(r.dry_run, 1u);
  c.dry_run = true;
  Outbox all(db, c, options());
  EnqueueResult r2 = all.enqueue(testing::exfil_alert());
  EXPECT_EQ(r2.queued, 0u);
  EXPECT_EQ(r2.dry_run, 2u);
  EXPECT_EQ(all.deliver_due(), 0u);
  EXPECT_EQ(stats_of(all, "a").dry_run, 1u);
  EXPECT_EQ(rows().size(), 1u);  // only the first outbox's sink a
  EXPECT_EQ(rows()[0].sink, "a");
  EXPECT_EQ(one.deliver_due(), 1u);
  EXPECT_EQ(rx->requests("b").size(), 0u);
}

TEST_F(OutboxTest, ObserverSeesDeliveriesFailuresAndGivingUp) {
  struct Counting : OutboxObserver {
    std::atomic<int> delivered_n{0}, failed_n{0}, gave_up_n{0};
    void delivered(std::string_view) override { ++delivered_n; }
    void attempt_failed(std::string_view) override { ++failed_n; }
    void gave_up(std::string_view) override { ++gave_up_n; }
  } counting;
  rx->respond("s", 500);
  rx->respond("s", 400);
  OutboxOptions o = options();
  o.observer = &counting;
  Outbox outbox(db, config({sink("s")}), o);
  outbox.enqueue(testing::exfil_alert());
  outbox.enqueue(testing::exfil_alert());
  outbox.deliver_due();  // 500: paused
  clock->advance(kSecond);
  outbox.deliver_due();  // the older-due one first... either way: one 400, one 200
  EXPECT_EQ(counting.failed_n, 2);
  EXPECT_EQ(counting.gave_up_n, 1);
  EXPECT_EQ(counting.delivered_n, 1);
}

TEST_F(OutboxTest, NoSinksNoRows) {
  Outbox outbox(db, config({}), options());
  EnqueueResult r = outbox.enqueue(testing::exfil_alert());
  EXPECT_EQ(r.queued + r.dead + r.dry_run + r.errors, 0u);
  EXPECT_TRUE(outbox.stats().empty());
  outbox.start();
  outbox.stop();
}

// Threads: a receiver that never answers holds up neither the pipeline's enqueue calls nor another sink.
TEST_F(OutboxTest, SlowSinkDelaysNeitherOtherSinksNorEnqueue) {
  rx->block("slow");
  Outbox outbox(db, config({sink("slow"), sink("fast")}), options());
  outbox.start();
  auto longest = std::chrono::nanoseconds(0);
  for (int i = 0; i < 20; ++i) {
    auto started = std::chrono::steady_clock::now();
    EnqueueResult r = outbox.enqueue(testing::exfil_alert());
    longest = std::max(longest, std::chrono::steady_clock::now() - started);
    ASSERT_EQ(r.queued, 2u);
  }
  // fast delivers everything while slow's first request hangs.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stats_of(outbox, "fast").delivered < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(stats_of(outbox, "fast").delivered, 20u);
  EXPECT_EQ(rx->requests("slow").size(), 1u);
  EXPECT_EQ(rx->in_flight(), 1u);
  EXPECT_LT(longest, std::chrono::milliseconds(250)) << "an enqueue call waited on a sink";

  // Stopping cancels the hung request promptly; the delivery stays pending for the next start.
  auto stopping = std::chrono::steady_clock::now();
  outbox.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, std::chrono::seconds(2));
  auto slow = rows("slow");
  ASSERT_EQ(slow.size(), 20u);
  for (const auto &r : slow) EXPECT_EQ(r.state, DeliveryState::Pending);
  EXPECT_EQ(slow[0].attempts, 1);
  for (const auto &r : rows("fast")) EXPECT_EQ(r.state, DeliveryState::Delivered);
}

TEST_F(OutboxTest, WorkersPickUpRowsRequeuedFromOutside) {
  rx->respond("s", 422);
  Outbox outbox(db, config({sink("s")}), options());
  outbox.start();
  std::string id = outbox.enqueue(testing::exfil_alert()).delivery_ids.at(0);
  auto wait_for = [&](DeliveryState state) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (row(id).state != state && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return row(id).state;
  };
  EXPECT_EQ(wait_for(DeliveryState::Failed), DeliveryState::Failed);
  // What `credwatch outbox --retry ID` does, from another process: the worker's poll finds it.
  OutboxStore cli(Database::open(db));
  EXPECT_EQ(cli.requeue(id, clock->now()), RequeueOutcome::Requeued);
  EXPECT_EQ(wait_for(DeliveryState::Delivered), DeliveryState::Delivered);
  EXPECT_EQ(rx->requests().size(), 2u);
  outbox.stop();
}

}  // namespace
}  // namespace credwatch
