// Retention: what is pruned and what is kept, bounded batches, index use, and pruning beside a writing agent.
#include "store/retention.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "store/database.h"
#include "store/event_writer.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 86'400'000'000'000LL;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-retention-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    path = (dir / "credwatch.db").string();
    now = wall_now_ns();
    cutoff = now - 7 * kDay;
    old_time = now - 30 * kDay;
    new_time = now - kDay;
  }
  void TearDown() override { fs::remove_all(dir); }

  static void add_event(Database &db, WallNs t, uint32_t tgid = 100) {
    auto s = db.prepare(
        "INSERT INTO events(time_ns, kind, pid, tgid, ppid, uid, gid, start_ns, comm, cgroup_id) "
        "VALUES (?, 'exec', ?, ?, 1, 0, 0, 0, 'sh', 0)");
    s.bind(1, t).bind(2, static_cast<int64_t>(tgid)).bind(3, static_cast<int64_t>(tgid)).step();
  }
  static void add_events(Database &db, WallNs t, int n) {
    Transaction tx(db);
    for (int i = 0; i < n; ++i) add_event(db, t + i);
    tx.commit();
  }
  static void add_stats(Database &db, WallNs t, int n = 1) {
    auto s = db.prepare("INSERT INTO sensor_stats(time_ns, run_id, source, emitted, lost) VALUES (?, 1, 'exec', 5, 0)");
    for (int i = 0; i < n; ++i) {
      s.bind(1, t + i).step();
      s.reset();
    }
  }
  static void add_process(Database &db, int64_t tgid, WallNs seen, std::optional<WallNs> exit) {
    auto s = db.prepare(
        "INSERT INTO processes(tgid, start_ns, ppid, parent_start_ns, uid, comm, cgroup_id, seen_ns, exit_ns) "
        "VALUES (?, ?, 1, 0, 0, 'sh', 0, ?, ?)");
    s.bind(1, tgid).bind(2, tgid * 1000).bind(3, seen).bind(4, exit).step();
  }
  // A delivery created at `created`, last touched at `touched` (delivered, attempted or re-queued).
  static void add_delivery(Database &db, const std::string &id, const std::string &state, WallNs created,
                           WallNs touched) {
    auto s = db.prepare(
        "INSERT INTO outbox(delivery_id, sink, alert_id, rule, action, severity, format, content_type, body, "
        "created_ns, window_start_ns, next_attempt_ns, last_attempt_ns, delivered_ns, state) "
        "VALUES (?1, 's', 1, 'r', 'alert', 'high', 'credwatch', 'application/json', '{}', ?2, ?2, ?2, ?3, ?4, ?5)");
    s.bind(1, id).bind(2, created).bind(3, touched);
    if (state == "delivered")
      s.bind(4, touched);
    else
      s.bind_null(4);
    s.bind(5, state).step();
  }
  // One old row in every table retention keeps.
  static void add_kept_rows(Database &db, WallNs t) {
    db.exec("INSERT INTO agent_runs(started_ns, stopped_ns, version, abi_version, node, hooks) VALUES (" +
            std::to_string(t) + ", " + std::to_string(t + 1) + ", '0', 1, 'n', '{}')");
    std::string ts = std::to_string(t);
    db.exec("INSERT INTO identities(id, kind, first_seen_ns, last_seen_ns) VALUES ('spiffe://x/a', 'host', " + ts +
            ", " + ts + ")");
    db.exec("INSERT INTO workloads(cgroup_id, identity, first_seen_ns, last_seen_ns) VALUES (7, 'spiffe://x/a', " + ts +
            ", " + ts + ")");
    db.exec("INSERT INTO credentials(id, digest, kind, first_seen_ns, last_used_ns) VALUES ('cw_1', 'd', 'k', " + ts +
            ", " + ts + ")");
    db.exec(
        "INSERT INTO credential_sources(credential, origin, source, first_seen_ns, last_seen_ns) VALUES ('cw_1', "
        "'file', '/f', " +
        ts + ", " + ts + ")");
    db.exec(
        "INSERT INTO credential_uses(credential, identity, first_used_ns, last_used_ns, uses) VALUES ('cw_1', "
        "'spiffe://x/a', " +
        ts + ", " + ts + ", 3)");
    db.exec("INSERT INTO credential_rotations(time_ns, origin, source, old_credential, new_credential) VALUES (" + ts +
            ", 'file', '/f', 'cw_0', 'cw_1')");
    db.exec(
        "INSERT INTO alerts(id, rule, severity, severity_rank, time_ns, first_seen_ns, last_seen_ns, action, "
        "summary, dedup_key, body) VALUES (1, 'r', 'high', 3, " +
        ts + ", " + ts + ", " + ts + ", 'alert', 's', 'k', '{}')");
    db.exec(
        "INSERT INTO baselines(identity, state, learning_until_ns, body, updated_ns) VALUES ('spiffe://x/a', "
        "'enforcing', " +
        ts + ", '{}', " + ts + ")");
    db.exec(
        "INSERT INTO blocks(cgroup_id, identity, created_ns, expires_ns, lifted_ns, reason) VALUES (7, "
        "'spiffe://x/a', " +
        ts + ", " + ts + ", " + ts + ", 'r')");
  }
  static int64_t count(Database &db, const std::string &table, const std::string &where = "1") {
    auto s = db.prepare("SELECT COUNT(*) FROM " + table + " WHERE " + where);
    s.step();
    return s.int64(0);
  }

  fs::path dir;
  std::string path;
  WallNs now = 0, cutoff = 0, old_time = 0, new_time = 0;
};

