// The record pipeline: everything between a ring-buffer record and the store, on the sensor's thread.
#include "agent/pipeline.h"

#include <fcntl.h>

#include "common/log.h"
#include "credentials/token_descriptor.h"

namespace credwatch {

namespace {
std::shared_ptr<spdlog::logger> pipeline_log() {
  static auto log = component_logger("pipeline");
  return log;
}
}  // namespace

namespace {
constexpr size_t kMaxRepeatWindows = 65'536;  // about 15 MB at most; past it events are recorded one by one
}  // namespace

EventPipeline::EventPipeline(Deps deps)
    : d_(deps),
      decoder_(deps.clock),
      assembler_([this](std::string_view name) { return d_.env_names.is_secret(name); }),
      repeats_(deps.repeat_window_ns, kMaxRepeatWindows, [this](EventRepeats r) { d_.writer.submit(std::move(r)); }) {}

void EventPipeline::note_secret_file(uint64_t dev, uint64_t ino, const std::string &path) {
  secret_files_[{dev, ino}] = path;
}

void EventPipeline::on_record(std::span<const uint8_t> data) {
  DecodeResult result = decoder_.decode(data);
  if (auto *err = std::get_if<DecodeError>(&result)) {
    ++counters_.decode_errors;
    if (counters_.decode_errors <= 10 || counters_.decode_errors % 10000 == 0)
      pipeline_log()->warn("undecodable record #{}: {}", counters_.decode_errors, err->reason);
    return;
  }
  if (auto *chunk = std::get_if<EnvChunk>(&result)) {
    if (auto env = assembler_.add(std::move(*chunk))) environment(std::move(*env), false);
    return;
  }
  handle(std::get<Event>(result));
}

void EventPipeline::handle(Event &ev) {
  const ProcessInfo *changed = d_.processes.apply(ev);
  // A repeat costs this lookup only: no identity, catalog, fingerprint, detection or row of its own. A record that
  // opened a kernel repeat window is the kernel's one record of that window: it gets a row, as each window does.
  if (!changed && !kernel_window_of(ev) && repeats_.fold(ev, exec_generation(ev.process.tgid))) return;
  attribute(ev);
  if (changed) d_.writer.submit(with_identity(*changed));
  switch (ev.kind) {
    case EventKind::FileOpen:
      classify_open(ev);
      if (std::get<FileOpenDetails>(ev.details).catalog_entry.empty()) {  // not a secret after all
        note_kernel_window(ev, KernelRepeatRows::kNotAnEvent);
        return;
      }
      fingerprint_open(ev);
      break;
    case EventKind::EnvRead: {
      if (env_read_in_scope && !env_read_in_scope(ev.identity)) return;
      const auto &name = std::get<EnvReadDetails>(ev.details).name;
      // The kernel's name prefilter is wider than the globs and knows no exclusions (AWS_ACCESS_KEY_ID, *_FILE).
      if (!d_.env_names.is_secret(name)) {
        ++counters_.candidates_rejected;
        return;
      }
      // Which credential the variable holds: what the program started with (its exec-time environment).
      if (const ProcessInfo *p = d_.processes.find(ev.process.tgid); p && p->env_credentials) {
        auto it = p->env_credentials->find(name);
        if (it != p->env_credentials->end()) ev.credential = it->second;
      }
      break;
    }
    case EventKind::ProcSnoop:
      complete_snoop(ev);
      break;
    default:
      break;
  }
  record(std::move(ev));
}

// Every event gets the identity of its workload, from the cgroup the kernel reported (never from anything the
// workload controls); the first sighting of an instance is written with its attributes.
IdentityRef EventPipeline::attribute(Event &ev) {
  IdentityRef id = d_.identities.resolve(ev.process.cgroup_id, ev.process.uid, ev.process.exe);
  ev.identity = id->id;
  if (!known_workloads_.count({ev.process.cgroup_id, id->id})) {
    known_workloads_.emplace(ev.process.cgroup_id, id->id);
    d_.writer.submit(WorkloadRecord{ev.process.cgroup_id, id->id, id->kind, identity_attributes_json(*id), ev.time_ns});
    if (on_new_workload) on_new_workload(*id, ev.process);
  }
  return id;
}

ProcessInfo EventPipeline::with_identity(const ProcessInfo &p) {
  ProcessInfo out = p;
  out.identity = d_.identities.resolve(p.cgroup_id, p.uid, p.exe)->id;
  return out;
}

// The kernel reports candidates; the catalog decides on the whole path and teaches the kernel the verdict.
void EventPipeline::classify_open(Event &ev) {
  auto &d = std::get<FileOpenDetails>(ev.details);
  d.path = absolute_open_path(d_.proc, ev.process.tgid, d);
  const CatalogEntry *entry = nullptr;
  if (d.match == OpenMatch::Inode) entry = d_.catalog.by_id(d.catalog_id);
  if (!entry) entry = d_.catalog.match(d.path);
  if (!entry && !d.resolved.empty()) entry = d_.catalog.match(d.resolved);
  if (d.match == OpenMatch::Name) {
    if (entry) {
      d_.secret_maps.add_secret_inode(d.dev, d.ino, entry->id);
      // The kernel's path is in the opener's mount namespace; only there is it a host path.
      if (ev.process.mnt_ns == d_.host_mnt_ns) secret_files_.emplace(InodeKey{d.dev, d.ino}, d.resolved);
    } else {
      d_.secret_maps.mark_not_secret(d.dev, d.ino);
    }
  }
  if (d.dev || d.ino) {
    auto known = secret_files_.find({d.dev, d.ino});
    if (known != secret_files_.end()) d.file = known->second;
  }
  if (!entry) {
    ++counters_.candidates_rejected;
    return;
  }
  d.catalog_id = entry->id;
  d.catalog_entry = entry->name;
  d.credential_kind = entry->kind;
}

// Which credentials the opened file holds: read once per content, fingerprinted, the buffer wiped.
void EventPipeline::fingerprint_open(Event &ev) {
  auto &d = std::get<FileOpenDetails>(ev.details);
  if (d.result < 0) return;  // nothing was opened
  SecretFileLocation where;
  where.tgid = ev.process.tgid;
  where.fd = static_cast<int32_t>(d.result);
  where.path = d.path;
  where.host_path = d.file;
  where.dev = d.dev;
  where.ino = d.ino;
  if ((d.flags & O_ACCMODE) == O_WRONLY) {
    d_.credentials.file_written(d.dev, d.ino);
    return;  // a writer is replacing the content: read it at the next read
  }
  InventoryUpdates updates;
  std::string ids = d_.credentials.file_opened(where, d.credential_kind, ev.process.mnt_ns, ev.time_ns, updates);
  if (!updates.error.empty()) {
    ++counters_.unreadable_secrets;
    pipeline_log()->debug("cannot fingerprint {} opened by {}[{}]: {}", d.path, ev.process.comm, ev.process.tgid,
                          updates.error);
  }
  if ((d.flags & O_ACCMODE) == O_RDWR) d_.credentials.file_written(d.dev, d.ino);
  store_updates(updates);
  ev.credential = std::move(ids);
}

void EventPipeline::complete_snoop(Event &ev) {
  auto &d = std::get<ProcSnoopDetails>(ev.details);
  const ProcessInfo *target = d_.processes.find(d.target_pid);
  if (!target) {
    // The target may be a thread: find its process.
    if (uint32_t tgid = d_.proc.tgid_of(d.target_pid)) target = d_.processes.find(tgid);
  }
  if (!target) return;
  d.target_tgid = target->tgid;
  d.target_comm = target->comm;
  d.target_identity = d_.identities.resolve(target->cgroup_id, target->uid, target->exe)->id;
}

void EventPipeline::environment(AssembledEnvironment env, bool at_start) {
  if (env.incomplete) ++counters_.incomplete_environments;
  ProcessRef process = env.process;
  auto map = std::make_shared<std::map<std::string, std::string>>();
  if (ProcessInfo *p = d_.processes.find_mutable(process.tgid)) {
    process.exe = p->exe;
    process.cgroup_id = p->cgroup_id;
  }
  Event base;
  base.kind = EventKind::EnvExec;
  base.time_ns = env.time_ns;
  base.process = process;
  IdentityRef id = attribute(base);
  for (auto &var : env.secrets) {
    InventoryUpdates updates;
    std::string joined = d_.credentials.env_seen(id->id, var.name, var.value, env.time_ns, updates);
    EnvExecDetails details;
    details.name = var.name;
    details.credential_kind = classify_token(var.value.view());
    details.block_truncated = env.truncated;
    details.at_start = at_start;
    var.value.clear();
    store_updates(updates);
    (*map)[var.name] = joined;
    Event ev = base;
    ev.credential = joined;
    ev.details = std::move(details);
    record(std::move(ev));
  }
  if (ProcessInfo *p = d_.processes.find_mutable(process.tgid)) p->env_credentials = std::move(map);
}

void EventPipeline::store_updates(InventoryUpdates &updates) {
  for (auto &r : updates.records) d_.writer.submit(std::move(r));
  for (auto &r : updates.rotations) {
    pipeline_log()->info("credential rotated at {}: {} replaced by {}", r.source, join_ids(r.old_ids),
                         join_ids(r.new_ids));
    d_.writer.submit(std::move(r));
  }
}

void EventPipeline::seed(const std::vector<ProcessInfo> &processes, WallNs now) {
  for (const auto &p : processes) {
    d_.writer.submit(with_identity(p));
    // Their environment as it is now: the exec-time record is gone, this is the best there is.
    AssembledEnvironment env;
    env.process.tgid = env.process.pid = p.tgid;
    env.process.ppid = p.ppid;
    env.process.uid = p.uid;
    env.process.gid = p.gid;
    env.process.start_ns = p.start_ns;
    env.process.cgroup_id = p.cgroup_id;
    env.process.mnt_ns = p.mnt_ns;
    env.process.comm = p.comm;
    env.time_ns = now;
    SecretBytes block = d_.proc.environ(p.tgid);
    assembler_.parse(block.view(), env);
    block.clear();
    environment(std::move(env), true);
  }
}

void EventPipeline::tick(WallNs now) {
  for (auto &env : assembler_.expire(now)) environment(std::move(env), false);
  repeats_.expire(now);
  // The kernel's windows are taken within a second or two of closing; a minute leaves ample room (and nothing is
  // forgotten in the first minute after boot).
  uint64_t keep = static_cast<uint64_t>(std::max<int64_t>(60'000'000'000, 10 * repeats_.window_ns()));
  if (uint64_t boot_now = d_.clock.to_boot(now); boot_now > keep) kernel_repeats_.forget_before(boot_now - keep);
}

void EventPipeline::add_kernel_repeats(const std::vector<RepeatCount> &counts) {
  for (auto &r : kernel_repeats_.resolve(counts, d_.clock)) d_.writer.submit(r);
}

std::optional<EventPipeline::KernelWindow> EventPipeline::kernel_window_of(const Event &ev) {
  if (auto *open = std::get_if<FileOpenDetails>(&ev.details); open && open->kernel_window_ns)
    return KernelWindow{RepeatCount::Of::FileOpen, ev.process.tgid, open->kernel_window_ns};
  if (auto *connect = std::get_if<ConnectDetails>(&ev.details); connect && connect->kernel_window_ns)
    return KernelWindow{RepeatCount::Of::Connect, ev.process.tgid, connect->kernel_window_ns};
  return std::nullopt;
}

void EventPipeline::note_kernel_window(const Event &ev, int64_t row) {
  if (auto window = kernel_window_of(ev)) kernel_repeats_.note(window->of, window->tgid, window->first_boot_ns, row);
}

void EventPipeline::record(Event ev) {
  if (next_event_id_ > 0) ev.id = next_event_id_++;
  if (on_recorded) on_recorded(ev);
  d_.feed.print(ev);
  RepeatFolder::Prepared repeats = repeats_.prepare(ev, exec_generation(ev.process.tgid));
  std::optional<KernelWindow> window = kernel_window_of(ev);
  int64_t id = ev.id;
  // Repeats fold only into a row the store accepted: a dropped event's repeats are recorded on their own.
  bool stored = d_.writer.submit(ev);
  if (stored) repeats_.open(std::move(repeats));
  // The kernel's repeats of it go to its row; a refused event's are lost.
  if (window) kernel_repeats_.note(window->of, window->tgid, window->first_boot_ns, stored ? id : 0);
}

WallNs EventPipeline::exec_generation(uint32_t tgid) const {
  const ProcessInfo *p = d_.processes.find(tgid);
  return p ? p->seen_ns : 0;
}

}  // namespace credwatch
