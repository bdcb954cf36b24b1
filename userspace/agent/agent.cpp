// Agent start-up (store, sensor, identity, credentials, pipeline), the poll loop and its periodic duties, shutdown.
#include "agent/agent.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "agent/detection_stage.h"
#include "agent/env_read_probes.h"
#include "agent/live_feed.h"
#include "agent/pipeline.h"
#include "catalog/catalog_scanner.h"
#include "common/heap.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/time.h"
#include "correlate/credential_inventory.h"
#include "correlate/secret_reader.h"
#include "credentials/env_secret_names.h"
#include "credentials/fingerprint_key.h"
#include "detect/detector.h"
#include "enrich/proc_source.h"
#include "enrich/process_table.h"
#include "identity/cgroup_resolver.h"
#include "identity/workload_identity.h"
#include "policy/policy_loader.h"
#include "response/outbox.h"
#include "metrics/agent_metrics.h"
#include "metrics/metrics_server.h"
#include "sensor/bpf_sensor.h"
#include "sensor/env_maps.h"
#include "sensor/kernel_features.h"
#include "store/credential_query.h"
#include "store/database.h"
#include "store/event_writer.h"
#include "store/retention.h"
#include "version.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

namespace {

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// The host's mount namespace: init's (with hostPID, also when the agent itself runs in a container).
uint32_t host_mount_namespace() {
  struct stat st{};
  return stat("/proc/1/ns/mnt", &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

EnvReadScope parse_scope(const std::string &s) {
  if (s == "all") return EnvReadScope::All;
  if (s == "selected") return EnvReadScope::Selected;
  return EnvReadScope::Off;
}

}  // namespace

struct Agent::Impl {
  Config config;
  AgentOptions options;
  std::shared_ptr<spdlog::logger> log = component_logger("agent");

  SecretCatalog catalog;
  BootClock clock;
  std::optional<EnvSecretNames> env_names;
  std::optional<FingerprintKey> fingerprint_key;
  std::unique_ptr<Database> db;
  std::unique_ptr<EventWriter> writer;
  std::unique_ptr<BpfSensor> sensor;
  std::unique_ptr<LinuxProcSource> proc;
  std::unique_ptr<LinuxCgroupFilesystem> cgroup_fs;
  std::unique_ptr<CgroupResolver> cgroups;
  std::unique_ptr<IdentityResolver> identities;
  std::unique_ptr<ProcessTable> processes;
  std::unique_ptr<ProcSecretReader> secret_reader;
  std::unique_ptr<CredentialInventory> credentials;
  std::unique_ptr<EnvReadProbes> env_reads;
  LiveFeed feed{stdout, false};
  std::unique_ptr<EventPipeline> pipeline;
  int64_t run_id = 0;
  uint32_t host_mnt_ns = 0;

  // Detection and response.
  SystemClock system_clock;
  std::unique_ptr<DetectionEngine> engine;
  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<DetectionStage> detection;
  std::unique_ptr<Enforcer> enforcer;
  std::unique_ptr<Database> control_db;  // a connection of its own for enforcement records
  std::string policy_path;
  std::string policy_stamp;  // what the policy files looked like when last loaded (names, sizes, mtimes)

  AgentMetrics metrics;
  // Webhook delivery progress, from the outbox's worker threads, into the metrics.
  struct OutboxMetrics final : OutboxObserver {
    AgentMetrics *metrics = nullptr;
    void delivered(std::string_view sink) override { metrics->webhook_deliveries(sink).inc(); }
    void attempt_failed(std::string_view sink) override { metrics->webhook_failures(sink).inc(); }
  } outbox_metrics;
  ReadinessState readiness;
  std::unique_ptr<MetricsServer> metrics_server;
  std::map<std::string, ProgramCounters> metered_counters;  // what the metrics were last told
  PrunedRows metered_pruned;                                // likewise, for retention

  // Loss accounting between reports.
  std::map<std::string, ProgramCounters> last_counters;
  uint64_t last_decode_errors = 0;
  uint64_t last_dropped = 0;
  uint64_t last_kernel_repeats_lost = 0;
  WallNs window_start = 0;

  Impl(Config c, AgentOptions o) : config(std::move(c)), options(o), catalog(config.secret_catalog()) {
    outbox_metrics.metrics = &metrics;
    policy_path = options.policy_path.empty() ? config.policy_path : options.policy_path;
  }

  void start();
  // Freed heap back to the kernel: after startup (loading the BPF objects and seeding from /proc frees about
  // 11 MiB that jemalloc would otherwise hold for its decay time), and now and then, since a burst (the store's
  // backlog) frees memory below live state.
  // only_after_growth: skip it unless the resident set grew by 16 MiB since the last trim.
  void release_heap(const char *when, bool only_after_growth = false);
  int64_t resident_after_trim = 0;
  bool heap_release_failed = false;
  void load_fingerprint_key();
  void load_catalog_into_kernel(bool full);
  void start_metrics_server();
  PolicySet load_policy_or_throw();
  void reload_policy(const char *why);
  void start_detection();
  void start_enforcement(const std::string &cgroup_root);
  void update_metrics();
  void report_counters(WallNs now);
  void stop();
};

Agent::Agent(Config config, AgentOptions options) : impl_(std::make_unique<Impl>(std::move(config), options)) {}

Agent::~Agent() = default;

void Agent::Impl::load_fingerprint_key() {
  std::string default_path = (std::filesystem::path(config.database).parent_path() / "fingerprint.key").string();
  FingerprintKeyLoad loaded = credwatch::load_fingerprint_key(config.fingerprint_key_file, default_path);
  for (const auto &w : loaded.warnings) log->warn("fingerprint key: {}", w);
  if (!loaded.ok()) throw AgentError("fingerprint key: " + loaded.error);
  fingerprint_key = std::move(*loaded.key);
  log->info("fingerprint key {}{}", fingerprint_key->path, fingerprint_key->generated ? " (generated now)" : "");
}

// Started before anything else, so the kubelet's liveness probe passes while the agent loads its programs
// (readiness says why it is not ready yet). An address that cannot be served is a start-up error.
void Agent::Impl::start_metrics_server() {
  if (options.metrics_addr.empty()) return;
  try {
    metrics_server = std::make_unique<MetricsServer>(metrics.registry(), [this] { return readiness.check(); });
    metrics_server->start(ListenAddress::parse(options.metrics_addr));
  } catch (const MetricsError &e) {
    throw AgentError(std::string("--metrics-addr: ") + e.what());
  }
  log->info("metrics on http://{}/metrics (health /healthz, readiness /readyz)",
            ListenAddress{ListenAddress::parse(options.metrics_addr).host, metrics_server->port()}.to_string());
}

void Agent::Impl::start() {
  // SIGHUP reloads the policy. Blocked before any thread starts, so no thread takes its default action (exit);
  // the poll loop collects it with sigtimedwait.
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  start_metrics_server();
  if (geteuid() != 0) log->warn("not running as root: loading BPF programs will probably fail");
  if (const char *env = std::getenv("CREDWATCH_NODE_NAME"); env && *env && config.node_name.empty())
    config.node_name = env;  // the DaemonSet passes spec.nodeName through the downward API
  if (config.node_name.empty()) config.node_name = host_name();
  try {
    env_names.emplace(config.env_secret_names.empty() ? default_secret_env_globs() : config.env_secret_names,
                      config.env_not_secret_names.empty() ? default_non_secret_env_globs()
                                                          : config.env_not_secret_names);
  } catch (const std::invalid_argument &e) {
    throw AgentError(std::string("env secret names: ") + e.what());
  }
  EnvNameFilter env_filter;
  try {
    env_filter = derive_env_filter(env_names->include());
  } catch (const EnvFilterError &e) {
    throw AgentError(e.what());
  }

  try {
    db = std::make_unique<Database>(Database::open(config.database));
  } catch (const std::exception &e) {
    readiness.set_store_writable(false, e.what());
    throw;
  }
  log->info("database {} (schema {})", config.database, db->schema_version());
  load_fingerprint_key();

  SensorOptions sensor_options;
  sensor_options.ring_buffer_bytes = config.ring_buffer_mb << 20;
  sensor_options.agent_tgid = static_cast<uint32_t>(getpid());
  sensor_options.process = config.probe_process;
  sensor_options.files = config.probe_files;
  sensor_options.net = config.probe_net;
  sensor_options.env_exec = config.env_exec;
  sensor_options.env_max_chunks = (config.env_max_bytes + CW_ENV_CHUNK_LEN - 1) / CW_ENV_CHUNK_LEN;
  sensor_options.proc_access = config.probe_proc_access;
  sensor_options.creds = config.probe_creds;
  sensor_options.repeat_window_ns = static_cast<uint64_t>(std::max<int64_t>(config.repeat_window_ns, 0));
  sensor = std::make_unique<BpfSensor>(sensor_options, [this](std::span<const uint8_t> d) { pipeline->on_record(d); });

  nlohmann::json hooks = nlohmann::json::object();
  for (const auto &[family, status] : sensor->family_status()) {
    hooks[family] = status;
    log->info("probe family {}: {}", family, status);
  }
  for (const auto &h : sensor->hooks())
    if (!h.attached) log->debug("{}/{} ({}) not attached: {}", h.family, h.program, h.hook, h.reason);
  {
    auto insert = db->prepare(
        "INSERT INTO agent_runs(started_ns, version, abi_version, node, hooks) VALUES (?, ?, ?, ?, ?)");
    insert.bind(1, wall_now_ns())
        .bind(2, std::string(kVersion))
        .bind(3, static_cast<int64_t>(CW_ABI_VERSION))
        .bind(4, config.node_name)
        .bind(5, json_text(hooks))
        .step();
    run_id = db->last_insert_id();
  }
  writer = std::make_unique<EventWriter>(*db, run_id, config.max_queue, [this](size_t items, int64_t ns) {
    metrics.store_batch_size().observe(static_cast<double>(items));
    metrics.store_write_seconds().observe(static_cast<double>(ns) / 1e9);
  });
  if (config.retention_ns > 0) {
    writer->set_retention({.retention_ns = config.retention_ns});
    metrics.enable_store_retention(kPrunedTables);
    log->info("retention {}: events, sensor counters, exited processes and finished webhook deliveries older than "
              "that are pruned; alerts, credentials, identities and baselines are kept",
              format_duration(config.retention_ns));
  } else {
    log->info("retention 0: the store keeps everything");
  }
  readiness.set_store_writable(true, config.database);

  host_mnt_ns = host_mount_namespace();
  std::string cgroup_root = KernelFeatures::cgroup2_mount();
  if (cgroup_root.empty()) log->warn("no cgroup v2 mount: workloads will be identified as host processes only");
  cgroup_fs = std::make_unique<LinuxCgroupFilesystem>(cgroup_root);
  if (!cgroup_fs->error().empty()) log->warn("cgroup v2 at '{}': {}", cgroup_root, cgroup_fs->error());
  cgroups = std::make_unique<CgroupResolver>(*cgroup_fs);
  IdentityConfig identity_config;
  identity_config.trust_domain = config.trust_domain;
  identity_config.node_name = config.node_name;
  identity_config.kubelet_root = config.kubelet_root;
  identity_config.container_log_dir = config.container_log_dir;
  identity_config.pod_log_dir = config.pod_log_dir;
  identity_config.podman_roots = config.podman_roots;
  identity_config.docker_roots = config.docker_roots;
  if (auto why = validate_identity_config(identity_config); !why.empty()) throw AgentError("identity config: " + why);
  identities = std::make_unique<IdentityResolver>(identity_config, *cgroups);

  proc = std::make_unique<LinuxProcSource>("/proc", cgroup_root);
  processes = std::make_unique<ProcessTable>(*proc);
  secret_reader = std::make_unique<ProcSecretReader>();
  credentials = std::make_unique<CredentialInventory>(fingerprint_key->bytes, *secret_reader);
  credentials->set_descriptor_loader(
      [stored = std::make_shared<StoredDescriptors>(config.database)](const std::string &id) { return (*stored)(id); });
  feed = LiveFeed(stdout, options.live_feed);
  pipeline = std::make_unique<EventPipeline>(EventPipeline::Deps{catalog, clock, *proc, *processes, *identities,
                                                                 *credentials, *env_names, sensor->secret_maps(),
                                                                 *writer, feed, host_mnt_ns,
                                                                 config.repeat_window_ns});

  EnvReadScope scope = parse_scope(config.env_reads_scope);
  sensor->env_maps().load(env_filter, scope);
  env_reads = std::make_unique<EnvReadProbes>(*sensor, scope, config.env_reads_identities, host_mnt_ns);
  pipeline->on_new_workload = [this](const WorkloadIdentity &id, const ProcessRef &p) { env_reads->workload_seen(id, p); };
  {
    auto max_id = [&](const char *table) {
      auto stmt = db->prepare(std::string("SELECT COALESCE(MAX(id), 0) FROM ") + table);
      stmt.step();
      return stmt.int64(0);
    };
    pipeline->set_next_event_id(max_id("events") + 1);
    start_detection();
    detection = std::make_unique<DetectionStage>(
        DetectionStage::Deps{*engine, *processes, *credentials, *identities, *writer, metrics, outbox.get(),
                             config.node_name, &feed},
        max_id("alerts") + 1);
    detection->load_baselines(*db);
    start_enforcement(cgroup_root);
  }
  pipeline->on_recorded = [this](const Event &ev) {
    metrics.events(ev.kind).inc();
    detection->on_event(ev);
  };
  pipeline->env_read_in_scope = [this](const std::string &identity) { return env_reads->selects(identity); };
  env_reads->start();

  load_catalog_into_kernel(true);

  // Attached first, seeded second: a process that starts in between is seen by both, never by neither.
  auto seeded = processes->seed(wall_now_ns());
  pipeline->seed(seeded, wall_now_ns());
  log->info("process table seeded with {} processes from /proc", seeded.size());

  window_start = wall_now_ns();
  size_t attached = 0;
  for (const auto &h : sensor->hooks()) attached += h.attached;
  update_metrics();
  readiness.set_programs_attached(true, std::to_string(attached) + " BPF programs attached");
  release_heap("startup");
  log->info("credwatch {} recording to {} (node {}, {})", kVersion, config.database, config.node_name,
            heap_allocator());
}

void Agent::Impl::release_heap(const char *when, bool only_after_growth) {
  // Under steady load the freed pages are reused soon: trimming them would only fault them in again.
  constexpr int64_t kGrowth = 16 << 20;
  if (only_after_growth && static_cast<int64_t>(resident_memory_bytes().value_or(0)) < resident_after_trim + kGrowth)
    return;
  HeapRelease r = release_free_heap();
  if (r.failed && !heap_release_failed) log->warn("returning freed memory after {} failed: {}", when, heap_allocator());
  heap_release_failed = heap_release_failed || r.failed;
  if (r.rss_before_bytes < 0 || r.rss_after_bytes < 0) return;
  resident_after_trim = r.rss_after_bytes;
  log->debug("heap trimmed after {}: resident {:.1f} -> {:.1f} MiB in {:.1f} ms", when,
             r.rss_before_bytes / 1048576.0, r.rss_after_bytes / 1048576.0, r.took_ns / 1e6);
}

void Agent::Impl::load_catalog_into_kernel(bool full) {
  auto &maps = sensor->secret_maps();
  if (!maps.available()) return;
  if (full) maps.load_name_filter(catalog.kernel_filter(), config.probe_proc_access);
  CatalogScanner scanner(catalog, config.kubelet_root, CatalogScanner::home_directories());
  size_t added = 0;
  for (const auto &s : scanner.scan()) {
    pipeline->note_secret_file(s.dev, s.ino, s.path);
    if (maps.add_secret_inode(s.dev, s.ino, s.catalog_id))
      ++added;
    else
      log->warn("secret_inodes map is full; {} is covered by the name filter only", s.path);
    log->debug("catalog: {} is {} (dev {} ino {})", s.path, catalog.by_id(s.catalog_id)->name, s.dev, s.ino);
  }
  if (full) log->info("catalog: {} entries, {} secret files found on this node", catalog.entries().size(), added);
}

// A fingerprint of the policy files (names, sizes, modification times), to notice a changed ConfigMap.
static std::string policy_files_stamp(const std::string &path) {
  std::error_code ec;
  std::string stamp;
  auto add = [&](const std::filesystem::path &p) {
    struct stat st{};
    if (::stat(p.c_str(), &st) == 0)
      stamp += p.string() + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
               std::to_string(st.st_mtim.tv_nsec) + ";";
  };
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto &entry : std::filesystem::directory_iterator(path, ec)) add(entry.path());
  } else {
    add(path);
  }
  return stamp;
}

