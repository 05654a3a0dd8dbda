#include "sluice/formats/debezium/json_record_reader.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <utility>

#include "sluice/formats/connect/json_value_writer.h"
#include "sluice/formats/debezium/record_run_builder.h"
#include "sluice/formats/json/json_value.h"
#include "sluice/formats/json/number_text.h"

namespace sluice::formats::debezium {

namespace od = json::od;
using connect::ConnectSchema;
using connect::ConnectSchemaPtr;
using connect::ConnectType;

struct JsonRecordReader::Compiled {
  ConnectSchemaPtr schema;
  std::shared_ptr<arrow::DataType> type;
  Status error;  ///< why the schema cannot be used (then schema is null)
};

namespace {

// One message loaded for simdjson On-Demand (which reads up to
// SIMDJSON_PADDING bytes past the end, so the bytes are copied into a
// padded buffer reused across messages). A message is read up to three
// times (its form, the check, the append): the structural index is built
// once, on Load, and each pass rewinds over it.
class Document {
 public:
  Status Load(std::string_view bytes) {
    buf_.assign(bytes.data(), bytes.size());
    buf_.resize(bytes.size() + simdjson::SIMDJSON_PADDING);
    size_ = bytes.size();
    SLUICE_SJ(parser_.iterate(buf_.data(), size_, buf_.size()).get(doc_));
    return Status::OK();
  }

  // Invalidates values and unescaped strings of the previous pass; raw JSON
  // text (a view of the loaded bytes) stays valid until the next Load.
  Status Rewind() {
    doc_.rewind();
    return Status::OK();
  }

  od::document& doc() { return doc_; }

 private:
  od::parser parser_;
  od::document doc_;
  std::string buf_;
  size_t size_ = 0;
};

// What the first look at a message found.
struct Form {
  bool tombstone = false;
  bool wrapped = false;          ///< {"schema": ..., "payload": ...}
  std::string_view schema_text;  ///< raw, in the Document until its next Load; empty: schemaless
  /// The payload object's raw text when it came after the schema (not
  /// validated yet); empty otherwise.
  std::string_view payload_text;
};

// Reads the top level: the form, and a syntax check of everything (so the
// later passes meet no syntax error and trailing bytes are refused). The
// payload after a schema object is left to the conversion's check, which
// reads all of it (a field not in the schema is validated, then refused),
// so the largest part of a message is not walked once more here.
Result<Form> ReadForm(Document& d) {
  Form form;
  od::json_type type;
  SLUICE_SJ(d.doc().type().get(type));
  if (type != od::json_type::object) {
    if (type == od::json_type::null) {
      bool is_null = false;
      SLUICE_SJ(d.doc().is_null().get(is_null));
      if (!is_null) return json::SyntaxError(simdjson::N_ATOM_ERROR);
      form.tombstone = true;
      return form;
    }
    return json::ContentError("not a JSON object");
  }
  od::object obj;
  SLUICE_SJ(d.doc().get_object().get(obj));
  int keys = 0;
  bool schema = false, payload = false, payload_null = false;
  bool payload_checked_later = false;  // skipped here: the check reads it
  for (auto item : obj) {
    od::field field;
    SLUICE_SJ(std::move(item).get(field));
    std::string_view key;
    SLUICE_SJ(field.unescaped_key().get(key));
    ++keys;
    od::value value = field.value();
    if (key == "schema") {
      schema = true;
      ARROW_ASSIGN_OR_RAISE(auto t, json::TypeOf(value));
      if (t == od::json_type::object) {
        od::object s;
        SLUICE_SJ(value.get_object().get(s));
        std::string_view raw;
        SLUICE_SJ(s.raw_json().get(raw));
        form.schema_text = raw;
        continue;
      }
      if (t != od::json_type::null) {
        ARROW_RETURN_NOT_OK(json::ValidateValue(value));
        return json::ContentError("\"schema\" is neither an object nor null");
      }
      continue;
    }
    if (key == "payload") {
      payload = true;
      ARROW_ASSIGN_OR_RAISE(auto t, json::TypeOf(value));
      payload_null = t == od::json_type::null;
      if (!form.schema_text.empty() && !payload_checked_later) {
        payload_checked_later = true;
        if (t == od::json_type::object) {
          // Its span, found by the structural index alone.
          od::object p;
          SLUICE_SJ(value.get_object().get(p));
          SLUICE_SJ(p.raw_json().get(form.payload_text));
        }
        continue;
      }
    }
    ARROW_RETURN_NOT_OK(json::ValidateValue(value));
  }
  // simdjson 3.0 has no document::at_end(): past the last token there is no
  // current location.
  const char* loc = nullptr;
  if (d.doc().current_location().get(loc) == simdjson::SUCCESS) {
    return json::SyntaxError(simdjson::TRAILING_CONTENT);
  }
  form.wrapped = schema && payload && keys == 2;
  if (!form.wrapped) {
    form.schema_text = {};  // a record that has a "schema" column
    form.payload_text = {};
  }
  if (payload_checked_later && form.schema_text.empty()) {
    // Not a wrapped message after all: its payload is validated here.
    ARROW_RETURN_NOT_OK(d.Rewind());
    od::value v;
    SLUICE_SJ(d.doc().find_field_unordered("payload").get(v));
    ARROW_RETURN_NOT_OK(json::ValidateValue(v));
  }
  form.tombstone = form.wrapped && payload_null;
  return form;
}

// The value to decode: the payload of a wrapped message, else the document.
Status WithPayload(Document& d, bool wrapped, const std::function<Status(od::value)>& fn) {
  ARROW_RETURN_NOT_OK(d.Rewind());
  if (!wrapped) {
    od::value v;
    SLUICE_SJ(d.doc().get_value().get(v));
    return fn(v);
  }
  od::value v;
  SLUICE_SJ(d.doc().find_field_unordered("payload").get(v));
  return fn(v);
}

// Schemaless inference (the table in the header).
class Inferred {
 public:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kObject, kArray, kMixed };

