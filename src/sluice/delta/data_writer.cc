#include "sluice/delta/data_writer.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/filesystem/filesystem.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/compression.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <cctype>
#include <chrono>
#include <future>
#include <map>

#include "sluice/core/bytes_written.h"
#include "sluice/core/clock.h"
#include "sluice/core/uuid.h"
#include "sluice/delta/partition_value.h"
#include "sluice/io/filesystem_opener.h"
#include "sluice/io/table_location.h"

namespace sluice::delta {

namespace {

constexpr int64_t kDictionaryPageLimit = 128 * 1024;
constexpr int64_t kDataPageSize = 64 * 1024;

Result<arrow::Compression::type> CodecFor(const std::string& name) {
  if (name == "zstd") return arrow::Compression::ZSTD;
  if (name == "snappy") return arrow::Compression::SNAPPY;
  if (name == "gzip") return arrow::Compression::GZIP;
  if (name == "lz4") return arrow::Compression::LZ4;
  if (name == "uncompressed" || name == "none") return arrow::Compression::UNCOMPRESSED;
  return Status::Invalid("unknown Parquet compression '", name,
                         "' (zstd, snappy, lz4, gzip or uncompressed)");
}

// The level to write with, if the codec takes one.
std::optional<int> LevelFor(arrow::Compression::type codec, std::optional<int> level) {
  if (!arrow::util::Codec::SupportsCompressionLevel(codec)) return std::nullopt;
  if (codec == arrow::Compression::ZSTD) return level.value_or(1);
  return level;
}

// Writes the rows of one partition into as many files as the target size asks.
class PartitionWriter {
 public:
  PartitionWriter(arrow::fs::FileSystem& fs, const std::string& root, std::string dir,
                  PartitionValues values, const DataWriteOptions& options)
      : fs_(fs), root_(root), dir_(std::move(dir)), values_(std::move(values)), options_(options) {}

  Status Write(const std::shared_ptr<arrow::Table>& table, std::vector<Add>* out) {
    // The file size is only known after a row group is written, so when the
    // target is small relative to the data, write smaller row groups: aim
    // for about four per file, assuming Parquet shrinks the in-memory size
    // about threefold.
    int64_t slice_rows = options_.row_group_rows;
    if (table->num_rows() > 0) {
      int64_t mem = arrow::util::TotalBufferSize(*table);
      double bytes_per_row = std::max(1.0, static_cast<double>(mem) / table->num_rows() / 3.0);
      auto rows_per_file = static_cast<int64_t>(options_.target_file_size / bytes_per_row);
      slice_rows = std::clamp<int64_t>(rows_per_file / 4, 256, options_.row_group_rows);
    }
    int64_t offset = 0;
    while (offset < table->num_rows()) {
      int64_t n = std::min(slice_rows, table->num_rows() - offset);
      auto slice = table->Slice(offset, n);
      if (!writer_) ARROW_RETURN_NOT_OK(Open(table->schema()));
      // One buffered row group per slice: starting the next one (or Close)
      // encodes the previous one's columns in parallel on Arrow's CPU pool,
      // which a plain WriteTable does not. So the size seen below lags by
      // one row group; files end up to a row group over the target.
      ARROW_RETURN_NOT_OK(writer_->NewBufferedRowGroup());
      ARROW_ASSIGN_OR_RAISE(auto batch, slice->CombineChunksToBatch());
      // The Delta stats pass runs beside the parallel column encoding.
      auto stats = std::async(std::launch::async, [&] { return stats_->Update(*batch); });
      Status written = writer_->WriteRecordBatch(*batch);
      Status counted = stats.get();
      ARROW_RETURN_NOT_OK(written);
      ARROW_RETURN_NOT_OK(counted);
      ARROW_ASSIGN_OR_RAISE(int64_t pos, sink_->Tell());
      if (pos >= options_.target_file_size) ARROW_RETURN_NOT_OK(Close(out));
      offset += n;
    }
    return Status::OK();
  }

  Status Close(std::vector<Add>* out) {
    if (!writer_) return Status::OK();
    ARROW_RETURN_NOT_OK(writer_->Close());
    ARROW_ASSIGN_OR_RAISE(int64_t size, sink_->Tell());
    ARROW_RETURN_NOT_OK(sink_->Close());
    CountBytesWritten(size);
    Add add;
    add.path = EncodeAddPath(relative_);
    add.partition_values = values_;
    add.size = size;
    add.modification_time = WallClockMs();
    add.data_change = true;
    add.stats = stats_->ToJson();
    out->push_back(std::move(add));
    writer_.reset();
    sink_.reset();
    stats_.reset();
    return Status::OK();
  }