PolicySet Agent::Impl::load_policy_or_throw() {
  if (policy_path.empty()) return PolicySet();
  PolicyLoadOptions options;
  for (const auto &entry : catalog.entries()) options.credential_kinds.push_back(entry.kind);
  SecretCatalog builtin = SecretCatalog::builtin();
  for (const auto &entry : builtin.entries()) options.credential_kinds.push_back(entry.kind);
  std::string stamp = policy_files_stamp(policy_path);
  PolicyLoadResult result = load_policies(policy_path, options);
  for (const auto &w : result.warnings) log->warn("policy: {}", w.str());
  if (!result.ok()) {
    std::string lines;
    for (const auto &line : result.error_lines()) lines += "\n  " + line;
    throw AgentError("policy " + policy_path + " is invalid:" + lines);
  }
  policy_stamp = stamp;
  log->info("policy: {} polic{} from {}{}", result.policies->policies().size(),
            result.policies->policies().size() == 1 ? "y" : "ies", policy_path,
            result.policies->default_policy() ? " (with a default policy)" : "");
  return std::move(*result.policies);
}

// On SIGHUP or a change of the files: the new set replaces the old only when all of it is valid.
void Agent::Impl::reload_policy(const char *why) {
  if (policy_path.empty()) {
    log->info("{}: no policy configured, nothing to reload", why);
    return;
  }
  try {
    PolicySet set = load_policy_or_throw();
    engine->set_policies(std::move(set));
    log->info("policy reloaded ({})", why);
  } catch (const AgentError &e) {
    policy_stamp = policy_files_stamp(policy_path);  // report a broken file once, not every few seconds
    log->error("{}; keeping the policy loaded before", e.what());
  }
}

