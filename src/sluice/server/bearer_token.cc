#include "sluice/server/bearer_token.h"

#include <cctype>
#include <string>

namespace sluice::server {

bool ConstantTimeEquals(std::string_view a, std::string_view secret) {
  if (secret.empty()) return a.empty();
  // Length difference folded into the accumulator; the loop always runs over
  // the caller-supplied bytes, wrapping around the secret.
  size_t diff = a.size() ^ secret.size();
  for (size_t i = 0; i < a.size(); ++i) {
    diff |=
        static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(secret[i % secret.size()]);
  }
  return diff == 0;
}

bool BearerTokenMatches(const std::string* authorization, std::string_view secret) {
  if (authorization == nullptr || secret.empty()) return false;
  std::string_view value = *authorization;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return ConstantTimeEquals(value, secret);
}

}  // namespace sluice::server
