// Decoding every record kind field by field, and refusing truncated, garbage and foreign records.
#include "decode/record_decoder.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {
namespace {

template <typename T>
std::vector<uint8_t> bytes_of(const T &rec) {
  std::vector<uint8_t> out(sizeof(T));
  memcpy(out.data(), &rec, sizeof(T));
  return out;
}

void fill_header(cw_header &h, uint16_t kind, uint32_t size) {
  h.kind = kind;
  h.abi_version = CW_ABI_VERSION;
  h.size = size;
  h.ts_ns = 5'000'000'000ULL;
  h.start_ns = 1'234'567'890ULL;
  h.cgroup_id = 4242;
  h.pid = 101;
  h.tgid = 100;
  h.ppid = 1;
  h.uid = 1000;
  h.gid = 1001;
  h.mnt_ns = 4026531841u;
  strncpy(h.comm, "cat", sizeof(h.comm));
}

class DecoderTest : public ::testing::Test {
 protected:
  BootClock clock;
  RecordDecoder decoder{clock};

  Event decode_ok(const std::vector<uint8_t> &data) {
    auto result = decoder.decode(data);
    if (auto *err = std::get_if<DecodeError>(&result)) ADD_FAILURE() << err->reason;
    return std::get<Event>(result);
  }
  std::string decode_err(const std::vector<uint8_t> &data) {
    auto result = decoder.decode(data);
    EXPECT_TRUE(std::holds_alternative<DecodeError>(result));
    return std::holds_alternative<DecodeError>(result) ? std::get<DecodeError>(result).reason : "";
  }
};

void expect_header(const Event &ev, const BootClock &clock) {
  EXPECT_EQ(ev.time_ns, clock.to_wall(5'000'000'000ULL));
  EXPECT_EQ(ev.process.pid, 101u);
  EXPECT_EQ(ev.process.tgid, 100u);
  EXPECT_EQ(ev.process.ppid, 1u);
  EXPECT_EQ(ev.process.uid, 1000u);
  EXPECT_EQ(ev.process.gid, 1001u);
  EXPECT_EQ(ev.process.start_ns, 1'234'567'890ULL);
  EXPECT_EQ(ev.process.cgroup_id, 4242u);
  EXPECT_EQ(ev.process.mnt_ns, 4026531841u);
  EXPECT_EQ(ev.process.comm, "cat");
}

TEST_F(DecoderTest, Exec) {
  cw_exec r{};
  fill_header(r.hdr, CW_REC_EXEC, sizeof(r));
  r.parent_start_ns = 77;
  r.cap_effective = 0x1ffffffffffULL;
  r.euid = 0;
  r.egid = 0;
  r.tty_nr = 34816;
  const char args[] = "sh\0-c\0echo hi";
  memcpy(r.args, args, sizeof(args));
  r.args_len = sizeof(args);  // includes the final NUL
  strcpy(r.filename, "/bin/sh");
  r.filename_len = 7;
  strcpy(r.exe, "dash/bin/usr");  // leaf first
  r.exe_len = 12;
  Event ev = decode_ok(bytes_of(r));
  expect_header(ev, clock);
  ASSERT_EQ(ev.kind, EventKind::Exec);
  auto &d = std::get<ExecDetails>(ev.details);
  EXPECT_EQ(d.filename, "/bin/sh");
  EXPECT_EQ(d.args, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  EXPECT_FALSE(d.args_truncated);
  EXPECT_EQ(d.cap_effective, 0x1ffffffffffULL);
  EXPECT_EQ(d.tty_nr, 34816u);
  EXPECT_EQ(d.parent_start_ns, 77u);
  EXPECT_EQ(ev.process.exe, "/usr/bin/dash");
}

TEST_F(DecoderTest, ExecWithTruncatedArgsKeepsThePartialArgument) {
  cw_exec r{};
  fill_header(r.hdr, CW_REC_EXEC, sizeof(r));
  memset(r.args, 'a', sizeof(r.args));
  r.args_len = sizeof(r.args);
  r.args_truncated = 1;
  Event ev = decode_ok(bytes_of(r));
  auto &d = std::get<ExecDetails>(ev.details);
  ASSERT_EQ(d.args.size(), 1u);
  EXPECT_EQ(d.args[0].size(), sizeof(r.args));
  EXPECT_TRUE(d.args_truncated);
  EXPECT_EQ(ev.process.exe, "");  // no exe and no filename
}

TEST_F(DecoderTest, LengthsLargerThanTheirArraysAreClamped) {
  cw_exec r{};
  fill_header(r.hdr, CW_REC_EXEC, sizeof(r));
  memset(r.filename, 'x', sizeof(r.filename));  // no NUL at all
  r.filename_len = 60000;
  r.args_len = 60000;
  Event ev = decode_ok(bytes_of(r));
  EXPECT_EQ(std::get<ExecDetails>(ev.details).filename.size(), sizeof(r.filename));
}

TEST_F(DecoderTest, ForkAndExit) {
  cw_fork f{};
  fill_header(f.hdr, CW_REC_FORK, sizeof(f));
  f.child_tgid = 555;
  f.child_start_ns = 999;
  Event ev = decode_ok(bytes_of(f));
  expect_header(ev, clock);
  ASSERT_EQ(ev.kind, EventKind::Fork);
  EXPECT_EQ(std::get<ForkDetails>(ev.details).child_tgid, 555u);
  EXPECT_EQ(std::get<ForkDetails>(ev.details).child_start_ns, 999u);

  cw_exit x{};
  fill_header(x.hdr, CW_REC_EXIT, sizeof(x));
  x.exit_code = 3 << 8;
  ev = decode_ok(bytes_of(x));
  ASSERT_EQ(ev.kind, EventKind::Exit);
  auto &d = std::get<ExitDetails>(ev.details);
  EXPECT_EQ(d.exit_code(), 3);
  EXPECT_FALSE(d.signal().has_value());
  x.exit_code = 9;  // SIGKILL
  d = std::get<ExitDetails>(decode_ok(bytes_of(x)).details);
  EXPECT_EQ(d.signal(), 9);
  EXPECT_FALSE(d.exit_code().has_value());
}

TEST_F(DecoderTest, FileOpen) {
  cw_file_open r{};
  fill_header(r.hdr, CW_REC_FILE_OPEN, sizeof(r));
  r.ret = 3;
  r.dev = (8u << 20) | 1;
  r.ino = 123456;
  r.flags = 0;  // O_RDONLY
  r.mode = 0;
  r.dirfd = -100;
  r.syscall = CW_SYS_OPENAT;
  r.match = CW_MATCH_NAME;
  r.catalog_id = 5;
  strcpy(r.path, "credentials");
  r.path_len = 11;
  strcpy(r.resolved, "credentials/.aws/alice/home");
  r.resolved_len = 27;
  Event ev = decode_ok(bytes_of(r));
  expect_header(ev, clock);
  ASSERT_EQ(ev.kind, EventKind::FileOpen);
  auto &d = std::get<FileOpenDetails>(ev.details);
  EXPECT_EQ(d.requested, "credentials");
  EXPECT_EQ(d.resolved, "/home/alice/.aws/credentials");
  EXPECT_EQ(d.result, 3);
  EXPECT_EQ(d.dev, (8u << 20) | 1);
  EXPECT_EQ(d.ino, 123456u);
  EXPECT_EQ(d.dirfd, -100);
  EXPECT_EQ(d.syscall, "openat");
  EXPECT_EQ(d.match, OpenMatch::Name);
  EXPECT_EQ(d.catalog_id, 5u);
  EXPECT_EQ(d.access(), "read");
  EXPECT_EQ(d.kernel_window_ns, 0u);  // the kernel counts no repeats of it
}

TEST_F(DecoderTest, FileOpenThatOpenedAKernelRepeatWindowIsNamedByItsKernelTime) {
  cw_file_open r{};
  fill_header(r.hdr, CW_REC_FILE_OPEN, sizeof(r));
  r.ret = 3;
  r.match = CW_MATCH_INODE;
  r.repeat_window = 1;
  Event ev = decode_ok(bytes_of(r));
  EXPECT_EQ(std::get<FileOpenDetails>(ev.details).kernel_window_ns, 5'000'000'000ULL);  // the header's boot time
}

TEST_F(DecoderTest, FileOpenRejectsUnknownMatch) {
  cw_file_open r{};
  fill_header(r.hdr, CW_REC_FILE_OPEN, sizeof(r));
  r.match = 77;
  EXPECT_NE(decode_err(bytes_of(r)).find("unknown match"), std::string::npos);
}

TEST_F(DecoderTest, ConnectIpv4Ipv6Unix) {
  cw_connect r{};
  fill_header(r.hdr, CW_REC_CONNECT, sizeof(r));
  r.ret = -111;
  r.fd = 4;
  r.family = AF_INET;
  r.sock_type = SOCK_STREAM;
  r.port = 8080;
  inet_pton(AF_INET, "127.0.0.1", r.addr);
  Event ev = decode_ok(bytes_of(r));
  expect_header(ev, clock);
  auto d = std::get<ConnectDetails>(ev.details);
  EXPECT_EQ(d.destination(), "127.0.0.1:8080");
  EXPECT_EQ(d.result, -111);
  EXPECT_EQ(d.type_name(), "stream");
  EXPECT_EQ(errno_name(d.result), "ECONNREFUSED");

  r.family = AF_INET6;
  memset(r.addr, 0, sizeof(r.addr));
  inet_pton(AF_INET6, "::1", r.addr);
  d = std::get<ConnectDetails>(decode_ok(bytes_of(r)).details);
  EXPECT_EQ(d.destination(), "[::1]:8080");
  EXPECT_EQ(d.family_name(), "ipv6");

  r.family = AF_UNIX;
  r.port = 0;
  strcpy(r.unix_path, "/run/containerd/containerd.sock");
  r.unix_path_len = static_cast<uint16_t>(strlen(r.unix_path) + 1);
  d = std::get<ConnectDetails>(decode_ok(bytes_of(r)).details);
  EXPECT_EQ(d.destination(), "/run/containerd/containerd.sock");

  memset(r.unix_path, 0, sizeof(r.unix_path));
  memcpy(r.unix_path, "\0abstract", 9);
  r.unix_path_len = 9;
  d = std::get<ConnectDetails>(decode_ok(bytes_of(r)).details);
  EXPECT_EQ(d.address, "@abstract");
}

TEST_F(DecoderTest, TruncatedRecordsAreErrorsNotReads) {
  cw_file_open r{};
  fill_header(r.hdr, CW_REC_FILE_OPEN, sizeof(r));
  auto data = bytes_of(r);
  for (size_t n : {0ul, 1ul, sizeof(cw_header) - 1, sizeof(cw_header), sizeof(r) - 1}) {
    std::vector<uint8_t> cut(data.begin(), data.begin() + static_cast<long>(n));
    auto reason = decode_err(cut);
    EXPECT_FALSE(reason.empty()) << n;
  }
}

TEST_F(DecoderTest, HeaderSizeLargerThanDataIsTruncation) {
  cw_exit r{};
  fill_header(r.hdr, CW_REC_EXIT, sizeof(r) + 100);
  EXPECT_NE(decode_err(bytes_of(r)).find("truncated"), std::string::npos);
}

TEST_F(DecoderTest, ForeignVersionAndUnknownKind) {
  cw_exit r{};
  fill_header(r.hdr, CW_REC_EXIT, sizeof(r));
  r.hdr.abi_version = CW_ABI_VERSION + 1;
  EXPECT_NE(decode_err(bytes_of(r)).find("ABI version"), std::string::npos);
  r.hdr.abi_version = CW_ABI_VERSION;
  r.hdr.kind = 200;
  EXPECT_NE(decode_err(bytes_of(r)).find("unknown kind"), std::string::npos);
}

TEST_F(DecoderTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> data(rng() % 1300);
    for (auto &b : data) b = static_cast<uint8_t>(rng());
    if (data.size() >= 4 && (i % 2 == 0)) {
      // Make half of them plausible so the per-kind decoders are exercised too.
      uint16_t kind = static_cast<uint16_t>(1 + rng() % CW_REC_KIND_MAX);
      uint16_t version = CW_ABI_VERSION;
      memcpy(data.data(), &kind, 2);
      memcpy(data.data() + 2, &version, 2);
    }
    (void)decoder.decode(data);
  }
}

TEST(ReverseLeafFirstPath, Reverses) {
  EXPECT_EQ(reverse_leaf_first_path("token/..data/serviceaccount"), "/serviceaccount/..data/token");
  EXPECT_EQ(reverse_leaf_first_path("shadow/etc"), "/etc/shadow");
  EXPECT_EQ(reverse_leaf_first_path(""), "");
  EXPECT_EQ(reverse_leaf_first_path("a"), "/a");
}

}  // namespace
}  // namespace credwatch
