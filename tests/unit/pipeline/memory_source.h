// An in-memory source for pipeline tests (not Datastream): streams of
// units held in a shared World, each unit carrying change rows for one or
// several tables. Single-table streams have one offset (the units taken) and
// a state naming each batch; multi-table streams ("topics") have one offset
// per partition, like Kafka, and route rows by table.
#pragma once

#include <arrow/api.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sluice/core/change_schema.h"
#include "sluice/sources/source_registry.h"

namespace sluice::testing {

/// One change row: `id` is the key, `v` the value.
struct MemRow {
  std::string table;  ///< "db.t"
  int64_t id = 0;
  std::string v;
  CdcOp op = CdcOp::kInsert;
  uint64_t seq = 0;  ///< the source's order
};

struct MemUnit {
  int partition = 0;  ///< multi-table streams
  std::vector<MemRow> rows;
};

struct MemStream {
  bool many = false;
  std::vector<MemUnit> units;  ///< in arrival order
};

/// What the source sees; tests change it between steps (units land).
struct World {
  std::mutex mu;
  std::map<std::string, MemStream> streams;
};

inline std::shared_ptr<World>& CurrentWorld() {
  static std::shared_ptr<World> world;
  return world;
}

inline sources::SourceTable TableOf(const std::string& qualified) {
  auto dot = qualified.find('.');
  return {qualified.substr(0, dot), qualified.substr(dot + 1)};
}

inline Result<std::shared_ptr<arrow::RecordBatch>> MakeChanges(const std::vector<MemRow>& rows,
                                                               const std::string& origin) {
  arrow::Int64Builder id;
  arrow::StringBuilder v, origins;
  arrow::BinaryBuilder seq;
  arrow::TimestampBuilder ts(CdcTimestampType(), arrow::default_memory_pool());
  arrow::TimestampBuilder at(CdcTimestampType(), arrow::default_memory_pool());
  std::vector<CdcOp> ops;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ARROW_RETURN_NOT_OK(id.Append(r.id));
    ARROW_RETURN_NOT_OK(v.Append(r.v));
    char be[8];
    for (int b = 0; b < 8; ++b) be[b] = static_cast<char>(r.seq >> (56 - 8 * b));
    ARROW_RETURN_NOT_OK(seq.Append(be, 8));
    ARROW_RETURN_NOT_OK(ts.Append(1'700'000'000'000'000 + static_cast<int64_t>(r.seq)));
    ARROW_RETURN_NOT_OK(at.Append(1'700'000'000'000'000));
    ARROW_RETURN_NOT_OK(origins.Append(origin + "#" + std::to_string(i)));
    ops.push_back(r.op);
  }
  arrow::FieldVector fields = {arrow::field("id", arrow::int64(), false),
                               arrow::field("v", arrow::utf8())};
  auto source_type = arrow::struct_({arrow::field("seq", arrow::int64())});
  for (auto& f : CanonicalFields(source_type)) fields.push_back(f);
  ARROW_ASSIGN_OR_RAISE(auto op_array, MakeCdcOpArray(ops));
  arrow::Int64Builder src_seq;
  for (const auto& r : rows) ARROW_RETURN_NOT_OK(src_seq.Append(static_cast<int64_t>(r.seq)));
  ARROW_ASSIGN_OR_RAISE(auto src_child, src_seq.Finish());
  ARROW_ASSIGN_OR_RAISE(auto src, arrow::StructArray::Make({src_child}, {"seq"}));
  std::vector<std::shared_ptr<arrow::Array>> columns(8);
  ARROW_RETURN_NOT_OK(id.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(v.Finish(&columns[1]));
  columns[2] = op_array;
  ARROW_RETURN_NOT_OK(seq.Finish(&columns[3]));
  ARROW_RETURN_NOT_OK(ts.Finish(&columns[4]));
  ARROW_RETURN_NOT_OK(at.Finish(&columns[5]));
  ARROW_RETURN_NOT_OK(origins.Finish(&columns[6]));
  columns[7] = src;
  return arrow::RecordBatch::Make(arrow::schema(fields), static_cast<int64_t>(rows.size()),
                                  columns);
}

class MemoryStream : public sources::Stream {
 public:
  MemoryStream(std::string id, std::shared_ptr<World> world)
      : id_(std::move(id)), world_(std::move(world)) {
    std::lock_guard<std::mutex> lock(world_->mu);
    many_ = world_->streams[id_].many;
  }

  const std::string& id() const override { return id_; }
  bool routes_many() const override { return many_; }

  Result<std::optional<sources::SourceTable>> Identify() override {
    if (many_) return std::nullopt;
    std::lock_guard<std::mutex> lock(world_->mu);
    for (const auto& u : world_->streams[id_].units) {
      if (!u.rows.empty()) return TableOf(u.rows.front().table);
    }
    return std::nullopt;
  }

  Status Restore(const std::optional<sources::Position>& committed) override {
    next_.clear();
    if (!committed) return Status::OK();
    for (const auto& o : committed->offsets) next_[o.suffix] = o.version;
    return Status::OK();
  }

  // Units are named "<partition>@<offset>"; offsets count per partition.
  Result<std::vector<sources::Unit>> Pending(size_t max_units) override {
    std::lock_guard<std::mutex> lock(world_->mu);
    std::map<int, int64_t> seen;
    std::vector<sources::Unit> out;
    for (const auto& u : world_->streams[id_].units) {
      int64_t offset = seen[u.partition]++;
      if (offset < next_[Suffix(u.partition)]) continue;
      if (out.size() >= max_units) break;
      out.push_back({std::to_string(u.partition) + "@" + std::to_string(offset), 0, 0,
                     static_cast<uint64_t>(out.size())});
    }
    return out;
  }

  Result<sources::DecodedUnit> Decode(const sources::Unit& unit,
                                      const sources::DecodeContext&) const override {
    const MemUnit* found = Find(unit.name);
    if (!found) return Status::IOError("unit ", unit.name, " vanished");
    std::map<std::string, std::vector<MemRow>> by_table;
    for (const auto& r : found->rows) by_table[r.table].push_back(r);
    sources::DecodedUnit out;
    for (const auto& [table, rows] : by_table) {
      sources::TableChanges tc;
      tc.table = TableOf(table);
      // Like Debezium: a truncate carries no message key, so a table's
      // truncates alone say nothing about its keys.
      const bool keyed = std::any_of(rows.begin(), rows.end(),
                                     [](const MemRow& r) { return r.op != CdcOp::kTruncate; });
      if (keyed) tc.primary_keys = std::vector<std::string>{"id"};
      ARROW_ASSIGN_OR_RAISE(auto batch, MakeChanges(rows, id_ + "/" + unit.name));
      tc.batches.push_back(batch);
      out.tables.push_back(std::move(tc));
    }
    return out;
  }

  Result<sources::Position> PositionAfter(const std::vector<sources::Unit>& units) const override {
    std::map<std::string, int64_t> next = next_;
    for (const auto& u : units) {
      int partition = std::stoi(u.name.substr(0, u.name.find('@')));
      int64_t offset = std::stoll(u.name.substr(u.name.find('@') + 1));
      next[Suffix(partition)] = std::max(next[Suffix(partition)], offset + 1);
    }
    sources::Position p;
    // The single offset first: it is the key of the state.
    if (!many_) {
      int64_t base = next_.count("") ? next_.at("") : 0;
      p.offsets.push_back({"", next[""]});
      nlohmann::json names = nlohmann::json::array();
      for (const auto& u : units) names.push_back(u.name);
      p.state = nlohmann::json{{"base", base}, {"units", names}}.dump();
      return p;
    }
    for (const auto& [suffix, v] : next) p.offsets.push_back({suffix, v});
    return p;
  }

  Result<sources::PlannedBatch> Planned(const sources::Position& planned) const override {
    using Base = sources::PlannedBatch::Base;
    sources::PlannedBatch out;
    auto doc = nlohmann::json::parse(planned.state, nullptr, false);
    if (doc.is_discarded()) return out;
    const int64_t base = next_.count("") ? next_.at("") : 0;
    const int64_t theirs = doc["base"].get<int64_t>();
    if (theirs > base) out.base = Base::kAhead;
    if (theirs != base) return out;
    for (const auto& n : doc["units"]) {
      out.units.push_back({n.get<std::string>(), 0, 0, out.units.size()});
    }
    if (!out.units.empty()) out.base = Base::kHere;
    return out;
  }

  void Advance(const sources::Position& position) override {
    for (const auto& o : position.offsets) next_[o.suffix] = o.version;
  }

 private:
  std::string Suffix(int partition) const { return many_ ? "#" + std::to_string(partition) : ""; }

  const MemUnit* Find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(world_->mu);
    int partition = std::stoi(name.substr(0, name.find('@')));
    int64_t offset = std::stoll(name.substr(name.find('@') + 1));
    int64_t k = 0;
    for (const auto& u : world_->streams[id_].units) {
      if (u.partition != partition) continue;
      if (k++ == offset) return &u;
    }
    return nullptr;
  }

  std::string id_;
  std::shared_ptr<World> world_;
  bool many_ = false;
  std::map<std::string, int64_t> next_;
};

class MemorySource : public sources::Source {
 public:
  explicit MemorySource(std::shared_ptr<World> world) : world_(std::move(world)) {}
  Result<std::vector<std::string>> Discover() override {
    std::lock_guard<std::mutex> lock(world_->mu);
    std::vector<std::string> ids;
    for (const auto& [id, s] : world_->streams) ids.push_back(id);
    return ids;
  }
  Result<std::unique_ptr<sources::Stream>> OpenStream(const std::string& id) override {
    return std::make_unique<MemoryStream>(id, world_);
  }
  std::string Describe() const override { return "memory streams"; }

 private:
  std::shared_ptr<World> world_;
};

/// Registers kind "memory", reading CurrentWorld().
inline void RegisterMemorySource() {
  sources::RegisterSource(
      "memory", [](const sources::SourceOptions&) -> Result<std::unique_ptr<sources::Source>> {
        return std::make_unique<MemorySource>(CurrentWorld());
      });
}

}  // namespace sluice::testing
