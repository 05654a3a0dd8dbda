#include "sluice/sources/debezium/debezium_changes.h"

#include <arrow/api.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>

#include <charconv>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sluice/core/change_schema.h"
#include "sluice/sources/debezium/debezium_sequence.h"
#include "sluice/sources/debezium/schema_registry_client.h"
#include "sluice/sources/debezium/topic_table.h"
#include "sluice/sources/storable_types.h"

namespace sluice::sources::debezium {

namespace cp = arrow::compute;

namespace {

constexpr std::string_view kUnchanged = "_cdc_unchanged";

// A column's cells as text whatever its type (a boolean reads "true"); a
// missing column, or one that does not cast (a struct), reads all NULL.
class TextCells {
 public:
  static TextCells Of(const std::shared_ptr<arrow::Array>& a) {
    TextCells t;
    if (!a) return t;
    if (a->type_id() == arrow::Type::STRING) {
      t.a_ = std::static_pointer_cast<arrow::StringArray>(a);
      return t;
    }
    auto cast = cp::Cast(arrow::Datum(a), arrow::utf8());
    if (cast.ok()) t.a_ = std::static_pointer_cast<arrow::StringArray>(cast->make_array());
    return t;
  }
  std::optional<std::string_view> Get(int64_t r) const {
    if (!a_ || a_->IsNull(r)) return std::nullopt;
    return a_->GetView(r);
  }
  std::optional<std::string> Copy(int64_t r) const {
    auto v = Get(r);
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  }
  bool present() const { return a_ != nullptr; }

 private:
  std::shared_ptr<arrow::StringArray> a_;
};

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// A column's cells as int64: integers as they are, text parsed (schemaless
// records may carry numbers as strings); anything else reads all NULL.
class IntCells {
 public:
  static IntCells Of(const std::shared_ptr<arrow::Array>& a) {
    IntCells t;
    if (!a) return t;
    if (arrow::is_integer(a->type_id())) {
      auto cast = cp::Cast(arrow::Datum(a), arrow::int64());
      if (!cast.ok()) return t;
      auto ints = std::static_pointer_cast<arrow::Int64Array>(cast->make_array());
      t.v_.reserve(static_cast<size_t>(ints->length()));
      for (int64_t r = 0; r < ints->length(); ++r) {
        t.v_.push_back(ints->IsNull(r) ? std::nullopt : std::optional<int64_t>(ints->Value(r)));
      }
      t.present_ = true;
    } else if (a->type_id() == arrow::Type::STRING) {
      const auto& s = static_cast<const arrow::StringArray&>(*a);
      for (int64_t r = 0; r < s.length(); ++r) {
        t.v_.push_back(s.IsNull(r) ? std::nullopt : ParseInt(s.GetView(r)));
      }
      t.present_ = true;
    }
    return t;
  }
  std::optional<int64_t> Get(int64_t r) const {
    return present_ ? v_[static_cast<size_t>(r)] : std::nullopt;
  }
  bool present() const { return present_; }

