#include "sluice/delta/checkpoint.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "sluice/core/arrow_util.h"

namespace sluice::delta {
namespace {

// ---------------------------------------------------------------------------
// The checkpoint schema (PROTOCOL.md "Checkpoint Schema"), field names and
// types as Spark writes them. Everything is nullable, as in Spark's files:
// a row carries exactly one non-null top-level struct.

std::shared_ptr<arrow::DataType> StringMapType() {
  // Spark/parquet name the repeated group "key_value"; values may be null
  // (partitionValues uses that for null partitions).
  return std::make_shared<arrow::MapType>(
      arrow::field("key_value",
                   arrow::struct_({arrow::field("key", arrow::utf8(), /*nullable=*/false),
                                   arrow::field("value", arrow::utf8())}),
                   /*nullable=*/false));
}

std::shared_ptr<arrow::DataType> StringListType() {
  return arrow::list(arrow::field("element", arrow::utf8()));
}

std::shared_ptr<arrow::DataType> DeletionVectorType() {
  return arrow::struct_({
      arrow::field("storageType", arrow::utf8()),
      arrow::field("pathOrInlineDv", arrow::utf8()),
      arrow::field("offset", arrow::int32()),
      arrow::field("sizeInBytes", arrow::int32()),
      arrow::field("cardinality", arrow::int64()),
  });
}

std::shared_ptr<arrow::Schema> CheckpointSchema() {
  auto txn = arrow::struct_({
      arrow::field("appId", arrow::utf8()),
      arrow::field("version", arrow::int64()),
      arrow::field("lastUpdated", arrow::int64()),
  });
  auto add = arrow::struct_({
      arrow::field("path", arrow::utf8()),
      arrow::field("partitionValues", StringMapType()),
      arrow::field("size", arrow::int64()),
      arrow::field("modificationTime", arrow::int64()),
      arrow::field("dataChange", arrow::boolean()),
      arrow::field("tags", StringMapType()),
      arrow::field("deletionVector", DeletionVectorType()),
      arrow::field("baseRowId", arrow::int64()),
      arrow::field("defaultRowCommitVersion", arrow::int64()),
      arrow::field("clusteringProvider", arrow::utf8()),
      arrow::field("stats", arrow::utf8()),
  });
  // The protocol says checkpoint tombstones need no stats/tags; we still keep
  // them when the caller passes them (readers ignore extra fields) so that a
  // checkpoint round-trips exactly.
  auto remove = arrow::struct_({
      arrow::field("path", arrow::utf8()),
      arrow::field("deletionTimestamp", arrow::int64()),
      arrow::field("dataChange", arrow::boolean()),
      arrow::field("extendedFileMetadata", arrow::boolean()),
      arrow::field("partitionValues", StringMapType()),
      arrow::field("size", arrow::int64()),
      arrow::field("deletionVector", DeletionVectorType()),
      arrow::field("baseRowId", arrow::int64()),
      arrow::field("defaultRowCommitVersion", arrow::int64()),
      arrow::field("stats", arrow::utf8()),
      arrow::field("tags", StringMapType()),
  });
  auto metadata = arrow::struct_({
      arrow::field("id", arrow::utf8()),
      arrow::field("name", arrow::utf8()),
      arrow::field("description", arrow::utf8()),
      arrow::field("format", arrow::struct_({arrow::field("provider", arrow::utf8()),
                                             arrow::field("options", StringMapType())})),
      arrow::field("schemaString", arrow::utf8()),
      arrow::field("partitionColumns", StringListType()),
      arrow::field("configuration", StringMapType()),
      arrow::field("createdTime", arrow::int64()),
  });
  auto protocol = arrow::struct_({
      arrow::field("minReaderVersion", arrow::int32()),
      arrow::field("minWriterVersion", arrow::int32()),
      arrow::field("readerFeatures", StringListType()),
      arrow::field("writerFeatures", StringListType()),
  });
  auto domain_metadata = arrow::struct_({
      arrow::field("domain", arrow::utf8()),
      arrow::field("configuration", arrow::utf8()),
      arrow::field("removed", arrow::boolean()),
  });
  return arrow::schema({
      arrow::field("txn", txn),
      arrow::field("add", add),
      arrow::field("remove", remove),
      arrow::field("metaData", metadata),
      arrow::field("protocol", protocol),
      arrow::field("domainMetadata", domain_metadata),
  });
}

// ---------------------------------------------------------------------------
// Writing: one typed builder per leaf, addressed by field name so the code
// cannot drift from CheckpointSchema().

template <typename B>
B* Child(arrow::StructBuilder* s, const char* name) {
  int i = static_cast<const arrow::StructType&>(*s->type()).GetFieldIndex(name);
  return static_cast<B*>(s->field_builder(i));
}

Status AppendOptString(arrow::StringBuilder* b, const std::optional<std::string>& v) {
  return v ? b->Append(*v) : b->AppendNull();
}

template <typename B, typename T>
Status AppendOpt(B* b, const std::optional<T>& v) {
  return v ? b->Append(*v) : b->AppendNull();
}

struct MapWriter {
  arrow::MapBuilder* map = nullptr;
  arrow::StringBuilder* key = nullptr;
  arrow::StringBuilder* value = nullptr;

  explicit MapWriter(arrow::ArrayBuilder* b)
      : map(static_cast<arrow::MapBuilder*>(b)),
        key(static_cast<arrow::StringBuilder*>(map->key_builder())),
        value(static_cast<arrow::StringBuilder*>(map->item_builder())) {}

  Status Append(const std::map<std::string, std::string>& m) {
    ARROW_RETURN_NOT_OK(map->Append());
    for (const auto& [k, v] : m) {
      ARROW_RETURN_NOT_OK(key->Append(k));
      ARROW_RETURN_NOT_OK(value->Append(v));
    }
    return Status::OK();
  }
  Status Append(const PartitionValues& m) {
    ARROW_RETURN_NOT_OK(map->Append());
    for (const auto& [k, v] : m) {
      ARROW_RETURN_NOT_OK(key->Append(k));
      ARROW_RETURN_NOT_OK(AppendOptString(value, v));
    }
    return Status::OK();
  }
  template <typename M>
  Status Append(const std::optional<M>& m) {
    return m ? Append(*m) : map->AppendNull();
  }
};

struct StringListWriter {
  arrow::ListBuilder* list;
  arrow::StringBuilder* value;

