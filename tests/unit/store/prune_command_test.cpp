// `credwatch prune`, run as a user would: what it deletes and reports, and its errors.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/time.h"
#include "store/database.h"
#include "support/run_command.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

constexpr int64_t kDay = 86'400'000'000'000LL;

class PruneCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-prune-cmd-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    db_path = (dir / "credwatch.db").string();
  }
  void TearDown() override { fs::remove_all(dir); }

  // 30 events and 3 counters from a month ago, 5 events from yesterday, one exited and one live old process.
  void populate() {
    auto db = Database::open(db_path);
    WallNs now = wall_now_ns();
    Transaction tx(db);
    auto event = db.prepare(
        "INSERT INTO events(time_ns, kind, pid, tgid, ppid, uid, gid, start_ns, comm, cgroup_id) "
        "VALUES (?, 'exec', 1, 1, 0, 0, 0, 0, 'sh', 0)");
    for (int i = 0; i < 35; ++i) {
      event.bind(1, i < 30 ? now - 30 * kDay + i : now - kDay + i).step();
      event.reset();
    }
    db.exec("INSERT INTO sensor_stats(time_ns, run_id, source, emitted, lost) VALUES (" +
            std::to_string(now - 30 * kDay) + ", 1, 'exec', 1, 0), (" + std::to_string(now - 29 * kDay) +
            ", 1, 'exec', 1, 0), (" + std::to_string(now - 28 * kDay) + ", 1, 'exec', 1, 0)");
    db.exec(
        "INSERT INTO processes(tgid, start_ns, ppid, parent_start_ns, uid, comm, cgroup_id, seen_ns, exit_ns) "
        "VALUES (10, 1, 1, 0, 0, 'sh', 0, " +
        std::to_string(now - 30 * kDay) + ", " + std::to_string(now - 29 * kDay) + "), (11, 1, 1, 0, 0, 'sh', 0, " +
        std::to_string(now - 30 * kDay) + ", NULL)");
    tx.commit();
  }
  testing::CommandResult prune(std::vector<std::string> args) {
    args.insert(args.begin(), {CREDWATCH_BINARY, "prune"});
    return run_command(args);
  }
  int64_t count(const std::string &table) {
    auto db = Database::open_existing(db_path);
    auto s = db.prepare("SELECT COUNT(*) FROM " + table);
    s.step();
    return s.int64(0);
  }

  fs::path dir;
  std::string db_path;
};

TEST_F(PruneCommandTest, JsonReportsWhatWasDeletedPerTable) {
  populate();
  auto r = prune({"--older-than", "7d", "--db", db_path, "--batch", "7", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["database"], db_path);
  EXPECT_EQ(j["older_than"], "7d");
  EXPECT_EQ(j["deleted"]["events"], 30);
  EXPECT_EQ(j["deleted"]["sensor_stats"], 3);
  EXPECT_EQ(j["deleted"]["processes"], 1);
  EXPECT_EQ(j["deleted"]["outbox"], 0);
  EXPECT_EQ(j["total"], 34);
  EXPECT_EQ(j["complete"], true);
  EXPECT_TRUE(j["cutoff"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(r.err, "");  // no progress line when stderr is not a terminal
  EXPECT_EQ(count("events"), 5);
  EXPECT_EQ(count("sensor_stats"), 0);
  EXPECT_EQ(count("processes"), 1);  // the live one
}

TEST_F(PruneCommandTest, TableNamesEachTableAndWhatIsKept) {
  populate();
  auto r = run_command({CREDWATCH_BINARY, "prune", "--older-than", "2w"}, {"CREDWATCH_DB=" + db_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("deleted rows older than 2w"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("events        30"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sensor_stats  3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("processes     1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total         34"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kept: alerts"), std::string::npos) << r.out;
  // A second run finds nothing more.
  auto again = prune({"--older-than", "2w", "--db", db_path, "--json"});
  EXPECT_EQ(nlohmann::json::parse(again.out)["total"], 0);
}

TEST_F(PruneCommandTest, BadAgesAndMissingDatabasesAreClearErrors) {
  populate();
  auto bad = prune({"--older-than", "7x", "--db", db_path});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--older-than: invalid time '7x'"), std::string::npos) << bad.err;
  auto zero = prune({"--older-than", "0s", "--db", db_path});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_NE(zero.err.find("must be longer than 0"), std::string::npos) << zero.err;
  auto missing_flag = prune({"--db", db_path});
  EXPECT_NE(missing_flag.exit_code, 0);
  EXPECT_NE(missing_flag.err.find("--older-than"), std::string::npos) << missing_flag.err;
  auto bad_batch = prune({"--older-than", "7d", "--db", db_path, "--batch", "0"});
  EXPECT_NE(bad_batch.exit_code, 0);
  EXPECT_NE(bad_batch.err.find("--batch"), std::string::npos) << bad_batch.err;
  auto no_db = prune({"--older-than", "7d", "--db", (dir / "nope.db").string()});
  EXPECT_EQ(no_db.exit_code, 1);
  EXPECT_NE(no_db.err.find("no database at"), std::string::npos) << no_db.err;
  EXPECT_FALSE(fs::exists(dir / "nope.db"));
  EXPECT_EQ(count("events"), 35);  // the failed runs deleted nothing
}

}  // namespace
}  // namespace credwatch
