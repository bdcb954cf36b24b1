// The creds family (bpf/creds.bpf.c): successful set*id and capset calls.
#include <bpf/libbpf.h>

#include "creds.skel.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

class CredsProbes : public ProbeFamily {
 public:
  CredsProbes(creds_bpf *skel, const SensorOptions &options) : ProbeFamily("creds", skel->obj), skel_(skel) {
    skel_->rodata->cw_agent_tgid = options.agent_tgid;
    for (const char *name : {"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "capset"}) {
      std::string tp = std::string("sys_exit_") + name;
      if (!KernelFeatures::tracepoint_exists("syscalls", tp))
        skip_program(("cw_exit_" + std::string(name)).c_str(), "tracepoint syscalls/" + tp + " does not exist");
    }
  }
  ~CredsProbes() override {
    detach_all();
    creds_bpf__destroy(skel_);
  }

 private:
  creds_bpf *skel_;
};

}  // namespace

std::unique_ptr<ProbeFamily> open_creds_probes(const SensorOptions &options) {
  creds_bpf *skel = creds_bpf__open();
  if (!skel) throw SensorError("opening the creds BPF object", -errno);
  return std::make_unique<CredsProbes>(skel, options);
}

}  // namespace credwatch
