// Linux capability names, for reports and alerts ("CAP_SYS_ADMIN").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace credwatch {

// The name of one capability bit (linux/capability.h order), or "CAP_<bit>" for bits newer than this table.
std::string capability_name(int bit);
// The names of every bit set in a capability mask, lowest bit first.
std::vector<std::string> capability_names(uint64_t mask);

}  // namespace credwatch
