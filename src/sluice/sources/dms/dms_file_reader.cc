#include "sluice/sources/dms/dms_file_reader.h"

#include <arrow/api.h>
#include <arrow/io/interfaces.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

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

// Where a row group starts in its file: its first column chunk (the
// dictionary page, else the first data page). Writers leave
// RowGroup.file_offset unset (pyarrow) or wrong, so it is not used.
int64_t RowGroupStart(const parquet::RowGroupMetaData& group) {
  int64_t start = INT64_MAX;
  for (int c = 0; c < group.num_columns(); ++c) {
    auto chunk = group.ColumnChunk(c);
    int64_t at = chunk->data_page_offset();
    // Offset 0 is the magic: some writers set an absent dictionary's to it.
    if (chunk->has_dictionary_page() && chunk->dictionary_page_offset() > 0) {
      at = std::min(at, chunk->dictionary_page_offset());
    }
    start = std::min(start, at);
  }
  return start;
}

// The row groups of a part [begin, end), and the file row number of each
// one's first row.
struct RowGroupPick {
  std::vector<int> groups;
  std::vector<int64_t> first_rows;
};

RowGroupPick PickRowGroups(const parquet::FileMetaData& meta, int64_t begin, int64_t end) {
  RowGroupPick pick;
  int64_t row = 0;
  for (int g = 0; g < meta.num_row_groups(); ++g) {
    auto group = meta.RowGroup(g);
    int64_t start = RowGroupStart(*group);
    if (start >= begin && start < end) {
      pick.groups.push_back(g);
      pick.first_rows.push_back(row);
    }
    row += group->num_rows();
  }
  return pick;
}

// The same rows as ReadParquet, through ranged reads of `file`; with a
// `range`, only the row groups that start in it (first_row and row numbers
// then the file's).
Result<DmsFileRows> ReadParquetFrom(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                    const std::string& where,
                                    std::optional<std::pair<int64_t, int64_t>> range) {
  constexpr int64_t kPart = 65'536;
  // A file-level problem belongs to the whole file: to its first part.
  auto file_bad = [&](std::string reason) {
    return range && range->first > 0 ? DmsFileRows{} : FileBad(where, 0, std::move(reason));
  };
  try {
    parquet::ArrowReaderProperties arrow_props;
    arrow_props.set_batch_size(kPart);
    // One row group's column chunks at a time, fetched in coalesced reads.
    arrow_props.set_pre_buffer(true);
    parquet::arrow::FileReaderBuilder builder;
    auto st = builder.Open(file, parquet::default_reader_properties());
    if (!st.ok()) return file_bad("not a readable Parquet file: " + st.message());
    auto reader = builder.properties(arrow_props)->Build();
    if (!reader.ok()) {
      return file_bad("not a readable Parquet file: " + reader.status().message());
    }
    std::optional<RowGroupPick> pick;
    if (range) {
      pick = PickRowGroups(*(*reader)->parquet_reader()->metadata(), range->first, range->second);
      if (pick->groups.empty()) return DmsFileRows{};
    }
    auto batches =
        pick ? (*reader)->GetRecordBatchReader(pick->groups) : (*reader)->GetRecordBatchReader();
    if (!batches.ok()) {
      return file_bad("corrupt Parquet file: " + batches.status().message());
    }
    DmsFileRows out;
    // Rows read so far, and the file row of each picked group's first row:
    // row groups in index order need no more than first_row.
    int64_t read = 0;
    std::vector<int64_t> group_read_starts;  // rows read before each picked group
    bool in_order = true;
    if (pick) {
      out.first_row = pick->first_rows.front();
      int64_t acc = 0;
      for (size_t i = 0; i < pick->groups.size(); ++i) {
        group_read_starts.push_back(acc);
        in_order = in_order && pick->first_rows[i] - pick->first_rows[0] == acc;
        auto rows = (*reader)->parquet_reader()->metadata()->RowGroup(pick->groups[i])->num_rows();
        acc += rows;
      }
    }
    while (true) {
      auto batch = (*batches)->Next();
      if (!batch.ok())
        return FileBad(where, 0, "corrupt Parquet file: " + batch.status().message());
      if (!*batch) break;
      if ((*batch)->num_rows() == 0) continue;
      DmsRawRows part;
      if (!in_order) {
        // Picked groups with unpicked ones between them: each row's own.
        for (int64_t r = 0; r < (*batch)->num_rows(); ++r, ++read) {
          size_t g = static_cast<size_t>(
              std::upper_bound(group_read_starts.begin(), group_read_starts.end(), read) -
              group_read_starts.begin() - 1);
          part.row_numbers.push_back(pick->first_rows[g] + (read - group_read_starts[g]));
        }
      }
      part.batch = std::move(*batch);
      out.parts.push_back(std::move(part));
    }
    return out;
  } catch (const std::exception& e) {
    return file_bad(std::string("corrupt Parquet file: ") + e.what());
  }
}

