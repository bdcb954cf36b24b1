// The fingerprint key: generation (mode, atomic placement, reuse), loading, and every refusal.
#include "credentials/fingerprint_key.h"

#include <gtest/gtest.h>

#include "support/unprivileged.h"
#include <sys/stat.h>
#include <unistd.h>

#include "fixtures.h"

namespace credwatch {
namespace {

using testing::TempDir;

mode_t mode_of(const std::filesystem::path &p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(FingerprintKey, GeneratedOnFirstStartWithPrivateModes) {
  TempDir dir;
  auto path = dir.path() / "var/lib/credwatch/fingerprint.key";
  auto first = load_fingerprint_key("", path);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_TRUE(first.key->generated);
  EXPECT_EQ(first.key->path, path.string());
  EXPECT_EQ(first.key->bytes.size(), kGeneratedFingerprintKeySize);
  EXPECT_TRUE(first.warnings.empty());
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(path.parent_path()), 0700u);
  EXPECT_EQ(mode_of(path.parent_path().parent_path()), 0700u);
  EXPECT_EQ(testing::read_file(path), std::string(first.key->bytes.view()));
  // No temporary file is left next to it.
  size_t entries = 0;
  for ([[maybe_unused]] const auto &e : std::filesystem::directory_iterator(path.parent_path())) ++entries;
  EXPECT_EQ(entries, 1u);

  auto second = load_fingerprint_key("", path);
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_FALSE(second.key->generated);
  EXPECT_EQ(second.key->bytes.view(), first.key->bytes.view());
  EXPECT_TRUE(second.warnings.empty());
}

TEST(FingerprintKey, TwoGeneratedKeysDiffer) {
  TempDir a, b;
  auto ka = load_fingerprint_key("", a.path() / "k");
  auto kb = load_fingerprint_key("", b.path() / "k");
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_NE(ka.key->bytes.view(), kb.key->bytes.view());
}

TEST(FingerprintKey, ConfiguredClusterKeyIsUsedAndNewlineStripped) {
  TempDir dir;
  auto path = dir.write("cluster.key", "shared-cluster-key-0123456789\n");
  ::chmod(path.c_str(), 0600);
  auto load = load_fingerprint_key(path, dir.path() / "default.key");
  ASSERT_TRUE(load.ok()) << load.error;
  EXPECT_EQ(load.key->bytes.view(), "shared-cluster-key-0123456789");
  EXPECT_FALSE(load.key->generated);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "default.key"));

  auto crlf = dir.write("crlf.key", "0123456789abcdef\r\n");
  ::chmod(crlf.c_str(), 0400);
  auto k2 = load_fingerprint_key(crlf, "");
  ASSERT_TRUE(k2.ok()) << k2.error;
  EXPECT_EQ(k2.key->bytes.view(), "0123456789abcdef");

  // Only one newline is stripped: the key is raw bytes.
  auto two = dir.write("two.key", "0123456789abcdef\n\n");
  ::chmod(two.c_str(), 0600);
  auto k3 = load_fingerprint_key(two, "");
  ASSERT_TRUE(k3.ok()) << k3.error;
  EXPECT_EQ(k3.key->bytes.view(), "0123456789abcdef\n");
}

TEST(FingerprintKey, MissingConfiguredKeyIsAnErrorNotGenerated) {
  TempDir dir;
  auto path = dir.path() / "missing.key";
  auto load = load_fingerprint_key(path, dir.path() / "default.key");
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, path.string())) << load.error;
  EXPECT_TRUE(contains(load.error, "does not exist")) << load.error;
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "default.key"));
}

TEST(FingerprintKey, ShortKeyIsRefused) {
  TempDir dir;
  auto path = dir.write("short.key", "0123456789abcde\n");  // 15 bytes after the newline
  ::chmod(path.c_str(), 0600);
  auto load = load_fingerprint_key(path, "");
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, path.string())) << load.error;
  EXPECT_TRUE(contains(load.error, "15 key bytes")) << load.error;
  EXPECT_TRUE(contains(load.error, "at least 16")) << load.error;

  auto empty = dir.write("empty.key", "");
  EXPECT_FALSE(load_fingerprint_key(empty, "").ok());
}

TEST(FingerprintKey, UnusableDefaultKeyIsNeverOverwritten) {
  TempDir dir;
  auto path = dir.write("fingerprint.key", "short");
  auto load = load_fingerprint_key("", path);
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, "at least 16")) << load.error;
  EXPECT_EQ(testing::read_file(path), "short");
}

TEST(FingerprintKey, GroupOrWorldReadableIsAWarning) {
  TempDir dir;
  auto path = dir.write("k8s-secret.key", "0123456789abcdef0123");
  ::chmod(path.c_str(), 0644);  // a Kubernetes Secret volume's default mode
  auto load = load_fingerprint_key(path, "");
  ASSERT_TRUE(load.ok()) << load.error;
  ASSERT_EQ(load.warnings.size(), 1u);
  EXPECT_TRUE(contains(load.warnings[0], path.string())) << load.warnings[0];
  EXPECT_TRUE(contains(load.warnings[0], "0644")) << load.warnings[0];
}

TEST(FingerprintKey, KeyBehindSymlinkIsFollowed) {
  // Kubernetes Secret volumes: key -> ..data/key.
  TempDir dir;
  auto real = dir.write("..data/fingerprint.key", "0123456789abcdef0123");
  ::chmod(real.c_str(), 0400);
  std::filesystem::create_symlink("..data/fingerprint.key", dir.path() / "fingerprint.key");
  auto load = load_fingerprint_key(dir.path() / "fingerprint.key", "");
  ASSERT_TRUE(load.ok()) << load.error;
  EXPECT_EQ(load.key->bytes.view(), "0123456789abcdef0123");
}

TEST(FingerprintKey, NotARegularFileOrTooLarge) {
  TempDir dir;
  auto load = load_fingerprint_key(dir.path(), "");
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, "not a regular file")) << load.error;

  auto big = dir.write("big.key", std::string(kMaxFingerprintKeySize + 1, 'k'));
  auto too_big = load_fingerprint_key(big, "");
  EXPECT_FALSE(too_big.ok());
  EXPECT_TRUE(contains(too_big.error, "more than a key file may be")) << too_big.error;
}

TEST(FingerprintKey, UnreadableKeyNamesTheProblem) {
  TempDir dir;
  auto path = dir.write("locked.key", "0123456789abcdef0123");
  ::chmod(path.c_str(), 0000);
  testing::AsUnprivilegedForFiles unprivileged;
  auto load = load_fingerprint_key(path, "");
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, "cannot be opened")) << load.error;
}

TEST(FingerprintKey, GenerationFailuresNameTheProblem) {
  TempDir dir;
  auto file = dir.write("not-a-dir", "x");
  auto load = load_fingerprint_key("", file / "sub" / "fingerprint.key");
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, "not a directory")) << load.error;

  auto none = load_fingerprint_key("", "");
  EXPECT_FALSE(none.ok());
  EXPECT_FALSE(none.error.empty());
}

TEST(FingerprintKey, DanglingSymlinkAtDefaultPathIsNotWrittenThrough) {
  TempDir dir;
  std::filesystem::create_symlink(dir.path() / "elsewhere", dir.path() / "fingerprint.key");
  auto load = load_fingerprint_key("", dir.path() / "fingerprint.key");
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(contains(load.error, "does not exist")) << load.error;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "elsewhere"));
}

}  // namespace
}  // namespace credwatch