  Status Observe(od::value v, int depth) {
    ARROW_ASSIGN_OR_RAISE(auto t, json::TypeOf(v));
    if (kind_ == Kind::kMixed || depth > connect::kMaxDepth) {
      kind_ = Kind::kMixed;
      return json::ValidateValue(v);
    }
    switch (t) {
      case od::json_type::null:
        return Status::OK();
      case od::json_type::boolean: {
        bool b;
        SLUICE_SJ(v.get_bool().get(b));
        return Merge(Kind::kBool);
      }
      case od::json_type::number: {
        ARROW_ASSIGN_OR_RAISE(auto token, json::NumberToken(v));
        json::NumberText n;
        int64_t i = 0;
        const bool integer =
            json::ScanNumber(token, &n) && n.is_integer() && json::IntegerToInt64(n, &i);
        if (integer && kind_ == Kind::kDouble) return Status::OK();
        if (!integer && kind_ == Kind::kInt) {
          kind_ = Kind::kDouble;
          return Status::OK();
        }
        return Merge(integer ? Kind::kInt : Kind::kDouble);
      }
      case od::json_type::string: {
        std::string_view s;
        SLUICE_SJ(v.get_string().get(s));
        return Merge(Kind::kString);
      }
      case od::json_type::object: {
        ARROW_RETURN_NOT_OK(Merge(Kind::kObject));
        if (kind_ != Kind::kObject) return json::ValidateValue(v);
        od::object obj;
        SLUICE_SJ(v.get_object().get(obj));
        for (auto item : obj) {
          od::field field;
          SLUICE_SJ(std::move(item).get(field));
          std::string_view key;
          SLUICE_SJ(field.unescaped_key().get(key));
          ARROW_RETURN_NOT_OK(Field(key)->Observe(field.value(), depth + 1));
        }
        return Status::OK();
      }
      case od::json_type::array: {
        ARROW_RETURN_NOT_OK(Merge(Kind::kArray));
        if (kind_ != Kind::kArray) return json::ValidateValue(v);
        if (!element_) element_ = std::make_unique<Inferred>();
        od::array arr;
        SLUICE_SJ(v.get_array().get(arr));
        for (auto item : arr) {
          od::value e;
          SLUICE_SJ(std::move(item).get(e));
          ARROW_RETURN_NOT_OK(element_->Observe(e, depth + 1));
        }
        return Status::OK();
      }
    }
    return json::SyntaxError(simdjson::TAPE_ERROR);
  }

  Kind kind() const { return kind_; }

  ConnectSchemaPtr ToSchema(bool optional) const {
    auto s = std::make_shared<ConnectSchema>();
    s->optional = optional;
    switch (kind_) {
      case Kind::kBool:
        s->type = ConnectType::kBoolean;
        break;
      case Kind::kInt:
        s->type = ConnectType::kInt64;
        break;
      case Kind::kDouble:
        s->type = ConnectType::kFloat64;
        break;
      case Kind::kObject:
        s->type = ConnectType::kStruct;
        for (const auto& [name, type] : fields_) s->fields.push_back({name, type->ToSchema(true)});
        break;
      case Kind::kArray:
        s->type = ConnectType::kArray;
        s->items = element_ ? element_->ToSchema(true) : Inferred().ToSchema(true);
        break;
      default:
        s->type = ConnectType::kString;
        break;
    }
    return s;
  }

