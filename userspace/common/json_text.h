// JSON text for storage and output. Strings from the kernel (paths, argv, comm, environment names) are bytes, not
// necessarily UTF-8: a hostile file name or argument must not stop the agent or a query.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace credwatch {

// The JSON text of j, with invalid UTF-8 replaced by U+FFFD instead of throwing. indent < 0: one line.
std::string json_text(const nlohmann::json &j, int indent = -1);

// s with invalid UTF-8 replaced by U+FFFD and control characters escaped (\x1b...), for lines people read:
// a file name must not move the cursor or recolour a terminal.
std::string printable_text(std::string_view s);

}  // namespace credwatch
