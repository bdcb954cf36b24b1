// Loading credential policies from YAML: strict validation, every error with its file, line and column.
#pragma once

// Loading never throws and has no side effects: the result is a complete valid PolicySet or the list of every error
// found (the agent refuses to start on an invalid policy and keeps its last good set on a failed reload).
//
// What is an error (beyond malformed YAML, unknown keys, wrong types and duplicate keys):
// * apiVersion other than credwatch.io/v1alpha1; kind other than CredentialPolicy / DefaultCredentialPolicy;
//   a missing or non-DNS metadata.name; two policies with one name in the set; two DefaultCredentialPolicy objects;
//   a CredentialPolicy without a selector, a DefaultCredentialPolicy with one, an empty selector or selector list,
//   and an identity glob that cannot match a SPIFFE ID.
// * Bad globs; path globs that are not absolute (or "**/..." or "~/..."; "~/" means any home, as in the catalog);
//   credential kinds that match no known kind; ids that are not "cw_" + 16 lowercase hex digits; env globs with '='.
// * CIDRs with a bad address, a prefix out of range or host bits set (10.1.2.3/8 is an error, not silently
//   10.0.0.0/8, because either reading of it may be what was meant); ports outside 1-65535 and reversed ranges;
//   an empty ports list (omit it for every port); ports on a Unix socket entry; an entry with both or neither of
//   cidr and unix; a credentials entry with both path and env (a credential is a file or a variable, not both).
// * Unknown actions and severities; `block` anywhere but egress.action (see policy.h); a rules entry that sets
//   neither action nor severity, or repeats a rule glob of the same policy.
// * Contradictions within one section: a deny entry that matches everything some allow entry matches, which
//   leaves the allow entry dead (same path, env, kind, id or CIDR, a deny block containing the allowed block with
//   all its ports, or a deny glob matching an allowed literal). Overlaps that leave part of the allow entry live are
//   how exceptions are written and are fine; so are contradictions between different policies (deny wins).
// * An empty `credentials:` or `egress:` (null): write `{allow: []}` to allow nothing, or drop the section to leave
//   it unrestricted; the two readings are too different to guess.
// Warnings (loaded anyway): duplicate entries in one list, a policy that restricts nothing, a file or directory
// without policies.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/policy.h"

namespace credwatch {

inline constexpr std::string_view kPolicyApiVersion = "credwatch.io/v1alpha1";

struct PolicyLoadOptions {
  // The credential kinds policies may name. Empty: the built-in catalog's kinds. A caller with configured catalog
  // entries passes every kind of its catalog.
  std::vector<std::string> credential_kinds;
  size_t max_file_bytes = 4 << 20;  // larger files are an error rather than a memory hazard
};

// A policy file, or a directory's *.yaml and *.yml files in name order (names starting with '.' are skipped, so the
// "..data" links of a mounted ConfigMap do not load twice; symbolic links to files are followed).
PolicyLoadResult load_policies(const std::string &path, const PolicyLoadOptions &options = {});

// Policy texts with the names to use in errors, loaded as one set in the given order (a ConfigMap's data).
PolicyLoadResult parse_policies(const std::vector<std::pair<std::string, std::string>> &named_texts,
                                const PolicyLoadOptions &options = {});
PolicyLoadResult parse_policies(std::string_view text, const std::string &source,
                                const PolicyLoadOptions &options = {});

}  // namespace credwatch
