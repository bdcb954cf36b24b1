// What each identity normally does, learned during its first window: credentials, destinations, executables.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sorted_strings.h"
#include "common/string_map.h"
#include "common/time.h"
#include "model/credential_id.h"
#include "model/event.h"

namespace credwatch {

inline constexpr int64_t kDefaultLearningWindowNs = 24LL * 3600 * 1'000'000'000;

enum class BaselineState : uint8_t {
  Learning,   // inside the window: everything seen is recorded as normal
  Enforcing,  // the window is over: the baseline is frozen and detectors compare against it
  Off,        // a zero window: the identity has no baseline, and baseline detectors leave it alone
};
std::string_view to_string(BaselineState state);

struct IdentityBaseline {
  std::string identity;
  WallNs started_ns = 0;  // the identity's first event
  int64_t window_ns = kDefaultLearningWindowNs;
  CredentialIdSet credentials;  // as numbers: 8 bytes each
  // Where those credentials came from ("file:/var/run/secrets/.../token", "env:STRIPE_KEY"): a new id at a known
  // source is a rotation (Kubernetes rotates service-account tokens hourly), not a new credential.
  SortedStrings credential_sources;
  SortedStrings destinations;  // "10.0.0.1:443", "[::1]:80", "/run/x.sock"
  SortedStrings executables;   // absolute paths
  bool truncated = false;      // a set hit its cap while learning: some normal things were not recorded

  BaselineState state(WallNs now) const;
  WallNs learned_until_ns() const { return started_ns + window_ns; }

  nlohmann::json to_json() const;
  // Returns nullopt with *error naming the field and the problem on bad input; never throws.
  static std::optional<IdentityBaseline> from_json(const nlohmann::json &j, std::string *error);
};

class Baselines {
 public:
  // max_entries bounds each recorded set, so a workload that contacts a new address every second cannot grow the
  // agent without limit while it learns.
  explicit Baselines(int64_t default_window_ns = kDefaultLearningWindowNs, size_t max_entries = 4096)
      : default_window_ns_(default_window_ns), max_entries_(max_entries) {}

  // Starts the identity's window at its first event and, while it learns, records what the event shows.
  // window_ns: the identity's policy's learning window, unset for the default. A changed window (a policy reload)
  // applies from now on to the same start.
  const IdentityBaseline &observe(const Event &event, std::optional<int64_t> window_ns, WallNs time);

  const IdentityBaseline *find(std::string_view identity) const;
  // Learning for an identity not seen yet: its first event will start its window.
  BaselineState state(std::string_view identity, WallNs now) const;
  bool knows_credential(std::string_view identity, std::string_view credential_id) const;
  bool knows_credential_source(std::string_view identity, std::string_view source) const;
  bool knows_destination(std::string_view identity, std::string_view destination) const;

  // Forgets an identity: its next event starts a new learning window. False when it was not known.
  bool reset(std::string_view identity);
  void clear() { baselines_.clear(); }
  // Adds or replaces one identity's baseline (an import, or the store's copy at start-up).
  void put(IdentityBaseline baseline);

  size_t size() const { return baselines_.size(); }
  std::vector<std::string> identities() const;
  // In no particular order.
  using const_iterator = StringMap<IdentityBaseline>::const_iterator;
  const_iterator begin() const { return baselines_.begin(); }
  const_iterator end() const { return baselines_.end(); }

  int64_t default_window_ns() const { return default_window_ns_; }

  // {"version": 1, "baselines": [IdentityBaseline, ...]}
  nlohmann::json to_json() const;
  // Replaces every baseline with the document's; on error leaves them as they were and returns what is wrong.
  std::string load_json(const nlohmann::json &j);

 private:
  int64_t default_window_ns_;
  size_t max_entries_;
  StringMap<IdentityBaseline> baselines_;
};

}  // namespace credwatch
