// The agent's userspace pipeline without a kernel: synthetic ring-buffer records from many workloads through
// decode -> attribution -> catalog -> fingerprinting -> detection -> the SQLite store, on real files and a real
// database. Prints one JSON object: throughput on the pipeline's core, end to end with the store, memory, and
// the database's size. Also how the cost grows with identities, catalog entries and policies (run it several
// times with different sizes).
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/detection_stage.h"
#include "agent/live_feed.h"
#include "agent/pipeline.h"
#include "catalog/secret_catalog.h"
#include "common/clock.h"
#include "common/heap.h"
#include "common/jwt.h"
#include "common/log.h"
#include "correlate/credential_inventory.h"
#include "correlate/secret_reader.h"
#include "credentials/env_secret_names.h"
#include "detect/detection_engine.h"
#include "enrich/process_table.h"
#include "enrich/proc_source.h"
#include "identity/workload_identity.h"
#include "metrics/agent_metrics.h"
#include "policy/policy_loader.h"
#include "sensor/secret_maps.h"
#include "store/credential_query.h"
#include "store/database.h"
#include "store/event_writer.h"
#include "synthetic_records.h"

namespace fs = std::filesystem;
using namespace credwatch;
using namespace credwatch::bench;

namespace {

constexpr uint64_t kFirstCgroup = 1'000'000;
constexpr uint32_t kFirstTgid = 4'100'000;  // above any pid this machine hands out, so /proc never answers
constexpr uint32_t kMntNs = 4026531841u;

struct Options {
  uint64_t events = 1'000'000;
  // Records fed first and not measured: with a full cycle of 20 per identity, every identity, credential and
  // destination has been seen once, so the measured records weigh the per-record cost, not first sightings.
  uint64_t warmup = 0;
  uint32_t identities = 1000;
  uint32_t shared_files = 10;         // credentials shared across identities (a registry login, a CA key): reuse
  uint32_t files_per_identity = 10;   // credentials each identity reads: its own, and one of the shared ones;
                                      // identities x this = credential uses
  uint32_t catalog_entries = 0;       // synthetic entries added to the built-in catalog
  uint32_t policies = 0;              // synthetic policies, one per identity up to this many
  bool detection = true;
  uint32_t repeat_window_ms = 1000;  // the agent's default; 0: every record is a row of its own
  // Records per second of the records' own clock: how fast the node produces them, whatever this machine's speed.
  // It decides which repeats fall into one window and how much windowed state is live.
  uint64_t feed_rate = 1'000'000;
  // cold: every process execs again every 20 records, so nearly every record is new (the worst case);
  // steady: each process execs once and then keeps using its credentials and connecting, as a busy node does.
  std::string mix = "cold";
  bool store_floor = false;  // after measuring: copy the rows into an empty store with SQL alone (the floor)
  std::string workdir;
  bool keep = false;
  bool progress = false;
  uint64_t grow_to = 0;      // after measuring: copy the events back in time until the table holds this many
  uint32_t spread_days = 14; // over this many days
  double prune_seconds = 0;  // after growing: insert this long without retention, then as long while it prunes
  uint64_t prune_insert_rate = 5'000;  // events per second inserted in those phases
};

// Kubernetes pods, one per identity (namespace ns-<k % 100>, service account sa-<k>), as the kubelet would show.
class SyntheticCluster : public CgroupPathLookup, public PodMetadataSource {
 public:
  explicit SyntheticCluster(uint32_t identities) : identities_(identities) {}
  std::optional<std::string> path_of(uint64_t cgroup_id) override {
    if (cgroup_id < kFirstCgroup || cgroup_id >= kFirstCgroup + identities_) return std::nullopt;
    uint64_t k = cgroup_id - kFirstCgroup;
    return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + pod_uid(k, '_') +
           ".slice/cri-containerd-" + container_id(k) + ".scope";
  }
  bool still_at(uint64_t, const std::string &) override { return true; }
  PodMetadata pod(std::string_view uid) override {
    PodMetadata md;
    md.uid = uid;
    uint64_t k = std::stoull(std::string(uid.substr(uid.rfind('-') + 1)), nullptr, 16);
    md.namespace_name = "ns-" + std::to_string(k % 100);
    md.pod_name = "app-" + std::to_string(k) + "-7d9f8";
    md.service_account = "sa-" + std::to_string(k);
    md.source = std::string(kSourceSaToken);
    return md;
  }