 private:
  std::vector<std::optional<int64_t>> v_;
  bool present_ = false;
};

// What the record says about its event besides the row.
struct Meta {
  TextCells op, deleted, snapshot, connector, db, schema, table, sequence, file, gtid;
  IntCells lsn, pos, row, tx_id, ts_ms, ts_us, ts_ns;
};

std::shared_ptr<arrow::Array> TopColumn(const arrow::RecordBatch& b, const std::string& name) {
  int i = b.schema()->GetFieldIndex(name);
  return i < 0 ? nullptr : b.column(i);
}

std::shared_ptr<arrow::StructArray> TopStruct(const arrow::RecordBatch& b,
                                              const std::string& name) {
  auto a = TopColumn(b, name);
  if (!a || a->type_id() != arrow::Type::STRUCT) return nullptr;
  return std::static_pointer_cast<arrow::StructArray>(a);
}

// Field `name` of a struct column, NULL where the struct is NULL.
Result<std::shared_ptr<arrow::Array>> StructField(const std::shared_ptr<arrow::StructArray>& s,
                                                  const std::string& name) {
  if (!s) return nullptr;
  int i = s->struct_type()->GetFieldIndex(name);
  if (i < 0) return nullptr;
  return s->GetFlattenedField(i);
}

// The first of `names` the batch has.
std::shared_ptr<arrow::Array> FirstColumn(const arrow::RecordBatch& b,
                                          std::initializer_list<std::string> names) {
  for (const auto& n : names) {
    if (auto a = TopColumn(b, n)) return a;
  }
  return nullptr;
}

Result<Meta> EnvelopeMeta(const arrow::RecordBatch& b) {
  Meta m;
  m.op = TextCells::Of(TopColumn(b, "op"));
  auto source = TopStruct(b, "source");
  auto text = [&](const char* name) -> Result<TextCells> {
    ARROW_ASSIGN_OR_RAISE(auto a, StructField(source, name));
    return TextCells::Of(a);
  };
  auto ints = [&](const char* name) -> Result<IntCells> {
    ARROW_ASSIGN_OR_RAISE(auto a, StructField(source, name));
    return IntCells::Of(a);
  };
  ARROW_ASSIGN_OR_RAISE(m.snapshot, text("snapshot"));
  ARROW_ASSIGN_OR_RAISE(m.connector, text("connector"));
  ARROW_ASSIGN_OR_RAISE(m.db, text("db"));
  ARROW_ASSIGN_OR_RAISE(m.schema, text("schema"));
  ARROW_ASSIGN_OR_RAISE(m.table, text("table"));
  ARROW_ASSIGN_OR_RAISE(m.sequence, text("sequence"));
  ARROW_ASSIGN_OR_RAISE(m.file, text("file"));
  ARROW_ASSIGN_OR_RAISE(m.gtid, text("gtid"));
  ARROW_ASSIGN_OR_RAISE(m.lsn, ints("lsn"));
  ARROW_ASSIGN_OR_RAISE(m.pos, ints("pos"));
  ARROW_ASSIGN_OR_RAISE(m.row, ints("row"));
  ARROW_ASSIGN_OR_RAISE(m.tx_id, ints("txId"));
  ARROW_ASSIGN_OR_RAISE(m.ts_ms, ints("ts_ms"));
  ARROW_ASSIGN_OR_RAISE(m.ts_us, ints("ts_us"));
  ARROW_ASSIGN_OR_RAISE(m.ts_ns, ints("ts_ns"));
  return m;
}

// ExtractNewRecordState's `add.fields`: `<prefix><field>` for a source
// field named alone, `<prefix>source_<field>` when qualified.
Meta FlattenedMeta(const arrow::RecordBatch& b, const DebeziumSettings& s) {
  const std::string& p = s.flattened_prefix;
  auto col = [&](const std::string& name) {
    return FirstColumn(b, {p + name, p + "source_" + name});
  };
  Meta m;
  m.op = TextCells::Of(TopColumn(b, s.OpField()));
  m.deleted = TextCells::Of(TopColumn(b, s.DeletedField()));
  m.snapshot = TextCells::Of(col("snapshot"));
  m.connector = TextCells::Of(col("connector"));
  m.db = TextCells::Of(col("db"));
  m.schema = TextCells::Of(col("schema"));
  m.table = TextCells::Of(col("table"));
  m.sequence = TextCells::Of(col("sequence"));
  m.file = TextCells::Of(col("file"));
  m.gtid = TextCells::Of(col("gtid"));
  auto lsn = TopColumn(b, s.LsnField());
  m.lsn = IntCells::Of(lsn ? lsn : col("lsn"));
  m.pos = IntCells::Of(col("pos"));
  m.row = IntCells::Of(col("row"));
  m.tx_id = IntCells::Of(col("txId"));
  m.ts_ms = IntCells::Of(TopColumn(b, s.TsField()));
  m.ts_us = IntCells::Of(TopColumn(b, p + "source_ts_us"));
  m.ts_ns = IntCells::Of(TopColumn(b, p + "source_ts_ns"));
  return m;
}

// A table column in both images (either may be missing: NULL).
struct ImageColumn {
  std::string name;
  std::shared_ptr<arrow::Array> after, before;
};

bool IsAddedField(const std::string& name, const DebeziumSettings& s) {
  const std::string& p = s.flattened_prefix;
  if (!p.empty() && name.compare(0, p.size(), p) == 0) return true;
  return name == s.OpField() || name == s.DeletedField() || name == s.TsField() ||
         name == s.LsnField();
}

Result<std::vector<ImageColumn>> EnvelopeColumns(const arrow::RecordBatch& b) {
  std::vector<ImageColumn> out;
  auto after = TopStruct(b, "after");
  auto before = TopStruct(b, "before");
  std::unordered_map<std::string, size_t> seen;
  for (const auto& s : {after, before}) {
    if (!s) continue;
    for (int i = 0; i < s->num_fields(); ++i) {
      const std::string& name = s->struct_type()->field(i)->name();
      ARROW_ASSIGN_OR_RAISE(auto a, s->GetFlattenedField(i));
      auto [it, fresh] = seen.emplace(name, out.size());
      if (fresh) out.push_back({name, nullptr, nullptr});
      (s == after ? out[it->second].after : out[it->second].before) = std::move(a);
    }
  }
  return out;
}

std::vector<ImageColumn> FlattenedColumns(const arrow::RecordBatch& b, const DebeziumSettings& s) {
  std::vector<ImageColumn> out;
  for (int i = 0; i < b.num_columns(); ++i) {
    const std::string& name = b.schema()->field(i)->name();
    if (!IsAddedField(name, s)) out.push_back({name, b.column(i), nullptr});
  }
  return out;
}

bool IsEnvelopeBatch(const formats::debezium::RecordRun& run) {
  if (run.schema && formats::debezium::IsEnvelope(*run.schema)) return true;
  // Schemaless runs type a field that is NULL throughout as text: a run of
  // truncate events has neither image as a struct.
  const auto& schema = *run.batch->schema();
  auto op = schema.GetFieldByName("op");
  auto source = schema.GetFieldByName("source");
  return op && source && source->type()->id() == arrow::Type::STRUCT &&
         (schema.GetFieldByName("before") || schema.GetFieldByName("after"));
}

// The unavailable-value placeholder in the forms a column can carry it.
struct Placeholder {
  std::string text;    // text columns
  std::string bytes;   // binary columns
  std::string hex;     // bytea as hex text (binary.handling.mode = hex)
  std::string base64;  // bytea as base64 text (binary.handling.mode = base64)
};

Placeholder MakePlaceholder(const std::string& setting) {
  Placeholder p;
  p.bytes = setting;
  if (setting.compare(0, 4, "hex:") == 0 && setting.size() % 2 == 0) {
    std::string decoded;
    bool ok = true;
    for (size_t i = 4; i + 1 < setting.size() && ok; i += 2) {
      unsigned v = 0;
      auto [end, ec] = std::from_chars(setting.data() + i, setting.data() + i + 2, v, 16);
      ok = ec == std::errc() && end == setting.data() + i + 2;
      decoded.push_back(static_cast<char>(v));
    }
    if (ok) p.bytes = std::move(decoded);
  }
  p.text = p.bytes;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : p.bytes) {
    p.hex.push_back(kHex[c >> 4]);
    p.hex.push_back(kHex[c & 15]);
  }
  p.base64 = Base64Encode(p.bytes);
  return p;
}

bool IsPlaceholder(const arrow::Array& a, int64_t r, const Placeholder& p) {
  if (a.IsNull(r)) return false;
  switch (a.type_id()) {
    case arrow::Type::STRING: {
      auto v = static_cast<const arrow::StringArray&>(a).GetView(r);
      return v == p.text || v == p.hex || v == p.base64;
    }
    case arrow::Type::LARGE_STRING: {
      auto v = static_cast<const arrow::LargeStringArray&>(a).GetView(r);
      return v == p.text || v == p.hex || v == p.base64;
    }
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(a).GetView(r) == p.bytes;
    case arrow::Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(a).GetView(r) == p.bytes;
    case arrow::Type::LIST: {
      // A TOASTed array: the placeholder as its only element.
      const auto& l = static_cast<const arrow::ListArray&>(a);
      return l.value_length(r) == 1 && IsPlaceholder(*l.values(), l.value_offset(r), p);
    }
    default:
      return false;
  }
}

enum class Image : uint8_t { kAfter, kBefore, kNone };

struct SourceInfo {
  std::optional<std::string> connector, db, schema, table, op, snapshot, file, gtid;
  std::optional<int64_t> lsn, commit_lsn, pos, row, tx_id, ts_ms;
};

struct Row {
  int64_t r = 0;  // in the run
  size_t message = 0;
  size_t group = 0;
  CdcOp op = CdcOp::kInsert;
  Image image = Image::kAfter;
  std::string seq;
  std::optional<int64_t> ts_us;
  SourceInfo source;
  std::vector<std::string> unchanged;
  std::vector<std::string> keys;  // the primary key columns to check
  bool dropped = false;
};

struct Group {
  SourceTable table;
  std::vector<std::string> primary_keys;
  bool configured = false;
  std::vector<BadRecord> bad;
};

enum class Layout { kPostgres, kBinlog, kKafka };

Layout LayoutFor(const Meta& m, int64_t r) {
  if (auto c = m.connector.Get(r)) {
    if (*c == "postgresql") return Layout::kPostgres;
    if (*c == "mysql" || *c == "mariadb") return Layout::kBinlog;
    return Layout::kKafka;
  }
  if (m.sequence.Get(r) || m.lsn.Get(r)) return Layout::kPostgres;
  if (m.file.Get(r) && m.pos.Get(r)) return Layout::kBinlog;
  return Layout::kKafka;
}

// The sequence key, or the reason there is none.
std::string SequenceFor(const Meta& m, int64_t r, const KafkaMessage& msg, bool snapshot,
                        SourceInfo* info, std::string* error) {
  switch (LayoutFor(m, r)) {
    case Layout::kPostgres: {
      std::optional<uint64_t> commit, lsn;
      if (auto text = m.sequence.Get(r)) {
        auto parsed = ParsePostgresSequence(*text);
        if (!parsed) {
          *error =
              "source.sequence '" + std::string(*text) + "' is not [\"<commit lsn>\",\"<lsn>\"]";
          return {};
        }
        commit = parsed->commit_lsn;
        lsn = parsed->lsn;
      }
      if (!lsn) {
        auto v = m.lsn.Get(r);
        if (v && *v >= 0) lsn = static_cast<uint64_t>(*v);
      }
      if (!lsn) {
        *error = "PostgreSQL event without an LSN (source.sequence, source.lsn)";
        return {};
      }
      if (commit) info->commit_lsn = static_cast<int64_t>(*commit);
      return PostgresSequenceKey(snapshot, commit.value_or(*lsn), *lsn, msg.partition, msg.offset);
    }
    case Layout::kBinlog: {
      auto file = m.file.Get(r);
      auto number = file ? BinlogFileNumber(*file) : std::nullopt;
      auto pos = m.pos.Get(r);
      auto row = m.row.Get(r).value_or(0);
      if (!number) {
        *error = file ? "binlog file '" + std::string(*file) + "' does not end in a number"
                      : "binlog event without source.file";
        return {};
      }
      if (!pos || *pos < 0 || row < 0) {
        *error = "binlog event without a usable source.pos";
        return {};
      }
      return BinlogSequenceKey(snapshot, *number, static_cast<uint64_t>(*pos),
                               static_cast<uint64_t>(row), msg.partition, msg.offset);
    }
    case Layout::kKafka:
      break;
  }
  return KafkaSequenceKey(snapshot, msg.partition, msg.offset);
}

std::optional<int64_t> TimestampUs(const Meta& m, int64_t r) {
  if (auto us = m.ts_us.Get(r)) return us;
  if (auto ns = m.ts_ns.Get(r)) return *ns / 1000;
  if (auto ms = m.ts_ms.Get(r)) {
    int64_t us = 0;
    if (!__builtin_mul_overflow(*ms, int64_t{1000}, &us)) return us;
  }
  return std::nullopt;
}

bool IsTrue(std::optional<std::string_view> v) { return v && (*v == "true" || *v == "1"); }

Status AppendOpt(arrow::StringBuilder* b, const std::optional<std::string>& v) {
  return v ? b->Append(*v) : b->AppendNull();
}
Status AppendOpt(arrow::Int64Builder* b, const std::optional<int64_t>& v) {
  return v ? b->Append(*v) : b->AppendNull();
}

Result<std::shared_ptr<arrow::Array>> SourceArray(const std::vector<const Row*>& rows,
                                                  const std::vector<KafkaMessage>& messages) {
  arrow::StringBuilder topic, connector, db, schema, table, op, snapshot, file, gtid;
  arrow::Int32Builder partition;
  arrow::Int64Builder offset, lsn, commit_lsn, pos, row, tx_id, ts_ms;
  for (const Row* r : rows) {
    const KafkaMessage& m = messages[r->message];
    const SourceInfo& s = r->source;
    ARROW_RETURN_NOT_OK(topic.Append(m.topic));
    ARROW_RETURN_NOT_OK(partition.Append(m.partition));
    ARROW_RETURN_NOT_OK(offset.Append(m.offset));
    ARROW_RETURN_NOT_OK(AppendOpt(&connector, s.connector));
    ARROW_RETURN_NOT_OK(AppendOpt(&db, s.db));
    ARROW_RETURN_NOT_OK(AppendOpt(&schema, s.schema));
    ARROW_RETURN_NOT_OK(AppendOpt(&table, s.table));
    ARROW_RETURN_NOT_OK(AppendOpt(&op, s.op));
    ARROW_RETURN_NOT_OK(AppendOpt(&snapshot, s.snapshot));
    ARROW_RETURN_NOT_OK(AppendOpt(&lsn, s.lsn));
    ARROW_RETURN_NOT_OK(AppendOpt(&commit_lsn, s.commit_lsn));
    ARROW_RETURN_NOT_OK(AppendOpt(&file, s.file));
    ARROW_RETURN_NOT_OK(AppendOpt(&pos, s.pos));
    ARROW_RETURN_NOT_OK(AppendOpt(&row, s.row));
    ARROW_RETURN_NOT_OK(AppendOpt(&gtid, s.gtid));
    ARROW_RETURN_NOT_OK(AppendOpt(&tx_id, s.tx_id));
    ARROW_RETURN_NOT_OK(AppendOpt(&ts_ms, s.ts_ms));
  }
  std::vector<std::shared_ptr<arrow::Array>> children(17);
  ARROW_RETURN_NOT_OK(topic.Finish(&children[0]));
  ARROW_RETURN_NOT_OK(partition.Finish(&children[1]));
  ARROW_RETURN_NOT_OK(offset.Finish(&children[2]));
  ARROW_RETURN_NOT_OK(connector.Finish(&children[3]));
  ARROW_RETURN_NOT_OK(db.Finish(&children[4]));
  ARROW_RETURN_NOT_OK(schema.Finish(&children[5]));
  ARROW_RETURN_NOT_OK(table.Finish(&children[6]));
  ARROW_RETURN_NOT_OK(op.Finish(&children[7]));
  ARROW_RETURN_NOT_OK(snapshot.Finish(&children[8]));
  ARROW_RETURN_NOT_OK(lsn.Finish(&children[9]));
  ARROW_RETURN_NOT_OK(commit_lsn.Finish(&children[10]));
  ARROW_RETURN_NOT_OK(file.Finish(&children[11]));
  ARROW_RETURN_NOT_OK(pos.Finish(&children[12]));
  ARROW_RETURN_NOT_OK(row.Finish(&children[13]));
  ARROW_RETURN_NOT_OK(gtid.Finish(&children[14]));
  ARROW_RETURN_NOT_OK(tx_id.Finish(&children[15]));
  ARROW_RETURN_NOT_OK(ts_ms.Finish(&children[16]));
  ARROW_ASSIGN_OR_RAISE(auto out,
                        arrow::StructArray::Make(children, DebeziumSourceType()->fields()));
  return out;
}

// The canonical columns of `rows` (and `_cdc_unchanged` when a row has
// unchanged columns), appended after the table's columns.
Status AppendCanonicalColumns(const std::vector<const Row*>& rows,
                              const std::vector<KafkaMessage>& messages, int64_t ingested_at_us,
                              std::vector<std::shared_ptr<arrow::Field>>* fields,
                              arrow::ArrayVector* arrays) {
  std::vector<CdcOp> ops;
  arrow::BinaryBuilder seqs;
  arrow::TimestampBuilder ts(CdcTimestampType(), arrow::default_memory_pool());
  arrow::TimestampBuilder ingested(CdcTimestampType(), arrow::default_memory_pool());
  arrow::StringBuilder origins;
  bool any_unchanged = false;
  for (const Row* row : rows) {
    ops.push_back(row->op);
    ARROW_RETURN_NOT_OK(seqs.Append(row->seq));
    ARROW_RETURN_NOT_OK(row->ts_us ? ts.Append(*row->ts_us) : ts.AppendNull());
    ARROW_RETURN_NOT_OK(ingested.Append(ingested_at_us));
    ARROW_RETURN_NOT_OK(origins.Append(messages[row->message].Origin()));
    any_unchanged = any_unchanged || !row->unchanged.empty();
  }
  ARROW_ASSIGN_OR_RAISE(auto op_arr, MakeCdcOpArray(ops));
  ARROW_ASSIGN_OR_RAISE(auto seq_arr, seqs.Finish());
  ARROW_ASSIGN_OR_RAISE(auto ts_arr, ts.Finish());
  ARROW_ASSIGN_OR_RAISE(auto ing_arr, ingested.Finish());
  ARROW_ASSIGN_OR_RAISE(auto origin_arr, origins.Finish());
  ARROW_ASSIGN_OR_RAISE(auto source_arr, SourceArray(rows, messages));
  auto canonical = CanonicalFields(DebeziumSourceType());
  arrow::ArrayVector canon = {op_arr, seq_arr, ts_arr, ing_arr, origin_arr, source_arr};
  for (size_t i = 0; i < canonical.size(); ++i) {
    fields->push_back(canonical[i]);
    arrays->push_back(canon[i]);
  }
  if (any_unchanged) {
    arrow::ListBuilder lb(arrow::default_memory_pool(), std::make_shared<arrow::StringBuilder>());
    auto* vb = static_cast<arrow::StringBuilder*>(lb.value_builder());
    for (const Row* row : rows) {
      ARROW_RETURN_NOT_OK(lb.Append());
      for (const auto& name : row->unchanged) ARROW_RETURN_NOT_OK(vb->Append(name));
    }
    ARROW_ASSIGN_OR_RAISE(auto list, lb.Finish());
    fields->push_back(arrow::field(std::string(kUnchanged), list->type()));
    arrays->push_back(std::move(list));
  }
  return Status::OK();
}

// One table column of the run: every value it can take, and per row the
// index of the row's value in it.
struct ColumnValues {
  std::shared_ptr<arrow::Array> values;  // after (n), before (n), keys..., NULL
  std::vector<int64_t> index;            // per Row
};

// Appends rows `idx` of `values` as column `name`, in the type Delta stores:
// Connect types Delta cannot store (Time/MicroTime/NanoTime as time64, ...)
// take the representation every source shares (docs/debezium.md: TIME as
// "HH:MM:SS[.ffffff]" text). A value no Delta type holds is not reachable
// from Connect's types (only Datastream's records have such rows): refused
// loudly, naming `what` (e.g. "key column "), rather than stored wrong.
Status AppendStorableColumn(const SourceTable& table, const char* what, const std::string& name,
                            const std::shared_ptr<arrow::Array>& values,
                            const std::shared_ptr<arrow::Array>& idx,
                            std::vector<std::shared_ptr<arrow::Field>>* fields,
                            arrow::ArrayVector* arrays) {
  ARROW_ASSIGN_OR_RAISE(auto taken, cp::Take(arrow::Datum(values), arrow::Datum(idx)));
  auto field = arrow::field(name, taken.type());
  ARROW_ASSIGN_OR_RAISE(auto storable, ToDeltaStorable(field, taken.make_array()));
  if (!storable.unrepresentable.empty()) {
    return Status::Invalid(table.Qualified(), " ", what, name, ": ",
                           storable.unrepresentable.front().reason);
  }
  fields->push_back(arrow::field(name, storable.values->type()));
  arrays->push_back(std::move(storable.values));
  return Status::OK();
}

}  // namespace

