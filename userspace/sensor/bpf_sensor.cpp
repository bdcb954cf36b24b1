// Sensor start-up (probe, open, configure, load, attach per family) and the ring-buffer read loop.
#include "sensor/bpf_sensor.h"

#include <cerrno>
#include <cstdarg>
#include <ctime>
#include <mutex>

#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "sensor/sensor_error.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

namespace {

// libbpf's messages go to the sensor's log: warnings as warnings, the rest at debug level.
int libbpf_print(enum libbpf_print_level level, const char *format, va_list args) {
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), format, args);
  while (n > 0 && n < static_cast<int>(sizeof(buf)) && (buf[n - 1] == '\n')) buf[--n] = '\0';
  auto log = component_logger("libbpf");
  if (level == LIBBPF_WARN)
    log->warn("{}", buf);
  else
    log->debug("{}", buf);
  return 0;
}

const char *program_slot_name(uint32_t slot) {
  switch (slot) {
    case CW_PROG_EXEC: return "exec";
    case CW_PROG_FORK: return "fork";
    case CW_PROG_EXIT: return "exit";
    case CW_PROG_FILE_OPEN: return "file_open";
    case CW_PROG_CONNECT: return "connect";
    case CW_PROG_ENV_EXEC: return "env_exec";
    case CW_PROG_ENV_READ: return "env_read";
    case CW_PROG_PROC_ACCESS: return "proc_access";
    case CW_PROG_CRED_CHANGE: return "cred_change";
  }
  return nullptr;
}

}  // namespace

void BpfSensor::RingBufferDeleter::operator()(ring_buffer *rb) const { ring_buffer__free(rb); }

BpfSensor::BpfSensor(const SensorOptions &options, RecordHandler handler)
    : options_(options), handler_(std::move(handler)) {
  static std::once_flag print_once;
  std::call_once(print_once, [] { libbpf_set_print(libbpf_print); });
  auto log = component_logger("sensor");

  tracefs_ = KernelFeatures::ensure_tracefs();
  if (tracefs_.mounted_now) log->info("tracefs was not mounted; mounted it at {}", tracefs_.path);
  if (!tracefs_.available) log->warn("tracefs unavailable ({}): syscall tracepoints cannot attach", tracefs_.detail);

  auto try_family = [&](const std::string &name, auto open) {
    try {
      add_family(open());
    } catch (const SensorError &e) {
      family_status_.emplace_back(name, e.what());
      log->warn("{} probes skipped: {}", name, e.what());
    }
  };

  if (options_.process) {
    bool btf = KernelFeatures::has_vmlinux_btf() && KernelFeatures::btf_has_type("btf_trace_sched_process_exec");
    try {
      if (!btf) throw SensorError("BTF tracepoints unavailable (no btf_trace_sched_process_exec in kernel BTF)");
      add_family(open_process_probes(options_, true));
    } catch (const SensorError &e) {
      log->info("process probes on BTF tracepoints unavailable ({}); trying classic tracepoints", e.what());
      try_family("process", [&] { return open_process_probes(options_, false); });
    }
  } else {
    family_status_.emplace_back("process", "disabled by configuration");
  }
  auto syscall_family = [&](const std::string &name, auto open) {
    if (!tracefs_.available)
      family_status_.emplace_back(name, "skipped: tracefs unavailable (" + tracefs_.detail + ")");
    else
      try_family(name, open);
  };
  if (options_.files && tracefs_.available && file_probes_walk_btf(options_)) {
    // The plain-load build was verified on fewer kernels than the helper-call one: if it is refused, use the other.
    try {
      add_family(open_file_probes(options_));
    } catch (const SensorError &e) {
      log->warn("files probes walking opened files with plain loads unavailable ({}); trying the helper-call build",
                e.what());
      SensorOptions older = options_;
      older.file_btf_walk = false;
      try_family("files", [&] { return open_file_probes(older); });
    }
  } else if (options_.files)
    syscall_family("files", [&] { return open_file_probes(options_); });
  else
    family_status_.emplace_back("files", "disabled by configuration");
  if (options_.net)
    syscall_family("net", [&] { return open_net_probes(options_); });
  else
    family_status_.emplace_back("net", "disabled by configuration");
  // env needs no tracefs: its exec hook is a BTF tracepoint and getenv is a uprobe.
  try_family("env", [&] { return open_env_probes(options_); });
  if (options_.proc_access)
    syscall_family("procaccess", [&] { return open_procaccess_probes(options_); });
  else
    family_status_.emplace_back("procaccess", "disabled by configuration");
  if (options_.creds)
    syscall_family("creds", [&] { return open_creds_probes(options_); });
  else
    family_status_.emplace_back("creds", "disabled by configuration");

  if (families_.empty()) {
    std::string why;
    for (const auto &[family, status] : family_status_) why += "\n  " + family + ": " + status;
    throw SensorError("no BPF probe family could be loaded and attached:" + why);
  }

  const ProbeFamily &owner = *families_.front();
  ring_.reset(ring_buffer__new(owner.map_fd("events"), &BpfSensor::on_record, this, nullptr));
  if (!ring_) throw SensorError("creating the ring-buffer reader", -errno);
  stats_fd_ = owner.map_fd("stats");
  secret_maps_ = SecretMaps(owner.map_fd("secret_inodes"), owner.map_fd("secret_names"), owner.map_fd("not_secret"),
                            owner.map_fd("file_filter"));
  env_maps_ = EnvMaps(owner.map_fd("env_names"), owner.map_fd("env_filter"), owner.map_fd("env_read_cgroups"));
  for (auto &f : families_) {
    if (f->name() == "env") env_family_ = f.get();
    if (f->name() == "files") open_repeats_fd_ = f->map_fd("open_repeats");
    if (f->name() == "net") connect_repeats_fd_ = f->map_fd("connect_repeats");
  }
  map_ring_positions(owner.map_fd("events"));
}