void Agent::Impl::start_detection() {
  DetectionOptions options;
  options.learning_window_ns = config.learning_window_ns;
  options.dedup_window_ns = config.dedup_window_ns;
  options.reuse.window_ns = config.reuse_window_ns;
  for (const auto &[glob, environment] : config.environments) options.reuse.environments.push_back({glob, environment});
  options.exfil.window_ns = config.exfil_window_ns;
  options.node = config.node_name;
  options.disabled_rules = config.disabled_rules;
  if (auto why = validate(options); !why.empty()) throw AgentError("detection config: " + why);
  engine = std::make_unique<DetectionEngine>(system_clock, options, load_policy_or_throw());
  for (const auto &rule : config.disabled_rules)
    if (!engine->set_rule_enabled(rule, false)) throw AgentError("detection.disabled_rules: no rule named '" + rule + "'");
  if (!config.webhooks.sinks.empty()) {
    OutboxOptions outbox_options;
    outbox_options.node = config.node_name;
    outbox_options.agent_version = std::string(kVersion);
    outbox_options.observer = &outbox_metrics;
    // The store's retention covers finished deliveries too, so one setting rules both; 0 keeps them as well (a
    // cutoff before any delivery existed; half of int64 so that now minus it cannot overflow).
    outbox_options.retention_ns =
        config.retention_ns > 0 ? config.retention_ns : std::numeric_limits<int64_t>::max() / 2;
    outbox = std::make_unique<Outbox>(config.database, config.webhooks, outbox_options);
    outbox->start();
    log->info("webhooks: {} sink(s){}", config.webhooks.sinks.size(), config.webhooks.dry_run ? " (dry run)" : "");
  }
}

