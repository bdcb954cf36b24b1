// Path globs as the catalog, policies and CLI filters use them.
#pragma once

#include <string_view>

namespace credwatch {

// Matches a whole path against a glob: '*' and '?' stay within one path component, '[abc]' / '[!a-z]'
// are character classes, and a '**' component matches zero or more whole components
// ("**/token", "/var/lib/**/token"). Leading dots are not special.
bool glob_match(std::string_view pattern, std::string_view path);

// Matches a single string against a glob in which '*' also crosses '/' (for names such as SPIFFE IDs
// and rule names, where '/' carries no path meaning).
bool glob_match_text(std::string_view pattern, std::string_view text);

// True when the pattern uses any glob syntax.
bool has_glob_chars(std::string_view pattern);

// Checks a glob's syntax; returns an empty string when valid, else what is wrong.
std::string_view glob_syntax_error(std::string_view pattern);

}  // namespace credwatch
