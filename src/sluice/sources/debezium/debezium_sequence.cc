#include "sluice/sources/debezium/debezium_sequence.h"

#include <charconv>

#include "sluice/sources/sequence_key.h"

namespace sluice::sources::debezium {

namespace {

void SkipSpace(std::string_view* s) {
  while (!s->empty() &&
         (s->front() == ' ' || s->front() == '\t' || s->front() == '\n' || s->front() == '\r')) {
    s->remove_prefix(1);
  }
}

bool Consume(std::string_view* s, char c) {
  SkipSpace(s);
  if (s->empty() || s->front() != c) return false;
  s->remove_prefix(1);
  return true;
}

std::optional<uint64_t> Digits(std::string_view d) {
  if (d.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
  if (ec != std::errc() || end != d.data() + d.size()) return std::nullopt;
  return v;
}

// One element: null, "123" or 123. False when it is none of these.
bool Element(std::string_view* s, std::optional<uint64_t>* out) {
  SkipSpace(s);
  if (s->substr(0, 4) == "null") {
    s->remove_prefix(4);
    *out = std::nullopt;
    return true;
  }
  bool quoted = Consume(s, '"');
  size_t n = 0;
  while (n < s->size() && (*s)[n] >= '0' && (*s)[n] <= '9') ++n;
  auto v = Digits(s->substr(0, n));
  if (!v) return false;
  s->remove_prefix(n);
  if (quoted && !Consume(s, '"')) return false;
  *out = v;
  return true;
}

SequenceKeyBuilder Phase(bool snapshot) {
  SequenceKeyBuilder key;
  key.U8(snapshot ? 0 : 1);
  return key;
}

}  // namespace

std::optional<PostgresSequence> ParsePostgresSequence(std::string_view text) {
  PostgresSequence out;
  if (!Consume(&text, '[') || !Element(&text, &out.commit_lsn) || !Consume(&text, ',') ||
      !Element(&text, &out.lsn) || !Consume(&text, ']')) {
    return std::nullopt;
  }
  SkipSpace(&text);
  if (!text.empty()) return std::nullopt;
  return out;
}

std::optional<uint64_t> BinlogFileNumber(std::string_view file) {
  size_t n = 0;
  while (n < file.size() && file[file.size() - 1 - n] >= '0' && file[file.size() - 1 - n] <= '9') {
    ++n;
  }
  return Digits(file.substr(file.size() - n));
}

std::string PostgresSequenceKey(bool snapshot, uint64_t commit_lsn, uint64_t lsn, int32_t partition,
                                int64_t offset) {
  return Phase(snapshot)
      .U64(commit_lsn)
      .U64(lsn)
      .U32(static_cast<uint32_t>(partition))
      .I64(offset)
      .Take();
}

std::string BinlogSequenceKey(bool snapshot, uint64_t file_number, uint64_t pos, uint64_t row,
                              int32_t partition, int64_t offset) {
  return Phase(snapshot)
      .U64(file_number)
      .U64(pos)
      .U64(row)
      .U32(static_cast<uint32_t>(partition))
      .I64(offset)
      .Take();
}

std::string KafkaSequenceKey(bool snapshot, int32_t partition, int64_t offset) {
  return Phase(snapshot).U32(static_cast<uint32_t>(partition)).I64(offset).Take();
}

}  // namespace sluice::sources::debezium
