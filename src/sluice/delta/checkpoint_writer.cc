// WriteCheckpointParquet (checkpoint.h): actions into the checkpoint schema
// (checkpoint_schema.h), one row per action.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>
#include <arrow/type.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "sluice/delta/checkpoint.h"
#include "sluice/delta/checkpoint_schema.h"

namespace sluice::delta {
namespace {

// ---------------------------------------------------------------------------
// Writing: one typed builder per leaf, addressed by field name so the code
// cannot drift from CheckpointSchema().

// StructBuilder::type() rebuilds the struct's type from its children on every
// call (recursively, a few allocations per field), which made a checkpoint
// cost ~15 type builds per row: each builder's type is built once per
// checkpoint instead. Builders live for the whole WriteCheckpointParquet call
// (which installs the table), so their addresses are unique within it.
using BuilderTypes =
    std::unordered_map<const arrow::StructBuilder*, std::shared_ptr<arrow::DataType>>;
thread_local BuilderTypes* builder_types = nullptr;

template <typename B>
B* Child(arrow::StructBuilder* s, const char* name) {
  std::shared_ptr<arrow::DataType> type;
  if (builder_types) {
    auto [it, inserted] = builder_types->try_emplace(s);
    if (inserted) it->second = s->type();
    type = it->second;
  } else {
    type = s->type();
  }
  int i = static_cast<const arrow::StructType&>(*type).GetFieldIndex(name);
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
  BuilderTypes types;
  builder_types = &types;
  struct Uninstall {
    ~Uninstall() { builder_types = nullptr; }
  } uninstall;

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

}  // namespace sluice::delta