  explicit StringListWriter(arrow::ArrayBuilder* b)
      : list(static_cast<arrow::ListBuilder*>(b)),
        value(static_cast<arrow::StringBuilder*>(list->value_builder())) {}

  Status Append(const std::vector<std::string>& v) {
    ARROW_RETURN_NOT_OK(list->Append());
    for (const auto& s : v) ARROW_RETURN_NOT_OK(value->Append(s));
    return Status::OK();
  }
  Status Append(const std::optional<std::vector<std::string>>& v) {
    return v ? Append(*v) : list->AppendNull();
  }
};

Status AppendDeletionVector(arrow::StructBuilder* s,
                            const std::optional<DeletionVectorDescriptor>& dv) {
  if (!dv) return s->AppendNull();
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(
      Child<arrow::StringBuilder>(s, "storageType")->Append(std::string(1, dv->storage_type)));
  ARROW_RETURN_NOT_OK(
      Child<arrow::StringBuilder>(s, "pathOrInlineDv")->Append(dv->path_or_inline_dv));
  ARROW_RETURN_NOT_OK(AppendOpt(Child<arrow::Int32Builder>(s, "offset"), dv->offset));
  ARROW_RETURN_NOT_OK(Child<arrow::Int32Builder>(s, "sizeInBytes")->Append(dv->size_in_bytes));
  return Child<arrow::Int64Builder>(s, "cardinality")->Append(dv->cardinality);
}

Status AppendTxn(arrow::StructBuilder* s, const Txn& t) {
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(s, "appId")->Append(t.app_id));
  ARROW_RETURN_NOT_OK(Child<arrow::Int64Builder>(s, "version")->Append(t.version));
  return AppendOpt(Child<arrow::Int64Builder>(s, "lastUpdated"), t.last_updated);
}

Status AppendAdd(arrow::StructBuilder* s, const Add& a) {
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(s, "path")->Append(a.path));
  ARROW_RETURN_NOT_OK(
      MapWriter(Child<arrow::MapBuilder>(s, "partitionValues")).Append(a.partition_values));
  ARROW_RETURN_NOT_OK(Child<arrow::Int64Builder>(s, "size")->Append(a.size));
  ARROW_RETURN_NOT_OK(
      Child<arrow::Int64Builder>(s, "modificationTime")->Append(a.modification_time));
  ARROW_RETURN_NOT_OK(Child<arrow::BooleanBuilder>(s, "dataChange")->Append(a.data_change));
  ARROW_RETURN_NOT_OK(MapWriter(Child<arrow::MapBuilder>(s, "tags")).Append(a.tags));
  ARROW_RETURN_NOT_OK(
      AppendDeletionVector(Child<arrow::StructBuilder>(s, "deletionVector"), a.deletion_vector));
  ARROW_RETURN_NOT_OK(AppendOpt(Child<arrow::Int64Builder>(s, "baseRowId"), a.base_row_id));
  ARROW_RETURN_NOT_OK(AppendOpt(Child<arrow::Int64Builder>(s, "defaultRowCommitVersion"),
                                a.default_row_commit_version));
  ARROW_RETURN_NOT_OK(
      AppendOptString(Child<arrow::StringBuilder>(s, "clusteringProvider"), a.clustering_provider));
  return AppendOptString(Child<arrow::StringBuilder>(s, "stats"), a.stats);
}

Status AppendRemove(arrow::StructBuilder* s, const Remove& r) {
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(s, "path")->Append(r.path));
  ARROW_RETURN_NOT_OK(
      AppendOpt(Child<arrow::Int64Builder>(s, "deletionTimestamp"), r.deletion_timestamp));
  ARROW_RETURN_NOT_OK(Child<arrow::BooleanBuilder>(s, "dataChange")->Append(r.data_change));
  ARROW_RETURN_NOT_OK(
      AppendOpt(Child<arrow::BooleanBuilder>(s, "extendedFileMetadata"), r.extended_file_metadata));
  ARROW_RETURN_NOT_OK(
      MapWriter(Child<arrow::MapBuilder>(s, "partitionValues")).Append(r.partition_values));
  ARROW_RETURN_NOT_OK(AppendOpt(Child<arrow::Int64Builder>(s, "size"), r.size));
  ARROW_RETURN_NOT_OK(
      AppendDeletionVector(Child<arrow::StructBuilder>(s, "deletionVector"), r.deletion_vector));
  ARROW_RETURN_NOT_OK(AppendOpt(Child<arrow::Int64Builder>(s, "baseRowId"), r.base_row_id));
  ARROW_RETURN_NOT_OK(AppendOpt(Child<arrow::Int64Builder>(s, "defaultRowCommitVersion"),
                                r.default_row_commit_version));
  ARROW_RETURN_NOT_OK(AppendOptString(Child<arrow::StringBuilder>(s, "stats"), r.stats));
  return MapWriter(Child<arrow::MapBuilder>(s, "tags")).Append(r.tags);
}

Status AppendMetadata(arrow::StructBuilder* s, const Metadata& m) {
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(s, "id")->Append(m.id));
  ARROW_RETURN_NOT_OK(AppendOptString(Child<arrow::StringBuilder>(s, "name"), m.name));
  ARROW_RETURN_NOT_OK(
      AppendOptString(Child<arrow::StringBuilder>(s, "description"), m.description));
  auto* format = Child<arrow::StructBuilder>(s, "format");
  ARROW_RETURN_NOT_OK(format->Append());
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(format, "provider")->Append(m.format.provider));
  ARROW_RETURN_NOT_OK(
      MapWriter(Child<arrow::MapBuilder>(format, "options")).Append(m.format.options));
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(s, "schemaString")->Append(m.schema_string));
  ARROW_RETURN_NOT_OK(StringListWriter(Child<arrow::ListBuilder>(s, "partitionColumns"))
                          .Append(m.partition_columns));
  ARROW_RETURN_NOT_OK(
      MapWriter(Child<arrow::MapBuilder>(s, "configuration")).Append(m.configuration));
  return AppendOpt(Child<arrow::Int64Builder>(s, "createdTime"), m.created_time);
}