void Agent::Impl::start_enforcement(const std::string &cgroup_root) {
  DetectionStage::Enforcement e;
  e.agent_tgid = static_cast<uint32_t>(getpid());
  e.protected_exes = config.enforcement_protected;
  e.block_duration_ns = config.block_duration_ns;
  if (auto self = proc->read(e.agent_tgid)) e.agent_cgroup = self->cgroup_id;
  if (!config.enforcement_enabled) {
    e.why_unavailable = "enforcement.enabled is false";
  } else {
    try {
      enforcer = std::make_unique<Enforcer>(cgroup_root);
      control_db = std::make_unique<Database>(Database::open(config.database));
      e.enforcer = enforcer.get();
      e.control_db = control_db.get();
    } catch (const std::exception &ex) {
      e.why_unavailable = std::string("this kernel refused the enforcement programs: ") + ex.what();
      log->warn("enforcement unavailable (kill and block actions will be recorded, not applied): {}", ex.what());
    }
  }
  detection->set_enforcement(std::move(e));
  detection->maintain_enforcement(wall_now_ns(), true);
}

// Once a second: the gauges, and the kernel's per-program counters (cumulative there, increments here).
void Agent::Impl::update_metrics() {
  for (const auto &c : sensor->counters()) {
    auto &last = metered_counters[c.program];
    if (c.lost > last.lost) metrics.events_lost(c.program).inc(c.lost - last.lost);
    last = c;
  }
  auto fill = sensor->ring_fill();
  metrics.set_ring_buffer_fill(fill.used_bytes, fill.size_bytes);
  // Totals counted elsewhere, brought up to date (counters only ever grow).
  auto catch_up = [](Counter &counter, uint64_t total) {
    if (static_cast<double>(total) > counter.value()) counter.inc(static_cast<double>(total) - counter.value());
  };
  uint64_t decode_errors = pipeline->counters().decode_errors + sensor->handler_errors();
  catch_up(metrics.decode_errors(), decode_errors);
  catch_up(metrics.events_folded(), pipeline->folded());
  // Every loss the stats report, by the same sources: an undecodable record, an event the full queue refused, a
  // kernel repeat count whose row the store refused.
  catch_up(metrics.events_lost("decode"), decode_errors);
  catch_up(metrics.events_lost("queue"), writer->stats().dropped);
  catch_up(metrics.events_lost("repeats"), pipeline->kernel_repeats_lost());
  metrics.identities_tracked().set(static_cast<double>(identities->cached_cgroups()));
  metrics.credentials_tracked().set(static_cast<double>(credentials->size()));
  if (config.retention_ns > 0) {
    PrunedRows pruned = writer->stats().pruned;
    for (const char *table : kPrunedTables) {
      uint64_t total = pruned_count(pruned, table), told = pruned_count(metered_pruned, table);
      if (total > told) metrics.store_pruned_rows(table).inc(total - told);
    }
    metered_pruned = pruned;
  }
}

