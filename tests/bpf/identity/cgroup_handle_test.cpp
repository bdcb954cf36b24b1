// Root only: real cgroup directories on the cgroup2 mount, resolved by kernfs file handle and by tree walk.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "identity/cgroup_resolver.h"
#include "identity/workload_identity.h"

namespace credwatch {
namespace {

// The real filesystem with the handle path switched off, to exercise the walk on real inodes.
class NoHandleFilesystem : public CgroupFilesystem {
 public:
  explicit NoHandleFilesystem(CgroupFilesystem &real) : real_(real) {}
  std::optional<std::string> path_by_handle(uint64_t) override { return std::nullopt; }
  std::optional<uint64_t> inode_of(const std::string &path) override { return real_.inode_of(path); }
  std::vector<std::string> children(const std::string &path) override { return real_.children(path); }

 private:
  CgroupFilesystem &real_;
};

// Creates cgroup directories below the cgroup2 root and removes them (deepest first) when the test ends.
class CgroupHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    mount_ = find_cgroup2_mount();
    if (mount_.empty()) GTEST_SKIP() << "no cgroup2 mount in /proc/self/mountinfo";
    base_ = "/credwatch-identity-test-" + std::to_string(::getpid());
  }
  void TearDown() override {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) ::rmdir((mount_ + *it).c_str());
  }
  // mkdir below the mount; returns the new cgroup's id (its inode).
  uint64_t make(const std::string &path) {
    if (::mkdir((mount_ + path).c_str(), 0755) != 0) {
      ADD_FAILURE() << "mkdir " << mount_ + path << ": " << std::strerror(errno);
      return 0;
    }
    created_.push_back(path);
    struct stat st {};
    EXPECT_EQ(::stat((mount_ + path).c_str(), &st), 0);
    return st.st_ino;
  }
  void remove(const std::string &path) {
    ASSERT_EQ(::rmdir((mount_ + path).c_str()), 0) << std::strerror(errno);
    std::erase(created_, path);
  }

  std::string mount_;
  std::string base_;
  std::vector<std::string> created_;
};

TEST_F(CgroupHandleTest, HandleResolvesNewCgroupsToTheirPaths) {
  LinuxCgroupFilesystem fs(mount_);
  ASSERT_EQ(fs.error(), "");
  uint64_t top = make(base_);
  uint64_t slice = make(base_ + "/system.slice");
  uint64_t unit = make(base_ + "/system.slice/demo.service");
  ASSERT_NE(unit, 0u);
  EXPECT_EQ(fs.path_by_handle(top), base_);
  EXPECT_EQ(fs.path_by_handle(slice), base_ + "/system.slice");
  EXPECT_EQ(fs.path_by_handle(unit), base_ + "/system.slice/demo.service");
  EXPECT_EQ(fs.path_by_handle(1), "/");  // the root cgroup

  CgroupResolver resolver(fs);
  EXPECT_EQ(resolver.path_of(unit), base_ + "/system.slice/demo.service");
  EXPECT_EQ(resolver.stats().by_handle, 1u);
  EXPECT_TRUE(resolver.still_at(unit, base_ + "/system.slice/demo.service"));

  remove(base_ + "/system.slice/demo.service");
  EXPECT_EQ(fs.path_by_handle(unit), std::nullopt);  // ESTALE
  EXPECT_FALSE(resolver.still_at(unit, base_ + "/system.slice/demo.service"));
  EXPECT_EQ(resolver.path_of(unit), std::nullopt);
}

TEST_F(CgroupHandleTest, WalkFindsTheSameCgroup) {
  LinuxCgroupFilesystem real(mount_);
  ASSERT_EQ(real.error(), "");
  make(base_);
  uint64_t pod = make(base_ + "/kubepods");
  ASSERT_NE(pod, 0u);
  NoHandleFilesystem fs(real);
  CgroupResolver resolver(fs);
  EXPECT_EQ(resolver.path_of(pod), base_ + "/kubepods");
  EXPECT_EQ(resolver.stats().walks, 1u);
}

TEST_F(CgroupHandleTest, IdentityOfARealCgroupAndItsRemoval) {
  LinuxCgroupFilesystem fs(mount_);
  ASSERT_EQ(fs.error(), "");
  CgroupResolver cgroups(fs);
  make(base_);
  make(base_ + "/system.slice");
  uint64_t unit = make(base_ + "/system.slice/demo.service");
  IdentityConfig config;
  config.node_name = "test-node";
  config.kubelet_root = "/nonexistent";
  IdentityResolver identities(config, cgroups);
  WorkloadIdentity id = *identities.resolve(unit, 0, "/usr/bin/demo");
  EXPECT_EQ(id.id, "spiffe://cluster.local/node/test-node/systemd/demo.service");
  EXPECT_EQ(id.attributes.at("cgroup.path"), base_ + "/system.slice/demo.service");

  EXPECT_EQ(identities.sweep(), 0u);
  remove(base_ + "/system.slice/demo.service");
  EXPECT_EQ(identities.sweep(), 1u);
  WorkloadIdentity after = *identities.resolve(unit, 0, "/usr/bin/demo");
  EXPECT_EQ(after.kind, "host");
  EXPECT_EQ(after.attributes.at("identity.source"), "unresolved-cgroup");
}

}  // namespace
}  // namespace credwatch
