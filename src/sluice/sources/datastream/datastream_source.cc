#include "sluice/sources/datastream/datastream_source.h"

#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>

#include <cctype>

#include "sluice/formats/avro/ocf_extent.h"
#include "sluice/formats/json/gzip.h"
#include "sluice/formats/json/timestamp_text.h"
#include "sluice/sources/datastream/change_batch_builder.h"
#include "sluice/sources/datastream/file_decoder.h"
#include "sluice/sources/datastream/table_identity.h"
#include "sluice/sources/file_stream.h"

namespace sluice::sources::datastream {

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "yyyy/mm/dd/hh/mm/<file>" -> that minute, UTC ms.
std::optional<int64_t> MinuteOfPath(std::string_view path) {
  int64_t parts[5];
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos || slash == pos) return std::nullopt;
    int64_t v = 0;
    for (size_t k = pos; k < slash; ++k) {
      if (!std::isdigit(static_cast<unsigned char>(path[k])) || slash - pos > 4)
        return std::nullopt;
      v = v * 10 + (path[k] - '0');
    }
    parts[i] = v;
    pos = slash + 1;
  }
  if (parts[1] < 1 || parts[1] > 12 || parts[2] < 1 || parts[2] > 31 || parts[3] > 23 ||
      parts[4] > 59) {
    return std::nullopt;
  }
  int64_t days = formats::json::DaysFromCivil(parts[0], static_cast<int>(parts[1]),
                                              static_cast<int>(parts[2]));
  return ((days * 24 + parts[3]) * 60 + parts[4]) * 60'000;
}

class DatastreamStream : public FileStream {
 public:
  DatastreamStream(std::string folder, FileStreamOptions fs_options, const SourceOptions& options)
      : FileStream(std::move(folder), std::move(fs_options)), options_(options) {
    base_decode_.format = options.format == "json" ? FileFormat::kJson : FileFormat::kAvro;
    auto nt = options.settings.find("number_type");
    base_decode_.number_as_string = nt != options.settings.end() && nt->second == "string";
    decode_ = base_decode_;
  }

 protected:
  bool IsDataFile(std::string_view name) const override {
    std::string_view n = EndsWith(name, ".gz") ? name.substr(0, name.size() - 3) : name;
    if (base_decode_.format == FileFormat::kAvro) return EndsWith(n, ".avro");
    return EndsWith(n, ".json") || EndsWith(n, ".jsonl") || EndsWith(n, ".ndjson");
  }

  bool IsGzipFile(std::string_view path) const override { return EndsWith(path, ".gz"); }

  std::optional<int64_t> TimeOfPath(std::string_view path) const override {
    return MinuteOfPath(path);
  }

  FileExtent CheckExtent(const arrow::Buffer& bytes, std::string_view) const override {
    std::string_view data(reinterpret_cast<const char*>(bytes.data()),
                          static_cast<size_t>(bytes.size()));
    if (formats::json::IsGzip(data)) {
      // A gzip stream being written has no trailer yet.
      auto gunzipped = formats::json::Gunzip(data, int64_t{8} << 30, 0);
      if (!gunzipped.ok()) return FileExtent::kWhole;  // too big to check: let the decoder say
      return gunzipped->damage.empty() ? FileExtent::kWhole : FileExtent::kTruncated;
    }
    if (base_decode_.format == FileFormat::kAvro) {
      switch (formats::avro::CheckOcfExtent(data)) {
        case formats::avro::OcfExtent::kWhole:
          return FileExtent::kWhole;
        case formats::avro::OcfExtent::kTruncated:
          return FileExtent::kTruncated;
        case formats::avro::OcfExtent::kDamaged:
          return FileExtent::kDamaged;
      }
    }
    // JSON: a writer appends whole lines; a file cut mid-line does not end
    // with a newline or a closing bracket.
    size_t end = data.find_last_not_of(" \t\r");
    if (end == std::string_view::npos) return FileExtent::kTruncated;
    char last = data[end];
    return last == '\n' || last == '}' || last == ']' ? FileExtent::kWhole : FileExtent::kTruncated;
  }

  Result<std::optional<SourceTable>> IdentifyFile(
      const Unit& unit, const std::shared_ptr<arrow::Buffer>& bytes) override {
    ARROW_ASSIGN_OR_RAISE(auto decoded,
                          datastream::DecodeFile(bytes, Where(unit.name), base_decode_));
    return Identified(decoded);
  }

  // A large file: from its first part, never read whole.
  Result<std::optional<SourceTable>> IdentifyFilePart(
      const Unit& first_part, std::shared_ptr<arrow::io::RandomAccessFile> file) override {
    ARROW_ASSIGN_OR_RAISE(
        auto decoded,
        datastream::DecodeFilePart(*file, first_part.file_bytes, first_part.begin(),
                                   first_part.end(), Where(first_part.Label()), base_decode_));
    return Identified(decoded);
  }

