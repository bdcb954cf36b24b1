// Process table maintenance from /proc and from exec/fork/exit records.
#include "enrich/process_table.h"

#include <vector>

namespace credwatch {

namespace {
// /proc start times have clock-tick resolution (10 ms at HZ=100); the kernel's are exact.
constexpr uint64_t kCoarseStartSlackNs = 20'000'000;
constexpr int kAtFdCwd = -100;
}  // namespace

ProcessTable::ProcessTable(ProcSource &proc, int64_t exit_grace_ns) : proc_(proc), exit_grace_ns_(exit_grace_ns) {}

ProcessInfo ProcessTable::from_snapshot(const ProcSnapshot &s, WallNs now) const {
  ProcessInfo p;
  p.tgid = s.tgid;
  p.ppid = s.ppid;
  p.start_ns = s.start_ns;
  p.uid = s.uid;
  p.gid = s.gid;
  p.tty_nr = s.tty_nr;
  p.comm = s.comm;
  p.exe = s.exe;
  p.args = s.args;
  p.cgroup_id = s.cgroup_id;
  p.mnt_ns = s.mnt_ns;
  p.euid = s.euid;
  p.cap_effective = s.cap_effective;
  p.seen_ns = now;
  p.from_proc = true;
  auto parent = processes_.find(s.ppid);
  if (parent != processes_.end()) p.parent_start_ns = parent->second.start_ns;
  return p;
}

std::vector<ProcessInfo> ProcessTable::seed(WallNs now) {
  std::vector<ProcSnapshot> snaps;
  for (uint32_t pid : proc_.pids())
    if (auto s = proc_.read(pid)) snaps.push_back(std::move(*s));
  // Parents first is not guaranteed by pid order: insert all, then link parent start times.
  for (const auto &s : snaps) {
    auto it = processes_.find(s.tgid);
    if (it != processes_.end() && !it->second.from_proc) continue;  // the kernel already told us more
    processes_[s.tgid] = from_snapshot(s, now);
  }
  std::vector<ProcessInfo> out;
  for (auto &[tgid, p] : processes_) {
    auto parent = processes_.find(p.ppid);
    if (parent != processes_.end()) p.parent_start_ns = parent->second.start_ns;
    out.push_back(p);
  }
  return out;
}

bool ProcessTable::same_process(const ProcessInfo &p, uint64_t start_ns) {
  if (start_ns == 0 || p.start_ns == 0) return true;  // classic-tracepoint forks carry no start time
  if (p.from_proc) return start_ns + kCoarseStartSlackNs >= p.start_ns && start_ns <= p.start_ns + kCoarseStartSlackNs;
  return p.start_ns == start_ns;
}

ProcessInfo *ProcessTable::lookup(uint32_t tgid, uint64_t start_ns, WallNs now) {
  auto it = processes_.find(tgid);
  if (it != processes_.end() && same_process(it->second, start_ns)) return &it->second;
  // Unknown, or the pid was reused: ask /proc.
  if (auto s = proc_.read(tgid); s && (start_ns == 0 || s->start_ns + kCoarseStartSlackNs >= start_ns)) {
    ProcessInfo p = from_snapshot(*s, now);
    return &(processes_[tgid] = std::move(p));
  }
  return nullptr;
}

const ProcessInfo *ProcessTable::apply(Event &ev) {
  const ProcessRef &ref = ev.process;
  switch (ev.kind) {
    case EventKind::Exec: {
      auto &d = std::get<ExecDetails>(ev.details);
      ProcessInfo &p = processes_[ref.tgid];
      if (p.tgid != ref.tgid || !same_process(p, ref.start_ns)) p = ProcessInfo{};
      p.tgid = ref.tgid;
      p.ppid = ref.ppid;
      p.start_ns = ref.start_ns;
      p.parent_start_ns = d.parent_start_ns;
      p.uid = ref.uid;
      p.gid = ref.gid;
      p.tty_nr = d.tty_nr;
      p.comm = ref.comm;
      p.exe = ref.exe;
      p.args = d.args;
      p.cgroup_id = ref.cgroup_id;
      p.mnt_ns = ref.mnt_ns;
      p.euid = d.euid;
      p.cap_effective = d.cap_effective;
      p.env_credentials.reset();  // a new program, a new environment (the env family reports it)
      p.seen_ns = ev.time_ns;
      p.from_proc = false;
      p.exit_ns.reset();
      p.exit_status.reset();
      return &p;
    }
    case EventKind::Fork: {
      auto &d = std::get<ForkDetails>(ev.details);
      const ProcessInfo *parent = lookup(ref.tgid, ref.start_ns, ev.time_ns);
      ProcessInfo child;
      if (parent) {
        child = *parent;
        ev.process.exe = parent->exe;
      } else {
        child.comm = ref.comm;
        child.uid = ref.uid;
        child.gid = ref.gid;
        child.cgroup_id = ref.cgroup_id;
      }
      child.tgid = d.child_tgid;
      child.ppid = ref.tgid;
      child.start_ns = d.child_start_ns;
      child.parent_start_ns = ref.start_ns;
      child.seen_ns = ev.time_ns;
      child.from_proc = false;
      child.exit_ns.reset();
      child.exit_status.reset();
      return &(processes_[d.child_tgid] = std::move(child));
    }
    case EventKind::Exit: {
      ProcessInfo *p = lookup(ref.tgid, ref.start_ns, ev.time_ns);
      if (!p) return nullptr;
      ev.process.exe = p->exe;
      p->exit_ns = ev.time_ns;
      p->exit_status = std::get<ExitDetails>(ev.details).status;
      return p;
    }
    case EventKind::Privilege: {
      auto &d = std::get<PrivilegeDetails>(ev.details);
      ProcessInfo *p = lookup(ref.tgid, ref.start_ns, ev.time_ns);
      if (!p) return nullptr;
      ev.process.exe = p->exe;
      d.previous_euid = p->euid;
      d.previous_cap_effective = p->cap_effective;
      p->uid = d.uid;
      p->gid = d.gid;
      p->euid = d.euid;
      p->cap_effective = d.cap_effective;
      return p;
    }
    default: {
      if (ProcessInfo *p = lookup(ref.tgid, ref.start_ns, ev.time_ns)) ev.process.exe = p->exe;
      return nullptr;
    }
  }
}

ProcessInfo *ProcessTable::find_mutable(uint32_t tgid) {
  auto it = processes_.find(tgid);
  return it == processes_.end() ? nullptr : &it->second;
}

const ProcessInfo *ProcessTable::find(uint32_t tgid) const {
  auto it = processes_.find(tgid);
  return it == processes_.end() ? nullptr : &it->second;
}

std::vector<const ProcessInfo *> ProcessTable::ancestry(uint32_t tgid, size_t max_depth) const {
  std::vector<const ProcessInfo *> chain;
  const ProcessInfo *p = find(tgid);
  while (p && chain.size() < max_depth) {
    chain.push_back(p);
    if (p->ppid == 0 || p->ppid == p->tgid) break;
    const ProcessInfo *parent = find(p->ppid);
    if (parent && !same_process(*parent, p->parent_start_ns)) break;  // the parent's pid was reused
    p = parent;
  }
  return chain;
}

size_t ProcessTable::live_in_cgroup(uint64_t cgroup_id) const {
  size_t live = 0;
  for (const auto &[tgid, p] : processes_)
    if (p.cgroup_id == cgroup_id && !p.exit_ns) ++live;
  return live;
}

void ProcessTable::expire(WallNs now) {
  std::erase_if(processes_, [&](const auto &kv) {
    return kv.second.exit_ns && *kv.second.exit_ns + exit_grace_ns_ < now;
  });
}

std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

std::string absolute_open_path(ProcSource &proc, uint32_t tgid, const FileOpenDetails &open) {
  if (!open.requested.empty() && open.requested[0] == '/') return normalize_path(open.requested);
  std::string base = open.dirfd == kAtFdCwd ? proc.cwd(tgid) : proc.fd_path(tgid, open.dirfd);
  if (!base.empty() && base[0] == '/') return normalize_path(base + "/" + open.requested);
  if (!open.resolved.empty()) return open.resolved;
  return open.requested;
}

}  // namespace credwatch
