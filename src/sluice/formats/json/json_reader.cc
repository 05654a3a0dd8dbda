#include "sluice/formats/json/json_reader.h"

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <algorithm>
#include <cstring>

#include "sluice/formats/json/event_schema.h"
#include "sluice/formats/json/gzip.h"
#include "sluice/formats/json/json_value.h"
#include "sluice/formats/json/pinned.h"

namespace sluice::formats::json {

struct DatastreamJsonReader::File {
  std::string where;
  std::string data;  // the (decompressed) bytes + SIMDJSON_PADDING zeros
  int64_t size = 0;
  bool array = false;      // a JSON array of events (else NDJSON)
  bool condemned = false;  // a bad array file: no rows from it
};

struct DatastreamJsonReader::Event {
  int32_t file;
  int64_t offset;
  int64_t length;
  int64_t line;
};

struct DatastreamJsonReader::ParserBox {
  od::parser parser;
};

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Start of the content: after a UTF-8 BOM and blanks.
int64_t ContentStart(const std::string& data, int64_t size) {
  int64_t i = 0;
  if (size >= 3 && std::memcmp(data.data(), "\xEF\xBB\xBF", 3) == 0) i = 3;
  while (i < size && IsBlank(data[static_cast<size_t>(i)])) ++i;
  return i;
}

// simdjson 3.0 has no document::at_end(): past the last token there is no
// current location.
bool AtEnd(od::document& doc) {
  const char* loc = nullptr;
  return doc.current_location().get(loc) != simdjson::SUCCESS;
}

}  // namespace

DatastreamJsonReader::DatastreamJsonReader() : parser_(std::make_unique<ParserBox>()) {}
DatastreamJsonReader::~DatastreamJsonReader() = default;

Result<std::unique_ptr<DatastreamJsonReader>> DatastreamJsonReader::Open(
    std::shared_ptr<arrow::Buffer> bytes, const std::string& where, JsonDecodeOptions opts) {
  std::vector<JsonInput> inputs;
  inputs.push_back(JsonInput{std::move(bytes), where});
  return Open(std::move(inputs), std::move(opts));
}

Result<std::unique_ptr<DatastreamJsonReader>> DatastreamJsonReader::Open(
    std::vector<JsonInput> inputs, JsonDecodeOptions opts) {
  if (opts.batch_size <= 0) return Status::Invalid("JSON decoder: batch_size must be positive");
  for (const auto& [name, type] : opts.pinned_payload_types) {
    if (!type) return Status::Invalid("JSON decoder: pinned type of ", name, " is null");
    Status st = CheckPinnedSupported(*type);
    if (!st.ok()) return st.WithMessage("JSON decoder: payload column ", name, ": ", st.message());
  }
  if (!opts.pool) opts.pool = arrow::default_memory_pool();
  std::unique_ptr<DatastreamJsonReader> r(new DatastreamJsonReader());
  r->opts_ = std::move(opts);
  r->files_.reserve(inputs.size());
  for (auto& in : inputs) ARROW_RETURN_NOT_OK(r->LoadFile(std::move(in)));
  ARROW_RETURN_NOT_OK(r->InferAll());
  r->schema_ = r->inference_->Finish();
  ARROW_ASSIGN_OR_RAISE(r->builder_, EventBuilder::Make(*r->inference_, r->schema_, r->opts_.pool));
  return r;
}

void DatastreamJsonReader::AddBad(const File& f, int64_t line, int64_t offset, std::string reason,
                                  std::string_view raw) {
  BadRecord b;
  b.where = f.where;
  b.line = line;
  b.offset = offset;
  b.reason = f.where + ":" + std::to_string(line) + ": " + reason;
  b.raw = std::string(raw.substr(0, static_cast<size_t>(opts_.max_bad_record_raw_bytes)));
  bad_.push_back(std::move(b));
}

