// The secret reader reaches a file only when it is the very file the kernel reported (device and inode).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "correlate/secret_reader.h"

namespace credwatch {
namespace {

class SecretReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cw-reader-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/proc");  // an empty /proc: every opener has exited
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string &name, const std::string &text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // Where the kernel said the opener's file was: its path and the (kernel-encoded) device and inode.
  static SecretFileLocation opened(const std::string &path) {
    struct stat st{};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    SecretFileLocation where;
    where.tgid = 999999;  // gone
    where.fd = 3;
    where.path = path;
    where.dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
    where.ino = st.st_ino;
    return where;
  }

  std::string dir_;
};

TEST_F(SecretReaderTest, AnExitedOpenersFileIsReadByItsPathWhenTheInodeMatches) {
  std::string path = write("token", "value-1");
  ProcSecretReader reader(dir_ + "/proc");
  SecretFileState state;
  std::string why;
  auto data = reader.read(opened(path), 1024, state, why);
  ASSERT_TRUE(data) << why;
  EXPECT_EQ(data->view(), "value-1");
  EXPECT_EQ(state.size, 7u);
}

TEST_F(SecretReaderTest, APathThatNowNamesAnotherFileIsRefused) {
  std::string path = write("token", "value-1");
  SecretFileLocation where = opened(path);
  std::filesystem::rename(path, dir_ + "/kept");  // kept, so its inode number cannot be reused by the impostor
  write("other", "impostor");
  std::filesystem::rename(dir_ + "/other", path);  // same path, another inode
  ProcSecretReader reader(dir_ + "/proc");
  SecretFileState state;
  std::string why;
  EXPECT_FALSE(reader.read(where, 1024, state, why));
  EXPECT_NE(why.find("not the regular file that was opened"), std::string::npos) << why;
}

TEST_F(SecretReaderTest, WithoutTheKernelsInodeTheHostPathIsNotTried) {
  std::string path = write("token", "value-1");
  SecretFileLocation where = opened(path);
  where.ino = 0;
  where.dev = 0;
  ProcSecretReader reader(dir_ + "/proc");
  SecretFileState state;
  std::string why;
  EXPECT_FALSE(reader.read(where, 1024, state, why));
}

TEST_F(SecretReaderTest, AFifoAtThePathIsNeverOpened) {
  std::string path = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  SecretFileLocation where = opened(path);
  ProcSecretReader reader(dir_ + "/proc");
  SecretFileState state;
  std::string why;
  EXPECT_FALSE(reader.read(where, 1024, state, why));  // would block or have effects if opened for real
  EXPECT_NE(why.find("not the regular file"), std::string::npos) << why;
}

TEST_F(SecretReaderTest, ReadsStopAtTheLimit) {
  std::string path = write("big", std::string(100, 'x'));
  ProcSecretReader reader(dir_ + "/proc");
  SecretFileState state;
  std::string why;
  auto data = reader.read(opened(path), 10, state, why);
  ASSERT_TRUE(data) << why;
  EXPECT_EQ(data->size(), 10u);
  EXPECT_EQ(state.size, 100u);
}

}  // namespace
}  // namespace credwatch
