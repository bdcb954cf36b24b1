// `credwatch outbox` run as a user would: listing by state, formats, and re-queueing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "response/outbox_store.h"
#include "support/run_command.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

class OutboxCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-outbox-cli-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = (dir / "credwatch.db").string();
    OutboxStore store(Database::open(db));
    WallNs now = wall_now_ns();
    std::vector<DeliveryRecord> rows;
    auto add = [&](std::string id, std::string sink, DeliveryState state, std::string error) {
      DeliveryRecord r;
      r.delivery_id = std::move(id);
      r.sink = std::move(sink);
      r.alert_id = 42;
      r.rule = "lifecycle.task_end";
      r.action = "revoke";
      r.severity = "high";
      r.format = "credwatch";
      r.content_type = "application/json";
      r.body = R"({"id":")" + r.delivery_id + R"(","action":"revoke"})";
      r.created_ns = r.window_start_ns = now - 60'000'000'000;
      r.next_attempt_ns = now + 120'000'000'000;
      r.state = state;
      r.attempts = state == DeliveryState::Pending ? 0 : 3;
      r.last_error = std::move(error);
      rows.push_back(r);
    };
    add("msg_aaaaaaaa000000000000000000000001", "revoker", DeliveryState::Pending, "");
    add("msg_bbbbbbbb000000000000000000000002", "revoker", DeliveryState::Failed, "HTTP 400; not retried");
    add("msg_cccccccc000000000000000000000003", "sidekick", DeliveryState::Dead,
        "sink 'sidekick' is no longer configured");
    add("msg_dddddddd000000000000000000000004", "sidekick", DeliveryState::Failed, "gave up: maxAge (24h) reached");
    add("msg_eeeeeeee000000000000000000000005", "revoker", DeliveryState::Pending, "");
    store.insert(rows);
    store.claim_next("revoker", now + 200'000'000'000);                   // ...0001 in flight
    auto delivered = store.claim_next("revoker", now + 200'000'000'000);  // ...0005
    store.mark_delivered(delivered->seq, now, 200);
  }
  void TearDown() override { fs::remove_all(dir); }

  testing::CommandResult cw(std::vector<std::string> args) {
    args.insert(args.begin(), CREDWATCH_BINARY);
    args.push_back("--db");
    args.push_back(db);
    return run_command(args);
  }
  std::map<std::string, std::string> states(const std::vector<std::string> &args) {
    std::vector<std::string> full = {"outbox", "--format", "json"};
    full.insert(full.end(), args.begin(), args.end());
    auto r = cw(full);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, std::string> out;
    for (const auto &d : nlohmann::json::parse(r.out)) out[d["delivery_id"]] = d["state"];
    return out;
  }

  fs::path dir;
  std::string db;
};

TEST_F(OutboxCliTest, ListsByState) {
  using M = std::map<std::string, std::string>;
  EXPECT_EQ(states({}), (M{{"msg_aaaaaaaa000000000000000000000001", "inflight"},
                           {"msg_bbbbbbbb000000000000000000000002", "failed"},
                           {"msg_cccccccc000000000000000000000003", "dead"},
                           {"msg_dddddddd000000000000000000000004", "failed"}}));
  EXPECT_EQ(states({"--pending"}), (M{{"msg_aaaaaaaa000000000000000000000001", "inflight"}}));
  EXPECT_EQ(states({"--failed"}), (M{{"msg_bbbbbbbb000000000000000000000002", "failed"},
                                     {"msg_cccccccc000000000000000000000003", "dead"},
                                     {"msg_dddddddd000000000000000000000004", "failed"}}));
  EXPECT_EQ(states({"--all"}).size(), 5u);
  EXPECT_EQ(states({"--all"})["msg_eeeeeeee000000000000000000000005"], "delivered");
  EXPECT_EQ(states({"--all", "--sink", "sidekick"}).size(), 2u);
  EXPECT_EQ(states({"--all", "--limit", "2"}).size(), 2u);
}