void Agent::Impl::report_counters(WallNs now) {
  auto lost_event = [&](const std::string &source, uint64_t count, const std::string &reason) {
    Event ev;
    ev.kind = EventKind::Lost;
    ev.time_ns = now;
    ev.process.comm = "credwatch";
    ev.process.tgid = ev.process.pid = static_cast<uint32_t>(getpid());
    ev.details = LostDetails{source, count, reason, window_start};
    log->warn("{} record(s) lost in {} since {}: {}", count, source, format_rfc3339(window_start), reason);
    pipeline->record(std::move(ev));
  };
  for (const auto &c : sensor->counters()) {
    auto &last = last_counters[c.program];
    uint64_t emitted = c.emitted - last.emitted, lost = c.lost - last.lost;
    if (emitted || lost) writer->submit(StatsRow{now, c.program, emitted, lost});
    if (lost) lost_event(c.program, lost, "ring buffer full");
    last = c;
  }
  uint64_t decode_errors = pipeline->counters().decode_errors + sensor->handler_errors();
  if (uint64_t n = decode_errors - last_decode_errors) {
    writer->submit(StatsRow{now, "decode", 0, n});
    lost_event("decode", n, "undecodable records");
    last_decode_errors = decode_errors;
  }
  uint64_t dropped = writer->stats().dropped;
  if (uint64_t n = dropped - last_dropped) {
    writer->submit(StatsRow{now, "queue", 0, n});
    lost_event("queue", n, "store queue full or write failed");
    last_dropped = dropped;
  }
  uint64_t repeats_lost = pipeline->kernel_repeats_lost();
  if (uint64_t n = repeats_lost - last_kernel_repeats_lost) {
    writer->submit(StatsRow{now, "repeats", 0, n});
    lost_event("repeats", n, "events counted in the kernel whose first event was not stored");
    last_kernel_repeats_lost = repeats_lost;
  }
  window_start = now;
}