 private:
  Status Open(const std::shared_ptr<arrow::Schema>& schema) {
    std::string ext = options_.compression == "uncompressed" ? "" : "." + options_.compression;
    std::string name =
        "part-" + std::to_string(file_index_++) + "-" + NewUuidV4() + "-c000" + ext + ".parquet";
    relative_ = dir_.empty() ? name : dir_ + "/" + name;
    std::string abs = io::JoinPath(root_, relative_);
    auto parent = abs.substr(0, abs.rfind('/'));
    // Object stores need no directories (a marker object would be listed).
    if (!io::IsObjectStore(fs_)) ARROW_RETURN_NOT_OK(fs_.CreateDir(parent, /*recursive=*/true));
    ARROW_ASSIGN_OR_RAISE(sink_, fs_.OpenOutputStream(abs));
    ARROW_ASSIGN_OR_RAISE(auto codec, CodecFor(options_.compression));
    parquet::WriterProperties::Builder props;
    props.compression(codec);
    if (auto level = LevelFor(codec, options_.compression_level)) props.compression_level(*level);
    props.max_row_group_length(options_.row_group_rows);
    // A column whose dictionary outgrows this falls back to plain encoding;
    // Arrow's 1 MiB default spends a lot of hashing on nearly unique columns
    // (sequences, origins, uuids, long text) before giving up. Columns with
    // few distinct values stay far below it.
    props.dictionary_pagesize_limit(kDictionaryPageLimit);
    // Pages fill (and are compressed) while the columns are encoded in
    // parallel; what is left is flushed one column after another when the
    // row group closes. With Arrow's 1 MiB pages most columns of a CDC batch
    // were still a single open page at that point, so the close was a
    // serial pass; 64 KiB pages cut the wall time by 3-5% and files grow 1%.
    props.data_pagesize(kDataPageSize);
    // Delta readers expect microsecond timestamps (Spark reads INT64 micros).
    parquet::ArrowWriterProperties::Builder arrow_props;
    arrow_props.coerce_timestamps(arrow::TimeUnit::MICRO)->allow_truncated_timestamps();
    arrow_props.set_use_threads(true);
    ARROW_ASSIGN_OR_RAISE(
        writer_, parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(), sink_,
                                                  props.build(), arrow_props.build()));
    stats_ = std::make_unique<StatsCollector>(schema, options_.stats);
    return Status::OK();
  }

  arrow::fs::FileSystem& fs_;
  const std::string& root_;
  std::string dir_;
  PartitionValues values_;
  const DataWriteOptions& options_;
  int file_index_ = 0;
  std::string relative_;
  std::shared_ptr<arrow::io::OutputStream> sink_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  std::unique_ptr<StatsCollector> stats_;
};

}  // namespace

Status ValidateCompression(const std::string& name, std::optional<int> level) {
  ARROW_ASSIGN_OR_RAISE(auto codec, CodecFor(name));
  if (!level) return Status::OK();
  if (!arrow::util::Codec::SupportsCompressionLevel(codec)) {
    return Status::Invalid("Parquet compression '", name, "' takes no level");
  }
  ARROW_ASSIGN_OR_RAISE(int lo, arrow::util::Codec::MinimumCompressionLevel(codec));
  ARROW_ASSIGN_OR_RAISE(int hi, arrow::util::Codec::MaximumCompressionLevel(codec));
  if (*level < lo || *level > hi) {
    return Status::Invalid("compression level ", *level, " of '", name, "' is outside ", lo, "..",
                           hi);
  }
  return Status::OK();
}

std::string EncodeAddPath(const std::string& relative) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : relative) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '=' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string DecodeAddPath(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(path[i + 1]), lo = hex(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += path[i];
  }
  return out;
}

Result<std::vector<Add>> WriteDataFiles(arrow::fs::FileSystem& fs, const std::string& root,
                                        const std::shared_ptr<arrow::Table>& data,
                                        const std::vector<std::string>& partition_columns,
                                        const DataWriteOptions& options) {
  std::vector<Add> adds;
  if (data->num_rows() == 0) return adds;
  if (partition_columns.empty()) {
    PartitionWriter writer(fs, root, "", {}, options);
    ARROW_RETURN_NOT_OK(writer.Write(data, &adds));
    ARROW_RETURN_NOT_OK(writer.Close(&adds));
    return adds;
  }
  // Group row indexes by their partition values.
  std::vector<std::shared_ptr<arrow::Array>> part_arrays;
  std::vector<int> part_field_indexes;
  for (const auto& name : partition_columns) {
    int idx = data->schema()->GetFieldIndex(name);
    if (idx < 0) return Status::Invalid("partition column '", name, "' is not in the data");
    part_field_indexes.push_back(idx);
    ARROW_ASSIGN_OR_RAISE(auto combined, arrow::Concatenate(data->column(idx)->chunks()));
    part_arrays.push_back(combined);
  }
  std::map<std::vector<std::optional<std::string>>, std::vector<int64_t>> groups;
  std::vector<std::optional<std::string>> key(partition_columns.size());
  for (int64_t row = 0; row < data->num_rows(); ++row) {
    for (size_t c = 0; c < part_arrays.size(); ++c) {
      ARROW_ASSIGN_OR_RAISE(key[c], SerializePartitionValue(*part_arrays[c], row));
    }
    groups[key].push_back(row);
  }
  // The files hold only the non-partition columns.
  std::vector<int> data_fields;
  for (int i = 0; i < data->num_columns(); ++i) {
    if (std::find(part_field_indexes.begin(), part_field_indexes.end(), i) ==
        part_field_indexes.end()) {
      data_fields.push_back(i);
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto data_only, data->SelectColumns(data_fields));
  for (const auto& [values, rows] : groups) {
    arrow::Int64Builder idx_builder;
    ARROW_RETURN_NOT_OK(idx_builder.AppendValues(rows));
    ARROW_ASSIGN_OR_RAISE(auto indices, idx_builder.Finish());
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(data_only, indices));
    std::string dir;
    PartitionValues pv;
    for (size_t c = 0; c < partition_columns.size(); ++c) {
      if (!dir.empty()) dir += "/";
      dir += EscapePartitionPathSegment(partition_columns[c]) + "=" +
             (values[c] ? EscapePartitionPathSegment(*values[c]) : "__HIVE_DEFAULT_PARTITION__");
      pv[partition_columns[c]] = values[c];
    }
    PartitionWriter writer(fs, root, dir, pv, options);
    ARROW_RETURN_NOT_OK(writer.Write(taken.table(), &adds));
    ARROW_RETURN_NOT_OK(writer.Close(&adds));
  }
  return adds;
}

}  // namespace sluice::delta
