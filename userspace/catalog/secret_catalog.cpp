// Catalog validation, path matching and the derivation of kernel name selectors.
#include "catalog/secret_catalog.h"

#include <algorithm>

#include "common/glob.h"

namespace credwatch {

namespace {

constexpr size_t kNameKeyLen = 30;  // CW_NAME_KEY_LEN
constexpr size_t kMaxFilterLens = 4;  // CW_FILTER_LENS
constexpr size_t kMinAffix = 3;

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

size_t literal_prefix_len(std::string_view s) {
  size_t n = s.find_first_of("*?[\\");
  return n == std::string_view::npos ? s.size() : n;
}

size_t literal_suffix_len(std::string_view s) {
  size_t n = s.find_last_of("*?]\\");
  return n == std::string_view::npos ? s.size() : s.size() - n - 1;
}

bool add_len(std::vector<uint8_t> &lens, size_t len) {
  if (std::find(lens.begin(), lens.end(), len) != lens.end()) return true;
  if (lens.size() >= kMaxFilterLens) return false;
  lens.push_back(static_cast<uint8_t>(len));
  return true;
}

}  // namespace

std::string match_glob(std::string_view glob) {
  if (glob.starts_with("~/")) return "**/" + std::string(glob.substr(2));
  return std::string(glob);
}

NameSelector SecretCatalog::selector_for(std::string_view glob, uint32_t catalog_id) {
  auto parts = components(glob);
  if (parts.empty()) throw CatalogError("path '" + std::string(glob) + "' has no file name");
  std::string_view name = parts.back();
  std::string_view parent = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view{};
  bool parent_literal = !parent.empty() && parent != "~" && !has_glob_chars(parent);

  if (name == "**") throw CatalogError("path '" + std::string(glob) + "' must end in a file name, not '**'");
  if (!has_glob_chars(name)) {
    if (name.size() <= kNameKeyLen) return {NameSelector::Kind::Exact, std::string(name), catalog_id};
    return {NameSelector::Kind::Prefix, std::string(name.substr(0, kNameKeyLen)), catalog_id};
  }
  size_t prefix = literal_prefix_len(name);
  if (prefix >= kMinAffix)
    return {NameSelector::Kind::Prefix, std::string(name.substr(0, std::min(prefix, kNameKeyLen))), catalog_id};
  if (parent_literal && parent.size() <= kNameKeyLen)
    return {NameSelector::Kind::Parent, std::string(parent), catalog_id};
  size_t suffix = literal_suffix_len(name);
  if (suffix >= kMinAffix) {
    size_t n = std::min(suffix, kNameKeyLen);
    return {NameSelector::Kind::Suffix, std::string(name.substr(name.size() - n)), catalog_id};
  }
  throw CatalogError("path '" + std::string(glob) +
                     "' cannot be filtered in the kernel: its file name needs a literal prefix or suffix of at "
                     "least 3 characters, or its directory a literal name");
}

void SecretCatalog::add(CatalogEntry entry) {
  std::string where = "catalog entry '" + entry.name + "'";
  if (entry.name.empty()) throw CatalogError("catalog entry without a name");
  if (entry.kind.empty()) throw CatalogError(where + " has no kind");
  if (entry.paths.empty()) throw CatalogError(where + " has no paths");
  for (const auto &e : entries_)
    if (e.name == entry.name) throw CatalogError(where + " is defined twice");
  entry.id = static_cast<uint32_t>(entries_.size() + 1);

  KernelNameFilter next = filter_;
  for (const auto &glob : entry.paths) {
    if (!(glob.starts_with("/") || glob.starts_with("~/") || glob.starts_with("**/")))
      throw CatalogError(where + ": path '" + glob + "' must start with '/', '~/' or '**/'");
    if (auto err = glob_syntax_error(glob); !err.empty())
      throw CatalogError(where + ": path '" + glob + "': " + std::string(err));
    NameSelector sel;
    try {
      sel = selector_for(glob, entry.id);
    } catch (const CatalogError &e) {
      throw CatalogError(where + ": " + e.what());
    }
    if (sel.kind == NameSelector::Kind::Prefix && !add_len(next.prefix_lens, sel.text.size()))
      throw CatalogError(where + ": path '" + glob + "' needs a fifth distinct name-prefix length; the kernel "
                         "filter supports 4 (give the file a literal parent directory or an exact name)");
    if (sel.kind == NameSelector::Kind::Suffix && !add_len(next.suffix_lens, sel.text.size()))
      throw CatalogError(where + ": path '" + glob + "' needs a fifth distinct name-suffix length; the kernel "
                         "filter supports 4");
    if (sel.kind == NameSelector::Kind::Parent) next.use_parent = true;
    next.selectors.push_back(sel);
  }
  for (const auto &glob : entry.exclude)
    if (auto err = glob_syntax_error(glob); !err.empty())
      throw CatalogError(where + ": exclude '" + glob + "': " + std::string(err));
  for (const auto &glob : entry.scan)
    if (auto err = glob_syntax_error(glob); !err.empty())
      throw CatalogError(where + ": scan '" + glob + "': " + std::string(err));
  filter_ = std::move(next);
  auto index = static_cast<uint32_t>(entries_.size());
  std::vector<std::string> globs;
  bool any_name = false;
  for (const auto &glob : entry.paths) {
    globs.push_back(match_glob(glob));
    std::string_view name = components(globs.back()).back();
    if (has_glob_chars(name)) {
      any_name = true;
    } else {
      auto &named = by_file_name_[std::string(name)];
      if (named.empty() || named.back() != index) named.push_back(index);
    }
  }
  if (any_name) any_file_name_.push_back(index);
  match_globs_.push_back(std::move(globs));
  entries_.push_back(std::move(entry));
}

bool SecretCatalog::entry_matches(uint32_t index, std::string_view path, std::string_view name) const {
  bool hit = false;
  for (const auto &glob : match_globs_[index])
    if (glob_match(glob, path)) {
      hit = true;
      break;
    }
  if (!hit) return false;
  for (const auto &glob : entries_[index].exclude)
    if (glob_match_text(glob, name)) return false;
  return true;
}

const CatalogEntry *SecretCatalog::match(std::string_view path) const {
  if (path.empty() || path[0] != '/') return nullptr;
  std::string_view name = path.substr(path.find_last_of('/') + 1);  // what excludes see, as before the index
  // The file name the paths' globs see: they skip empty components, so "/root/.aws/credentials/" ends in
  // "credentials".
  std::string_view trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.remove_suffix(1);
  std::string_view file = trimmed.substr(trimmed.find_last_of('/') + 1);
  // Only the entries that name this file, or leave its name open, can match. Both lists are ascending, and
  // merging them keeps the catalog's order, which decides between two entries that both match.
  static const std::vector<uint32_t> kNone;
  auto it = by_file_name_.find(file);
  const std::vector<uint32_t> &named = it == by_file_name_.end() ? kNone : it->second;
  const std::vector<uint32_t> &open = any_file_name_;
  size_t i = 0, j = 0;
  while (i < named.size() || j < open.size()) {
    uint32_t index;
    if (j == open.size() || (i < named.size() && named[i] < open[j])) {
      index = named[i++];
    } else {
      if (i < named.size() && named[i] == open[j]) ++i;
      index = open[j++];
    }
    if (entry_matches(index, path, name)) return &entries_[index];
  }
  return nullptr;
}

const CatalogEntry *SecretCatalog::by_id(uint32_t id) const {
  if (id == 0 || id > entries_.size()) return nullptr;
  return &entries_[id - 1];
}

}  // namespace credwatch
