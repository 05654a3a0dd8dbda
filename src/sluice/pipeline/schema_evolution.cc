#include "sluice/pipeline/schema_evolution.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace sluice::pipeline {

namespace {

std::shared_ptr<arrow::DataType> NullableType(const std::shared_ptr<arrow::DataType>& type);

std::shared_ptr<arrow::Field> NullableField(const std::shared_ptr<arrow::Field>& f) {
  return f->WithType(NullableType(f->type()))->WithNullable(true);
}

// `f` without the parts whose type is unknown (Arrow's null type, from
// all-NULL JSON columns): nullptr if nothing is left.
std::shared_ptr<arrow::Field> StorableField(const std::shared_ptr<arrow::Field>& f) {
  const auto& type = f->type();
  if (type->id() == arrow::Type::NA) return nullptr;
  if (type->id() == arrow::Type::STRUCT) {
    arrow::FieldVector children;
    for (const auto& c : type->fields()) {
      if (auto kept = StorableField(c)) children.push_back(kept);
    }
    if (children.empty()) return nullptr;
    return NullableField(f->WithType(arrow::struct_(children)));
  }
  if ((type->id() == arrow::Type::LIST || type->id() == arrow::Type::LARGE_LIST) &&
      type->field(0)->type()->id() == arrow::Type::NA) {
    // A list of unknown elements: utf8 elements, the only neutral choice.
    return NullableField(f->WithType(arrow::list(arrow::field("element", arrow::utf8()))));
  }
  return NullableField(f);
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
                                               const arrow::Array* incoming,
                                               SchemaEvolution strategy);

bool AllNull(const arrow::Array* a) { return a != nullptr && a->null_count() == a->length(); }

const arrow::Array* ChildOf(const arrow::Array* parent, const std::string& name) {
  if (parent == nullptr || parent->type_id() != arrow::Type::STRUCT) return nullptr;
  return static_cast<const arrow::StructArray*>(parent)->GetFieldByName(name).get();
}

Result<std::shared_ptr<arrow::DataType>> MergeStruct(const std::string& table,
                                                     const std::string& prefix,
                                                     const arrow::FieldVector& current,
                                                     const arrow::FieldVector& incoming,
                                                     const arrow::Array* incoming_array,
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
    ARROW_ASSIGN_OR_RAISE(auto type, Widen(table, prefix + f->name(), f->type(), in->type(),
                                           ChildOf(incoming_array, f->name()), strategy));
    out.push_back(f->WithType(type)->WithNullable(true));
  }
  for (const auto& g : incoming) {
    bool known = false;
    for (const auto& f : current) known = known || f->name() == g->name();
    if (known) continue;
    // A column whose type is unknown (all NULL in JSON input) is added once
    // a batch gives it one; until then it reads NULL anyway.
    auto field = StorableField(g);
    if (field) out.push_back(field);
  }
  return arrow::struct_(out);
}

