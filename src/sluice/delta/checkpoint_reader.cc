// ReadCheckpointParquet (checkpoint.h): column bindings over the checkpoint
// Parquet file's record batches, decoded into actions.
#include <arrow/array.h>
#include <arrow/io/memory.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "sluice/core/arrow_util.h"
#include "sluice/delta/checkpoint.h"

namespace sluice::delta {
namespace {

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

}  // namespace

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

}  // namespace sluice::delta
