// One BPF object (probe family) through its four visible steps: open -> configure -> load -> attach.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_map;
struct bpf_link;

namespace credwatch {

struct ProgramStatus {
  std::string family;   // "process", "files", "net"
  std::string program;  // BPF program name
  std::string hook;     // section, e.g. "tp/syscalls/sys_exit_openat"
  bool attached = false;
  std::string reason;   // why skipped or failed
};

struct SensorOptions {
  uint32_t ring_buffer_bytes = 16u << 20;  // power of two, >= page size
  uint32_t agent_tgid = 0;                 // not reported (the agent reads secrets to fingerprint them)
  bool process = true;
  bool files = true;
  bool net = true;
  bool env_exec = true;          // environment blocks at exec
  uint32_t env_max_chunks = 8;   // of CW_ENV_CHUNK_LEN bytes each
  bool proc_access = true;       // ptrace, process_vm_readv/writev (procfs opens come with files)
  bool creds = true;             // set*id, capset
  // Identical read-only opens of a known secret, and identical IPv4/IPv6 connects, by one process within this
  // window are counted in the kernel instead of each sending a record (BpfSensor::take_repeats); 0 sends every one.
  uint64_t repeat_window_ns = 0;
  // Walk opened files with plain loads where the kernel has bpf_rdonly_cast (6.2+); false keeps the helper-call
  // build everywhere (tests of the older kernels' path).
  bool file_btf_walk = true;
};

class ProbeFamily {
 public:
  virtual ~ProbeFamily();
  ProbeFamily(const ProbeFamily &) = delete;
  ProbeFamily &operator=(const ProbeFamily &) = delete;

  const std::string &name() const { return name_; }

  // Uses the owner's maps instead of creating this object's own (before load).
  void share_maps_from(const ProbeFamily &owner);
  // Sets a map's size (before load).
  void resize_map(const char *map_name, uint32_t max_entries);
  // Loads into the kernel; throws SensorError with libbpf's errno.
  void load();
  // Attaches every loaded program; a program that fails is recorded, not fatal.
  void attach();
  // How many programs attached.
  size_t attached_count() const;
  // Programs loaded to be attached later, on demand (uprobes).
  size_t manual_count() const { return manual_.size(); }

  const std::vector<ProgramStatus> &programs() const { return programs_; }
  int map_fd(const char *map_name) const;

  // Attaches a uprobe program to a function of an ELF file (by symbol), for every process that maps it.
  // Returns an empty string on success, else why not. Safe to call again for another file.
  std::string attach_uprobe(const char *program, const std::string &binary, const std::string &function);
  // Detaches every uprobe attached to that file.
  void detach_uprobes(const std::string &binary);

 protected:
  ProbeFamily(std::string name, bpf_object *obj);
  // Keeps a program from loading because the kernel lacks its hook (before load).
  void skip_program(const char *program, const std::string &reason);
  // Loads a program that attach() must leave alone because it is attached on demand.
  void mark_manual_attach(const char *program, const std::string &why);
  // Detaches every link; subclasses call it before destroying their skeleton.
  void detach_all();

 private:
  struct LinkDeleter {
    void operator()(bpf_link *link) const;
  };
  std::string name_;
  bpf_object *obj_;  // owned by the subclass's skeleton
  std::vector<ProgramStatus> programs_;
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::vector<std::pair<std::string, std::unique_ptr<bpf_link, LinkDeleter>>> uprobe_links_;  // by binary
  std::vector<std::string> manual_;
};

// Family factories (process_probes.cpp, file_probes.cpp, net_probes.cpp): open and configure; the caller
// shares maps, loads and attaches. prefer_btf picks BTF tracepoints over classic ones where a family has both.
std::unique_ptr<ProbeFamily> open_process_probes(const SensorOptions &options, bool prefer_btf);
std::unique_ptr<ProbeFamily> open_file_probes(const SensorOptions &options);
// Whether open_file_probes loads the build that walks opened files with plain loads.
bool file_probes_walk_btf(const SensorOptions &options);
std::unique_ptr<ProbeFamily> open_net_probes(const SensorOptions &options);
std::unique_ptr<ProbeFamily> open_env_probes(const SensorOptions &options);
std::unique_ptr<ProbeFamily> open_procaccess_probes(const SensorOptions &options);
std::unique_ptr<ProbeFamily> open_creds_probes(const SensorOptions &options);

}  // namespace credwatch
