// Microbenchmark of the userspace decode path: synthetic ring-buffer records through credwatch::RecordDecoder.
#include <benchmark/benchmark.h>

#include <variant>
#include <vector>

#include "decode/record_decoder.h"
#include "synthetic_records.h"

namespace {

using credwatch::BootClock;
using credwatch::DecodeResult;
using credwatch::RecordDecoder;

using namespace credwatch::bench;

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