// Splits CSV text into records (quotes respected): [begin, end) of each
// record without its line end, and the first `want` fields, unquoted.
struct Record {
  int64_t begin = 0, end = 0;
  int64_t fields = 0;
  std::vector<std::string> head;
};

std::vector<Record> SplitRecords(std::string_view text, char delim, bool quoting, size_t want,
                                 size_t limit) {
  std::vector<Record> out;
  size_t i = 0;
  const size_t n = text.size();
  if (n >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  while (i < n && out.size() < limit) {
    Record r;
    r.begin = static_cast<int64_t>(i);
    std::string field;
    bool quoted = false, in_quote = false;
    r.fields = 1;
    for (; i < n; ++i) {
      char c = text[i];
      if (in_quote) {
        if (c == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field.push_back('"');
            ++i;
          } else {
            in_quote = false;
          }
        } else {
          field.push_back(c);
        }
        continue;
      }
      if (c == '"' && quoting) {
        in_quote = quoted = true;
      } else if (c == delim) {
        if (r.head.size() < want) r.head.push_back(std::move(field));
        field.clear();
        quoted = false;
        ++r.fields;
      } else if (c == '\n' || c == '\r') {
        break;
      } else {
        field.push_back(c);
      }
    }
    (void)quoted;
    if (r.head.size() < want) r.head.push_back(std::move(field));
    r.end = static_cast<int64_t>(i);
    if (i < n && text[i] == '\r') ++i;
    if (i < n && text[i] == '\n') ++i;
    if (r.end > r.begin) out.push_back(std::move(r));  // blank lines are not records
  }
  return out;
}

formats::csv::CsvOptions CsvOptionsOf(const DmsSettings& settings) {
  formats::csv::CsvOptions o;
  o.delimiter = settings.csv_delimiter;
  o.header = settings.csv_header;
  o.null_value = settings.csv_null;
  o.no_sup_value = settings.csv_no_sup_value;
  o.quoting = settings.csv_rfc4180;
  return o;
}

// `text` starts at byte `offset` of its file; without a header (or after
// it: offset > 0) its columns are `names`. A row's number is its record's
// place among the data records (malformed ones included), so that it is the
// same whether the file is read whole or in parts.
Result<DmsFileRows> ReadCsv(std::string_view text, const std::string& where,
                            const DmsSettings& settings, const std::vector<std::string>& names,
                            int64_t offset = 0) {
  formats::csv::CsvOptions o = CsvOptionsOf(settings);
  o.header = settings.csv_header && names.empty();
  o.column_names = names;
  o.offset = offset;
  auto decoded = formats::csv::DecodeCsv(text, o);
  if (!decoded.ok()) {
    if (decoded.status().IsNotImplemented()) return decoded.status();
    return FileBad(where, 0, "unreadable CSV: " + decoded.status().message());
  }
  DmsFileRows out;
  DmsRawRows part;
  if (!decoded->errors.empty()) {
    // Malformed records are not rows but keep their numbers.
    size_t e = 0;
    for (size_t r = 0; r < decoded->record_offsets.size(); ++r) {
      while (e < decoded->errors.size() &&
             decoded->errors[e].byte_offset < decoded->record_offsets[r]) {
        ++e;
      }
      part.row_numbers.push_back(static_cast<int64_t>(r + e));
    }
  }
  for (auto& e : decoded->errors) {
    out.bad.push_back({where, e.byte_offset, std::move(e.reason), std::move(e.raw)});
  }
  part.batch = decoded->batch;
  part.unsupplied = std::move(decoded->unsupplied);
  part.offsets = std::move(decoded->record_offsets);
  if (part.batch && part.batch->num_rows() > 0) out.parts.push_back(std::move(part));
  return out;
}

