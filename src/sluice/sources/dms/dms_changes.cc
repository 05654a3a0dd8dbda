#include "sluice/sources/dms/dms_changes.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <cctype>
#include <map>

#include "sluice/core/change_schema.h"
#include "sluice/formats/json/timestamp_text.h"
#include "sluice/sources/sequence_key.h"
#include "sluice/sources/storable_types.h"

namespace sluice::sources::dms {

namespace cp = arrow::compute;

namespace {

constexpr std::string_view kUnchanged = "_cdc_unchanged";

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// A column as text (for Op, timestamps and sequence numbers of any type).
Result<std::shared_ptr<arrow::StringArray>> AsText(const std::shared_ptr<arrow::Array>& a) {
  if (a->type_id() == arrow::Type::STRING) return std::static_pointer_cast<arrow::StringArray>(a);
  ARROW_ASSIGN_OR_RAISE(auto d, cp::Cast(a, arrow::utf8()));
  return std::static_pointer_cast<arrow::StringArray>(d.make_array());
}

// Text cells Arrow's cast does not read the way DMS writes them:
// timestamps "yyyy-MM-dd HH:mm:ss.SSSSSS" (any fraction, UTC unless an
// offset is given) and booleans "t"/"f" next to "true"/"false".
// nullopt: not such a conversion.
std::optional<Result<std::shared_ptr<arrow::Array>>> ParseText(
    const std::shared_ptr<arrow::Array>& a, const std::shared_ptr<arrow::DataType>& type,
    std::map<int64_t, std::string>* failures) {
  if (a->type_id() != arrow::Type::STRING) return std::nullopt;
  const auto& text = static_cast<const arrow::StringArray&>(*a);
  auto fail = [&](int64_t r) {
    (*failures)[r] = "value '" + std::string(text.GetView(r)) + "' is not a " + type->ToString();
  };
  if (type->id() == arrow::Type::TIMESTAMP) {
    const auto& t = static_cast<const arrow::TimestampType&>(*type);
    int64_t per_second = t.unit() == arrow::TimeUnit::SECOND  ? 1
                         : t.unit() == arrow::TimeUnit::MILLI ? 1'000
                         : t.unit() == arrow::TimeUnit::MICRO ? 1'000'000
                                                              : 1'000'000'000;
    arrow::TimestampBuilder b(type, arrow::default_memory_pool());
    for (int64_t r = 0; r < text.length(); ++r) {
      formats::json::TimePoint tp;
      int64_t v = 0;
      if (text.IsNull(r)) {
        if (!b.AppendNull().ok()) return Status::OutOfMemory("timestamp column");
      } else if (formats::json::ParseTimePoint(text.GetView(r), &tp) &&
                 formats::json::TimePointToUnits(tp, per_second, &v)) {
        if (!b.Append(v).ok()) return Status::OutOfMemory("timestamp column");
      } else {
        fail(r);
        if (!b.AppendNull().ok()) return Status::OutOfMemory("timestamp column");
      }
    }
    std::shared_ptr<arrow::Array> out;
    if (!b.Finish(&out).ok()) return Status::OutOfMemory("timestamp column");
    return out;
  }
  if (type->id() == arrow::Type::BOOL) {
    arrow::BooleanBuilder b;
    for (int64_t r = 0; r < text.length(); ++r) {
      std::string_view v = text.IsNull(r) ? std::string_view() : text.GetView(r);
      Status st;
      if (text.IsNull(r)) {
        st = b.AppendNull();
      } else if (IEquals(v, "true") || IEquals(v, "t") || v == "1") {
        st = b.Append(true);
      } else if (IEquals(v, "false") || IEquals(v, "f") || v == "0") {
        st = b.Append(false);
      } else {
        fail(r);
        st = b.AppendNull();
      }
      if (!st.ok()) return st;
    }
    std::shared_ptr<arrow::Array> out;
    if (!b.Finish(&out).ok()) return Status::OutOfMemory("boolean column");
    return out;
  }
  return std::nullopt;
}

// `a` as `type`, and the cells that do not convert (row -> reason; such
// cells are NULL in the result, or the result is null when Arrow refuses the
// column as a whole).
Result<std::shared_ptr<arrow::Array>> Convert(const std::shared_ptr<arrow::Array>& a,
                                              const std::shared_ptr<arrow::DataType>& type,
                                              std::map<int64_t, std::string>* failures) {
  if (a->type()->Equals(*type)) return a;
  if (auto parsed = ParseText(a, type, failures)) return std::move(*parsed);
  auto whole = cp::Cast(a, type);
  if (whole.ok()) return whole->make_array();
  for (int64_t r = 0; r < a->length(); ++r) {
    if (a->IsNull(r)) continue;
    auto one = cp::Cast(a->Slice(r, 1), type);
    if (!one.ok()) {
      auto scalar = a->GetScalar(r);
      (*failures)[r] = "value " + (scalar.ok() ? (*scalar)->ToString() : std::string("?")) +
                       " is not a " + type->ToString();
    }
  }
  if (failures->empty()) (*failures)[0] = "column does not cast to " + type->ToString();
  return nullptr;
}

// Delta stores timestamps in microseconds.
Result<std::shared_ptr<arrow::Array>> MicrosTimestamps(std::shared_ptr<arrow::Array> a) {
  if (a->type_id() != arrow::Type::TIMESTAMP) return a;
  const auto& t = static_cast<const arrow::TimestampType&>(*a->type());
  if (t.unit() == arrow::TimeUnit::MICRO || t.unit() == arrow::TimeUnit::NANO) return a;
  ARROW_ASSIGN_OR_RAISE(auto d,
                        cp::Cast(a, arrow::timestamp(arrow::TimeUnit::MICRO, t.timezone())));
  return d.make_array();
}

struct Layout {
  int op = -1, ts = -1, seq = -1;
  // Payload: output name, source column (-1: missing), target type (null:
  // as the file has it), before-image column (-1: none).
  struct Col {
    std::string name;
    int src = -1;
    std::shared_ptr<arrow::DataType> type;
    int bi = -1;
  };
  std::vector<Col> cols;
};

Layout MakeLayout(const arrow::Schema& schema, const DmsSettings& s, const DmsTableSchema& t) {
  Layout l;
  const int n = schema.num_fields();
  std::vector<bool> special(n, false);
  if (n > 0 && schema.field(0)->name() == "Op") l.op = 0;
  for (int i = 0; i < n; ++i) {
    const std::string& name = schema.field(i)->name();
    if (i == l.op) {
      special[i] = true;
    } else if (!s.timestamp_column.empty() && name == s.timestamp_column && l.ts < 0) {
      l.ts = i;
      special[i] = true;
    } else if (!s.change_sequence_column.empty() && name == s.change_sequence_column && l.seq < 0) {
      l.seq = i;
      special[i] = true;
    }
  }
  std::map<std::string, int> data;  // data column -> index
  for (int i = 0; i < n; ++i) {
    if (!special[i]) data.emplace(schema.field(i)->name(), i);
  }
  std::map<std::string, int> bi;  // data column -> its before image
  const std::string& p = s.before_image_prefix;
  if (!p.empty()) {
    for (const auto& [name, i] : data) {
      if (name.size() > p.size() && name.compare(0, p.size(), p) == 0) {
        std::string base = name.substr(p.size());
        if (data.count(base)) {
          bi[base] = i;
          special[i] = true;
        }
      }
    }
  }
  auto find = [&](const std::string& name) {
    for (int i = 0; i < n; ++i) {
      if (!special[i] && schema.field(i)->name() == name) return i;
    }
    for (int i = 0; i < n; ++i) {
      if (!special[i] && IEquals(schema.field(i)->name(), name)) return i;
    }
    return -1;
  };
  auto bi_of = [&](int src) {
    if (src < 0) return -1;
    auto it = bi.find(schema.field(src)->name());
    return it == bi.end() ? -1 : it->second;
  };
  if (!t.columns.empty()) {
    for (const auto& [name, type] : t.columns) {
      int src = find(name);
      l.cols.push_back({name, src, type, bi_of(src)});
    }
  } else {
    for (int i = 0; i < n; ++i) {
      if (!special[i]) l.cols.push_back({schema.field(i)->name(), i, nullptr, bi_of(i)});
    }
  }
  return l;
}

// Data columns of the file that no configured column takes, comma-separated.
std::string ExtraColumns(const arrow::Schema& schema, const Layout& l, const DmsSettings& s) {
  std::vector<bool> used(static_cast<size_t>(schema.num_fields()), false);
  for (int i : {l.op, l.ts, l.seq}) {
    if (i >= 0) used[static_cast<size_t>(i)] = true;
  }
  for (const auto& c : l.cols) {
    if (c.src >= 0) used[static_cast<size_t>(c.src)] = true;
    if (c.bi >= 0) used[static_cast<size_t>(c.bi)] = true;
  }
  std::string out;
  for (int i = 0; i < schema.num_fields(); ++i) {
    const std::string& name = schema.field(i)->name();
    bool before_image = !s.before_image_prefix.empty() &&
                        name.compare(0, s.before_image_prefix.size(), s.before_image_prefix) == 0;
    if (!used[static_cast<size_t>(i)] && !before_image) out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

// The good rows `a` of the file's column `field` as the output type (no
// failures expected: rows that fail were filtered out).
Result<std::shared_ptr<arrow::Array>> Payload(const std::shared_ptr<arrow::Field>& field,
                                              const std::shared_ptr<arrow::Array>& a,
                                              const std::shared_ptr<arrow::DataType>& type) {
  if (type) {
    std::map<int64_t, std::string> failures;
    ARROW_ASSIGN_OR_RAISE(auto converted, Convert(a, type, &failures));
    if (!failures.empty() || !converted) {
      return Status::Invalid("column ", field->name(), ": ",
                             failures.empty() ? "does not convert" : failures.begin()->second);
    }
    return converted;
  }
  ARROW_ASSIGN_OR_RAISE(auto storable, ToDeltaStorable(field, a));
  return MicrosTimestamps(storable.values);
}

struct RowMeta {
  CdcOp op = CdcOp::kInsert;
  std::optional<int64_t> ts_us;
  std::pair<uint64_t, uint64_t> seq{0, 0};
};

}  // namespace

std::optional<std::pair<uint64_t, uint64_t>> ParseChangeSequence(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  unsigned __int128 v = 0;
  size_t significant = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (significant > 0 || c != '0') ++significant;
    if (significant > 38) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return std::make_pair(static_cast<uint64_t>(v >> 64), static_cast<uint64_t>(v));
}

Result<DmsChanges> ToChanges(const DmsRawRows& raw, const DmsFileContext& ctx,
                             const DmsSettings& settings, const DmsTableSchema& schema) {
  DmsChanges out;
  const arrow::RecordBatch& in = *raw.batch;
  const int64_t n = in.num_rows();
  const bool full_load = ctx.kind == DmsFileKind::kFullLoad;
  Layout layout = MakeLayout(*in.schema(), settings, schema);
  for (const auto& c : layout.cols) {
    if (IsReservedColumnName(c.name)) {
      return Status::Invalid("column \"", c.name, "\" uses the reserved prefix _cdc_");
    }
  }
  auto offset_of = [&](int64_t r) {
    return raw.offsets.empty() ? ctx.first_row + r : raw.offsets[static_cast<size_t>(r)];
  };

  // Pass 1: per-row meta and every reason a row cannot be a change.
  std::map<int64_t, std::string> bad;
  if (settings.refuse_extra_columns && !schema.columns.empty()) {
    std::string extra = ExtraColumns(*in.schema(), layout, settings);
    if (!extra.empty()) {
      for (int64_t r = 0; r < n; ++r) {
        bad.emplace(
            r, "column(s) " + extra + " not in the configured columns (extra_columns = refuse)");
      }
    }
  }
  std::vector<RowMeta> meta(static_cast<size_t>(n));
  std::shared_ptr<arrow::StringArray> op_text, ts_text, seq_text;
  if (layout.op >= 0) {
    ARROW_ASSIGN_OR_RAISE(op_text, AsText(in.column(layout.op)));
  }
  std::shared_ptr<arrow::Array> ts_col;
  if (layout.ts >= 0) {
    ts_col = in.column(layout.ts);
    if (ts_col->type_id() == arrow::Type::TIMESTAMP) {
      ARROW_ASSIGN_OR_RAISE(auto d,
                            cp::Cast(ts_col, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
      ts_col = d.make_array();
    } else {
      ARROW_ASSIGN_OR_RAISE(ts_text, AsText(ts_col));
    }
  }
  if (layout.seq >= 0) {
    ARROW_ASSIGN_OR_RAISE(seq_text, AsText(in.column(layout.seq)));
  }
  for (int64_t r = 0; r < n; ++r) {
    RowMeta& m = meta[static_cast<size_t>(r)];
    auto fail = [&](std::string reason) { bad.emplace(r, std::move(reason)); };
    if (full_load) {
      m.op = CdcOp::kSnapshot;
    } else if (op_text) {
      std::string_view op = op_text->IsNull(r) ? std::string_view() : op_text->GetView(r);
      if (op == "I") {
        m.op = CdcOp::kInsert;
      } else if (op == "U") {
        m.op = CdcOp::kUpdate;
      } else if (op == "D") {
        m.op = CdcOp::kDelete;
      } else {
        fail("unknown Op '" + std::string(op) + "' (expected I, U or D)");
        continue;
      }
    }
    if (ts_text) {
      if (ts_text->IsNull(r)) {
        fail("timestamp column " + settings.timestamp_column + " is NULL");
        continue;
      }
      auto us = ParseDmsTimestamp(ts_text->GetView(r));
      if (!us) {
        fail("unparseable timestamp '" + std::string(ts_text->GetView(r)) + "' in column " +
             settings.timestamp_column);
        continue;
      }
      m.ts_us = *us;
    } else if (ts_col) {
      if (!ts_col->IsNull(r)) m.ts_us = static_cast<const arrow::TimestampArray&>(*ts_col).Value(r);
    } else if (ctx.file_time_ms) {
      m.ts_us = *ctx.file_time_ms * 1000;
    }
    if (full_load && settings.cdc_start_us) m.ts_us = settings.cdc_start_us;
    if (!full_load && seq_text) {
      auto v = seq_text->IsNull(r) ? std::nullopt : ParseChangeSequence(seq_text->GetView(r));
      if (!v) {
        fail("change sequence " + settings.change_sequence_column + " '" +
             (seq_text->IsNull(r) ? std::string("NULL") : std::string(seq_text->GetView(r))) +
             "' is not a number");
        continue;
      }
      m.seq = *v;
    }
  }
  // The configured columns cast once, here: a cell that does not cast is
  // NULL in its column and its row bad. A column Arrow refuses as a whole
  // (null here) is cast again from the good rows in pass 2.
  std::vector<std::shared_ptr<arrow::Array>> cast(layout.cols.size());
  std::vector<std::shared_ptr<arrow::Array>> cast_bi(layout.cols.size());
  for (size_t i = 0; i < layout.cols.size(); ++i) {
    const auto& c = layout.cols[i];
    if (c.src < 0 || !c.type) continue;
    std::map<int64_t, std::string> f;
    ARROW_ASSIGN_OR_RAISE(cast[i], Convert(in.column(c.src), c.type, &f));
    for (auto& [r, reason] : f) bad.emplace(r, "column " + c.name + ": " + reason);
    if (c.bi >= 0) {
      std::map<int64_t, std::string> fb;
      ARROW_ASSIGN_OR_RAISE(cast_bi[i], Convert(in.column(c.bi), c.type, &fb));
      for (auto& [r, reason] : fb) bad.emplace(r, "before image of " + c.name + ": " + reason);
    }
  }
  for (const auto& key : schema.primary_keys) {
    const Layout::Col* col = nullptr;
    for (const auto& c : layout.cols) {
      if (c.name == key || IEquals(c.name, key)) col = &c;
    }
    if (!col || col->src < 0) continue;  // the merge names a missing key
    auto a = in.column(col->src);
    for (int64_t r = 0; r < n; ++r) {
      if (a->IsNull(r)) bad.emplace(r, "primary key column " + key + " is NULL");
    }
  }

  // Pass 2: the good rows.
  std::vector<int64_t> kept;  // original row of each kept row
  kept.reserve(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    auto it = bad.find(r);
    if (it == bad.end()) {
      kept.push_back(r);
      continue;
    }
    auto row = in.Slice(r, 1);
    std::string printed;
    for (int i = 0; i < row->num_columns(); ++i) {
      auto s = row->column(i)->GetScalar(0);
      printed += (i ? "," : "") + (s.ok() ? (*s)->ToString() : std::string("?"));
    }
    out.bad.push_back({ctx.where, offset_of(r), it->second, std::move(printed)});
  }
  if (kept.empty()) return out;
  // Only the columns the batch takes are narrowed to the good rows.
  std::shared_ptr<arrow::Array> kept_index;  // null: every row kept
  if (kept.size() != static_cast<size_t>(n)) {
    arrow::Int64Builder ib;
    ARROW_RETURN_NOT_OK(ib.AppendValues(kept));
    ARROW_ASSIGN_OR_RAISE(kept_index, ib.Finish());
  }
  auto of_good_rows =
      [&](const std::shared_ptr<arrow::Array>& a) -> Result<std::shared_ptr<arrow::Array>> {
    if (!kept_index) return a;
    ARROW_ASSIGN_OR_RAISE(auto d, cp::Take(a, kept_index));
    return d.make_array();
  };
  const int64_t g = static_cast<int64_t>(kept.size());
  std::vector<std::shared_ptr<arrow::Array>> payload;
  std::vector<std::shared_ptr<arrow::Array>> before;  // per column: null or its BI
  for (size_t i = 0; i < layout.cols.size(); ++i) {
    const auto& c = layout.cols[i];
    std::shared_ptr<arrow::Array> a;
    if (c.src < 0) {
      ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayOfNull(c.type ? c.type : arrow::utf8(), g));
    } else if (cast[i]) {
      ARROW_ASSIGN_OR_RAISE(a, of_good_rows(cast[i]));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto column, of_good_rows(in.column(c.src)));
      ARROW_ASSIGN_OR_RAISE(a, Payload(in.schema()->field(c.src), column, c.type));
    }
    std::shared_ptr<arrow::Array> b;
    if (cast_bi[i]) {
      ARROW_ASSIGN_OR_RAISE(b, of_good_rows(cast_bi[i]));
    } else if (c.bi >= 0) {
      ARROW_ASSIGN_OR_RAISE(b, of_good_rows(in.column(c.bi)));
      if (!b->type()->Equals(*a->type())) {
        std::map<int64_t, std::string> failures;
        auto converted = Convert(b, a->type(), &failures);
        b = converted.ok() && failures.empty() ? *converted : nullptr;
      }
    }
    payload.push_back(std::move(a));
    before.push_back(std::move(b));
  }

  // Key moves: an update whose before image of a key column differs.
  std::vector<bool> moves(static_cast<size_t>(g), false);
  bool any_move = false;
  if (!full_load && !schema.primary_keys.empty()) {
    std::vector<int> key_cols;
    for (const auto& key : schema.primary_keys) {
      for (size_t i = 0; i < layout.cols.size(); ++i) {
        if (layout.cols[i].name == key || IEquals(layout.cols[i].name, key)) {
          key_cols.push_back(static_cast<int>(i));
          break;
        }
      }
    }
    bool all_have_bi = key_cols.size() == schema.primary_keys.size();
    for (int k : key_cols) all_have_bi = all_have_bi && before[static_cast<size_t>(k)] != nullptr;
    if (all_have_bi) {
      for (int k : key_cols) {
        ARROW_ASSIGN_OR_RAISE(auto ne,
                              cp::CallFunction("not_equal", {before[static_cast<size_t>(k)],
                                                             payload[static_cast<size_t>(k)]}));
        const auto ne_array = ne.make_array();  // kept alive while `b` is read
        const auto& b = static_cast<const arrow::BooleanArray&>(*ne_array);
        for (int64_t r = 0; r < g; ++r) {
          if (meta[static_cast<size_t>(kept[static_cast<size_t>(r)])].op == CdcOp::kUpdate &&
              b.IsValid(r) && b.Value(r)) {
            moves[static_cast<size_t>(r)] = true;
            any_move = true;
          }
        }
      }
    }
  }

  // Output rows: (good row, is the delete of a moved key).
  std::vector<std::pair<int64_t, bool>> rows;
  rows.reserve(static_cast<size_t>(g) + (any_move ? 16 : 0));
  for (int64_t r = 0; r < g; ++r) {
    if (moves[static_cast<size_t>(r)]) rows.push_back({r, true});
    rows.push_back({r, false});
  }
  std::vector<std::shared_ptr<arrow::Field>> fields;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  {
    arrow::Int64Builder all, normal;
    arrow::BooleanBuilder is_delete;
    for (const auto& [r, del] : rows) {
      ARROW_RETURN_NOT_OK(all.Append(r));
      ARROW_RETURN_NOT_OK(del ? normal.AppendNull() : normal.Append(r));
      ARROW_RETURN_NOT_OK(is_delete.Append(del));
    }
    ARROW_ASSIGN_OR_RAISE(auto all_idx, all.Finish());
    ARROW_ASSIGN_OR_RAISE(auto normal_idx, normal.Finish());
    ARROW_ASSIGN_OR_RAISE(auto del_mask, is_delete.Finish());
    for (size_t i = 0; i < layout.cols.size(); ++i) {
      std::shared_ptr<arrow::Array> col;
      if (!any_move) {
        col = payload[i];
      } else if (before[i]) {
        ARROW_ASSIGN_OR_RAISE(auto cur, cp::Take(payload[i], all_idx));
        ARROW_ASSIGN_OR_RAISE(auto old, cp::Take(before[i], all_idx));
        ARROW_ASSIGN_OR_RAISE(auto d, cp::IfElse(del_mask, old, cur));
        col = d.make_array();
      } else {
        ARROW_ASSIGN_OR_RAISE(auto d, cp::Take(payload[i], normal_idx));
        col = d.make_array();
      }
      fields.push_back(arrow::field(layout.cols[i].name, col->type()));
      columns.push_back(std::move(col));
    }
  }

  // Canonical columns.
  std::vector<CdcOp> ops;
  arrow::BinaryBuilder seqs;
  arrow::TimestampBuilder ts(CdcTimestampType(), arrow::default_memory_pool());
  arrow::TimestampBuilder ingested(CdcTimestampType(), arrow::default_memory_pool());
  arrow::StringBuilder origins, src_file, src_op, src_seq;
  arrow::Int64Builder src_row;
  ops.reserve(rows.size());
  SequenceKeyBuilder key;
  for (const auto& [r, del] : rows) {
    const int64_t orig = kept[static_cast<size_t>(r)];
    const RowMeta& m = meta[static_cast<size_t>(orig)];
    const int64_t file_row =
        raw.row_numbers.empty() ? ctx.first_row + orig : raw.row_numbers[static_cast<size_t>(orig)];
    ops.push_back(del ? CdcOp::kDelete : m.op);
    key.Clear();
    if (full_load) {
      key.U8(0);
    } else if (seq_text) {
      key.U8(1).U64(m.seq.first).U64(m.seq.second);
    } else {
      key.U8(1).I64(m.ts_us.value_or(0));
    }
    key.U64(ctx.ordinal).U64(static_cast<uint64_t>(file_row)).U8(del ? 0 : 1);
    ARROW_RETURN_NOT_OK(seqs.Append(key.bytes()));
    ARROW_RETURN_NOT_OK(m.ts_us ? ts.Append(*m.ts_us) : ts.AppendNull());
    ARROW_RETURN_NOT_OK(ingested.Append(ctx.ingested_at_us));
    ARROW_RETURN_NOT_OK(origins.Append(ctx.where + "#" + std::to_string(file_row)));
    ARROW_RETURN_NOT_OK(src_file.Append(ctx.where));
    ARROW_RETURN_NOT_OK(src_row.Append(file_row));
    if (op_text && !op_text->IsNull(orig)) {
      ARROW_RETURN_NOT_OK(src_op.Append(op_text->GetView(orig)));
    } else {
      ARROW_RETURN_NOT_OK(src_op.AppendNull());
    }
    if (seq_text && !seq_text->IsNull(orig)) {
      ARROW_RETURN_NOT_OK(src_seq.Append(seq_text->GetView(orig)));
    } else {
      ARROW_RETURN_NOT_OK(src_seq.AppendNull());
    }
  }
  auto source_type = arrow::struct_(
      {arrow::field("file", arrow::utf8()), arrow::field("row", arrow::int64()),
       arrow::field("op", arrow::utf8()), arrow::field("change_seq", arrow::utf8())});
  ARROW_ASSIGN_OR_RAISE(auto op_arr, MakeCdcOpArray(ops));
  ARROW_ASSIGN_OR_RAISE(auto seq_arr, seqs.Finish());
  ARROW_ASSIGN_OR_RAISE(auto ts_arr, ts.Finish());
  ARROW_ASSIGN_OR_RAISE(auto ing_arr, ingested.Finish());
  ARROW_ASSIGN_OR_RAISE(auto origin_arr, origins.Finish());
  ARROW_ASSIGN_OR_RAISE(auto f_arr, src_file.Finish());
  ARROW_ASSIGN_OR_RAISE(auto r_arr, src_row.Finish());
  ARROW_ASSIGN_OR_RAISE(auto o_arr, src_op.Finish());
  ARROW_ASSIGN_OR_RAISE(auto s_arr, src_seq.Finish());
  ARROW_ASSIGN_OR_RAISE(auto source_arr, arrow::StructArray::Make({f_arr, r_arr, o_arr, s_arr},
                                                                  source_type->fields()));
  auto canonical = CanonicalFields(source_type);
  std::vector<std::shared_ptr<arrow::Array>> canon = {op_arr,  seq_arr,    ts_arr,
                                                      ing_arr, origin_arr, source_arr};
  for (size_t i = 0; i < canonical.size(); ++i) {
    fields.push_back(canonical[i]);
    columns.push_back(canon[i]);
  }

  // Partial images: the columns a row does not carry.
  bool any_unsupplied = false;
  for (const auto& c : layout.cols) {
    if (c.src >= 0 && static_cast<size_t>(c.src) < raw.unsupplied.size() &&
        !raw.unsupplied[static_cast<size_t>(c.src)].empty())
      any_unsupplied = true;
  }
  if (any_unsupplied) {
    arrow::ListBuilder lb(arrow::default_memory_pool(), std::make_shared<arrow::StringBuilder>());
    auto* vb = static_cast<arrow::StringBuilder*>(lb.value_builder());
    for (const auto& [r, del] : rows) {
      const int64_t orig = kept[static_cast<size_t>(r)];
      ARROW_RETURN_NOT_OK(lb.Append());
      if (del) continue;
      for (const auto& c : layout.cols) {
        if (c.src < 0 || static_cast<size_t>(c.src) >= raw.unsupplied.size()) continue;
        const auto& flags = raw.unsupplied[static_cast<size_t>(c.src)];
        if (!flags.empty() && flags[static_cast<size_t>(orig)]) {
          ARROW_RETURN_NOT_OK(vb->Append(c.name));
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto list, lb.Finish());
    fields.push_back(arrow::field(std::string(kUnchanged), list->type()));
    columns.push_back(std::move(list));
  }
  out.batch =
      arrow::RecordBatch::Make(arrow::schema(fields), static_cast<int64_t>(rows.size()), columns);
  return out;
}

}  // namespace sluice::sources::dms