 private:
  static std::string pod_uid(uint64_t k, char sep) {
    char buf[48];
    snprintf(buf, sizeof(buf), "0badf00d%c0000%c4000%c8000%c%012llx", sep, sep, sep, sep,
             static_cast<unsigned long long>(k));
    return buf;
  }
  static std::string container_id(uint64_t k) {
    char buf[65];
    snprintf(buf, sizeof(buf), "%048x%016llx", 0xc0ffee, static_cast<unsigned long long>(k));
    return buf;
  }
  uint32_t identities_;
};

class NoContainerLogs : public ContainerLogIndex {
 public:
  NoContainerLogs() : ContainerLogIndex("/nonexistent") {}
  std::optional<ContainerLogName> find(std::string_view) const override { return std::nullopt; }
};
class NoContainerNames : public ContainerNameSource {
 public:
  std::optional<ContainerName> name(std::string_view, ContainerRuntime) override { return std::nullopt; }
};

std::string base64url(std::string_view text) {
  std::string b = base64_encode(text);
  for (char &c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

// A projected service-account token per file: distinct credentials with JWT claims to describe. The files sit
// side by side on the node (like the kubelet's pod volumes); a pod opens its token at the in-pod path.
struct SecretFile {
  std::string path;  // on the node
  uint64_t dev = 0, ino = 0;
};

constexpr std::string_view kPodNamespacePath = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
constexpr uint32_t kMaxFilesPerIdentity = 13;

// Where a pod sees its j-th credential: distinct paths (one source each), all under the built-in catalog's
// "**/secrets/kubernetes.io/serviceaccount/token"; the shared one is mounted at the same path in every pod.
std::vector<std::string> pod_credential_paths() {
  std::vector<std::string> paths = {"/var/run/secrets/kubernetes.io/serviceaccount/token"};
  for (uint32_t j = 1; j < kMaxFilesPerIdentity; ++j)
    paths.push_back("/var/run/app-" + std::to_string(j) + "/secrets/kubernetes.io/serviceaccount/token");
  paths.push_back("/var/run/shared/secrets/kubernetes.io/serviceaccount/token");
  return paths;
}

std::vector<SecretFile> make_secret_files(const fs::path &dir, uint32_t count) {
  fs::create_directories(dir);
  std::vector<SecretFile> files;
  for (uint32_t f = 0; f < count; ++f) {
    nlohmann::json claims = {{"iss", "https://kubernetes.default.svc"},
                             {"sub", "system:serviceaccount:bench:sa-" + std::to_string(f)},
                             {"jti", "bench-" + std::to_string(f)},
                             {"exp", 4102444800},
                             {"iat", 1767225600}};
    std::string token = base64url(R"({"alg":"RS256","kid":"bench"})") + "." + base64url(claims.dump()) + "." +
                        base64url("signature-" + std::to_string(f));
    std::string path = (dir / ("token-" + std::to_string(f))).string();
    std::ofstream(path) << token;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path);
    files.push_back({path, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  }
  return files;
}

// The kernel reports dev_t as MAJOR << 20 | MINOR; stat(2) gives glibc's encoding.
uint64_t kernel_dev(uint64_t dev) { return (static_cast<uint64_t>(major(dev)) << 20) | minor(dev); }

PolicySet make_policies(uint32_t count) {
  std::vector<std::pair<std::string, std::string>> texts;
  for (uint32_t j = 0; j < count; ++j) {
    std::string text = "apiVersion: credwatch.io/v1alpha1\nkind: CredentialPolicy\nmetadata: {name: bench-" +
                       std::to_string(j) + "}\nspec:\n  selector: {identities: [\"spiffe://cluster.local/ns/*/sa/sa-" +
                       std::to_string(j) + "\"]}\n  credentials:\n    allow: [{kind: kubernetes_sa_token}]\n" +
                       "  egress:\n    allow: [{cidr: 10.0.0.0/8, ports: [443]}]\n";
    texts.emplace_back("bench-" + std::to_string(j) + ".yaml", text);
  }
  PolicyLoadResult loaded = parse_policies(texts);
  if (!loaded.policies) {
    std::string why = loaded.errors.empty() ? "unknown error" : loaded.errors.front().str();
    throw std::runtime_error("synthetic policies do not load: " + why);
  }
  return *loaded.policies;
}

void add_catalog_entries(SecretCatalog &catalog, uint32_t count) {
  for (uint32_t j = 0; j < count; ++j) {
    CatalogEntry e;
    e.name = "bench-" + std::to_string(j);
    e.kind = "netrc";
    e.paths = {"/srv/bench-" + std::to_string(j) + "/**/credentials-" + std::to_string(j) + ".json"};
    catalog.add(e);
  }
}

uint32_t catalog_id_of(const SecretCatalog &catalog, std::string_view name) {
  for (const auto &e : catalog.entries())
    if (e.name == name) return e.id;
  throw std::runtime_error("no catalog entry " + std::string(name));
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

uint64_t boot_ns() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// VmRSS / VmHWM in KiB.
std::pair<uint64_t, uint64_t> memory_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  uint64_t rss = 0, hwm = 0;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stoull(line.substr(6));
  }
  return {rss, hwm};
}

uint64_t file_size(const fs::path &p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// A large store for the query benchmarks, in a minute rather than the hours the pipeline would take: the measured
// events copied back in time (each copy older, spread over the days), the way a node's history would look. The
// indexes are dropped during the copy and rebuilt from their own definitions.
// The store's floor: the measured run's rows copied into an empty store with the same schema and indexes, by
// SQLite alone (no binding, no encoding, no pipeline), in transactions of the writer's batch size. What is left of
// the writer's cost per row above this is ours; this part is SQLite maintaining the table and its indexes.
nlohmann::json store_floor(Database &db, const std::string &floor_path) {
  for (const char *suffix : {"", "-wal", "-shm"}) fs::remove(floor_path + suffix);
  { Database::open(floor_path); }  // the schema, through the same migrations
  db.exec("ATTACH DATABASE '" + floor_path + "' AS floor");
  auto bounds = db.prepare("SELECT MIN(id), MAX(id), COUNT(*) FROM events");
  bounds.step();
  int64_t first = bounds.int64(0), last = bounds.int64(1), rows = bounds.int64(2);
  bounds.reset();
  constexpr int64_t kBatch = EventWriter::kMaxBatch;
  double cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  auto wall0 = std::chrono::steady_clock::now();
  for (int64_t from = first; rows > 0 && from <= last; from += kBatch) {
    db.exec("BEGIN");
    db.exec("INSERT INTO floor.events SELECT * FROM main.events WHERE id >= " + std::to_string(from) + " AND id < " +
            std::to_string(from + kBatch));
    db.exec("COMMIT");
  }
  double cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  db.exec("DETACH DATABASE floor");
  for (const char *suffix : {"", "-wal", "-shm"}) fs::remove(floor_path + suffix);
  double n = static_cast<double>(std::max<int64_t>(rows, 1));
  return {{"rows", rows}, {"cpu_s", cpu}, {"wall_s", wall}, {"ns_per_row", cpu * 1e9 / n},
          {"rows_per_s", cpu > 0 ? n / cpu : 0.0}};
}

nlohmann::json grow_events(Database &db, uint64_t target, uint32_t spread_days, bool progress) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::pair<std::string, std::string>> indexes;
  {
    auto q = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL");
    while (q.step()) indexes.emplace_back(q.text(0), q.text(1));
  }
  for (const auto &[name, sql] : indexes) db.exec("DROP INDEX " + name);
  int64_t base_rows = 0, max_id = 0;
  {
    auto q = db.prepare("SELECT COUNT(*), MAX(id) FROM events");
    q.step();
    base_rows = q.int64(0);
    max_id = q.int64(1);
  }
  const uint64_t copies = (target + base_rows - 1) / base_rows - 1;
  const int64_t step_ns = static_cast<int64_t>(spread_days) * 86'400'000'000'000LL / static_cast<int64_t>(copies);
  uint64_t rows = static_cast<uint64_t>(base_rows);
  for (uint64_t c = 1; c <= copies && rows < target; ++c) {
    int64_t limit = static_cast<int64_t>(std::min<uint64_t>(base_rows, target - rows));
    Transaction tx(db);
    auto copy = db.prepare(
        "INSERT INTO events(time_ns, kind, pid, tgid, ppid, uid, gid, start_ns, comm, exe, cgroup_id, identity, path, "
        "dest, result, catalog, credential, details) SELECT time_ns - ?, kind, pid, tgid, ppid, uid, gid, start_ns, "
        "comm, exe, cgroup_id, identity, path, dest, result, catalog, credential, details FROM events WHERE id <= ? "
        "ORDER BY id LIMIT ?");
    copy.bind(1, static_cast<int64_t>(c) * step_ns).bind(2, max_id).bind(3, limit);
    copy.step();
    tx.commit();
    rows += static_cast<uint64_t>(limit);
    if (progress) fprintf(stderr, "\r  grew the store to %llu events", static_cast<unsigned long long>(rows));
  }
  auto copied = std::chrono::steady_clock::now();
  for (const auto &[name, sql] : indexes) {
    if (progress) fprintf(stderr, "\r  rebuilding index %-40s", name.c_str());
    db.exec(sql);
  }
  if (progress) fprintf(stderr, "\r%70s\r", "");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  auto done = std::chrono::steady_clock::now();
  return {{"events", rows},
          {"spread_days", spread_days},
          {"copy_s", std::chrono::duration<double>(copied - started).count()},
          {"index_s", std::chrono::duration<double>(done - copied).count()},
          {"db_bytes", file_size(db.path()) + file_size(db.path() + "-wal")}};
}

// Inserts at a steady rate for a while with retention off, then as long with it on and the grown store's oldest half
// day due, as the agent's writer prunes between its batches: the batches' commit times, the longest prune step and
// the inserts dropped show whether pruning stalls writes.
nlohmann::json writes_while_pruning(Database &db, uint32_t spread_days, double seconds, uint64_t rate) {
  constexpr int64_t kDayNs = 86'400'000'000'000LL;
  auto phase = [&](bool prune) {
    std::mutex mutex;
    std::vector<int64_t> commits;
    EventWriter writer(db, 1, 1'000'000, [&](size_t, int64_t commit_ns) {
      std::lock_guard lock(mutex);
      commits.push_back(commit_ns);
    });
    if (prune) writer.set_retention({.retention_ns = static_cast<int64_t>(spread_days) * kDayNs - kDayNs / 2});
    Event ev;
    ev.kind = EventKind::Exec;
    ev.process.pid = ev.process.tgid = 4242;
    ev.process.comm = "bench";
    ev.identity = "spiffe://cluster.local/ns/bench/sa/writer";
    auto start = std::chrono::steady_clock::now();
    uint64_t inserted = 0;
    for (double elapsed = 0; elapsed < seconds;
         elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()) {
      for (auto due = static_cast<uint64_t>(elapsed * static_cast<double>(rate)); inserted < due; ++inserted) {
        ev.time_ns = wall_now_ns();
        writer.submit(ev);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    writer.flush();
    WriterStats stats = writer.stats();
    writer.stop();
    std::sort(commits.begin(), commits.end());
    auto ms_at = [&](double q) {
      return commits.empty() ? 0.0 : static_cast<double>(commits[static_cast<size_t>(q * (commits.size() - 1))]) / 1e6;
    };
    return nlohmann::json{{"inserted", inserted},
                          {"written", stats.events_written},
                          {"dropped", stats.dropped},
                          {"batches", commits.size()},
                          {"commit_p50_ms", ms_at(0.5)},
                          {"commit_p99_ms", ms_at(0.99)},
                          {"commit_max_ms", ms_at(1.0)},
                          {"pruned_rows", stats.pruned.total()},
                          {"prune_steps", stats.prune_steps},
                          {"max_prune_step_ms", static_cast<double>(stats.max_prune_ns) / 1e6}};
  };
  nlohmann::json without = phase(false);
  nlohmann::json with = phase(true);
  return {{"seconds", seconds}, {"insert_rate", rate}, {"without_retention", without}, {"with_retention", with}};
}

int run(const Options &opt) {
  fs::path work = opt.workdir.empty() ? fs::temp_directory_path() / ("credwatch-pipeline-bench-" + std::to_string(getpid()))
                                      : fs::path(opt.workdir);
  fs::create_directories(work);
  std::string db_path = (work / "bench.db").string();
  fs::remove(db_path);
  fs::remove(db_path + "-wal");
  fs::remove(db_path + "-shm");

  // Every credential file stays open, like a workload holding its token; the bench's records name these fds.
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  setrlimit(RLIMIT_NOFILE, &nofile);
  // Each identity's own credentials first, then the shared pool.
  const uint32_t own = opt.files_per_identity - 1;
  std::vector<SecretFile> files = make_secret_files(work / "tokens", opt.identities * own + opt.shared_files);

  SecretCatalog catalog = SecretCatalog::builtin();
  add_catalog_entries(catalog, opt.catalog_entries);
  uint32_t token_entry = catalog_id_of(catalog, "kubernetes-sa-token");

  Database db = Database::open(db_path);
  EventWriter writer(db, 1);
  BootClock clock;
  LinuxProcSource proc("/proc", "");
  ProcessTable processes(proc);
  SyntheticCluster cluster(opt.identities);
  NoContainerLogs logs;
  NoContainerNames names;
  IdentityConfig identity_config;
  identity_config.node_name = "bench-node";
  IdentityResolver identities(identity_config, cluster, cluster, logs, names);
  SecretBytes key(std::string(32, 'k'));
  ProcSecretReader reader;
  CredentialInventory credentials(key, reader);
  StoredDescriptors stored_descriptors(db_path);  // as the agent: descriptors read back for alerts
  credentials.set_descriptor_loader([&](const std::string &id) { return stored_descriptors(id); });
  EnvSecretNames env_names(default_secret_env_globs(), default_non_secret_env_globs());
  SecretMaps secret_maps;  // no kernel: verdicts for the kernel go nowhere
  LiveFeed feed(stdout, false);
  EventPipeline pipeline(EventPipeline::Deps{catalog, clock, proc, processes, identities, credentials, env_names,
                                             secret_maps, writer, feed, kMntNs,
                                             static_cast<int64_t>(opt.repeat_window_ms) * 1'000'000});
  pipeline.set_next_event_id(1);
  // The pipeline keeps its own copy of the paths; the generator needs only each file's device and inode. Anything
  // more the bench kept would count as the agent's memory.
  struct FileId {
    uint64_t dev = 0, ino = 0;
  };
  std::vector<FileId> file_ids;
  file_ids.reserve(files.size());
  for (const auto &f : files) {
    pipeline.note_secret_file(kernel_dev(f.dev), f.ino, f.path);
    file_ids.push_back({f.dev, f.ino});
  }
  std::vector<SecretFile>().swap(files);

  SystemClock system_clock;
  DetectionOptions detection_options;
  detection_options.node = "bench-node";
  DetectionEngine engine(system_clock, detection_options, make_policies(opt.policies));
  AgentMetrics metrics;
  DetectionStage detection(DetectionStage::Deps{engine, processes, credentials, identities, writer, metrics, nullptr,
                                                "bench-node", nullptr},
                           1);
  pipeline.on_recorded = [&](const Event &ev) {
    metrics.events(ev.kind).inc();
    if (opt.detection) detection.on_event(ev);
  };

  // The records, built once per (identity, slot) would be identities x 20 buffers; instead each is built on
  // the fly into one reused buffer of the largest size, which costs a memcpy the kernel would also have paid.
  // Their times follow a synthetic clock at --feed-rate, so that runs repeat whatever the machine's speed, and at
  // each of its seconds the upkeep of the agent's loop runs (windows closed, state expired) as the agent's does.
  const uint64_t base_ns = boot_ns();
  uint64_t next_second_ns = base_ns + 1'000'000'000ull;
  auto upkeep = [&](uint64_t at_boot_ns) {
    WallNs now = clock.to_wall(at_boot_ns);
    processes.expire(now);
    pipeline.tick(now);
    if (opt.detection) detection.tick(now);
  };
  const std::vector<std::string> pod_paths = pod_credential_paths();

  double feeder_cpu0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  double process_cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  auto wall0 = std::chrono::steady_clock::now();
  double stalled_s = 0;
  uint64_t records = 0, opens = 0, connects = 0, execs = 0, rejected = 0, folded0 = 0;
  WriterStats ws0{};
  for (uint64_t i = 0; i < opt.warmup + opt.events; ++i) {
    if (i == opt.warmup && i > 0) {
      // The measurement starts with the warm-up's rows written, so none of the store's work is charged to it.
      writer.flush();
      feeder_cpu0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
      process_cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
      wall0 = std::chrono::steady_clock::now();
      stalled_s = 0;
      records = opens = connects = execs = rejected = 0;
      folded0 = pipeline.folded();
      ws0 = writer.stats();
    }
    uint32_t k = static_cast<uint32_t>(i % opt.identities);
    uint64_t round = i / opt.identities;
    RecordOrigin o;
    o.tgid = kFirstTgid + k;
    o.start_ns = 1'000'000 + k;
    o.cgroup_id = kFirstCgroup + k;
    o.mnt_ns = kMntNs + 1 + k;  // each pod its own mount namespace
    o.ts_ns = base_ns + i * 1'000'000'000ull / opt.feed_rate;
    if (o.ts_ns >= next_second_ns) {
      upkeep(o.ts_ns);
      next_second_ns += 1'000'000'000ull;
    }
    o.comm = "app";
    uint32_t slot = static_cast<uint32_t>(round % 20);
    std::vector<uint8_t> rec;
    if (round == 0 || (slot == 0 && opt.mix == "cold")) {
      rec = exec_record(o);
      ++execs;
    } else if (slot < 15) {
      uint32_t j = slot % opt.files_per_identity;
      uint32_t f = j < own ? k * own + j : opt.identities * own + k % opt.shared_files;
      FileOpenSpec spec;
      spec.dev = kernel_dev(file_ids[f].dev);
      spec.ino = file_ids[f].ino;
      spec.fd = 3;
      if (slot == 14) {
        // A name candidate the catalog turns down (the service account's namespace file): the full catalog walk.
        spec.path = kPodNamespacePath;
        spec.resolved = "";
        spec.match = CW_MATCH_NAME;
        spec.catalog_id = 0;
        spec.ino = file_ids[f].ino + 1'000'000'000ull;
        ++rejected;
      } else {
        spec.path = j < own ? pod_paths[j] : pod_paths.back();
        spec.resolved = "";
        spec.match = slot % 5 == 1 ? CW_MATCH_NAME : CW_MATCH_INODE;
        spec.catalog_id = token_entry;
        ++opens;
      }
      rec = file_open_record(spec, o);
    } else {
      rec = connect_record(0x0A000000u | ((k & 0xffff) << 8) | slot, 443, o);
      ++connects;
    }
    pipeline.on_record(rec);
    ++records;
    if ((i & 0x3ff) == 0) {
      // Backpressure instead of drops: the steady state of a writer that keeps up (a batch queued while one is
      // written), which is what memory means.
      auto stall0 = std::chrono::steady_clock::now();
      while (writer.queued() > EventWriter::kMaxBatch) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      stalled_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - stall0).count();
      if (opt.progress && i % 1'000'000 < 0x400 && i > 0)
        fprintf(stderr, "\r  %llu / %llu records", static_cast<unsigned long long>(i),
                static_cast<unsigned long long>(opt.warmup + opt.events));
    }
  }
  pipeline.flush_repeats();  // what the agent does at stop: the windows still open report their counts
  double feeder_cpu = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - feeder_cpu0;
  auto fed = std::chrono::steady_clock::now();
  writer.flush();
  auto done = std::chrono::steady_clock::now();
  double process_cpu = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu0;
  if (opt.progress) fprintf(stderr, "\r%60s\r", "");
  auto [rss_kib, hwm_kib] = memory_kib();
  // What the agent's periodic heap trim gives back: the rest is live state (or fragments of it).
  HeapRelease trimmed = release_free_heap();
  double wall_s = std::chrono::duration<double>(done - wall0).count();
  WriterStats ws = writer.stats();
  writer.stop();
  ws.events_written -= ws0.events_written;
  const uint64_t folded = pipeline.folded() - folded0;

  uint64_t events_stored = 0, credential_uses = 0, identity_rows = 0, credential_rows = 0;
  {
    auto q = db.prepare("SELECT (SELECT COUNT(*) FROM events), (SELECT COUNT(*) FROM credential_uses), "
                        "(SELECT COUNT(*) FROM identities), (SELECT COUNT(*) FROM credentials)");
    q.step();
    events_stored = static_cast<uint64_t>(q.int64(0));
    credential_uses = static_cast<uint64_t>(q.int64(1));
    identity_rows = static_cast<uint64_t>(q.int64(2));
    credential_rows = static_cast<uint64_t>(q.int64(3));
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  uint64_t db_bytes = file_size(db_path) + file_size(db_path + "-wal");
  nlohmann::json floor = nullptr;
  if (opt.store_floor && events_stored > 0) floor = store_floor(db, (work / "floor.db").string());
  nlohmann::json grown = nullptr;
  if (opt.grow_to > events_stored && events_stored > 0) grown = grow_events(db, opt.grow_to, opt.spread_days, opt.progress);
  nlohmann::json pruning = nullptr;
  if (opt.prune_seconds > 0 && !grown.is_null())
    pruning = writes_while_pruning(db, opt.spread_days, opt.prune_seconds, opt.prune_insert_rate);

  const auto &c = pipeline.counters();
  nlohmann::json out = {
      {"records", records},
      {"warmup_records", opt.warmup},
      {"opens", opens},
      {"rejected_candidates", rejected},
      {"connects", connects},
      {"execs", execs},
      {"identities", opt.identities},
      {"credential_files", file_ids.size()},
      {"files_per_identity", opt.files_per_identity},
      {"catalog_entries", catalog.entries().size()},
      {"policies", opt.policies},
      {"detection", opt.detection},
      {"repeat_window_ms", opt.repeat_window_ms},
      {"feed_rate", opt.feed_rate},
      {"mix", opt.mix},
      {"store_floor", floor},
      {"writes_while_pruning", pruning},
      {"folded", folded},
      {"folded_share", records ? static_cast<double>(folded) / static_cast<double>(records) : 0.0},
      {"pipeline_cpu_s", feeder_cpu},
      {"pipeline_records_per_s", records / feeder_cpu},
      {"pipeline_ns_per_record", feeder_cpu * 1e9 / records},
      {"store_cpu_s", process_cpu - feeder_cpu},
      {"store_ns_per_event", (process_cpu - feeder_cpu) * 1e9 / std::max<uint64_t>(1, ws.events_written)},
      {"wall_s", wall_s},
      {"feed_wall_s", std::chrono::duration<double>(fed - wall0).count()},
      {"stalled_s", stalled_s},
      {"end_to_end_records_per_s", records / wall_s},
      {"events_written", ws.events_written},
      {"events_stored", events_stored},
      {"dropped", ws.dropped},
      {"write_errors", ws.write_errors},
      {"decode_errors", c.decode_errors},
      {"unreadable_secrets", c.unreadable_secrets},
      {"credential_rows", credential_rows},
      {"credential_uses", credential_uses},
      {"identity_rows", identity_rows},
      {"alerts", detection.alerts_raised()},
      {"rss_mib", rss_kib / 1024.0},
      {"peak_rss_mib", hwm_kib / 1024.0},
      {"rss_trimmed_mib", trimmed.rss_after_bytes < 0 ? nlohmann::json(nullptr)
                                                      : nlohmann::json(trimmed.rss_after_bytes / 1048576.0)},
      {"db_bytes", db_bytes},
      {"db_bytes_per_event", events_stored ? static_cast<double>(db_bytes) / events_stored : 0.0},
      {"db", db_path},
      {"grown", grown},
  };
  std::cout << out.dump() << std::endl;
  if (!opt.keep && opt.workdir.empty()) fs::remove_all(work);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"credwatch userspace pipeline benchmark: synthetic records -> decode -> attribute -> fingerprint -> "
               "detect -> store"};
  Options opt;
  app.add_option("--events", opt.events, "Records to feed and measure")->capture_default_str();
  app.add_option("--warmup", opt.warmup,
                 "Records to feed first, unmeasured (20 per identity: each seen once); the store's row counts and "
                 "sizes include them")
      ->capture_default_str();
  app.add_option("--identities", opt.identities, "Workload identities (one pod each)")->capture_default_str()
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--shared-files", opt.shared_files, "Credentials shared between identities")->capture_default_str()
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--files-per-identity", opt.files_per_identity, "Credential files each identity reads")
      ->capture_default_str()->check(CLI::Range(2u, kMaxFilesPerIdentity));
  app.add_option("--catalog-entries", opt.catalog_entries, "Synthetic catalog entries added to the built-in ones")
      ->capture_default_str();
  app.add_option("--policies", opt.policies, "Synthetic policies (one identity each)")->capture_default_str();
  app.add_flag("!--no-detection", opt.detection, "Leave the detection engine out");
  app.add_option("--repeat-window-ms", opt.repeat_window_ms,
                 "Identical events of a process this close fold into one row (0: every record is a row)")
      ->capture_default_str()->check(CLI::Range(0u, 60'000u));
  app.add_option("--feed-rate", opt.feed_rate,
                 "Records per second of the records' own clock (repeat windows and upkeep follow it)")
      ->capture_default_str()
      ->check(CLI::Range(1'000ull, 1'000'000'000ull));
  app.add_option("--mix", opt.mix,
                 "cold: processes exec again every 20 records (nearly all records new); steady: they exec once and "
                 "keep using their credentials")
      ->capture_default_str()
      ->check(CLI::IsMember({"cold", "steady"}));
  app.add_flag("--store-floor", opt.store_floor,
               "After measuring, time SQLite alone copying the rows into an empty store (the writer's floor)");
  app.add_option("--workdir", opt.workdir, "Directory for the database and credential files (kept)");
  app.add_flag("--keep", opt.keep, "Keep the temporary directory");
  app.add_flag("--progress", opt.progress, "Progress on stderr");
  app.add_option("--grow-to", opt.grow_to, "After measuring, copy the events back in time up to this many (for queries)");
  app.add_option("--prune-seconds", opt.prune_seconds,
                 "After growing: insert this long, then as long while retention prunes the oldest half day")
      ->capture_default_str();
  app.add_option("--prune-insert-rate", opt.prune_insert_rate, "Events per second inserted while measuring pruning")
      ->capture_default_str()
      ->check(CLI::Range(1ull, 1'000'000ull));
  app.add_option("--spread-days", opt.spread_days, "Days the grown store spans")->capture_default_str()
      ->check(CLI::Range(1u, 3650u));
  CLI11_PARSE(app, argc, argv);
  setup_logging(spdlog::level::err);  // alerts are logged as warnings: thousands here
  try {
    return run(opt);
  } catch (const std::exception &e) {
    std::cerr << "credwatch_bench_pipeline: " << e.what() << "\n";
    return 1;
  }
}