TEST_F(OutboxCliTest, JsonCarriesEveryColumnAndTheParsedBody) {
  auto r = cw({"outbox", "--all", "--format", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 5u);
  const auto &failed = lines[1];
  EXPECT_EQ(failed["delivery_id"], "msg_bbbbbbbb000000000000000000000002");
  EXPECT_EQ(failed["sink"], "revoker");
  EXPECT_EQ(failed["state"], "failed");
  EXPECT_EQ(failed["alert_id"], 42);
  EXPECT_EQ(failed["rule"], "lifecycle.task_end");
  EXPECT_EQ(failed["action"], "revoke");
  EXPECT_EQ(failed["attempts"], 3);
  EXPECT_EQ(failed["last_error"], "HTTP 400; not retried");
  EXPECT_TRUE(failed["next_attempt"].is_null());
  EXPECT_EQ(failed["body"]["action"], "revoke");
  const auto &delivered = lines[4];
  EXPECT_EQ(delivered["state"], "delivered");
  EXPECT_EQ(delivered["last_status"], 200);
  EXPECT_TRUE(delivered["delivered"].is_string());
}

TEST_F(OutboxCliTest, TableIsAligned) {
  auto r = cw({"outbox", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.find("CREATED"), 0u) << r.out;
  size_t sink_col = header.find("SINK");
  ASSERT_NE(sink_col, std::string::npos);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    EXPECT_NE(line.find("msg_"), std::string::npos) << line;
    EXPECT_TRUE(line.compare(sink_col, 7, "revoker") == 0 || line.compare(sink_col, 8, "sidekick") == 0) << line;
  }
  EXPECT_EQ(lines, 5);
  EXPECT_NE(r.out.find("HTTP 400; not retried"), std::string::npos);
}

TEST_F(OutboxCliTest, RetryRequeuesFailedAndDead) {
  auto r = cw({"outbox", "--retry", "msg_bbbbbbbb", "--retry", "msg_cccccccc000000000000000000000003"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("re-queued msg_bbbbbbbb000000000000000000000002 (sink revoker, rule lifecycle.task_end)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("re-queued msg_cccccccc000000000000000000000003 (sink sidekick"), std::string::npos);
  auto pending = states({"--pending"});
  EXPECT_EQ(pending["msg_bbbbbbbb000000000000000000000002"], "pending");
  EXPECT_EQ(pending["msg_cccccccc000000000000000000000003"], "pending");

  OutboxStore store(Database::open_existing(db));
  for (const auto &row : store.list({})) {
    if (row.delivery_id != "msg_bbbbbbbb000000000000000000000002") continue;
    EXPECT_EQ(row.attempts, 0);  // a fresh retry window
    EXPECT_LE(row.next_attempt_ns, wall_now_ns());
    EXPECT_EQ(row.window_start_ns, row.next_attempt_ns);
  }
}

TEST_F(OutboxCliTest, RetryFailedRequeuesOnlyFailed) {
  auto r = cw({"outbox", "--retry-failed"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("re-queued 2 failed deliveries"), std::string::npos) << r.out;
  auto failed = states({"--failed"});
  EXPECT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed["msg_cccccccc000000000000000000000003"], "dead");
}

TEST_F(OutboxCliTest, RetryErrors) {
  auto unknown = cw({"outbox", "--retry", "msg_nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no delivery with id msg_nope in the outbox"), std::string::npos) << unknown.err;
  auto pending = cw({"outbox", "--retry", "msg_aaaaaaaa000000000000000000000001"});
  EXPECT_EQ(pending.exit_code, 1);
  EXPECT_NE(pending.err.find("is inflight, not failed or dead: nothing to re-queue"), std::string::npos) << pending.err;
  auto ambiguous = cw({"outbox", "--retry", "msg_"});  // too short to be a prefix
  EXPECT_EQ(ambiguous.exit_code, 1);
  auto clash = cw({"outbox", "--retry", "x", "--failed"});
  EXPECT_NE(clash.exit_code, 0);
  auto missing = run_command({CREDWATCH_BINARY, "outbox", "--db", (dir / "none.db").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no database at"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace credwatch