Status AppendProtocol(arrow::StructBuilder* s, const Protocol& p) {
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(
      Child<arrow::Int32Builder>(s, "minReaderVersion")->Append(p.min_reader_version));
  ARROW_RETURN_NOT_OK(
      Child<arrow::Int32Builder>(s, "minWriterVersion")->Append(p.min_writer_version));
  ARROW_RETURN_NOT_OK(
      StringListWriter(Child<arrow::ListBuilder>(s, "readerFeatures")).Append(p.reader_features));
  return StringListWriter(Child<arrow::ListBuilder>(s, "writerFeatures")).Append(p.writer_features);
}

// domainMetadata travels as OtherAction JSON; the checkpoint wants its three
// fields as columns.
Status AppendDomainMetadata(arrow::StructBuilder* s, const OtherAction& o) {
  auto j = nlohmann::json::parse(o.json, nullptr, /*allow_exceptions=*/false);
  auto domain = j.is_object() ? j.find("domain") : j.end();
  auto config = j.is_object() ? j.find("configuration") : j.end();
  auto removed = j.is_object() ? j.find("removed") : j.end();
  if (domain == j.end() || !domain->is_string() || config == j.end() || !config->is_string() ||
      (removed != j.end() && !removed->is_boolean())) {
    return Status::Invalid(
        "domainMetadata action is not {domain: string, configuration: string, removed: bool}: ",
        o.json);
  }
  ARROW_RETURN_NOT_OK(s->Append());
  ARROW_RETURN_NOT_OK(
      Child<arrow::StringBuilder>(s, "domain")->Append(domain->get_ref<const std::string&>()));
  ARROW_RETURN_NOT_OK(Child<arrow::StringBuilder>(s, "configuration")
                          ->Append(config->get_ref<const std::string&>()));
  return Child<arrow::BooleanBuilder>(s, "removed")
      ->Append(removed != j.end() && removed->get<bool>());
}

// Row order: protocol and metaData first (readers that stop early need them),
// then the rest grouped by kind.
Result<int> RowRank(const Action& a) {
  struct Visitor {
    Result<int> operator()(const Protocol&) const { return 0; }
    Result<int> operator()(const Metadata&) const { return 1; }
    Result<int> operator()(const Txn&) const { return 3; }
    Result<int> operator()(const Add&) const { return 4; }
    Result<int> operator()(const Remove&) const { return 5; }
    Result<int> operator()(const CommitInfo&) const {
      return Status::Invalid("checkpoints must not contain commitInfo actions");
    }
    Result<int> operator()(const OtherAction& o) const {
      if (o.kind == "domainMetadata") return 2;
      if (o.kind == "checkpointMetadata" || o.kind == "sidecar") {
        return Status::NotImplemented("writing v2Checkpoint actions (", o.kind, ")");
      }
      return Status::Invalid("checkpoints must not contain ", o.kind, " actions");
    }
  };
  return std::visit(Visitor{}, a);
}

// ---------------------------------------------------------------------------
// Reading: typed accessors over the Arrow arrays of one record batch. Each
// knows its dotted column name for error messages; a column absent from the
// file reads as all-null. Accepted physical variants (string/large/view,
// int32/int64, list/large list, map or list<struct<key,value>>) cover what
// parquet-mr, parquet-rs and parquet-cpp produce.

struct Ctx {
  const std::string& where;
  int64_t base_row = 0;  ///< file row of the batch's first row
};

class Col {
 public:
  bool IsNull(int64_t i) const { return !array_ || array_->IsNull(i); }
  bool AnyValid() const { return array_ && array_->null_count() < array_->length(); }

 protected:
  Status Init(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    array_ = std::move(a);
    name_ = std::move(name);
    ctx_ = ctx;
    return Status::OK();
  }
  Status WrongType(std::string_view expected) const {
    return Status::Invalid(ctx_->where, ": column ", name_, " has type ",
                           array_->type()->ToString(), ", expected ", expected);
  }
  Status Null(int64_t i) const {
    return Status::Invalid(ctx_->where, ": row ", ctx_->base_row + i, ": ", name_, " is null");
  }
  Status Bad(int64_t i, std::string_view what) const {
    return Status::Invalid(ctx_->where, ": row ", ctx_->base_row + i, ": ", name_, " ", what);
  }

  std::shared_ptr<arrow::Array> array_;
  std::string name_;
  const Ctx* ctx_ = nullptr;
};

class StrCol : public Col {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(Init(std::move(a), std::move(name), ctx));
    if (!array_) return Status::OK();
    switch (array_->type_id()) {
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
      case arrow::Type::LARGE_STRING:
      case arrow::Type::LARGE_BINARY:
      case arrow::Type::STRING_VIEW:
      case arrow::Type::BINARY_VIEW:
        return Status::OK();
      default:
        return WrongType("string");
    }
  }
  std::string_view View(int64_t i) const { return BinaryLikeView(*array_, i).value_or(""); }
  Result<std::string> Req(int64_t i) const {
    if (IsNull(i)) return Null(i);
    return std::string(View(i));
  }
  std::optional<std::string> Opt(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    return std::string(View(i));
  }
};

