// Environment block assembly: pieces in order, gaps noticed, every buffer that held values wiped.
#include "enrich/environment_assembler.h"

namespace credwatch {

void EnvironmentAssembler::parse(std::string_view block, AssembledEnvironment &out) const {
  size_t start = 0;
  while (start < block.size()) {
    size_t end = block.find('\0', start);
    if (end == std::string_view::npos) end = block.size();
    std::string_view entry = block.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    ++out.variables;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    std::string_view name = entry.substr(0, eq);
    if (!is_secret_name_(name)) continue;
    std::string_view value = entry.substr(eq + 1);
    out.secrets.push_back({std::string(name), SecretBytes(value.data(), value.size())});
  }
}

AssembledEnvironment EnvironmentAssembler::finish(Partial &p, bool truncated) {
  AssembledEnvironment out;
  out.process = p.process;
  out.time_ns = p.time_ns;
  out.truncated = truncated;
  out.incomplete = p.gap;
  std::string_view block = p.data.view();
  // A cut block may end mid-variable: drop the partial last entry rather than fingerprint half a value.
  if (truncated) {
    size_t last_nul = block.rfind('\0');
    block = last_nul == std::string_view::npos ? std::string_view{} : block.substr(0, last_nul + 1);
  }
  parse(block, out);
  p.data.clear();
  return out;
}

std::optional<AssembledEnvironment> EnvironmentAssembler::add(EnvChunk chunk) {
  auto key = std::make_pair(chunk.process.tgid, chunk.process.start_ns);
  auto it = partial_.find(key);
  if (chunk.index == 0 || it == partial_.end()) {
    if (it != partial_.end()) it->second.data.clear();
    Partial p;
    p.process = chunk.process;
    p.time_ns = chunk.time_ns;
    p.total_len = chunk.total_len;
    it = partial_.insert_or_assign(key, std::move(p)).first;
  }
  Partial &p = it->second;
  if (chunk.offset != p.expected_offset) p.gap = true;  // a piece was lost in between
  p.data.append(chunk.data.view());
  p.expected_offset = chunk.offset + static_cast<uint32_t>(chunk.data.size());
  chunk.data.clear();
  if (!chunk.last) return std::nullopt;
  bool truncated = p.expected_offset < p.total_len;
  AssembledEnvironment out = finish(p, truncated);
  partial_.erase(it);
  return out;
}

std::vector<AssembledEnvironment> EnvironmentAssembler::expire(WallNs now) {
  std::vector<AssembledEnvironment> out;
  for (auto it = partial_.begin(); it != partial_.end();) {
    if (it->second.time_ns + timeout_ns_ < now) {
      it->second.gap = true;
      out.push_back(finish(it->second, true));
      it = partial_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace credwatch
