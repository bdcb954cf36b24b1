// Decodes raw ring-buffer records (the ABI in bpf/credwatch_abi.h) into events, checking every size first.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/secret_bytes.h"
#include "common/time.h"
#include "model/event.h"

namespace credwatch {

struct DecodeError {
  std::string reason;  // e.g. "record of kind 4 is 96 bytes, expected 936"
};

// A piece of a new program's environment block. Not an event: the environment assembler (enrich) joins the
// pieces, keeps the secret-named variables and wipes the rest. The data may hold secret values.
struct EnvChunk {
  ProcessRef process;
  WallNs time_ns = 0;
  uint32_t offset = 0;
  uint32_t total_len = 0;
  uint16_t index = 0;
  bool last = false;
  SecretBytes data;
};

using DecodeResult = std::variant<Event, EnvChunk, DecodeError>;

class RecordDecoder {
 public:
  explicit RecordDecoder(const BootClock &clock) : clock_(clock) {}

  // Never reads past data; a short, oversized, unknown or wrong-version record is a DecodeError.
  DecodeResult decode(std::span<const uint8_t> data) const;

 private:
  const BootClock &clock_;
};

// "token/..data/serviceaccount" (leaf first, as the kernel writes it) -> "/serviceaccount/..data/token".
std::string reverse_leaf_first_path(std::string_view leaf_first);

}  // namespace credwatch
