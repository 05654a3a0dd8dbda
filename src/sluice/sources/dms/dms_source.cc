#include "sluice/sources/dms/dms_source.h"

#include <arrow/buffer.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>

#include "sluice/formats/json/gzip.h"
#include "sluice/sources/dms/dms_changes.h"
#include "sluice/sources/dms/dms_file_parts.h"
#include "sluice/sources/dms/dms_file_reader.h"
#include "sluice/sources/dms/dms_names.h"
#include "sluice/sources/dms/dms_settings.h"
#include "sluice/sources/file_stream.h"

namespace sluice::sources::dms {

namespace {

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Splitting a file (dms_file_parts.h): by its name; a gzip file only as its
// spooled content (file_stream.h), never its compressed bytes. A file whose
// bytes are gzip under a plain name (the whole-file readers gunzip by
// content) is read whole by its first part, and its other parts are empty.
bool SplitsFile(const std::optional<DmsFileName>& name, const Unit& unit) {
  return name && (!name->gzip || unit.spooled);
}

Result<bool> GzipContent(arrow::io::RandomAccessFile* file, int64_t size) {
  if (size < 2) return false;
  ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(0, 2));
  return formats::json::IsGzip(std::string_view(reinterpret_cast<const char*>(head->data()), 2));
}

class DmsStream : public FileStream {
 public:
  DmsStream(std::string id, FileStreamOptions fs_options, DmsSettings settings,
            const SourceOptions& options)
      : FileStream(id, std::move(fs_options)), settings_(std::move(settings)) {
    size_t slash = id.find('/');
    table_ = {id.substr(0, slash), slash == std::string::npos ? "" : id.substr(slash + 1)};
    auto it = options.tables.find(table_.Qualified());
    if (it != options.tables.end()) {
      schema_.primary_keys = it->second.primary_keys;
      schema_.columns = it->second.columns;
    }
  }

 protected:
  bool IsDataFile(std::string_view name) const override {
    auto f = ParseDmsFileName(name, settings_.parquet);
    return f && f->kind != DmsFileKind::kCdcTxn;
  }

  bool IsGzipFile(std::string_view path) const override {
    auto f = ParseDmsFileName(BaseName(std::string(path)), settings_.parquet);
    return f && f->gzip;
  }

  std::optional<int64_t> TimeOfPath(std::string_view path) const override {
    return DmsPathTime(path);
  }

  // Full-load files first: CDC files sort before `LOAD…` by path, and a CDC
  // row merged before its key's full-load row would lose that row's values
  // wherever it is a partial image (the later full-load row is older).
  int UnitRank(std::string_view path) const override {
    auto slash = path.rfind('/');
    auto f = ParseDmsFileName(slash == std::string_view::npos ? path : path.substr(slash + 1),
                              settings_.parquet);
    return f && f->kind == DmsFileKind::kFullLoad ? 0 : 1;
  }

  FileExtent CheckExtent(const arrow::Buffer& bytes, std::string_view path) const override {
    auto slash = path.rfind('/');
    auto f = ParseDmsFileName(slash == std::string_view::npos ? path : path.substr(slash + 1),
                              settings_.parquet);
    return CheckDmsExtent(bytes, f ? f->parquet : settings_.parquet);
  }

  // The folder is the table: DMS writes `<schema>/<table>/`.
  Result<std::optional<SourceTable>> IdentifyFile(const Unit&,
                                                  const std::shared_ptr<arrow::Buffer>&) override {
    return table_;
  }
  Result<std::optional<SourceTable>> IdentifyFilePart(
      const Unit&, std::shared_ptr<arrow::io::RandomAccessFile>) override {
    return table_;
  }

  Result<DecodedUnit> DecodeFile(const Unit& unit, const std::shared_ptr<arrow::Buffer>& bytes,
                                 const DecodeContext& ctx) const override {
    auto name = ParseDmsFileName(BaseName(unit.name), settings_.parquet);
    if (!name) return NotDataFile(unit);
    ARROW_ASSIGN_OR_RAISE(auto rows,
                          ReadDmsFile(bytes, *name, Where(unit.name), settings_, schema_));
    return Changes(unit, *name, std::move(rows), ctx);
  }

  // Parquet files are read with ranged reads (a large full-load file never
  // sits whole in memory); CSV needs its whole text.
  bool DecodesFromRanges(const Unit& unit) const override {
    auto name = ParseDmsFileName(BaseName(unit.name), settings_.parquet);
    return name && name->parquet;
  }

  Result<DecodedUnit> DecodeFileFrom(const Unit& unit,
                                     std::shared_ptr<arrow::io::RandomAccessFile> file,
                                     const DecodeContext& ctx) const override {
    auto name = ParseDmsFileName(BaseName(unit.name), settings_.parquet);
    if (!name) return NotDataFile(unit);
    ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
    ARROW_ASSIGN_OR_RAISE(auto rows,
                          ReadDmsFileFrom(file, size, *name, Where(unit.name), settings_, schema_));
    return Changes(unit, *name, std::move(rows), ctx);
  }