class IntCol : public Col {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(Init(std::move(a), std::move(name), ctx));
    if (!array_) return Status::OK();
    switch (array_->type_id()) {
      case arrow::Type::INT8:
      case arrow::Type::INT16:
      case arrow::Type::INT32:
      case arrow::Type::INT64:
        return Status::OK();
      default:
        return WrongType("an integer");
    }
  }
  int64_t Value(int64_t i) const {
    switch (array_->type_id()) {
      case arrow::Type::INT8:
        return static_cast<const arrow::Int8Array&>(*array_).Value(i);
      case arrow::Type::INT16:
        return static_cast<const arrow::Int16Array&>(*array_).Value(i);
      case arrow::Type::INT32:
        return static_cast<const arrow::Int32Array&>(*array_).Value(i);
      default:
        return static_cast<const arrow::Int64Array&>(*array_).Value(i);
    }
  }
  Result<int64_t> Req(int64_t i) const {
    if (IsNull(i)) return Null(i);
    return Value(i);
  }
  std::optional<int64_t> Opt(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    return Value(i);
  }
  Result<int32_t> Req32(int64_t i) const {
    ARROW_ASSIGN_OR_RAISE(int64_t v, Req(i));
    return To32(i, v);
  }
  Result<std::optional<int32_t>> Opt32(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    return To32(i, Value(i));
  }

 private:
  Result<int32_t> To32(int64_t i, int64_t v) const {
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
      return Bad(i, "does not fit in an int");
    }
    return static_cast<int32_t>(v);
  }
};

class BoolCol : public Col {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(Init(std::move(a), std::move(name), ctx));
    if (array_ && array_->type_id() != arrow::Type::BOOL) return WrongType("boolean");
    return Status::OK();
  }
  bool Value(int64_t i) const { return static_cast<const arrow::BooleanArray&>(*array_).Value(i); }
  Result<bool> Req(int64_t i) const {
    if (IsNull(i)) return Null(i);
    return Value(i);
  }
  std::optional<bool> Opt(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    return Value(i);
  }
};

// [begin, end) of row i's elements in a list, large list or map array.
class ListBase : public Col {
 protected:
  Status BindList(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx,
                  std::shared_ptr<arrow::Array>* values) {
    ARROW_RETURN_NOT_OK(Init(std::move(a), std::move(name), ctx));
    if (!array_) return Status::OK();
    switch (array_->type_id()) {
      case arrow::Type::LIST:
      case arrow::Type::MAP:  // a MapArray is a ListArray of key/value structs
        *values = static_cast<const arrow::ListArray&>(*array_).values();
        return Status::OK();
      case arrow::Type::LARGE_LIST:
        *values = static_cast<const arrow::LargeListArray&>(*array_).values();
        return Status::OK();
      default:
        return WrongType("a list or map");
    }
  }
  std::pair<int64_t, int64_t> Bounds(int64_t i) const {
    if (array_->type_id() == arrow::Type::LARGE_LIST) {
      const auto& l = static_cast<const arrow::LargeListArray&>(*array_);
      return {l.value_offset(i), l.value_offset(i + 1)};
    }
    const auto& l = static_cast<const arrow::ListArray&>(*array_);
    return {l.value_offset(i), l.value_offset(i + 1)};
  }
};

class StrListCol : public ListBase {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    std::shared_ptr<arrow::Array> values;
    ARROW_RETURN_NOT_OK(BindList(std::move(a), name, ctx, &values));
    return values_.Bind(values, name + ".element", ctx);
  }
  Result<std::optional<std::vector<std::string>>> Opt(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    auto [begin, end] = Bounds(i);
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(end - begin));
    for (int64_t j = begin; j < end; ++j) {
      if (values_.IsNull(j)) return Bad(i, "has a null element");
      out.emplace_back(values_.View(j));
    }
    return out;
  }
  Result<std::vector<std::string>> OrEmpty(int64_t i) const {
    ARROW_ASSIGN_OR_RAISE(auto v, Opt(i));
    return v ? std::move(*v) : std::vector<std::string>{};
  }

 private:
  StrCol values_;
};

class StrMapCol : public ListBase {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    std::shared_ptr<arrow::Array> entries;
    ARROW_RETURN_NOT_OK(BindList(std::move(a), name, ctx, &entries));
    if (!entries) return Status::OK();
    if (entries->type_id() != arrow::Type::STRUCT || entries->num_fields() != 2) {
      return WrongType("map<string,string>");
    }
    const auto& kv = static_cast<const arrow::StructArray&>(*entries);
    ARROW_RETURN_NOT_OK(keys_.Bind(kv.field(0), name + ".key", ctx));
    return values_.Bind(kv.field(1), name + ".value", ctx);
  }
  /// Null map values are kept (partitionValues: a null partition).
  Result<std::optional<PartitionValues>> OptPartitionValues(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    auto [begin, end] = Bounds(i);
    PartitionValues out;
    for (int64_t j = begin; j < end; ++j) {
      if (keys_.IsNull(j)) return Bad(i, "has a null key");
      out.insert_or_assign(std::string(keys_.View(j)), values_.Opt(j));
    }
    return out;
  }
  Result<std::optional<std::map<std::string, std::string>>> Opt(int64_t i) const {
    if (IsNull(i)) return std::nullopt;
    auto [begin, end] = Bounds(i);
    std::map<std::string, std::string> out;
    for (int64_t j = begin; j < end; ++j) {
      if (keys_.IsNull(j)) return Bad(i, "has a null key");
      if (values_.IsNull(j))
        return Bad(i, "has a null value for key '" + std::string(keys_.View(j)) + "'");
      out.insert_or_assign(std::string(keys_.View(j)), std::string(values_.View(j)));
    }
    return out;
  }
  Result<std::map<std::string, std::string>> OrEmpty(int64_t i) const {
    ARROW_ASSIGN_OR_RAISE(auto m, Opt(i));
    return m ? std::move(*m) : std::map<std::string, std::string>{};
  }

 private:
  StrCol keys_;
  StrCol values_;
};

class StructCol : public Col {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, std::string name, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(Init(std::move(a), std::move(name), ctx));
    if (array_ && array_->type_id() != arrow::Type::STRUCT) return WrongType("a struct");
    return Status::OK();
  }
  /// The named field, or null when this struct or the field is absent.
  std::shared_ptr<arrow::Array> Field(const std::string& field) const {
    if (!array_) return nullptr;
    return static_cast<const arrow::StructArray&>(*array_).GetFieldByName(field);
  }
  const std::string& name() const { return name_; }
};

// Binds `col` to field `field` of struct `s`, named "<s>.<field>".
template <typename C>
Status BindField(C* col, const StructCol& s, const std::string& field, const Ctx* ctx) {
  return col->Bind(s.Field(field), s.name() + "." + field, ctx);
}

