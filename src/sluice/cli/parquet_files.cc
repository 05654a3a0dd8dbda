#include "sluice/cli/parquet_files.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <cstdio>

namespace sluice::cli {

Result<std::shared_ptr<arrow::Table>> ReadParquetFile(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto input, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
  std::shared_ptr<arrow::Table> table;
  ARROW_RETURN_NOT_OK(reader->ReadTable(&table));
  return table;
}

Status WriteParquetFile(const std::shared_ptr<arrow::Table>& table, const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::FileOutputStream::Open(path));
  parquet::ArrowWriterProperties::Builder arrow_props;
  arrow_props.store_schema();
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out,
                                                 64 * 1024, parquet::default_writer_properties(),
                                                 arrow_props.build()));
  return out->Close();
}

Result<int64_t> ParseTimestampMs(const std::string& text) {
  bool digits = !text.empty();
  for (char ch : text) digits = digits && std::isdigit(static_cast<unsigned char>(ch));
  if (digits) return std::stoll(text);
  int y, mo, d, h = 0, mi = 0, s = 0;
  char sep = 'T';
  int n = std::sscanf(text.c_str(), "%d-%d-%d%c%d:%d:%d", &y, &mo, &d, &sep, &h, &mi, &s);
  if (n != 3 && n != 7) return Status::Invalid("cannot parse timestamp '", text, "'");
  double frac = 0;
  auto dot = text.find('.');
  if (dot != std::string::npos) frac = std::atof(("0" + text.substr(dot)).c_str());
  // Days from civil (proleptic Gregorian).
  y -= mo <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000 + s * 1000 + static_cast<int64_t>(frac * 1000 + 0.5);
}

}  // namespace sluice::cli
