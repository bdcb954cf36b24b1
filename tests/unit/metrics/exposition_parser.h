// A strict reader of the Prometheus text format 0.0.4, so tests check the exposition against the format's rules.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace credwatch::test {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct ParsedFamily {
  std::string name;
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::string help;  // unescaped
  std::vector<Sample> samples;
};

struct Exposition {
  std::vector<ParsedFamily> families;  // in order of appearance
  std::string error;                   // "line N: problem", empty when the text is valid

  const ParsedFamily *family(const std::string &name) const;
  // The value of the sample with exactly these labels, or NaN.
  double value(const std::string &sample_name, const std::map<std::string, std::string> &labels = {}) const;
};

// Checks every line against the format and the family rules: TYPE before samples and once per name, samples of a
// family contiguous, no duplicate series, valid names and escapes, histogram buckets cumulative with +Inf equal
// to _count and a _sum, counters non-negative.
Exposition parse_exposition(const std::string &text);

}  // namespace credwatch::test
