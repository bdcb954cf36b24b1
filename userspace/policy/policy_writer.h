// Least-privilege policy recommendation: a CredentialPolicy that allows exactly what an identity was seen to use.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace credwatch {

// A credential an identity's processes used. File credentials are written as kind + path, environment
// credentials as the variable's name, others by credential id (or kind alone when that is all there is).
struct ObservedCredential {
  std::string kind;
  std::string path;
  std::string env;
  std::string id;
};

// A destination an identity connected to: an IP address (text, "10.1.2.3" or "2001:db8::1") and port, or a Unix
// socket path (`address` starting with '/' or '@', or anything that is not an IP address).
struct ObservedDestination {
  std::string address;
  uint16_t port = 0;
};

struct ObservedUsage {
  std::vector<ObservedCredential> credentials;
  std::vector<ObservedDestination> destinations;
};

struct RecommendOptions {
  std::string name;                                      // metadata.name; empty: derived from the SPIFFE ID
  PolicyAction credential_action = PolicyAction::Alert;  // Block is not allowed for credentials
  PolicyAction egress_action = PolicyAction::Alert;
  std::string note;  // one line for the header comment, such as the observation window
};

// The YAML text of a CredentialPolicy whose selector is the subject's SPIFFE ID (as an exact glob), whose
// credentials.allow lists each credential used and whose egress.allow lists each destination as a /32 or /128
// block with the exact ports seen (a destination seen with port 0 gets every port, as policies have no port 0), and
// each Unix socket path. Sections are always present, so what was not seen is not allowed. Loading the text (with
// the observed kinds known to the loader) gives a policy under which the same usage is allowed.
// Throws std::invalid_argument when the subject has no ID or options.name or an action is invalid.
std::string recommend_policy(const PolicySubject &subject, const ObservedUsage &usage,
                             const RecommendOptions &options = {});

// A valid metadata.name derived from a SPIFFE ID: "spiffe://cluster.local/ns/payments/sa/api" -> "ns-payments-sa-api".
std::string policy_name_for(std::string_view spiffe_id);

// A glob that matches exactly `literal` ('*', '?', '[' and '\' escaped with '\').
std::string escape_glob(std::string_view literal);

}  // namespace credwatch
