// Wiping secret values.
#include "common/secret_bytes.h"

#include <algorithm>

#include <openssl/crypto.h>

namespace credwatch {

void wipe(void *data, size_t size) {
  if (data && size) OPENSSL_cleanse(data, size);
}

void wipe(std::string &s) {
  // Wipe the whole capacity: a shorter value may have left bytes of a longer one behind.
  if (s.capacity()) wipe(s.data(), s.capacity());
  s.clear();
}

SecretBytes &SecretBytes::operator=(SecretBytes &&other) noexcept {
  if (this != &other) {
    clear();
    value_ = std::move(other.value_);
    other.clear();
  }
  return *this;
}

void SecretBytes::clear() { wipe(value_); }

void SecretBytes::append(std::string_view more) {
  if (value_.size() + more.size() > value_.capacity()) {
    std::string grown;
    grown.reserve(std::max(value_.size() + more.size(), value_.capacity() * 2));
    grown.append(value_);
    wipe(value_);
    value_ = std::move(grown);
  }
  value_.append(more);
}

}  // namespace credwatch
