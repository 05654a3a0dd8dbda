// Reader of Datastream JSON event files.
//
// Input: whole files, each either NDJSON (one event per line, what
// Datastream writes to a bucket) or one JSON array of events (what some test
// suites keep), optionally gzip-compressed (detected by the magic bytes 1f
// 8b; multi-member gzip is read to the end). A UTF-8 BOM is skipped; a file
// whose first non-blank byte is '[' is an array, anything else is NDJSON.
// Blank lines are skipped.
//
// Output: RecordBatches of at most batch_size rows, one row per event, with
// the columns of event_schema.h; payload and source_metadata types are
// inferred by the rules of type_inference.h over all events of all files
// given to one Open (so they share one schema), except the payload columns
// pinned in the options.
//
// Decoding runs in two passes over the bytes (simdjson On-Demand, once per
// event each): Open() validates every event and infers the types; Next()
// builds the batches. Nothing is silently dropped: an event that cannot be
// decoded becomes a BadRecord (for a dead-letter table) and the rest of the
// file is read:
//   - NDJSON: a line with a JSON syntax error, a line that is not an object,
//     an event whose timestamp is not one, whose payload is not an object,
//     with a duplicate key, or with a value that does not convert to its
//     pinned type: that line;
//   - array: a syntax error anywhere condemns the whole file (one BadRecord,
//     offset = where the error was found, no rows from it); content errors
//     are per element;
//   - gzip: a truncated or corrupt stream keeps the complete lines decoded
//     before the damage; the incomplete last line and the damage are one
//     BadRecord.
// Bad events take no part in type inference.
#pragma once

#include <arrow/type_fwd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::formats::json {

class EventSchema;
class EventBuilder;

struct JsonDecodeOptions {
  /// Payload columns whose type is given rather than inferred (see pinned.h
  /// for the supported types and conversions).
  std::map<std::string, std::shared_ptr<arrow::DataType>> pinned_payload_types;
  /// Most rows per RecordBatch.
  int64_t batch_size = 65536;
  /// Largest decompressed size of one gzip file.
  int64_t max_decompressed_bytes = int64_t{4} << 30;
  /// BadRecord::raw keeps at most this many bytes.
  int64_t max_bad_record_raw_bytes = int64_t{1} << 20;
  arrow::MemoryPool* pool = nullptr;  // nullptr: arrow::default_memory_pool()
  /// The bytes are NDJSON text whatever they start with (lines cut from an
  /// NDJSON file, whose first line may be a bad one starting with '[' or
  /// 0x1f 0x8b): no array or gzip detection.
  bool ndjson_only = false;
};

/// An event (or a whole file) that could not be decoded.
struct BadRecord {
  std::string where;   // the file, as given to Open
  int64_t line = 0;    // 1-based line where the event starts
  int64_t offset = 0;  // byte offset of the event (of the error, for a bad
                       // array file) in the decompressed file
  std::string reason;  // what is wrong, with the file and line
  std::string raw;     // the event's text (capped)
};

struct JsonInput {
  std::shared_ptr<arrow::Buffer> bytes;
  std::string where;
};

class DatastreamJsonReader {
 public:
  /// \brief Reads, validates and infers the schema of one file. Fails only
  /// on bad options (an unsupported pinned type) or a gzip file beyond
  /// max_decompressed_bytes; bad data becomes BadRecords.
  static Result<std::unique_ptr<DatastreamJsonReader>> Open(std::shared_ptr<arrow::Buffer> bytes,
                                                            const std::string& where,
                                                            JsonDecodeOptions opts = {});
  /// \brief The same over several files decoded together (one schema).
  static Result<std::unique_ptr<DatastreamJsonReader>> Open(std::vector<JsonInput> inputs,
                                                            JsonDecodeOptions opts = {});

  ~DatastreamJsonReader();

  /// Schema of every batch.
  std::shared_ptr<arrow::Schema> schema() const { return schema_; }

  /// \brief The next batch in file order, or nullptr at the end.
  Result<std::shared_ptr<arrow::RecordBatch>> Next();

  /// \brief Bad records found so far (all of them are found by Open).
  std::vector<BadRecord> TakeBadRecords() { return std::move(bad_); }

  /// Rows that Next() returns in total.
  int64_t num_rows() const;

  /// Where row `i` (counting over all batches) came from: the input index
  /// and the 1-based line, for _cdc_origin.
  struct Origin {
    int32_t input;
    int64_t line;
  };
  Origin origin(int64_t row) const;

 private:
  struct File;
  struct Event;

  DatastreamJsonReader();

  Status LoadFile(JsonInput input);
  void FrameNdjson(int32_t file_index);
  void FrameArray(int32_t file_index);
  // Parses one event and runs `fn` on its object.
  template <typename Fn>
  Status WithEvent(const Event& e, Fn&& fn);
  Status InferAll();
  void AddBad(const File& f, int64_t line, int64_t offset, std::string reason,
              std::string_view raw);

  JsonDecodeOptions opts_;
  std::vector<File> files_;
  std::vector<Event> events_;  // framed events; after Open, only good ones
  std::vector<BadRecord> bad_;
  std::unique_ptr<EventSchema> inference_;
  std::unique_ptr<EventBuilder> builder_;
  std::shared_ptr<arrow::Schema> schema_;
  struct ParserBox;
  std::unique_ptr<ParserBox> parser_;
  int64_t last_error_offset_ = -1;
  Status failed_;  // a pass-2 error (a bug): every later Next() returns it
  size_t next_event_ = 0;
};

}  // namespace sluice::formats::json
