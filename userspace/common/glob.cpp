// Path globs: '*', '?', character classes, and '**' spanning components.
#include "common/glob.h"

#include <vector>

namespace credwatch {

namespace {

// Matches one character class starting at pattern[p] == '['. Returns the index after ']' or npos when
// the class is malformed; sets matched.
size_t match_class(std::string_view pattern, size_t p, char c, bool &matched) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool hit = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    char lo = pattern[i];
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      char hi = pattern[i + 2];
      if (c >= lo && c <= hi) hit = true;
      i += 3;
    } else {
      if (c == lo) hit = true;
      ++i;
    }
  }
  if (i >= pattern.size()) return std::string_view::npos;
  matched = hit != negate;
  return i + 1;
}

// Glob match of a single component or of free text; slash_is_special keeps '*' from crossing '/'.
bool match_segment(std::string_view pat, std::string_view str, bool slash_is_special) {
  size_t p = 0, s = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (s < str.size()) {
    if (p < pat.size()) {
      char pc = pat[p];
      if (pc == '*') {
        star_p = p++;
        star_s = s;
        continue;
      }
      if (pc == '?' && !(slash_is_special && str[s] == '/')) {
        ++p;
        ++s;
        continue;
      }
      if (pc == '[') {
        bool matched = false;
        size_t next = match_class(pat, p, str[s], matched);
        if (next != std::string_view::npos && matched && !(slash_is_special && str[s] == '/')) {
          p = next;
          ++s;
          continue;
        }
        if (next == std::string_view::npos && str[s] == '[') {  // malformed class: literal '['
          ++p;
          ++s;
          continue;
        }
      } else if (pc == '\\' && p + 1 < pat.size() && pat[p + 1] == str[s]) {
        p += 2;
        ++s;
        continue;
      } else if (pc == str[s]) {
        ++p;
        ++s;
        continue;
      }
    }
    if (star_p != std::string_view::npos && !(slash_is_special && str[star_s] == '/')) {
      p = star_p + 1;
      s = ++star_s;
      continue;
    }
    return false;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

std::vector<std::string_view> split_components(std::string_view path) {
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

bool match_components(const std::vector<std::string_view> &pat, size_t pi, const std::vector<std::string_view> &str,
                      size_t si) {
  while (pi < pat.size()) {
    if (pat[pi] == "**") {
      // Collapse consecutive '**' and try every split point.
      while (pi + 1 < pat.size() && pat[pi + 1] == "**") ++pi;
      if (pi + 1 == pat.size()) return true;
      for (size_t k = si; k <= str.size(); ++k)
        if (match_components(pat, pi + 1, str, k)) return true;
      return false;
    }
    if (si >= str.size() || !match_segment(pat[pi], str[si], true)) return false;
    ++pi;
    ++si;
  }
  return si == str.size();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  // An absolute pattern only matches absolute paths; "**/x" matches both.
  bool pattern_abs = !pattern.empty() && pattern[0] == '/';
  bool path_abs = !path.empty() && path[0] == '/';
  if (pattern_abs && !path_abs) return false;
  if (!has_glob_chars(pattern)) return pattern == path;
  return match_components(split_components(pattern), 0, split_components(path), 0);
}

bool glob_match_text(std::string_view pattern, std::string_view text) { return match_segment(pattern, text, false); }

bool has_glob_chars(std::string_view pattern) { return pattern.find_first_of("*?[\\") != std::string_view::npos; }

std::string_view glob_syntax_error(std::string_view pattern) {
  if (pattern.empty()) return "empty pattern";
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      ++i;  // an escaped character is a literal, whatever it is
      continue;
    }
    if (pattern[i] == '[') {
      bool matched;
      if (match_class(pattern, i, 'a', matched) == std::string_view::npos) return "unterminated '[' character class";
    }
    if (pattern[i] == '\\' && i + 1 == pattern.size()) return "trailing backslash";
  }
  // '**' must be a whole component.
  for (size_t i = pattern.find("**"); i != std::string_view::npos; i = pattern.find("**", i + 2)) {
    bool starts = i == 0 || pattern[i - 1] == '/';
    bool ends = i + 2 == pattern.size() || pattern[i + 2] == '/';
    if (!starts || !ends) return "'**' must be a whole path component, as in 'a/**/b'";
  }
  return {};
}

}  // namespace credwatch
