// The store: file permissions, migrations, batched writes from another thread, queries and their filters.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "common/json_text.h"
#include "store/credential_query.h"
#include "store/database.h"
#include "store/event_query.h"
#include "store/event_writer.h"

namespace credwatch {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("cw-store-" + std::to_string(getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    path = (dir / "sub" / "credwatch.db").string();
  }
  void TearDown() override { fs::remove_all(dir); }

  static Event file_event(WallNs t, uint32_t pid, const std::string &path, int64_t result = 3) {
    Event ev;
    ev.kind = EventKind::FileOpen;
    ev.time_ns = t;
    ev.process.pid = ev.process.tgid = pid;
    ev.process.comm = "cat";
    ev.process.exe = "/usr/bin/cat";
    ev.identity = "spiffe://cluster.local/ns/a/sa/b";
    FileOpenDetails d;
    d.requested = path;
    d.path = path;
    d.result = result;
    d.syscall = "openat";
    d.catalog_entry = "aws-credentials";
    d.credential_kind = "aws_credentials";
    ev.details = d;
    return ev;
  }

  // A service-account token first seen at /token (time 1000), as the inventory records it.
  static CredentialRecord token_record() {
    CredentialRecord cred;
    cred.id = "cw_00000000000000aa";
    cred.digest = std::string(64, 'a');
    cred.kind = "kubernetes_sa_token";
    cred.seen_ns = 1000;
    cred.origin = "file";
    cred.source = "/token";
    return cred;
  }

  fs::path dir;
  std::string path;
};

TEST_F(StoreTest, CreatesOwnerOnlyFileAndDirectory) {
  auto db = Database::open(path);
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
}

TEST_F(StoreTest, MigrationsAreRecordedAndIdempotent) {
  {
    auto db = Database::open(path);
    EXPECT_EQ(db.schema_version(), Database::latest_schema_version());
  }
  auto db = Database::open(path);  // second open applies nothing new: one row per migration, none twice
  auto rows = db.prepare("SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations");
  rows.step();
  EXPECT_GE(rows.int64(0), 1);
  EXPECT_EQ(rows.int64(0), rows.int64(1));
  EXPECT_EQ(rows.int64(2), Database::latest_schema_version());
}

TEST_F(StoreTest, RefusesANewerSchema) {
  { auto db = Database::open(path); db.exec("PRAGMA user_version = 999"); }
  try {
    Database::open(path);
    FAIL();
  } catch (const StoreError &e) {
    EXPECT_NE(std::string(e.what()).find("newer than this credwatch understands"), std::string::npos);
  }
}

TEST_F(StoreTest, OpenExistingNamesAMissingDatabase) {
  try {
    Database::open_existing(path);
    FAIL();
  } catch (const StoreError &e) {
    EXPECT_NE(std::string(e.what()).find("no database at " + path), std::string::npos);
  }
}

// A folded alert is submitted again at every repeat, and a baseline at every sync: while the writer is held up,
// each replaces its own queued copy, so the queue holds one per alert and identity, and the row gets the latest.
TEST_F(StoreTest, QueuedAlertAndBaselineUpdatesReplaceTheirOlderCopies) {
  auto db = Database::open(path);
  auto blocker = Database::open(path);
  EventWriter writer(db, 1);
  blocker.exec("BEGIN IMMEDIATE");  // the writer's next transaction waits for this one
  writer.submit(file_event(1000, 5, "/token"));
  for (int i = 0; i < 500 && writer.queued() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(writer.queued(), 0u) << "the writer never took the first batch";

  auto alert = [](int64_t id, uint64_t count) {
    Alert a;
    a.id = id;
    a.rule = "reuse.shared_credential";
    a.identity = "spiffe://cluster.local/ns/a/sa/b";
    a.count = count;
    a.last_seen_ns = static_cast<WallNs>(count);
    a.dedup_key = "reuse.shared_credential|" + std::to_string(id);
    a.details = {{"repeat", count}};
    return a;
  };
  for (uint64_t i = 1; i <= 1000; ++i) {
    writer.submit(AlertRecord{alert(5, i)});
    writer.submit(AlertRecord{alert(6, 2 * i)});
    if (i % 100 == 0)
      writer.submit(BaselineRecord{"spiffe://cluster.local/ns/a/sa/b", "learning", 99,
                                   "{\"n\":" + std::to_string(i) + "}", static_cast<WallNs>(i)});
  }
  EXPECT_EQ(writer.queued(), 3u);  // alert 5, alert 6, the baseline

  blocker.exec("COMMIT");
  writer.flush();
  auto rows = db.prepare("SELECT id, count, last_seen_ns FROM alerts ORDER BY id");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.int64(0), 5);
  EXPECT_EQ(rows.int64(1), 1000);
  EXPECT_EQ(rows.int64(2), 1000);
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.int64(0), 6);
  EXPECT_EQ(rows.int64(1), 2000);
  EXPECT_EQ(rows.int64(2), 2000);
  EXPECT_FALSE(rows.step());
  auto baseline = db.prepare("SELECT body, updated_ns FROM baselines");
  ASSERT_TRUE(baseline.step());
  EXPECT_EQ(baseline.text(0), "{\"n\":1000}");
  EXPECT_EQ(baseline.int64(1), 1000);

