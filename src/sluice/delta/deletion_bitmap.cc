#include "sluice/delta/deletion_bitmap.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

namespace sluice::delta {
namespace {

using Container = DeletionBitmap::Container;
using Kind = Container::Kind;

constexpr uint32_t kArrayMax = 4096;  // larger containers become bitmaps
constexpr size_t kWords = 1024;       // 65536 bits
constexpr uint32_t kFull = 65536;

// Cookies of the 32-bit Roaring portable format (RoaringFormatSpec).
constexpr uint32_t kCookieNoRuns = 12346;
constexpr uint32_t kCookieRuns = 12347;
// With run containers, the offset table is only written from this size on.
constexpr uint32_t kNoOffsetThreshold = 4;

// ---------------------------------------------------------------------------
// Container helpers. Run pairs are stored flattened: values[2i] = start,
// values[2i + 1] = length - 1.

void SetBits(uint64_t* words, uint32_t lo, uint32_t hi) {  // [lo, hi]
  for (uint32_t w = lo / 64; w <= hi / 64; ++w) {
    const uint32_t first = w == lo / 64 ? lo % 64 : 0;
    const uint32_t last = w == hi / 64 ? hi % 64 : 63;
    const uint64_t mask = (~uint64_t{0} >> (63 - last)) & (~uint64_t{0} << first);
    words[w] |= mask;
  }
}

uint32_t PopCount(const std::vector<uint64_t>& words) {
  uint32_t n = 0;
  for (uint64_t w : words) n += static_cast<uint32_t>(std::popcount(w));
  return n;
}

std::vector<uint64_t> ToWords(const Container& c) {
  if (c.kind == Kind::kBitmap) return c.words;
  std::vector<uint64_t> words(kWords, 0);
  if (c.kind == Kind::kArray) {
    for (uint16_t v : c.values) words[v / 64] |= uint64_t{1} << (v % 64);
  } else {
    for (size_t i = 0; i + 1 < c.values.size(); i += 2) {
      SetBits(words.data(), c.values[i], uint32_t{c.values[i]} + c.values[i + 1]);
    }
  }
  return words;
}

// Calls f(value) for every value in ascending order.
template <typename F>
void ForEachValue(const Container& c, F&& f) {
  switch (c.kind) {
    case Kind::kArray:
      for (uint16_t v : c.values) f(uint32_t{v});
      break;
    case Kind::kBitmap:
      for (size_t w = 0; w < kWords; ++w) {
        for (uint64_t bits = c.words[w]; bits != 0; bits &= bits - 1) {
          f(static_cast<uint32_t>(w * 64 + std::countr_zero(bits)));
        }
      }
      break;
    case Kind::kRun:
      for (size_t i = 0; i + 1 < c.values.size(); i += 2) {
        const uint32_t end = uint32_t{c.values[i]} + c.values[i + 1];
        for (uint32_t v = c.values[i]; v <= end; ++v) f(v);
      }
      break;
  }
}

// Maximal runs of a container, flattened as (start, length - 1).
std::vector<uint16_t> RunsOf(const Container& c) {
  if (c.kind == Kind::kRun) return c.values;
  std::vector<uint16_t> runs;
  bool open = false;
  uint32_t start = 0, prev = 0;
  ForEachValue(c, [&](uint32_t v) {
    if (open && v == prev + 1) {
      prev = v;
      return;
    }
    if (open) {
      runs.push_back(static_cast<uint16_t>(start));
      runs.push_back(static_cast<uint16_t>(prev - start));
    }
    open = true;
    start = prev = v;
  });
  if (open) {
    runs.push_back(static_cast<uint16_t>(start));
    runs.push_back(static_cast<uint16_t>(prev - start));
  }
  return runs;
}

Container FullContainer() {
  Container c;
  c.kind = Kind::kRun;
  c.cardinality = kFull;
  c.values = {0, 0xffff};
  return c;
}

// Rebuilds `c` from a bitmap as an array (small) or bitmap container; a
// full container becomes a single run.
void FromWords(Container& c, std::vector<uint64_t> words) {
  const uint32_t card = PopCount(words);
  if (card == kFull) {
    c = FullContainer();
    return;
  }
  c.cardinality = card;
  if (card <= kArrayMax) {
    c.kind = Kind::kArray;
    c.words.clear();
    c.words.shrink_to_fit();
    c.values.clear();
    c.values.reserve(card);
    for (size_t w = 0; w < kWords; ++w) {
      for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
        c.values.push_back(static_cast<uint16_t>(w * 64 + std::countr_zero(bits)));
      }
    }
  } else {
    c.kind = Kind::kBitmap;
    c.values.clear();
    c.values.shrink_to_fit();
    c.words = std::move(words);
  }
}

bool ContainerContains(const Container& c, uint16_t v) {
  switch (c.kind) {
    case Kind::kArray:
      return std::binary_search(c.values.begin(), c.values.end(), v);
    case Kind::kBitmap:
      return (c.words[v / 64] >> (v % 64)) & 1;
    case Kind::kRun: {
      // Last run whose start is <= v.
      size_t lo = 0, hi = c.values.size() / 2;
      while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (c.values[2 * mid] <= v) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      if (lo == 0) return false;
      const size_t r = lo - 1;
      return uint32_t{v} <= uint32_t{c.values[2 * r]} + c.values[2 * r + 1];
    }
  }
  return false;
}

void ContainerAdd(Container& c, uint16_t v) {
  switch (c.kind) {
    case Kind::kArray: {
      if (c.values.empty() || c.values.back() < v) {
        c.values.push_back(v);  // the common, ascending case
      } else {
        auto it = std::lower_bound(c.values.begin(), c.values.end(), v);
        if (*it == v) return;
        c.values.insert(it, v);
      }
      ++c.cardinality;
      if (c.cardinality > kArrayMax) FromWords(c, ToWords(c));
      return;
    }
    case Kind::kBitmap: {
      uint64_t& w = c.words[v / 64];
      const uint64_t bit = uint64_t{1} << (v % 64);
      if ((w & bit) == 0) {
        w |= bit;
        ++c.cardinality;
      }
      return;
    }
    case Kind::kRun: {
      if (ContainerContains(c, v)) return;
      // Single adds after a range: switch to array/bitmap for cheap adds.
      std::vector<uint64_t> words = ToWords(c);
      words[v / 64] |= uint64_t{1} << (v % 64);
      FromWords(c, std::move(words));
      return;
    }
  }
}

// ---------------------------------------------------------------------------
// Little-endian encoding.

void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Bounds-checked little-endian reader over untrusted bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  Status Need(size_t n, const char* what) const {
    if (n > remaining()) {
      return Status::Invalid("deletion bitmap truncated: need ", n, " bytes for ", what,
                             " at offset ", pos_, ", have ", remaining());
    }
    return Status::OK();
  }
  template <typename T>
  Result<T> Read(const char* what) {
    ARROW_RETURN_NOT_OK(Need(sizeof(T), what));
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      v |= static_cast<T>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(T);
    return v;
  }
  Result<std::string_view> Bytes(size_t n, const char* what) {
    ARROW_RETURN_NOT_OK(Need(n, what));
    std::string_view s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// How one container is written: chosen like Java RoaringBitmap's
// runOptimize() on an array/bitmap container (array up to 4096 values).
struct Plan {
  uint16_t key;
  const Container* c;
  bool run;
  std::vector<uint16_t> runs;  // when run
  uint32_t DataSize() const {
    if (run) return 2 + 4 * static_cast<uint32_t>(runs.size() / 2);
    return c->cardinality <= kArrayMax ? 2 * c->cardinality : 8192;
  }
};

Plan MakePlan(uint16_t key, const Container& c) {
  Plan p{key, &c, false, RunsOf(c)};
  const uint32_t nruns = static_cast<uint32_t>(p.runs.size() / 2);
  const uint32_t run_size = 2 + 4 * nruns;
  // Array: runs when strictly smaller than 2 bytes/value. Bitmap: runs when
  // strictly smaller than the 8192-byte bitmap.
  p.run = c.cardinality <= kArrayMax ? 2 * c.cardinality > run_size : run_size < 8192;
  if (!p.run) p.runs.clear();
  return p;
}

void SerializeBucket(std::string& out, const std::vector<Plan>& plans) {
  const uint32_t size = static_cast<uint32_t>(plans.size());
  const bool has_run = std::any_of(plans.begin(), plans.end(), [](const Plan& p) { return p.run; });
  uint32_t start;  // offset of the first container's data in this bucket
  if (has_run) {
    PutU32(out, kCookieRuns | ((size - 1) << 16));
    std::string flags((size + 7) / 8, '\0');
    for (uint32_t i = 0; i < size; ++i) {
      if (plans[i].run) flags[i / 8] = static_cast<char>(flags[i / 8] | (1 << (i % 8)));
    }
    out += flags;
    start = 4 + static_cast<uint32_t>(flags.size()) + (size < kNoOffsetThreshold ? 4 : 8) * size;
  } else {
    PutU32(out, kCookieNoRuns);
    PutU32(out, size);
    start = 8 + 8 * size;
  }
  for (const Plan& p : plans) {
    PutU16(out, p.key);
    PutU16(out, static_cast<uint16_t>(p.c->cardinality - 1));
  }
  if (!has_run || size >= kNoOffsetThreshold) {
    for (const Plan& p : plans) {
      PutU32(out, start);
      start += p.DataSize();
    }
  }
  for (const Plan& p : plans) {
    if (p.run) {
      PutU16(out, static_cast<uint16_t>(p.runs.size() / 2));
      for (uint16_t v : p.runs) PutU16(out, v);
    } else if (p.c->cardinality <= kArrayMax) {
      ForEachValue(*p.c, [&](uint32_t v) { PutU16(out, static_cast<uint16_t>(v)); });
    } else {
      const std::vector<uint64_t> words = ToWords(*p.c);
      for (uint64_t w : words) PutU64(out, w);
    }
  }
}

// Parses one 32-bit portable Roaring bitmap into containers with high bits
// `bucket`.
Status DeserializeBucket(Reader& in, uint64_t bucket, std::map<uint64_t, Container>& out) {
  const size_t bucket_start = in.pos();
  ARROW_ASSIGN_OR_RAISE(uint32_t cookie, in.Read<uint32_t>("roaring cookie"));
  bool has_run;
  uint32_t size;
  std::string_view run_flags;
  if ((cookie & 0xffff) == kCookieRuns) {
    has_run = true;
    size = (cookie >> 16) + 1;
    ARROW_ASSIGN_OR_RAISE(run_flags, in.Bytes((size + 7) / 8, "run container flags"));
  } else if (cookie == kCookieNoRuns) {
    has_run = false;
    ARROW_ASSIGN_OR_RAISE(size, in.Read<uint32_t>("container count"));
    if (size > 65536) {
      return Status::Invalid("deletion bitmap: bucket ", bucket, " claims ", size,
                             " containers (max 65536)");
    }
  } else {
    return Status::Invalid("deletion bitmap: bad roaring cookie ", cookie, " at offset ",
                           bucket_start);
  }
  // Check the whole header is present before allocating for it.
  ARROW_RETURN_NOT_OK(in.Need(size_t{4} * size, "container keys"));
  std::vector<std::pair<uint16_t, uint32_t>> headers(size);
  for (uint32_t i = 0; i < size; ++i) {
    ARROW_ASSIGN_OR_RAISE(uint16_t key, in.Read<uint16_t>("container key"));
    ARROW_ASSIGN_OR_RAISE(uint16_t card_m1, in.Read<uint16_t>("container cardinality"));
    if (i > 0 && key <= headers[i - 1].first) {
      return Status::Invalid("deletion bitmap: container keys not ascending in bucket ", bucket);
    }
    headers[i] = {key, uint32_t{card_m1} + 1};
  }
  // Offsets are redundant for a sequential read; skip them.
  if (!has_run || size >= kNoOffsetThreshold) {
    ARROW_RETURN_NOT_OK(in.Bytes(size_t{4} * size, "container offsets").status());
  }
  for (uint32_t i = 0; i < size; ++i) {
    const auto [key, card] = headers[i];
    Container c;
    const bool is_run = has_run && ((static_cast<uint8_t>(run_flags[i / 8]) >> (i % 8)) & 1);
    if (is_run) {
      ARROW_ASSIGN_OR_RAISE(uint16_t nruns, in.Read<uint16_t>("run count"));
      ARROW_RETURN_NOT_OK(in.Need(size_t{4} * nruns, "runs"));
      c.kind = Kind::kRun;
      c.values.reserve(size_t{2} * nruns);
      uint32_t total = 0;
      int64_t prev_end = -1;
      for (uint32_t r = 0; r < nruns; ++r) {
        ARROW_ASSIGN_OR_RAISE(uint16_t s, in.Read<uint16_t>("run start"));
        ARROW_ASSIGN_OR_RAISE(uint16_t len_m1, in.Read<uint16_t>("run length"));
        const uint32_t end = uint32_t{s} + len_m1;
        if (end > 0xffff || int64_t{s} <= prev_end) {
          return Status::Invalid("deletion bitmap: invalid run [", s, ", ", end, "] in container ",
                                 key, " of bucket ", bucket);
        }
        if (!c.values.empty() && int64_t{s} == prev_end + 1) {
          c.values.back() = static_cast<uint16_t>(end - c.values[c.values.size() - 2]);
        } else {
          c.values.push_back(s);
          c.values.push_back(len_m1);
        }
        total += uint32_t{len_m1} + 1;
        prev_end = end;
      }
      if (total != card) {
        return Status::Invalid("deletion bitmap: run container ", key, " of bucket ", bucket,
                               " holds ", total, " values, header says ", card);
      }
    } else if (card > kArrayMax) {
      ARROW_RETURN_NOT_OK(in.Need(8 * kWords, "bitmap container"));
      c.kind = Kind::kBitmap;
      c.words.resize(kWords);
      for (size_t w = 0; w < kWords; ++w) {
        ARROW_ASSIGN_OR_RAISE(c.words[w], in.Read<uint64_t>("bitmap word"));
      }
      if (PopCount(c.words) != card) {
        return Status::Invalid("deletion bitmap: bitmap container ", key, " of bucket ", bucket,
                               " cardinality does not match its header");
      }
    } else {
      ARROW_RETURN_NOT_OK(in.Need(size_t{2} * card, "array container"));
      c.kind = Kind::kArray;
      c.values.resize(card);
      for (uint32_t j = 0; j < card; ++j) {
        ARROW_ASSIGN_OR_RAISE(c.values[j], in.Read<uint16_t>("array value"));
        if (j > 0 && c.values[j] <= c.values[j - 1]) {
          return Status::Invalid("deletion bitmap: array container ", key, " of bucket ", bucket,
                                 " is not strictly ascending");
        }
      }
    }
    c.cardinality = card;
    out.emplace_hint(out.end(), (bucket << 16) | key, std::move(c));
  }
  return Status::OK();
}

}  // namespace

void DeletionBitmap::Add(uint64_t value) {
  assert(value <= kMaxValue);
  auto [it, inserted] = containers_.try_emplace(value >> 16);
  ContainerAdd(it->second, static_cast<uint16_t>(value & 0xffff));
}

void DeletionBitmap::AddRange(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  assert(end - 1 <= kMaxValue);
  const uint64_t last = end - 1;
  for (uint64_t key = begin >> 16; key <= last >> 16; ++key) {
    const uint32_t lo = key == begin >> 16 ? begin & 0xffff : 0;
    const uint32_t hi = key == last >> 16 ? last & 0xffff : 0xffff;
    auto [it, inserted] = containers_.try_emplace(key);
    Container& c = it->second;
    if (lo == 0 && hi == 0xffff) {
      c = FullContainer();
    } else if (inserted) {
      c.kind = Kind::kRun;
      c.cardinality = hi - lo + 1;
      c.values = {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi - lo)};
    } else {
      std::vector<uint64_t> words = ToWords(c);
      SetBits(words.data(), lo, hi);
      FromWords(c, std::move(words));
    }
  }
}