class DeletionVectorCol {
 public:
  Status Bind(const StructCol& parent, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(BindField(&s_, parent, "deletionVector", ctx));
    ARROW_RETURN_NOT_OK(BindField(&storage_type_, s_, "storageType", ctx));
    ARROW_RETURN_NOT_OK(BindField(&path_, s_, "pathOrInlineDv", ctx));
    ARROW_RETURN_NOT_OK(BindField(&offset_, s_, "offset", ctx));
    ARROW_RETURN_NOT_OK(BindField(&size_, s_, "sizeInBytes", ctx));
    return BindField(&cardinality_, s_, "cardinality", ctx);
  }
  Result<std::optional<DeletionVectorDescriptor>> Get(int64_t i, const std::string& where,
                                                      int64_t row) const {
    if (s_.IsNull(i)) return std::nullopt;
    DeletionVectorDescriptor dv;
    ARROW_ASSIGN_OR_RAISE(std::string type, storage_type_.Req(i));
    if (type.size() != 1) {
      return Status::Invalid(where, ": row ", row, ": ", s_.name(), ".storageType is '", type,
                             "', expected one character");
    }
    dv.storage_type = type[0];
    ARROW_ASSIGN_OR_RAISE(dv.path_or_inline_dv, path_.Req(i));
    ARROW_ASSIGN_OR_RAISE(dv.offset, offset_.Opt32(i));
    ARROW_ASSIGN_OR_RAISE(dv.size_in_bytes, size_.Req32(i));
    ARROW_ASSIGN_OR_RAISE(dv.cardinality, cardinality_.Req(i));
    return dv;
  }

 private:
  StructCol s_;
  StrCol storage_type_, path_;
  IntCol offset_, size_, cardinality_;
};

class ProtocolCol {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(s.Bind(std::move(a), "protocol", ctx));
    ARROW_RETURN_NOT_OK(BindField(&min_reader_, s, "minReaderVersion", ctx));
    ARROW_RETURN_NOT_OK(BindField(&min_writer_, s, "minWriterVersion", ctx));
    ARROW_RETURN_NOT_OK(BindField(&reader_features_, s, "readerFeatures", ctx));
    return BindField(&writer_features_, s, "writerFeatures", ctx);
  }
  Result<Protocol> Get(int64_t i) const {
    Protocol p;
    ARROW_ASSIGN_OR_RAISE(p.min_reader_version, min_reader_.Req32(i));
    ARROW_ASSIGN_OR_RAISE(p.min_writer_version, min_writer_.Req32(i));
    ARROW_ASSIGN_OR_RAISE(p.reader_features, reader_features_.Opt(i));
    ARROW_ASSIGN_OR_RAISE(p.writer_features, writer_features_.Opt(i));
    return p;
  }
  StructCol s;

 private:
  IntCol min_reader_, min_writer_;
  StrListCol reader_features_, writer_features_;
};

class MetadataCol {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(s.Bind(std::move(a), "metaData", ctx));
    ARROW_RETURN_NOT_OK(BindField(&id_, s, "id", ctx));
    ARROW_RETURN_NOT_OK(BindField(&name_, s, "name", ctx));
    ARROW_RETURN_NOT_OK(BindField(&description_, s, "description", ctx));
    ARROW_RETURN_NOT_OK(BindField(&format_, s, "format", ctx));
    ARROW_RETURN_NOT_OK(BindField(&provider_, format_, "provider", ctx));
    ARROW_RETURN_NOT_OK(BindField(&options_, format_, "options", ctx));
    ARROW_RETURN_NOT_OK(BindField(&schema_string_, s, "schemaString", ctx));
    ARROW_RETURN_NOT_OK(BindField(&partition_columns_, s, "partitionColumns", ctx));
    ARROW_RETURN_NOT_OK(BindField(&configuration_, s, "configuration", ctx));
    return BindField(&created_time_, s, "createdTime", ctx);
  }
  Result<Metadata> Get(int64_t i) const {
    Metadata m;
    ARROW_ASSIGN_OR_RAISE(m.id, id_.Req(i));
    m.name = name_.Opt(i);
    m.description = description_.Opt(i);
    // A missing format means the default (parquet, no options).
    if (!format_.IsNull(i)) {
      if (!provider_.IsNull(i)) m.format.provider = std::string(provider_.View(i));
      ARROW_ASSIGN_OR_RAISE(m.format.options, options_.OrEmpty(i));
    }
    ARROW_ASSIGN_OR_RAISE(m.schema_string, schema_string_.Req(i));
    ARROW_ASSIGN_OR_RAISE(m.partition_columns, partition_columns_.OrEmpty(i));
    ARROW_ASSIGN_OR_RAISE(m.configuration, configuration_.OrEmpty(i));
    m.created_time = created_time_.Opt(i);
    return m;
  }
  StructCol s;

 private:
  StrCol id_, name_, description_, provider_, schema_string_;
  StructCol format_;
  StrMapCol options_, configuration_;
  StrListCol partition_columns_;
  IntCol created_time_;
};

class TxnCol {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(s.Bind(std::move(a), "txn", ctx));
    ARROW_RETURN_NOT_OK(BindField(&app_id_, s, "appId", ctx));
    ARROW_RETURN_NOT_OK(BindField(&version_, s, "version", ctx));
    return BindField(&last_updated_, s, "lastUpdated", ctx);
  }
  Result<Txn> Get(int64_t i) const {
    Txn t;
    ARROW_ASSIGN_OR_RAISE(t.app_id, app_id_.Req(i));
    ARROW_ASSIGN_OR_RAISE(t.version, version_.Req(i));
    t.last_updated = last_updated_.Opt(i);
    return t;
  }
  StructCol s;

 private:
  StrCol app_id_;
  IntCol version_, last_updated_;
};

