// Credential ids ("cw_" and the first 16 hex digits of a credential's keyed fingerprint) as the 64-bit numbers they
// spell: a key or set member of 8 bytes instead of a 19-character string's 64 (its object and its allocation).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credwatch {

// nullopt for anything not shaped like an id: "cw_" and exactly 16 lower-case hex digits, as fingerprints write them.
std::optional<uint64_t> credential_id_number(std::string_view id);
// The id a number spells; credential_id_text(*credential_id_number(id)) == id for every well-formed id.
std::string credential_id_text(uint64_t number);

// A set of credential ids held as one sorted vector of their numbers (which sort as their texts do).
class CredentialIdSet {
 public:
  // False when the id was already there, or is not shaped like an id (nothing is added).
  bool insert(std::string_view id);
  bool contains(std::string_view id) const;
  size_t size() const { return numbers_.size(); }
  bool empty() const { return numbers_.empty(); }
  // Gives back the growth slack once a set stops growing.
  void shrink_to_fit() { numbers_.shrink_to_fit(); }
  // The ids, sorted.
  std::vector<std::string> ids() const;
  bool operator==(const CredentialIdSet &) const = default;

 private:
  std::vector<uint64_t> numbers_;
};

// An array of the ids, sorted.
void to_json(nlohmann::json &j, const CredentialIdSet &set);

}  // namespace credwatch
