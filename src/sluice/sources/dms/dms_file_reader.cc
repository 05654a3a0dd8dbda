#include "sluice/sources/dms/dms_file_reader.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include "sluice/formats/csv/csv_decoder.h"
#include "sluice/formats/json/gzip.h"

namespace sluice::sources::dms {

namespace {

constexpr int64_t kMaxGunzip = int64_t{8} << 30;

std::string_view View(const arrow::Buffer& b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<size_t>(b.size())};
}

DmsFileRows FileBad(const std::string& where, int64_t offset, std::string reason) {
  DmsFileRows out;
  out.bad.push_back({where, offset, std::move(reason), ""});
  return out;
}

Result<DmsFileRows> ReadParquet(const std::shared_ptr<arrow::Buffer>& bytes,
                                const std::string& where) {
  auto input = std::make_shared<arrow::io::BufferReader>(bytes);
  // The Parquet reader throws on some corrupt metadata: keep it inside.
  try {
    auto opened = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
    if (!opened.ok()) {
      return FileBad(where, 0, "not a readable Parquet file: " + opened.status().message());
    }
    std::unique_ptr<parquet::arrow::FileReader> reader = std::move(*opened);
    std::shared_ptr<arrow::Table> table;
    auto st = reader->ReadTable(&table);
    if (!st.ok()) return FileBad(where, 0, "corrupt Parquet file: " + st.message());
    auto combined = table->CombineChunksToBatch();
    if (!combined.ok())
      return FileBad(where, 0, "corrupt Parquet file: " + combined.status().message());
    DmsFileRows out;
    constexpr int64_t kPart = 65'536;
    for (int64_t off = 0; off < (*combined)->num_rows(); off += kPart) {
      DmsRawRows part;
      part.batch = (*combined)->Slice(off, kPart);
      out.parts.push_back(std::move(part));
    }
    return out;
  } catch (const std::exception& e) {
    return FileBad(where, 0, std::string("corrupt Parquet file: ") + e.what());
  }
}

Result<DmsFileRows> ReadCsv(std::string_view text, const std::string& where,
                            const DmsSettings& settings, const std::vector<std::string>& names) {
  formats::csv::CsvOptions o;
  o.delimiter = settings.csv_delimiter;
  o.header = settings.csv_header;
  o.column_names = names;
  o.null_value = settings.csv_null;
  o.no_sup_value = settings.csv_no_sup_value;
  auto decoded = formats::csv::DecodeCsv(text, o);
  if (!decoded.ok()) {
    if (decoded.status().IsNotImplemented()) return decoded.status();
    return FileBad(where, 0, "unreadable CSV: " + decoded.status().message());
  }
  DmsFileRows out;
  for (auto& e : decoded->errors) {
    out.bad.push_back({where, e.byte_offset, std::move(e.reason), std::move(e.raw)});
  }
  DmsRawRows part;
  part.batch = decoded->batch;
  part.unsupplied = std::move(decoded->unsupplied);
  part.offsets = std::move(decoded->record_offsets);
  if (part.batch && part.batch->num_rows() > 0) out.parts.push_back(std::move(part));
  return out;
}

}  // namespace

Result<DmsFileRows> ReadDmsFile(const std::shared_ptr<arrow::Buffer>& bytes,
                                const DmsFileName& file, const std::string& where,
                                const DmsSettings& settings,
                                const std::vector<std::string>& names) {
  std::shared_ptr<arrow::Buffer> data = bytes;
  std::string gunzipped;
  if (formats::json::IsGzip(View(*bytes))) {
    ARROW_ASSIGN_OR_RAISE(auto g, formats::json::Gunzip(View(*bytes), kMaxGunzip, 0));
    if (!g.damage.empty() && (file.parquet || g.size == 0)) {
      return FileBad(where, g.damage_offset, "damaged gzip stream: " + g.damage);
    }
    gunzipped = std::move(g.data);
    gunzipped.resize(static_cast<size_t>(g.size));
    data = arrow::Buffer::FromString(std::move(gunzipped));
  }
  if (file.parquet) return ReadParquet(data, where);
  return ReadCsv(View(*data), where, settings, names);
}

FileExtent CheckDmsExtent(const arrow::Buffer& bytes, bool parquet) {
  std::string_view data = View(bytes);
  if (formats::json::IsGzip(data)) {
    auto g = formats::json::Gunzip(data, kMaxGunzip, 0);
    if (!g.ok()) return FileExtent::kWhole;  // too big to check: the decoder says
    return g->damage.empty() ? FileExtent::kWhole : FileExtent::kTruncated;
  }
  if (parquet) {
    if (data.size() < 4 || data.substr(0, 4) != "PAR1") {
      return data.size() < 4 ? FileExtent::kTruncated : FileExtent::kDamaged;
    }
    return data.size() >= 12 && data.substr(data.size() - 4) == "PAR1" ? FileExtent::kWhole
                                                                       : FileExtent::kTruncated;
  }
  // DMS writes whole records; a file cut mid-record does not end a line.
  // (A quoted field may hold a newline: the CSV decoder reports an
  // unclosed quote for a file read as it is after the timeout.)
  if (data.empty()) return FileExtent::kTruncated;
  return data.back() == '\n' || data.back() == '\r' ? FileExtent::kWhole : FileExtent::kTruncated;
}

}  // namespace sluice::sources::dms