class AddCol {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(s.Bind(std::move(a), "add", ctx));
    ARROW_RETURN_NOT_OK(BindField(&path_, s, "path", ctx));
    ARROW_RETURN_NOT_OK(BindField(&partition_values_, s, "partitionValues", ctx));
    ARROW_RETURN_NOT_OK(BindField(&size_, s, "size", ctx));
    ARROW_RETURN_NOT_OK(BindField(&modification_time_, s, "modificationTime", ctx));
    ARROW_RETURN_NOT_OK(BindField(&data_change_, s, "dataChange", ctx));
    ARROW_RETURN_NOT_OK(BindField(&stats_, s, "stats", ctx));
    ARROW_RETURN_NOT_OK(BindField(&tags_, s, "tags", ctx));
    ARROW_RETURN_NOT_OK(dv_.Bind(s, ctx));
    ARROW_RETURN_NOT_OK(BindField(&base_row_id_, s, "baseRowId", ctx));
    ARROW_RETURN_NOT_OK(BindField(&default_row_commit_version_, s, "defaultRowCommitVersion", ctx));
    return BindField(&clustering_provider_, s, "clusteringProvider", ctx);
  }
  Result<Add> Get(int64_t i, const Ctx& ctx) const {
    Add a;
    ARROW_ASSIGN_OR_RAISE(a.path, path_.Req(i));
    ARROW_ASSIGN_OR_RAISE(auto pv, partition_values_.OptPartitionValues(i));
    if (pv) a.partition_values = std::move(*pv);
    ARROW_ASSIGN_OR_RAISE(a.size, size_.Req(i));
    ARROW_ASSIGN_OR_RAISE(a.modification_time, modification_time_.Req(i));
    ARROW_ASSIGN_OR_RAISE(a.data_change, data_change_.Req(i));
    a.stats = stats_.Opt(i);
    ARROW_ASSIGN_OR_RAISE(a.tags, tags_.Opt(i));
    ARROW_ASSIGN_OR_RAISE(a.deletion_vector, dv_.Get(i, ctx.where, ctx.base_row + i));
    a.base_row_id = base_row_id_.Opt(i);
    a.default_row_commit_version = default_row_commit_version_.Opt(i);
    a.clustering_provider = clustering_provider_.Opt(i);
    return a;
  }
  StructCol s;

 private:
  StrCol path_, stats_, clustering_provider_;
  StrMapCol partition_values_, tags_;
  IntCol size_, modification_time_, base_row_id_, default_row_commit_version_;
  BoolCol data_change_;
  DeletionVectorCol dv_;
};

class RemoveCol {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(s.Bind(std::move(a), "remove", ctx));
    ARROW_RETURN_NOT_OK(BindField(&path_, s, "path", ctx));
    ARROW_RETURN_NOT_OK(BindField(&deletion_timestamp_, s, "deletionTimestamp", ctx));
    ARROW_RETURN_NOT_OK(BindField(&data_change_, s, "dataChange", ctx));
    ARROW_RETURN_NOT_OK(BindField(&extended_file_metadata_, s, "extendedFileMetadata", ctx));
    ARROW_RETURN_NOT_OK(BindField(&partition_values_, s, "partitionValues", ctx));
    ARROW_RETURN_NOT_OK(BindField(&size_, s, "size", ctx));
    ARROW_RETURN_NOT_OK(BindField(&stats_, s, "stats", ctx));
    ARROW_RETURN_NOT_OK(BindField(&tags_, s, "tags", ctx));
    ARROW_RETURN_NOT_OK(dv_.Bind(s, ctx));
    ARROW_RETURN_NOT_OK(BindField(&base_row_id_, s, "baseRowId", ctx));
    return BindField(&default_row_commit_version_, s, "defaultRowCommitVersion", ctx);
  }
  Result<Remove> Get(int64_t i, const Ctx& ctx) const {
    Remove r;
    ARROW_ASSIGN_OR_RAISE(r.path, path_.Req(i));
    r.deletion_timestamp = deletion_timestamp_.Opt(i);
    ARROW_ASSIGN_OR_RAISE(r.data_change, data_change_.Req(i));
    r.extended_file_metadata = extended_file_metadata_.Opt(i);
    ARROW_ASSIGN_OR_RAISE(r.partition_values, partition_values_.OptPartitionValues(i));
    r.size = size_.Opt(i);
    r.stats = stats_.Opt(i);
    ARROW_ASSIGN_OR_RAISE(r.tags, tags_.Opt(i));
    ARROW_ASSIGN_OR_RAISE(r.deletion_vector, dv_.Get(i, ctx.where, ctx.base_row + i));
    r.base_row_id = base_row_id_.Opt(i);
    r.default_row_commit_version = default_row_commit_version_.Opt(i);
    return r;
  }
  StructCol s;

 private:
  StrCol path_, stats_;
  StrMapCol partition_values_, tags_;
  IntCol deletion_timestamp_, size_, base_row_id_, default_row_commit_version_;
  BoolCol data_change_, extended_file_metadata_;
  DeletionVectorCol dv_;
};

