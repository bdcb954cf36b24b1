// Alerts for the response tests: a revocation request with every field set, and a plain one.
#pragma once

#include "model/alert.h"
#include "response/webhook_formats.h"

namespace credwatch::testing {

// lifecycle.task_end, action revoke, a Kubernetes identity, a projected service-account token credential with
// its JWT claims, a three-process chain, evidence and details.
Alert revocation_alert();
// escalation.exfil_chain, action alert, a host identity with a uid, a connect destination, no credential.
Alert exfil_alert();
DeliveryContext sample_context();

}  // namespace credwatch::testing