  // Once written, the next update is queued anew, not into the slot its predecessor left.
  writer.submit(AlertRecord{alert(5, 1001)});
  writer.flush();
  auto latest = db.prepare("SELECT count FROM alerts WHERE id = 5");
  ASSERT_TRUE(latest.step());
  EXPECT_EQ(latest.int64(0), 1001);
  EXPECT_EQ(writer.stats().write_errors, 0u);
}

// A batch is one transaction of what was queued when it started (up to kMaxBatch), taken from the queue
// kMaxInFlight at a time; what arrives meanwhile is the next batch. When a later chunk fails, the whole batch rolls
// back, and everything it took counts as dropped.
TEST_F(StoreTest, ABatchIsOneTransactionTakenAChunkAtATime) {
  static_assert(2'500 > 2 * EventWriter::kMaxInFlight && 2'500 < EventWriter::kMaxBatch);
  auto db = Database::open(path);
  auto blocker = Database::open(path);
  EventWriter writer(db, 1);
  auto numbered = [](int64_t id) {
    Event e = file_event(1000 + id, 5, "/token");
    e.id = id;
    return e;
  };
  // The writer takes the first event, alone in the queue, and waits for the blocker; the rest arrive meanwhile.
  auto held_batch = [&](int64_t first, int64_t last, auto &&also) {
    blocker.exec("BEGIN IMMEDIATE");
    writer.submit(numbered(first));
    for (int i = 0; i < 500 && writer.queued() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(writer.queued(), 0u) << "the writer never took the first event";
    for (int64_t id = first + 1; id <= last; ++id) writer.submit(numbered(id));
    also();
    blocker.exec("COMMIT");
    writer.flush();
  };
  auto rows = [&](int64_t from, int64_t to) {
    auto q = db.prepare("SELECT COUNT(*) FROM events WHERE id BETWEEN ? AND ?");
    q.bind(1, from).bind(2, to);
    EXPECT_TRUE(q.step());
    return q.int64(0);
  };

  held_batch(1, 2500, [] {});
  WriterStats s = writer.stats();
  EXPECT_EQ(s.batches, 2u);  // the first event alone, then the 2,499 that arrived while it waited
  EXPECT_EQ(s.last_batch_size, 2499u);
  EXPECT_EQ(s.events_written, 2500u);
  EXPECT_EQ(rows(1, 2500), 2500);

  held_batch(3001, 5500, [&] {
    writer.submit(EventRepeats{3001, EventKind::FileOpen, 4, 9999});
    writer.submit(numbered(3001));  // the same id again: the second batch's last chunk fails
  });
  s = writer.stats();
  EXPECT_EQ(s.write_errors, 1u);
  EXPECT_EQ(s.dropped, 2499u + 1u + 4u);  // its events, the duplicate, and the repeats folded into event 3001
  EXPECT_EQ(s.events_written, 2501u);
  EXPECT_EQ(rows(3001, 5500), 1);  // event 3001, written by the first batch
}

// The newest events of an identity are its latest by time, found by walking its time index backwards: no sort of
// every match, however many the window holds (rows written out of time order, as a grown or merged store has).
TEST_F(StoreTest, NewestEventsAreTheLatestByTimeWithoutSortingEveryMatch) {
  auto db = Database::open(path);
  {
    EventWriter writer(db, 1);
    for (int i = 0; i < 3000; ++i) {
      Event ev = file_event(i % 2 ? 100'000 + i : 1'000 + i, 10, "/etc/shadow");  // odd rows late, even rows early
      ev.identity = "spiffe://cluster.local/ns/a/sa/busy";
      writer.submit(ev);
    }
    writer.flush();
  }
  auto reader = Database::open_existing(path);
  EventFilter f;
  f.identity = "spiffe://cluster.local/ns/a/sa/busy";
  f.since = 0;
  f.limit = 3;
  auto three = query_events(reader, f);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].time_ns, 100'000 + 2995);  // chronological, the latest last
  EXPECT_EQ(three[2].time_ns, 100'000 + 2999);

  FilterSql where = filter_sql(f);
  auto plan = reader.prepare("EXPLAIN QUERY PLAN " + events_sql(f, where));
  plan.bind(1, int64_t{0}).bind(2, *f.identity);
  std::string steps;
  while (plan.step()) steps += plan.text(3) + "\n";
  EXPECT_NE(steps.find("events_by_identity"), std::string::npos) << steps;
  EXPECT_EQ(steps.find("TEMP B-TREE"), std::string::npos) << steps;
}

TEST_F(StoreTest, WriterBatchesAndQueriesFilter) {
  auto db = Database::open(path);
  {
    EventWriter writer(db, 1);
    for (int i = 0; i < 1000; ++i)
      EXPECT_TRUE(writer.submit(file_event(1000 + i, 10 + i % 3, i % 2 ? "/root/.aws/credentials" : "/etc/shadow")));
    Event exec;
    exec.kind = EventKind::Exec;
    exec.time_ns = 5000;
    exec.process.tgid = exec.process.pid = 77;
    exec.process.comm = "curl";
    exec.process.exe = "/usr/bin/curl";
    exec.details = ExecDetails{"/usr/bin/curl", {"curl", "-s", "http://x"}, false, 0, 0, 0, 0, 0};
    writer.submit(exec);
    writer.flush();
    EXPECT_EQ(writer.stats().events_written, 1001u);
  }
  auto reader = Database::open_existing(path);  // a second connection, as the CLI has
  EventFilter all;
  all.limit = 0;
  EXPECT_EQ(query_events(reader, all).size(), 1001u);

  EventFilter newest;
  newest.limit = 5;
  auto five = query_events(reader, newest);
  ASSERT_EQ(five.size(), 5u);
  EXPECT_EQ(five.back().kind, "exec");        // newest last
  EXPECT_LT(five.front().id, five.back().id);  // chronological

  EventFilter by_path;
  by_path.path = "**/.aws/credentials";
  by_path.limit = 0;
  EXPECT_EQ(query_events(reader, by_path).size(), 500u);

  EventFilter by_pid;
  by_pid.pid = 10;
  by_pid.kinds = {"file_open"};
  by_pid.limit = 0;
  EXPECT_EQ(query_events(reader, by_pid).size(), 334u);

  EventFilter window;
  window.since = 1100;
  window.until = 1199;
  window.limit = 0;
  EXPECT_EQ(query_events(reader, window).size(), 100u);

  EventFilter comm;
  comm.comm = "cu*";
  auto curl = query_events(reader, comm);
  ASSERT_EQ(curl.size(), 1u);
  auto j = event_to_json(curl[0]);
  EXPECT_EQ(j["kind"], "exec");
  EXPECT_EQ(j["path"], "/usr/bin/curl");
  EXPECT_EQ(j["details"]["args"][2], "http://x");
  EXPECT_EQ(j["process"]["pid"], 77);

  EventFilter identity;
  identity.identity = "spiffe://cluster.local/ns/a/*";
  identity.limit = 0;
  EXPECT_EQ(query_events(reader, identity).size(), 1000u);
}

TEST_F(StoreTest, JsonSchemaOfAFileOpen) {
  auto db = Database::open(path);
  EventWriter writer(db, 1);
  writer.submit(file_event(1'795'893'601'000'000'000, 42, "/nonexistent/.aws/credentials", -2));
  writer.flush();
  EventFilter f;
  auto events = query_events(db, f);
  ASSERT_EQ(events.size(), 1u);
  auto j = event_to_json(events[0]);
  EXPECT_EQ(j["time"], "2026-11-28T19:20:01.000000000Z");
  EXPECT_EQ(j["kind"], "file_open");
  EXPECT_EQ(j["result"], -2);
  EXPECT_EQ(j["error"], "ENOENT");
  EXPECT_EQ(j["catalog"], "aws-credentials");
  EXPECT_EQ(j["identity"], "spiffe://cluster.local/ns/a/sa/b");
  EXPECT_EQ(j["details"]["access"], "read");
  EXPECT_EQ(j["details"]["credential_kind"], "aws_credentials");
  EXPECT_TRUE(j["dest"].is_null());
  for (const char *key : {"id", "time", "time_ns", "kind", "identity", "process", "path", "dest", "result", "error",
                          "catalog", "credential", "details"})
    EXPECT_TRUE(j.contains(key)) << key;
}

// Events wait for the writer as their encoded rows: every column comes back as the event had it, texts present or
// absent (NULL) per kind, and an event with no identity or credential stores NULL for them.
TEST_F(StoreTest, EveryColumnComesBackAsTheEventHadIt) {
  auto db = Database::open(path);
  EventWriter writer(db, 1);
  Event open = file_event(1000, 42, "/root/.aws/credentials");
  open.id = 7;
  open.credential = "cw_00000000000000aa,cw_00000000000000bb";
  open.process.ppid = 1;
  open.process.uid = 1000;
  open.process.gid = 1001;
  open.process.start_ns = 123456789;
  open.process.cgroup_id = 99;
  writer.submit(open);

  Event connect;
  connect.id = 8;
  connect.kind = EventKind::Connect;
  connect.time_ns = 2000;
  connect.process.pid = 43;
  connect.process.tgid = 42;
  connect.process.comm = "curl";
  ConnectDetails c;
  c.family = 2;
  c.address = "10.0.0.1";
  c.port = 443;
  c.result = -111;
  connect.details = c;
  writer.submit(connect);

  Event exec;
  exec.id = 9;
  exec.kind = EventKind::Exec;
  exec.time_ns = 3000;
  exec.process.tgid = exec.process.pid = 44;
  exec.process.exe = "/usr/bin/env";
  ExecDetails x;
  x.filename = "env";
  x.args = {"env", "-i"};
  exec.details = x;
  writer.submit(exec);
  writer.flush();

  EventFilter f;
  auto events = query_events(db, f);
  ASSERT_EQ(events.size(), 3u);
  std::map<int64_t, StoredEvent> by_id;
  for (auto &e : events) by_id[e.id] = e;
  const StoredEvent &o = by_id.at(7);
  EXPECT_EQ(o.kind, "file_open");
  EXPECT_EQ(o.time_ns, 1000);
  EXPECT_EQ(o.process.pid, 42u);
  EXPECT_EQ(o.process.ppid, 1u);
  EXPECT_EQ(o.process.uid, 1000u);
  EXPECT_EQ(o.process.gid, 1001u);
  EXPECT_EQ(o.process.start_ns, 123456789u);
  EXPECT_EQ(o.process.cgroup_id, 99u);
  EXPECT_EQ(o.process.comm, "cat");
  EXPECT_EQ(o.process.exe, "/usr/bin/cat");
  EXPECT_EQ(o.identity, "spiffe://cluster.local/ns/a/sa/b");
  EXPECT_EQ(o.path, std::optional<std::string>("/root/.aws/credentials"));
  EXPECT_EQ(o.dest, std::nullopt);
  EXPECT_EQ(o.result, std::optional<int64_t>(3));
  EXPECT_EQ(o.catalog, std::optional<std::string>("aws-credentials"));
  EXPECT_EQ(o.credential, std::optional<std::string>("cw_00000000000000aa,cw_00000000000000bb"));
  EXPECT_EQ(o.details["requested"], "/root/.aws/credentials");

  const StoredEvent &n = by_id.at(8);
  EXPECT_EQ(n.kind, "connect");
  EXPECT_EQ(n.process.pid, 43u);
  EXPECT_EQ(n.process.tgid, 42u);
  EXPECT_EQ(n.process.comm, "curl");
  EXPECT_EQ(n.process.exe, "");
  EXPECT_EQ(n.identity, "");
  EXPECT_EQ(n.path, std::nullopt);
  EXPECT_EQ(n.dest, std::optional<std::string>("10.0.0.1:443"));
  EXPECT_EQ(n.result, std::optional<int64_t>(-111));
  EXPECT_EQ(n.catalog, std::nullopt);
  EXPECT_EQ(n.credential, std::nullopt);
  EXPECT_EQ(n.details["port"], 443);
  EXPECT_TRUE(event_to_json(n)["identity"].is_null());

  const StoredEvent &e = by_id.at(9);
  EXPECT_EQ(e.kind, "exec");
  EXPECT_EQ(e.path, std::optional<std::string>("/usr/bin/env"));  // an exec's path is its program
  EXPECT_EQ(e.result, std::nullopt);
  EXPECT_EQ(e.details["args"], nlohmann::json({"env", "-i"}));
  EXPECT_EQ(writer.stats().events_written, 3u);
}

// Paths and arguments are bytes: a name that is not UTF-8 is stored as it is (so exact filters still match it)
// and shown with U+FFFD, and neither the writer nor a query stops on it.
TEST_F(StoreTest, NamesThatAreNotUtf8AreKeptAndShownReplaced) {
  const std::string hostile_path = "/home/\xff\xfe/.aws/credentials";
  auto db = Database::open(path);
  {
    EventWriter writer(db, 1);
    writer.submit(file_event(1000, 5, hostile_path));
    Event exec;
    exec.kind = EventKind::Exec;
    exec.time_ns = 2000;
    exec.process.tgid = exec.process.pid = 6;
    exec.process.comm = "tr\xff" "e";
    exec.process.exe = "/bin/true";
    exec.details = ExecDetails{"/bin/true", {"true", "\xc0\xaf"}, false, 0, 0, 0, 0, 0};
    writer.submit(exec);
    writer.flush();
    EXPECT_EQ(writer.stats().events_written, 2u);
    EXPECT_EQ(writer.stats().write_errors, 0u);
  }
  EventFilter exact;
  exact.path = hostile_path;
  auto found = query_events(db, exact);
  ASSERT_EQ(found.size(), 1u);
  auto j = nlohmann::json::parse(json_text(event_to_json(found[0])));
  EXPECT_EQ(j["path"], "/home/\xEF\xBF\xBD\xEF\xBF\xBD/.aws/credentials");
  EXPECT_EQ(j["details"]["requested"], j["path"]);

  EventFilter execs;
  execs.kinds = {"exec"};
  auto exec = query_events(db, execs);
  ASSERT_EQ(exec.size(), 1u);
  auto e = nlohmann::json::parse(json_text(event_to_json(exec[0])));
  EXPECT_EQ(e["details"]["args"][1], "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(e["process"]["comm"], "tr\xEF\xBF\xBD" "e");
}

// The agent keeps a credential's descriptor in memory only while its record is queued: the writer holds it until the
// batch with its row has committed (the inventory keeps a weak reference, and reads the descriptor back from the
// store once nothing holds it), and StoredDescriptors reads it from there.
TEST_F(StoreTest, ACredentialsDescriptorIsHeldUntilItsRowCommitsAndThenReadBack) {
  auto db = Database::open(path);
  CredentialRecord cred = token_record();
  cred.descriptor = CredentialDescriptor::from({{"jti", "jti-1"}, {"kid", "key-1"}, {"exp", 1900000000}});
  std::weak_ptr<const CredentialDescriptor> resident = cred.descriptor;
  std::atomic<int> held_at_commit{-1};
  {
    EventWriter writer(db, 1, 1000, [&](size_t, int64_t) { held_at_commit = !resident.expired(); });
    writer.submit(std::move(cred));
    writer.flush();
    EXPECT_EQ(held_at_commit.load(), 1);  // the batch's observer runs after the commit
    EXPECT_TRUE(resident.expired());      // and nothing is left once the batch is done
  }

  StoredDescriptors stored(path);
  auto read_back = stored("cw_00000000000000aa");
  ASSERT_NE(read_back, nullptr);
  EXPECT_EQ(read_back->json()["jti"], "jti-1");
  EXPECT_EQ(read_back->json()["kid"], "key-1");
  EXPECT_EQ(read_back->expires_ns(), std::optional<WallNs>(1900000000LL * 1'000'000'000));
  EXPECT_EQ(stored("cw_00000000000000bb"), nullptr);

  // Rows of a transaction still open are not seen, and the lookup does not wait for it.
  {
    auto other = Database::open(path);
    other.exec("BEGIN IMMEDIATE");
    other.exec("INSERT INTO credentials(id, digest, kind, descriptor, first_seen_ns, last_used_ns) "
               "VALUES ('cw_00000000000000cc', 'd', 'k', '{\"jti\":\"pending\"}', 1, 1)");
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(stored("cw_00000000000000cc"), nullptr);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    other.exec("COMMIT");
  }
  ASSERT_NE(stored("cw_00000000000000cc"), nullptr);
  EXPECT_EQ(stored("cw_00000000000000cc")->json()["jti"], "pending");

  // A lookup ends its read: the writer can checkpoint the whole WAL past it.
  auto checkpoint = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_TRUE(checkpoint.step());
  EXPECT_EQ(checkpoint.int64(0), 0);  // not busy
}

// A store that cannot be read gives nothing until retry_after has passed, then is opened again.
TEST_F(StoreTest, StoredDescriptorsRetryAStoreThatCouldNotBeOpened) {
  StoredDescriptors later(path, std::chrono::hours(1));
  StoredDescriptors soon(path, std::chrono::seconds(0));
  EXPECT_EQ(later("cw_00000000000000aa"), nullptr);  // no database yet
  EXPECT_EQ(soon("cw_00000000000000aa"), nullptr);
  {
    auto db = Database::open(path);
    db.exec("INSERT INTO credentials(id, digest, kind, descriptor, first_seen_ns, last_used_ns) "
            "VALUES ('cw_00000000000000aa', 'd', 'k', '{\"kid\":\"k\"}', 1, 1)");
  }
  EXPECT_EQ(later("cw_00000000000000aa"), nullptr);  // still backing off
  auto found = soon("cw_00000000000000aa");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->json()["kid"], "k");
}

// Repeats folded into a stored event: counted on its row, and as uses of its credentials and accesses of its
// identity, in whichever batch they arrive.
TEST_F(StoreTest, RepeatsAreAddedToTheirEventsRowAndToTheUseCounts) {
  const std::string identity = "spiffe://cluster.local/ns/a/sa/b";
  auto db = Database::open(path);
  {
    EventWriter writer(db, 1);
    writer.submit(WorkloadRecord{9, identity, "kubernetes", "{}", 1000});
    CredentialRecord cred = token_record();
    writer.submit(cred);
    Event first = file_event(1000, 5, "/token");
    first.id = 7;
    first.credential = cred.id;
    writer.submit(first);
    writer.submit(EventRepeats{7, EventKind::FileOpen, 4, 1400});  // same batch: whose repeats, from the row
    writer.flush();
    writer.submit(EventRepeats{7, EventKind::FileOpen, 5, 1900});  // a later one
    writer.flush();
    EXPECT_EQ(writer.stats().write_errors, 0u);
  }
  EventFilter all;
  auto events = query_events(db, all);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].repeats, 9);
  EXPECT_EQ(events[0].last_time_ns, 1900);
  auto j = event_to_json(events[0]);
  EXPECT_EQ(j["repeats"], 9);
  EXPECT_EQ(j["last_time_ns"], 1900);

  auto uses = db.prepare("SELECT uses, last_used_ns FROM credential_uses WHERE credential = ? AND identity = ?");
  uses.bind(1, "cw_00000000000000aa").bind(2, identity);
  ASSERT_TRUE(uses.step());
  EXPECT_EQ(uses.int64(0), 10);
  EXPECT_EQ(uses.int64(1), 1900);
  auto cred_uses = db.prepare("SELECT uses, last_used_ns FROM credentials WHERE id = 'cw_00000000000000aa'");
  ASSERT_TRUE(cred_uses.step());
  EXPECT_EQ(cred_uses.int64(0), 10);
  EXPECT_EQ(cred_uses.int64(1), 1900);
  auto counts = db.prepare("SELECT events, secret_accesses, last_seen_ns FROM identities WHERE id = ?");
  counts.bind(1, identity);
  ASSERT_TRUE(counts.step());
  EXPECT_EQ(counts.int64(0), 1);   // rows
  EXPECT_EQ(counts.int64(1), 10);  // accesses
  EXPECT_EQ(counts.int64(2), 1900);

  // An event without repeats says so.
  EXPECT_TRUE(event_to_json(StoredEvent{})["last_time"].is_null());
  EXPECT_EQ(event_to_json(StoredEvent{})["repeats"], 0);
}

// Repeats of an event that touched two credentials count for both, read from the row; repeats whose row is gone
// (lost with a failed batch) count nowhere but as dropped.
TEST_F(StoreTest, RepeatsCountForEveryCredentialOfTheirRowAndAreDroppedWithoutIt) {
  const std::string identity = "spiffe://cluster.local/ns/a/sa/b";
  auto db = Database::open(path);
  EventWriter writer(db, 1);
  writer.submit(WorkloadRecord{9, identity, "kubernetes", "{}", 1000});
  Event first = file_event(1000, 5, "/creds");
  first.id = 11;
  first.credential = "cw_00000000000000aa,cw_00000000000000bb";
  writer.submit(first);
  writer.submit(EventRepeats{11, EventKind::FileOpen, 3, 1500});
  writer.submit(EventRepeats{404, EventKind::FileOpen, 7, 1600});  // no such row
  writer.flush();
  EXPECT_EQ(writer.stats().write_errors, 0u);
  EXPECT_EQ(writer.stats().dropped, 7u);

  auto uses = db.prepare("SELECT credential, uses FROM credential_uses WHERE identity = ? ORDER BY credential");
  uses.bind(1, identity);
  ASSERT_TRUE(uses.step());
  EXPECT_EQ(uses.text(0), "cw_00000000000000aa");
  EXPECT_EQ(uses.int64(1), 4);
  ASSERT_TRUE(uses.step());
  EXPECT_EQ(uses.text(0), "cw_00000000000000bb");
  EXPECT_EQ(uses.int64(1), 4);
  EXPECT_FALSE(uses.step());
  auto accesses = db.prepare("SELECT secret_accesses FROM identities WHERE id = ?");
  accesses.bind(1, identity);
  ASSERT_TRUE(accesses.step());
  EXPECT_EQ(accesses.int64(0), 4);  // the row's own access and its three repeats
}

TEST_F(StoreTest, FullQueueDropsAndCountsButKeepsLossReports) {
  auto db = Database::open(path);
  EventWriter writer(db, 1, 1000);  // the smallest queue the config allows
  // Hold the database so the writer cannot drain while we overfill.
  auto blocker = Database::open_existing(path);
  blocker.exec("BEGIN EXCLUSIVE");
  size_t accepted = 0;
  for (int i = 0; i < 30000; ++i) accepted += writer.submit(file_event(i, 1, "/etc/shadow"));
  Event lost;
  lost.kind = EventKind::Lost;
  lost.details = LostDetails{"queue", 1, "test", 0};
  EXPECT_TRUE(writer.submit(lost));  // never dropped
  blocker.exec("COMMIT");
  writer.flush();
  auto s = writer.stats();
  EXPECT_GT(s.dropped, 0u);
  EXPECT_EQ(s.dropped + accepted, 30000u);
}

TEST_F(StoreTest, ConcurrentReaderDuringWrites) {
  auto db = Database::open(path);
  EventWriter writer(db, 1);
  std::atomic<bool> done{false};
  std::thread reader([&] {
    auto r = Database::open_existing(path);
    EventFilter f;
    f.limit = 100;
    while (!done) EXPECT_NO_THROW(query_events(r, f));
  });
  for (int i = 0; i < 20000; ++i) writer.submit(file_event(i, 1, "/etc/shadow"));
  writer.flush();
  done = true;
  reader.join();
  EXPECT_EQ(writer.stats().write_errors, 0u);
}

// A store with many credentials: --limit reads the newest few, with their sources and users, by key; a filter on
// users applies before the limit.
TEST_F(StoreTest, CredentialQueryLimitKeepsTheNewestWithTheirSourcesAndUsers) {
  Database db = Database::open(path);
  for (int i = 0; i < 50; ++i) {
    std::string id = "cw_" + std::string(14, '0') + (i < 10 ? "0" : "") + std::to_string(i);
    auto ins = db.prepare("INSERT INTO credentials(id, digest, kind, first_seen_ns, last_used_ns, uses) VALUES (?,?,?,?,?,?)");
    ins.bind(1, id).bind(2, "d" + std::to_string(i)).bind(3, "kubernetes_sa_token").bind(4, int64_t{i}).bind(5, int64_t{i})
        .bind(6, int64_t{1});
    ins.step();
    auto src = db.prepare("INSERT INTO credential_sources(credential, origin, source, mnt_ns, first_seen_ns, last_seen_ns) "
                          "VALUES (?, 'file', ?, 0, ?, ?)");
    src.bind(1, id).bind(2, "/tokens/" + std::to_string(i)).bind(3, int64_t{i}).bind(4, int64_t{i});
    src.step();
    auto use = db.prepare("INSERT INTO credential_uses(credential, identity, first_used_ns, last_used_ns, uses) "
                          "VALUES (?, ?, ?, ?, 1)");
    use.bind(1, id).bind(2, "spiffe://cluster.local/ns/n/sa/sa-" + std::to_string(i % 7)).bind(3, int64_t{i})
        .bind(4, int64_t{i});
    use.step();
  }
  CredentialFilter f;
  f.limit = 3;
  auto newest = query_credentials(db, f, 100);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0].id, "cw_0000000000000049");
  EXPECT_EQ(newest[2].id, "cw_0000000000000047");
  ASSERT_EQ(newest[0].sources.size(), 1u);
  EXPECT_EQ(newest[0].sources[0].source, "/tokens/49");
  ASSERT_EQ(newest[0].users.size(), 1u);
  EXPECT_EQ(newest[0].users[0].identity, "spiffe://cluster.local/ns/n/sa/sa-0");

  f.identity = "*/sa-3";  // 3, 10, 17, ...: the newest three of those
  auto by_user = query_credentials(db, f, 100);
  ASSERT_EQ(by_user.size(), 3u);
  EXPECT_EQ(by_user[0].id, "cw_0000000000000045");
  EXPECT_EQ(by_user[2].id, "cw_0000000000000031");

  CredentialFilter all;
  EXPECT_EQ(query_credentials(db, all, 100).size(), 50u);
}

