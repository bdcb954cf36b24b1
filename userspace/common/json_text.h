// JSON text for storage and output. Strings from the kernel (paths, argv, comm, environment names) are bytes, not
// necessarily UTF-8: a hostile file name or argument must not stop the agent or a query.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace credwatch {

// The JSON text of j, with invalid UTF-8 replaced by U+FFFD instead of throwing. indent < 0: one line.
std::string json_text(const nlohmann::json &j, int indent = -1);

// The length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (RFC 3629: no overlongs, surrogates or
// code points above U+10FFFF).
size_t utf8_sequence_length(std::string_view s, size_t i);

// s with invalid UTF-8 replaced by U+FFFD and control characters escaped (\x1b...), for lines people read:
// a file name must not move the cursor or recolour a terminal.
std::string printable_text(std::string_view s);

}  // namespace credwatch