std::shared_ptr<arrow::DataType> DebeziumSourceType() {
  static const auto type = arrow::struct_({
      arrow::field("topic", arrow::utf8()),
      arrow::field("partition", arrow::int32()),
      arrow::field("offset", arrow::int64()),
      arrow::field("connector", arrow::utf8()),
      arrow::field("db", arrow::utf8()),
      arrow::field("schema", arrow::utf8()),
      arrow::field("table", arrow::utf8()),
      arrow::field("op", arrow::utf8()),
      arrow::field("snapshot", arrow::utf8()),
      arrow::field("lsn", arrow::int64()),
      arrow::field("commit_lsn", arrow::int64()),
      arrow::field("file", arrow::utf8()),
      arrow::field("pos", arrow::int64()),
      arrow::field("row", arrow::int64()),
      arrow::field("gtid", arrow::utf8()),
      arrow::field("tx_id", arrow::int64()),
      arrow::field("ts_ms", arrow::int64()),
  });
  return type;
}

Result<RunChanges> NormalizeRun(const RunInput& input, const DebeziumSettings& settings,
                                const std::map<std::string, SourceTableOptions>& tables) {
  RunChanges out;
  const auto& run = *input.run;
  const auto& messages = *input.messages;
  const auto& keys = *input.keys;
  const arrow::RecordBatch& batch = *run.batch;
  const int64_t n = batch.num_rows();

  // The shape, and a reason every row is bad when it is neither.
  bool envelope = false;
  std::string run_error;
  switch (settings.envelope) {
    case EnvelopeMode::kEnvelope:
      envelope = true;
      if (!IsEnvelopeBatch(run)) {
        run_error =
            "not a Debezium envelope (no op and before/after fields); flattened records need "
            "envelope = \"flattened\" or \"auto\"";
      }
      break;
    case EnvelopeMode::kFlattened:
      break;
    case EnvelopeMode::kAuto:
      envelope = IsEnvelopeBatch(run);
      if (!envelope && !batch.schema()->GetFieldByName(settings.OpField()) &&
          !batch.schema()->GetFieldByName(settings.DeletedField())) {
        run_error = "neither a Debezium envelope (op, before, after) nor a flattened record (no " +
                    settings.OpField() + " or " + settings.DeletedField() +
                    " field; set envelope = \"flattened\" for records without them)";
      }
      break;
  }
  Meta meta;
  std::vector<ImageColumn> columns;
  if (envelope) {
    ARROW_ASSIGN_OR_RAISE(meta, EnvelopeMeta(batch));
    ARROW_ASSIGN_OR_RAISE(columns, EnvelopeColumns(batch));
  } else {
    meta = FlattenedMeta(batch, settings);
    columns = FlattenedColumns(batch, settings);
  }
  for (const auto& c : columns) {
    if (run_error.empty() && IsReservedColumnName(c.name)) {
      run_error = "column \"" + c.name + "\" uses the reserved prefix _cdc_";
    }
  }
  const Placeholder placeholder = MakePlaceholder(settings.unavailable_value);
  const auto after_struct = envelope ? TopStruct(batch, "after") : nullptr;

  // Pass 1: per message, its table, op, image and position.
  std::vector<Group> groups;
  std::map<std::string, size_t> group_of;
  // Consecutive rows are mostly of one table: the last one's group first.
  std::optional<size_t> last_group;
  auto group_for = [&](const SourceTable& t) {
    if (last_group && groups[*last_group].table == t) return *last_group;
    auto [it, fresh] = group_of.emplace(t.Qualified(), groups.size());
    if (fresh) {
      Group g;
      g.table = t;
      auto conf = tables.find(t.Qualified());
      if (conf != tables.end() && !conf->second.primary_keys.empty()) {
        g.primary_keys = conf->second.primary_keys;
        g.configured = true;
      }
      groups.push_back(std::move(g));
    }
    last_group = it->second;
    return it->second;
  };
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(n));
  // A unit's messages are of one topic: its table is parsed once.
  const std::string* topic_seen = nullptr;
  std::optional<SourceTable> topic_table;
  for (int64_t r = 0; r < n; ++r) {
    const size_t mi = static_cast<size_t>(run.messages[static_cast<size_t>(r)]);
    const KafkaMessage& msg = messages[mi];
    const MessageKey& key = keys[mi];
    auto bad = [&](std::vector<BadRecord>* to, std::string reason) {
      to->push_back({msg.Origin(), msg.offset, std::move(reason), msg.value.value_or("")});
    };
    if (!run_error.empty()) {
      bad(&out.bad, run_error);
      continue;
    }
    // The table.
    std::optional<SourceTable> table;
    if (settings.route_by == RouteBy::kTopic) {
      if (!topic_seen || *topic_seen != msg.topic) {
        topic_table = TableFromTopic(msg.topic);
        topic_seen = &msg.topic;
      }
      table = topic_table;
      if (!table) {
        bad(&out.bad, "topic \"" + msg.topic +
                          "\" does not name a table (<prefix>.<schema>.<table>); set "
                          "route_by = \"source\" to route by the record");
        continue;
      }
    } else {
      auto schema = meta.schema.Get(r);
      auto database = schema && !schema->empty() ? schema : meta.db.Get(r);
      auto name = meta.table.Get(r);
      if (!database || database->empty() || !name || name->empty()) {
        bad(&out.bad, "the record names no table (source.schema or source.db, and source.table)");
        continue;
      }
      table = SourceTable{std::string(*database), std::string(*name)};
    }
    Row row;
    row.r = r;
    row.message = mi;
    row.group = group_for(*table);
    Group& g = groups[row.group];
    auto op_text = meta.op.Get(r);
    // The op.
    if (envelope) {
      if (!op_text || op_text->empty()) {
        bad(&g.bad, "the envelope has no op");
        continue;
      }
      const std::string_view op = *op_text;
      if (op == "m") continue;  // a logical decoding message: not a row change
      if (op == "c") {
        row.op = CdcOp::kInsert;
      } else if (op == "u") {
        row.op = CdcOp::kUpdate;
      } else if (op == "d") {
        row.op = CdcOp::kDelete;
        row.image = Image::kBefore;
      } else if (op == "r") {
        row.op = CdcOp::kSnapshot;
      } else if (op == "t") {
        row.op = CdcOp::kTruncate;
        row.image = Image::kNone;
      } else {
        bad(&g.bad, "unknown op '" + std::string(op) + "' (expected c, u, d, r, t or m)");
        continue;
      }
    } else {
      const bool deleted = IsTrue(meta.deleted.Get(r));
      if (op_text && *op_text == "m") continue;
      if (deleted || (op_text && *op_text == "d")) {
        row.op = CdcOp::kDelete;
      } else if (!op_text || *op_text == "u") {
        row.op = CdcOp::kUpdate;
      } else if (*op_text == "c") {
        row.op = CdcOp::kInsert;
      } else if (*op_text == "r") {
        row.op = CdcOp::kSnapshot;
      } else if (*op_text == "t") {
        row.op = CdcOp::kTruncate;
        row.image = Image::kNone;
      } else {
        bad(&g.bad, settings.OpField() + " '" + std::string(*op_text) +
                        "' is not an op (expected c, u, d, r, t or m)");
        continue;
      }
    }
    if (row.op == CdcOp::kTruncate && !settings.apply_truncate) continue;
    auto snapshot = meta.snapshot.Get(r);
    if ((row.op == CdcOp::kInsert || row.op == CdcOp::kUpdate) && snapshot &&
        *snapshot != "false") {
      row.op = CdcOp::kSnapshot;
    }
    // The image must be there (a delete may rely on its key alone).
    if (envelope && row.image == Image::kAfter) {
      if (!after_struct || after_struct->IsNull(r)) {
        bad(&g.bad, "op '" + std::string(*op_text) + "' without an after image");
        continue;
      }
    }
    // The key.
    if (row.op != CdcOp::kTruncate) {
      if (g.configured) {
        row.keys = g.primary_keys;
      } else if (key.batch) {
        row.keys = key.batch->schema()->field_names();
        if (g.primary_keys.empty()) g.primary_keys = row.keys;
      } else {
        bad(&g.bad, key.error.empty()
                        ? "the message has no key (a table without a primary key?): configure "
                          "tables.\"" +
                              table->Qualified() + "\".primary_keys"
                        : "the key does not decode: " + key.error);
        continue;
      }
    }
    // The position.
    std::string error;
    row.seq = SequenceFor(meta, r, msg, row.op == CdcOp::kSnapshot, &row.source, &error);
    if (settings.tombstone_deletes) {
      // Tombstones carry no source position: every event of the topic
      // takes its Kafka position, the one order they share.
      error.clear();
      row.seq = KafkaSequenceKey(row.op == CdcOp::kSnapshot, msg.partition, msg.offset);
    }
    if (!error.empty()) {
      bad(&g.bad, error);
      continue;
    }
    row.ts_us = TimestampUs(meta, r);
    SourceInfo& s = row.source;
    s.connector = meta.connector.Copy(r);
    s.db = meta.db.Copy(r);
    s.schema = meta.schema.Copy(r);
    s.table = meta.table.Copy(r);
    s.op = meta.op.Copy(r);
    s.snapshot = meta.snapshot.Copy(r);
    s.lsn = meta.lsn.Get(r);
    s.file = meta.file.Copy(r);
    s.pos = meta.pos.Get(r);
    s.row = meta.row.Get(r);
    s.gtid = meta.gtid.Copy(r);
    s.tx_id = meta.tx_id.Get(r);
    s.ts_ms = meta.ts_ms.Get(r);
    rows.push_back(std::move(row));
  }

  // Pass 2: each column's values and every row's index into them.
  std::vector<ColumnValues> values(columns.size());
  std::unordered_map<std::string, size_t> column_of;
  for (size_t j = 0; j < columns.size(); ++j) {
    const ImageColumn& c = columns[j];
    column_of.emplace(c.name, j);
    auto type = c.after ? c.after->type() : c.before->type();
    std::shared_ptr<arrow::Array> after = c.after;
    if (!after) {
      ARROW_ASSIGN_OR_RAISE(after, arrow::MakeArrayOfNull(type, n));
    }
    std::shared_ptr<arrow::Array> before = c.before;
    if (before && !before->type()->Equals(*type)) {
      auto cast = cp::Cast(arrow::Datum(before), type);
      before = cast.ok() ? cast->make_array() : nullptr;
    }
    if (!before) {
      ARROW_ASSIGN_OR_RAISE(before, arrow::MakeArrayOfNull(type, n));
    }
    arrow::ArrayVector parts = {after, before};
    int64_t next = 2 * n;
    // Key values, for deletes whose before image lacks them.
    std::unordered_map<const arrow::RecordBatch*, int64_t> key_start;
    for (const Row& row : rows) {
      if (row.image != Image::kBefore || !before->IsNull(row.r)) continue;
      const MessageKey& key = keys[row.message];
      if (!key.batch || key_start.count(key.batch.get())) continue;
      auto k = TopColumn(*key.batch, c.name);
      if (!k) continue;
      if (!k->type()->Equals(*type)) {
        auto cast = cp::Cast(arrow::Datum(k), type);
        if (!cast.ok()) continue;
        k = cast->make_array();
      }
      key_start.emplace(key.batch.get(), next);
      next += k->length();
      parts.push_back(std::move(k));
    }
    ARROW_ASSIGN_OR_RAISE(auto null_one, arrow::MakeArrayOfNull(type, 1));
    parts.push_back(null_one);
    const int64_t null_slot = next;
    ARROW_ASSIGN_OR_RAISE(values[j].values, arrow::Concatenate(parts));
    auto& index = values[j].index;
    index.reserve(rows.size());
    for (Row& row : rows) {
      int64_t i = null_slot;
      if (row.image == Image::kAfter) {
        i = row.r;
        if (row.op != CdcOp::kDelete && IsPlaceholder(*after, row.r, placeholder)) {
          i = null_slot;
          row.unchanged.push_back(c.name);
        }
      } else if (row.image == Image::kBefore) {
        i = n + row.r;
        if (before->IsNull(row.r)) {
          const MessageKey& key = keys[row.message];
          auto start = key.batch ? key_start.find(key.batch.get()) : key_start.end();
          if (start != key_start.end()) i = start->second + key.row;
        }
      }
      index.push_back(i);
    }
  }

  // A primary key column must not be NULL (the merge could not place the row).
  for (size_t k = 0; k < rows.size(); ++k) {
    Row& row = rows[k];
    for (const auto& name : row.keys) {
      auto it = column_of.find(name);
      if (it == column_of.end()) continue;  // the merge names a missing key column
      const ColumnValues& v = values[it->second];
      if (v.values->IsNull(v.index[k])) {
        const KafkaMessage& msg = messages[row.message];
        groups[row.group].bad.push_back({msg.Origin(), msg.offset,
                                         "primary key column " + name + " is NULL",
                                         msg.value.value_or("")});
        row.dropped = true;
        break;
      }
    }
  }

  // Pass 3: a batch per table.
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    Group& g = groups[gi];
    TableChanges tc;
    tc.table = g.table;
    // Every row but a truncate names its keys (configured or from the
    // message key), so a group without keys holds truncates alone.
    if (!g.primary_keys.empty()) tc.primary_keys = g.primary_keys;
    tc.bad = std::move(g.bad);
    std::vector<size_t> members;
    for (size_t k = 0; k < rows.size(); ++k) {
      if (rows[k].group == gi && !rows[k].dropped) members.push_back(k);
    }
    if (!members.empty()) {
      std::vector<std::shared_ptr<arrow::Field>> fields;
      arrow::ArrayVector arrays;
      for (size_t j = 0; j < columns.size(); ++j) {
        arrow::Int64Builder ib;
        ARROW_RETURN_NOT_OK(ib.Reserve(static_cast<int64_t>(members.size())));
        for (size_t k : members) ib.UnsafeAppend(values[j].index[k]);
        ARROW_ASSIGN_OR_RAISE(auto idx, ib.Finish());
        ARROW_RETURN_NOT_OK(AppendStorableColumn(g.table, "column ", columns[j].name,
                                                 values[j].values, idx, &fields, &arrays));
      }
      std::vector<const Row*> member_rows;
      for (size_t k : members) member_rows.push_back(&rows[k]);
      ARROW_RETURN_NOT_OK(
          AppendCanonicalColumns(member_rows, messages, input.ingested_at_us, &fields, &arrays));
      tc.batches.push_back(arrow::RecordBatch::Make(
          arrow::schema(fields), static_cast<int64_t>(members.size()), std::move(arrays)));
    }
    // A table whose messages were all skipped (op m, ignored truncates) has
    // nothing to say.
    if (!tc.batches.empty() || !tc.bad.empty()) out.tables.push_back(std::move(tc));
  }
  return out;
}

