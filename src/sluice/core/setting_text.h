// Settings written as text (configuration files, environment variables,
// a source's [source.<kind>] keys): the list and integer forms that the
// configuration loader and the sources' own settings parsers share, so a
// value reads the same wherever it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

/// \brief `text` as a whole base-10 integer: leading white space and a sign
/// are allowed, anything after the digits is not. std::nullopt for no
/// digits, trailing text or a value beyond int64.
std::optional<int64_t> ParseInt64(const std::string& text);

/// \brief The items of a comma-separated list ("a, b,c"), each without its
/// surrounding spaces and tabs; empty items are dropped.
std::vector<std::string> SplitList(const std::string& text);

}  // namespace sluice