// The bytes after gzip (if any). A damaged stream sets `bad`: Parquet and a
// stream that gives nothing are lost (null), CSV keeps its whole lines before
// the damage (a line cut by it would pass for a shorter value).
Result<std::shared_ptr<arrow::Buffer>> Gunzipped(const std::shared_ptr<arrow::Buffer>& bytes,
                                                 bool strict, const std::string& where,
                                                 std::optional<BadRecord>* bad) {
  if (!formats::json::IsGzip(View(*bytes))) return bytes;
  ARROW_ASSIGN_OR_RAISE(auto g, formats::json::Gunzip(View(*bytes), kMaxGunzip, 0));
  if (!g.damage.empty()) {
    *bad = BadRecord{where, g.damage_offset, "damaged gzip stream: " + g.damage, ""};
    if (strict || g.size == 0) return nullptr;
    size_t nl = std::string_view(g.data.data(), static_cast<size_t>(g.size)).rfind('\n');
    g.size = nl == std::string_view::npos ? 0 : static_cast<int64_t>(nl + 1);
    (*bad)->reason +=
        " (the lines after byte " + std::to_string(g.size) + " of the decompressed text are lost)";
  }
  g.data.resize(static_cast<size_t>(g.size));
  return arrow::Buffer::FromString(std::move(g.data));
}

}  // namespace

bool HeaderlessHasOp(const DmsSettings& s, DmsFileKind kind) {
  if (kind == DmsFileKind::kFullLoad) return s.include_op_for_full_load;
  return !s.cdc_inserts_only || s.include_op_for_full_load;
}

std::vector<std::string> HeaderlessNames(const DmsSettings& s, const DmsTableSchema& schema,
                                         bool op, int64_t field_count) {
  const int64_t ncols = static_cast<int64_t>(schema.columns.size());
  const int64_t fixed = (op ? 1 : 0) + (s.timestamp_column.empty() ? 0 : 1);
  const bool seq_possible = !s.change_sequence_column.empty();
  const bool bi_possible = !s.before_image_prefix.empty() && !schema.primary_keys.empty();
  const int64_t nbi = static_cast<int64_t>(schema.primary_keys.size());
  struct Fit {
    bool seq, bi;
    int64_t k;
  };
  std::optional<Fit> exact, partial;
  for (bool seq : {true, false}) {
    for (bool bi : {true, false}) {
      if ((seq && !seq_possible) || (bi && !bi_possible)) continue;
      int64_t k = field_count - fixed - (seq ? 1 : 0) - (bi ? nbi : 0);
      if (k == ncols && !exact) exact = Fit{seq, bi, k};
      if (k >= 1 && k < ncols && (!partial || k > partial->k)) partial = Fit{seq, bi, k};
    }
  }
  std::optional<Fit> fit = exact ? exact : partial;
  std::vector<std::string> names;
  if (!fit) return names;
  if (op) names.push_back("Op");
  if (!s.timestamp_column.empty()) names.push_back(s.timestamp_column);
  for (int64_t i = 0; i < fit->k; ++i)
    names.push_back(schema.columns[static_cast<size_t>(i)].first);
  if (fit->seq) names.push_back(s.change_sequence_column);
  if (fit->bi) {
    for (const auto& key : schema.primary_keys) names.push_back(s.before_image_prefix + key);
  }
  return names;
}

