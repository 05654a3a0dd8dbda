// `sluice inspect`: what a Delta table holds, for any table, ours or not.
#include <arrow/type.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "sluice/cli/commands.h"
#include "sluice/delta/checkpoint.h"
#include "sluice/delta/log_path.h"
#include "sluice/delta/log_segment.h"
#include "sluice/delta/snapshot.h"
#include "sluice/delta/table_features.h"
#include "sluice/io/table_location.h"

namespace sluice::cli {

namespace {

nlohmann::json ProtocolJson(const delta::Protocol& p) {
  nlohmann::json out = {{"minReaderVersion", p.min_reader_version},
                        {"minWriterVersion", p.min_writer_version}};
  if (p.reader_features) out["readerFeatures"] = *p.reader_features;
  if (p.writer_features) out["writerFeatures"] = *p.writer_features;
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

int RunInspect(const std::string& table, bool json) {
  auto location = io::OpenTableLocation(table);
  if (!location.ok()) {
    std::cerr << "sluice: " << table << ": " << location.status().ToString() << std::endl;
    return 1;
  }
  auto snapshot = delta::Snapshot::Load(location->log);
  if (!snapshot.ok()) {
    std::cerr << "sluice: " << table << ": " << snapshot.status().ToString() << std::endl;
    return 1;
  }
  const auto& snap = **snapshot;
  std::optional<int64_t> last_checkpoint;
  auto hint = location->log->Read(delta::LastCheckpointPath());
  if (hint.ok()) {
    auto parsed = delta::LastCheckpointFromJson(*hint);
    if (parsed.ok()) last_checkpoint = parsed->version;
  }
  int64_t first_version = 0;
  auto commits = delta::ListCommits(*location->log, 0);
  if (commits.ok() && !commits->empty()) first_version = commits->front().first;
  int64_t bytes = 0, dv_files = 0, dv_rows = 0;
  for (const auto& f : snap.files()) {
    bytes += f.size;
    if (f.deletion_vector) {
      ++dv_files;
      dv_rows += f.deletion_vector->cardinality;
    }
  }
  auto rows = snap.NumRecords();
  nlohmann::json txns = nlohmann::json::object();
  for (const auto& [app, t] : snap.txns()) txns[app] = t.version;

  if (json) {
    nlohmann::json out = {
        {"version", snap.version()},
        {"oldest_version", first_version},
        {"protocol", ProtocolJson(snap.protocol())},
        {"schema", snap.metadata().schema_string},
        {"partition_columns", snap.metadata().partition_columns},
        {"configuration", snap.metadata().configuration},
        {"num_files", snap.files().size()},
        {"size_bytes", bytes},
        {"num_rows", rows ? nlohmann::json(*rows) : nlohmann::json(nullptr)},
        {"files_with_deletion_vectors", dv_files},
        {"deleted_rows", dv_rows},
        {"txns", txns},
        {"last_checkpoint", last_checkpoint ? nlohmann::json(*last_checkpoint) : nlohmann::json()},
        {"table_id", snap.metadata().id}};
    std::cout << out.dump() << std::endl;
    return 0;
  }
  const auto& p = snap.protocol();
  std::cout << "table        " << location->uri << "\n"
            << "id           " << snap.metadata().id << "\n"
            << "versions     " << first_version << " .. " << snap.version() << "\n"
            << "protocol     reader " << p.min_reader_version << ", writer "
            << p.min_writer_version;
  if (p.reader_features) std::cout << "; reader features: " << Join(*p.reader_features);
  if (p.writer_features) std::cout << "; writer features: " << Join(*p.writer_features);
  std::cout << "\n"
            << "checkpoint   "
            << (last_checkpoint ? "version " + std::to_string(*last_checkpoint) : "none") << "\n"
            << "partitioned  "
            << (snap.metadata().partition_columns.empty() ? "no"
                                                          : Join(snap.metadata().partition_columns))
            << "\n"
            << "files        " << snap.files().size() << " (" << bytes << " bytes, " << dv_files
            << " with deletion vectors)\n"
            << "rows         " << (rows ? std::to_string(*rows) : "unknown (files without stats)")
            << (dv_rows ? " after " + std::to_string(dv_rows) + " deleted by DVs" : "") << "\n"
            << "txn progress";
  if (snap.txns().empty()) std::cout << " none";
  for (const auto& [app, t] : snap.txns()) std::cout << "\n  " << app << " = " << t.version;
  std::cout << "\nschema\n";
  for (const auto& field : snap.schema()->fields()) {
    std::cout << "  " << field->name() << ": " << field->type()->ToString()
              << (field->nullable() ? "" : " not null") << "\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace sluice::cli
