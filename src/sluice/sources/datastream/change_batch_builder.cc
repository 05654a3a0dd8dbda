#include "sluice/sources/datastream/change_batch_builder.h"

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>

#include <map>

#include "sluice/core/change_schema.h"
#include "sluice/sources/datastream/event_columns.h"
#include "sluice/sources/datastream/event_reader.h"
#include "sluice/sources/datastream/unified_types.h"

namespace sluice::sources::datastream {

namespace {

// One key column: a payload column, or the ROWID taken from source_metadata.
struct KeyColumn {
  std::string name;
  std::shared_ptr<arrow::Array> values;  // null when absent from the payload
};

struct KeyPlan {
  std::vector<std::string> names;  // as requested / found
  bool use_row_id = false;
};

std::vector<std::string> FirstNonEmptyList(const EventColumn& col) {
  if (!col.present()) return {};
  for (int64_t i = 0; i < col.array()->length(); ++i) {
    auto keys = col.StringList(i);
    if (!keys.empty()) return keys;
  }
  return {};
}

KeyPlan PlanKeys(const EventColumns& c, const EventReader& reader, const NormalizeOptions& opts) {
  KeyPlan plan;
  if (!opts.primary_keys_override.empty()) {
    plan.names = opts.primary_keys_override;
  } else if (auto pk = FirstNonEmptyList(c.Meta("primary_keys")); !pk.empty()) {
    plan.names = std::move(pk);
  } else if (c.Meta("row_id").present() &&
             (reader.fallback_kind() == SourceKind::kOracle || c.Meta("scn").present())) {
    plan.names = {std::string(kRowIdColumn)};
  } else {
    plan.names = FirstNonEmptyList(c.Meta("replication_index"));
  }
  for (const auto& name : plan.names) {
    if (name == kRowIdColumn && c.PayloadIndex(name) < 0) plan.use_row_id = true;
  }
  return plan;
}

Result<std::shared_ptr<arrow::Array>> RowIdArray(const EventColumns& c, int64_t n) {
  EventColumn row_id = c.Meta("row_id");
  arrow::StringBuilder b;
  ARROW_RETURN_NOT_OK(b.Reserve(n));
  for (int64_t i = 0; i < n; ++i) {
    auto s = row_id.String(i);
    if (s && !s->empty()) {
      ARROW_RETURN_NOT_OK(b.Append(s->data(), static_cast<int32_t>(s->size())));
    } else {
      ARROW_RETURN_NOT_OK(b.AppendNull());
    }
  }
  return b.Finish();
}

Result<std::shared_ptr<arrow::Array>> TextArray(const EventColumn& col, int64_t n) {
  // The Avro reader already made utf8 (validated) columns: share them.
  if (col.present() && col.array()->type_id() == arrow::Type::STRING &&
      col.array()->length() == n) {
    return col.array();
  }
  arrow::StringBuilder b;
  ARROW_RETURN_NOT_OK(b.Reserve(n));
  for (int64_t i = 0; i < n; ++i) {
    if (auto s = col.String(i)) {
      ARROW_RETURN_NOT_OK(b.Append(s->data(), static_cast<int32_t>(s->size())));
    } else {
      ARROW_RETURN_NOT_OK(b.AppendNull());
    }
  }
  return b.Finish();
}

Result<std::shared_ptr<arrow::Array>> TimestampArray(const std::vector<std::optional<int64_t>>& v) {
  arrow::TimestampBuilder b(CdcTimestampType(), arrow::default_memory_pool());
  ARROW_RETURN_NOT_OK(b.Reserve(static_cast<int64_t>(v.size())));
  for (const auto& x : v) {
    if (x) {
      b.UnsafeAppend(*x);
    } else {
      b.UnsafeAppendNull();
    }
  }
  return b.Finish();
}

// The _cdc_source struct for every row of the batch (see the header).
Result<std::shared_ptr<arrow::Array>> SourceStruct(const EventColumns& c, int64_t n) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  auto add = [&](const char* name, std::shared_ptr<arrow::Array> a) {
    fields.push_back(arrow::field(name, a->type(), /*nullable=*/true));
    arrays.push_back(std::move(a));
  };
  ARROW_ASSIGN_OR_RAISE(auto uuid, TextArray(c.uuid, n));
  add("uuid", uuid);
  ARROW_ASSIGN_OR_RAISE(auto read_method, TextArray(c.read_method, n));
  add("read_method", read_method);
  ARROW_ASSIGN_OR_RAISE(auto object, TextArray(c.object, n));
  add("object", object);
  ARROW_ASSIGN_OR_RAISE(auto stream_name, TextArray(c.stream_name, n));
  add("stream_name", stream_name);
  ARROW_ASSIGN_OR_RAISE(auto schema_key, TextArray(c.schema_key, n));
  add("schema_key", schema_key);
  arrow::StringBuilder sort_keys;
  ARROW_RETURN_NOT_OK(sort_keys.Reserve(n));
  const SortKeysJson sort_keys_json(c.sort_keys);
  std::string json;
  for (int64_t i = 0; i < n; ++i) {
    if (sort_keys_json.Format(i, json)) {
      ARROW_RETURN_NOT_OK(sort_keys.Append(json));
    } else {
      ARROW_RETURN_NOT_OK(sort_keys.AppendNull());
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto sort_keys_array, sort_keys.Finish());
  add("sort_keys", sort_keys_array);
  std::vector<std::optional<int64_t>> read_ts(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    read_ts[static_cast<size_t>(i)] = c.read_timestamp.TimestampMicros(i);
  ARROW_ASSIGN_OR_RAISE(auto read_ts_array, TimestampArray(read_ts));
  add("read_timestamp", read_ts_array);

  const size_t generic = fields.size();
  for (size_t k = 0; k < c.metadata_fields.size(); ++k) {
    auto field = c.metadata_fields[k];
    for (size_t g = 0; g < generic; ++g) {
      if (fields[g]->name() == field->name()) {
        field = field->WithName("source_metadata_" + field->name());
        break;
      }
    }
    fields.push_back(field->WithNullable(true));
    arrays.push_back(c.metadata[k].array());
  }
  return arrow::StructArray::Make(arrays, fields);
}

}  // namespace

Result<NormalizedBatch> Normalize(const arrow::RecordBatch& events, const FileContext& ctx,
                                  const NormalizeOptions& opts) {
  ARROW_ASSIGN_OR_RAISE(EventColumns c, EventColumns::Bind(events));
  for (const auto& f : c.payload_fields) {
    if (IsReservedColumnName(f->name())) {
      return Status::Invalid("payload column '", f->name(), "' of ", ctx.file_path,
                             " uses the reserved prefix _cdc_");
    }
  }
  const int64_t n = events.num_rows();
  // Payload columns become Delta-storable types (unified_types.h) before
  // keys are resolved, so key checks and the output see the stored values.
  std::map<int64_t, std::string> unrepresentable;
  for (size_t k = 0; k < c.payload.size(); ++k) {
    ARROW_ASSIGN_OR_RAISE(auto col, ToDeltaStorable(c.payload_fields[k], c.payload[k]));
    c.payload_fields[k] = std::move(col.field);
    c.payload[k] = std::move(col.values);
    for (auto& r : col.unrepresentable) unrepresentable.emplace(r.row, std::move(r.reason));
  }
  EventReader reader(c);
  NormalizedBatch out;

  // Keys: resolve names to columns once.
  KeyPlan plan = PlanKeys(c, reader, opts);
  std::shared_ptr<arrow::Array> row_id;
  if (plan.use_row_id) {
    ARROW_ASSIGN_OR_RAISE(row_id, RowIdArray(c, n));
  }
  std::vector<KeyColumn> keys;
  for (const auto& name : plan.names) {
    KeyColumn key{name, nullptr};
    if (int idx = c.PayloadIndex(name); idx >= 0) {
      key.name = c.payload_fields[static_cast<size_t>(idx)]->name();
      key.values = c.payload[static_cast<size_t>(idx)];
    } else if (name == kRowIdColumn && row_id) {
      key.values = row_id;
    }
    out.primary_keys.push_back(key.name);
    keys.push_back(std::move(key));
  }

  // Per row: operation, sequence, key check.
  std::vector<CdcOp> ops;
  ops.reserve(static_cast<size_t>(n));
  arrow::BinaryBuilder seq;
  arrow::StringBuilder origin;
  std::vector<std::optional<int64_t>> ts(static_cast<size_t>(n));
  arrow::Int64Builder accepted;
  ARROW_RETURN_NOT_OK(seq.Reserve(n));
  ARROW_RETURN_NOT_OK(origin.Reserve(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t file_row = ctx.first_row_index + i;
    EventChange change;
    std::optional<std::string> reason =
        reader.Read(i, ctx.file_ordinal, static_cast<uint64_t>(file_row), &change);
    for (size_t k = 0; !reason && k < keys.size(); ++k) {
      if (!keys[k].values) {
        reason = "primary key column '" + keys[k].name + "' is not in the payload";
      } else if (keys[k].values->IsNull(i)) {
        reason = keys[k].name == kRowIdColumn ? std::string("source_metadata.row_id is null")
                                              : "primary key column '" + keys[k].name + "' is null";
      }
    }
    if (auto it = unrepresentable.find(i); !reason && it != unrepresentable.end()) {
      reason = it->second;
    }
    if (reason) {
      out.rejected.push_back({i, std::move(*reason)});
    } else {
      ARROW_RETURN_NOT_OK(accepted.Append(i));
    }
    // Rejected rows get placeholders; they are dropped by the Take below.
    ops.push_back(change.op);
    ts[static_cast<size_t>(i)] =
        reason ? std::nullopt : std::optional<int64_t>(change.position.source_ts_us);
    ARROW_RETURN_NOT_OK(
        seq.Append(reason ? std::string() : EncodeSequence(change.kind, change.position)));
    ARROW_RETURN_NOT_OK(origin.Append(ctx.file_path + "#" + std::to_string(file_row)));
  }

  // Assemble: payload, [_cdc_row_id], canonical columns.
  arrow::FieldVector fields;
  arrow::ArrayVector columns;
  for (size_t k = 0; k < c.payload_fields.size(); ++k) {
    fields.push_back(c.payload_fields[k]);
    columns.push_back(c.payload[k]);
  }
  if (row_id) {
    fields.push_back(arrow::field(std::string(kRowIdColumn), arrow::utf8(), /*nullable=*/true));
    columns.push_back(row_id);
  }
  ARROW_ASSIGN_OR_RAISE(auto source, SourceStruct(c, n));
  auto canonical = CanonicalFields(source->type());
  fields.insert(fields.end(), canonical.begin(), canonical.end());
  ARROW_ASSIGN_OR_RAISE(auto op_array, MakeCdcOpArray(ops));
  ARROW_ASSIGN_OR_RAISE(auto seq_array, seq.Finish());
  ARROW_ASSIGN_OR_RAISE(auto ts_array, TimestampArray(ts));
  std::vector<std::optional<int64_t>> ingested(static_cast<size_t>(n), ctx.ingested_at_us);
  ARROW_ASSIGN_OR_RAISE(auto ingested_array, TimestampArray(ingested));
  ARROW_ASSIGN_OR_RAISE(auto origin_array, origin.Finish());
  columns.insert(columns.end(),
                 {op_array, seq_array, ts_array, ingested_array, origin_array, source});
  auto all = arrow::RecordBatch::Make(arrow::schema(fields), n, columns);

  if (out.rejected.empty()) {
    out.changes = std::move(all);
    return out;
  }
  ARROW_ASSIGN_OR_RAISE(auto indices, accepted.Finish());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum kept,
                        arrow::compute::Take(arrow::Datum(all), arrow::Datum(indices)));
  out.changes = kept.record_batch();
  return out;
}

}  // namespace sluice::sources::datastream