// A credential used by `users` identities, identity i last at 1000 + i, except sa-00, which ties with the newest
// (sa-<users-1>) so that the identity breaks the tie.
void add_shared_credential(Database &db, const std::string &id, int users) {
  auto ins = db.prepare(
      "INSERT INTO credentials(id, digest, kind, first_seen_ns, last_used_ns, uses) VALUES (?,?,?,?,?,?)");
  ins.bind(1, id).bind(2, "digest-" + id).bind(3, "docker_config").bind(4, int64_t{1}).bind(5, int64_t{1000 + users})
      .bind(6, int64_t{users});
  ins.step();
  auto use = db.prepare("INSERT INTO credential_uses(credential, identity, first_used_ns, last_used_ns, uses) "
                        "VALUES (?, ?, 1, ?, 1)");
  for (int i = 0; i < users; ++i) {
    std::string n = (i < 10 ? "0" : "") + std::to_string(i);
    use.bind(1, id).bind(2, "spiffe://cluster.local/ns/n/sa/sa-" + n).bind(3, int64_t{1000 + (i ? i : users - 1)});
    use.step();
    use.reset();
  }
}

// Enough credentials used once each that a query selecting them all reads users in one pass, not by key.
void add_single_use_credentials(Database &db, int count) {
  Transaction tx(db);
  auto ins = db.prepare(
      "INSERT INTO credentials(id, digest, kind, first_seen_ns, last_used_ns, uses) VALUES (?,?,?,1,?,1)");
  auto use = db.prepare("INSERT INTO credential_uses(credential, identity, first_used_ns, last_used_ns, uses) "
                        "VALUES (?, ?, 1, ?, 1)");
  for (int i = 0; i < count; ++i) {
    std::string id = "cw_filler" + std::to_string(i);
    ins.bind(1, id).bind(2, "digest-" + id).bind(3, "env").bind(4, int64_t{10 + i});
    ins.step();
    ins.reset();
    use.bind(1, id).bind(2, "spiffe://cluster.local/ns/f/sa/filler-" + std::to_string(i)).bind(3, int64_t{10 + i});
    use.step();
    use.reset();
  }
  tx.commit();
}

