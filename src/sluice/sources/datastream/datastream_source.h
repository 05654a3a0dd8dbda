// The Datastream source: one stream per table folder under the stream's
// root (`<root>/<folder>/yyyy/mm/dd/hh/mm/<file>`, Avro object container
// files or JSON events, optionally gzip), each file one unit. The table's
// identity and primary keys come from the events (source_metadata), with
// the folder name as the fallback; files decode through file_decoder.h and
// change_batch_builder.h into the canonical change schema. docs/datastream.md.
#pragma once

#include <memory>

#include "sluice/sources/source_registry.h"

namespace sluice::sources::datastream {

/// The source for `options` (kind "datastream"). Errors name what is wrong.
Result<std::unique_ptr<Source>> MakeDatastreamSource(const SourceOptions& options);

}  // namespace sluice::sources::datastream
