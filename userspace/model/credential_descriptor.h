// A credential's non-secret descriptor (key id, jti, exp, ...) as the agent keeps it in memory: compact JSON text,
// parsed only when an alert carries it, with the one field read per event (the expiry) computed once.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/time.h"

namespace credwatch {

class CredentialDescriptor {
 public:
  // Anything but a JSON object describes nothing and is kept as the empty descriptor.
  static std::shared_ptr<const CredentialDescriptor> from(const nlohmann::json &descriptor);
  // Through from() or empty() only; public for make_shared.
  struct Made {};
  CredentialDescriptor(Made, std::string text, std::optional<WallNs> expires_ns)
      : text_(std::move(text)), expires_ns_(expires_ns) {}
  static const std::shared_ptr<const CredentialDescriptor> &empty();

  // The descriptor as JSON (always an object), parsed from the compact text on each call.
  nlohmann::json json() const;
  const std::string &text() const { return text_; }
  bool is_empty() const { return text_ == "{}"; }
  // When the credential expires: `exp` (seconds since the epoch) at the top level, as token files are described,
  // or under "jwt", for a token found inside another value. Unset when absent or not a time this clock can hold.
  std::optional<WallNs> expires_ns() const { return expires_ns_; }

 private:
  std::string text_;
  std::optional<WallNs> expires_ns_;
};

}  // namespace credwatch
