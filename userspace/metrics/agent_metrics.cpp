// Registration of the agent's metric set, with the series that exist from the start.
#include "metrics/agent_metrics.h"

#include <chrono>
#include <limits>

#include "metrics/process_stats.h"
#include "version.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

BuildInfo current_build_info() {
  return {kVersion, kGitCommit, CW_ABI_VERSION};
}

namespace {
// Every BPF program slot that counts lost records (bpf_sensor.cpp's names) and the agent's own stages.
constexpr std::string_view kLossSources[] = {"exec", "fork", "exit", "file_open", "connect", "decode", "queue", "repeats"};
}  // namespace

AgentMetrics::AgentMetrics(const BuildInfo &build)
    : events_(registry_.counter_family("credwatch_events_total", "Events recorded, by kind.", {"kind"})),
      events_lost_(registry_.counter_family(
          "credwatch_events_lost_total",
          "Records lost before the store, by BPF program (ring buffer full) or agent stage (decode, queue, "
          "repeats: kernel repeat counts whose row the store refused).",
          {"source"})),
      decode_errors_(
          registry_.counter("credwatch_decode_errors_total", "Ring-buffer records that could not be decoded.")),
      events_folded_(registry_.counter(
          "credwatch_events_folded_total",
          "Events folded into an identical earlier one of the same process (counted on its row, no row of their own).")),
      ring_used_(registry_.gauge("credwatch_ring_buffer_used_bytes", "Bytes waiting in the BPF ring buffer.")),
      ring_size_(registry_.gauge("credwatch_ring_buffer_size_bytes", "Size of the BPF ring buffer.")),
      ring_ratio_(
          registry_.gauge("credwatch_ring_buffer_fill_ratio",
                          "Fraction of the BPF ring buffer in use (0 to 1); near 1 means records will be lost.")),
      alerts_(registry_.counter_family("credwatch_alerts_total", "Alerts raised, by rule and severity.",
                                       {"rule", "severity"})),
      webhook_deliveries_(registry_.counter_family("credwatch_webhook_deliveries_total",
                                                   "Alerts delivered to a webhook sink.", {"sink"})),
      webhook_failures_(registry_.counter_family("credwatch_webhook_failures_total",
                                                 "Failed webhook delivery attempts (each retry counts).", {"sink"})),
      outbox_depth_(registry_.gauge_family("credwatch_webhook_outbox_depth",
                                           "Alerts waiting in the outbox for delivery to a webhook sink.", {"sink"})),
      identities_(registry_.gauge("credwatch_identities_tracked", "Workload identities the agent tracks.")),
      credentials_(registry_.gauge("credwatch_credentials_tracked", "Credentials (by fingerprint) the agent tracks.")),
      store_write_seconds_(registry_.histogram("credwatch_store_write_duration_seconds",
                                               "Time to write one batch to the store.",
                                               exponential_buckets(0.0005, 2, 14))),  // 0.5 ms .. ~4 s
      store_batch_size_(registry_.histogram("credwatch_store_batch_size", "Events written per store batch.",
                                            {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000})) {
  for (auto kind : event_kind_names()) events_.with({kind});
  for (auto source : kLossSources) events_lost_.with({source});

  registry_
      .gauge_family("credwatch_build_info", "The running build: version, git commit and BPF ABI (always 1).",
                    {"version", "commit", "abi"})
      .with({build.version, build.commit, std::to_string(build.abi)})
      .set(1);

  double started = process_start_time_seconds().value_or(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  registry_.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.")
      .set(started);
  registry_.gauge_callback("process_resident_memory_bytes", "Resident memory size in bytes (from /proc/self/statm).",
                           [] {
                             auto rss = resident_memory_bytes();
                             return rss ? static_cast<double>(*rss) : std::numeric_limits<double>::quiet_NaN();
                           });
}

void AgentMetrics::enable_store_retention(std::span<const char *const> tables) {
  if (store_pruned_rows_) return;
  store_pruned_rows_ = &registry_.counter_family("credwatch_store_pruned_rows_total",
                                                 "Rows deleted from the store by retention, by table.", {"table"});
  for (const char *table : tables) store_pruned_rows_->with({table});
}

Counter &AgentMetrics::store_pruned_rows(std::string_view table) {
  if (!store_pruned_rows_) throw MetricsError("credwatch_store_pruned_rows_total: retention metrics are not enabled");
  return store_pruned_rows_->with({table});
}

void AgentMetrics::set_ring_buffer_fill(uint64_t used_bytes, uint64_t size_bytes) {
  ring_used_.set(static_cast<double>(used_bytes));
  ring_size_.set(static_cast<double>(size_bytes));
  ring_ratio_.set(size_bytes ? static_cast<double>(used_bytes) / static_cast<double>(size_bytes) : 0.0);
}

}  // namespace credwatch
