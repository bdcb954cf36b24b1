// The Prometheus text exposition format (version 0.0.4): names, escaping and number formatting.
#pragma once

#include <string>
#include <string_view>

namespace credwatch {

// The Content-Type a scrape of this format is served with.
inline constexpr const char *kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved for Prometheus itself).
bool valid_label_name(std::string_view name);

// Label values escape backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
// HELP text escapes backslash and newline (quotes stay as they are).
std::string escape_help(std::string_view help);

// Shortest text that reads back as the same double; NaN, +Inf and -Inf as Prometheus spells them.
std::string format_value(double value);

}  // namespace credwatch