class DomainMetadataCol {
 public:
  Status Bind(std::shared_ptr<arrow::Array> a, const Ctx* ctx) {
    ARROW_RETURN_NOT_OK(s.Bind(std::move(a), "domainMetadata", ctx));
    ARROW_RETURN_NOT_OK(BindField(&domain_, s, "domain", ctx));
    ARROW_RETURN_NOT_OK(BindField(&configuration_, s, "configuration", ctx));
    return BindField(&removed_, s, "removed", ctx);
  }
  /// Back to the OtherAction JSON form, fields in protocol order.
  Result<OtherAction> Get(int64_t i) const {
    nlohmann::ordered_json j;
    ARROW_ASSIGN_OR_RAISE(j["domain"], domain_.Req(i));
    ARROW_ASSIGN_OR_RAISE(j["configuration"], configuration_.Req(i));
    j["removed"] = removed_.Opt(i).value_or(false);
    return OtherAction{"domainMetadata",
                       j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }
  StructCol s;

 private:
  StrCol domain_, configuration_;
  BoolCol removed_;
};

// The parts of the checkpoint schema Sluice reads; fields not named here
// (stats_parsed, partitionValues_parsed, maxRowIndex, commitInfo, cdc, ...)
// are never decoded. An empty `children` selects the whole subtree.
struct Wanted {
  std::string name;
  std::vector<Wanted> children;
};

const std::vector<Wanted>& WantedColumns() {
  static const std::vector<Wanted> kWanted = [] {
    Wanted dv{"deletionVector",
              {{"storageType", {}},
               {"pathOrInlineDv", {}},
               {"offset", {}},
               {"sizeInBytes", {}},
               {"cardinality", {}}}};
    auto leaves = [](std::initializer_list<const char*> names) {
      std::vector<Wanted> out;
      for (const char* n : names) out.push_back({n, {}});
      return out;
    };
    std::vector<Wanted> add =
        leaves({"path", "partitionValues", "size", "modificationTime", "dataChange", "stats",
                "tags", "baseRowId", "defaultRowCommitVersion", "clusteringProvider"});
    add.push_back(dv);
    std::vector<Wanted> remove = leaves({"path", "deletionTimestamp", "dataChange",
                                         "extendedFileMetadata", "partitionValues", "size", "stats",
                                         "tags", "baseRowId", "defaultRowCommitVersion"});
    remove.push_back(dv);
    return std::vector<Wanted>{
        {"txn", leaves({"appId", "version", "lastUpdated"})},
        {"add", add},
        {"remove", remove},
        {"metaData", leaves({"id", "name", "description", "format", "schemaString",
                             "partitionColumns", "configuration", "createdTime"})},
        {"protocol",
         leaves({"minReaderVersion", "minWriterVersion", "readerFeatures", "writerFeatures"})},
        {"domainMetadata", leaves({"domain", "configuration", "removed"})},
        // Only to notice V2 checkpoints.
        {"checkpointMetadata", leaves({"version"})},
        {"sidecar", leaves({"path"})},
    };
  }();
  return kWanted;
}

void AllLeaves(const parquet::arrow::SchemaField& f, std::vector<int>* out) {
  if (f.is_leaf()) out->push_back(f.column_index);
  for (const auto& c : f.children) AllLeaves(c, out);
}

void SelectLeaves(const parquet::arrow::SchemaField& f, const Wanted& w, std::vector<int>* out) {
  if (w.children.empty() || f.is_leaf()) return AllLeaves(f, out);
  for (const auto& c : f.children) {
    for (const auto& wc : w.children) {
      if (c.field->name() == wc.name) SelectLeaves(c, wc, out);
    }
  }
}

// A row must carry exactly one action; rows with none of ours (commitInfo,
// cdc, or unknown actions) are skipped.
Status DecodeBatch(const arrow::RecordBatch& batch, Ctx* ctx, std::vector<Action>* out) {
  ProtocolCol protocol;
  MetadataCol metadata;
  TxnCol txn;
  AddCol add;
  RemoveCol remove;
  DomainMetadataCol domain;
  StructCol checkpoint_metadata, sidecar;
  ARROW_RETURN_NOT_OK(protocol.Bind(batch.GetColumnByName("protocol"), ctx));
  ARROW_RETURN_NOT_OK(metadata.Bind(batch.GetColumnByName("metaData"), ctx));
  ARROW_RETURN_NOT_OK(txn.Bind(batch.GetColumnByName("txn"), ctx));
  ARROW_RETURN_NOT_OK(add.Bind(batch.GetColumnByName("add"), ctx));
  ARROW_RETURN_NOT_OK(remove.Bind(batch.GetColumnByName("remove"), ctx));
  ARROW_RETURN_NOT_OK(domain.Bind(batch.GetColumnByName("domainMetadata"), ctx));
  ARROW_RETURN_NOT_OK(checkpoint_metadata.Bind(batch.GetColumnByName("checkpointMetadata"),
                                               "checkpointMetadata", ctx));
  ARROW_RETURN_NOT_OK(sidecar.Bind(batch.GetColumnByName("sidecar"), "sidecar", ctx));

  const StructCol* kinds[] = {&protocol.s, &metadata.s, &txn.s, &add.s, &remove.s, &domain.s};
  // Checked before decoding any row: a V2 checkpoint is reported as such,
  // not as whatever else is odd about it.
  if (checkpoint_metadata.AnyValid() || sidecar.AnyValid()) {
    return Status::NotImplemented(ctx->where, ": a v2Checkpoint (checkpointMetadata/sidecar rows)");
  }
  for (int64_t i = 0; i < batch.num_rows(); ++i) {
    const StructCol* found = nullptr;
    for (const StructCol* k : kinds) {
      if (k->IsNull(i)) continue;
      if (found) {
        return Status::Invalid(ctx->where, ": row ", ctx->base_row + i, " has both ", found->name(),
                               " and ", k->name());
      }
      found = k;
    }
    if (found == &protocol.s) {
      ARROW_ASSIGN_OR_RAISE(auto a, protocol.Get(i));
      out->emplace_back(std::move(a));
    } else if (found == &metadata.s) {
      ARROW_ASSIGN_OR_RAISE(auto a, metadata.Get(i));
      out->emplace_back(std::move(a));
    } else if (found == &txn.s) {
      ARROW_ASSIGN_OR_RAISE(auto a, txn.Get(i));
      out->emplace_back(std::move(a));
    } else if (found == &add.s) {
      ARROW_ASSIGN_OR_RAISE(auto a, add.Get(i, *ctx));
      out->emplace_back(std::move(a));
    } else if (found == &remove.s) {
      ARROW_ASSIGN_OR_RAISE(auto a, remove.Get(i, *ctx));
      out->emplace_back(std::move(a));
    } else if (found == &domain.s) {
      ARROW_ASSIGN_OR_RAISE(auto a, domain.Get(i));
      out->emplace_back(std::move(a));
    }
  }
  return Status::OK();
}

Result<std::optional<int64_t>> JsonOptInt(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) {
    auto v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::Invalid("_last_checkpoint: \"", key, "\" is out of range");
    }
    return static_cast<int64_t>(v);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  return Status::Invalid("_last_checkpoint: \"", key, "\" is not an integer");
}

Result<int64_t> JsonInt(const nlohmann::json& j, const char* key) {
  ARROW_ASSIGN_OR_RAISE(auto v, JsonOptInt(j, key));
  if (!v) return Status::Invalid("_last_checkpoint: missing \"", key, "\"");
  return *v;
}

}  // namespace

