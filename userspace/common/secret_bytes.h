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
  explicit SecretBytes(std::string value) : value_(std::move(value)) {}
  SecretBytes(const SecretBytes &) = delete;
  SecretBytes &operator=(const SecretBytes &) = delete;
  SecretBytes(SecretBytes &&other) noexcept : value_(std::move(other.value_)) { other.clear(); }
  SecretBytes &operator=(SecretBytes &&other) noexcept;
  ~SecretBytes() { clear(); }

  std::string_view view() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }
  void clear();

 private:
  std::string value_;
};

}  // namespace credwatch
