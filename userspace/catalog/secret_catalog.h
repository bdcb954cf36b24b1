// The secret catalog: which files are credentials, of which kind, and how the kernel recognises them by name.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_map.h"

namespace credwatch {

struct CatalogEntry {
  uint32_t id = 0;                   // 1-based position in the catalog; what the kernel reports
  std::string name;                  // "aws-credentials"
  std::string kind;                  // credential kind: "aws_credentials", "kubernetes_sa_token", ...
  std::vector<std::string> paths;    // globs an opened file's path is matched against ("~/" = any home)
  std::vector<std::string> exclude;  // globs on the file name that are never this secret ("*.pub")
  std::vector<std::string> scan;     // globs to look for existing files at start-up; default: paths
  std::string description;
  bool builtin = false;
};

// How the kernel recognises a file that might be a secret before userspace has seen its inode.
struct NameSelector {
  enum class Kind : uint8_t { Exact = 1, Prefix = 2, Suffix = 3, Parent = 4 };  // = CW_NAME_*
  Kind kind;
  std::string text;
  uint32_t catalog_id;
};

struct KernelNameFilter {
  std::vector<NameSelector> selectors;
  std::vector<uint8_t> prefix_lens;  // distinct lengths, at most 4
  std::vector<uint8_t> suffix_lens;
  bool use_parent = false;
};

class CatalogError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class SecretCatalog {
 public:
  // The built-in catalog documented in the README.
  static SecretCatalog builtin();

  // Validates and appends; throws CatalogError naming the entry and the problem.
  void add(CatalogEntry entry);

  // The first entry whose paths match an absolute path (and whose excludes do not), or nullptr.
  const CatalogEntry *match(std::string_view path) const;
  const CatalogEntry *by_id(uint32_t id) const;
  const std::vector<CatalogEntry> &entries() const & { return entries_; }
  // Not on a temporary: `for (auto &e : SecretCatalog::builtin().entries())` would walk a vector destroyed before
  // the loop starts (range-for extends only the last temporary's life). Name the catalog first.
  void entries() && = delete;

  // What the kernel's name filter needs; built from every entry's paths.
  const KernelNameFilter &kernel_filter() const { return filter_; }

  // The selector the kernel uses for one path glob, or a CatalogError explaining why there is none.
  static NameSelector selector_for(std::string_view glob, uint32_t catalog_id);

 private:
  // Whether entry `index` matches: one of its paths does and none of its excludes does.
  bool entry_matches(uint32_t index, std::string_view path, std::string_view name) const;

  std::vector<CatalogEntry> entries_;
  KernelNameFilter filter_;
  // For match(), which runs for every candidate open: each entry's paths as matched ("~/" expanded once), and
  // which entries can match a file name at all, so a lookup tries a few entries rather than the whole catalog.
  std::vector<std::vector<std::string>> match_globs_;  // by entry index
  StringMap<std::vector<uint32_t>> by_file_name_;      // a literal last component -> entries, ascending
  std::vector<uint32_t> any_file_name_;                // entries with a glob in some path's last component
};

// A catalog path glob as matched against opened paths: "~/" becomes "**/" (any home, including ones
// inside containers that the node's /etc/passwd does not know).
std::string match_glob(std::string_view glob);

}  // namespace credwatch
