// Event <-> row <-> JSON. The details objects here are the documented per-kind schema.
#include "store/event_codec.h"

#include <algorithm>
#include <cstdio>

#include "common/json_text.h"
#include "common/time.h"

namespace credwatch {

namespace {

using nlohmann::json;

std::string hex64(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct DetailsVisitor {
  EventColumns &cols;

  void operator()(const ExecDetails &d) const {
    json j = {{"filename", d.filename},
              {"args", d.args},
              {"args_truncated", d.args_truncated},
              {"euid", d.euid},
              {"egid", d.egid},
              {"cap_effective", hex64(d.cap_effective)},
              {"tty", d.tty_nr != 0},
              {"parent_start_ns", d.parent_start_ns}};
    cols.details = json_text(j);
  }
  void operator()(const ForkDetails &d) const {
    cols.details = json_text(json{{"child_pid", d.child_tgid}, {"child_start_ns", d.child_start_ns}});
  }
  void operator()(const ExitDetails &d) const {
    json j = {{"status", d.status}};
    j["exit_code"] = d.exit_code() ? json(*d.exit_code()) : json(nullptr);
    j["signal"] = d.signal() ? json(*d.signal()) : json(nullptr);
    cols.details = json_text(j);
  }
  void operator()(const FileOpenDetails &d) const {
    cols.path = d.path;
    cols.result = d.result;
    if (!d.catalog_entry.empty()) cols.catalog = d.catalog_entry;
    json j = {{"requested", d.requested},
              {"resolved", d.resolved},
              {"file", d.file},
              {"syscall", d.syscall},
              {"flags", d.flags},
              {"access", d.access()},
              {"mode", d.mode},
              {"dirfd", d.dirfd},
              {"dev", d.dev},
              {"ino", d.ino},
              {"match", to_string(d.match)},
              {"credential_kind", d.credential_kind}};
    cols.details = json_text(j);
  }
  void operator()(const ConnectDetails &d) const {
    cols.dest = d.destination();
    cols.result = d.result;
    json j = {{"family", d.family_name()}, {"type", d.type_name()}, {"address", d.address}, {"port", d.port},
              {"fd", d.fd}};
    cols.details = json_text(j);
  }
  void operator()(const EnvExecDetails &d) const {
    cols.details = json_text(json{{"name", d.name},
             {"credential_kind", d.credential_kind},
             {"block_truncated", d.block_truncated},
             {"at_start", d.at_start}});
  }
  void operator()(const EnvReadDetails &d) const {
    cols.details = json_text(json{{"name", d.name}, {"function", d.function}});
  }
  void operator()(const ProcSnoopDetails &d) const {
    cols.result = d.result;
    if (d.method == "environ" || d.method == "mem" || d.method == "maps")
      cols.path = "/proc/" + std::to_string(d.target_pid) + "/" + d.method;
    json j = {{"target_pid", d.target_pid},   {"target_tgid", d.target_tgid},     {"target_comm", d.target_comm},
              {"target_identity", d.target_identity}, {"method", d.method}, {"request", d.request},
              {"request_name", d.request_name}};
    cols.details = json_text(j);
  }
  void operator()(const PrivilegeDetails &d) const {
    cols.result = d.result;
    json j = {{"syscall", d.syscall}, {"uid", d.uid},   {"euid", d.euid}, {"suid", d.suid},
              {"gid", d.gid},         {"egid", d.egid}, {"sgid", d.sgid}, {"cap_effective", hex64(d.cap_effective)},
              {"cap_permitted", hex64(d.cap_permitted)}, {"args", d.args}};
    j["previous_euid"] = d.previous_euid ? json(*d.previous_euid) : json(nullptr);
    j["previous_cap_effective"] = d.previous_cap_effective ? json(hex64(*d.previous_cap_effective)) : json(nullptr);
    cols.details = json_text(j);
  }
  void operator()(const LostDetails &d) const {
    cols.details = json_text(json{{"source", d.source},
                        {"count", d.count},
                        {"reason", d.reason},
                        {"window_start", format_rfc3339(d.window_start_ns)},
                        {"window_start_ns", d.window_start_ns}});
  }
};

}  // namespace

EventColumns event_columns(const Event &ev) {
  EventColumns cols;
  std::visit(DetailsVisitor{cols}, ev.details);
  if (ev.kind == EventKind::Exec) cols.path = ev.process.exe;
  return cols;
}

EventRow::EventRow(const Event &ev)
    : id(ev.id),
      time_ns(ev.time_ns),
      kind(ev.kind),
      pid(ev.process.pid),
      tgid(ev.process.tgid),
      ppid(ev.process.ppid),
      uid(ev.process.uid),
      gid(ev.process.gid),
      start_ns(ev.process.start_ns),
      cgroup_id(ev.process.cgroup_id) {
  EventColumns cols = event_columns(ev);
  result = cols.result;
  const std::optional<std::string> *optional[] = {&cols.path, &cols.dest, &cols.catalog};
  std::string_view texts[kTexts] = {ev.process.comm, ev.process.exe, ev.identity, ev.credential, cols.details};
  for (int t = kPath; t < kTexts; ++t) {
    if (const auto &v = *optional[t - kPath]) {
      texts[t] = *v;
      present_ |= 1u << t;
    }
  }
  size_t total = 0;
  for (auto t : texts) total += t.size();
  texts_ = std::make_unique_for_overwrite<char[]>(total);
  uint32_t end = 0;
  for (int t = 0; t < kTexts; ++t) {
    std::copy(texts[t].begin(), texts[t].end(), texts_.get() + end);
    end += static_cast<uint32_t>(texts[t].size());
    ends_[t] = end;
  }
}

nlohmann::json event_to_json(const StoredEvent &ev) {
  json j;
  j["id"] = ev.id;
  j["time"] = format_rfc3339(ev.time_ns);
  j["time_ns"] = ev.time_ns;
  j["kind"] = ev.kind;
  j["identity"] = ev.identity.empty() ? json(nullptr) : json(ev.identity);
  j["identity_attributes"] = ev.identity_attributes;
  j["process"] = {{"pid", ev.process.tgid},     {"tid", ev.process.pid},           {"ppid", ev.process.ppid},
                  {"uid", ev.process.uid},      {"gid", ev.process.gid},           {"comm", ev.process.comm},
                  {"exe", ev.process.exe},      {"start_ns", ev.process.start_ns}, {"cgroup_id", ev.process.cgroup_id}};
  j["path"] = ev.path ? json(*ev.path) : json(nullptr);
  j["dest"] = ev.dest ? json(*ev.dest) : json(nullptr);
  j["result"] = ev.result ? json(*ev.result) : json(nullptr);
  j["error"] = ev.result && *ev.result < 0 ? json(errno_name(*ev.result)) : json(nullptr);
  j["catalog"] = ev.catalog ? json(*ev.catalog) : json(nullptr);
  j["credential"] = ev.credential ? json(*ev.credential) : json(nullptr);
  j["details"] = ev.details;
  j["repeats"] = ev.repeats;
  j["last_time"] = ev.last_time_ns ? json(format_rfc3339(*ev.last_time_ns)) : json(nullptr);
  j["last_time_ns"] = ev.last_time_ns ? json(*ev.last_time_ns) : json(nullptr);
  return j;
}

}  // namespace credwatch
