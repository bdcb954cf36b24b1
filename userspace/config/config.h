// The agent's configuration: embedded defaults, overridden by a YAML file, then by flags and environment.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/secret_catalog.h"
#include "response/webhook_config.h"

namespace credwatch {

// "FILE:LINE:COLUMN: problem"
class ConfigError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string source = "<built-in defaults>";  // the file it came from
  std::string database = "/var/lib/credwatch/credwatch.db";
  // Events, sensor counters, exited processes and finished deliveries older than this are pruned (0: kept forever).
  int64_t retention_ns = 7LL * 86400 * 1'000'000'000;
  // Identical events of one process this close together fold into the first stored (0: every event is a row).
  int64_t repeat_window_ns = 1'000'000'000;
  std::string node_name;                 // default: the host name
  std::string trust_domain = "cluster.local";
  std::string kubelet_root = "/var/lib/kubelet";
  std::string container_log_dir = "/var/log/containers";   // <pod>_<ns>_<container>-<id>.log names
  std::string pod_log_dir = "/var/log/pods";                // <ns>_<pod>_<uid>/ directories
  std::vector<std::string> podman_roots{"/var/lib/containers/storage"};
  std::vector<std::string> docker_roots{"/var/lib/docker"};
  std::string log_level = "info";
  std::string log_format = "auto";       // auto, human, json
  uint32_t ring_buffer_mb = 16;          // power of two
  size_t max_queue = 1'000'000;          // events waiting for SQLite before drops are counted
  int64_t stats_interval_ns = 10'000'000'000;
  int64_t catalog_rescan_ns = 300'000'000'000;
  bool probe_process = true;
  bool probe_files = true;
  bool probe_net = true;
  bool probe_proc_access = true;
  bool probe_creds = true;
  // Credentials: the fingerprint key (empty: generated next to the database on first start).
  std::string fingerprint_key_file;
  // Environment variables.
  bool env_exec = true;                       // record secret variables programs start with
  uint32_t env_max_bytes = 32768;             // of each environment block the kernel sends
  std::vector<std::string> env_secret_names;  // globs; empty: the built-in list
  std::vector<std::string> env_not_secret_names;  // globs that are never secrets; empty: the built-in list
  std::string env_reads_scope = "selected";   // getenv uprobes: off, selected, all
  std::vector<std::string> env_reads_identities;  // identity globs for "selected"
  bool builtin_catalog = true;
  std::vector<CatalogEntry> catalog;     // entries added by the config file
  // Policies: a file or a directory of *.yaml (empty: none; every identity is unrestricted, detectors still run).
  std::string policy_path;
  // Detection.
  int64_t learning_window_ns = 24LL * 3600 * 1'000'000'000;  // when an identity's policy gives none
  int64_t dedup_window_ns = 3600LL * 1'000'000'000;          // repeats of one alert fold into it
  int64_t reuse_window_ns = 3600LL * 1'000'000'000;          // uses this close together count as shared
  int64_t exfil_window_ns = 60LL * 1'000'000'000;            // from a secret read to a new destination
  std::vector<std::pair<std::string, std::string>> environments;  // namespace glob -> environment name
  std::vector<std::string> disabled_rules;
  // Enforcement of policy actions kill and block.
  bool enforcement_enabled = true;                 // false: kill and block are recorded, never applied
  std::vector<std::string> enforcement_protected;  // executable globs that are never killed or blocked
  int64_t block_duration_ns = 3600LL * 1'000'000'000;  // then lifted (or earlier by `credwatch unblock`)
  // Alert webhooks (response/webhook_config.h).
  WebhookConfig webhooks;

  // The catalog the agent uses: built-in entries (unless disabled) followed by the config's.
  SecretCatalog secret_catalog() const;
};

// A retention period: a duration ("7d", "12h", "2w") or 0 (keep forever). Throws std::invalid_argument naming
// the input, for the config key and `credwatch agent --retention` alike.
int64_t parse_retention_ns(std::string_view text);

// Parses a config file. Unknown keys, wrong types and bad values are ConfigErrors naming the file, the
// line and the column.
Config load_config(const std::string &path);
// Same, from text (for tests); source names it in errors.
Config parse_config(const std::string &text, const std::string &source);

}  // namespace credwatch
