// The cgroup resolver against a fake cgroup2 tree: handle first, tree-walk fallback, stale index; mountinfo.
#include "identity/cgroup_resolver.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "identity_fixtures.h"

namespace credwatch {
namespace {

// A cgroup2 tree as a map of path -> inode, with the handle path switchable (off: no CAP_DAC_READ_SEARCH).
class FakeCgroupFilesystem : public CgroupFilesystem {
 public:
  bool handles_work = true;
  std::map<std::string, uint64_t> dirs{{"/", 1}};
  int handle_calls = 0, inode_calls = 0, children_calls = 0;

  void add(const std::string &path, uint64_t ino) { dirs[path] = ino; }
  void remove(const std::string &path) { dirs.erase(path); }

  std::optional<std::string> path_by_handle(uint64_t id) override {
    ++handle_calls;
    if (!handles_work) return std::nullopt;
    for (const auto &[p, ino] : dirs)
      if (ino == id) return p;
    return std::nullopt;
  }
  std::optional<uint64_t> inode_of(const std::string &path) override {
    ++inode_calls;
    auto it = dirs.find(path);
    if (it == dirs.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> children(const std::string &path) override {
    ++children_calls;
    std::vector<std::string> out;
    std::string prefix = path == "/" ? "/" : path + "/";
    for (const auto &[p, ino] : dirs) {
      if (p == "/" || !p.starts_with(prefix)) continue;
      std::string rest = p.substr(prefix.size());
      if (!rest.empty() && rest.find('/') == std::string::npos) out.push_back(rest);
    }
    return out;
  }
};

class CgroupResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs.add("/system.slice", 10);
    fs.add("/system.slice/nginx.service", 11);
    fs.add("/kubepods.slice", 20);
    fs.add("/kubepods.slice/kubepods-besteffort.slice", 21);
    fs.add("/kubepods.slice/kubepods-besteffort.slice/pod-a", 22);
    fs.add("/kubepods.slice/kubepods-besteffort.slice/pod-a/ctr", 23);
  }
  FakeCgroupFilesystem fs;
};

TEST_F(CgroupResolverTest, HandleResolvesWithoutWalking) {
  CgroupResolver r(fs);
  EXPECT_EQ(r.path_of(11), "/system.slice/nginx.service");
  EXPECT_EQ(r.path_of(1), "/");
  EXPECT_EQ(r.stats().by_handle, 2u);
  EXPECT_EQ(r.stats().walks, 0u);
  EXPECT_EQ(fs.children_calls, 0);
}

TEST_F(CgroupResolverTest, WalkFallbackFindsEveryCgroup) {
  fs.handles_work = false;
  CgroupResolver r(fs);
  EXPECT_EQ(r.path_of(23), "/kubepods.slice/kubepods-besteffort.slice/pod-a/ctr");
  EXPECT_EQ(r.stats().walks, 1u);
  EXPECT_EQ(r.stats().by_walk, 1u);
  // The index of that walk answers the next lookups (one stat each to confirm).
  EXPECT_EQ(r.path_of(11), "/system.slice/nginx.service");
  EXPECT_EQ(r.path_of(1), "/");
  EXPECT_EQ(r.stats().walks, 1u);
  EXPECT_EQ(r.stats().by_index, 2u);
}

TEST_F(CgroupResolverTest, NewCgroupAfterAWalkIsFoundByWalkingAgain) {
  fs.handles_work = false;
  CgroupResolver r(fs);
  ASSERT_TRUE(r.path_of(11));
  fs.add("/system.slice/redis.service", 12);
  EXPECT_EQ(r.path_of(12), "/system.slice/redis.service");
  EXPECT_EQ(r.stats().walks, 2u);
}

TEST_F(CgroupResolverTest, StaleIndexEntryIsNotReturned) {
  fs.handles_work = false;
  CgroupResolver r(fs);
  ASSERT_EQ(r.path_of(11), "/system.slice/nginx.service");
  // nginx.service is removed and created again: same path, a new id. The old id must not resolve to it.
  fs.add("/system.slice/nginx.service", 99);
  EXPECT_EQ(r.path_of(11), std::nullopt);
  EXPECT_EQ(r.path_of(99), "/system.slice/nginx.service");
  EXPECT_EQ(r.stats().unresolved, 1u);
}

TEST_F(CgroupResolverTest, UnknownAndZeroIdsDoNotResolve) {
  CgroupResolver r(fs);
  EXPECT_EQ(r.path_of(0), std::nullopt);
  EXPECT_EQ(fs.handle_calls, 0);  // id 0 never reaches the filesystem
  EXPECT_EQ(r.path_of(12345), std::nullopt);
  EXPECT_EQ(r.stats().unresolved, 2u);
  EXPECT_EQ(r.stats().walks, 1u);  // the handle failed, the walk was the last resort
}

TEST_F(CgroupResolverTest, StillAtIsOneStat) {
  CgroupResolver r(fs);
  int before = fs.inode_calls;
  EXPECT_TRUE(r.still_at(11, "/system.slice/nginx.service"));
  EXPECT_FALSE(r.still_at(12, "/system.slice/nginx.service"));
  EXPECT_FALSE(r.still_at(11, "/system.slice/gone.service"));
  EXPECT_FALSE(r.still_at(0, "/"));
  EXPECT_EQ(fs.inode_calls - before, 3);
}

TEST_F(CgroupResolverTest, WalkIsBoundedByDepth) {
  fs.handles_work = false;
  std::string deep;
  for (int i = 0; i < 10; ++i) {
    deep += "/d" + std::to_string(i);
    fs.add(deep, 1000 + i);
  }
  CgroupResolver r(fs, CgroupResolver::Limits{.max_depth = 3, .max_cgroups = 1000});
  EXPECT_EQ(r.path_of(1002), "/d0/d1/d2");
  EXPECT_EQ(r.path_of(1005), std::nullopt);
}

TEST(Mountinfo, FindsTheCgroup2Mount) {
  std::string text =
      "22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(text), "/sys/fs/cgroup/unified");
}

TEST(Mountinfo, SkipsBindMountsOfASubtreeAndUnescapes) {
  std::string text =
      "50 31 0:38 /kubepods.slice /host/cg rw - cgroup2 cgroup2 rw\n"
      "51 31 0:38 / /mnt/my\\040cgroups rw shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate\n";
  EXPECT_EQ(cgroup2_mount_from_mountinfo(text), "/mnt/my cgroups");
}

TEST(Mountinfo, NoneIsEmpty) {
  EXPECT_EQ(cgroup2_mount_from_mountinfo(""), "");
  EXPECT_EQ(cgroup2_mount_from_mountinfo("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\ngarbage\n"), "");
  EXPECT_EQ(find_cgroup2_mount("/nonexistent/mountinfo"), "");
}

TEST(Mountinfo, ThisMachineHasOneOrSaysWhy) {
  std::string mount = find_cgroup2_mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
  EXPECT_EQ(mount.front(), '/');
  LinuxCgroupFilesystem fs(mount);
  EXPECT_EQ(fs.error(), "");
  EXPECT_EQ(fs.inode_of("/").has_value(), true);
}

TEST(LinuxCgroupFilesystemTest, MissingMountSaysWhy) {
  LinuxCgroupFilesystem none("");
  EXPECT_NE(none.error().find("no cgroup2 mount"), std::string::npos);
  EXPECT_EQ(none.path_by_handle(1), std::nullopt);
  LinuxCgroupFilesystem missing("/nonexistent/cgroup2");
  EXPECT_NE(missing.error().find("/nonexistent/cgroup2"), std::string::npos) << missing.error();
  EXPECT_EQ(missing.inode_of("/"), std::nullopt);
  EXPECT_TRUE(missing.children("/").empty());
}

// A plain directory tree stands in for cgroup2 (inode numbers are real): the walk fallback end to end.
TEST(LinuxCgroupFilesystemTest, WalkOverARealDirectoryTree) {
  testing::TempDir dir;
  dir.mkdir("system.slice/nginx.service");
  dir.mkdir("user.slice/user-1000.slice");
  dir.write("system.slice/cgroup.procs", "");  // files are not cgroups
  LinuxCgroupFilesystem fs(dir.str());
  ASSERT_EQ(fs.error(), "");
  auto ino = fs.inode_of("/system.slice/nginx.service");
  ASSERT_TRUE(ino);
  std::set<std::string> kids;
  for (auto &c : fs.children("/system.slice")) kids.insert(c);
  EXPECT_EQ(kids, std::set<std::string>{"nginx.service"});
  CgroupResolver r(fs);
  // A temp filesystem is not kernfs: the handle fails and the walk finds the inode.
  EXPECT_EQ(r.path_of(*ino), "/system.slice/nginx.service");
  EXPECT_EQ(r.stats().by_handle + r.stats().by_walk, 1u);
}

}  // namespace
}  // namespace credwatch
