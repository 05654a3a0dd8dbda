// Decoders of values with children (record, array, map, unions) and the
// JSON fallback for recursive records; leaves are in value_decoders.cc.
#include <arrow/builder.h>
#include <arrow/type.h>

#include <algorithm>

#include "sluice/formats/avro/json_fallback.h"
#include "sluice/formats/avro/value_decoders.h"

namespace sluice::formats::avro {

namespace {

class RecordDecoder : public ValueDecoder {
 public:
  explicit RecordDecoder(std::vector<ChildDecoder> fields) : fields_(std::move(fields)) {
    arrow::FieldVector arrow_fields;
    min_bytes_ = 0;
    for (const auto& f : fields_) {
      arrow_fields.push_back(arrow::field(f.name, f.decoder->type(), f.decoder->nullable()));
      min_bytes_ = std::min<int64_t>(min_bytes_ + f.decoder->min_bytes(), int64_t{1} << 40);
    }
    type_ = arrow::struct_(std::move(arrow_fields));
  }
  void Bind(arrow::ArrayBuilder* b) override {
    b_ = static_cast<arrow::StructBuilder*>(b);
    for (size_t i = 0; i < fields_.size(); ++i) {
      fields_[i].decoder->Bind(b_->field_builder(static_cast<int>(i)));
    }
  }
  Status Decode(BinaryCursor& in) override {
    ARROW_RETURN_NOT_OK(b_->Append());
    for (auto& f : fields_) ARROW_RETURN_NOT_OK(f.decoder->Decode(in));
    return Status::OK();
  }

 private:
  std::vector<ChildDecoder> fields_;
  arrow::StructBuilder* b_ = nullptr;
};

class ArrayDecoder : public ValueDecoder {
 public:
  explicit ArrayDecoder(DecoderPtr items) : items_(std::move(items)) {
    type_ = arrow::list(arrow::field("item", items_->type(), items_->nullable()));
  }
  void Bind(arrow::ArrayBuilder* b) override {
    b_ = static_cast<arrow::ListBuilder*>(b);
    items_->Bind(b_->value_builder());
  }
  Status Decode(BinaryCursor& in) override {
    ARROW_RETURN_NOT_OK(b_->Append());
    for (;;) {
      int64_t count = 0;
      ARROW_RETURN_NOT_OK(in.ReadBlockCount(items_->min_bytes(), &count));
      if (count == 0) return Status::OK();
      for (int64_t i = 0; i < count; ++i) ARROW_RETURN_NOT_OK(items_->Decode(in));
    }
  }

 private:
  DecoderPtr items_;
  arrow::ListBuilder* b_ = nullptr;
};

class MapDecoder : public ValueDecoder {
 public:
  MapDecoder(DecoderPtr values, bool validate) : values_(std::move(values)), validate_(validate) {
    type_ = std::make_shared<arrow::MapType>(
        arrow::field("key", arrow::utf8(), false),
        arrow::field("value", values_->type(), values_->nullable()));
  }
  void Bind(arrow::ArrayBuilder* b) override {
    b_ = static_cast<arrow::MapBuilder*>(b);
    keys_ = static_cast<arrow::StringBuilder*>(b_->key_builder());
    values_->Bind(b_->item_builder());
  }
  Status Decode(BinaryCursor& in) override {
    ARROW_RETURN_NOT_OK(b_->Append());
    for (;;) {
      int64_t count = 0;
      // Each entry holds at least its key's length byte.
      ARROW_RETURN_NOT_OK(in.ReadBlockCount(1 + values_->min_bytes(), &count));
      if (count == 0) return Status::OK();
      for (int64_t i = 0; i < count; ++i) {
        std::string_view key;
        ARROW_RETURN_NOT_OK(in.ReadBytes(&key));
        if (validate_) ARROW_RETURN_NOT_OK(in.CheckUtf8(key));
        ARROW_RETURN_NOT_OK(keys_->Append(key));
        ARROW_RETURN_NOT_OK(values_->Decode(in));
      }
    }
  }

