// Aligned text tables for people, with optional colour per row.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace credwatch {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // colour: an ANSI SGR sequence for the whole row, or "".
  void add_row(std::vector<std::string> cells, std::string colour = "");
  // Pads every column to its widest cell; the last column is not padded. max_width caps a column.
  void print(FILE *out, bool use_colour, size_t max_width = 80) const;
  size_t rows() const { return rows_.size(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> colours_;
};

// Display width of UTF-8 text (code points; good enough for paths and names).
size_t display_width(const std::string &s);

}  // namespace credwatch
