#include "sluice/formats/json/json_value.h"

#include "sluice/formats/json/number_text.h"

namespace sluice::formats::json {

Status SyntaxError(simdjson::error_code e) {
  return Status::Invalid("JSON syntax error: ", simdjson::error_message(e));
}

Status ContentError(std::string message) { return Status::TypeError(std::move(message)); }

Result<od::json_type> TypeOf(od::value& v) {
  od::json_type t;
  SLUICE_SJ(v.type().get(t));
  if (t == od::json_type::null) {
    bool is_null = false;
    SLUICE_SJ(v.is_null().get(is_null));
    if (!is_null) return SyntaxError(simdjson::N_ATOM_ERROR);
  }
  return t;
}

Result<std::string_view> NumberToken(od::value& v) {
  std::string_view token = TrimNumberToken(v.raw_json_token());
  NumberText n;
  if (!ScanNumber(token, &n)) return SyntaxError(simdjson::NUMBER_ERROR);
  return token;
}

Status ValidateValue(od::value v) {
  ARROW_ASSIGN_OR_RAISE(od::json_type t, TypeOf(v));
  switch (t) {
    case od::json_type::null:
      return Status::OK();
    case od::json_type::boolean: {
      bool b;
      SLUICE_SJ(v.get_bool().get(b));
      return Status::OK();
    }
    case od::json_type::number:
      return NumberToken(v).status();
    case od::json_type::string: {
      std::string_view s;
      SLUICE_SJ(v.get_string().get(s));
      return Status::OK();
    }
    case od::json_type::array: {
      od::array arr;
      SLUICE_SJ(v.get_array().get(arr));
      for (auto item : arr) {
        od::value element;
        SLUICE_SJ(std::move(item).get(element));
        ARROW_RETURN_NOT_OK(ValidateValue(element));
      }
      return Status::OK();
    }
    case od::json_type::object: {
      od::object obj;
      SLUICE_SJ(v.get_object().get(obj));
      for (auto item : obj) {
        od::field field;
        SLUICE_SJ(std::move(item).get(field));
        std::string_view key;
        SLUICE_SJ(field.unescaped_key().get(key));
        ARROW_RETURN_NOT_OK(ValidateValue(field.value()));
      }
      return Status::OK();
    }
  }
  return SyntaxError(simdjson::TAPE_ERROR);
}

Status AppendJsonText(od::value v, od::json_type type, std::string* out) {
  std::string_view raw;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      SLUICE_SJ(v.get_object().get(obj));
      SLUICE_SJ(obj.raw_json().get(raw));
      break;
    }
    case od::json_type::array: {
      od::array arr;
      SLUICE_SJ(v.get_array().get(arr));
      SLUICE_SJ(arr.raw_json().get(raw));
      break;
    }
    default: {
      out->append(TrimNumberToken(v.raw_json_token()));  // trims trailing whitespace of any token
      return Status::OK();
    }
  }
  // Containers: drop the whitespace between tokens (not inside strings).
  const size_t at = out->size();
  out->resize(at + raw.size() + simdjson::SIMDJSON_PADDING);
  size_t len = 0;
  SLUICE_SJ(simdjson::minify(raw.data(), raw.size(), out->data() + at, len));
  out->resize(at + len);
  return Status::OK();
}

}  // namespace sluice::formats::json
