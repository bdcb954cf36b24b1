// Per-identity baselines: the learning window, what is recorded during it, and the JSON the agent stores.
#include "detect/baselines.h"

#include <algorithm>

#include "common/json_text.h"
#include "detect/event_facts.h"

namespace credwatch {

namespace {

constexpr int kBaselineFormatVersion = 1;

bool add_bounded(SortedStrings &set, std::string value, size_t cap, bool &truncated) {
  if (set.size() >= cap) {
    if (!set.contains(value)) truncated = true;
    return false;
  }
  return set.insert(std::move(value)).second;
}

bool add_bounded(CredentialIdSet &set, std::string_view id, size_t cap, bool &truncated) {
  if (!credential_id_number(id)) return false;  // not an id: never recorded, so it truncates nothing
  if (set.size() >= cap) {
    if (!set.contains(id)) truncated = true;
    return false;
  }
  return set.insert(id);
}

// Reads an optional array field into a set: `expected` names what the array holds, and `problem` says what is wrong
// with one item ("" when it fits).
template <class Set, class Problem>
bool read_set(const nlohmann::json &j, const char *field, const char *expected, Problem problem, Set &out,
              std::string *error) {
  if (!j.contains(field)) return true;  // an empty set may be left out
  const auto &list = j.at(field);
  if (!list.is_array()) {
    *error = std::string("'") + field + "' must be an array of " + expected;
    return false;
  }
  for (const auto &item : list) {
    if (std::string why = problem(item); !why.empty()) {
      *error = std::string("'") + field + "' " + why;
      return false;
    }
    out.insert(item.template get_ref<const std::string &>());
  }
  out.shrink_to_fit();  // a loaded baseline is read, not grown
  return true;
}

bool read_id_set(const nlohmann::json &j, const char *field, CredentialIdSet &out, std::string *error) {
  auto problem = [](const nlohmann::json &item) -> std::string {
    if (item.is_string() && credential_id_number(item.get_ref<const std::string &>())) return {};
    return "holds " + (item.is_string() ? "'" + item.get<std::string>() + "'" : item.dump()) +
           ", which is not a credential id (cw_ and 16 lower-case hex digits)";
  };
  return read_set(j, field, "credential ids", problem, out, error);
}

bool read_string_set(const nlohmann::json &j, const char *field, SortedStrings &out, std::string *error) {
  auto problem = [](const nlohmann::json &item) -> std::string {
    return item.is_string() ? std::string() : std::string("must be an array of strings, found ") + item.type_name();
  };
  return read_set(j, field, "strings", problem, out, error);
}

bool read_int(const nlohmann::json &j, const char *field, int64_t &out, std::string *error) {
  if (!j.contains(field) || !j.at(field).is_number_integer()) {
    *error = std::string("'") + field + "' is missing or not an integer";
    return false;
  }
  out = j.at(field).get<int64_t>();
  return true;
}

}  // namespace

std::string_view to_string(BaselineState state) {
  switch (state) {
    case BaselineState::Learning:
      return "learning";
    case BaselineState::Enforcing:
      return "enforcing";
    case BaselineState::Off:
      return "off";
  }
  return "unknown";
}

BaselineState IdentityBaseline::state(WallNs now) const {
  if (window_ns <= 0) return BaselineState::Off;
  return now >= learned_until_ns() ? BaselineState::Enforcing : BaselineState::Learning;
}

nlohmann::json IdentityBaseline::to_json() const {
  return {{"identity", identity},
          {"started_ns", started_ns},
          {"window_ns", window_ns},
          {"credentials", credentials},
          {"credential_sources", credential_sources},
          {"destinations", destinations},
          {"executables", executables},
          {"truncated", truncated}};
}

std::optional<IdentityBaseline> IdentityBaseline::from_json(const nlohmann::json &j, std::string *error) {
  std::string scratch;
  if (!error) error = &scratch;
  if (!j.is_object()) {
    *error = std::string("a baseline must be an object, found ") + j.type_name();
    return std::nullopt;
  }
  IdentityBaseline b;
  if (!j.contains("identity") || !j.at("identity").is_string() || j.at("identity").get<std::string>().empty()) {
    *error = "'identity' is missing or not a non-empty string";
    return std::nullopt;
  }
  b.identity = j.at("identity").get<std::string>();
  auto fail = [&](const std::string &why) {
    *error = "baseline of " + b.identity + ": " + why;
    return std::nullopt;
  };
  std::string why;
  if (!read_int(j, "started_ns", b.started_ns, &why) || !read_int(j, "window_ns", b.window_ns, &why)) return fail(why);
  if (b.window_ns < 0) return fail("'window_ns' must not be negative");
  if (!read_id_set(j, "credentials", b.credentials, &why) ||
      !read_string_set(j, "credential_sources", b.credential_sources, &why) ||
      !read_string_set(j, "destinations", b.destinations, &why) ||
      !read_string_set(j, "executables", b.executables, &why))
    return fail(why);
  if (j.contains("truncated")) {
    if (!j.at("truncated").is_boolean()) return fail("'truncated' must be true or false");
    b.truncated = j.at("truncated").get<bool>();
  }
  return b;
}

const IdentityBaseline &Baselines::observe(const Event &event, std::optional<int64_t> window_ns, WallNs time) {
  auto it = baselines_.find(event.identity);
  if (it == baselines_.end()) {
    IdentityBaseline fresh;
    fresh.identity = event.identity;
    fresh.started_ns = time;
    it = baselines_.emplace(event.identity, std::move(fresh)).first;
  }
  IdentityBaseline &b = it->second;
  b.window_ns = window_ns.value_or(default_window_ns_);
  if (b.state(time) != BaselineState::Learning) return b;

  if (is_credential_use(event))
    for (auto &id : split_credential_ids(event.credential))
      add_bounded(b.credentials, id, max_entries_, b.truncated);
  if (auto source = credential_source(event))
    add_bounded(b.credential_sources, std::move(*source), max_entries_, b.truncated);
  if (auto dest = connect_destination(event)) add_bounded(b.destinations, std::move(*dest), max_entries_, b.truncated);
  if (auto exe = executed_program(event)) add_bounded(b.executables, std::move(*exe), max_entries_, b.truncated);
  return b;
}

const IdentityBaseline *Baselines::find(std::string_view identity) const {
  auto it = baselines_.find(identity);
  return it == baselines_.end() ? nullptr : &it->second;
}

BaselineState Baselines::state(std::string_view identity, WallNs now) const {
  const IdentityBaseline *b = find(identity);
  return b ? b->state(now) : BaselineState::Learning;
}

bool Baselines::knows_credential(std::string_view identity, std::string_view credential_id) const {
  const IdentityBaseline *b = find(identity);
  return b && b->credentials.contains(credential_id);
}

bool Baselines::knows_credential_source(std::string_view identity, std::string_view source) const {
  const IdentityBaseline *b = find(identity);
  return b && b->credential_sources.contains(source);
}

bool Baselines::knows_destination(std::string_view identity, std::string_view destination) const {
  const IdentityBaseline *b = find(identity);
  return b && b->destinations.contains(destination);
}

bool Baselines::reset(std::string_view identity) {
  auto it = baselines_.find(identity);
  if (it == baselines_.end()) return false;
  baselines_.erase(it);
  return true;
}

void Baselines::put(IdentityBaseline baseline) {
  std::string key = baseline.identity;
  baselines_.insert_or_assign(std::move(key), std::move(baseline));
}

std::vector<std::string> Baselines::identities() const {
  std::vector<std::string> out;
  out.reserve(baselines_.size());
  for (const auto &[id, b] : baselines_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json Baselines::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto &id : identities()) list.push_back(baselines_.at(id).to_json());  // sorted: stable documents
  return {{"version", kBaselineFormatVersion}, {"baselines", std::move(list)}};
}

std::string Baselines::load_json(const nlohmann::json &j) {
  if (!j.is_object()) return std::string("baselines document must be an object, found ") + j.type_name();
  if (!j.contains("version") || !j.at("version").is_number_integer())
    return "baselines document has no integer 'version'";
  if (j.at("version").get<int64_t>() != kBaselineFormatVersion)
    return "baselines document has version " + json_text(j.at("version")) + ", this agent reads version " +
           std::to_string(kBaselineFormatVersion);
  if (!j.contains("baselines") || !j.at("baselines").is_array()) return "baselines document has no 'baselines' array";
  StringMap<IdentityBaseline> loaded;
  size_t index = 0;
  for (const auto &item : j.at("baselines")) {
    std::string error;
    auto b = IdentityBaseline::from_json(item, &error);
    if (!b) return "baselines[" + std::to_string(index) + "]: " + error;
    if (loaded.count(b->identity)) return "baselines[" + std::to_string(index) + "]: " + b->identity + " appears twice";
    std::string key = b->identity;
    loaded.emplace(std::move(key), std::move(*b));
    ++index;
  }
  baselines_ = std::move(loaded);
  return {};
}

}  // namespace credwatch
