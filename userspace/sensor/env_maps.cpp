// Deriving the kernel's environment-name prefilter from globs, and writing it to the maps.
#include "sensor/env_maps.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <bpf/bpf.h>

#include "sensor/sensor_error.h"

extern "C" {
#include "credwatch_abi.h"
}

namespace credwatch {

namespace {

std::string upper(std::string s) {
  for (auto &c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool is_wild(char c) { return c == '*' || c == '?' || c == '[' || c == ']'; }

// The kernel compares at most CW_FILTER_LENS distinct lengths per selector kind. When the globs need more,
// longer selectors are shortened to a kept length (a prefix keeps its head, a suffix its tail, a substring
// its start): the prefilter only gets wider, and userspace re-checks every hit against the full globs.
std::vector<uint8_t> fit_lengths(std::vector<EnvNameFilter::Selector *> &of_kind) {
  std::vector<uint8_t> lens;
  for (auto *sel : of_kind) lens.push_back(static_cast<uint8_t>(sel->text.size()));
  std::sort(lens.begin(), lens.end());
  lens.erase(std::unique(lens.begin(), lens.end()), lens.end());
  if (lens.size() > CW_FILTER_LENS) {
    // Keep the shortest (every selector must shorten to some kept length) and spread the rest.
    std::vector<uint8_t> kept{lens.front()};
    for (size_t i = 1; i < CW_FILTER_LENS; ++i) kept.push_back(lens[i * (lens.size() - 1) / (CW_FILTER_LENS - 1)]);
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
    lens = kept;
  }
  for (auto *sel : of_kind) {
    size_t fit = 0;
    for (uint8_t len : lens)
      if (len <= sel->text.size()) fit = len;
    if (fit == sel->text.size()) continue;
    sel->text = sel->kind == EnvNameFilter::Kind::Suffix ? sel->text.substr(sel->text.size() - fit)
                                                         : sel->text.substr(0, fit);
  }
  return lens;
}

}  // namespace

EnvNameFilter derive_env_filter(const std::vector<std::string> &globs) {
  EnvNameFilter f;
  for (const auto &glob : globs) {
    std::string g = upper(glob);
    if (g.empty()) throw EnvFilterError("empty secret env name pattern");
    bool leading = g.front() == '*', trailing = g.back() == '*';
    std::string inner = g.substr(leading ? 1 : 0, g.size() - (leading ? 1 : 0) - (trailing && g.size() > 1 ? 1 : 0));
    bool inner_wild = std::any_of(inner.begin(), inner.end(), is_wild);
    EnvNameFilter::Selector sel;
    if (!inner_wild && !leading && !trailing) {
      sel = {EnvNameFilter::Kind::Exact, g};
    } else if (!inner_wild && !leading && trailing) {
      sel = {EnvNameFilter::Kind::Prefix, inner};
    } else if (!inner_wild && leading && !trailing) {
      sel = {EnvNameFilter::Kind::Suffix, inner};
    } else {
      // Anything else: the longest literal run, as a substring the name must contain.
      std::string best, run;
      for (char c : g) {
        if (is_wild(c)) {
          if (run.size() > best.size()) best = run;
          run.clear();
        } else {
          run += c;
        }
      }
      if (run.size() > best.size()) best = run;
      sel = {EnvNameFilter::Kind::Contains, best};
    }
    if (sel.text.size() < (sel.kind == EnvNameFilter::Kind::Exact ? 1u : 3u))
      throw EnvFilterError("secret env name pattern '" + glob +
                           "' has no literal part of at least 3 characters for the kernel to look for");
    if (sel.text.size() >= CW_ENV_NAME_LEN)
      throw EnvFilterError("secret env name pattern '" + glob + "' is longer than " +
                           std::to_string(CW_ENV_NAME_LEN - 1) + " characters");
    f.selectors.push_back(sel);
  }
  auto fit = [&f](EnvNameFilter::Kind kind) {
    std::vector<EnvNameFilter::Selector *> of_kind;
    for (auto &sel : f.selectors)
      if (sel.kind == kind) of_kind.push_back(&sel);
    return fit_lengths(of_kind);
  };
  f.prefix_lens = fit(EnvNameFilter::Kind::Prefix);
  f.suffix_lens = fit(EnvNameFilter::Kind::Suffix);
  f.contains_lens = fit(EnvNameFilter::Kind::Contains);
  return f;
}

void EnvMaps::load(const EnvNameFilter &filter, EnvReadScope scope) {
  if (!available()) return;
  cw_env_name_key key{}, next{};
  const void *prev = nullptr;
  std::vector<cw_env_name_key> old;
  while (bpf_map_get_next_key(names_fd_, prev, &next) == 0) {
    old.push_back(next);
    key = next;
    prev = &key;
  }
  for (const auto &k : old) bpf_map_delete_elem(names_fd_, &k);
  for (const auto &sel : filter.selectors) {
    cw_env_name_key k{};
    k.kind = static_cast<uint8_t>(sel.kind);
    k.len = static_cast<uint8_t>(sel.text.size());
    memcpy(k.name, sel.text.data(), std::min(sel.text.size(), sizeof(k.name)));
    uint8_t one = 1;
    if (bpf_map_update_elem(names_fd_, &k, &one, BPF_ANY) != 0)
      throw SensorError("adding env name selector '" + sel.text + "' to env_names", -errno);
  }
  cw_env_filter value{};
  for (size_t i = 0; i < filter.prefix_lens.size(); ++i) value.prefix_lens[i] = filter.prefix_lens[i];
  for (size_t i = 0; i < filter.suffix_lens.size(); ++i) value.suffix_lens[i] = filter.suffix_lens[i];
  for (size_t i = 0; i < filter.contains_lens.size(); ++i) value.contains_lens[i] = filter.contains_lens[i];
  value.scope = static_cast<uint32_t>(scope);
  uint32_t zero = 0;
  if (bpf_map_update_elem(filter_fd_, &zero, &value, BPF_ANY) != 0)
    throw SensorError("writing the env_filter map", -errno);
}

void EnvMaps::select_cgroup(uint64_t cgroup_id) {
  if (!available()) return;
  uint8_t one = 1;
  bpf_map_update_elem(cgroups_fd_, &cgroup_id, &one, BPF_ANY);
}

void EnvMaps::unselect_cgroup(uint64_t cgroup_id) {
  if (!available()) return;
  bpf_map_delete_elem(cgroups_fd_, &cgroup_id);
}

}  // namespace credwatch