const StoredCredential *find_credential(const std::vector<StoredCredential> &all, const std::string &id) {
  for (const auto &c : all)
    if (c.id == id) return &c;
  return nullptr;
}

// Run with few credentials (users looked up by key) and with more than a thousand (users read in one pass): both
// ways must cap alike.
class CredentialUsersCapTest : public StoreTest, public ::testing::WithParamInterface<int> {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    db.emplace(Database::open(path));
    add_shared_credential(*db, "cw_shared", 60);
    add_shared_credential(*db, "cw_single", 1);
    add_single_use_credentials(*db, GetParam());
  }
  void TearDown() override {
    db.reset();
    StoreTest::TearDown();
  }
  std::vector<StoredCredential> query(CredentialFilter f) { return query_credentials(*db, f, 100); }
  std::optional<Database> db;
};

TEST_P(CredentialUsersCapTest, ListsTheMostRecentUsersAndCountsThemAll) {
  CredentialFilter f;
  f.max_users = 50;
  auto all = query(f);
  ASSERT_EQ(all.size(), 2u + GetParam());
  const StoredCredential *shared = find_credential(all, "cw_shared");
  ASSERT_NE(shared, nullptr);
  ASSERT_EQ(shared->users.size(), 50u);
  EXPECT_EQ(shared->identity_count, 60);
  // Newest first; sa-00 ties with sa-59 and sorts before it by identity; sa-01..sa-10 are the oldest, left out.
  EXPECT_EQ(shared->users[0].identity, "spiffe://cluster.local/ns/n/sa/sa-00");
  EXPECT_EQ(shared->users[1].identity, "spiffe://cluster.local/ns/n/sa/sa-59");
  EXPECT_EQ(shared->users[2].identity, "spiffe://cluster.local/ns/n/sa/sa-58");
  EXPECT_EQ(shared->users[49].identity, "spiffe://cluster.local/ns/n/sa/sa-11");
  EXPECT_EQ(shared->users[49].last_used_ns, 1011);
  auto j = credential_to_json(*shared, 100);
  EXPECT_EQ(j["identities"].size(), 50u);
  EXPECT_EQ(j["identity_count"], 60);
  EXPECT_EQ(j["identities_truncated"], true);

  const StoredCredential *single = find_credential(all, "cw_single");
  ASSERT_NE(single, nullptr);
  ASSERT_EQ(single->users.size(), 1u);
  EXPECT_EQ(single->identity_count, 1);
  auto js = credential_to_json(*single, 100);
  EXPECT_EQ(js["identity_count"], 1);
  EXPECT_EQ(js["identities_truncated"], false);
}

