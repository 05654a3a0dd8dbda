// Random (version 4) UUIDs: table ids and data file names.
#pragma once

#include <string>

namespace sluice {

/// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", from a per-thread random engine.
std::string NewUuidV4();

}  // namespace sluice
