// The files family (bpf/files.bpf.c): secret-file opens on the open, openat, openat2 and creat exits.
#include <bpf/libbpf.h>

#include "files.skel.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

class FileProbes : public ProbeFamily {
 public:
  FileProbes(files_bpf *skel, const SensorOptions &options) : ProbeFamily("files", skel->obj), skel_(skel) {
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
    files_bpf__destroy(skel_);
  }

 private:
  files_bpf *skel_;
};

}  // namespace

std::unique_ptr<ProbeFamily> open_file_probes(const SensorOptions &options) {
  files_bpf *skel = files_bpf__open();
  if (!skel) throw SensorError("opening the files BPF object", -errno);
  return std::make_unique<FileProbes>(skel, options);
}

}  // namespace credwatch
