// `sluice compact | vacuum`: table maintenance from the command line. Both
// also maintain the table's side tables (merge/side_table.h: a merged
// table's _sluice/tombstones, a history table's _sluice/orphan_deletes),
// which the merge appends one tiny file to per batch.
#include <cstdio>
#include <iostream>

#include "sluice/cli/commands.h"
#include "sluice/cli/duration.h"
#include "sluice/cli/progress.h"
#include "sluice/delta/compaction.h"
#include "sluice/delta/data_writer.h"
#include "sluice/delta/retention.h"
#include "sluice/delta/table_writer.h"
#include "sluice/delta/vacuum.h"
#include "sluice/merge/history_orphans.h"
#include "sluice/merge/tombstone_store.h"

namespace sluice::cli {

namespace {

int Fail(const std::string& what, const Status& st) {
  std::cerr << "sluice: " << what << ": " << st.ToString() << std::endl;
  return 1;
}

std::string Bytes(int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// The tables one command works on: the table, then its side tables if any.
struct Target {
  std::string name;  // for messages
  io::TableLocation location;
  const merge::SideTable* side = nullptr;  // set for a side table
};

Result<std::vector<Target>> Targets(const std::string& table, bool side_tables) {
  std::vector<Target> out;
  ARROW_ASSIGN_OR_RAISE(auto location, io::OpenTableLocation(table));
  out.push_back({table, location, nullptr});
  if (side_tables) {
    for (const merge::SideTable* kind : {&merge::TombstoneTable(), &merge::OrphanDeleteTable()}) {
      ARROW_ASSIGN_OR_RAISE(auto side, kind->Location(location));
      ARROW_ASSIGN_OR_RAISE(auto head, side.log->Head(delta::CommitPath(0)));
      if (head) out.push_back({table + "/_sluice/" + kind->spec().name, side, kind});
    }
  }
  return out;
}

Result<std::shared_ptr<const delta::Snapshot>> LoadTable(const Target& t) {
  auto snapshot = delta::Snapshot::Load(t.location.log);
  if (snapshot.status().IsKeyError()) {
    return Status::Invalid("no Delta table at ", t.name, " (", snapshot.status().message(), ")");
  }
  return snapshot;
}

}  // namespace

int RunCompact(const CompactArgs& args) {
  auto codec = delta::ValidateCompression(args.codec.name, args.codec.level);
  if (!codec.ok()) return Fail("--compression", codec);
  auto targets = Targets(args.table, !args.no_side_tables);
  if (!targets.ok()) return Fail("compact " + args.table, targets.status());
  for (const auto& t : *targets) {
    auto snapshot = LoadTable(t);
    if (!snapshot.ok()) return Fail("compact " + t.name, snapshot.status());
    delta::CompactionOptions options;
    options.target_file_size = args.target_file_size;
    options.small_file_size = args.small_file_size;
    options.min_small_files = args.min_small_files;
    options.max_deleted_ratio = args.max_deleted_ratio;
    options.max_bytes = args.max_bytes;
    if (t.side) {
      // A side table keeps zstd, as the pipeline writes it.
      options = t.side->CompactionOptions(options);
    } else {
      options.data.compression = args.codec.name;
      options.data.compression_level = args.codec.level;
    }
    Progress progress("compact " + t.name, Progress::Unit::kBytes, std::cerr,
                      Progress::StderrIsTerminal());
    options.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
    auto result = delta::CompactTable(t.location, *snapshot, options);
    progress.Finish();
    if (!result.ok()) return Fail("compact " + t.name, result.status());
    std::cout << t.name << ": ";
    if (!result->committed) {
      std::cout << "nothing to compact at version " << result->version;
      if (result->files_deferred > 0) {
        std::cout << " (" << result->files_deferred << " small file(s), too few to be worth it)";
      }
      std::cout << std::endl;
      continue;
    }
    std::cout << "compacted at version " << result->version << ": " << result->files_removed
              << " file(s), " << Bytes(result->bytes_before) << " -> " << result->files_added
              << " file(s), " << Bytes(result->bytes_after) << "; " << result->rows << " rows";
    if (result->rows_purged > 0) {
      std::cout << ", " << result->rows_purged << " deleted rows dropped";
    }
    if (result->files_deferred > 0) {
      std::cout << "; " << result->files_deferred << " candidate file(s) left for another run";
    }
    std::cout << std::endl;
  }
  return 0;
}

int RunVacuum(const VacuumArgs& args) {
  delta::VacuumOptions options;
  options.dry_run = args.dry_run;
  if (!args.retention.empty()) {
    auto ms = ParseDurationArg(args.retention);
    if (!ms.ok()) return Fail("--retention", ms.status());
    options.retention_ms = *ms;
  }
  if (!args.log_retention.empty()) {
    auto ms = ParseDurationArg(args.log_retention);
    if (!ms.ok()) return Fail("--log-retention", ms.status());
    options.log_retention_ms = *ms;
  }
  auto targets = Targets(args.table, !args.no_side_tables);
  if (!targets.ok()) return Fail("vacuum " + args.table, targets.status());
  for (const auto& t : *targets) {
    auto snapshot = LoadTable(t);
    if (!snapshot.ok()) return Fail("vacuum " + t.name, snapshot.status());
    const int64_t table_retention = delta::DeletedFileRetentionMs((*snapshot)->metadata());
    if (options.retention_ms && *options.retention_ms < table_retention && !args.dry_run) {
      std::cerr << "sluice: warning: vacuum of " << t.name << " with a retention of "
                << FormatDuration(*options.retention_ms) << ", shorter than the table's "
                << FormatDuration(table_retention)
                << ": readers of older versions and writers still writing may lose files"
                << std::endl;
    }
    Progress progress("vacuum " + t.name, Progress::Unit::kFiles, std::cerr,
                      Progress::StderrIsTerminal());
    options.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
    auto result = delta::VacuumTable(t.location, *snapshot, options);
    progress.Finish();
    if (!result.ok()) return Fail("vacuum " + t.name, result.status());
    const char* verb = result->dry_run ? "would delete" : "deleted";
    std::cout << t.name << ": vacuum at version " << result->version << ", retention "
              << FormatDuration(result->retention_ms) << ": " << verb << " "
              << result->deleted.size() << " file(s), " << Bytes(result->bytes_deleted) << "; kept "
              << result->files_referenced << " referenced, " << result->files_too_young
              << " within the retention";
    if (!result->log_deleted.empty()) {
      std::cout << "; " << verb << " " << result->log_deleted.size() << " expired log file(s)";
    }
    std::cout << std::endl;
    if (result->dry_run) {
      for (const auto& f : result->deleted) std::cout << "  " << f << std::endl;
      for (const auto& f : result->log_deleted) std::cout << "  " << f << std::endl;
    }
  }
  return 0;
}

}  // namespace sluice::cli