 private:
  Status Merge(Kind k) {
    if (kind_ == Kind::kNull || kind_ == k) {
      kind_ = k;
    } else {
      kind_ = Kind::kMixed;
      fields_.clear();
      element_.reset();
    }
    return Status::OK();
  }

  Inferred* Field(std::string_view name) {
    for (auto& [n, t] : fields_) {
      if (n == name) return t.get();
    }
    fields_.emplace_back(std::string(name), std::make_unique<Inferred>());
    return fields_.back().second.get();
  }

  Kind kind_ = Kind::kNull;
  std::vector<std::pair<std::string, std::unique_ptr<Inferred>>> fields_;
  std::unique_ptr<Inferred> element_;
};

// One run of JSON messages: the shared run of rows, and the JSON value writer
// of the run's schema into its builder.
class JsonRun {
 public:
  static Result<std::unique_ptr<JsonRun>> Make(ConnectSchemaPtr schema,
                                               const std::shared_ptr<arrow::DataType>& type,
                                               const connect::ConnectArrowOptions& opts,
                                               bool inferred) {
    auto run = std::unique_ptr<JsonRun>(new JsonRun());
    ARROW_ASSIGN_OR_RAISE(run->rows_, RecordRunBuilder::Make(std::move(schema), type, inferred));
    ARROW_ASSIGN_OR_RAISE(
        run->writer_,
        connect::MakeJsonValueWriter(run->rows_->schema(), run->rows_->builder(), opts, "value"));
    return run;
  }

  // A refused value is a bad message (its reason), a syntax error too.
  Result<std::optional<std::string>> Add(Document& d, bool wrapped, int64_t index) {
    auto check = [&]() -> Status {
      return WithPayload(d, wrapped, [&](od::value v) { return writer_->Check(v); });
    };
    auto append = [&]() -> Status {
      return WithPayload(d, wrapped, [&](od::value v) { return writer_->Append(v); });
    };
    return rows_->Add(index, check, append);
  }

  Status FinishInto(DecodedRecords* out) { return rows_->FinishInto(out); }

 private:
  JsonRun() = default;
  std::unique_ptr<RecordRunBuilder> rows_;
  std::unique_ptr<connect::JsonValueWriter> writer_;
};

}  // namespace

bool IsEnvelope(const ConnectSchema& s) {
  if (s.type != ConnectType::kStruct) return false;
  const auto* op = s.Field("op");
  const auto* before = s.Field("before");
  const auto* after = s.Field("after");
  auto is_struct = [](const connect::ConnectField* f) {
    return f && f->schema->type == ConnectType::kStruct;
  };
  return op && op->schema->type == ConnectType::kString && (is_struct(before) || is_struct(after));
}

JsonRecordReader::JsonRecordReader(JsonRecordOptions opts) : opts_(std::move(opts)) {}
JsonRecordReader::~JsonRecordReader() = default;

Result<std::shared_ptr<JsonRecordReader::Compiled>> JsonRecordReader::Compile(
    std::string_view text) {
  auto it = schemas_.find(std::string(text));
  if (it != schemas_.end()) return it->second;
  auto c = std::make_shared<Compiled>();
  auto parsed = connect::ParseConnectSchema(text);
  if (!parsed.ok()) {
    c->error = parsed.status();
  } else if ((*parsed)->type != ConnectType::kStruct) {
    c->error = Status::Invalid("the value schema is a ", ConnectTypeName((*parsed)->type),
                               ", not a struct");
  } else {
    auto type = connect::ArrowTypeFor(**parsed, opts_.types);
    if (!type.ok()) {
      c->error = type.status();
    } else {
      c->schema = *parsed;
      c->type = *type;
    }
  }
  // Bounded: a stream has a handful of schemas; a flood of distinct ones
  // only costs recompiling.
  if (schemas_.size() >= 1024) schemas_.clear();
  schemas_.emplace(std::string(text), c);
  return c;
}

