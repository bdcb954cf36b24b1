// The env family (bpf/env.bpf.c): environment blocks at exec, and getenv uprobes attached per libc file.
#include <bpf/libbpf.h>

#include "env.skel.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

class EnvProbes : public ProbeFamily {
 public:
  EnvProbes(env_bpf *skel, const SensorOptions &options) : ProbeFamily("env", skel->obj), skel_(skel) {
    skel_->rodata->cw_agent_tgid = options.agent_tgid;
    skel_->rodata->cw_repeat_window_ns = options.repeat_window_ns;  // its getenv records are secret reads
    skel_->rodata->cw_env_max_chunks = options.env_exec ? options.env_max_chunks : 0;
    if (!options.env_exec) skip_program("cw_env_exec", "environment at exec disabled by configuration");
    // The uprobes load always (cheap) and attach per libc file when env reads are in scope.
    mark_manual_attach("cw_getenv", "attached per libc file (env_reads scope)");
    mark_manual_attach("cw_secure_getenv", "attached per libc file (env_reads scope)");
  }
  ~EnvProbes() override {
    detach_all();
    env_bpf__destroy(skel_);
  }

 private:
  env_bpf *skel_;
};

}  // namespace

std::unique_ptr<ProbeFamily> open_env_probes(const SensorOptions &options) {
  env_bpf *skel = env_bpf__open();
  if (!skel) throw SensorError("opening the env BPF object", -errno);
  return std::make_unique<EnvProbes>(skel, options);
}

}  // namespace credwatch
