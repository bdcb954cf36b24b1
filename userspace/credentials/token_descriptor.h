// Recognising tokens by their shape (prefixes, JWTs) and describing them without their secret part.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace credwatch {

// The token type a value's prefix and shape give away ("github_personal_access_token", "vault_service_token",
// "aws_access_key_id", "jwt", ...), or "" when it is not recognised. Only a whole token matches: the value
// must be one word whose remainder after the prefix has the expected characters and length.
std::string classify_token(std::string_view token);

// The non-secret claims of a JWT: format "jwt", iss, sub, aud, jti, exp, iat, nbf, the Kubernetes binding
// ("kubernetes": namespace, pod, pod_uid, service_account, service_account_uid, node), and the header's kid
// and alg. A token that does not decode gives {"format":"jwt","parse_error":...}.
nlohmann::json describe_jwt(std::string_view token);

// For a secret embedded in a larger format (a kubeconfig token, a Docker password, an MSAL access token):
// adds "token_type" when classify_token recognises it and, for a JWT, its claims under "jwt".
void add_token_fields(nlohmann::json &descriptor, std::string_view value);

}  // namespace credwatch
