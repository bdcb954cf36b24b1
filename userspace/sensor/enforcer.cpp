// Loading the enforcement programs and writing their maps.
#include "sensor/enforcer.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "enforce.skel.h"
#include "sensor/sensor_error.h"

namespace credwatch {

Enforcer::Enforcer(std::string cgroup2_root) : cgroup_root_(std::move(cgroup2_root)) {
  skel_ = enforce_bpf__open();
  if (!skel_) throw SensorError("opening the enforcement BPF object", -errno);
  if (int err = enforce_bpf__load(skel_)) {
    enforce_bpf__destroy(skel_);
    skel_ = nullptr;
    throw SensorError("loading the enforcement BPF programs", err);
  }
}

Enforcer::~Enforcer() {
  for (bpf_link *link : {connect4_, connect6_, sys_enter_})
    if (link) bpf_link__destroy(link);
  if (root_fd_ >= 0) ::close(root_fd_);
  if (skel_) enforce_bpf__destroy(skel_);
}

std::string Enforcer::attach_cgroup_programs() {
  if (connect4_ && connect6_) return "";
  if (cgroup_root_.empty()) return "no cgroup v2 mount: connects cannot be blocked";
  if (root_fd_ < 0) root_fd_ = ::open(cgroup_root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) return "cannot open " + cgroup_root_ + ": " + strerror(errno);
  if (!connect4_) connect4_ = bpf_program__attach_cgroup(skel_->progs.cw_block_connect4, root_fd_);
  if (!connect4_) return std::string("cgroup/connect4 attach refused: ") + strerror(errno);
  if (!connect6_) connect6_ = bpf_program__attach_cgroup(skel_->progs.cw_block_connect6, root_fd_);
  if (!connect6_) return std::string("cgroup/connect6 attach refused: ") + strerror(errno);
  return "";
}

std::string Enforcer::block_cgroup(uint64_t cgroup_id) {
  if (cgroup_id == 0) return "the workload's cgroup is unknown";
  if (auto why = attach_cgroup_programs(); !why.empty()) return why;
  uint32_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.blocked_cgroups), &cgroup_id, &one, BPF_ANY) != 0)
    return std::string("blocked_cgroups map update failed: ") + strerror(errno);
  return "";
}

void Enforcer::unblock_cgroup(uint64_t cgroup_id) {
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.blocked_cgroups), &cgroup_id);
}

std::vector<uint64_t> Enforcer::blocked_cgroups() const {
  std::vector<uint64_t> out;
  int fd = bpf_map__fd(skel_->maps.blocked_cgroups);
  uint64_t key = 0, next = 0;
  const void *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    out.push_back(next);
    key = next;
    prev = &key;
  }
  return out;
}

std::string Enforcer::kill_process(uint32_t tgid) {
  if (tgid <= 1) return "refusing to kill pid " + std::to_string(tgid);
  uint32_t sig = SIGKILL;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.kill_tgids), &tgid, &sig, BPF_ANY) != 0)
    return std::string("kill_tgids map update failed: ") + strerror(errno);
  if (!sys_enter_) sys_enter_ = bpf_program__attach(skel_->progs.cw_kill_on_syscall);
  if (!sys_enter_) {
    int err = errno;
    bpf_map_delete_elem(bpf_map__fd(skel_->maps.kill_tgids), &tgid);
    return std::string("raw_syscalls/sys_enter attach refused: ") + strerror(err);
  }
  return "";
}

bool Enforcer::kill_pending(uint32_t tgid) const {
  uint32_t sig = 0;
  return bpf_map_lookup_elem(bpf_map__fd(skel_->maps.kill_tgids), &tgid, &sig) == 0;
}

void Enforcer::idle() {
  if (!sys_enter_) return;
  int fd = bpf_map__fd(skel_->maps.kill_tgids);
  uint32_t key = 0;
  // A pending kill whose process is gone will never be taken: drop it.
  while (bpf_map_get_next_key(fd, nullptr, &key) == 0) {
    if (::kill(static_cast<pid_t>(key), 0) == 0 || errno != ESRCH) return;
    bpf_map_delete_elem(fd, &key);
  }
  bpf_link__destroy(sys_enter_);
  sys_enter_ = nullptr;
}

}  // namespace credwatch
