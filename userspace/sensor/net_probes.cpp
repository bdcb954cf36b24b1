// The net family (bpf/net.bpf.c): outbound connect() for IPv4, IPv6 and Unix sockets.
#include <bpf/libbpf.h>

#include "net.skel.h"
#include "sensor/kernel_features.h"
#include "sensor/probe_family.h"
#include "sensor/sensor_error.h"

namespace credwatch {

namespace {

class NetProbes : public ProbeFamily {
 public:
  NetProbes(net_bpf *skel, const SensorOptions &options) : ProbeFamily("net", skel->obj), skel_(skel) {
    skel_->rodata->cw_agent_tgid = options.agent_tgid;
    skel_->rodata->cw_repeat_window_ns = options.repeat_window_ns;
    if (!KernelFeatures::tracepoint_exists("syscalls", "sys_exit_connect"))
      skip_program("cw_exit_connect", "tracepoint syscalls/sys_exit_connect does not exist on this kernel");
  }
  ~NetProbes() override {
    detach_all();
    net_bpf__destroy(skel_);
  }

 private:
  net_bpf *skel_;
};

}  // namespace

std::unique_ptr<ProbeFamily> open_net_probes(const SensorOptions &options) {
  net_bpf *skel = net_bpf__open();
  if (!skel) throw SensorError("opening the net BPF object", -errno);
  return std::make_unique<NetProbes>(skel, options);
}

}  // namespace credwatch
