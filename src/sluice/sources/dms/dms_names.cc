#include "sluice/sources/dms/dms_names.h"

#include <string>

#include "sluice/formats/json/timestamp_text.h"

namespace sluice::sources::dms {

namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int64_t Num(std::string_view s) {
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool ValidCivil(int64_t y, int64_t m, int64_t d) {
  return y >= 1970 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

// "YYYYMMDD-HHMMSSmmm" -> UTC ms.
std::optional<int64_t> CdcNameTime(std::string_view stem) {
  if (stem.size() != 18 || stem[8] != '-' || !AllDigits(stem.substr(0, 8)) ||
      !AllDigits(stem.substr(9))) {
    return std::nullopt;
  }
  int64_t y = Num(stem.substr(0, 4)), mo = Num(stem.substr(4, 2)), d = Num(stem.substr(6, 2));
  int64_t h = Num(stem.substr(9, 2)), mi = Num(stem.substr(11, 2)), s = Num(stem.substr(13, 2));
  int64_t ms = Num(stem.substr(15, 3));
  if (!ValidCivil(y, mo, d) || h > 23 || mi > 59 || s > 59) return std::nullopt;
  int64_t days = formats::json::DaysFromCivil(y, static_cast<int>(mo), static_cast<int>(d));
  return ((days * 24 + h) * 60 + mi) * 60'000 + s * 1000 + ms;
}

// "YYYYMMDDHHMMSSmmm[...]" or "YYYYMMDD-HHMMSSmmm[...]" -> UTC ms.
std::optional<int64_t> CdcTxnNameTime(std::string_view rest) {
  if (rest.size() >= 17 && AllDigits(rest.substr(0, 17))) {
    std::string dashed(rest.substr(0, 8));
    dashed += '-';
    dashed += rest.substr(8, 9);
    return CdcNameTime(dashed);
  }
  if (rest.size() >= 18) return CdcNameTime(rest.substr(0, 18));
  return std::nullopt;
}

}  // namespace

std::optional<DmsFileName> ParseDmsFileName(std::string_view name, bool parquet) {
  DmsFileName out;
  std::string_view stem = name;
  if (EndsWith(stem, ".gz")) {
    out.gzip = true;
    stem.remove_suffix(3);
  }
  if (EndsWith(stem, ".parquet")) {
    out.parquet = true;
    stem.remove_suffix(8);
  } else if (EndsWith(stem, ".csv")) {
    stem.remove_suffix(4);
  } else {
    return std::nullopt;
  }
  if (StartsWith(stem, "CDC_TXN-")) {
    if (out.parquet) return std::nullopt;
    out.kind = DmsFileKind::kCdcTxn;
    out.time_ms = CdcTxnNameTime(stem.substr(8));
    return out;
  }
  if (out.parquet != parquet) return std::nullopt;
  if (StartsWith(stem, "SEGMENT")) {
    size_t us = stem.find('_');
    if (us == std::string_view::npos || !AllDigits(stem.substr(7, us - 7))) return std::nullopt;
    out.segment = Num(stem.substr(7, us - 7));
    stem.remove_prefix(us + 1);
    if (!StartsWith(stem, "LOAD")) return std::nullopt;
  }
  if (StartsWith(stem, "LOAD")) {
    std::string_view hex = stem.substr(4);
    if (hex.size() != 8) return std::nullopt;
    uint32_t v = 0;
    for (char c : hex) {
      int d = HexDigit(c);
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    out.kind = DmsFileKind::kFullLoad;
    out.load_counter = v;
    return out;
  }
  out.kind = DmsFileKind::kCdc;
  out.time_ms = CdcNameTime(stem);
  if (!out.time_ms) return std::nullopt;
  return out;
}

std::optional<int64_t> DmsPathTime(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::string_view folders = slash == std::string_view::npos ? "" : path.substr(0, slash);
  // The date folders' digits, delimiters dropped: "2022/06/24", "2022-06-24",
  // "2022_06_24" and "20220624" all read "20220624".
  std::string digits;
  for (char c : folders) {
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c != '/' && c != '-' && c != '_') {
      return std::nullopt;  // not a date folder
    }
  }
  std::optional<int64_t> folder_ms;
  if (!digits.empty()) {
    // Only sequences whose text order is time order (YYYYMM, YYYYMMDD,
    // YYYYMMDDHH) give a time; MMYYYYDD / DDMMYYYY fail the year check.
    if (digits.size() != 6 && digits.size() != 8 && digits.size() != 10) return std::nullopt;
    int64_t y = Num(std::string_view(digits).substr(0, 4));
    int64_t m = Num(std::string_view(digits).substr(4, 2));
    int64_t d = digits.size() >= 8 ? Num(std::string_view(digits).substr(6, 2)) : 1;
    int64_t h = digits.size() == 10 ? Num(std::string_view(digits).substr(8, 2)) : 0;
    if (!ValidCivil(y, m, d) || h > 23) return std::nullopt;
    folder_ms =
        (formats::json::DaysFromCivil(y, static_cast<int>(m), static_cast<int>(d)) * 24 + h) *
        3'600'000;
  }
  std::string_view stem = name;
  if (EndsWith(stem, ".gz")) stem.remove_suffix(3);
  size_t dot = stem.rfind('.');
  if (dot != std::string_view::npos) stem = stem.substr(0, dot);
  if (auto t = CdcNameTime(stem)) return t;
  if (StartsWith(stem, "CDC_TXN-")) {
    if (auto t = CdcTxnNameTime(stem.substr(8))) return t;
  }
  return folder_ms;
}

std::optional<int64_t> ParseDmsTimestamp(std::string_view text) {
  formats::json::TimePoint tp;
  if (!formats::json::ParseTimePoint(text, &tp)) return std::nullopt;
  int64_t us = 0;
  if (!formats::json::TimePointToUnits(tp, 1'000'000, &us)) return std::nullopt;
  return us;
}

}  // namespace sluice::sources::dms