Result<RunChanges> NormalizeTombstones(const std::vector<KafkaMessage>& messages,
                                       const std::vector<MessageKey>& keys,
                                       const std::vector<size_t>& tombstones,
                                       int64_t ingested_at_us,
                                       const std::map<std::string, SourceTableOptions>& tables) {
  RunChanges out;
  // A batch per table and key schema (a key run of the reader).
  struct KeyGroup {
    SourceTable table;
    const arrow::RecordBatch* key_batch = nullptr;  // null: keys that did not decode
    std::vector<size_t> messages;
    std::vector<BadRecord> bad;
  };
  std::vector<KeyGroup> groups;
  std::map<std::pair<std::string, const arrow::RecordBatch*>, size_t> group_of;
  for (size_t mi : tombstones) {
    const KafkaMessage& msg = messages[mi];
    const MessageKey& key = keys[mi];
    auto table = TableFromTopic(msg.topic);
    if (!table) {
      out.bad.push_back(
          {msg.Origin(), msg.offset,
           "topic \"" + msg.topic + "\" does not name a table (<prefix>.<schema>.<table>)",
           msg.key.value_or("")});
      continue;
    }
    auto [it, fresh] =
        group_of.emplace(std::pair(table->Qualified(), key.batch.get()), groups.size());
    if (fresh) groups.push_back({*table, key.batch.get(), {}, {}});
    KeyGroup& g = groups[it->second];
    if (!key.batch) {
      g.bad.push_back({msg.Origin(), msg.offset,
                       key.error.empty() ? "a tombstone without a key: nothing to delete"
                                         : "the tombstone's key does not decode: " + key.error,
                       msg.key.value_or("")});
      continue;
    }
    g.messages.push_back(mi);
  }
  for (KeyGroup& g : groups) {
    TableChanges tc;
    tc.table = g.table;
    tc.bad = std::move(g.bad);
    const arrow::RecordBatch* key_batch = g.key_batch;
    if (key_batch != nullptr && !g.messages.empty()) {
      auto conf = tables.find(g.table.Qualified());
      const std::vector<std::string>& key_names =
          tc.primary_keys.emplace(conf != tables.end() && !conf->second.primary_keys.empty()
                                      ? conf->second.primary_keys
                                      : key_batch->schema()->field_names());
      std::string missing;
      for (const auto& k : key_names) {
        if (!key_batch->GetColumnByName(k)) missing = k;
      }
      // Rows of the key batch, and which tombstones have every key column.
      arrow::Int64Builder take;
      std::vector<const Row*> member_rows;
      std::vector<Row> rows;
      rows.reserve(g.messages.size());
      for (size_t mi : g.messages) {
        const KafkaMessage& msg = messages[mi];
        const MessageKey& key = keys[mi];
        std::string reason;
        if (!missing.empty()) {
          reason = "primary key column " + missing + " is not in the tombstone's key";
        }
        for (const auto& k : key_names) {
          if (reason.empty() && key.batch->GetColumnByName(k)->IsNull(key.row)) {
            reason = "primary key column " + k + " is NULL";
          }
        }
        if (!reason.empty()) {
          tc.bad.push_back({msg.Origin(), msg.offset, std::move(reason), msg.key.value_or("")});
          continue;
        }
        ARROW_RETURN_NOT_OK(take.Append(key.row));
        Row row;
        row.message = mi;
        row.op = CdcOp::kDelete;
        row.seq = KafkaSequenceKey(false, msg.partition, msg.offset);
        if (msg.timestamp_ms > 0) row.ts_us = msg.timestamp_ms * 1000;
        rows.push_back(std::move(row));
      }
      for (const Row& row : rows) member_rows.push_back(&row);
      if (!rows.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto idx, take.Finish());
        std::vector<std::shared_ptr<arrow::Field>> fields;
        arrow::ArrayVector arrays;
        for (int c = 0; c < key_batch->num_columns(); ++c) {
          ARROW_RETURN_NOT_OK(AppendStorableColumn(g.table, "key column ",
                                                   key_batch->schema()->field(c)->name(),
                                                   key_batch->column(c), idx, &fields, &arrays));
        }
        ARROW_RETURN_NOT_OK(
            AppendCanonicalColumns(member_rows, messages, ingested_at_us, &fields, &arrays));
        tc.batches.push_back(arrow::RecordBatch::Make(
            arrow::schema(fields), static_cast<int64_t>(rows.size()), std::move(arrays)));
      }
    }
    if (!tc.batches.empty() || !tc.bad.empty()) out.tables.push_back(std::move(tc));
  }
  return out;
}

}  // namespace sluice::sources::debezium