bool DeletionBitmap::Contains(uint64_t value) const {
  auto it = containers_.find(value >> 16);
  return it != containers_.end() &&
         ContainerContains(it->second, static_cast<uint16_t>(value & 0xffff));
}

uint64_t DeletionBitmap::Cardinality() const {
  uint64_t n = 0;
  for (const auto& [key, c] : containers_) n += c.cardinality;
  return n;
}

std::vector<uint64_t> DeletionBitmap::ToSortedVector() const {
  std::vector<uint64_t> out;
  out.reserve(Cardinality());
  for (const auto& [key, c] : containers_) {
    ForEachValue(c, [&, key = key](uint32_t v) { out.push_back((key << 16) | v); });
  }
  return out;
}

void DeletionBitmap::Union(const DeletionBitmap& other) {
  if (&other == this) return;
  for (const auto& [key, theirs] : other.containers_) {
    auto [it, inserted] = containers_.try_emplace(key, theirs);
    if (inserted) continue;
    Container& mine = it->second;
    if (mine.cardinality == kFull) continue;
    if (theirs.cardinality == kFull) {
      mine = theirs;
      continue;
    }
    if (mine.kind == Kind::kArray && theirs.kind == Kind::kArray &&
        mine.cardinality + theirs.cardinality <= kArrayMax) {
      std::vector<uint16_t> merged;
      merged.reserve(mine.cardinality + theirs.cardinality);
      std::set_union(mine.values.begin(), mine.values.end(), theirs.values.begin(),
                     theirs.values.end(), std::back_inserter(merged));
      mine.values = std::move(merged);
      mine.cardinality = static_cast<uint32_t>(mine.values.size());
      continue;
    }
    std::vector<uint64_t> words = ToWords(mine);
    const std::vector<uint64_t> other_words = ToWords(theirs);
    for (size_t w = 0; w < kWords; ++w) words[w] |= other_words[w];
    FromWords(mine, std::move(words));
  }
}

