// Agent start-up, the per-record pipeline, periodic duties (counters, expiry, catalog rescan), shutdown.
#include "agent/agent.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "agent/live_feed.h"
#include "catalog/catalog_scanner.h"
#include "common/log.h"
#include "common/time.h"
#include "decode/record_decoder.h"
#include "enrich/proc_source.h"
#include "enrich/process_table.h"
#include "identity/cgroup_resolver.h"
#include "identity/workload_identity.h"
#include "sensor/bpf_sensor.h"
#include "sensor/kernel_features.h"
#include "store/database.h"
#include "store/event_writer.h"
#include "version.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

namespace {

// The host's mount namespace: init's (with hostPID, also when the agent itself runs in a container).
uint32_t host_mount_namespace() {
  struct stat st{};
  return stat("/proc/1/ns/mnt", &st) == 0 ? static_cast<uint32_t>(st.st_ino) : 0;
}

std::string host_name() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

struct Agent::Impl {
  Config config;
  AgentOptions options;
  std::shared_ptr<spdlog::logger> log = component_logger("agent");

  SecretCatalog catalog;
  BootClock clock;
  RecordDecoder decoder{clock};
  std::unique_ptr<LinuxProcSource> proc;
  std::unique_ptr<LinuxCgroupFilesystem> cgroup_fs;
  std::unique_ptr<CgroupResolver> cgroups;
  std::unique_ptr<IdentityResolver> identities;
  std::set<std::pair<uint64_t, std::string>> known_workloads;  // instances already in the store
  std::unique_ptr<ProcessTable> processes;
  std::unique_ptr<Database> db;
  std::unique_ptr<EventWriter> writer;
  std::unique_ptr<BpfSensor> sensor;
  LiveFeed feed{stdout, false};
  int64_t run_id = 0;
  uint32_t host_mnt_ns = 0;  // init's mount namespace: paths the kernel rebuilds there are host paths

  // Where each known secret inode lives on this node (from the scan and from confirmed name matches).
  struct InodeKey {
    uint64_t dev, ino;
    bool operator==(const InodeKey &) const = default;
  };
  struct InodeHash {
    size_t operator()(const InodeKey &k) const { return std::hash<uint64_t>()(k.dev * 1000003 ^ k.ino); }
  };
  std::unordered_map<InodeKey, std::string, InodeHash> secret_files;

  // Counters for what never reaches the store, reported as `lost` events and sensor_stats rows.
  uint64_t decode_errors = 0;
  uint64_t candidates_rejected = 0;
  std::map<std::string, ProgramCounters> last_counters;
  uint64_t last_decode_errors = 0;
  uint64_t last_dropped = 0;
  WallNs window_start = 0;

  Impl(Config c, AgentOptions o) : config(std::move(c)), options(o), catalog(config.secret_catalog()) {}

  void start();
  void on_record(std::span<const uint8_t> data);
  void classify_open(Event &ev);
  void attribute(Event &ev);
  ProcessInfo with_identity(const ProcessInfo &p);
  void record(Event ev);
  void report_counters(WallNs now);
  void load_catalog_into_kernel(bool full);
  void stop();
};

Agent::Agent(Config config, AgentOptions options) : impl_(std::make_unique<Impl>(std::move(config), options)) {}

Agent::~Agent() = default;

void Agent::Impl::start() {
  if (geteuid() != 0) log->warn("not running as root: loading BPF programs will probably fail");
  if (const char *env = std::getenv("CREDWATCH_NODE_NAME"); env && *env && config.node_name.empty())
    config.node_name = env;  // the DaemonSet passes spec.nodeName through the downward API
  if (config.node_name.empty()) config.node_name = host_name();

  db = std::make_unique<Database>(Database::open(config.database));
  log->info("database {} (schema {})", config.database, db->schema_version());

  SensorOptions sensor_options;
  sensor_options.ring_buffer_bytes = config.ring_buffer_mb << 20;
  sensor_options.agent_tgid = static_cast<uint32_t>(getpid());
  sensor_options.process = config.probe_process;
  sensor_options.files = config.probe_files;
  sensor_options.net = config.probe_net;
  sensor = std::make_unique<BpfSensor>(sensor_options, [this](std::span<const uint8_t> d) { on_record(d); });

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
        .bind(5, hooks.dump())
        .step();
    run_id = db->last_insert_id();
  }
  writer = std::make_unique<EventWriter>(*db, run_id, config.max_queue);

  load_catalog_into_kernel(true);

  // Attach first, then seed: a process that starts in between is seen by both, never by neither.
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
  auto seeded = processes->seed(wall_now_ns());
  for (const auto &p : seeded) writer->submit(with_identity(p));
  log->info("process table seeded with {} processes from /proc", seeded.size());

  feed = LiveFeed(stdout, options.live_feed);
  window_start = wall_now_ns();
  log->info("credwatch {} recording to {} (node {})", kVersion, config.database, config.node_name);
}

void Agent::Impl::load_catalog_into_kernel(bool full) {
  auto &maps = sensor->secret_maps();
  if (!maps.available()) return;
  if (full) maps.load_name_filter(catalog.kernel_filter());
  CatalogScanner scanner(catalog, config.kubelet_root, CatalogScanner::home_directories());
  size_t added = 0;
  for (const auto &s : scanner.scan()) {
    secret_files[{s.dev, s.ino}] = s.path;
    if (maps.add_secret_inode(s.dev, s.ino, s.catalog_id))
      ++added;
    else
      log->warn("secret_inodes map is full; {} is covered by the name filter only", s.path);
    log->debug("catalog: {} is {} (dev {} ino {})", s.path, catalog.by_id(s.catalog_id)->name, s.dev, s.ino);
  }
  if (full) log->info("catalog: {} entries, {} secret files found on this node", catalog.entries().size(), added);
}

