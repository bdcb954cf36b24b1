// Memory that held a secret value: wiped when it goes away, never printed.
#pragma once

#include <string>
#include <string_view>

namespace credwatch {

// Overwrites the bytes so that a secret does not linger in freed memory (OPENSSL_cleanse: not optimised away).
void wipe(void *data, size_t size);
void wipe(std::string &s);

// Owns a secret value; wipes it on destruction and on reassignment. Deliberately has no stream operator.
class SecretBytes {
 public:
  SecretBytes() = default;
  // Takes the string's buffer; the moved-from argument's inline (short-string) buffer is wiped too.
  explicit SecretBytes(std::string value) : value_(std::move(value)) { wipe(value); }
  // Copies straight into the owned buffer (no temporary std::string left holding the bytes).
  SecretBytes(const char *data, size_t size) { append(std::string_view(data, size)); }
  SecretBytes(const SecretBytes &) = delete;
  SecretBytes &operator=(const SecretBytes &) = delete;
  SecretBytes(SecretBytes &&other) noexcept : value_(std::move(other.value_)) { other.clear(); }
  SecretBytes &operator=(SecretBytes &&other) noexcept;
  ~SecretBytes() { clear(); }

  std::string_view view() const { return value_; }
  // Appends; when the buffer must grow, the old one is wiped before it is freed.
  void append(std::string_view more);
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }
  void clear();

 private:
  std::string value_;
};

}  // namespace credwatch
