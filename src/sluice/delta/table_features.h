// Which protocol versions and table features Sluice can read and write.
// A table that declares anything else is refused with an error naming the
// feature, never read or written wrongly.
#pragma once

#include "sluice/core/status.h"
#include "sluice/delta/actions.h"

namespace sluice::delta {

inline constexpr const char* kDeletionVectors = "deletionVectors";
inline constexpr const char* kTimestampNtz = "timestampNtz";

/// OK if Sluice can read a table with this protocol and metadata.
Status CheckReadSupported(const Protocol& protocol, const Metadata& metadata);
/// OK if Sluice can also write it (stricter: writer features).
Status CheckWriteSupported(const Protocol& protocol, const Metadata& metadata);

/// The protocol Sluice writes for a new table.
Protocol ProtocolForNewTable(bool deletion_vectors, bool timestamp_ntz);

}  // namespace sluice::delta
