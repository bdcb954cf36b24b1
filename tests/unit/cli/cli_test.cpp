// The credwatch binary's argument handling and error messages, run unprivileged.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "credwatch_abi.h"
#include "store/database.h"
#include "store/event_writer.h"
#include "support/run_command.h"

namespace credwatch {
namespace {

using testing::run_command;
namespace fs = std::filesystem;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-cli-" + std::to_string(getpid()));
    fs::create_directories(dir);
    db = (dir / "events.db").string();
  }
  void TearDown() override { fs::remove_all(dir); }
  testing::CommandResult cw(std::vector<std::string> args) {
    args.insert(args.begin(), CREDWATCH_BINARY);
    return run_command(args);
  }
  void populate() {
    auto database = Database::open(db);
    EventWriter writer(database, 1);
    for (int i = 0; i < 3; ++i) {
      Event ev;
      ev.kind = EventKind::Connect;
      ev.time_ns = wall_now_ns() - 1'000'000'000;
      ev.process.tgid = ev.process.pid = 100 + i;
      ev.process.comm = "curl";
      ConnectDetails d;
      d.family = 2;
      d.address = "127.0.0.1";
      d.port = static_cast<uint16_t>(8000 + i);
      ev.details = d;
      writer.submit(ev);
    }
    writer.flush();
  }
  fs::path dir;
  std::string db;
};