void BpfSensor::map_ring_positions(int ring_fd) {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(ring_fd, &info, &len) != 0) return;  // the gauge stays at 0; nothing else needs it
  long page = sysconf(_SC_PAGESIZE);
  void *consumer = mmap(nullptr, page, PROT_READ, MAP_SHARED, ring_fd, 0);
  if (consumer == MAP_FAILED) return;
  void *producer = mmap(nullptr, page, PROT_READ, MAP_SHARED, ring_fd, page);
  if (producer == MAP_FAILED) {
    munmap(consumer, page);
    return;
  }
  consumer_pos_ = static_cast<const volatile uint64_t *>(consumer);
  producer_pos_ = static_cast<const volatile uint64_t *>(producer);
  ring_size_ = info.max_entries;
}

BpfSensor::RingFill BpfSensor::ring_fill() const {
  if (!consumer_pos_ || !producer_pos_) return {};
  uint64_t consumed = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
  uint64_t produced = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
  return {produced > consumed ? produced - consumed : 0, ring_size_};
}

BpfSensor::~BpfSensor() {
  long page = sysconf(_SC_PAGESIZE);
  if (consumer_pos_) munmap(const_cast<uint64_t *>(consumer_pos_), page);
  if (producer_pos_) munmap(const_cast<uint64_t *>(producer_pos_), page);
  ring_.reset();
  // Later families share the first one's maps: destroy them first.
  while (!families_.empty()) families_.pop_back();
}

void BpfSensor::add_family(std::unique_ptr<ProbeFamily> family) {
  if (families_.empty())
    family->resize_map("events", options_.ring_buffer_bytes);
  else
    family->share_maps_from(*families_.front());
  family->load();
  family->attach();
  if (family->attached_count() == 0 && family->manual_count() == 0)
    throw SensorError(family->name() + ": loaded, but no program attached (see the warnings above)");
  std::string status = "attached " + std::to_string(family->attached_count()) + " program(s)";
  if (family->manual_count()) status += ", " + std::to_string(family->manual_count()) + " loaded to attach on demand";
  family_status_.emplace_back(family->name(), status);
  families_.push_back(std::move(family));
}