 private:
  DecoderPtr values_;
  bool validate_ = false;
  arrow::MapBuilder* b_ = nullptr;
  arrow::StringBuilder* keys_ = nullptr;
};

class OptionDecoder : public ValueDecoder {
 public:
  OptionDecoder(int64_t null_index, int64_t value_index, DecoderPtr value)
      : null_index_(null_index), value_index_(value_index), value_(std::move(value)) {
    type_ = value_->type();
    nullable_ = null_index >= 0 || value_->nullable();
  }
  void Bind(arrow::ArrayBuilder* b) override {
    b_ = b;
    value_->Bind(b);
  }
  Status Decode(BinaryCursor& in) override {
    int64_t idx = 0;
    ARROW_RETURN_NOT_OK(in.ReadLong(&idx));
    if (idx >= 0 && idx == value_index_) return value_->Decode(in);
    if (idx >= 0 && idx == null_index_) return b_->AppendNull();
    return in.Error("union branch ", idx, " out of range");
  }

 private:
  int64_t null_index_, value_index_;
  DecoderPtr value_;
  arrow::ArrayBuilder* b_ = nullptr;
};

class UnionStructDecoder : public ValueDecoder {
 public:
  explicit UnionStructDecoder(std::vector<ChildDecoder> members) : members_(std::move(members)) {
    arrow::FieldVector fields;
    for (const auto& m : members_) {
      if (m.decoder) {
        fields.push_back(arrow::field(m.name, m.decoder->type(), true));
      } else {
        nullable_ = true;
      }
    }
    type_ = arrow::struct_(std::move(fields));
  }
  void Bind(arrow::ArrayBuilder* b) override {
    b_ = static_cast<arrow::StructBuilder*>(b);
    child_of_branch_.assign(members_.size(), -1);
    int child = 0;
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!members_[i].decoder) continue;
      members_[i].decoder->Bind(b_->field_builder(child));
      child_of_branch_[i] = child++;
    }
  }
  Status Decode(BinaryCursor& in) override {
    int64_t idx = 0;
    ARROW_RETURN_NOT_OK(in.ReadLong(&idx));
    if (idx < 0 || static_cast<size_t>(idx) >= members_.size()) {
      return in.Error("union branch ", idx, " out of range");
    }
    if (!members_[idx].decoder) return b_->AppendNull();  // children get empty slots
    ARROW_RETURN_NOT_OK(b_->Append());
    int chosen = child_of_branch_[idx];
    for (int c = 0; c < b_->num_fields(); ++c) {
      if (c != chosen) ARROW_RETURN_NOT_OK(b_->field_builder(c)->AppendNull());
    }
    return members_[idx].decoder->Decode(in);
  }

 private:
  std::vector<ChildDecoder> members_;
  std::vector<int> child_of_branch_;
  arrow::StructBuilder* b_ = nullptr;
};

class JsonFallbackDecoder : public ValueDecoder {
 public:
  JsonFallbackDecoder(const AvroNode* node, bool validate) : node_(node), validate_(validate) {
    type_ = arrow::utf8();
    min_bytes_ = 0;  // conservative: the node may be an empty record
  }
  void Bind(arrow::ArrayBuilder* b) override { b_ = static_cast<arrow::StringBuilder*>(b); }
  Status Decode(BinaryCursor& in) override {
    scratch_.clear();
    ARROW_RETURN_NOT_OK(RenderJson(node_, in, &scratch_));
    if (validate_) ARROW_RETURN_NOT_OK(in.CheckUtf8(scratch_));
    return b_->Append(scratch_);
  }

 private:
  const AvroNode* node_;
  bool validate_ = false;
  std::string scratch_;
  arrow::StringBuilder* b_ = nullptr;
};

}  // namespace

DecoderPtr MakeRecordDecoder(std::vector<ChildDecoder> fields) {
  return std::make_unique<RecordDecoder>(std::move(fields));
}
DecoderPtr MakeArrayDecoder(DecoderPtr items) {
  return std::make_unique<ArrayDecoder>(std::move(items));
}
DecoderPtr MakeMapDecoder(DecoderPtr values, bool validate_utf8) {
  return std::make_unique<MapDecoder>(std::move(values), validate_utf8);
}
DecoderPtr MakeOptionDecoder(int64_t null_index, int64_t value_index, DecoderPtr value) {
  return std::make_unique<OptionDecoder>(null_index, value_index, std::move(value));
}
DecoderPtr MakeUnionStructDecoder(std::vector<ChildDecoder> members) {
  return std::make_unique<UnionStructDecoder>(std::move(members));
}
DecoderPtr MakeJsonFallbackDecoder(const AvroNode* node, bool validate_utf8) {
  return std::make_unique<JsonFallbackDecoder>(node, validate_utf8);
}

}  // namespace sluice::formats::avro
