// Hash maps keyed by strings that look up by std::string_view without building a std::string.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace credwatch {

// Deliberately not noexcept: libstdc++ caches hash codes in the nodes only for hashers that may throw. Without the
// cache, every lookup hashes again the whole key of each node it walks past in its bucket, and these keys are long.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// For per-identity state: identities are long strings with long common prefixes ("spiffe://<td>/ns/..."), which
// an ordered map compares again at every level.
template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

}  // namespace credwatch
