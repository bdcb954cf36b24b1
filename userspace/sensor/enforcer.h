// In-kernel enforcement: deny a workload's connects (cgroup/connect4 and connect6 at the cgroup v2 root) and kill
// a process at its next system call (bpf_send_signal from a sys_enter tracepoint attached only while needed).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct enforce_bpf;
struct bpf_link;

namespace credwatch {

class Enforcer {
 public:
  // Loads the programs; attaches nothing until the first block or kill. Throws SensorError when the kernel refuses.
  explicit Enforcer(std::string cgroup2_root);
  ~Enforcer();
  Enforcer(const Enforcer &) = delete;
  Enforcer &operator=(const Enforcer &) = delete;

  // Every connect() from the cgroup fails with EPERM from now on. Returns "" or why it could not.
  std::string block_cgroup(uint64_t cgroup_id);
  void unblock_cgroup(uint64_t cgroup_id);
  std::vector<uint64_t> blocked_cgroups() const;

  // The process gets SIGKILL at its next system call. Returns "" or why it could not.
  std::string kill_process(uint32_t tgid);
  bool kill_pending(uint32_t tgid) const;
  // Detaches the per-syscall program once no kill is pending (it costs every system call while attached).
  void idle();

 private:
  std::string attach_cgroup_programs();
  std::string cgroup_root_;
  enforce_bpf *skel_ = nullptr;
  int root_fd_ = -1;
  bpf_link *connect4_ = nullptr;
  bpf_link *connect6_ = nullptr;
  bpf_link *sys_enter_ = nullptr;
};

}  // namespace credwatch