Result<std::shared_ptr<arrow::DataType>> Widen(const std::string& table, const std::string& column,
                                               const std::shared_ptr<arrow::DataType>& from,
                                               const std::shared_ptr<arrow::DataType>& to,
                                               const arrow::Array* incoming,
                                               SchemaEvolution strategy) {
  if (from->Equals(*to)) return from;
  // A column that is NULL in every row of the batch says nothing about its
  // type (JSON infers utf8 for it): it fits whatever the table has.
  if (AllNull(incoming)) return from;
  using T = arrow::Type;
  auto id_from = from->id(), id_to = to->id();
  if (id_from == T::STRUCT && id_to == T::STRUCT) {
    return MergeStruct(table, column + ".", from->fields(), to->fields(), incoming, strategy);
  }
  if ((id_from == T::LIST && id_to == T::LIST) ||
      (id_from == T::LARGE_LIST && id_to == T::LARGE_LIST)) {
    ARROW_ASSIGN_OR_RAISE(auto elem, Widen(table, column + ".element", from->field(0)->type(),
                                           to->field(0)->type(), nullptr, strategy));
    return id_from == T::LIST
               ? arrow::list(from->field(0)->WithType(elem)->WithNullable(true))
               : arrow::large_list(from->field(0)->WithType(elem)->WithNullable(true));
  }
  // Integers widen to wider integers; a narrower incoming type reads into
  // the wider table type.
  auto int_digits = [](T::type id) {
    switch (id) {
      case T::INT8:
        return 3;
      case T::INT16:
        return 5;
      case T::INT32:
        return 10;
      case T::INT64:
        return 19;
      default:
        return 0;
    }
  };
  int from_int = int_digits(id_from), to_int = int_digits(id_to);
  if (from_int && to_int) return from_int >= to_int ? from : to;
  bool from_float = id_from == T::FLOAT || id_from == T::DOUBLE;
  bool to_float = id_to == T::FLOAT || id_to == T::DOUBLE;
  if (from_float && to_float) return arrow::float64();
  // Decimals widen to a decimal holding both (the larger integer part and
  // the larger scale), as long as that fits 38 digits: JSON infers a
  // decimal's precision and scale per file from the digits it sees.
  auto as_decimal = [&](const std::shared_ptr<arrow::DataType>& t,
                        int digits) -> std::optional<std::pair<int, int>> {
    if (t->id() == T::DECIMAL128) {
      auto d = std::static_pointer_cast<arrow::Decimal128Type>(t);
      return std::make_pair(d->precision() - d->scale(), d->scale());
    }
    if (digits) return std::make_pair(digits, 0);
    return std::nullopt;
  };
  if (id_from == T::DECIMAL128 || id_to == T::DECIMAL128) {
    auto a = as_decimal(from, from_int), b = as_decimal(to, to_int);
    if (a && b) {
      int scale = std::max(a->second, b->second);
      int integer = std::max(a->first, b->first);
      if (integer + scale <= 38) {
        auto widened = arrow::decimal128(integer + scale, scale);
        return widened->Equals(*from) ? from : widened;
      }
      return Refuse(table, column, *from, *to, "no decimal(p<=38) holds both");
    }
    // A decimal meeting a float or double: the source column is floating
    // point (JSON infers decimals from exact digits); double holds both, to
    // about 16 significant digits.
    if (from_float || to_float) return arrow::float64();
  }
  if ((from_int && to_float) || (from_float && to_int)) return arrow::float64();
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

std::shared_ptr<arrow::Schema> StorableSchema(const std::shared_ptr<arrow::Schema>& schema) {
  arrow::FieldVector fields;
  for (const auto& f : schema->fields()) {
    if (auto kept = StorableField(f)) fields.push_back(kept);
  }
  return arrow::schema(fields, schema->metadata());
}

Result<std::shared_ptr<arrow::Schema>> EvolveSchema(const std::string& table,
                                                    const std::shared_ptr<arrow::Schema>& current,
                                                    const arrow::RecordBatch& batch,
                                                    SchemaEvolution strategy) {
  auto wanted = AllNullable(batch.schema());
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
      if (!old->type()->Equals(*f->type()) && !AllNull(batch.GetColumnByName(f->name()).get())) {
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
  ARROW_ASSIGN_OR_RAISE(auto whole, batch.ToStructArray());
  ARROW_ASSIGN_OR_RAISE(auto merged, MergeStruct(table, "", current->fields(), wanted->fields(),
                                                 whole.get(), strategy));
  auto schema = arrow::schema(merged->fields(), current->metadata());
  if (schema->Equals(*current, false)) return current;
  return schema;
}

namespace {

// Reshapes one column to `type`: all-NULL columns become NULLs of the type,
// structs are rebuilt child by child (matching names, adding missing ones as
// NULL), anything else goes through Arrow's cast.
Result<std::shared_ptr<arrow::Array>> ConformArray(const std::string& table,
                                                   const std::string& column,
                                                   std::shared_ptr<arrow::Array> array,
                                                   const std::shared_ptr<arrow::DataType>& type) {
  if (array->type()->Equals(*type)) return array;
  if (array->null_count() == array->length()) return arrow::MakeArrayOfNull(type, array->length());
  if (array->type_id() == arrow::Type::STRUCT && type->id() == arrow::Type::STRUCT) {
    if (array->offset() != 0) {
      ARROW_ASSIGN_OR_RAISE(array, arrow::Concatenate({array}));
    }
    auto st = std::static_pointer_cast<arrow::StructArray>(array);
    std::vector<std::shared_ptr<arrow::Array>> children;
    for (const auto& f : type->fields()) {
      int idx = st->struct_type()->GetFieldIndex(f->name());
      if (idx < 0) {
        ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(f->type(), st->length()));
        children.push_back(nulls);
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(
          auto child, ConformArray(table, column + "." + f->name(), st->field(idx), f->type()));
      children.push_back(child);
    }
    return std::make_shared<arrow::StructArray>(type, st->length(), children, st->null_bitmap(),
                                                st->null_count());
  }
  if (array->type_id() == arrow::Type::DECIMAL128 &&
      (type->id() == arrow::Type::DOUBLE || type->id() == arrow::Type::FLOAT)) {
    // Arrow's decimal→double cast divides and can be an ulp off; going
    // through the decimal's text gives the correctly rounded double (the
    // value the source's float column held).
    ARROW_ASSIGN_OR_RAISE(auto text, arrow::compute::Cast(*array, arrow::utf8()));
    array = text;
  }
  auto cast = arrow::compute::Cast(*array, type);
  if (!cast.ok()) {
    return Status::Invalid("table ", table, ": column '", column, "' of type ",
                           array->type()->ToString(), " cannot be stored as ", type->ToString(),
                           ": ", cast.status().message());
  }
  return *cast;
}

}  // namespace

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
    ARROW_ASSIGN_OR_RAISE(auto conformed,
                          ConformArray(table, field->name(), column, field->type()));
    columns.push_back(conformed);
  }
  return arrow::RecordBatch::Make(target, batch->num_rows(), columns);
}

}  // namespace sluice::pipeline