  // The table of the first event, and its configured options from now on.
  std::optional<SourceTable> Identified(const DecodedFile& decoded) {
    if (decoded.batches.empty()) return std::nullopt;
    TableIdentity id = IdentifyTable(decoded.batches.front().get(), this->id());
    SourceTable table{id.database, id.table};
    auto it = options_.tables.find(table.Qualified());
    if (it != options_.tables.end()) {
      decode_.pinned_types = it->second.column_types;
      normalize_.primary_keys_override = it->second.primary_keys;
    }
    return table;
  }

  Result<DecodedUnit> DecodeFile(const Unit& unit, const std::shared_ptr<arrow::Buffer>& bytes,
                                 const DecodeContext& ctx) const override {
    const std::string where = Where(unit.name);
    ARROW_ASSIGN_OR_RAISE(auto decoded, datastream::DecodeFile(bytes, where, decode_));
    return Changes(std::move(decoded), unit, where, ctx);
  }

  /// Every Avro or NDJSON file can be cut at its block or line starts; a
  /// JSON array is read whole by its first part (file_parts.h). Gzip cannot
  /// be cut: such files are never split.
  // A gzip file splits only as its spooled content (file_stream.h).
  bool SplitsIntoParts(const Unit& unit) const override {
    return unit.spooled || !EndsWith(unit.name, ".gz");
  }

  Result<DecodedUnit> DecodeFilePart(const Unit& unit,
                                     std::shared_ptr<arrow::io::RandomAccessFile> file,
                                     const DecodeContext& ctx) const override {
    const std::string where = Where(unit.Label());
    ARROW_ASSIGN_OR_RAISE(
        auto decoded, datastream::DecodeFilePart(*file, unit.file_bytes, unit.begin(), unit.end(),
                                                 where, decode_));
    return Changes(std::move(decoded), unit, where, ctx);
  }

 private:
  // The change batches of a decoded file or part (`where` names it).
  Result<DecodedUnit> Changes(DecodedFile decoded, const Unit& unit, const std::string& where,
                              const DecodeContext& ctx) const {
    DecodedUnit out;
    SourceTable table = identity_.value_or(SourceTable{});
    if (!identity_) {
      TableIdentity id = IdentifyTable(
          decoded.batches.empty() ? nullptr : decoded.batches.front().get(), this->id());
      table = {id.database, id.table};
    }
    TableChanges bad_only;
    bad_only.table = table;
    for (auto& b : decoded.bad) {
      bad_only.bad.push_back({where, b.offset, std::move(b.reason), std::move(b.raw)});
    }
    out.tables.push_back(std::move(bad_only));
    int64_t row_index = 0;
    for (const auto& events : decoded.batches) {
      FileContext fctx{where, unit.ordinal, ctx.ingested_at_us, row_index};
      ARROW_ASSIGN_OR_RAISE(auto normalized, Normalize(*events, fctx, normalize_));
      TableChanges changes;
      changes.table = table;
      changes.primary_keys = std::move(normalized.primary_keys);
      for (const auto& rejected : normalized.rejected) {
        changes.bad.push_back({where, row_index + rejected.row, rejected.reason,
                               events->Slice(rejected.row, 1)->ToString()});
      }
      if (normalized.changes && normalized.changes->num_rows() > 0) {
        changes.batches.push_back(std::move(normalized.changes));
      }
      out.tables.push_back(std::move(changes));
      row_index += events->num_rows();
    }
    return out;
  }

  SourceOptions options_;
  DecodeOptions base_decode_;
  DecodeOptions decode_;
  NormalizeOptions normalize_;
};

class DatastreamSource : public Source {
 public:
  explicit DatastreamSource(SourceOptions options) : options_(std::move(options)) {}

  Status Init() {
    if (options_.format != "avro" && options_.format != "json") {
      return Status::Invalid("source.format \"", options_.format,
                             "\" is not a Datastream format (avro | json)");
    }
    fs_options_ = FileStreamOptionsFor(&options_);
    return Status::OK();
  }

  Result<std::vector<std::string>> Discover() override {
    return ListSourceFolders(fs_options_, "");
  }

  Result<std::unique_ptr<Stream>> OpenStream(const std::string& id) override {
    return std::make_unique<DatastreamStream>(id, fs_options_, options_);
  }

  std::string Describe() const override {
    return "datastream " + options_.format + " files from " + options_.path;
  }

 private:
  SourceOptions options_;
  FileStreamOptions fs_options_;
};

}  // namespace

Result<std::unique_ptr<Source>> MakeDatastreamSource(const SourceOptions& options) {
  auto source = std::make_unique<DatastreamSource>(options);
  ARROW_RETURN_NOT_OK(source->Init());
  return source;
}

}  // namespace sluice::sources::datastream
