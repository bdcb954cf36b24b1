// The lifecycle shared by every probe family: map sharing, load, attach, with errors that say what failed.
#include "sensor/probe_family.h"

#include <cerrno>

#include <bpf/libbpf.h>

#include "common/log.h"
#include "sensor/sensor_error.h"

namespace credwatch {

void ProbeFamily::LinkDeleter::operator()(bpf_link *link) const { bpf_link__destroy(link); }

ProbeFamily::ProbeFamily(std::string name, bpf_object *obj) : name_(std::move(name)), obj_(obj) {
  bpf_program *prog;
  bpf_object__for_each_program(prog, obj_) {
    programs_.push_back({name_, bpf_program__name(prog), bpf_program__section_name(prog), false, ""});
  }
}

ProbeFamily::~ProbeFamily() = default;

void ProbeFamily::detach_all() {
  uprobe_links_.clear();
  links_.clear();
}

void ProbeFamily::mark_manual_attach(const char *program, const std::string &why) {
  manual_.push_back(program);
  for (auto &p : programs_)
    if (p.program == program) p.reason = why;
}

std::string ProbeFamily::attach_uprobe(const char *program, const std::string &binary, const std::string &function) {
  bpf_program *prog = bpf_object__find_program_by_name(obj_, program);
  if (!prog) return "no BPF program named " + std::string(program);
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = false, .func_name = function.c_str());
  bpf_link *link = bpf_program__attach_uprobe_opts(prog, -1, binary.c_str(), 0, &opts);
  if (!link) return SensorError("attaching " + std::string(program) + " to " + binary + ":" + function, -errno).what();
  uprobe_links_.emplace_back(binary, std::unique_ptr<bpf_link, LinkDeleter>(link));
  for (auto &p : programs_)
    if (p.program == program) {
      p.attached = true;
      p.reason.clear();
    }
  return "";
}

void ProbeFamily::detach_uprobes(const std::string &binary) {
  std::erase_if(uprobe_links_, [&](const auto &l) { return l.first == binary; });
}

void ProbeFamily::skip_program(const char *program, const std::string &reason) {
  bpf_program *prog = bpf_object__find_program_by_name(obj_, program);
  if (!prog) throw SensorError(name_ + ": no BPF program named " + program);
  bpf_program__set_autoload(prog, false);
  for (auto &p : programs_)
    if (p.program == program) p.reason = reason;
}

void ProbeFamily::share_maps_from(const ProbeFamily &owner) {
  bpf_map *map;
  bpf_object__for_each_map(map, obj_) {
    if (bpf_map__is_internal(map)) continue;  // .rodata/.bss stay per object
    int fd = owner.map_fd(bpf_map__name(map));
    if (fd < 0) continue;
    int err = bpf_map__reuse_fd(map, fd);
    if (err) throw SensorError(name_ + ": sharing map " + bpf_map__name(map) + " from " + owner.name(), err);
  }
}

void ProbeFamily::resize_map(const char *map_name, uint32_t max_entries) {
  bpf_map *map = bpf_object__find_map_by_name(obj_, map_name);
  if (!map) throw SensorError(name_ + ": no map named " + map_name);
  int err = bpf_map__set_max_entries(map, max_entries);
  if (err) throw SensorError(name_ + ": sizing map " + map_name + " to " + std::to_string(max_entries), err);
}

void ProbeFamily::load() {
  int err = bpf_object__load(obj_);
  if (err) throw SensorError("loading the " + name_ + " BPF programs", err);
}

void ProbeFamily::attach() {
  auto log = component_logger("sensor");
  bpf_program *prog;
  bpf_object__for_each_program(prog, obj_) {
    auto status = std::find_if(programs_.begin(), programs_.end(),
                               [&](const ProgramStatus &p) { return p.program == bpf_program__name(prog); });
    if (!bpf_program__autoload(prog)) {
      if (status->reason.empty()) status->reason = "not selected for this kernel";
      continue;
    }
    if (std::find(manual_.begin(), manual_.end(), status->program) != manual_.end()) continue;
    bpf_link *link = bpf_program__attach(prog);
    if (!link) {
      int err = -errno;
      status->reason = SensorError("attach", err).what();
      log->warn("{}: cannot attach {} ({}): {}", name_, status->program, status->hook, status->reason);
      continue;
    }
    links_.emplace_back(link);
    status->attached = true;
    status->reason.clear();
  }
}

size_t ProbeFamily::attached_count() const {
  return static_cast<size_t>(
      std::count_if(programs_.begin(), programs_.end(), [](const ProgramStatus &p) { return p.attached; }));
}

int ProbeFamily::map_fd(const char *map_name) const {
  bpf_map *map = bpf_object__find_map_by_name(obj_, map_name);
  return map ? bpf_map__fd(map) : -1;
}

}  // namespace credwatch
