// Config parsing with yaml-cpp, strict about keys and types, with positions in every error.
#include "config/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/glob.h"
#include "common/time.h"

namespace credwatch {

namespace {

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node &node, const std::string &what) const {
    const YAML::Mark mark = node.Mark();
    std::ostringstream out;
    out << source_;
    if (mark.line >= 0) out << ":" << mark.line + 1 << ":" << mark.column + 1;
    out << ": " << what;
    throw ConfigError(out.str());
  }

  void check_keys(const YAML::Node &map, const std::string &where, const std::set<std::string> &allowed) const {
    if (!map.IsMap()) fail(map, where + " must be a mapping");
    for (const auto &kv : map) {
      auto key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto &a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + key + "' in " + where + " (expected one of: " + list + ")");
      }
    }
  }

  std::string string(const YAML::Node &node, const std::string &key) const {
    if (!node.IsScalar()) fail(node, "'" + key + "' must be a string");
    return node.as<std::string>();
  }

  bool boolean(const YAML::Node &node, const std::string &key) const {
    bool value;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(node, "'" + key + "' must be true or false");
    return value;
  }

  uint64_t unsigned_int(const YAML::Node &node, const std::string &key, uint64_t min, uint64_t max) const {
    uint64_t value;
    if (!node.IsScalar() || !YAML::convert<uint64_t>::decode(node, value) || node.as<std::string>().find('-') != std::string::npos)
      fail(node, "'" + key + "' must be a whole number");
    if (value < min || value > max)
      fail(node, "'" + key + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
    return value;
  }

  int64_t duration(const YAML::Node &node, const std::string &key) const {
    std::string text = string(node, key);
    try {
      int64_t ns = parse_duration_ns(text);
      if (ns <= 0) fail(node, "'" + key + "' must be positive");
      return ns;
    } catch (const std::invalid_argument &e) {
      fail(node, "'" + key + "': " + e.what());
    }
  }

  std::vector<std::string> strings(const YAML::Node &node, const std::string &key) const {
    if (node.IsScalar()) return {node.as<std::string>()};
    if (!node.IsSequence()) fail(node, "'" + key + "' must be a list of strings");
    std::vector<std::string> out;
    for (const auto &item : node) out.push_back(string(item, key));
    return out;
  }

  Config parse(const std::string &text) const {
    Config cfg;
    cfg.source = source_;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException &e) {
      std::ostringstream out;
      out << source_ << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": invalid YAML: " << e.msg;
      throw ConfigError(out.str());
    }
    if (!root || root.IsNull()) {
      // yaml-cpp reads some malformed text (a lone ",", say) as an empty document: only blank or
      // comment-only files mean "all defaults".
      std::istringstream lines(text);
      std::string line;
      int number = 0;
      while (std::getline(lines, line)) {
        ++number;
        size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#' || line.compare(first, 3, "---") == 0 ||
            line.compare(first, 3, "...") == 0)
          continue;
        throw ConfigError(source_ + ":" + std::to_string(number) + ":" + std::to_string(first + 1) +
                          ": invalid YAML: expected a mapping of config keys");
      }
      return cfg;
    }
    check_keys(root, "the config",
               {"database", "node_name", "trust_domain", "kubelet_root", "container_log_dir", "pod_log_dir",
                "podman_roots", "docker_roots", "log_level", "log_format", "ring_buffer_mb", "max_queue",
                "stats_interval", "catalog_rescan_interval", "retention", "repeat_window", "probes", "catalog", "fingerprint_key_file",
                "env", "policy", "detection", "webhooks", "enforcement"});
    if (auto enf = root["enforcement"]) {
      check_keys(enf, "'enforcement'", {"enabled", "protected", "block_duration"});
      if (auto n = enf["enabled"]) cfg.enforcement_enabled = boolean(n, "enforcement.enabled");
      if (auto n = enf["protected"]) {
        cfg.enforcement_protected = strings(n, "enforcement.protected");
        for (const auto &g : cfg.enforcement_protected)
          if (auto err = glob_syntax_error(g); !err.empty())
            fail(n, "'enforcement.protected': '" + g + "': " + std::string(err));
      }
      if (auto n = enf["block_duration"]) {
        cfg.block_duration_ns = duration(n, "enforcement.block_duration");
        if (cfg.block_duration_ns <= 0) fail(n, "'enforcement.block_duration' must be positive");
      }
    }
    if (auto n = root["policy"]) cfg.policy_path = string(n, "policy");
    if (auto det = root["detection"]) {
      check_keys(det, "'detection'",
                 {"learning_window", "dedup_window", "reuse_window", "exfil_window", "environments", "disabled_rules"});
      auto positive = [&](const YAML::Node &n, const std::string &key) {
        int64_t ns = duration(n, key);
        if (ns <= 0) fail(n, "'" + key + "' must be positive");
        return ns;
      };
      if (auto n = det["learning_window"]) {
        cfg.learning_window_ns = duration(n, "detection.learning_window");  // 0: no baselines
        if (cfg.learning_window_ns < 0) fail(n, "'detection.learning_window' must not be negative");
      }
      if (auto n = det["dedup_window"]) cfg.dedup_window_ns = positive(n, "detection.dedup_window");
      if (auto n = det["reuse_window"]) cfg.reuse_window_ns = positive(n, "detection.reuse_window");
      if (auto n = det["exfil_window"]) cfg.exfil_window_ns = positive(n, "detection.exfil_window");
      if (auto n = det["environments"]) {
        if (!n.IsMap()) fail(n, "'detection.environments' must map namespace globs to environment names");
        for (const auto &kv : n) {
          std::string glob = string(kv.first, "detection.environments");
          if (auto err = glob_syntax_error(glob); !err.empty())
            fail(kv.first, "'detection.environments': '" + glob + "': " + std::string(err));
          cfg.environments.emplace_back(glob, string(kv.second, "detection.environments." + glob));
        }
      }
      if (auto n = det["disabled_rules"]) cfg.disabled_rules = strings(n, "detection.disabled_rules");
    }
    if (auto n = root["webhooks"]) {
      try {
        cfg.webhooks = parse_webhook_config(n, source_);
      } catch (const WebhookConfigError &e) {
        throw ConfigError(e.what());  // already "file:line:col: problem"
      }
    }
    if (auto n = root["database"]) cfg.database = string(n, "database");
    if (auto n = root["retention"]) {
      try {
        cfg.retention_ns = parse_retention_ns(string(n, "retention"));
      } catch (const std::invalid_argument &e) {
        fail(n, "'retention': " + std::string(e.what()));
      }
    }
    if (auto n = root["repeat_window"]) {
      std::string text = string(n, "repeat_window");
      try {
        cfg.repeat_window_ns = text == "0" ? 0 : parse_duration_ns(text);  // "0s" too: 0 turns folding off
      } catch (const std::invalid_argument &e) {
        fail(n, "'repeat_window': " + std::string(e.what()));
      }
      if (cfg.repeat_window_ns < 0) fail(n, "'repeat_window' must not be negative");
      if (cfg.repeat_window_ns > 0 && cfg.repeat_window_ns < 10'000'000)
        fail(n, "'repeat_window' must be 0 (off) or at least 10ms: the kernel reads a window's time to within a "
                "clock tick");
      if (cfg.repeat_window_ns > 60'000'000'000LL)
        fail(n, "'repeat_window' must be at most 1m: repeats are counted on their row only when the window closes");
    }
    if (auto n = root["node_name"]) cfg.node_name = string(n, "node_name");
    if (auto n = root["trust_domain"]) {
      cfg.trust_domain = string(n, "trust_domain");
      if (cfg.trust_domain.empty() || cfg.trust_domain.find_first_of("/: ") != std::string::npos)
        fail(n, "'trust_domain' must be a DNS-style name such as cluster.local");
    }
    if (auto n = root["kubelet_root"]) cfg.kubelet_root = string(n, "kubelet_root");
    if (auto n = root["container_log_dir"]) cfg.container_log_dir = string(n, "container_log_dir");
    if (auto n = root["pod_log_dir"]) cfg.pod_log_dir = string(n, "pod_log_dir");
    if (auto n = root["podman_roots"]) cfg.podman_roots = strings(n, "podman_roots");
    if (auto n = root["docker_roots"]) cfg.docker_roots = strings(n, "docker_roots");
    if (auto n = root["log_level"]) {
      cfg.log_level = string(n, "log_level");
      static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"};
      if (!levels.count(cfg.log_level)) fail(n, "'log_level' must be one of trace, debug, info, warn, error, off");
    }
    if (auto n = root["log_format"]) {
      cfg.log_format = string(n, "log_format");
      if (cfg.log_format != "auto" && cfg.log_format != "human" && cfg.log_format != "json")
        fail(n, "'log_format' must be auto, human or json");
    }
    if (auto n = root["ring_buffer_mb"]) {
      cfg.ring_buffer_mb = static_cast<uint32_t>(unsigned_int(n, "ring_buffer_mb", 1, 1024));
      if (cfg.ring_buffer_mb & (cfg.ring_buffer_mb - 1)) fail(n, "'ring_buffer_mb' must be a power of two");
    }
    if (auto n = root["max_queue"]) cfg.max_queue = unsigned_int(n, "max_queue", 1000, 100'000'000);
    if (auto n = root["stats_interval"]) cfg.stats_interval_ns = duration(n, "stats_interval");
    if (auto n = root["catalog_rescan_interval"]) cfg.catalog_rescan_ns = duration(n, "catalog_rescan_interval");
    if (auto probes = root["probes"]) {
      check_keys(probes, "'probes'", {"process", "files", "net", "proc_access", "creds"});
      if (auto n = probes["process"]) cfg.probe_process = boolean(n, "probes.process");
      if (auto n = probes["files"]) cfg.probe_files = boolean(n, "probes.files");
      if (auto n = probes["net"]) cfg.probe_net = boolean(n, "probes.net");
      if (auto n = probes["proc_access"]) cfg.probe_proc_access = boolean(n, "probes.proc_access");
      if (auto n = probes["creds"]) cfg.probe_creds = boolean(n, "probes.creds");
    }
    if (auto n = root["fingerprint_key_file"]) cfg.fingerprint_key_file = string(n, "fingerprint_key_file");
    if (auto env = root["env"]) {
      check_keys(env, "'env'", {"exec", "max_bytes", "secret_names", "not_secret_names", "reads"});
      if (auto n = env["exec"]) cfg.env_exec = boolean(n, "env.exec");
      if (auto n = env["max_bytes"]) cfg.env_max_bytes = static_cast<uint32_t>(unsigned_int(n, "env.max_bytes", 4096, 1 << 20));
      auto globs = [&](const YAML::Node &n, const std::string &key) {
        auto list = strings(n, key);
        for (const auto &g : list)
          if (auto err = glob_syntax_error(g); !err.empty()) fail(n, "'" + key + "': '" + g + "': " + std::string(err));
        return list;
      };
      if (auto n = env["secret_names"]) cfg.env_secret_names = globs(n, "env.secret_names");
      if (auto n = env["not_secret_names"]) cfg.env_not_secret_names = globs(n, "env.not_secret_names");
      if (auto reads = env["reads"]) {
        check_keys(reads, "'env.reads'", {"scope", "identities"});
        if (auto n = reads["scope"]) {
          cfg.env_reads_scope = string(n, "env.reads.scope");
          if (cfg.env_reads_scope != "off" && cfg.env_reads_scope != "selected" && cfg.env_reads_scope != "all")
            fail(n, "'env.reads.scope' must be off, selected or all");
        }
        if (auto n = reads["identities"]) cfg.env_reads_identities = globs(n, "env.reads.identities");
      }
    }
    if (auto catalog = root["catalog"]) {
      check_keys(catalog, "'catalog'", {"builtin", "entries"});
      if (auto n = catalog["builtin"]) cfg.builtin_catalog = boolean(n, "catalog.builtin");
      if (auto entries = catalog["entries"]) {
        if (!entries.IsSequence()) fail(entries, "'catalog.entries' must be a list");
        for (const auto &e : entries) {
          check_keys(e, "a catalog entry", {"name", "kind", "paths", "exclude", "scan", "description"});
          CatalogEntry entry;
          if (!e["name"]) fail(e, "catalog entry needs a 'name'");
          if (!e["kind"]) fail(e, "catalog entry needs a 'kind'");
          if (!e["paths"]) fail(e, "catalog entry needs 'paths'");
          entry.name = string(e["name"], "name");
          entry.kind = string(e["kind"], "kind");
          entry.paths = strings(e["paths"], "paths");
          if (auto n = e["exclude"]) entry.exclude = strings(n, "exclude");
          if (auto n = e["scan"]) entry.scan = strings(n, "scan");
          if (auto n = e["description"]) entry.description = string(n, "description");
          // Validate now, where the line is known, against a catalog like the one the agent builds.
          try {
            SecretCatalog trial = cfg.builtin_catalog ? SecretCatalog::builtin() : SecretCatalog();
            for (const auto &prev : cfg.catalog) trial.add(prev);
            trial.add(entry);
          } catch (const CatalogError &err) {
            fail(e, err.what());
          }
          cfg.catalog.push_back(std::move(entry));
        }
      }
    }
    return cfg;
  }

 private:
  std::string source_;
};

}  // namespace

int64_t parse_retention_ns(std::string_view text) {
  constexpr int64_t kMinimum = 60'000'000'000;
  // "0" has no unit, which parse_duration_ns refuses.
  if (!text.empty() && text.find_first_not_of('0') == std::string_view::npos) return 0;
  int64_t ns;
  try {
    ns = parse_duration_ns(text);
  } catch (const std::invalid_argument &e) {
    throw std::invalid_argument(std::string(e.what()) + "; 0 keeps everything");
  }
  // Shorter would delete events about as fast as they are written: almost certainly a typo ("7" for "7d").
  if (ns != 0 && ns < kMinimum)
    throw std::invalid_argument("retention '" + std::string(text) + "' is shorter than 1m (use 0 to keep everything)");
  return ns;
}

SecretCatalog Config::secret_catalog() const {
  SecretCatalog catalog = builtin_catalog ? SecretCatalog::builtin() : SecretCatalog();
  for (const auto &entry : this->catalog) catalog.add(entry);
  return catalog;
}

Config parse_config(const std::string &text, const std::string &source) { return Parser(source).parse(text); }

Config load_config(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read the config file: " + std::string(strerror(errno)));
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_config(buf.str(), path);
}

}  // namespace credwatch