bool DeletionBitmap::operator==(const DeletionBitmap& other) const {
  if (containers_.size() != other.containers_.size()) return false;
  for (auto a = containers_.begin(), b = other.containers_.begin(); a != containers_.end();
       ++a, ++b) {
    if (a->first != b->first || a->second.cardinality != b->second.cardinality) {
      return false;
    }
    const Container& x = a->second;
    const Container& y = b->second;
    // Each kind has one representation per set, so same-kind compares directly.
    const bool same =
        x.kind == y.kind ? (x.values == y.values && x.words == y.words) : ToWords(x) == ToWords(y);
    if (!same) return false;
  }
  return true;
}

std::string DeletionBitmap::Serialize() const {
  std::string out;
  PutU32(out, kMagicNumber);
  const size_t count_pos = out.size();
  PutU64(out, 0);  // bucket count, patched below
  uint64_t buckets = 0;
  std::vector<Plan> plans;
  for (auto it = containers_.begin(); it != containers_.end();) {
    const uint64_t bucket = it->first >> 16;
    plans.clear();
    for (; it != containers_.end() && it->first >> 16 == bucket; ++it) {
      plans.push_back(MakePlan(static_cast<uint16_t>(it->first & 0xffff), it->second));
    }
    PutU32(out, static_cast<uint32_t>(bucket));
    SerializeBucket(out, plans);
    ++buckets;
  }
  for (int i = 0; i < 8; ++i) {
    out[count_pos + i] = static_cast<char>((buckets >> (8 * i)) & 0xff);
  }
  return out;
}

