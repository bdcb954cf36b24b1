// The per-record path from the ring buffer to the sinks: decode -> attribute -> classify -> fingerprint -> record.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/kernel_repeats.h"
#include "agent/live_feed.h"
#include "agent/repeat_folder.h"
#include "catalog/secret_catalog.h"
#include "correlate/credential_inventory.h"
#include "credentials/env_secret_names.h"
#include "decode/record_decoder.h"
#include "enrich/environment_assembler.h"
#include "enrich/process_table.h"
#include "identity/workload_identity.h"
#include "model/inode_key.h"
#include "sensor/secret_maps.h"
#include "store/event_writer.h"

namespace credwatch {

class EventPipeline {
 public:
  struct Deps {
    const SecretCatalog &catalog;
    BootClock &clock;
    ProcSource &proc;
    ProcessTable &processes;
    IdentityResolver &identities;
    CredentialInventory &credentials;
    const EnvSecretNames &env_names;
    SecretMaps &secret_maps;  // the kernel learns each verdict on a name-matched file
    EventWriter &writer;
    LiveFeed &feed;
    uint32_t host_mnt_ns = 0;  // init's mount namespace: kernel-rebuilt paths there are host paths
    int64_t repeat_window_ns = 1'000'000'000;  // identical events of a process this close fold (0: never)
  };

  // What never reached the store, for the loss reports.
  struct Counters {
    uint64_t decode_errors = 0;
    uint64_t candidates_rejected = 0;   // name matches the catalog turned down (not losses)
    uint64_t unreadable_secrets = 0;    // secret files whose content could not be read to fingerprint
    uint64_t incomplete_environments = 0;
  };

  explicit EventPipeline(Deps deps);

  // One ring-buffer record. Never throws: a record that cannot be handled is counted.
  void on_record(std::span<const uint8_t> data);
  // Processes found in /proc at start: stored with their identity, their environments fingerprinted.
  void seed(const std::vector<ProcessInfo> &processes, WallNs now);
  // Periodic: environments whose pieces stopped coming, and repeat windows that closed.
  void tick(WallNs now);
  // Reports every pending repeat count to the store (at stop).
  void flush_repeats() { repeats_.expire(0, true); }
  // The kernel's repeat counts (BpfSensor::take_repeats), added to their rows. Take them, poll the ring buffer,
  // then add them: the records that opened their windows have then been handled.
  void add_kernel_repeats(const std::vector<RepeatCount> &counts);
  // A secret file found by the catalog scan, so events can name where it lives on the node.
  void note_secret_file(uint64_t dev, uint64_t ino, const std::string &path);
  // Writes an event to the sinks (the live feed and the store).
  void record(Event ev);
  // Forgets which instances were already stored (after identity sweeps), so they are written again.
  void forget_workloads() { known_workloads_.clear(); }

  const Counters &counters() const { return counters_; }
  // Events folded into an earlier one of their window (counted on its row, not recorded themselves), here or in
  // the kernel.
  uint64_t folded() const { return repeats_.folded() + kernel_repeats_.folded(); }
  // Events the kernel folded whose first record never became a row (the store refused it): lost.
  uint64_t kernel_repeats_lost() const { return kernel_repeats_.lost(); }
  // Events are numbered here, as they are seen, so detection can cite them before the store has them.
  void set_next_event_id(int64_t id) { next_event_id_ = id; }
  // Called once per new workload instance (cgroup, identity), after its first event is attributed.
  std::function<void(const WorkloadIdentity &, const ProcessRef &)> on_new_workload;
  // Called for every event on its way to the sinks (metrics, detection).
  std::function<void(const Event &)> on_recorded;
  // Whether getenv records of an identity are wanted (the kernel filters by cgroup, which host processes share).
  std::function<bool(const std::string &identity)> env_read_in_scope;

 private:
  void handle(Event &ev);
  IdentityRef attribute(Event &ev);
  void classify_open(Event &ev);
  void fingerprint_open(Event &ev);
  void complete_snoop(Event &ev);
  void environment(AssembledEnvironment env, bool at_start);
  void store_updates(InventoryUpdates &updates);
  // The kernel repeat window ev opened, if it did.
  struct KernelWindow {
    RepeatCount::Of of;
    uint32_t tgid;
    uint64_t first_boot_ns;
  };
  static std::optional<KernelWindow> kernel_window_of(const Event &ev);
  // Which row the kernel's repeats of ev go to, when ev opened a kernel repeat window.
  void note_kernel_window(const Event &ev, int64_t row);
  ProcessInfo with_identity(const ProcessInfo &p);
  // When the process last exec'd: repeats never cross into a new program.
  WallNs exec_generation(uint32_t tgid) const;

  Deps d_;
  RecordDecoder decoder_;
  EnvironmentAssembler assembler_;
  std::unordered_map<InodeKey, std::string, InodeKeyHash> secret_files_;  // where known secret inodes live
  std::set<std::pair<uint64_t, std::string>> known_workloads_;          // instances already stored
  Counters counters_;
  RepeatFolder repeats_;
  KernelRepeatRows kernel_repeats_;
  int64_t next_event_id_ = 0;  // 0: the store numbers them
};

}  // namespace credwatch