Status DatastreamJsonReader::LoadFile(JsonInput input) {
  File f;
  f.where = std::move(input.where);
  const std::string_view bytes =
      input.bytes ? std::string_view(reinterpret_cast<const char*>(input.bytes->data()),
                                     static_cast<size_t>(input.bytes->size()))
                  : std::string_view();
  std::string damage;
  int64_t damage_offset = 0;
  if (!opts_.ndjson_only && IsGzip(bytes)) {
    auto gz = Gunzip(bytes, opts_.max_decompressed_bytes, simdjson::SIMDJSON_PADDING);
    if (!gz.ok()) return gz.status().WithMessage(f.where, ": ", gz.status().message());
    f.data = std::move(gz->data);
    f.size = gz->size;
    damage = std::move(gz->damage);
    damage_offset = gz->damage_offset;
  } else {
    f.data.resize(bytes.size() + simdjson::SIMDJSON_PADDING, '\0');
    if (!bytes.empty()) std::memcpy(f.data.data(), bytes.data(), bytes.size());
    f.size = static_cast<int64_t>(bytes.size());
  }
  const int32_t index = static_cast<int32_t>(files_.size());
  files_.push_back(std::move(f));
  File& file = files_.back();
  const int64_t start = ContentStart(file.data, file.size);
  const bool array =
      !opts_.ndjson_only && start < file.size && file.data[static_cast<size_t>(start)] == '[';
  file.array = array;
  if (!damage.empty()) {
    // Cut the incomplete tail (after the last newline) off the data so it is
    // not mistaken for an event, and report it with the damage.
    const std::string_view all(file.data.data(), static_cast<size_t>(file.size));
    const size_t nl = all.rfind('\n');
    const int64_t tail = array ? start : (nl == std::string_view::npos ? 0 : nl + 1);
    const int64_t line = 1 + std::count(all.begin(), all.begin() + tail, '\n');
    AddBad(file, line, tail,
           damage + " at compressed byte " + std::to_string(damage_offset) +
               (array ? "; the JSON array is incomplete"
                      : "; the incomplete last line is not decoded"),
           all.substr(static_cast<size_t>(tail)));
    if (array) return Status::OK();  // nothing of an array can be trusted
    file.size = tail;
    std::fill(file.data.begin() + tail, file.data.end(), '\0');
  }
  if (array) {
    FrameArray(index);
  } else {
    FrameNdjson(index);
  }
  return Status::OK();
}

void DatastreamJsonReader::FrameNdjson(int32_t file_index) {
  const File& f = files_[static_cast<size_t>(file_index)];
  const char* base = f.data.data();
  int64_t pos = 0;
  int64_t line = 0;
  if (f.size >= 3 && std::memcmp(base, "\xEF\xBB\xBF", 3) == 0) pos = 3;
  while (pos < f.size) {
    ++line;
    const void* nl = std::memchr(base + pos, '\n', static_cast<size_t>(f.size - pos));
    const int64_t end = nl ? static_cast<const char*>(nl) - base : f.size;
    int64_t i = pos;
    while (i < end && IsBlank(base[i])) ++i;
    if (i < end) events_.push_back(Event{file_index, pos, end - pos, line});
    pos = end + 1;
  }
}

void DatastreamJsonReader::FrameArray(int32_t file_index) {
  File& f = files_[static_cast<size_t>(file_index)];
  const int64_t start = ContentStart(f.data, f.size);
  const char* base = f.data.data();
  simdjson::padded_string_view view(base + start, static_cast<size_t>(f.size - start),
                                    f.data.size() - static_cast<size_t>(start));
  const size_t first_event = events_.size();
  int64_t line = 1 + std::count(base, base + start, '\n');
  int64_t counted_to = start;
  auto fail = [&](simdjson::error_code e, od::document* doc) {
    int64_t at = start;
    const char* loc = nullptr;
    if (doc && doc->current_location().get(loc) == simdjson::SUCCESS && loc) at = loc - base;
    events_.resize(first_event);
    f.condemned = true;
    AddBad(f, 1 + std::count(base, base + at, '\n'), at,
           std::string("JSON syntax error in the array (the whole file is rejected): ") +
               simdjson::error_message(e) + " at byte " + std::to_string(at),
           std::string_view(base, static_cast<size_t>(f.size)));
  };
  od::document doc;
  od::array arr;
  simdjson::error_code err = parser_->parser.iterate(view).get(doc);
  if (err) return fail(err, nullptr);
  if ((err = doc.get_array().get(arr))) return fail(err, &doc);
  for (auto item : arr) {
    od::value v;
    od::json_type t;
    std::string_view raw;
    if ((err = std::move(item).get(v)) || (err = v.type().get(t))) return fail(err, &doc);
    if (t == od::json_type::object) {
      od::object o;
      err = v.get_object().get(o);
      if (!err) err = o.raw_json().get(raw);
    } else if (t == od::json_type::array) {
      od::array a;
      err = v.get_array().get(a);
      if (!err) err = a.raw_json().get(raw);
    } else {
      raw = v.raw_json_token();
    }
    if (err) return fail(err, &doc);
    const int64_t offset = raw.data() - base;
    line += std::count(base + counted_to, base + offset, '\n');
    counted_to = offset;
    events_.push_back(Event{file_index, offset, static_cast<int64_t>(raw.size()), line});
  }
  if (!AtEnd(doc)) fail(simdjson::TRAILING_CONTENT, &doc);
}

