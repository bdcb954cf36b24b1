// Microbenchmark of the userspace decode path: synthetic ring-buffer records through credwatch::RecordDecoder.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string_view>
#include <variant>
#include <vector>

#include "decode/record_decoder.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace {

using credwatch::BootClock;
using credwatch::DecodeResult;
using credwatch::RecordDecoder;

// The header every record starts with, as the kernel fills it.
void fill_header(cw_header &h, uint16_t kind, uint32_t size) {
  h.kind = kind;
  h.abi_version = CW_ABI_VERSION;
  h.size = size;
  h.ts_ns = 123'456'789'000;
  h.start_ns = 42'000'000;
  h.cgroup_id = 7777;
  h.pid = h.tgid = 4242;
  h.ppid = 1;
  h.uid = h.gid = 1000;
  h.mnt_ns = 4026531841u;
  memcpy(h.comm, "kubectl", 8);
}

void copy_text(char *dst, size_t capacity, std::string_view text) {
  memcpy(dst, text.data(), std::min(capacity, text.size()));
}

template <typename Record>
std::vector<uint8_t> bytes_of(const Record &r) {
  std::vector<uint8_t> out(sizeof(Record));
  memcpy(out.data(), &r, sizeof(Record));
  return out;
}

// A name match: the kernel sent the requested and the rebuilt (leaf-first) path, the most string work.
std::vector<uint8_t> file_open_record() {
  cw_file_open r{};
  fill_header(r.hdr, CW_REC_FILE_OPEN, sizeof(r));
  r.ret = 3;
  r.dev = 0x800001;
  r.ino = 131313;
  r.flags = 0x80000;
  r.syscall = CW_SYS_OPENAT;
  r.match = CW_MATCH_NAME;
  r.catalog_id = 1;
  constexpr std::string_view path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  constexpr std::string_view resolved = "token/..2024_01_01_00_00_00.123/serviceaccount/kubernetes.io/secrets/run";
  copy_text(r.path, sizeof(r.path), path);
  r.path_len = path.size();
  copy_text(r.resolved, sizeof(r.resolved), resolved);
  r.resolved_len = resolved.size();
  return bytes_of(r);
}

std::vector<uint8_t> exec_record() {
  cw_exec r{};
  fill_header(r.hdr, CW_REC_EXEC, sizeof(r));
  constexpr std::string_view filename = "/usr/bin/kubectl";
  constexpr std::string_view args = "kubectl\0get\0pods\0-n\0kube-system\0-o\0json";
  constexpr std::string_view exe = "kubectl/bin/usr";
  copy_text(r.filename, sizeof(r.filename), filename);
  r.filename_len = filename.size();
  copy_text(r.args, sizeof(r.args), args);
  r.args_len = args.size();
  copy_text(r.exe, sizeof(r.exe), exe);
  r.exe_len = exe.size();
  return bytes_of(r);
}

std::vector<uint8_t> connect_record() {
  cw_connect r{};
  fill_header(r.hdr, CW_REC_CONNECT, sizeof(r));
  r.fd = 5;
  r.addrlen = 16;
  r.family = 2;  // AF_INET
  r.sock_type = 1;
  r.port = 443;
  const uint8_t addr[4] = {10, 96, 0, 1};
  memcpy(r.addr, addr, sizeof(addr));
  return bytes_of(r);
}

std::vector<uint8_t> fork_record() {
  cw_fork r{};
  fill_header(r.hdr, CW_REC_FORK, sizeof(r));
  r.child_tgid = 4343;
  r.child_start_ns = 43'000'000;
  return bytes_of(r);
}

// Decodes the records round-robin; a DecodeError is a broken benchmark, not a fast path, so it stops the run.
void run_decode(benchmark::State &state, const std::vector<std::vector<uint8_t>> &records) {
  BootClock clock;
  RecordDecoder decoder(clock);
  size_t i = 0;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the Google Benchmark loop idiom
    DecodeResult result = decoder.decode(records[i]);
    if (std::holds_alternative<credwatch::DecodeError>(result)) {
      state.SkipWithError(("decode failed: " + std::get<credwatch::DecodeError>(result).reason).c_str());
      break;
    }
    benchmark::DoNotOptimize(result);
    if (++i == records.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DecodeFileOpen(benchmark::State &state) {
  run_decode(state, {file_open_record()});
}
void BM_DecodeExec(benchmark::State &state) {
  run_decode(state, {exec_record()});
}
void BM_DecodeConnect(benchmark::State &state) {
  run_decode(state, {connect_record()});
}
// Roughly what a busy node sends: mostly process lifecycle, some connects, a few secret opens.
void BM_DecodeMix(benchmark::State &state) {
  run_decode(state, {exec_record(), fork_record(), connect_record(), fork_record(), file_open_record(),
                     connect_record(), exec_record(), fork_record()});
}

BENCHMARK(BM_DecodeFileOpen);
BENCHMARK(BM_DecodeExec);
BENCHMARK(BM_DecodeConnect);
BENCHMARK(BM_DecodeMix);

}  // namespace

BENCHMARK_MAIN();