constexpr const char *kKeptTables[] = {
    "agent_runs",      "identities",           "workloads", "credentials", "credential_sources",
    "credential_uses", "credential_rotations", "alerts",    "baselines",   "blocks"};

TEST_F(RetentionTest, DeletesOldRowsAndKeepsNewOnesLiveProcessesUndeliveredDeliveriesAndFindings) {
  auto db = Database::open(path);
  add_events(db, old_time, 40);
  add_events(db, new_time, 10);
  add_stats(db, old_time, 6);
  add_stats(db, new_time, 4);
  add_process(db, 1, old_time, old_time + 1);                                // exited long ago: goes
  add_process(db, 2, old_time, old_time + 2);                                // goes
  add_process(db, 3, old_time, std::nullopt);                                // seen long ago, still running: stays
  add_process(db, 4, old_time, new_time);                                    // exited recently: stays
  add_process(db, 5, new_time, std::nullopt);                                // stays
  add_delivery(db, "d-delivered-old", "delivered", old_time, old_time + 5);  // goes
  add_delivery(db, "d-failed-old", "failed", old_time, old_time + 5);        // goes
  add_delivery(db, "d-dead-old", "dead", old_time, old_time);                // goes
  add_delivery(db, "d-pending-old", "pending", old_time, old_time);          // never delivered: stays
  add_delivery(db, "d-inflight-old", "inflight", old_time, old_time);        // stays
  add_delivery(db, "d-delivered-late", "delivered", old_time, new_time);     // created long ago, delivered lately
  add_delivery(db, "d-failed-new", "failed", new_time, new_time);            // stays
  add_kept_rows(db, old_time);

  RetentionPruner pruner(db, 1000);
  PrunedRows total = pruner.run(cutoff);

  EXPECT_EQ(total.events, 40u);
  EXPECT_EQ(total.sensor_stats, 6u);
  EXPECT_EQ(total.processes, 2u);
  EXPECT_EQ(total.outbox, 3u);
  EXPECT_EQ(total.total(), 51u);
  EXPECT_EQ(count(db, "events"), 10);
  EXPECT_EQ(count(db, "events", "time_ns < " + std::to_string(cutoff)), 0);
  EXPECT_EQ(count(db, "sensor_stats"), 4);
  EXPECT_EQ(count(db, "sensor_stats", "time_ns < " + std::to_string(cutoff)), 0);
  auto procs = db.prepare("SELECT group_concat(tgid) FROM (SELECT tgid FROM processes ORDER BY tgid)");
  procs.step();
  EXPECT_EQ(procs.text(0), "3,4,5");
  auto deliveries =
      db.prepare("SELECT group_concat(delivery_id) FROM (SELECT delivery_id FROM outbox ORDER BY delivery_id)");
  deliveries.step();
  EXPECT_EQ(deliveries.text(0), "d-delivered-late,d-failed-new,d-inflight-old,d-pending-old");
  for (const char *table : kKeptTables) EXPECT_EQ(count(db, table), 1) << table;

  // Nothing old is left: a second run deletes nothing.
  EXPECT_EQ(pruner.run(cutoff).total(), 0u);
}

TEST_F(RetentionTest, KeepsTheNewestEventSoEventIdsAreNeverReused) {
  auto db = Database::open(path);
  add_events(db, old_time, 5);  // an agent that was down for a month: every event is old
  RetentionPruner pruner(db);
  EXPECT_EQ(pruner.run(cutoff).events, 4u);
  auto max_id = db.prepare("SELECT COUNT(*), MAX(id) FROM events");
  max_id.step();
  EXPECT_EQ(max_id.int64(0), 1);
  EXPECT_EQ(max_id.int64(1), 5);  // the agent numbers its next events from 6, as before the prune
}