Result<std::shared_ptr<arrow::Buffer>> WriteCheckpointParquet(const std::vector<Action>& actions) {
  std::vector<std::pair<int, const Action*>> rows;
  rows.reserve(actions.size());
  int protocols = 0, metadatas = 0;
  for (const auto& a : actions) {
    ARROW_ASSIGN_OR_RAISE(int rank, RowRank(a));
    protocols += rank == 0;
    metadatas += rank == 1;
    rows.emplace_back(rank, &a);
  }
  if (protocols != 1 || metadatas != 1) {
    return Status::Invalid("a checkpoint needs exactly one protocol and one metaData action, got ",
                           protocols, " and ", metadatas);
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });

  auto schema = CheckpointSchema();
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders;
  std::vector<arrow::StructBuilder*> columns;
  for (const auto& f : schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(auto b, arrow::MakeBuilder(f->type()));
    columns.push_back(static_cast<arrow::StructBuilder*>(b.get()));
    builders.push_back(std::move(b));
  }
  enum { kTxn, kAdd, kRemove, kMetaData, kProtocol, kDomainMetadata, kNumColumns };

  for (const auto& [rank, action] : rows) {
    int filled = -1;
    Status st = std::visit(
        [&](const auto& a) -> Status {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, Protocol>) {
            filled = kProtocol;
            return AppendProtocol(columns[kProtocol], a);
          } else if constexpr (std::is_same_v<T, Metadata>) {
            filled = kMetaData;
            return AppendMetadata(columns[kMetaData], a);
          } else if constexpr (std::is_same_v<T, Txn>) {
            filled = kTxn;
            return AppendTxn(columns[kTxn], a);
          } else if constexpr (std::is_same_v<T, Add>) {
            filled = kAdd;
            return AppendAdd(columns[kAdd], a);
          } else if constexpr (std::is_same_v<T, Remove>) {
            filled = kRemove;
            return AppendRemove(columns[kRemove], a);
          } else if constexpr (std::is_same_v<T, OtherAction>) {
            filled = kDomainMetadata;  // RowRank admitted only domainMetadata
            return AppendDomainMetadata(columns[kDomainMetadata], a);
          } else {
            return Status::Invalid("unexpected action in checkpoint");  // RowRank rejected it
          }
        },
        *action);
    ARROW_RETURN_NOT_OK(st);
    for (int c = 0; c < kNumColumns; ++c) {
      if (c != filled) ARROW_RETURN_NOT_OK(columns[c]->AppendNull());
    }
  }

  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (auto& b : builders) {
    ARROW_ASSIGN_OR_RAISE(auto arr, b->Finish());
    arrays.push_back(std::move(arr));
  }
  auto table = arrow::Table::Make(schema, arrays, static_cast<int64_t>(rows.size()));

  // Snappy: every Delta reader (Spark, delta-rs, older standalone readers)
  // decodes it.
  auto props =
      parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink,
                                                 parquet::DEFAULT_MAX_ROW_GROUP_LENGTH, props));
  return sink->Finish();
}

Result<std::vector<Action>> ReadCheckpointParquet(
    const std::shared_ptr<arrow::Buffer>& parquet_bytes, const std::string& where) {
  auto input = std::make_shared<arrow::io::BufferReader>(parquet_bytes);
  auto opened = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!opened.ok()) return opened.status().WithMessage(where, ": ", opened.status().message());
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(opened).ValueUnsafe();

  std::vector<int> leaves;
  for (const auto& f : reader->manifest().schema_fields) {
    for (const auto& w : WantedColumns()) {
      if (f.field->name() == w.name) SelectLeaves(f, w, &leaves);
    }
  }
  if (leaves.empty()) return Status::Invalid(where, ": not a Delta checkpoint (no action columns)");
  std::sort(leaves.begin(), leaves.end());
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());

  std::vector<int> row_groups(static_cast<size_t>(reader->num_row_groups()));
  for (size_t i = 0; i < row_groups.size(); ++i) row_groups[i] = static_cast<int>(i);

  std::vector<Action> out;
  out.reserve(static_cast<size_t>(reader->parquet_reader()->metadata()->num_rows()));
  auto batches = reader->GetRecordBatchReader(row_groups, leaves);
  if (!batches.ok()) return batches.status().WithMessage(where, ": ", batches.status().message());
  Ctx ctx{where};
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    Status st = (*batches)->ReadNext(&batch);
    if (!st.ok()) return st.WithMessage(where, ": ", st.message());
    if (!batch) break;
    ARROW_RETURN_NOT_OK(DecodeBatch(*batch, &ctx, &out));
    ctx.base_row += batch->num_rows();
  }
  return out;
}

std::string LastCheckpointToJson(const LastCheckpoint& last) {
  nlohmann::ordered_json j;
  j["version"] = last.version;
  j["size"] = last.size;
  if (last.parts) j["parts"] = *last.parts;
  if (last.size_in_bytes) j["sizeInBytes"] = *last.size_in_bytes;
  if (last.num_of_add_files) j["numOfAddFiles"] = *last.num_of_add_files;
  return j.dump();
}

Result<LastCheckpoint> LastCheckpointFromJson(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Invalid("_last_checkpoint: not a JSON object");
  LastCheckpoint last;
  ARROW_ASSIGN_OR_RAISE(last.version, JsonInt(j, "version"));
  ARROW_ASSIGN_OR_RAISE(last.size, JsonInt(j, "size"));
  ARROW_ASSIGN_OR_RAISE(last.parts, JsonOptInt(j, "parts"));
  ARROW_ASSIGN_OR_RAISE(last.size_in_bytes, JsonOptInt(j, "sizeInBytes"));
  ARROW_ASSIGN_OR_RAISE(last.num_of_add_files, JsonOptInt(j, "numOfAddFiles"));
  if (last.version < 0 || last.size < 0 || (last.parts && *last.parts < 1)) {
    return Status::Invalid("_last_checkpoint: negative version/size or parts < 1");
  }
  return last;
}

}  // namespace sluice::delta
