// The process family (bpf/process.bpf.c): exec, fork and exit, on BTF tracepoints or classic ones.
#include <array>

#include <bpf/libbpf.h>

#include "process.skel.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

class ProcessProbes : public ProbeFamily {
 public:
  ProcessProbes(process_bpf *skel, const SensorOptions &options, bool btf)
      : ProbeFamily("process", skel->obj), skel_(skel) {
    skel_->rodata->cw_agent_tgid = options.agent_tgid;
    static constexpr std::array<const char *, 3> btf_progs = {"cw_exec_btf", "cw_fork_btf", "cw_exit_btf"};
    static constexpr std::array<const char *, 3> tp_progs = {"cw_exec_tp", "cw_fork_tp", "cw_exit_tp"};
    for (const char *p : btf ? tp_progs : btf_progs)
      skip_program(p, btf ? "BTF tracepoint used instead" : "BTF tracepoints unavailable; classic tracepoint used");
  }
  ~ProcessProbes() override {
    detach_all();
    process_bpf__destroy(skel_);
  }

 private:
  process_bpf *skel_;
};

}  // namespace

std::unique_ptr<ProbeFamily> open_process_probes(const SensorOptions &options, bool prefer_btf) {
  process_bpf *skel = process_bpf__open();
  if (!skel) throw SensorError("opening the process BPF object", -errno);
  return std::make_unique<ProcessProbes>(skel, options, prefer_btf);
}

}  // namespace credwatch
