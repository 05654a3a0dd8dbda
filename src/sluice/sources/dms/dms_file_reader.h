// Reading one DMS file's bytes into raw rows (dms_changes.h): Parquet through
// Arrow's Parquet reader, CSV through formats/csv (gzip either way).
//
// Bad input is never an error: a truncated or corrupt Parquet file, a gzip
// stream that does not decompress, a CSV header that cannot be read, each
// give one file-level BadRecord (reason, offset) and no rows; malformed CSV
// records are BadRecords at their byte offset, the other records still rows.
#pragma once

#include <arrow/type_fwd.h>

#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/dms/dms_changes.h"
#include "sluice/sources/dms/dms_names.h"
#include "sluice/sources/dms/dms_settings.h"
#include "sluice/sources/file_stream.h"

namespace sluice::sources::dms {

struct DmsFileRows {
  /// Batches of at most ~64k rows each (row counts add up in file order).
  std::vector<DmsRawRows> parts;
  std::vector<BadRecord> bad;
};

/// `names` gives header-less CSV its columns (in order).
Result<DmsFileRows> ReadDmsFile(const std::shared_ptr<arrow::Buffer>& bytes,
                                const DmsFileName& file, const std::string& where,
                                const DmsSettings& settings, const std::vector<std::string>& names);

/// The format's own completeness check (file_stream.h): a Parquet file must
/// begin and end with PAR1, a CSV file end with a newline, a gzip stream have
/// its trailer.
FileExtent CheckDmsExtent(const arrow::Buffer& bytes, bool parquet);

}  // namespace sluice::sources::dms
