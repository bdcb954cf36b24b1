// Folding identical events of a process within a window into the first one stored.
#include "agent/repeat_folder.h"

#include <fcntl.h>

#include <gtest/gtest.h>

#include <vector>

using namespace credwatch;

namespace {

constexpr WallNs kSecond = 1'000'000'000;

Event secret_open(WallNs t, uint32_t tgid = 100, int64_t result = 3, uint32_t flags = O_RDONLY) {
  Event ev;
  ev.kind = EventKind::FileOpen;
  ev.time_ns = t;
  ev.process.tgid = ev.process.pid = tgid;
  ev.process.start_ns = 42;
  ev.identity = "spiffe://cluster.local/ns/a/sa/b";
  ev.credential = "cw_1,cw_2";
  FileOpenDetails d;
  d.requested = d.path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  d.dev = 7;
  d.ino = 1234;
  d.dirfd = -100;
  d.flags = flags;
  d.result = result;
  ev.details = d;
  return ev;
}

Event connect_to(WallNs t, uint16_t port) {
  Event ev;
  ev.kind = EventKind::Connect;
  ev.time_ns = t;
  ev.process.tgid = ev.process.pid = 100;
  ev.process.start_ns = 42;
  ConnectDetails d;
  d.family = 2;
  d.sock_type = 1;
  d.address = "10.0.0.1";
  d.port = port;
  ev.details = d;
  return ev;
}

struct Folder {
  std::vector<EventRepeats> reported;
  RepeatFolder folder{kSecond, 1000, [this](EventRepeats r) { reported.push_back(std::move(r)); }};
  int64_t next_id = 1;

  // What the pipeline does with each event: fold it, or record it under the next id (the store accepting it or
  // not).
  bool offer(Event ev, WallNs generation = 0, bool accepted = true) {
    if (folder.fold(ev, generation)) return false;
    ev.id = next_id++;
    auto prepared = folder.prepare(ev, generation);
    if (accepted) folder.open(std::move(prepared));
    return true;
  }
};

}  // namespace

TEST(RepeatFolder, RepeatsWithinTheWindowFoldIntoTheFirstAndAreReportedWhenItCloses) {
  Folder f;
  EXPECT_TRUE(f.offer(secret_open(10 * kSecond)));
  for (int i = 1; i <= 99; ++i) EXPECT_FALSE(f.offer(secret_open(10 * kSecond + i * 1'000'000)));
  EXPECT_EQ(f.folder.folded(), 99u);
  f.folder.expire(10 * kSecond + kSecond / 2);
  EXPECT_TRUE(f.reported.empty());  // still open
  f.folder.expire(11 * kSecond);
  ASSERT_EQ(f.reported.size(), 1u);
  EXPECT_EQ(f.reported[0].event_id, 1);
  EXPECT_EQ(f.reported[0].count, 99u);
  EXPECT_EQ(f.reported[0].last_ns, 10 * kSecond + 99'000'000);
  EXPECT_EQ(f.folder.open_windows(), 0u);
  EXPECT_TRUE(f.offer(secret_open(11 * kSecond)));  // a new window, a new row
}

TEST(RepeatFolder, AnEventAfterItsWindowIsRecordedAndThePendingCountReported) {
  Folder f;
  EXPECT_TRUE(f.offer(secret_open(0)));
  EXPECT_FALSE(f.offer(secret_open(kSecond / 2)));
  EXPECT_TRUE(f.offer(secret_open(kSecond)));  // the window closed at 1 s, before any tick
  ASSERT_EQ(f.reported.size(), 1u);
  EXPECT_EQ(f.reported[0].event_id, 1);
  EXPECT_EQ(f.reported[0].count, 1u);
  EXPECT_FALSE(f.offer(secret_open(kSecond + 1)));  // folds into the new row
  f.folder.expire(0, true);
  ASSERT_EQ(f.reported.size(), 2u);
  EXPECT_EQ(f.reported[1].event_id, 2);
  EXPECT_EQ(f.reported[1].count, 1u);
}

TEST(RepeatFolder, DifferentProcessesOutcomesAndDestinationsDoNotFold) {
  Folder f;
  EXPECT_TRUE(f.offer(secret_open(0)));
  EXPECT_TRUE(f.offer(secret_open(1, 101)));      // another process
  EXPECT_TRUE(f.offer(secret_open(2, 100, -13)));  // EACCES is another outcome
  EXPECT_FALSE(f.offer(secret_open(3, 100, 5)));  // another fd is the same success
  EXPECT_TRUE(f.offer(connect_to(4, 443)));
  EXPECT_TRUE(f.offer(connect_to(5, 8443)));
  EXPECT_FALSE(f.offer(connect_to(6, 443)));
  Event restarted = secret_open(7);
  restarted.process.start_ns = 43;  // the pid reused by a new process
  EXPECT_TRUE(f.offer(restarted));
}

TEST(RepeatFolder, WritesAndOtherKindsNeverFold) {
  Folder f;
  EXPECT_TRUE(f.offer(secret_open(0, 100, 3, O_WRONLY)));
  EXPECT_TRUE(f.offer(secret_open(1, 100, 3, O_WRONLY)));
  EXPECT_TRUE(f.offer(secret_open(2, 100, 3, O_RDWR)));
  EXPECT_TRUE(f.offer(secret_open(3, 100, 3, O_RDWR)));
  Event exec;
  exec.kind = EventKind::Exec;
  exec.details = ExecDetails{};
  EXPECT_TRUE(f.offer(exec));
  EXPECT_TRUE(f.offer(exec));
  EXPECT_EQ(f.folder.open_windows(), 0u);
}

