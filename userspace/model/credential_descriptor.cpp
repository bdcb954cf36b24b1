// Descriptors as compact text: a JSON object's nodes cost several times its serialised size, and the agent keeps
// one per credential it has seen.
#include "model/credential_descriptor.h"

#include "common/json_text.h"

namespace credwatch {

namespace {

std::optional<WallNs> expiry_of(const nlohmann::json &descriptor) {
  for (const char *where : {"", "jwt"}) {
    const nlohmann::json *d = &descriptor;
    if (*where) {
      auto it = descriptor.find(where);
      if (it == descriptor.end()) continue;
      d = &*it;
    }
    if (!d->is_object()) continue;
    auto exp = d->find("exp");
    if (exp == d->end() || !exp->is_number()) continue;
    double seconds = exp->get<double>();
    if (seconds <= 0 || seconds > 9.2e9) return std::nullopt;  // not a time this clock can hold
    if (exp->is_number_integer()) return exp->get<int64_t>() * 1'000'000'000;
    return static_cast<WallNs>(seconds * 1e9);
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<const CredentialDescriptor> CredentialDescriptor::from(const nlohmann::json &descriptor) {
  if (!descriptor.is_object() || descriptor.empty()) return empty();
  // Descriptors come from parsed credential files and may hold bytes that are not UTF-8: json_text replaces them,
  // as the store does.
  std::string text = json_text(descriptor);
  text.shrink_to_fit();
  // Not make_shared: the inventory keeps only a weak reference once the row is stored, and a weak reference to a
  // make_shared object keeps the object's whole allocation.
  return std::shared_ptr<const CredentialDescriptor>(
      new CredentialDescriptor(Made{}, std::move(text), expiry_of(descriptor)));
}

const std::shared_ptr<const CredentialDescriptor> &CredentialDescriptor::empty() {
  static const auto none = std::make_shared<const CredentialDescriptor>(Made{}, "{}", std::nullopt);
  return none;
}

nlohmann::json CredentialDescriptor::json() const {
  nlohmann::json parsed = nlohmann::json::parse(text_, nullptr, false);
  return parsed.is_object() ? parsed : nlohmann::json::object();
}

}  // namespace credwatch
