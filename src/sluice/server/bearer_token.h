// Bearer-token authentication of the embedded server (RFC 6750 header form
// only: tokens in query strings end up in logs and browser history).
#pragma once

#include <string_view>

namespace sluice::server {

/// \brief a == b, taking time that depends only on a.size() (the attacker's
/// input), never on where the first difference is or on the secret's length.
bool ConstantTimeEquals(std::string_view a, std::string_view secret);

/// \brief True if `authorization` (the Authorization header's value, or
/// nullptr when absent) is "Bearer <secret>" (scheme case-insensitive).
/// An empty `secret` is never matched.
bool BearerTokenMatches(const std::string* authorization, std::string_view secret);

}  // namespace sluice::server