void Agent::Impl::stop() {
  WallNs now = wall_now_ns();
  if (sensor && writer && pipeline) {
    // The kernel's counts first, then every record sent so far, which includes the one that opened each window.
    auto counts = sensor->take_repeats(true);
    sensor->poll(0);  // take what is already in the ring buffer
    pipeline->add_kernel_repeats(counts);
    pipeline->flush_repeats();
    report_counters(now);
    if (detection) detection->sync_baselines(*db, now);
  }
  if (outbox) outbox->stop();  // pending deliveries stay in the outbox for the next start
  enforcer.reset();  // detaches; recorded blocks are applied again at the next start
  if (writer) {
    writer->flush();
    writer->stop();
    auto stats = writer->stats();
    log->info("stopped: {} events written in {} batches, {} dropped", stats.events_written, stats.batches,
              stats.dropped);
  }
  readiness.set_programs_attached(false, "stopping");
  env_reads.reset();
  sensor.reset();
  if (db && run_id) {
    auto update = db->prepare("UPDATE agent_runs SET stopped_ns = ? WHERE id = ?");
    update.bind(1, now).bind(2, run_id).step();
  }
  if (metrics_server) metrics_server->stop();
}

void Agent::run(const std::atomic<bool> &stop) {
  Impl &a = *impl_;
  a.start();
  using Clock = std::chrono::steady_clock;
  auto next_stats = Clock::now() + std::chrono::nanoseconds(a.config.stats_interval_ns);
  auto next_rescan = Clock::now() + std::chrono::nanoseconds(a.config.catalog_rescan_ns);
  auto next_second = Clock::now() + std::chrono::seconds(1);
  auto next_sweep = Clock::now() + std::chrono::seconds(30);
  auto next_policy_check = Clock::now() + std::chrono::seconds(5);
  auto next_baseline_sync = Clock::now() + std::chrono::seconds(60);
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  const timespec no_wait{0, 0};
  while (!stop.load()) {
    if (sigtimedwait(&hup, nullptr, &no_wait) == SIGHUP) a.reload_policy("SIGHUP");
    // The kernel batches wake-ups (cw_submit), so this timeout bounds how long a quiet trickle waits.
    int n = a.sensor->poll(50);
    if (n < 0) a.log->warn("ring buffer poll failed: {}", strerror(-n));
    auto now = Clock::now();
    if (now >= next_stats) {
      a.clock.refresh();
      a.report_counters(wall_now_ns());
      next_stats = now + std::chrono::nanoseconds(a.config.stats_interval_ns);
    }
    if (now >= next_second) {
      a.update_metrics();
      a.processes->expire(wall_now_ns());
      a.pipeline->tick(wall_now_ns());
      // The counts of closed windows, then every record sent so far, which includes the one that opened each.
      auto counts = a.sensor->take_repeats();
      a.sensor->poll(0);
      a.pipeline->add_kernel_repeats(counts);
      a.detection->tick(wall_now_ns());
      if (a.outbox)
        for (const auto &sink : a.outbox->stats()) a.metrics.webhook_outbox_depth(sink.sink).set(static_cast<double>(sink.depth));
      next_second = now + std::chrono::seconds(1);
    }
    if (now >= next_policy_check) {
      a.detection->maintain_enforcement(wall_now_ns());
      if (!a.policy_path.empty() && policy_files_stamp(a.policy_path) != a.policy_stamp)
        a.reload_policy("policy files changed");
      next_policy_check = now + std::chrono::seconds(5);
    }
    if (now >= next_baseline_sync) {
      a.detection->sync_baselines(*a.db, wall_now_ns());
      next_baseline_sync = now + std::chrono::seconds(60);
    }
    if (now >= next_sweep) {
      // Gone cgroups lose their cached identity, so a reused id never inherits it.
      if (a.identities->sweep() > 0) a.pipeline->forget_workloads();
      a.release_heap("growth", true);
      next_sweep = now + std::chrono::seconds(30);
    }
    if (now >= next_rescan) {
      a.load_catalog_into_kernel(false);
      next_rescan = now + std::chrono::nanoseconds(a.config.catalog_rescan_ns);
    }
  }
  a.stop();
}

}  // namespace credwatch
