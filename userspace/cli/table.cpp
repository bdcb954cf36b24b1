// Table layout.
#include "cli/table.h"

#include <algorithm>

#include "common/json_text.h"

namespace credwatch {

size_t display_width(const std::string &s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

namespace {
std::string truncate(const std::string &s, size_t width) {
  if (display_width(s) <= width || width < 2) return s;
  // Keep the end: for paths and identities the tail says the most.
  std::string out = "…";
  size_t keep = width - 1;
  size_t start = s.size();
  size_t count = 0;
  while (start > 0 && count < keep) {
    --start;
    if ((static_cast<unsigned char>(s[start]) & 0xC0) != 0x80) ++count;
  }
  return out + s.substr(start);
}
}  // namespace

void TextTable::add_row(std::vector<std::string> cells, std::string colour) {
  cells.resize(headers_.size());
  for (auto &cell : cells) cell = printable_text(cell);  // names and paths come from workloads
  rows_.push_back(std::move(cells));
  colours_.push_back(std::move(colour));
}

void TextTable::print(FILE *out, bool use_colour, size_t max_width) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = display_width(headers_[c]);
    for (const auto &row : rows_) widths[c] = std::max(widths[c], std::min(display_width(row[c]), max_width));
  }
  auto line = [&](const std::vector<std::string> &cells, const std::string &colour) {
    std::string text;
    for (size_t c = 0; c < cells.size(); ++c) {
      bool last = c + 1 == cells.size();
      std::string cell = last ? cells[c] : truncate(cells[c], max_width);
      text += cell;
      if (!last) text += std::string(widths[c] - display_width(cell) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    if (use_colour && !colour.empty())
      fprintf(out, "%s%s\033[0m\n", colour.c_str(), text.c_str());
    else
      fprintf(out, "%s\n", text.c_str());
  };
  line(headers_, use_colour ? "\033[1m" : "");
  for (size_t r = 0; r < rows_.size(); ++r) line(rows_[r], colours_[r]);
}

}  // namespace credwatch
