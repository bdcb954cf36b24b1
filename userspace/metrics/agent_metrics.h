// The metric set the agent exposes, as named accessors so the pipeline never spells a metric name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "metrics/metrics_registry.h"
#include "model/event.h"

namespace credwatch {

struct BuildInfo {
  std::string version;
  std::string commit;
  int abi = 0;
};

// The build this binary is (version.h and the BPF ABI header).
BuildInfo current_build_info();

// Owns the registry and every family in it. Updating a series is lock-free; a labelled accessor takes a lock
// only the first time it sees a label set, so hot paths can call it every time or keep the reference.
// The series the agent will always have (every event kind, every program slot) exist from the start at 0,
// so rate() works from the first scrape.
class AgentMetrics {
 public:
  explicit AgentMetrics(const BuildInfo &build = current_build_info());

  MetricsRegistry &registry() { return registry_; }
  const MetricsRegistry &registry() const { return registry_; }

  // credwatch_events_total{kind}: events recorded, by kind ("exec", "file_open", ...).
  Counter &events(EventKind kind) { return events_.with({to_string(kind)}); }
  Counter &events(std::string_view kind) { return events_.with({kind}); }
  // credwatch_events_lost_total{source}: records lost, by BPF program ("exec", "file_open", ...) or agent
  // stage ("decode", "queue", "repeats").
  Counter &events_lost(std::string_view source) { return events_lost_.with({source}); }
  // credwatch_decode_errors_total: ring-buffer records that could not be decoded.
  Counter &decode_errors() { return decode_errors_; }
  // credwatch_events_folded_total: repeats folded into an earlier event of their window (see RepeatFolder).
  Counter &events_folded() { return events_folded_; }

  // credwatch_ring_buffer_used_bytes, credwatch_ring_buffer_size_bytes, credwatch_ring_buffer_fill_ratio.
  void set_ring_buffer_fill(uint64_t used_bytes, uint64_t size_bytes);
  Gauge &ring_buffer_used_bytes() { return ring_used_; }
  Gauge &ring_buffer_size_bytes() { return ring_size_; }
  Gauge &ring_buffer_fill_ratio() { return ring_ratio_; }

  // credwatch_alerts_total{rule,severity}.
  Counter &alerts(std::string_view rule, std::string_view severity) { return alerts_.with({rule, severity}); }

  // credwatch_webhook_deliveries_total{sink}, credwatch_webhook_failures_total{sink},
  // credwatch_webhook_outbox_depth{sink} (alerts waiting to be delivered).
  Counter &webhook_deliveries(std::string_view sink) { return webhook_deliveries_.with({sink}); }
  Counter &webhook_failures(std::string_view sink) { return webhook_failures_.with({sink}); }
  Gauge &webhook_outbox_depth(std::string_view sink) { return outbox_depth_.with({sink}); }

  // credwatch_identities_tracked, credwatch_credentials_tracked: what the correlator holds now.
  Gauge &identities_tracked() { return identities_; }
  Gauge &credentials_tracked() { return credentials_; }

  // credwatch_store_write_duration_seconds: one SQLite transaction (a batch); credwatch_store_batch_size:
  // events in it.
  Histogram &store_write_seconds() { return store_write_seconds_; }
  Histogram &store_batch_size() { return store_batch_size_; }

  // credwatch_store_pruned_rows_total{table}: rows the store's retention deleted. Registered, with each of the
  // given tables at 0, only when retention is on: an agent that keeps everything has no such family. Once.
  void enable_store_retention(std::span<const char *const> tables);
  // After enable_store_retention(); throws MetricsError before it.
  Counter &store_pruned_rows(std::string_view table);

 private:
  MetricsRegistry registry_;
  Family<Counter> &events_;
  Family<Counter> &events_lost_;
  Counter &decode_errors_;
  Counter &events_folded_;
  Gauge &ring_used_;
  Gauge &ring_size_;
  Gauge &ring_ratio_;
  Family<Counter> &alerts_;
  Family<Counter> &webhook_deliveries_;
  Family<Counter> &webhook_failures_;
  Family<Gauge> &outbox_depth_;
  Gauge &identities_;
  Gauge &credentials_;
  Histogram &store_write_seconds_;
  Histogram &store_batch_size_;
  Family<Counter> *store_pruned_rows_ = nullptr;
};

}  // namespace credwatch
