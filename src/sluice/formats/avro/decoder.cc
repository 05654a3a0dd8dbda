#include "sluice/formats/avro/decoder.h"

#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/utf8.h>

#include <algorithm>
#include <map>

namespace sluice::formats::avro {

namespace {

// Walks the schema graph once, producing the decoder tree. Recursive records
// are cut at opts.max_recursion by the JSON fallback; a schema whose named
// types are referenced so often that the expansion explodes is refused.
class Compiler {
 public:
  explicit Compiler(const AvroArrowOptions& opts) : opts_(opts) {}

  Result<DecoderPtr> Compile(const AvroNode* n) {
    if (++nodes_ > BatchDecoder::kMaxDecoders) {
      return Status::Invalid("Avro schema expands to more than ", BatchDecoder::kMaxDecoders,
                             " decoders");
    }
    if (depth_ >= kMaxCompileDepth) {
      return Status::Invalid("Avro schema nests deeper than ", kMaxCompileDepth, " levels");
    }
    ++depth_;
    auto result = CompileNode(n);
    --depth_;
    return result;
  }

  Result<std::vector<ChildDecoder>> CompileFields(const AvroNode* record) {
    stack_.push_back(record);
    std::vector<ChildDecoder> out;
    for (const auto& f : record->fields) {
      auto child = Compile(f.type);
      if (!child.ok()) {
        stack_.pop_back();
        return child.status().WithMessage(child.status().message(), " (in field \"", f.name, "\")");
      }
      out.push_back({f.name, std::move(*child)});
    }
    stack_.pop_back();
    return out;
  }

 private:
  static constexpr int kMaxCompileDepth = 400;

  Result<DecoderPtr> CompileNode(const AvroNode* n) {
    switch (n->type) {
      case AvroType::kRecord: {
        auto seen = std::count(stack_.begin(), stack_.end(), n);
        if (seen > opts_.max_recursion) return MakeJsonFallbackDecoder(n, opts_.validate_utf8);
        ARROW_ASSIGN_OR_RAISE(auto fields, CompileFields(n));
        return MakeRecordDecoder(std::move(fields));
      }
      case AvroType::kArray: {
        ARROW_ASSIGN_OR_RAISE(auto items, Compile(n->items));
        return MakeArrayDecoder(std::move(items));
      }
      case AvroType::kMap: {
        ARROW_ASSIGN_OR_RAISE(auto values, Compile(n->items));
        return MakeMapDecoder(std::move(values), opts_.validate_utf8);
      }
      case AvroType::kUnion:
        return CompileUnion(n);
      default:
        return MakeLeafDecoder(n, opts_);
    }
  }

  Result<DecoderPtr> CompileUnion(const AvroNode* n) {
    const auto& b = n->branches;
    if (b.size() == 1) {
      ARROW_ASSIGN_OR_RAISE(auto only, Compile(b[0]));
      return MakeOptionDecoder(-1, 0, std::move(only));
    }
    if (b.size() == 2 && (b[0]->type == AvroType::kNull) != (b[1]->type == AvroType::kNull)) {
      int64_t null_index = b[0]->type == AvroType::kNull ? 0 : 1;
      ARROW_ASSIGN_OR_RAISE(auto value, Compile(b[1 - null_index]));
      return MakeOptionDecoder(null_index, 1 - null_index, std::move(value));
    }
    // Member names: the type name, or the simple name of a named type unless
    // two members share it (then the full name).
    std::map<std::string, int> simple_count;
    for (const auto* m : b) {
      if (m->is_named()) ++simple_count[m->name];
    }
    std::vector<ChildDecoder> members;
    for (const auto* m : b) {
      if (m->type == AvroType::kNull) {
        members.push_back({"null", nullptr});
        continue;
      }
      std::string name = !m->is_named()              ? std::string(AvroTypeName(m->type))
                         : simple_count[m->name] > 1 ? m->full_name
                                                     : m->name;
      ARROW_ASSIGN_OR_RAISE(auto dec, Compile(m));
      members.push_back({std::move(name), std::move(dec)});
    }
    return MakeUnionStructDecoder(std::move(members));
  }

