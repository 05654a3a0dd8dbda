#include "sluice/pipeline/schema_evolution.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace sluice::pipeline {

namespace {

std::shared_ptr<arrow::DataType> NullableType(const std::shared_ptr<arrow::DataType>& type);

std::shared_ptr<arrow::Field> NullableField(const std::shared_ptr<arrow::Field>& f) {
  return f->WithType(NullableType(f->type()))->WithNullable(true);
}

std::shared_ptr<arrow::DataType> NullableType(const std::shared_ptr<arrow::DataType>& type) {
  switch (type->id()) {
    case arrow::Type::STRUCT: {
      arrow::FieldVector fields;
      for (const auto& f : type->fields()) fields.push_back(NullableField(f));
      return arrow::struct_(fields);
    }
    case arrow::Type::LIST:
      return arrow::list(NullableField(type->field(0)));
    case arrow::Type::LARGE_LIST:
      return arrow::large_list(NullableField(type->field(0)));
    case arrow::Type::MAP: {
      auto map = std::static_pointer_cast<arrow::MapType>(type);
      return arrow::map(map->key_type(), NullableField(map->item_field()));
    }
    case arrow::Type::DICTIONARY:
      // Delta has no dictionary type: a dictionary column (the normalizer
      // encodes `_cdc_op` that way) is stored, and read back, as its value
      // type. Comparing the stored form keeps a table's second batch from
      // looking like a type change of that column.
      return NullableType(std::static_pointer_cast<arrow::DictionaryType>(type)->value_type());
    default:
      return type;
  }
}

Status Refuse(const std::string& table, const std::string& column, const arrow::DataType& old_type,
              const arrow::DataType& new_type, const char* why) {
  return Status::Invalid("table ", table, ": column '", column, "' changed from ",
                         old_type.ToString(), " to ", new_type.ToString(), ": ", why);
}

// The type that can hold both, if `to` is a safe widening of `from` (or equal).
Result<std::shared_ptr<arrow::DataType>> Widen(const std::string& table, const std::string& column,
                                               const std::shared_ptr<arrow::DataType>& from,
                                               const std::shared_ptr<arrow::DataType>& to,
                                               SchemaEvolution strategy);

Result<std::shared_ptr<arrow::DataType>> MergeStruct(const std::string& table,
                                                     const std::string& prefix,
                                                     const arrow::FieldVector& current,
                                                     const arrow::FieldVector& incoming,
                                                     SchemaEvolution strategy) {
  arrow::FieldVector out;
  for (const auto& f : current) {
    std::shared_ptr<arrow::Field> in;
    for (const auto& g : incoming) {
      if (g->name() == f->name()) in = g;
    }
    if (!in) {
      if (strategy == SchemaEvolution::kOverwrite) continue;  // dropped at the source
      out.push_back(f->WithNullable(true));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto type, Widen(table, prefix + f->name(), f->type(), in->type(), strategy));
    out.push_back(f->WithType(type)->WithNullable(true));
  }
  for (const auto& g : incoming) {
    bool known = false;
    for (const auto& f : current) known = known || f->name() == g->name();
    if (!known) out.push_back(NullableField(g));
  }
  return arrow::struct_(out);
}

Result<std::shared_ptr<arrow::DataType>> Widen(const std::string& table, const std::string& column,
                                               const std::shared_ptr<arrow::DataType>& from,
                                               const std::shared_ptr<arrow::DataType>& to,
                                               SchemaEvolution strategy) {
  if (from->Equals(*to)) return from;
  using T = arrow::Type;
  auto id_from = from->id(), id_to = to->id();
  if (id_from == T::STRUCT && id_to == T::STRUCT) {
    return MergeStruct(table, column + ".", from->fields(), to->fields(), strategy);
  }
  if ((id_from == T::LIST && id_to == T::LIST) || (id_from == T::LARGE_LIST && id_to == T::LARGE_LIST)) {
    ARROW_ASSIGN_OR_RAISE(auto elem, Widen(table, column + ".element", from->field(0)->type(),
                                           to->field(0)->type(), strategy));
    return id_from == T::LIST ? arrow::list(from->field(0)->WithType(elem)->WithNullable(true))
                              : arrow::large_list(from->field(0)->WithType(elem)->WithNullable(true));
  }
  // Integers widen to wider integers; a narrower incoming type reads into
  // the wider table type.
  auto int_rank = [](T::type id) {
    switch (id) {
      case T::INT8: return 1;
      case T::INT16: return 2;
      case T::INT32: return 3;
      case T::INT64: return 4;
      default: return 0;
    }
  };
  if (int_rank(id_from) && int_rank(id_to)) return int_rank(id_from) >= int_rank(id_to) ? from : to;
  if ((id_from == T::FLOAT || id_from == T::DOUBLE) && (id_to == T::FLOAT || id_to == T::DOUBLE)) {
    return arrow::float64();
  }
  if (id_from == T::DECIMAL128 && id_to == T::DECIMAL128) {
    auto a = std::static_pointer_cast<arrow::Decimal128Type>(from);
    auto b = std::static_pointer_cast<arrow::Decimal128Type>(to);
    if (a->scale() == b->scale()) return a->precision() >= b->precision() ? from : to;
    return Refuse(table, column, *from, *to, "a decimal scale change is not a safe widening");
  }
  if (id_from == T::DATE32 && id_to == T::TIMESTAMP) return to;
  if (id_from == T::TIMESTAMP && id_to == T::DATE32) return from;
  if (strategy == SchemaEvolution::kOverwrite) {
    auto castable = arrow::compute::CanCast(*from, *to);
    if (castable) return to;
  }
  return Refuse(table, column, *from, *to,
                strategy == SchemaEvolution::kNone ? "schema evolution is 'none'"
                                                   : "not a safe widening under 'merge'");
}

}  // namespace