void Agent::Impl::on_record(std::span<const uint8_t> data) {
  DecodeResult result = decoder.decode(data);
  if (auto *err = std::get_if<DecodeError>(&result)) {
    ++decode_errors;
    if (decode_errors <= 10 || decode_errors % 10000 == 0)
      log->warn("undecodable record #{}: {}", decode_errors, err->reason);
    return;
  }
  if (std::holds_alternative<EnvChunk>(result)) return;  // environment capture: wired with credentials
  Event &ev = std::get<Event>(result);
  const ProcessInfo *changed = processes->apply(ev);
  attribute(ev);
  if (changed) writer->submit(with_identity(*changed));
  if (ev.kind == EventKind::FileOpen) {
    classify_open(ev);
    if (std::get<FileOpenDetails>(ev.details).catalog_entry.empty()) return;  // not a secret after all
  }
  record(std::move(ev));
}

// Every event gets the identity of its workload, from the cgroup the kernel reported (never from anything the
// workload controls); the first sighting of an instance is written with its attributes.
void Agent::Impl::attribute(Event &ev) {
  WorkloadIdentity id = identities->resolve(ev.process.cgroup_id, ev.process.uid, ev.process.exe);
  ev.identity = id.id;
  if (known_workloads.emplace(ev.process.cgroup_id, id.id).second)
    writer->submit(WorkloadRecord{ev.process.cgroup_id, id.id, id.kind, identity_attributes_json(id), ev.time_ns});
}

ProcessInfo Agent::Impl::with_identity(const ProcessInfo &p) {
  ProcessInfo out = p;
  out.identity = identities->resolve(p.cgroup_id, p.uid, p.exe).id;
  return out;
}

// The kernel reports candidates; the catalog decides on the whole path and teaches the kernel the verdict.
void Agent::Impl::classify_open(Event &ev) {
  auto &d = std::get<FileOpenDetails>(ev.details);
  d.path = absolute_open_path(*proc, ev.process.tgid, d);
  const CatalogEntry *entry = nullptr;
  if (d.match == OpenMatch::Inode) entry = catalog.by_id(d.catalog_id);
  if (!entry) entry = catalog.match(d.path);
  if (!entry && !d.resolved.empty()) entry = catalog.match(d.resolved);
  if (d.match == OpenMatch::Name) {
    if (entry) {
      sensor->secret_maps().add_secret_inode(d.dev, d.ino, entry->id);
      // The kernel's path is in the opener's mount namespace; a host-side path is only known from the scan.
      if (ev.process.mnt_ns == host_mnt_ns) secret_files.emplace(InodeKey{d.dev, d.ino}, d.resolved);
    } else {
      sensor->secret_maps().mark_not_secret(d.dev, d.ino);
    }
  }
  if (d.dev || d.ino) {
    auto known = secret_files.find({d.dev, d.ino});
    if (known != secret_files.end()) d.file = known->second;
  }
  if (!entry) {
    ++candidates_rejected;
    return;
  }
  d.catalog_id = entry->id;
  d.catalog_entry = entry->name;
  d.credential_kind = entry->kind;
}

void Agent::Impl::record(Event ev) {
  feed.print(ev);
  writer->submit(std::move(ev));
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
    record(std::move(ev));
  };
  for (const auto &c : sensor->counters()) {
    auto &last = last_counters[c.program];
    uint64_t emitted = c.emitted - last.emitted, lost = c.lost - last.lost;
    if (emitted || lost) writer->submit(StatsRow{now, c.program, emitted, lost});
    if (lost) lost_event(c.program, lost, "ring buffer full");
    last = c;
  }
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
  window_start = now;
}

void Agent::Impl::stop() {
  WallNs now = wall_now_ns();
  if (sensor && writer) {
    sensor->poll(0);  // take what is already in the ring buffer
    report_counters(now);
  }
  if (writer) {
    writer->flush();
    writer->stop();
    auto stats = writer->stats();
    log->info("stopped: {} events written in {} batches, {} dropped", stats.events_written, stats.batches,
              stats.dropped);
  }
  sensor.reset();
  if (db && run_id) {
    auto update = db->prepare("UPDATE agent_runs SET stopped_ns = ? WHERE id = ?");
    update.bind(1, now).bind(2, run_id).step();
  }
}

void Agent::run(const std::atomic<bool> &stop) {
  Impl &a = *impl_;
  a.start();
  using Clock = std::chrono::steady_clock;
  auto next_stats = Clock::now() + std::chrono::nanoseconds(a.config.stats_interval_ns);
  auto next_rescan = Clock::now() + std::chrono::nanoseconds(a.config.catalog_rescan_ns);
  auto next_expire = Clock::now() + std::chrono::seconds(1);
  auto next_sweep = Clock::now() + std::chrono::seconds(30);
  while (!stop.load()) {
    int n = a.sensor->poll(100);
    if (n < 0) a.log->warn("ring buffer poll failed: {}", strerror(-n));
    auto now = Clock::now();
    if (now >= next_stats) {
      a.clock.refresh();
      a.report_counters(wall_now_ns());
      next_stats = now + std::chrono::nanoseconds(a.config.stats_interval_ns);
    }
    if (now >= next_expire) {
      a.processes->expire(wall_now_ns());
      next_expire = now + std::chrono::seconds(1);
    }
    if (now >= next_sweep) {
      // Gone cgroups lose their cached identity, so a reused id never inherits it.
      if (a.identities->sweep() > 0) a.known_workloads.clear();
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