Result<DmsFileRows> ReadDmsFile(const std::shared_ptr<arrow::Buffer>& bytes,
                                const DmsFileName& file, const std::string& where,
                                const DmsSettings& settings, const DmsTableSchema& schema) {
  std::optional<BadRecord> bad;
  ARROW_ASSIGN_OR_RAISE(auto data, Gunzipped(bytes, file.parquet, where, &bad));
  if (!data) return FileBad(where, bad->offset, bad->reason);
  if (file.parquet) return ReadParquet(data, where);
  if (bad) {
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadDmsFile(data, file, where, settings, schema));
    rows.bad.push_back(std::move(*bad));
    return rows;
  }
  return ReadDmsCsvText(View(*data), View(*data), 0, file, where, settings, schema);
}

Result<DmsFileRows> ReadDmsCsvText(std::string_view text, std::string_view head, int64_t offset,
                                   const DmsFileName& file, const std::string& where,
                                   const DmsSettings& settings, const DmsTableSchema& schema) {
  std::vector<std::string> names;
  if (settings.csv_header) {
    if (offset > 0) {
      // The records of a part: the columns are the file's header.
      auto header = formats::csv::DecodeCsv(head, CsvOptionsOf(settings));
      if (!header.ok()) return FileBad(where, 0, "unreadable CSV: " + header.status().message());
      names = std::move(header->column_names);
      if (names.empty()) return DmsFileRows{};
    }
  } else {
    auto first = SplitRecords(head, settings.csv_delimiter, settings.csv_rfc4180, 0, 1);
    if (first.empty()) return DmsFileRows{};
    names =
        HeaderlessNames(settings, schema, HeaderlessHasOp(settings, file.kind), first[0].fields);
    if (names.empty()) {
      return FileBad(where, 0,
                     "a record of " + std::to_string(first[0].fields) +
                         " fields fits no layout of the configured columns (" +
                         std::to_string(schema.columns.size()) + ")");
    }
  }
  return ReadCsv(text, where, settings, names, offset);
}

Result<DmsFileRows> ReadDmsFileFrom(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                    int64_t size, const DmsFileName& name, const std::string& where,
                                    const DmsSettings& settings, const DmsTableSchema& schema) {
  if (name.parquet && size >= 2) {
    ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(0, 2));
    if (!formats::json::IsGzip(View(*head))) return ReadParquetFrom(file, where, std::nullopt);
  }
  ARROW_ASSIGN_OR_RAISE(auto bytes, file->ReadAt(0, size));
  return ReadDmsFile(bytes, name, where, settings, schema);
}

void AddFileChanges(const DmsFileRows& rows, DmsFileContext fctx, const DmsSettings& settings,
                    const DmsTableSchema& schema, const std::string& label, TableChanges* out) {
  fctx.first_row = rows.first_row;
  for (const auto& part : rows.parts) {
    auto converted = ToChanges(part, fctx, settings, schema);
    if (!converted.ok()) {
      // A file this source cannot take at all (a reserved column name).
      out->bad.push_back({label, fctx.first_row, converted.status().message(), ""});
    } else {
      for (auto& b : converted->bad) {
        b.where = label;
        out->bad.push_back(std::move(b));
      }
      if (converted->batch && converted->batch->num_rows() > 0) {
        out->batches.push_back(std::move(converted->batch));
      }
    }
    fctx.first_row += part.batch->num_rows();
  }
}

Result<DmsFileRows> ReadDmsParquetPart(const std::shared_ptr<arrow::io::RandomAccessFile>& file,
                                       int64_t begin, int64_t end, const std::string& where) {
  return ReadParquetFrom(file, where, std::make_pair(begin, end));
}

