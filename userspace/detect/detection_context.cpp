// Lookups in the detection context.
#include "detect/detection_context.h"

namespace credwatch {

const CredentialContext *DetectionContext::credential(std::string_view id) const {
  for (const auto &c : credentials)
    if (c.id == id) return &c;
  return nullptr;
}

std::string_view DetectionContext::identity_attribute(std::string_view name) const {
  return identity_attributes->get(name);
}

std::string_view DetectionContext::kubernetes_namespace() const { return identity_attribute("k8s.ns"); }

const std::shared_ptr<const IdentityAttributes> &DetectionContext::no_attributes() {
  static const auto none = std::make_shared<const IdentityAttributes>();
  return none;
}

}  // namespace credwatch