int BpfSensor::on_record(void *ctx, void *data, size_t size) {
  auto *self = static_cast<BpfSensor *>(ctx);
  // An exception must not unwind through libbpf's C frames: log it and keep reading.
  try {
    self->handler_(std::span<const uint8_t>(static_cast<const uint8_t *>(data), size));
  } catch (const std::exception &e) {
    ++self->handler_errors_;
    component_logger("sensor")->error("record handler failed: {}", e.what());
  }
  return 0;
}

int BpfSensor::poll(int timeout_ms) {
  int n = ring_buffer__poll(ring_.get(), timeout_ms);
  if (n == -EINTR) n = 0;
  if (n < 0) return n;
  // The kernel wakes this thread only once enough is waiting (cw_submit): take what arrived without a wake-up.
  int more = ring_buffer__consume(ring_.get());
  return more < 0 ? more : n + more;
}

namespace {

// Takes the windows of one repeat map that closed before now (every one when all) and deletes them.
template <typename Key>
void take_windows(int fd, RepeatCount::Of of, uint64_t window_ns, uint64_t now, bool all, std::vector<RepeatCount> &out) {
  if (fd < 0) return;
  // A program may still count into a window after it closed: its time is the tick's (bpf/lib/repeats.h), which
  // lags by a tick, more when the timer interrupt that advances the tick count is late (a stalled vCPU). A closed
  // window is taken only this long after its end, when nothing touches it any more.
  constexpr uint64_t kSettle = 250'000'000;
  std::vector<Key> closed;
  Key key{}, next{};
  const void *prev = nullptr;  // NULL asks for the first key
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    if (all || (next.owner.window + 1) * window_ns + kSettle <= now) closed.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto &k : closed) {
    cw_repeat_value v{};
    if (bpf_map_lookup_elem(fd, &k, &v) != 0) continue;
    bpf_map_delete_elem(fd, &k);
    out.push_back(RepeatCount{of, k.owner.tgid, v.first_ns, v.last_ns, v.count});
  }
}

}  // namespace

std::vector<RepeatCount> BpfSensor::take_repeats(bool all) {
  std::vector<RepeatCount> out;
  uint64_t window = options_.repeat_window_ns;
  if (window == 0) return out;
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
  take_windows<cw_open_repeat_key>(open_repeats_fd_, RepeatCount::Of::FileOpen, window, now, all, out);
  take_windows<cw_connect_repeat_key>(connect_repeats_fd_, RepeatCount::Of::Connect, window, now, all, out);
  return out;
}

std::vector<ProgramCounters> BpfSensor::counters() const {
  std::vector<ProgramCounters> out;
  int ncpus = libbpf_num_possible_cpus();
  if (stats_fd_ < 0 || ncpus <= 0) return out;
  std::vector<cw_prog_stats> values(static_cast<size_t>(ncpus));
  for (uint32_t slot = 0; slot < CW_PROG_MAX; ++slot) {
    const char *name = program_slot_name(slot);
    if (!name) continue;
    if (bpf_map_lookup_elem(stats_fd_, &slot, values.data()) != 0) continue;
    ProgramCounters c{name, 0, 0};
    for (const auto &v : values) {
      c.emitted += v.emitted;
      c.lost += v.lost;
    }
    out.push_back(c);
  }
  return out;
}

std::string BpfSensor::attach_getenv(const std::string &libc_path) {
  if (!env_family_) return "the env probe family is not loaded";
  std::string err = env_family_->attach_uprobe("cw_getenv", libc_path, "getenv");
  if (!err.empty()) return err;
  err = env_family_->attach_uprobe("cw_secure_getenv", libc_path, "secure_getenv");
  if (!err.empty()) env_family_->detach_uprobes(libc_path);
  return err;
}

void BpfSensor::detach_getenv(const std::string &libc_path) {
  if (env_family_) env_family_->detach_uprobes(libc_path);
}

std::vector<ProgramStatus> BpfSensor::hooks() const {
  std::vector<ProgramStatus> out;
  for (const auto &f : families_) out.insert(out.end(), f->programs().begin(), f->programs().end());
  return out;
}

}  // namespace credwatch
