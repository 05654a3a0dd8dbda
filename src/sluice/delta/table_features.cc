#include "sluice/delta/table_features.h"

#include <set>

namespace sluice::delta {

namespace {

// Reader features whose data Sluice interprets correctly.
const std::set<std::string> kReadable = {kDeletionVectors, kTimestampNtz, "vacuumProtocolCheck"};

// Writer features Sluice honours when writing. appendOnly/invariants are
// checked separately: supported when the table does not actually use them.
const std::set<std::string> kWritable = {kDeletionVectors, kTimestampNtz, "appendOnly",
                                         "invariants", "vacuumProtocolCheck"};

std::string ColumnMappingMode(const Metadata& m) {
  auto it = m.configuration.find("delta.columnMapping.mode");
  return it == m.configuration.end() ? "none" : it->second;
}

}  // namespace

Status CheckReadSupported(const Protocol& p, const Metadata& m) {
  if (p.min_reader_version > 3) {
    return Status::NotImplemented("table needs Delta reader version ", p.min_reader_version,
                                  "; Sluice reads versions 1 to 3");
  }
  if (p.min_reader_version == 3) {
    for (const auto& f : p.reader_features.value_or(std::vector<std::string>{})) {
      if (!kReadable.count(f)) {
        return Status::NotImplemented("table needs reader feature '", f,
                                      "', which Sluice does not support");
      }
    }
  }
  if (p.min_reader_version == 2 && ColumnMappingMode(m) != "none") {
    return Status::NotImplemented(
        "table needs reader feature 'columnMapping', which Sluice does not support");
  }
  return Status::OK();
}

Status CheckWriteSupported(const Protocol& p, const Metadata& m) {
  ARROW_RETURN_NOT_OK(CheckReadSupported(p, m));
  if (p.min_writer_version > 7) {
    return Status::NotImplemented("table needs Delta writer version ", p.min_writer_version);
  }
  if (p.min_writer_version == 7) {
    for (const auto& f : p.writer_features.value_or(std::vector<std::string>{})) {
      if (!kWritable.count(f)) {
        return Status::NotImplemented("table needs writer feature '", f,
                                      "', which Sluice does not support for writing");
      }
    }
  } else if (p.min_writer_version >= 3) {
    // Legacy versions 3..6 imply checkConstraints, changeDataFeed,
    // generatedColumns, columnMapping, identityColumns.
    static const char* kLegacy[] = {"",
                                    "",
                                    "",
                                    "checkConstraints",
                                    "changeDataFeed/generatedColumns",
                                    "columnMapping",
                                    "identityColumns"};
    return Status::NotImplemented("table needs writer feature '", kLegacy[p.min_writer_version],
                                  "' (writer version ", p.min_writer_version,
                                  "), which Sluice does not support for writing");
  }
  auto cdf = m.configuration.find("delta.enableChangeDataFeed");
  if (cdf != m.configuration.end() && cdf->second == "true") {
    return Status::NotImplemented(
        "table has 'changeDataFeed' enabled, which Sluice does not write");
  }
  return Status::OK();
}

Protocol ProtocolForNewTable(bool deletion_vectors, bool timestamp_ntz) {
  Protocol p;
  if (!deletion_vectors && !timestamp_ntz) return p;  // (1, 2)
  p.min_reader_version = 3;
  p.min_writer_version = 7;
  std::vector<std::string> features;
  if (deletion_vectors) features.push_back(kDeletionVectors);
  if (timestamp_ntz) features.push_back(kTimestampNtz);
  p.reader_features = features;
  // Writer version 7 lists every writer feature, including the legacy ones
  // that (1, 2) implied.
  std::vector<std::string> writer = {"appendOnly", "invariants"};
  writer.insert(writer.end(), features.begin(), features.end());
  p.writer_features = writer;
  return p;
}

}  // namespace sluice::delta