TEST(RepeatFolder, ZeroWindowAndEventsWithoutIdsNeverFold) {
  std::vector<EventRepeats> reported;
  RepeatFolder off(0, 1000, [&](EventRepeats r) { reported.push_back(r); });
  Event ev = secret_open(0);
  ev.id = 1;
  off.open(off.prepare(ev, 0));
  EXPECT_FALSE(off.fold(secret_open(1), 0));

  RepeatFolder on(kSecond, 1000, [&](EventRepeats r) { reported.push_back(r); });
  on.open(on.prepare(secret_open(0), 0));  // id 0: the store numbers it, so there is no row to count on
  EXPECT_FALSE(on.fold(secret_open(1), 0));
  EXPECT_TRUE(reported.empty());
}

TEST(RepeatFolder, ABoundedNumberOfOpenWindows) {
  std::vector<EventRepeats> reported;
  RepeatFolder folder(kSecond, 2, [&](EventRepeats r) { reported.push_back(r); });
  for (uint32_t tgid = 1; tgid <= 3; ++tgid) {
    Event ev = secret_open(0, tgid);
    ev.id = tgid;
    folder.open(folder.prepare(ev, 0));
  }
  EXPECT_EQ(folder.open_windows(), 2u);
  EXPECT_TRUE(folder.fold(secret_open(1, 1), 0));
  EXPECT_FALSE(folder.fold(secret_open(1, 3), 0));  // no window: recorded on its own, nothing lost
}

// An event the store refused (queue full) has no row: its repeats are recorded on their own, never counted on
// a row that does not exist.
TEST(RepeatFolder, NothingFoldsIntoAnEventTheStoreRefused) {
  Folder f;
  EXPECT_TRUE(f.offer(secret_open(0), 0, false));
  EXPECT_TRUE(f.offer(secret_open(1)));
  EXPECT_FALSE(f.offer(secret_open(2)));
  f.folder.expire(0, true);
  ASSERT_EQ(f.reported.size(), 1u);
  EXPECT_EQ(f.reported[0].event_id, 2);
}

// Another program in the same process (exec), another user (setuid) or another workload (cgroup) is not a repeat.
TEST(RepeatFolder, ANewProgramUserOrCgroupOfTheSameProcessDoesNotFold) {
  Folder f;
  EXPECT_TRUE(f.offer(secret_open(0), 100));
  EXPECT_TRUE(f.offer(secret_open(1), 200));  // exec'd since: a new generation
  Event other_exe = secret_open(2);
  other_exe.process.exe = "/tmp/payload";
  EXPECT_TRUE(f.offer(other_exe, 200));
  Event setuid = secret_open(3);
  setuid.process.uid = 1000;
  EXPECT_TRUE(f.offer(setuid, 200));
  Event moved = secret_open(4);
  moved.process.cgroup_id = 99;
  EXPECT_TRUE(f.offer(moved, 200));
  EXPECT_FALSE(f.offer(secret_open(5), 200));
}

// Read then connect is what the exfiltration rule looks for: a connect after a secret read of its workload is
// recorded even when the same connect was seen a moment before.
TEST(RepeatFolder, AConnectAfterASecretReadOfItsCgroupIsRecorded) {
  Folder f;
  EXPECT_TRUE(f.offer(connect_to(0, 443)));
  EXPECT_FALSE(f.offer(connect_to(1, 443)));
  Event read_by_child = secret_open(2, 101);  // another process of the same cgroup
  EXPECT_TRUE(f.offer(read_by_child));
  EXPECT_TRUE(f.offer(connect_to(3, 443)));   // after the read: recorded
  EXPECT_FALSE(f.offer(connect_to(4, 443)));  // and its own repeats fold again
  ASSERT_EQ(f.reported.size(), 1u);           // the first window's one repeat
  EXPECT_EQ(f.reported[0].count, 1u);
}

// A failed relative open depends on the working directory, which may change between two calls.
TEST(RepeatFolder, FailedRelativeOpensDoNotFold) {
  Folder f;
  Event relative = secret_open(0, 100, -2);
  auto &d = std::get<FileOpenDetails>(relative.details);
  d.requested = ".aws/credentials";
  d.dev = d.ino = 0;
  EXPECT_TRUE(f.offer(relative));
  relative.time_ns = 1;
  EXPECT_TRUE(f.offer(relative));
  Event absolute = secret_open(2, 100, -2);
  std::get<FileOpenDetails>(absolute.details).ino = 0;
  EXPECT_TRUE(f.offer(absolute));
  absolute.time_ns = 3;
  EXPECT_FALSE(f.offer(absolute));
}

// A file is its inode: two names of it are two windows (the name is kept, as a hash). A failed open has no inode,
// so its name tells it apart, whole.
TEST(RepeatFolder, NamesOfAFileAndFailedOpensOfOtherPathsAreWindowsOfTheirOwn) {
  Folder f;
  Event by_link = secret_open(0);
  std::get<FileOpenDetails>(by_link.details).requested = "/run/secrets/token-link";
  EXPECT_TRUE(f.offer(secret_open(0)));
  EXPECT_TRUE(f.offer(by_link));
  by_link.time_ns = 1;
  EXPECT_FALSE(f.offer(by_link));
  EXPECT_FALSE(f.offer(secret_open(2)));
  for (const char *path : {"/secret/a", "/secret/b"}) {
    Event failed = secret_open(3, 100, -13);
    auto &d = std::get<FileOpenDetails>(failed.details);
    d.ino = 0;
    d.requested = path;
    EXPECT_TRUE(f.offer(failed)) << path;
  }
}
