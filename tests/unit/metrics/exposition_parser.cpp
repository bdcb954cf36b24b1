// The strict text-format reader used by the metrics tests.
#include "exposition_parser.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace credwatch::test {

namespace {

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

bool name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool name_rest(char c, bool colon) {
  return name_start(c, colon) || (c >= '0' && c <= '9');
}

std::string read_name(const std::string &s, size_t &i, bool colon) {
  size_t start = i;
  if (i >= s.size() || !name_start(s[i], colon)) throw Fail("expected a name at column " + std::to_string(i + 1));
  while (i < s.size() && name_rest(s[i], colon)) ++i;
  return s.substr(start, i - start);
}

double read_value(const std::string &text) {
  if (text == "+Inf" || text == "Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  if (text.empty()) throw Fail("empty value");
  char *end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || text.find_first_of("xXpP") != std::string::npos || text == "inf" || text == "nan")
    throw Fail("'" + text + "' is not a Go-parsable float");
  return v;
}

std::string unescape(const std::string &s, bool quotes_allowed) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) throw Fail("dangling backslash");
    if (s[i] == '\\')
      out += '\\';
    else if (s[i] == 'n')
      out += '\n';
    else if (s[i] == '"' && quotes_allowed)
      out += '"';
    else
      throw Fail(std::string("invalid escape \\") + s[i]);
  }
  return out;
}

std::string base_of(const std::string &sample, const std::string &type) {
  if (type == "histogram")
    for (const char *suffix : {"_bucket", "_sum", "_count"})
      if (sample.ends_with(suffix)) return sample.substr(0, sample.size() - std::string(suffix).size());
  return sample;
}

Sample parse_sample(const std::string &line) {
  Sample s;
  size_t i = 0;
  s.name = read_name(line, i, true);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      std::string label = read_name(line, i, false);
      if (label.starts_with("__")) throw Fail("label '" + label + "' is reserved");
      if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') throw Fail("expected =\" after label " + label);
      i += 2;
      std::string raw;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) raw += line[i++];
        raw += line[i++];
      }
      if (i >= line.size()) throw Fail("unterminated label value");
      ++i;  // closing quote
      if (!s.labels.emplace(label, unescape(raw, true)).second) throw Fail("label '" + label + "' repeated");
      if (i < line.size() && line[i] == ',')
        ++i;
      else if (i >= line.size() || line[i] != '}')
        throw Fail("expected , or } after a label");
    }
  }
  if (i >= line.size() || line[i] != ' ') throw Fail("expected one space before the value");
  ++i;
  auto space = line.find(' ', i);
  s.value = read_value(line.substr(i, space == std::string::npos ? std::string::npos : space - i));
  if (space != std::string::npos) {
    std::string ts = line.substr(space + 1);
    if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos)
      throw Fail("bad timestamp '" + ts + "'");
  }
  return s;
}

void check_histogram(const ParsedFamily &f) {
  // Group by the labels other than le.
  std::map<std::map<std::string, std::string>, std::vector<const Sample *>> buckets;
  std::map<std::map<std::string, std::string>, double> sums, counts;
  for (const auto &s : f.samples) {
    auto labels = s.labels;
    if (s.name == f.name + "_bucket") {
      if (!labels.count("le")) throw Fail(f.name + ": bucket without le");
      labels.erase("le");
      buckets[labels].push_back(&s);
    } else if (s.name == f.name + "_sum") {
      sums[labels] = s.value;
    } else if (s.name == f.name + "_count") {
      counts[labels] = s.value;
    } else {
      throw Fail(f.name + ": sample " + s.name + " does not belong to a histogram");
    }
  }
  for (const auto &[labels, list] : buckets) {
    double last_le = -INFINITY, last_count = 0;
    for (const Sample *b : list) {
      double le = read_value(b->labels.at("le"));
      if (!(le > last_le)) throw Fail(f.name + ": bucket bounds not increasing");
      if (b->value < last_count) throw Fail(f.name + ": bucket counts not cumulative");
      last_le = le;
      last_count = b->value;
    }
    if (!std::isinf(last_le)) throw Fail(f.name + ": no le=\"+Inf\" bucket");
    if (!counts.count(labels) || !sums.count(labels)) throw Fail(f.name + ": missing _sum or _count");
    if (counts[labels] != last_count) throw Fail(f.name + ": _count differs from the +Inf bucket");
  }
  if (buckets.size() != counts.size() || buckets.size() != sums.size())
    throw Fail(f.name + ": _sum/_count without buckets");
}

}  // namespace

const ParsedFamily *Exposition::family(const std::string &name) const {
  for (const auto &f : families)
    if (f.name == name) return &f;
  return nullptr;
}

double Exposition::value(const std::string &sample_name, const std::map<std::string, std::string> &labels) const {
  for (const auto &f : families)
    for (const auto &s : f.samples)
      if (s.name == sample_name && s.labels == labels) return s.value;
  return NAN;
}

Exposition parse_exposition(const std::string &text) {
  Exposition out;
  size_t line_no = 0;
  try {
    if (!text.empty() && text.back() != '\n') throw Fail("the exposition must end with a newline");
    std::set<std::string> closed;  // families whose samples are finished
    std::set<std::string> series;
    std::map<std::string, std::string> helps;
    ParsedFamily *current = nullptr;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (line.empty()) continue;
      if (line.starts_with("#")) {
        if (!line.starts_with("# HELP ") && !line.starts_with("# TYPE ")) continue;  // a plain comment
        size_t i = 7;
        std::string name = read_name(line, i, true);
        if (i >= line.size() || line[i] != ' ') throw Fail("expected a space after the name");
        std::string rest = line.substr(i + 1);
        if (line.starts_with("# HELP ")) {
          if (!helps.emplace(name, unescape(rest, false)).second) throw Fail("second HELP for " + name);
          if (current && current->name == name) current->help = helps[name];
          continue;
        }
        static const std::set<std::string> types = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (!types.count(rest)) throw Fail("unknown type '" + rest + "'");
        if (out.family(name)) throw Fail("second TYPE for " + name);
        if (current) closed.insert(current->name);
        out.families.push_back({name, rest, helps.count(name) ? helps[name] : "", {}});
        current = &out.families.back();
        continue;
      }
      Sample s = parse_sample(line);
      std::string base = current ? base_of(s.name, current->type) : s.name;
      if (!current || base != current->name) {
        if (closed.count(base) || out.family(base)) throw Fail("samples of " + base + " are not contiguous");
        throw Fail("sample " + s.name + " has no TYPE line before it");
      }
      std::string key = s.name;
      for (const auto &[k, v] : s.labels) key += "\x01" + k + "=" + v;
      if (!series.insert(key).second) throw Fail("duplicate series " + s.name);
      if (current->type == "counter" && (s.value < 0 || std::isnan(s.value))) throw Fail(s.name + ": negative counter");
      if (current->type != "histogram" && s.labels.count("le") && current->type != "untyped")
        throw Fail(s.name + ": le label outside a histogram");
      current->samples.push_back(std::move(s));
    }
    line_no = 0;
    for (const auto &f : out.families)
      if (f.type == "histogram") check_histogram(f);
  } catch (const std::exception &e) {
    out.error = (line_no ? "line " + std::to_string(line_no) + ": " : std::string()) + e.what();
  }
  return out;
}

}  // namespace credwatch::test
