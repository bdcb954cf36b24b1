// The attribute blob: length-prefixed pairs in name order.
#include "model/identity_attributes.h"

#include <cstring>
#include <limits>
#include <stdexcept>

namespace credwatch {

namespace {

struct Lengths {
  uint16_t name = 0;
  uint32_t value = 0;
};

Lengths lengths_at(const std::string &blob, size_t at) {
  Lengths l;
  std::memcpy(&l.name, blob.data() + at, sizeof(l.name));
  std::memcpy(&l.value, blob.data() + at + sizeof(l.name), sizeof(l.value));
  return l;
}

}  // namespace

IdentityAttributes::value_type IdentityAttributes::const_iterator::operator*() const {
  Lengths l = lengths_at(*blob_, at_);
  const char *name = blob_->data() + at_ + kHeader;
  return {std::string_view(name, l.name), std::string_view(name + l.name, l.value)};
}

IdentityAttributes::const_iterator &IdentityAttributes::const_iterator::operator++() {
  Lengths l = lengths_at(*blob_, at_);
  at_ += kHeader + l.name + l.value;
  return *this;
}

IdentityAttributes::IdentityAttributes(std::initializer_list<std::pair<std::string_view, std::string_view>> items) {
  for (const auto &[name, value] : items) set(name, value);
}

IdentityAttributes::IdentityAttributes(const std::map<std::string, std::string> &items) {
  for (const auto &[name, value] : items) set(name, value);
}

size_t IdentityAttributes::locate(std::string_view name, bool &found) const {
  found = false;
  for (auto it = begin(); it != end(); ++it) {
    std::string_view here = (*it).first;
    if (here == name) {
      found = true;
      return it.at_;
    }
    if (name < here) return it.at_;
  }
  return blob_.size();
}

void IdentityAttributes::set(std::string_view name, std::string_view value) {
  if (name.size() > std::numeric_limits<uint16_t>::max()) throw std::length_error("attribute name too long");
  if (value.size() > std::numeric_limits<uint32_t>::max()) throw std::length_error("attribute value too long");
  // The pair first: name or value may view this blob (a.set("x", a.get("y"))), which the erase below shifts.
  Lengths l{static_cast<uint16_t>(name.size()), static_cast<uint32_t>(value.size())};
  std::string pair(kHeader, '\0');
  std::memcpy(pair.data(), &l.name, sizeof(l.name));
  std::memcpy(pair.data() + sizeof(l.name), &l.value, sizeof(l.value));
  pair.append(name).append(value);
  bool found = false;
  size_t at = locate(std::string_view(pair).substr(kHeader, l.name), found);
  if (found) {
    Lengths old = lengths_at(blob_, at);
    blob_.erase(at, kHeader + old.name + old.value);
  }
  blob_.insert(at, pair);
  // Identities are built once and read for their lifetime: no growth slack.
  blob_.shrink_to_fit();
}

bool IdentityAttributes::erase(std::string_view name) {
  bool found = false;
  size_t at = locate(name, found);
  if (!found) return false;
  Lengths l = lengths_at(blob_, at);
  blob_.erase(at, kHeader + l.name + l.value);
  return true;
}

IdentityAttributes::const_iterator IdentityAttributes::find(std::string_view name) const {
  bool found = false;
  size_t at = locate(name, found);
  return found ? const_iterator(&blob_, at) : end();
}

std::string_view IdentityAttributes::get(std::string_view name) const {
  auto it = find(name);
  return it == end() ? std::string_view() : (*it).second;
}

std::string_view IdentityAttributes::at(std::string_view name) const {
  auto it = find(name);
  if (it == end()) throw std::out_of_range("no identity attribute " + std::string(name));
  return (*it).second;
}

size_t IdentityAttributes::size() const {
  size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

std::map<std::string, std::string> IdentityAttributes::to_map() const {
  std::map<std::string, std::string> out;
  for (const auto &[name, value] : *this) out.emplace(name, value);
  return out;
}

}  // namespace credwatch