  bool SplitsIntoParts(const Unit& unit) const override {
    return SplitsFile(ParseDmsFileName(BaseName(unit.name), settings_.parquet), unit);
  }

  Result<DecodedUnit> DecodeFilePart(const Unit& unit,
                                     std::shared_ptr<arrow::io::RandomAccessFile> file,
                                     const DecodeContext& ctx) const override {
    auto name = ParseDmsFileName(BaseName(unit.name), settings_.parquet);
    if (!name) return unit.part == 0 ? NotDataFile(unit) : DecodedUnit{};
    const std::string where = Where(unit.Label());
    DmsFileRows rows;
    ARROW_ASSIGN_OR_RAISE(bool gzip, GzipContent(file.get(), unit.file_bytes));
    if (gzip) {
      if (unit.part == 0) {
        ARROW_ASSIGN_OR_RAISE(
            rows, ReadDmsFileFrom(file, unit.file_bytes, *name, where, settings_, schema_));
      }
    } else if (name->parquet) {
      ARROW_ASSIGN_OR_RAISE(rows, ReadDmsParquetPart(file, unit.begin(), unit.end(), where));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto bounds,
                            csv_bounds_.Get(unit, file.get(), DmsCsvRules(settings_, false)));
      ARROW_ASSIGN_OR_RAISE(
          rows, ReadDmsCsvPart(file.get(), unit, *bounds, *name, where, settings_, schema_));
    }
    return Changes(unit, *name, std::move(rows), ctx);
  }

 private:
  DecodedUnit NotDataFile(const Unit& unit) const {
    DecodedUnit out;
    TableChanges changes;
    changes.table = table_;
    changes.primary_keys = schema_.primary_keys;
    changes.bad.push_back({Where(unit.name), 0, "not a DMS data file name", ""});
    out.tables.push_back(std::move(changes));
    return out;
  }

  /// The change rows of a file's (or part's) raw rows.
  Result<DecodedUnit> Changes(const Unit& unit, const DmsFileName& file, DmsFileRows rows,
                              const DecodeContext& ctx) const {
    DecodedUnit out;
    TableChanges changes;
    changes.table = table_;
    changes.primary_keys = schema_.primary_keys;
    changes.bad = std::move(rows.bad);
    DmsFileContext fctx;
    fctx.where = Where(unit.name);
    fctx.ordinal = unit.ordinal;
    fctx.kind = file.kind;
    fctx.file_time_ms = file.time_ms;
    fctx.ingested_at_us = ctx.ingested_at_us;
    AddFileChanges(rows, std::move(fctx), settings_, schema_, Where(unit.Label()), &changes);
    out.tables.push_back(std::move(changes));
    return out;
  }

  DmsSettings settings_;
  SourceTable table_;
  DmsTableSchema schema_;
  CsvPartBoundsCache csv_bounds_;
};

// The CdcPath folder of PreserveTransactions: CDC_TXN files holding rows of
// many tables in transaction order. One stream (id = the folder) routing each
// row to its table; each file is read once whatever the number of tables.
class DmsTxnStream : public FileStream {
 public:
  DmsTxnStream(std::string id, FileStreamOptions fs_options, DmsSettings settings,
               const SourceOptions& options)
      : FileStream(std::move(id), std::move(fs_options)), settings_(std::move(settings)) {
    for (const auto& [qualified, t] : options.tables) {
      schemas_[qualified] = DmsTableSchema{t.primary_keys, t.columns};
    }
  }

  bool routes_many() const override { return true; }
  Result<std::optional<SourceTable>> Identify() override { return std::nullopt; }

 protected:
  bool IsDataFile(std::string_view name) const override {
    auto f = ParseDmsFileName(name, settings_.parquet);
    return f && f->kind == DmsFileKind::kCdcTxn;
  }

  bool IsGzipFile(std::string_view path) const override {
    auto f = ParseDmsFileName(BaseName(std::string(path)), settings_.parquet);
    return f && f->gzip;
  }

  std::optional<int64_t> TimeOfPath(std::string_view path) const override {
    return DmsPathTime(path);
  }

  FileExtent CheckExtent(const arrow::Buffer& bytes, std::string_view) const override {
    return CheckDmsExtent(bytes, false);
  }

  Result<std::optional<SourceTable>> IdentifyFile(const Unit&,
                                                  const std::shared_ptr<arrow::Buffer>&) override {
    return std::nullopt;
  }

