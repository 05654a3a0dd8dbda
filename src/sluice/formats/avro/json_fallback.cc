#include "sluice/formats/avro/json_fallback.h"

#include <charconv>
#include <cmath>

#include "sluice/formats/avro/decimal_bytes.h"

namespace sluice::formats::avro {

void AppendJsonString(std::string_view s, bool latin1, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20 || (latin1 && c >= 0x80)) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

namespace {

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("\"NaN\"");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
    out->append(buf, res.ptr);
  }
}

Status AppendDecimal(const AvroNode* node, BinaryCursor& in, const uint8_t* data, int64_t len,
                     std::string* out) {
  arrow::Decimal256 d;
  ARROW_RETURN_NOT_OK(DecodeDecimal(in, data, len, node->precision, &d));
  out->push_back('"');
  out->append(d.ToString(node->scale));
  out->push_back('"');
  return Status::OK();
}

Status Render(const AvroNode* node, BinaryCursor& in, std::string* out, int depth) {
  if (depth > kMaxJsonDepth) return in.Error("value nests deeper than ", kMaxJsonDepth);
  switch (node->type) {
    case AvroType::kNull:
      out->append("null");
      return Status::OK();
    case AvroType::kBoolean: {
      bool b = false;
      ARROW_RETURN_NOT_OK(in.ReadBool(&b));
      out->append(b ? "true" : "false");
      return Status::OK();
    }
    case AvroType::kInt:
    case AvroType::kLong: {
      int64_t v = 0;
      ARROW_RETURN_NOT_OK(in.ReadLong(&v));
      out->append(std::to_string(v));
      return Status::OK();
    }
    case AvroType::kFloat: {
      float f = 0;
      ARROW_RETURN_NOT_OK(in.ReadFloat(&f));
      AppendDouble(static_cast<double>(f), out);
      return Status::OK();
    }
    case AvroType::kDouble: {
      double d = 0;
      ARROW_RETURN_NOT_OK(in.ReadDouble(&d));
      AppendDouble(d, out);
      return Status::OK();
    }
    case AvroType::kBytes:
    case AvroType::kString: {
      std::string_view s;
      ARROW_RETURN_NOT_OK(in.ReadBytes(&s));
      if (node->logical == LogicalType::kDecimal) {
        return AppendDecimal(node, in, reinterpret_cast<const uint8_t*>(s.data()),
                             static_cast<int64_t>(s.size()), out);
      }
      AppendJsonString(s, node->type == AvroType::kBytes, out);
      return Status::OK();
    }
    case AvroType::kFixed: {
      const uint8_t* p = nullptr;
      ARROW_RETURN_NOT_OK(in.ReadFixed(node->fixed_size, &p));
      if (node->logical == LogicalType::kDecimal) {
        return AppendDecimal(node, in, p, node->fixed_size, out);
      }
      AppendJsonString(std::string_view(reinterpret_cast<const char*>(p), node->fixed_size), true,
                       out);
      return Status::OK();
    }
    case AvroType::kEnum: {
      int32_t idx = 0;
      ARROW_RETURN_NOT_OK(in.ReadInt(&idx));
      if (idx < 0 || static_cast<size_t>(idx) >= node->symbols.size()) {
        return in.Error("enum index ", idx, " out of range for ", node->full_name);
      }
      AppendJsonString(node->symbols[idx], false, out);
      return Status::OK();
    }
    case AvroType::kRecord: {
      out->push_back('{');
      if (node->fields.empty()) ARROW_RETURN_NOT_OK(in.CheckCount(1, 0));
      for (size_t i = 0; i < node->fields.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(node->fields[i].name, false, out);
        out->push_back(':');
        ARROW_RETURN_NOT_OK(Render(node->fields[i].type, in, out, depth + 1));
      }
      out->push_back('}');
      return Status::OK();
    }
    case AvroType::kArray:
    case AvroType::kMap: {
      bool is_map = node->type == AvroType::kMap;
      out->push_back(is_map ? '{' : '[');
      bool first = true;
      for (;;) {
        int64_t count = 0;
        // Map entries hold at least a key length byte; array items may be empty.
        ARROW_RETURN_NOT_OK(in.ReadBlockCount(is_map ? 1 : 0, &count));
        if (count == 0) break;
        for (int64_t i = 0; i < count; ++i) {
          if (!first) out->push_back(',');
          first = false;
          if (is_map) {
            std::string_view key;
            ARROW_RETURN_NOT_OK(in.ReadBytes(&key));
            AppendJsonString(key, false, out);
            out->push_back(':');
          }
          ARROW_RETURN_NOT_OK(Render(node->items, in, out, depth + 1));
        }
      }
      out->push_back(is_map ? '}' : ']');
      return Status::OK();
    }
    case AvroType::kUnion: {
      int64_t idx = 0;
      ARROW_RETURN_NOT_OK(in.ReadLong(&idx));
      if (idx < 0 || static_cast<size_t>(idx) >= node->branches.size()) {
        return in.Error("union branch ", idx, " out of range");
      }
      return Render(node->branches[idx], in, out, depth + 1);
    }
  }
  return in.Error("unknown Avro type");
}

}  // namespace

Status RenderJson(const AvroNode* node, BinaryCursor& in, std::string* out) {
  return Render(node, in, out, 0);
}

}  // namespace sluice::formats::avro
