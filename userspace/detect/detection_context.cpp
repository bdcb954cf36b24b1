// Lookups in the detection context.
#include "detect/detection_context.h"

namespace credwatch {

const CredentialContext *DetectionContext::credential(std::string_view id) const {
  for (const auto &c : credentials)
    if (c.id == id) return &c;
  return nullptr;
}

std::string_view DetectionContext::identity_attribute(const std::string &name) const {
  auto it = identity_attributes->find(name);
  return it == identity_attributes->end() ? std::string_view() : std::string_view(it->second);
}

std::string_view DetectionContext::kubernetes_namespace() const {
  static const std::string key = "k8s.ns";
  return identity_attribute(key);
}

const std::shared_ptr<const std::map<std::string, std::string>> &DetectionContext::no_attributes() {
  static const auto none = std::make_shared<const std::map<std::string, std::string>>();
  return none;
}

}  // namespace credwatch