TEST_F(RetentionTest, AStepDeletesAtMostItsBatchAcrossTablesAndSaysWhetherMoreRemain) {
  auto db = Database::open(path);
  add_events(db, old_time, 2500);
  add_event(db, new_time);  // the newest, kept
  add_stats(db, old_time, 700);
  RetentionPruner pruner(db, 1000);

  PruneStep s = pruner.step(cutoff);
  EXPECT_EQ(s.deleted.events, 1000u);
  EXPECT_EQ(s.deleted.total(), 1000u);
  EXPECT_TRUE(s.more);
  s = pruner.step(cutoff);
  EXPECT_EQ(s.deleted.events, 1000u);
  EXPECT_TRUE(s.more);
  s = pruner.step(cutoff);  // the last 500 events, then what is left of the batch on sensor_stats
  EXPECT_EQ(s.deleted.events, 500u);
  EXPECT_EQ(s.deleted.sensor_stats, 500u);
  EXPECT_EQ(s.deleted.total(), 1000u);
  EXPECT_TRUE(s.more);
  s = pruner.step(cutoff);
  EXPECT_EQ(s.deleted.events, 0u);
  EXPECT_EQ(s.deleted.sensor_stats, 200u);
  EXPECT_FALSE(s.more);
  s = pruner.step(cutoff);
  EXPECT_EQ(s.deleted.total(), 0u);
  EXPECT_FALSE(s.more);
  // Oldest first: what was left after each batch was always the newest.
  EXPECT_EQ(count(db, "events"), 1);
}

TEST_F(RetentionTest, ProcessesAreWalkedABoundedWindowPerStep) {
  auto db = Database::open(path);
  // 25 processes in key order; every third one exited a month ago (tgids 0, 3, ..., 24: 9 of them).
  for (int64_t tgid = 0; tgid < 25; ++tgid)
    add_process(db, tgid, old_time, tgid % 3 == 0 ? std::optional<WallNs>(old_time + 1) : std::nullopt);
  RetentionPruner pruner(db, 1000, 10);

  PruneStep s = pruner.step(cutoff);  // tgids 0-9
  EXPECT_EQ(s.deleted.processes, 4u);
  EXPECT_TRUE(s.more);      // the pass has not reached the end
  s = pruner.step(cutoff);  // 10-19
  EXPECT_EQ(s.deleted.processes, 3u);
  EXPECT_TRUE(s.more);
  s = pruner.step(cutoff);  // 20-24: the end
  EXPECT_EQ(s.deleted.processes, 2u);
  EXPECT_FALSE(s.more);
  EXPECT_EQ(count(db, "processes"), 16);
  EXPECT_EQ(count(db, "processes", "exit_ns IS NOT NULL"), 0);

  // The next pass starts from the first key again: a process that exited since is found.
  db.exec("UPDATE processes SET exit_ns = " + std::to_string(old_time + 2) + " WHERE tgid = 1");
  s = pruner.step(cutoff);
  EXPECT_EQ(s.deleted.processes, 1u);
  EXPECT_TRUE(s.more);
  // The batch bounds the deletes of the walk too.
  db.exec("UPDATE processes SET exit_ns = " + std::to_string(old_time + 2));
  RetentionPruner small(db, 4, 10);
  s = small.step(cutoff);
  EXPECT_EQ(s.deleted.processes, 4u);
  EXPECT_TRUE(s.more);
  EXPECT_EQ(small.run(cutoff).processes, 11u);
  EXPECT_EQ(count(db, "processes"), 0);
}