std::shared_ptr<arrow::Schema> AllNullable(const std::shared_ptr<arrow::Schema>& schema) {
  arrow::FieldVector fields;
  for (const auto& f : schema->fields()) fields.push_back(NullableField(f));
  return arrow::schema(fields, schema->metadata());
}

Result<std::shared_ptr<arrow::Schema>> EvolveSchema(const std::string& table,
                                                    const std::shared_ptr<arrow::Schema>& current,
                                                    const std::shared_ptr<arrow::Schema>& incoming,
                                                    SchemaEvolution strategy) {
  auto wanted = AllNullable(incoming);
  if (current->Equals(*wanted, /*check_metadata=*/false)) return current;
  if (strategy == SchemaEvolution::kNone) {
    // Name the first difference.
    for (const auto& f : wanted->fields()) {
      auto old = current->GetFieldByName(f->name());
      if (!old) {
        // Name the old and the new type, as for a type change: the old one
        // is "absent" here.
        return Status::Invalid("table ", table, ": new column '", f->name(), "' changed from ",
                               "(absent) to ", f->type()->ToString(),
                               ": schema evolution is 'none'");
      }
      if (!old->type()->Equals(*f->type())) {
        return Refuse(table, f->name(), *old->type(), *f->type(), "schema evolution is 'none'");
      }
    }
    for (const auto& f : current->fields()) {
      if (!wanted->GetFieldByName(f->name())) {
        // A column the source no longer sends reads NULL: not a change of
        // the table's schema.
        continue;
      }
    }
    // Only columns missing from the batch: the table schema stays.
    return current;
  }
  ARROW_ASSIGN_OR_RAISE(auto merged, MergeStruct(table, "", current->fields(), wanted->fields(), strategy));
  auto schema = arrow::schema(merged->fields(), current->metadata());
  if (schema->Equals(*current, false)) return current;
  return schema;
}

Result<std::shared_ptr<arrow::RecordBatch>> ConformBatch(
    const std::string& table, const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::shared_ptr<arrow::Schema>& target) {
  if (batch->schema()->Equals(*target, false)) return batch;
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& field : target->fields()) {
    auto column = batch->GetColumnByName(field->name());
    if (!column) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(field->type(), batch->num_rows()));
      columns.push_back(nulls);
      continue;
    }
    if (column->type()->Equals(*field->type())) {
      columns.push_back(column);
      continue;
    }
    auto cast = arrow::compute::Cast(*column, field->type());
    if (!cast.ok()) {
      return Status::Invalid("table ", table, ": column '", field->name(), "' of type ",
                             column->type()->ToString(), " cannot be stored as ",
                             field->type()->ToString(), ": ", cast.status().message());
    }
    columns.push_back(*cast);
  }
  return arrow::RecordBatch::Make(target, batch->num_rows(), columns);
}

}  // namespace sluice::pipeline