  Result<DecodedUnit> DecodeFile(const Unit& unit, const std::shared_ptr<arrow::Buffer>& bytes,
                                 const DecodeContext& ctx) const override {
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadCdcTxnFile(bytes, Where(unit.name), settings_, schemas_));
    return Changes(unit, std::move(rows), ctx);
  }

  bool SplitsIntoParts(const Unit& unit) const override {
    return SplitsFile(ParseDmsFileName(BaseName(unit.name), settings_.parquet), unit);
  }

  Result<DecodedUnit> DecodeFilePart(const Unit& unit,
                                     std::shared_ptr<arrow::io::RandomAccessFile> file,
                                     const DecodeContext& ctx) const override {
    const std::string where = Where(unit.Label());
    ARROW_ASSIGN_OR_RAISE(bool gzip, GzipContent(file.get(), unit.file_bytes));
    DmsTxnRows rows;
    if (gzip) {
      if (unit.part == 0) {
        ARROW_ASSIGN_OR_RAISE(auto bytes, file->ReadAt(0, unit.file_bytes));
        ARROW_ASSIGN_OR_RAISE(rows, ReadCdcTxnFile(bytes, where, settings_, schemas_));
      }
    } else {
      ARROW_ASSIGN_OR_RAISE(auto bounds,
                            csv_bounds_.Get(unit, file.get(), DmsCsvRules(settings_, true)));
      ARROW_ASSIGN_OR_RAISE(rows,
                            ReadCdcTxnPart(file.get(), unit, *bounds, where, settings_, schemas_));
    }
    return Changes(unit, std::move(rows), ctx);
  }

 private:
  /// The change rows of a file's (or part's) records, per table.
  Result<DecodedUnit> Changes(const Unit& unit, DmsTxnRows rows, const DecodeContext& ctx) const {
    auto name = ParseDmsFileName(BaseName(unit.name), settings_.parquet);
    DecodedUnit out;
    out.bad = std::move(rows.bad);
    static const DmsTableSchema kNone;
    for (auto& [qualified, entry] : rows.tables) {
      auto it = schemas_.find(qualified);
      const DmsTableSchema& schema = it == schemas_.end() ? kNone : it->second;
      TableChanges changes;
      changes.table = entry.first;
      changes.primary_keys = schema.primary_keys;
      changes.bad = std::move(entry.second.bad);
      DmsFileContext fctx;
      fctx.where = Where(unit.name);
      fctx.ordinal = unit.ordinal;
      fctx.kind = DmsFileKind::kCdc;
      fctx.file_time_ms = name ? name->time_ms : std::nullopt;
      fctx.ingested_at_us = ctx.ingested_at_us;
      AddFileChanges(entry.second, std::move(fctx), settings_, schema, Where(unit.Label()),
                     &changes);
      out.tables.push_back(std::move(changes));
    }
    return out;
  }

  DmsSettings settings_;
  std::map<std::string, DmsTableSchema> schemas_;
  CsvPartBoundsCache csv_bounds_;
};

class DmsSource : public Source {
 public:
  explicit DmsSource(SourceOptions options) : options_(std::move(options)) {}

  Status Init() {
    ARROW_ASSIGN_OR_RAISE(settings_, ParseDmsSettings(options_.format, options_.settings));
    if (!settings_.csv_header && !settings_.parquet) {
      for (const auto& [name, table] : options_.tables) {
        if (table.columns.empty()) {
          return Status::Invalid("tables.\"", name,
                                 "\".columns is required: source.dms.csv_header is false, so "
                                 "the CSV files do not name their columns");
        }
      }
    }
    fs_options_ = FileStreamOptionsFor(&options_);
    return Status::OK();
  }

  // Streams: `<schema>/<table>` folders (hidden ones and the CdcPath skipped).
  Result<std::vector<std::string>> Discover() override {
    const std::string& cdc = settings_.cdc_path;
    std::vector<std::string> out;
    ARROW_ASSIGN_OR_RAISE(auto schemas, ListSourceFolders(fs_options_, ""));
    for (const auto& schema : schemas) {
      if (!cdc.empty() && (schema == cdc || cdc.compare(0, schema.size() + 1, schema + "/") == 0)) {
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto tables, ListSourceFolders(fs_options_, schema));
      for (const auto& table : tables) out.push_back(schema + "/" + table);
    }
    if (!cdc.empty()) {
      size_t slash = cdc.rfind('/');
      std::string parent = slash == std::string::npos ? "" : cdc.substr(0, slash);
      std::string name = slash == std::string::npos ? cdc : cdc.substr(slash + 1);
      ARROW_ASSIGN_OR_RAISE(auto siblings, ListSourceFolders(fs_options_, parent));
      if (std::binary_search(siblings.begin(), siblings.end(), name)) out.push_back(cdc);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::unique_ptr<Stream>> OpenStream(const std::string& id) override {
    if (!settings_.cdc_path.empty() && id == settings_.cdc_path) {
      return std::make_unique<DmsTxnStream>(id, fs_options_, settings_, options_);
    }
    return std::make_unique<DmsStream>(id, fs_options_, settings_, options_);
  }

  std::string Describe() const override {
    return "dms " + options_.format + " files from " + options_.path;
  }

 private:
  SourceOptions options_;
  DmsSettings settings_;
  FileStreamOptions fs_options_;
};

}  // namespace

Result<std::unique_ptr<Source>> MakeDmsSource(const SourceOptions& options) {
  auto source = std::make_unique<DmsSource>(options);
  ARROW_RETURN_NOT_OK(source->Init());
  return source;
}

}  // namespace sluice::sources::dms
