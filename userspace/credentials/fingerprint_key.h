// The HMAC key that credential fingerprints are computed with: loaded from a file, or generated once per node.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/secret_bytes.h"

namespace credwatch {

// A key shorter than this is refused: it would make fingerprints guessable offline.
inline constexpr size_t kMinFingerprintKeySize = 16;
// The size of a generated key (RAND_bytes).
inline constexpr size_t kGeneratedFingerprintKeySize = 32;
// A key file larger than this is refused rather than read: it is not a key.
inline constexpr size_t kMaxFingerprintKeySize = 64 * 1024;

struct FingerprintKey {
  SecretBytes bytes;       // the raw key; never logged
  std::string path;        // the file it came from (or was written to)
  bool generated = false;  // created by this start
};

// The outcome of loading the key. `error` is fatal (no key: the caller must not fingerprint); `warnings`
// are problems the caller should log at warn level and carry on with (e.g. a group/world-readable file,
// which a Kubernetes Secret volume with the default mode 0644 is).
struct FingerprintKeyLoad {
  std::optional<FingerprintKey> key;
  std::string error;
  std::vector<std::string> warnings;
  bool ok() const { return key.has_value(); }
};

// Loads the fingerprint key.
// - configured_path non-empty (the config names a key, typically a cluster-wide Secret mounted as a file so
//   that fingerprints compare across nodes): that file must exist; it is never generated, because a
//   node-local key written there would silently make this node's fingerprints incomparable.
// - configured_path empty: default_path is loaded when it exists, else 32 random bytes are generated and
//   written there with mode 0600 (missing directories are created 0700), atomically (temp file + rename
//   without replacing: if another process wins the race, its key is loaded instead).
// A key file holds raw bytes; one trailing newline ("\n" or "\r\n") is stripped so that `echo`-made and
// `kubectl create secret --from-file` keys work. At least kMinFingerprintKeySize bytes must remain.
// An existing but unusable default key is an error, never overwritten: replacing it would change every
// fingerprint. Never throws.
FingerprintKeyLoad load_fingerprint_key(const std::string &configured_path, const std::string &default_path);

}  // namespace credwatch
