// Lookups in the detection context.
#include "detect/detection_context.h"

namespace credwatch {

const CredentialContext *DetectionContext::credential(std::string_view id) const {
  for (const auto &c : credentials)
    if (c.id == id) return &c;
  return nullptr;
}

std::string_view DetectionContext::kubernetes_namespace() const {
  auto it = identity_attributes.find("k8s.ns");
  return it == identity_attributes.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace credwatch