Result<DecodedRecords> JsonRecordReader::Decode(
    const std::vector<std::optional<std::string_view>>& values) {
  DecodedRecords out;
  Document doc;
  Document payload;  // the payload of a message with a schema, on its own
  std::unique_ptr<JsonRun> run;
  std::string run_schema;  // the text of the current typed run's schema
  auto flush = [&]() -> Status {
    if (run) ARROW_RETURN_NOT_OK(run->FinishInto(&out));
    run.reset();
    return Status::OK();
  };
  auto bad = [&](size_t i, std::string reason) {
    out.bad.push_back({static_cast<int64_t>(i), std::move(reason)});
  };

  size_t i = 0;
  while (i < values.size()) {
    if (RecordUndecodable(values[i], static_cast<int64_t>(i), opts_.max_message_bytes, &out)) {
      ++i;
      continue;
    }
    // An empty message is no JSON: a bad message like any syntax error.
    Status loaded = doc.Load(*values[i]);
    if (!loaded.ok()) {
      bad(i, loaded.message());
      ++i;
      continue;
    }
    auto form = ReadForm(doc);
    if (!form.ok()) {
      bad(i, form.status().message());
      ++i;
      continue;
    }
    if (form->tombstone) {
      out.tombstones.push_back(static_cast<int64_t>(i));
      ++i;
      continue;
    }
    if (!form->schema_text.empty()) {
      // Messages of a topic repeat one schema: the run's is compared, byte
      // for byte, before any lookup.
      if (!run || run_schema != form->schema_text) {
        ARROW_ASSIGN_OR_RAISE(auto compiled, Compile(form->schema_text));
        if (!compiled->schema) {
          bad(i, "bad schema: " + compiled->error.message());
          ++i;
          continue;
        }
        ARROW_RETURN_NOT_OK(flush());
        ARROW_ASSIGN_OR_RAISE(run,
                              JsonRun::Make(compiled->schema, compiled->type, opts_.types, false));
        run_schema = std::string(form->schema_text);
      }
      Result<std::optional<std::string>> refused;
      if (!form->payload_text.empty()) {
        // The check and the append read the payload alone, not skipping
        // the schema (most of a message's bytes) twice more.
        Status loaded_payload = payload.Load(form->payload_text);
        if (!loaded_payload.ok()) {
          bad(i, loaded_payload.message());
          ++i;
          continue;
        }
        refused = run->Add(payload, false, static_cast<int64_t>(i));
      } else {
        refused = run->Add(doc, true, static_cast<int64_t>(i));
      }
      ARROW_RETURN_NOT_OK(refused.status());
      if (*refused) bad(i, **refused);
      ++i;
      continue;
    }
    // A run of schemaless messages: infer over all of them, then write.
    ARROW_RETURN_NOT_OK(flush());
    run_schema.clear();
    Inferred root;
    std::vector<std::pair<size_t, bool>> members;  // index, wrapped
    size_t j = i;
    for (; j < values.size(); ++j) {
      if (!values[j] || values[j]->size() > opts_.max_message_bytes) break;
      if (!doc.Load(*values[j]).ok()) break;
      auto f = ReadForm(doc);
      if (!f.ok() || f->tombstone || !f->schema_text.empty()) break;
      Status st = WithPayload(doc, f->wrapped, [&](od::value v) -> Status {
        ARROW_ASSIGN_OR_RAISE(auto t, json::TypeOf(v));
        if (t != od::json_type::object) return json::ContentError("the payload is not an object");
        return root.Observe(v, 0);
      });
      if (!st.ok()) {
        if (!st.IsTypeError() && !st.IsInvalid()) return st;
        bad(j, st.message());
        continue;
      }
      members.emplace_back(j, f->wrapped);
    }
    if (!members.empty()) {
      auto schema = root.ToSchema(false);
      ARROW_ASSIGN_OR_RAISE(auto type, connect::ArrowTypeFor(*schema, opts_.types));
      ARROW_ASSIGN_OR_RAISE(run, JsonRun::Make(schema, type, opts_.types, true));
      for (const auto& [index, wrapped] : members) {
        ARROW_RETURN_NOT_OK(doc.Load(*values[index]));
        ARROW_ASSIGN_OR_RAISE(auto refused, run->Add(doc, wrapped, static_cast<int64_t>(index)));
        if (refused) bad(index, *refused);  // inference accepts what it saw: not expected
      }
      ARROW_RETURN_NOT_OK(flush());
    }
    i = j;
  }
  ARROW_RETURN_NOT_OK(flush());
  std::sort(out.bad.begin(), out.bad.end(),
            [](const BadMessage& a, const BadMessage& b) { return a.index < b.index; });
  return out;
}

}  // namespace sluice::formats::debezium
