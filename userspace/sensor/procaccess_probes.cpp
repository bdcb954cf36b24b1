// The procaccess family (bpf/procaccess.bpf.c): ptrace and process_vm_readv/writev against other processes.
#include <bpf/libbpf.h>

#include "procaccess.skel.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

class ProcAccessProbes : public ProbeFamily {
 public:
  ProcAccessProbes(procaccess_bpf *skel, const SensorOptions &options)
      : ProbeFamily("procaccess", skel->obj), skel_(skel) {
    skel_->rodata->cw_agent_tgid = options.agent_tgid;
    const std::pair<const char *, const char *> hooks[] = {{"cw_exit_ptrace", "sys_exit_ptrace"},
                                                           {"cw_exit_vm_readv", "sys_exit_process_vm_readv"},
                                                           {"cw_exit_vm_writev", "sys_exit_process_vm_writev"}};
    for (const auto &[prog, tp] : hooks)
      if (!KernelFeatures::tracepoint_exists("syscalls", tp))
        skip_program(prog, std::string("tracepoint syscalls/") + tp + " does not exist on this kernel");
  }
  ~ProcAccessProbes() override {
    detach_all();
    procaccess_bpf__destroy(skel_);
  }

 private:
  procaccess_bpf *skel_;
};

}  // namespace

std::unique_ptr<ProbeFamily> open_procaccess_probes(const SensorOptions &options) {
  procaccess_bpf *skel = procaccess_bpf__open();
  if (!skel) throw SensorError("opening the procaccess BPF object", -errno);
  return std::make_unique<ProcAccessProbes>(skel, options);
}

}  // namespace credwatch