template <typename Fn>
Status DatastreamJsonReader::WithEvent(const Event& e, Fn&& fn) {
  const File& f = files_[static_cast<size_t>(e.file)];
  const char* base = f.data.data();
  simdjson::padded_string_view view(base + e.offset, static_cast<size_t>(e.length),
                                    f.data.size() - static_cast<size_t>(e.offset));
  od::document doc;
  auto fail = [&](Status st) {
    const char* loc = nullptr;
    last_error_offset_ = e.offset;
    if (doc.current_location().get(loc) == simdjson::SUCCESS && loc)
      last_error_offset_ = loc - base;
    return st;
  };
  SLUICE_SJ(parser_->parser.iterate(view).get(doc));
  od::json_type t;
  if (auto err = doc.type().get(t)) return fail(SyntaxError(err));
  if (t != od::json_type::object) return ContentError("the event is not a JSON object");
  od::object obj;
  if (auto err = doc.get_object().get(obj)) return fail(SyntaxError(err));
  Status st = fn(obj);
  if (!st.ok()) return IsSyntaxError(st) ? fail(std::move(st)) : st;
  if (!AtEnd(doc)) return fail(SyntaxError(simdjson::TRAILING_CONTENT));
  return Status::OK();
}

Status DatastreamJsonReader::InferAll() {
  inference_ = std::make_unique<EventSchema>(opts_.pinned_payload_types);
  std::vector<Event> good;
  good.reserve(events_.size());
  bool polluted = false;
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    File& f = files_[static_cast<size_t>(e.file)];
    if (f.condemned) continue;
    last_error_offset_ = -1;
    Status st = WithEvent(e, [&](od::object obj) { return inference_->Observe(obj); });
    if (st.ok()) {
      good.push_back(e);
      continue;
    }
    polluted = true;  // the failed event may have been partly observed
    const std::string_view raw(f.data.data() + e.offset, static_cast<size_t>(e.length));
    if (IsSyntaxError(st) && f.array) {
      // A syntax error inside an element of an array file: the whole file.
      f.condemned = true;
      const int64_t at = last_error_offset_ >= 0 ? last_error_offset_ : e.offset;
      const char* base = f.data.data();
      AddBad(f, 1 + std::count(base, base + at, '\n'), at,
             "JSON syntax error in the array (the whole file is rejected): " + st.message() +
                 " at byte " + std::to_string(at),
             std::string_view(base, static_cast<size_t>(f.size)));
      continue;
    }
    std::string reason = st.message();
    if (IsSyntaxError(st) && last_error_offset_ >= 0) {
      reason += " at column " + std::to_string(last_error_offset_ - e.offset + 1);
    }
    AddBad(f, e.line, e.offset, std::move(reason), raw);
  }
  // Rows of files condemned late are dropped; bad rows must not shape types.
  std::erase_if(good,
                [&](const Event& e) { return files_[static_cast<size_t>(e.file)].condemned; });
  events_ = std::move(good);
  if (!polluted) return Status::OK();
  inference_ = std::make_unique<EventSchema>(opts_.pinned_payload_types);
  for (const Event& e : events_) {
    Status st = WithEvent(e, [&](od::object obj) { return inference_->Observe(obj); });
    if (!st.ok())
      return Status::UnknownError("JSON decoder: event accepted once, then: ", st.message());
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> DatastreamJsonReader::Next() {
  ARROW_RETURN_NOT_OK(failed_);
  if (next_event_ >= events_.size()) return nullptr;
  const size_t end = std::min(events_.size(), next_event_ + static_cast<size_t>(opts_.batch_size));
  for (; next_event_ < end; ++next_event_) {
    const Event& e = events_[next_event_];
    Status st = WithEvent(e, [&](od::object obj) { return builder_->Append(obj); });
    if (!st.ok()) {
      // The builders hold part of an event now: the reader is done.
      failed_ = st.WithMessage(files_[static_cast<size_t>(e.file)].where, ":", e.line,
                               ": JSON decoder pass 2: ", st.message());
      return failed_;
    }
  }
  return builder_->Flush();
}

int64_t DatastreamJsonReader::num_rows() const { return static_cast<int64_t>(events_.size()); }

DatastreamJsonReader::Origin DatastreamJsonReader::origin(int64_t row) const {
  const Event& e = events_.at(static_cast<size_t>(row));
  return Origin{e.file, e.line};
}

}  // namespace sluice::formats::json