TEST_F(CliTest, VersionPrintsVersionCommitAndAbi) {
  auto r = cw({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("credwatch "), std::string::npos);
  EXPECT_NE(r.out.find("BPF ABI " + std::to_string(CW_ABI_VERSION)), std::string::npos);
  auto j = nlohmann::json::parse(cw({"version", "--json"}).out);
  EXPECT_EQ(j["bpf_abi"], CW_ABI_VERSION);
  EXPECT_FALSE(j["commit"].get<std::string>().empty());
}

TEST_F(CliTest, NoSubcommandIsAnError) {
  auto r = cw({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("subcommand"), std::string::npos);
}

TEST_F(CliTest, EventsOnAMissingDatabaseNamesIt) {
  auto r = cw({"events", "--db", (dir / "missing.db").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no database at " + (dir / "missing.db").string()), std::string::npos);
  // CREDWATCH_DB is honoured.
  auto env = run_command({CREDWATCH_BINARY, "events"}, {"CREDWATCH_DB=" + (dir / "env.db").string()});
  EXPECT_NE(env.err.find((dir / "env.db").string()), std::string::npos);
}

TEST_F(CliTest, EventsRejectsBadArguments) {
  populate();
  auto kind = cw({"events", "--db", db, "--kind", "bogus"});
  EXPECT_NE(kind.exit_code, 0);
  EXPECT_NE(kind.err.find("unknown event kind 'bogus'"), std::string::npos);
  auto since = cw({"events", "--db", db, "--since", "yesterday"});
  EXPECT_NE(since.exit_code, 0);
  EXPECT_NE(since.err.find("invalid time 'yesterday'"), std::string::npos);
  auto format = cw({"events", "--db", db, "--format", "xml"});
  EXPECT_NE(format.exit_code, 0);
}

TEST_F(CliTest, EventsJsonlAndTable) {
  populate();
  auto r = cw({"events", "--db", db, "--format", "jsonl", "--since", "1h"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["kind"], "connect");
    EXPECT_EQ(j["dest"], "127.0.0.1:" + std::to_string(8000 + n));
    ++n;
  }
  EXPECT_EQ(n, 3);
  auto limited = cw({"events", "--db", db, "--format", "json", "--limit", "1"});
  auto arr = nlohmann::json::parse(limited.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["dest"], "127.0.0.1:8002");  // the newest
  auto table = cw({"events", "--db", db});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("TIME"), std::string::npos);
  EXPECT_NE(table.out.find("ipv4 127.0.0.1:8001"), std::string::npos);
  EXPECT_EQ(table.out.find("\033["), std::string::npos);  // no colour when not a terminal
}

TEST_F(CliTest, AgentRejectsAnInvalidConfigWithItsPosition) {
  std::ofstream(dir / "bad.yaml") << "database: /tmp/x\nring_buffer_mb: 3\n";
  auto r = cw({"agent", "--config", (dir / "bad.yaml").string(), "--db", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "bad.yaml").string() + ":2:17: 'ring_buffer_mb' must be a power of two"),
            std::string::npos)
      << r.err;
  auto missing = cw({"agent", "--config", (dir / "none.yaml").string()});
  EXPECT_NE(missing.exit_code, 0);
}

// Repeats are added to their row when the window closes: retention must not delete the row before then.
TEST_F(CliTest, AgentRejectsARepeatWindowLongerThanHalfTheRetention) {
  std::ofstream(dir / "cw.yaml") << "repeat_window: 1m\n";
  auto r = cw({"agent", "--config", (dir / "cw.yaml").string(), "--db", db, "--retention", "1m"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("repeat_window (60s) must be at most half of retention (60s)"), std::string::npos) << r.err;
}

// A credential shared by 60 identities (sa-59 the most recent) and one used by a single identity.
void add_credentials(const std::string &db_path) {
  auto database = Database::open(db_path);
  auto ins = database.prepare(
      "INSERT INTO credentials(id, digest, kind, first_seen_ns, last_used_ns, uses) "
      "VALUES (?, ?, 'docker_config', 1, ?, ?)");
  auto use = database.prepare(
      "INSERT INTO credential_uses(credential, identity, first_used_ns, last_used_ns, uses) VALUES (?, ?, 1, ?, 1)");
  ins.bind(1, "cw_00000000000000aa").bind(2, "a").bind(3, int64_t{2000}).bind(4, int64_t{60});
  ins.step();
  ins.reset();
  for (int i = 0; i < 60; ++i) {
    use.bind(1, "cw_00000000000000aa").bind(2, "spiffe://cluster.local/ns/n/sa/sa-" + std::to_string(i))
        .bind(3, int64_t{1000 + i});
    use.step();
    use.reset();
  }
  ins.bind(1, "cw_00000000000000bb").bind(2, "b").bind(3, int64_t{1000}).bind(4, int64_t{1});
  ins.step();
  use.bind(1, "cw_00000000000000bb").bind(2, "spiffe://cluster.local/ns/n/sa/alone").bind(3, int64_t{1000});
  use.step();
}

// Lists cap each credential's identities at 50 (--identities N, 0: all); --id shows them all unless told otherwise.
TEST_F(CliTest, CredentialsCapTheIdentitiesOfEachCredential) {
  add_credentials(db);
  auto list = cw({"credentials", "--db", db, "--format", "json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto arr = nlohmann::json::parse(list.out);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["id"], "cw_00000000000000aa");
  EXPECT_EQ(arr[0]["identities"].size(), 50u);
  EXPECT_EQ(arr[0]["identities"][0]["identity"], "spiffe://cluster.local/ns/n/sa/sa-59");
  EXPECT_EQ(arr[0]["identities"][49]["identity"], "spiffe://cluster.local/ns/n/sa/sa-10");
  EXPECT_EQ(arr[0]["identity_count"], 60);
  EXPECT_EQ(arr[0]["identities_truncated"], true);
  EXPECT_EQ(arr[1]["identities"].size(), 1u);
  EXPECT_EQ(arr[1]["identity_count"], 1);
  EXPECT_EQ(arr[1]["identities_truncated"], false);

  auto three = nlohmann::json::parse(cw({"credentials", "--db", db, "--format", "json", "--identities", "3"}).out);
  EXPECT_EQ(three[0]["identities"].size(), 3u);
  auto all = nlohmann::json::parse(cw({"credentials", "--db", db, "--format", "json", "--identities", "0"}).out);
  EXPECT_EQ(all[0]["identities"].size(), 60u);
  EXPECT_EQ(all[0]["identities_truncated"], false);

  // A whole id names one credential: all its users. A prefix or a glob may match thousands: capped.
  auto one =
      nlohmann::json::parse(cw({"credentials", "--db", db, "--format", "json", "--id", "cw_00000000000000aa"}).out);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["identities"].size(), 60u);
  auto prefix =
      nlohmann::json::parse(cw({"credentials", "--db", db, "--format", "json", "--id", "cw_00000000000000a"}).out);
  ASSERT_EQ(prefix.size(), 1u);
  EXPECT_EQ(prefix[0]["identities"].size(), 50u);
  EXPECT_EQ(prefix[0]["identity_count"], 60);
  auto one_capped = nlohmann::json::parse(
      cw({"credentials", "--db", db, "--format", "json", "--id", "cw_00000000000000aa", "--identities", "5"}).out);
  EXPECT_EQ(one_capped[0]["identities"].size(), 5u);
  EXPECT_EQ(one_capped[0]["identity_count"], 60);

  auto shared =
      nlohmann::json::parse(cw({"credentials", "--db", db, "--format", "json", "--shared", "--identities", "1"}).out);
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_EQ(shared[0]["id"], "cw_00000000000000aa");

  // The table counts every identity, not only those listed; a credential's only user is named.
  auto table = cw({"credentials", "--db", db, "--identities", "2"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("60 identities"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("spiffe://cluster.local/ns/n/sa/alone"), std::string::npos) << table.out;

  auto negative = cw({"credentials", "--db", db, "--identities", "-1"});
  EXPECT_NE(negative.exit_code, 0);
  EXPECT_NE(negative.err.find("--identities: must be 0 or more, not -1"), std::string::npos) << negative.err;
}

// CLI11 reads "-1" into an unsigned count as its largest value: every listing command must refuse it, not list all.
TEST_F(CliTest, NegativeLimitsAreRefused) {
  populate();
  for (const char *command : {"events", "alerts", "credentials", "outbox"}) {
    auto r = cw({command, "--db", db, "--limit", "-1"});
    EXPECT_NE(r.exit_code, 0) << command;
    EXPECT_NE(r.err.find("--limit: must be 0 or more, not -1"), std::string::npos) << command << ": " << r.err;
    EXPECT_EQ(cw({command, "--db", db, "--limit", "0"}).exit_code, 0) << command;
  }
}

}  // namespace
}  // namespace credwatch