TEST_P(CredentialUsersCapTest, NoCapListsEveryUser) {
  auto all = query(CredentialFilter{});  // max_users 0: what callers that need every user get
  const StoredCredential *shared = find_credential(all, "cw_shared");
  ASSERT_NE(shared, nullptr);
  ASSERT_EQ(shared->users.size(), 60u);
  EXPECT_EQ(shared->identity_count, 60);
  EXPECT_EQ(shared->users[0].identity, "spiffe://cluster.local/ns/n/sa/sa-00");
  EXPECT_EQ(shared->users[59].identity, "spiffe://cluster.local/ns/n/sa/sa-01");
  EXPECT_EQ(credential_to_json(*shared, 100)["identities_truncated"], false);
}

TEST_P(CredentialUsersCapTest, SharedAndIdentityFiltersSeeUsersBeyondTheCap) {
  CredentialFilter f;
  f.shared = true;
  f.max_users = 1;  // fewer listed than the two that make a credential shared
  auto shared = query(f);
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_EQ(shared[0].id, "cw_shared");
  EXPECT_EQ(shared[0].users.size(), 1u);
  EXPECT_EQ(shared[0].identity_count, 60);

  CredentialFilter by_user;
  by_user.max_users = 50;
  by_user.identity = "spiffe://cluster.local/ns/n/sa/sa-05";  // one of the ten oldest, not listed
  auto exact = query(by_user);
  ASSERT_EQ(exact.size(), 1u);
  EXPECT_EQ(exact[0].id, "cw_shared");
  EXPECT_EQ(exact[0].users.size(), 50u);
  by_user.identity = "*/sa-0[1-5]";
  auto globbed = query(by_user);
  ASSERT_EQ(globbed.size(), 1u);
  EXPECT_EQ(globbed[0].id, "cw_shared");
  by_user.identity = "*/sa-99";
  EXPECT_TRUE(query(by_user).empty());
}

INSTANTIATE_TEST_SUITE_P(KeyedAndOnePass, CredentialUsersCapTest, ::testing::Values(0, 1000),
                         [](const ::testing::TestParamInfo<int> &info) {
                           return info.param ? std::string("OnePass") : std::string("Keyed");
                         });

}  // namespace
}  // namespace credwatch