TEST_F(RetentionTest, RunStepsToTheEndAndProgressCanStopIt) {
  auto db = Database::open(path);
  add_events(db, old_time, 950);
  add_event(db, new_time);
  RetentionPruner pruner(db, 100);
  int calls = 0;
  PrunedRows stopped = pruner.run(cutoff, [&](const PrunedRows &so_far) {
    ++calls;
    EXPECT_EQ(so_far.events, static_cast<uint64_t>(calls) * 100);
    return calls < 3;
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(stopped.events, 300u);
  EXPECT_EQ(count(db, "events"), 651);

  calls = 0;
  PrunedRows rest = pruner.run(cutoff, [&](const PrunedRows &) { return ++calls < 1000; });
  EXPECT_EQ(rest.events, 650u);
  EXPECT_EQ(calls, 7);  // six full batches and the last 50
  EXPECT_EQ(count(db, "events"), 1);
}

TEST_F(RetentionTest, BatchDeletesSearchTheTimeIndexesInsteadOfScanning) {
  auto db = Database::open(path);
  // processes: its walk seeks the primary key from the cursor.
  const std::pair<const char *, const char *> indexed[] = {{"events", "events_by_time"},
                                                           {"sensor_stats", "sensor_stats_by_time"},
                                                           {"outbox", "outbox_by_state"},
                                                           {"processes", "PRIMARY KEY ((tgid,start_ns)>(?,?))"}};
  for (const auto &[table, index] : indexed) {
    auto plan = db.prepare("EXPLAIN QUERY PLAN " + retention_sql(table));
    plan.bind(1, cutoff).bind(2, int64_t{1000}).bind(3, int64_t{1000});
    std::string lines;
    while (plan.step()) lines += plan.text(3) + "\n";
    EXPECT_NE(lines.find(index), std::string::npos) << table << ":\n" << lines;
    EXPECT_EQ(lines.find(std::string("SCAN ") + table), std::string::npos) << table << ":\n" << lines;
  }
  EXPECT_EQ(retention_sql("alerts"), "");
}

TEST_F(RetentionTest, WriterWithoutRetentionDeletesNothing) {
  auto db = Database::open(path);
  add_events(db, old_time, 20);
  add_event(db, new_time);
  EventWriter writer(db, 1);
  writer.set_retention({.retention_ns = 0, .busy_interval_ns = 1'000'000, .idle_interval_ns = 1'000'000});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  writer.flush();
  writer.stop();
  EXPECT_EQ(writer.stats().prune_steps, 0u);
  EXPECT_EQ(writer.stats().pruned.total(), 0u);
  EXPECT_EQ(count(db, "events"), 21);
}

Event new_event(WallNs t, uint32_t pid) {
  Event ev;
  ev.kind = EventKind::Exec;
  ev.time_ns = t;
  ev.process.pid = ev.process.tgid = pid;
  ev.process.comm = "sh";
  return ev;
}

TEST_F(RetentionTest, WriterPrunesBetweenBatchesWhileEventsArriveAndLosesNone) {
  constexpr int kOld = 6000, kNew = 20000;
  auto db = Database::open(path);
  add_events(db, old_time, kOld);
  add_stats(db, old_time, 50);
  EventWriter writer(db, 1);
  writer.set_retention(
      {.retention_ns = 7 * kDay, .batch_rows = 500, .busy_interval_ns = 1'000'000, .idle_interval_ns = 1'000'000'000});
  std::thread producer([&] {
    for (int i = 0; i < kNew; ++i) {
      EXPECT_TRUE(writer.submit(new_event(wall_now_ns(), static_cast<uint32_t>(1000 + i))));
      if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a steady trickle
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (writer.stats().pruned.total() < kOld + 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  producer.join();
  writer.flush();
  WriterStats stats = writer.stats();
  writer.stop();

  EXPECT_EQ(stats.pruned.events, static_cast<uint64_t>(kOld));
  EXPECT_EQ(stats.pruned.sensor_stats, 50u);
  EXPECT_GE(stats.prune_steps, static_cast<uint64_t>((kOld + 50) / 500));  // bounded steps, not one big delete
  EXPECT_GT(stats.last_prune_ns, 0);
  EXPECT_GE(stats.max_prune_ns, stats.last_prune_ns);
  EXPECT_EQ(stats.prune_errors, 0u);
  EXPECT_EQ(stats.events_written, static_cast<uint64_t>(kNew));
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(count(db, "events"), kNew);
  EXPECT_EQ(count(db, "events", "time_ns < " + std::to_string(cutoff)), 0);
  EXPECT_EQ(count(db, "events", "tgid >= 1000"), kNew);
}

TEST_F(RetentionTest, PrunerOnItsOwnConnectionRunsBesideAWritingAgent) {
  constexpr int kOld = 5000, kNew = 10000;
  {
    auto setup = Database::open(path);
    add_events(setup, old_time, kOld);
    add_event(setup, new_time);  // so the newest event, which is always kept, is not an old one
  }
  auto agent_db = Database::open(path);
  EventWriter writer(agent_db, 1);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (int i = 0; i < kNew; ++i) writer.submit(new_event(wall_now_ns(), static_cast<uint32_t>(1000 + i)));
    done = true;
  });
  auto cli_db = Database::open_existing(path);  // what `credwatch prune` does
  RetentionPruner pruner(cli_db, 250);
  PrunedRows total = pruner.run(cutoff);
  producer.join();
  writer.flush();
  writer.stop();
  EXPECT_TRUE(done);
  EXPECT_EQ(total.events, static_cast<uint64_t>(kOld));
  EXPECT_EQ(writer.stats().write_errors, 0u);
  EXPECT_EQ(count(agent_db, "events"), kNew + 1);
  EXPECT_EQ(count(agent_db, "events", "tgid >= 1000"), kNew);
}

}  // namespace
}  // namespace credwatch
