// Credential ids and their numbers.
#include "model/credential_id.h"

#include <algorithm>

namespace credwatch {

namespace {
constexpr std::string_view kPrefix = "cw_";
constexpr size_t kDigits = 16;
}  // namespace

std::optional<uint64_t> credential_id_number(std::string_view id) {
  if (id.size() != kPrefix.size() + kDigits || !id.starts_with(kPrefix)) return std::nullopt;
  uint64_t n = 0;
  for (char c : id.substr(kPrefix.size())) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    n = n << 4 | static_cast<uint64_t>(digit);
  }
  return n;
}

std::string credential_id_text(uint64_t number) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(kPrefix);
  id.resize(kPrefix.size() + kDigits);
  for (size_t i = id.size(); i-- > kPrefix.size(); number >>= 4) id[i] = kHex[number & 0xf];
  return id;
}

bool CredentialIdSet::insert(std::string_view id) {
  auto number = credential_id_number(id);
  if (!number) return false;
  auto at = std::lower_bound(numbers_.begin(), numbers_.end(), *number);
  if (at != numbers_.end() && *at == *number) return false;
  numbers_.insert(at, *number);
  return true;
}

bool CredentialIdSet::contains(std::string_view id) const {
  auto number = credential_id_number(id);
  return number && std::binary_search(numbers_.begin(), numbers_.end(), *number);
}

std::vector<std::string> CredentialIdSet::ids() const {
  std::vector<std::string> out;
  out.reserve(numbers_.size());
  for (uint64_t n : numbers_) out.push_back(credential_id_text(n));
  return out;
}

void to_json(nlohmann::json &j, const CredentialIdSet &set) {
  j = nlohmann::json::array();
  for (const auto &id : set.ids()) j.push_back(id);
}

}  // namespace credwatch
