// The AWS DMS source (kind "dms"): one stream per table folder
// `<root>/<schema>/<table>` (stream id "<schema>/<table>"), each file one
// unit, read in path order by the file-stream base (file_stream.h): full
// load `LOAD<hex>` files and CDC files named by time, in date folders or
// not, CSV or Parquet, optionally gzip (dms_names.h). The table's identity
// is its folder; primary keys and the optional enforced schema come from
// [tables."<schema>.<table>"]. Rows decode through dms_file_reader.h and
// dms_changes.h into the canonical change schema. docs/dms.md.
#pragma once

#include <memory>

#include "sluice/sources/source_registry.h"

namespace sluice::sources::dms {

/// The source for `options` (kind "dms"). Errors name what is wrong.
Result<std::unique_ptr<Source>> MakeDmsSource(const SourceOptions& options);

}  // namespace sluice::sources::dms
