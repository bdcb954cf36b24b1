// The sensor: loads and attaches every probe family the kernel supports, and delivers their records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sensor/kernel_features.h"
#include "sensor/repeat_counts.h"
#include "sensor/probe_family.h"
#include "sensor/env_maps.h"
#include "sensor/secret_maps.h"

struct ring_buffer;

namespace credwatch {

// Cumulative counters of one BPF program since load.
struct ProgramCounters {
  std::string program;  // "exec", "fork", "exit", "file_open", "connect"
  uint64_t emitted = 0;
  uint64_t lost = 0;
};

class BpfSensor {
 public:
  using RecordHandler = std::function<void(std::span<const uint8_t>)>;

  // Opens, configures, loads and attaches. Optional families the kernel lacks are skipped with a logged
  // reason; throws SensorError when nothing at all could be attached.
  BpfSensor(const SensorOptions &options, RecordHandler handler);
  ~BpfSensor();
  BpfSensor(const BpfSensor &) = delete;
  BpfSensor &operator=(const BpfSensor &) = delete;

  // Waits up to timeout_ms for a wake-up, then hands every available record to the handler (also those the
  // kernel queued without waking this thread); returns how many.
  int poll(int timeout_ms);

  std::vector<ProgramCounters> counters() const;
  // Takes the kernel's repeat counts of the windows that have closed, deleting them from the kernel; all=true takes
  // every window, open ones too (at stop). Poll after this call, before using the counts: that hands over every
  // window's first record.
  std::vector<RepeatCount> take_repeats(bool all = false);
  // Every program of every family: attached, or skipped and why.
  std::vector<ProgramStatus> hooks() const;
  // Family-level summary ("files": "attached 4/4" or the reason it is off).
  const std::vector<std::pair<std::string, std::string>> &family_status() const { return family_status_; }
  SecretMaps &secret_maps() { return secret_maps_; }
  EnvMaps &env_maps() { return env_maps_; }
  // Attaches the getenv/secure_getenv uprobes to one libc file (host's, or a container's through
  // /proc/<pid>/root/...). Returns "" on success, else why not.
  std::string attach_getenv(const std::string &libc_path);
  void detach_getenv(const std::string &libc_path);
  const MountResult &tracefs() const { return tracefs_; }
  // Records whose handler threw (they are not in the store).
  uint64_t handler_errors() const { return handler_errors_; }

  // How full the ring buffer is now: bytes written by the kernel and not yet consumed, and its size.
  struct RingFill {
    uint64_t used_bytes = 0;
    uint64_t size_bytes = 0;
  };
  RingFill ring_fill() const;

 private:
  struct RingBufferDeleter {
    void operator()(ring_buffer *rb) const;
  };
  void add_family(std::unique_ptr<ProbeFamily> family);
  void map_ring_positions(int ring_fd);
  static int on_record(void *ctx, void *data, size_t size);

  SensorOptions options_;
  RecordHandler handler_;
  MountResult tracefs_;
  std::vector<std::unique_ptr<ProbeFamily>> families_;  // families_[0] owns the shared maps
  std::vector<std::pair<std::string, std::string>> family_status_;
  std::unique_ptr<ring_buffer, RingBufferDeleter> ring_;
  SecretMaps secret_maps_;
  EnvMaps env_maps_;
  ProbeFamily *env_family_ = nullptr;
  int stats_fd_ = -1;
  int open_repeats_fd_ = -1;     // -1 without the files family
  int connect_repeats_fd_ = -1;  // -1 without the net family
  uint64_t handler_errors_ = 0;
  // Read-only views of the ring buffer's consumer and producer position pages (the BPF ringbuf mmap layout),
  // for the fill gauge: libbpf of this vintage has no accessor for them.
  const volatile uint64_t *consumer_pos_ = nullptr;
  const volatile uint64_t *producer_pos_ = nullptr;
  uint64_t ring_size_ = 0;
};

}  // namespace credwatch
