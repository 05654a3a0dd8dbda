#include "sluice/sources/datastream/position_parsers.h"

#include <cctype>
#include <vector>

namespace sluice::sources::datastream {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view StripHexPrefix(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  return s;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 1..max_digits hex digits, nothing else.
std::optional<uint64_t> ParseHex(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = HexDigit(c);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

}  // namespace

std::optional<uint64_t> ParseDecimalU64(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<uint64_t> ParseBinlogFileNumber(std::string_view file) {
  file = Trim(file);
  size_t dot = file.rfind('.');
  std::string_view digits;
  if (dot != std::string_view::npos) {
    digits = file.substr(dot + 1);
  } else {
    size_t start = file.size();
    while (start > 0 && std::isdigit(static_cast<unsigned char>(file[start - 1]))) --start;
    digits = file.substr(start);
  }
  if (digits.empty()) return std::nullopt;
  return ParseDecimalU64(digits);
}

std::optional<uint64_t> ParsePostgresLsn(std::string_view lsn) {
  auto parts = Split(Trim(lsn), '/');
  if (parts.size() != 2) return std::nullopt;
  auto hi = ParseHex(parts[0], 8);
  auto lo = ParseHex(parts[1], 8);
  if (!hi || !lo) return std::nullopt;
  return (*hi << 32) | *lo;
}

std::optional<SqlServerLsn> ParseSqlServerLsn(std::string_view lsn) {
  lsn = Trim(lsn);
  std::optional<uint64_t> vlf, block, slot;
  if (lsn.find(':') != std::string_view::npos) {
    auto parts = Split(lsn, ':');
    if (parts.size() != 3) return std::nullopt;
    vlf = ParseHex(parts[0], 8);
    block = ParseHex(parts[1], 8);
    slot = ParseHex(parts[2], 4);
  } else {
    // binary(10) rendered as hex: exactly 20 digits, split 8 / 8 / 4.
    lsn = StripHexPrefix(lsn);
    if (lsn.size() != 20) return std::nullopt;
    vlf = ParseHex(lsn.substr(0, 8), 8);
    block = ParseHex(lsn.substr(8, 8), 8);
    slot = ParseHex(lsn.substr(16, 4), 4);
  }
  if (!vlf || !block || !slot) return std::nullopt;
  return SqlServerLsn{static_cast<uint32_t>(*vlf), static_cast<uint32_t>(*block),
                      static_cast<uint16_t>(*slot)};
}

std::optional<OracleRsId> ParseOracleRsId(std::string_view rs_id) {
  auto parts = Split(StripHexPrefix(Trim(rs_id)), '.');
  if (parts.size() != 3) return std::nullopt;
  auto seq = ParseHex(parts[0], 16);
  auto block = ParseHex(parts[1], 16);
  auto offset = ParseHex(parts[2], 16);
  if (!seq || !block || !offset) return std::nullopt;
  return OracleRsId{*seq, *block, *offset};
}

}  // namespace sluice::sources::datastream
