// Joins the pieces of a new program's environment block and keeps only its secret-named variables.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/secret_bytes.h"
#include "decode/record_decoder.h"

namespace credwatch {

struct SecretVariable {
  std::string name;
  SecretBytes value;  // fingerprinted by the caller, then wiped with this object
};

struct AssembledEnvironment {
  ProcessRef process;
  WallNs time_ns = 0;
  std::vector<SecretVariable> secrets;
  uint32_t variables = 0;  // all variables seen, secret or not
  bool truncated = false;  // the block was larger than the kernel sends
  bool incomplete = false; // pieces were lost (ring buffer full): some variables may be missing
};

class EnvironmentAssembler {
 public:
  // is_secret_name: decides which variable names are secrets (the configured name globs).
  explicit EnvironmentAssembler(std::function<bool(std::string_view)> is_secret_name, int64_t timeout_ns = 5'000'000'000)
      : is_secret_name_(std::move(is_secret_name)), timeout_ns_(timeout_ns) {}

  // Adds a piece; returns the environment once its last piece arrived. Buffers are wiped as they go.
  std::optional<AssembledEnvironment> add(EnvChunk chunk);
  // Environments whose last piece never came (lost records), older than the timeout: returned incomplete.
  std::vector<AssembledEnvironment> expire(WallNs now);
  size_t pending() const { return partial_.size(); }

  // Splits "NAME=value\0..." and keeps the secret-named variables (exposed for tests).
  void parse(std::string_view block, AssembledEnvironment &out) const;

 private:
  struct Partial {
    ProcessRef process;
    WallNs time_ns = 0;
    uint32_t total_len = 0;
    uint32_t expected_offset = 0;
    bool gap = false;
    SecretBytes data;
  };
  AssembledEnvironment finish(Partial &p, bool truncated);

  std::function<bool(std::string_view)> is_secret_name_;
  int64_t timeout_ns_;
  std::map<std::pair<uint32_t, uint64_t>, Partial> partial_;  // by (tgid, start_ns)
};

}  // namespace credwatch