Result<DeletionBitmap> DeletionBitmap::Deserialize(std::string_view bytes) {
  Reader in(bytes);
  ARROW_ASSIGN_OR_RAISE(uint32_t magic, in.Read<uint32_t>("magic number"));
  if (magic == kMagicNumber - 1) {
    return Status::NotImplemented(
        "deletion bitmap uses the legacy 'native' RoaringBitmapArray format (magic ", magic,
        "); only the portable format of the protocol is supported");
  }
  if (magic != kMagicNumber) {
    return Status::Invalid("deletion bitmap: unexpected magic number ", magic, " (expected ",
                           kMagicNumber, ")");
  }
  ARROW_ASSIGN_OR_RAISE(uint64_t buckets, in.Read<uint64_t>("bucket count"));
  // Every bucket takes at least 12 bytes (key + empty bitmap).
  if (buckets > in.remaining() / 12) {
    return Status::Invalid("deletion bitmap: bucket count ", buckets, " does not fit in ",
                           in.remaining(), " bytes");
  }
  DeletionBitmap result;
  int64_t prev_key = -1;
  for (uint64_t b = 0; b < buckets; ++b) {
    ARROW_ASSIGN_OR_RAISE(uint32_t key, in.Read<uint32_t>("bucket key"));
    if (key & 0x80000000u) {
      return Status::Invalid("deletion bitmap: bucket key ", key,
                             " has its most significant bit set");
    }
    if (int64_t{key} <= prev_key) {
      return Status::Invalid("deletion bitmap: bucket keys not ascending (", key, " after ",
                             prev_key, ")");
    }
    prev_key = key;
    ARROW_RETURN_NOT_OK(DeserializeBucket(in, key, result.containers_));
  }
  if (in.remaining() != 0) {
    return Status::Invalid("deletion bitmap: ", in.remaining(),
                           " trailing bytes after the last bucket");
  }
  return result;
}

}  // namespace sluice::delta
