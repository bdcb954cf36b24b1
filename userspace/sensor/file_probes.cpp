// The files family (bpf/files.bpf.c): secret-file opens on the open, openat, openat2 and creat exits. Two builds of
// the same programs: files_btf walks the opened file with plain loads (bpf_rdonly_cast, Linux 6.2+), files with a
// helper call per field, for older kernels.
#include <bpf/libbpf.h>

#include "common/log.h"
#include "files.skel.h"
#include "files_btf.skel.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

template <typename Skeleton, void (*Destroy)(Skeleton *)>
class FileProbes : public ProbeFamily {
 public:
  FileProbes(Skeleton *skel, const SensorOptions &options) : ProbeFamily("files", skel->obj), skel_(skel) {
    skel_->rodata->cw_agent_tgid = options.agent_tgid;
    skel_->rodata->cw_repeat_window_ns = options.repeat_window_ns;
    // open and creat do not exist on every architecture (arm64 has only openat/openat2).
    const std::pair<const char *, const char *> hooks[] = {{"cw_exit_open", "sys_exit_open"},
                                                           {"cw_exit_openat", "sys_exit_openat"},
                                                           {"cw_exit_openat2", "sys_exit_openat2"},
                                                           {"cw_exit_creat", "sys_exit_creat"}};
    for (const auto &[prog, tp] : hooks)
      if (!KernelFeatures::tracepoint_exists("syscalls", tp))
        skip_program(prog, std::string("tracepoint syscalls/") + tp + " does not exist on this kernel");
  }
  ~FileProbes() override {
    detach_all();
    Destroy(skel_);
  }

 private:
  Skeleton *skel_;
};

}  // namespace

bool file_probes_walk_btf(const SensorOptions &options) {
  return options.file_btf_walk && KernelFeatures::btf_has_func("bpf_rdonly_cast");
}

std::unique_ptr<ProbeFamily> open_file_probes(const SensorOptions &options) {
  if (file_probes_walk_btf(options)) {
    files_btf_bpf *skel = files_btf_bpf__open();
    if (!skel) throw SensorError("opening the files BPF object (BTF walk)", -errno);
    component_logger("sensor")->debug("files: walking opened files with plain loads (bpf_rdonly_cast)");
    return std::make_unique<FileProbes<files_btf_bpf, files_btf_bpf__destroy>>(skel, options);
  }
  files_bpf *skel = files_bpf__open();
  if (!skel) throw SensorError("opening the files BPF object", -errno);
  return std::make_unique<FileProbes<files_bpf, files_bpf__destroy>>(skel, options);
}

}  // namespace credwatch