Result<DmsTxnRows> ReadCdcTxnFile(const std::shared_ptr<arrow::Buffer>& bytes,
                                  const std::string& where, const DmsSettings& settings,
                                  const std::map<std::string, DmsTableSchema>& schemas) {
  DmsTxnRows out;
  std::optional<BadRecord> bad;
  ARROW_ASSIGN_OR_RAISE(auto data, Gunzipped(bytes, false, where, &bad));
  if (bad) out.bad.push_back(std::move(*bad));
  if (!data) return out;
  std::string_view text = View(*data);
  auto records = SplitRecords(text, settings.csv_delimiter, settings.csv_rfc4180, 3, SIZE_MAX);
  // Records per (table, field count), in file order: one decode each.
  struct Group {
    SourceTable table;
    std::string text;
    std::vector<int64_t> offsets;      // in the file
    std::vector<int64_t> row_numbers;  // record index in the file
    std::vector<int64_t> starts;       // offset of each record in `text`
  };
  std::map<std::pair<std::string, int64_t>, Group> groups;
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    std::string_view raw =
        text.substr(static_cast<size_t>(r.begin), static_cast<size_t>(r.end - r.begin));
    if (r.head.size() < 3 || r.fields < 4) {
      out.bad.push_back({where, r.begin, "a CDC_TXN record needs Op, table, schema and values",
                         std::string(raw)});
      continue;
    }
    SourceTable table{r.head[2], r.head[1]};
    Group& g = groups[{table.Qualified(), r.fields}];
    g.table = table;
    g.starts.push_back(static_cast<int64_t>(g.text.size()));
    g.text.append(raw);
    g.text.push_back('\n');
    g.offsets.push_back(r.begin);
    g.row_numbers.push_back(static_cast<int64_t>(i));
  }
  for (auto& [key, g] : groups) {
    const std::string qualified = g.table.Qualified();
    auto it = schemas.find(qualified);
    auto& slot = out.tables[qualified];
    slot.first = g.table;
    std::vector<std::string> names;
    if (it != schemas.end()) names = HeaderlessNames(settings, it->second, true, key.second - 2);
    if (names.empty()) {
      std::string reason = it == schemas.end() || it->second.columns.empty()
                               ? "no columns configured for " + qualified +
                                     " (CDC_TXN records have no header: set tables.\"" + qualified +
                                     "\".columns)"
                               : "a record of " + std::to_string(key.second) +
                                     " fields fits no layout of the configured columns";
      for (size_t i = 0; i < g.offsets.size(); ++i) {
        size_t b = static_cast<size_t>(g.starts[i]);
        size_t e =
            i + 1 < g.starts.size() ? static_cast<size_t>(g.starts[i + 1]) - 1 : g.text.size() - 1;
        slot.second.bad.push_back({where, g.offsets[i], reason, g.text.substr(b, e - b)});
      }
      continue;
    }
    names.insert(names.begin() + 1, {"\x01dms_table", "\x01dms_schema"});
    // CDC_TXN files never have a header, whatever AddColumnName says.
    DmsSettings headerless = settings;
    headerless.csv_header = false;
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadCsv(g.text, where, headerless, names));
    // Offsets of the group's text back to the file's.
    auto to_file = [&](int64_t off) {
      auto pos = std::upper_bound(g.starts.begin(), g.starts.end(), off) - g.starts.begin() - 1;
      return g.offsets[static_cast<size_t>(pos)] + (off - g.starts[static_cast<size_t>(pos)]);
    };
    for (auto& b : rows.bad) {
      b.offset = to_file(b.offset);
      slot.second.bad.push_back(std::move(b));
    }
    for (auto& part : rows.parts) {
      // The records that decoded: their places in the file.
      part.row_numbers.clear();
      for (auto& off : part.offsets) {
        auto pos = std::upper_bound(g.starts.begin(), g.starts.end(), off) - g.starts.begin() - 1;
        part.row_numbers.push_back(g.row_numbers[static_cast<size_t>(pos)]);
        off = to_file(off);
      }
      // The routing columns are not payload.
      ARROW_ASSIGN_OR_RAISE(part.batch, part.batch->RemoveColumn(2));
      ARROW_ASSIGN_OR_RAISE(part.batch, part.batch->RemoveColumn(1));
      if (!part.unsupplied.empty()) {
        part.unsupplied.erase(part.unsupplied.begin() + 1, part.unsupplied.begin() + 3);
      }
      slot.second.parts.push_back(std::move(part));
    }
  }
  return out;
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