  const AvroArrowOptions& opts_;
  std::vector<const AvroNode*> stack_;
  int64_t nodes_ = 0;
  int depth_ = 0;
};

// After a failed decode, nested builders can disagree in length: a struct
// appended before its fields failed, a map key without its value. Pad every
// child to its parent's length with empty values (beyond the rows Flush
// keeps, so never visible) so the finished arrays are valid.
Status PadChildren(arrow::ArrayBuilder* b) {
  switch (b->type()->id()) {
    case arrow::Type::STRUCT: {
      auto* s = static_cast<arrow::StructBuilder*>(b);
      for (int i = 0; i < s->num_fields(); ++i) {
        arrow::ArrayBuilder* child = s->field_builder(i);
        if (child->length() < s->length()) {
          ARROW_RETURN_NOT_OK(child->AppendEmptyValues(s->length() - child->length()));
        }
        ARROW_RETURN_NOT_OK(PadChildren(child));
      }
      return Status::OK();
    }
    case arrow::Type::LIST:
      return PadChildren(static_cast<arrow::ListBuilder*>(b)->value_builder());
    case arrow::Type::MAP: {
      auto* m = static_cast<arrow::MapBuilder*>(b);
      int64_t diff = m->key_builder()->length() - m->item_builder()->length();
      if (diff > 0) ARROW_RETURN_NOT_OK(m->item_builder()->AppendEmptyValues(diff));
      if (diff < 0) ARROW_RETURN_NOT_OK(m->key_builder()->AppendEmptyValues(-diff));
      return PadChildren(m->item_builder());
    }
    default:
      return Status::OK();
  }
}

}  // namespace

Result<std::unique_ptr<BatchDecoder>> BatchDecoder::Make(std::shared_ptr<const AvroSchema> schema,
                                                         const AvroArrowOptions& opts) {
  arrow::util::InitializeUTF8();  // idempotent; ValidateUTF8 needs its tables
  std::unique_ptr<BatchDecoder> d(new BatchDecoder());
  Compiler compiler(opts);
  const AvroNode* root = schema->root();
  std::vector<ChildDecoder> columns;
  if (root->type == AvroType::kRecord) {
    ARROW_ASSIGN_OR_RAISE(columns, compiler.CompileFields(root));
  } else {
    ARROW_ASSIGN_OR_RAISE(auto value, compiler.Compile(root));
    columns.push_back({"value", std::move(value)});
  }
  arrow::FieldVector fields;
  for (auto& c : columns) {
    fields.push_back(arrow::field(c.name, c.decoder->type(), c.decoder->nullable()));
    d->record_min_bytes_ =
        std::min<int64_t>(d->record_min_bytes_ + c.decoder->min_bytes(), int64_t{1} << 40);
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_ASSIGN_OR_RAISE(builder, arrow::MakeBuilder(c.decoder->type()));
    c.decoder->Bind(builder.get());
    d->builders_.push_back(std::move(builder));
    d->columns_.push_back(std::move(c.decoder));
  }
  d->arrow_schema_ = arrow::schema(std::move(fields));
  d->avro_schema_ = std::move(schema);
  return d;
}

Status BatchDecoder::DecodeRecords(BinaryCursor& in, int64_t count) {
  if (dirty_) return Status::Invalid("BatchDecoder: Flush() required after a failed decode");
  for (int64_t r = 0; r < count; ++r) {
    for (auto& c : columns_) {
      Status st = c->Decode(in);
      if (!st.ok()) {
        dirty_ = true;
        return st;
      }
    }
    ++rows_;
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> BatchDecoder::Flush(int64_t keep_rows) {
  int64_t n = keep_rows < 0 ? rows_ : std::min(keep_rows, rows_);
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (auto& b : builders_) {
    if (dirty_) ARROW_RETURN_NOT_OK(PadChildren(b.get()));
    std::shared_ptr<arrow::Array> array;
    ARROW_RETURN_NOT_OK(b->Finish(&array));
    // After a failed decode a column can hold a partial row, or rows of a
    // block that is being discarded: keep only the first n.
    if (array->length() != n) array = array->Slice(0, n);
    arrays.push_back(std::move(array));
  }
  rows_ = 0;
  dirty_ = false;
  return arrow::RecordBatch::Make(arrow_schema_, n, std::move(arrays));
}

Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFor(const AvroSchema& schema,
                                                      const AvroArrowOptions& opts) {
  // Compiling is cheap next to reading a file; one code path keeps the two in step.
  auto alias = std::shared_ptr<const AvroSchema>(&schema, [](const AvroSchema*) {});
  ARROW_ASSIGN_OR_RAISE(auto decoder, BatchDecoder::Make(alias, opts));
  return decoder->schema();
}

}  // namespace sluice::formats::avro
