#include "sluice/cli/demo_stream.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <unordered_map>

namespace sluice::cli {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kMaxRows = 10'000'000;
constexpr int kMaxBatches = 1440;
constexpr const char* kBackfillMethod = "mysql-backfill-fulldump";
constexpr const char* kCdcMethod = "mysql-cdc-binlog";
constexpr const char* kStreamName =
    "projects/318204976453/locations/us-central1/streams/sluice-demo";
// Datastream cuts a backfill into files of many rows, and CDC into files per
// minute folder; a busy minute spans more than one file.
constexpr size_t kBackfillRowsPerFile = 500;
constexpr size_t kCdcEventsForTwoFiles = 40;

enum TableIndex { kCustomers = 0, kOrders = 1 };

// Deterministic across standard libraries (std::uniform_int_distribution is
// not), so a seed names one stream everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t Next() { return engine_(); }
  /// Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Percent(int p) { return Between(0, 99) < p; }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[engine_() % N];
  }

 private:
  std::mt19937_64 engine_;
};

constexpr std::array<const char*, 16> kFirstNames = {
    "Ada",    "Björn", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiroshi",
    "Ingrid", "José",  "Kwame", "Lena",   "Mei",   "Noah",   "Olga",  "Priya"};
constexpr std::array<const char*, 12> kLastNames = {"Lovelace", "Øvergaard", "Dubois", "Ivanov",
                                                    "Okafor",   "Haddad",    "Hopper", "Tanaka",
                                                    "Berg",     "Núñez",     "Mensah", "O'Brien"};
constexpr std::array<const char*, 10> kCountries = {"DE", "FR", "US", "JP", "NG",
                                                    "BR", "IN", "NO", "GB", "MX"};
constexpr std::array<const char*, 8> kNotes = {"gift wrap, please",
                                               "leave at the \"back\" door",
                                               "call before delivery",
                                               "fragile: glass",
                                               "Lieferung an die Packstation",
                                               "配達前に電話してください",
                                               "two boxes\nsecond one is small",
                                               "invoice to C:\\accounts"};

struct Customer {
  int64_t id = 0;
  std::string name;
  std::string email;
  std::string country;
  bool vip = false;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

struct Order {
  int64_t id = 0;
  int64_t customer_id = 0;
  std::string status;
  int64_t amount_cents = 0;
  int64_t items = 0;
  std::optional<std::string> note;
  int64_t created_us = 0;
  int64_t updated_us = 0;
};

// The live rows of one table by key, with O(1) random pick and removal.
template <typename Row>
class LiveRows {
 public:
  void Put(const Row& row) {
    auto it = index_.find(row.id);
    if (it == index_.end()) {
      index_[row.id] = rows_.size();
      rows_.push_back(row);
    } else {
      rows_[it->second] = row;
    }
  }
  Row* Pick(Rng& rng) { return rows_.empty() ? nullptr : &rows_[rng.Next() % rows_.size()]; }
  void Remove(int64_t id) {
    size_t at = index_.at(id);
    index_[rows_.back().id] = at;
    std::swap(rows_[at], rows_.back());
    rows_.pop_back();
    index_.erase(id);
  }
  int64_t size() const { return static_cast<int64_t>(rows_.size()); }

 private:
  std::vector<Row> rows_;
  std::unordered_map<int64_t, size_t> index_;
};

// --- text forms, as Datastream writes them ---

std::string JsonString(const std::string& s) { return nlohmann::json(s).dump(); }

/// "2024-05-09T06:56:53.833Z" (`digits` 3: ms) or "...53.833000Z" (6: µs).
std::string IsoUtc(int64_t us, int digits) {
  int64_t secs = us / 1'000'000;
  int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  if (digits == 3) {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(frac / 1000));
  } else {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(frac));
  }
  return buf;
}

/// The minute folder "yyyy/mm/dd/hh/mm" of an epoch-ms time.
std::string MinuteFolder(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d/%02d/%02d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min);
  return buf;
}

/// DECIMAL(10,2) as the exact JSON number Datastream writes: "1234.50".
std::string Cents(int64_t cents) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
  return buf;
}

std::string Payload(const Customer& c) {
  return "{\"customer_id\":" + std::to_string(c.id) + ",\"name\":" + JsonString(c.name) +
         ",\"email\":" + JsonString(c.email) + ",\"country\":" + JsonString(c.country) +
         ",\"vip\":" + (c.vip ? "1" : "0") + ",\"created_at\":\"" + IsoUtc(c.created_us, 6) +
         "\",\"updated_at\":\"" + IsoUtc(c.updated_us, 6) + "\"}";
}

std::string Payload(const Order& o) {
  return "{\"order_id\":" + std::to_string(o.id) +
         ",\"customer_id\":" + std::to_string(o.customer_id) +
         ",\"status\":" + JsonString(o.status) + ",\"amount\":" + Cents(o.amount_cents) +
         ",\"items\":" + std::to_string(o.items) +
         ",\"note\":" + (o.note ? JsonString(*o.note) : std::string("null")) +
         ",\"created_at\":\"" + IsoUtc(o.created_us, 6) + "\",\"updated_at\":\"" +
         IsoUtc(o.updated_us, 6) + "\"}";
}

// --- events and files ---

struct Event {
  const char* change_type = "INSERT";
  bool is_deleted = false;
  bool backfill = false;
  int64_t source_ms = 0;
  int64_t read_ms = 0;
  int binlog = 0;  ///< mysql-bin.<binlog>; CDC only
  int64_t position = 0;
  std::string payload;
};

Event MakeEvent(const char* change_type, std::string payload) {
  Event e;
  e.change_type = change_type;
  e.is_deleted = std::string_view(change_type) == "DELETE";
  e.payload = std::move(payload);
  return e;
}

std::string BinlogName(int binlog) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "mysql-bin.%06d", binlog);
  return buf;
}

std::string Hex(Rng& rng, int n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) out += kDigits[rng.Next() % 16];
  return out;
}

// Names and writes the files of one table: the naming state (schema key,
// task ids, increasing sequence numbers) lives across calls.
class TableFiles {
 public:
  TableFiles(std::string root, const DemoTableSpec& spec, Rng& rng)
      : root_(std::move(root)), spec_(spec), rng_(rng), schema_key_(Hex(rng, 40)) {
    // Datastream's task ids are signed 32-bit numbers, one per read method.
    backfill_task_ = static_cast<int32_t>(static_cast<uint32_t>(rng.Next()));
    cdc_task_ = static_cast<int32_t>(static_cast<uint32_t>(rng.Next()));
    backfill_seq_ = rng.Between(0, 50);
    cdc_seq_ = rng.Between(0, 50);
  }

  /// Writes `events` (one read method, one minute folder: `folder_ms`) as
  /// `parts` files of contiguous events.
  Status Write(const std::vector<Event>& events, bool backfill, int64_t folder_ms, size_t parts,
               DemoTableCounts* counts) {
    if (events.empty()) return Status::OK();
    parts = std::max<size_t>(1, std::min(parts, events.size()));
    size_t per_file = (events.size() + parts - 1) / parts;
    for (size_t begin = 0; begin < events.size(); begin += per_file) {
      size_t end = std::min(events.size(), begin + per_file);
      ARROW_RETURN_NOT_OK(WriteFile(events, begin, end, backfill, folder_ms));
      ++counts->files;
    }
    return Status::OK();
  }

 private:
  Status WriteFile(const std::vector<Event>& events, size_t begin, size_t end, bool backfill,
                   int64_t folder_ms) {
    const char* method = backfill ? kBackfillMethod : kCdcMethod;
    int64_t& seq = backfill ? backfill_seq_ : cdc_seq_;
    seq += rng_.Between(1, 40);
    fs::path dir = fs::path(root_) / spec_.object() / MinuteFolder(folder_ms);
    std::string name = schema_key_ + "_" + method + "_" +
                       std::to_string(backfill ? backfill_task_ : cdc_task_) + "_" +
                       std::to_string(rng_.Between(0, 7)) + "_" + std::to_string(seq) + ".jsonl";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create ", dir.string(), ": ", ec.message());

    std::string keys;
    for (const auto& k : spec_.primary_keys) keys += (keys.empty() ? "" : ",") + JsonString(k);
    // Shared by every line of the file.
    const std::string head = "\",\"object\":" + JsonString(spec_.object()) +
                             ",\"read_method\":" + JsonString(method) +
                             ",\"stream_name\":" + JsonString(kStreamName) +
                             ",\"schema_key\":" + JsonString(schema_key_) + ",\"sort_keys\":[";
    const std::string metadata = "\"source_metadata\":{\"table\":" + JsonString(spec_.table) +
                                 ",\"database\":" + JsonString(spec_.database) +
                                 ",\"primary_keys\":[" + keys + "],";
    std::string text;
    std::string uuid_prefix;
    for (size_t i = begin; i < end; ++i) {
      const Event& e = events[i];
      // Datastream's uuids: a random prefix and an 8-digit binary counter.
      size_t row = i - begin;
      if (row % 256 == 0) {
        uuid_prefix = Hex(rng_, 8) + "-" + Hex(rng_, 4) + "-4" + Hex(rng_, 3) + "-" +
                      "89ab"[rng_.Next() % 4] + Hex(rng_, 3) + "-" + Hex(rng_, 4);
      }
      std::string counter;
      for (int bit = 7; bit >= 0; --bit) counter += ((row % 256) >> bit) & 1 ? '1' : '0';
      std::string log_file = e.backfill ? "" : BinlogName(e.binlog);
      std::string position = std::to_string(e.backfill ? 0 : e.position);
      text += "{\"uuid\":\"" + uuid_prefix + counter + "\",\"read_timestamp\":\"" +
              IsoUtc(e.read_ms * 1000, 3) + "\",\"source_timestamp\":\"" +
              IsoUtc(e.source_ms * 1000, 3) + head + std::to_string(e.source_ms) + "," +
              JsonString(log_file) + "," + position + "]," + metadata +
              "\"log_file\":" + JsonString(log_file) + ",\"log_position\":" + position +
              ",\"change_type\":\"" + e.change_type +
              "\",\"is_deleted\":" + (e.is_deleted ? "true" : "false") +
              "},\"payload\":" + e.payload + "}\n";
    }
    fs::path path = dir / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) return Status::IOError("cannot write ", path.string());
    return Status::OK();
  }

  std::string root_;
  const DemoTableSpec& spec_;
  Rng& rng_;
  std::string schema_key_;
  int32_t backfill_task_ = 0;
  int32_t cdc_task_ = 0;
  int64_t backfill_seq_ = 0;
  int64_t cdc_seq_ = 0;
};

// The source database: its rows, and the changes applied to them.
class Shop {
 public:
  explicit Shop(Rng& rng) : rng_(rng) {}

  Customer NewCustomer(int64_t created_us, int64_t updated_us) {
    Customer c;
    c.id = next_customer_++;
    c.name = std::string(rng_.Pick(kFirstNames)) + " " + rng_.Pick(kLastNames);
    c.email = "customer" + std::to_string(c.id) + "@example.com";
    c.country = rng_.Pick(kCountries);
    c.vip = rng_.Percent(10);
    c.created_us = created_us;
    c.updated_us = updated_us;
    customers_.Put(c);
    return c;
  }

  Order NewOrder(int64_t created_us, int64_t updated_us, bool settled) {
    Order o;
    o.id = next_order_++;
    Customer* c = customers_.Pick(rng_);
    o.customer_id = c ? c->id : rng_.Between(1, std::max<int64_t>(1, next_customer_ - 1));
    o.items = rng_.Between(1, 8);
    o.amount_cents = o.items * rng_.Between(199, 25'000);
    o.status = settled ? (rng_.Percent(70) ? "delivered" : "shipped") : "pending";
    if (rng_.Percent(20)) o.note = rng_.Pick(kNotes);
    o.created_us = created_us;
    o.updated_us = updated_us;
    orders_.Put(o);
    return o;
  }

  /// One CDC change of `table` at `now_us`; every update changes a column
  /// besides updated_at (a row that does not change is not an event).
  Event Change(TableIndex table, int64_t now_us) {
    return table == kCustomers ? ChangeCustomer(now_us) : ChangeOrder(now_us);
  }

  int64_t live(TableIndex table) const {
    return table == kCustomers ? customers_.size() : orders_.size();
  }

 private:
  Event ChangeCustomer(int64_t now_us) {
    Customer* c = customers_.Pick(rng_);
    int r = static_cast<int>(rng_.Between(0, 99));
    if (c == nullptr || r < 30) return MakeEvent("INSERT", Payload(NewCustomer(now_us, now_us)));
    if (r < 92) {
      int what = static_cast<int>(rng_.Between(0, 2));
      if (what == 0) {
        c->email =
            "customer" + std::to_string(c->id) + "." + std::to_string(++edits_) + "@example.org";
      } else if (what == 1) {
        c->vip = !c->vip;
      } else {
        std::string old = c->country;
        while (c->country == old) c->country = rng_.Pick(kCountries);
      }
      c->updated_us = now_us;
      return MakeEvent("UPDATE-INSERT", Payload(*c));
    }
    Customer gone = *c;
    customers_.Remove(gone.id);
    return MakeEvent("DELETE", Payload(gone));
  }

  Event ChangeOrder(int64_t now_us) {
    Order* o = orders_.Pick(rng_);
    int r = static_cast<int>(rng_.Between(0, 99));
    if (o == nullptr || r < 30)
      return MakeEvent("INSERT", Payload(NewOrder(now_us, now_us, false)));
    if (r < 88) {
      const std::string& s = o->status;
      if (rng_.Percent(15)) {
        // A price correction of up to 10 %, never to zero or below.
        int64_t delta = rng_.Between(1, std::max<int64_t>(1, o->amount_cents / 10));
        bool down = rng_.Percent(50) && o->amount_cents > delta;
        o->amount_cents += down ? -delta : delta;
      } else if (s == "pending") {
        o->status = rng_.Percent(90) ? "paid" : "cancelled";
      } else if (s == "paid") {
        o->status = "shipped";
      } else if (s == "shipped") {
        o->status = "delivered";
      } else if (s == "delivered" && rng_.Percent(20)) {
        o->status = "returned";
      } else {
        o->note = "follow-up #" + std::to_string(++edits_);
      }
      o->updated_us = now_us;
      return MakeEvent("UPDATE-INSERT", Payload(*o));
    }
    Order gone = *o;
    orders_.Remove(gone.id);
    return MakeEvent("DELETE", Payload(gone));
  }

  Rng& rng_;
  LiveRows<Customer> customers_;
  LiveRows<Order> orders_;
  int64_t next_customer_ = 1;
  int64_t next_order_ = 1'000'001;
  int64_t edits_ = 0;
};

void Count(const Event& e, DemoTableCounts* counts) {
  std::string_view type = e.change_type;
  if (e.backfill) {
    ++counts->backfill;
  } else if (type == "INSERT") {
    ++counts->inserts;
  } else if (type == "DELETE") {
    ++counts->deletes;
  } else {
    ++counts->updates;
  }
}

}  // namespace

const std::vector<DemoTableSpec>& DemoTables() {
  static const std::vector<DemoTableSpec> tables = {
      {"shop",
       "customers",
       {"customer_id"},
       {{"customer_id", "integer"},
        {"name", "string"},
        {"email", "string"},
        {"country", "string"},
        {"vip", "boolean"},  // TINYINT(1): 0 / 1 in the events
        {"created_at", "timestamp"},
        {"updated_at", "timestamp"}}},
      {"shop",
       "orders",
       {"order_id"},
       {{"order_id", "long"},
        {"customer_id", "integer"},
        {"status", "string"},
        {"amount", "decimal(10,2)"},
        {"items", "integer"},
        {"note", "string"},
        {"created_at", "timestamp"},
        {"updated_at", "timestamp"}}},
  };
  return tables;
}

Status CheckDemoStreamOptions(const DemoStreamOptions& options) {
  if (options.rows < 1 || options.rows > kMaxRows) {
    return Status::Invalid("--rows must be between 1 and ", kMaxRows, ", got ", options.rows);
  }
  if (options.batches < 0 || options.batches > kMaxBatches) {
    return Status::Invalid("--batches must be between 0 and ", kMaxBatches, ", got ",
                           options.batches);
  }
  return Status::OK();
}

Result<DemoStreamStats> WriteDemoStream(const std::string& root, const DemoStreamOptions& options) {
  ARROW_RETURN_NOT_OK(CheckDemoStreamOptions(options));
  const int64_t changes = options.changes_per_batch > 0 ? options.changes_per_batch
                                                        : std::max<int64_t>(20, options.rows / 4);
  int64_t end_ms = options.end_ms;
  if (end_ms <= 0) {
    end_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  }
  // Backfill in the minute before the first CDC minute; the last CDC minute
  // ends at end_ms's minute.
  const int64_t cdc_start = end_ms / kMinuteMs * kMinuteMs - options.batches * kMinuteMs;
  const int64_t backfill_ms = cdc_start - kMinuteMs + 12'000;

  Rng rng(options.seed);
  Shop shop(rng);
  const auto& specs = DemoTables();
  std::vector<TableFiles> files;
  files.reserve(specs.size());
  for (const auto& spec : specs) files.emplace_back(root, spec, rng);
  DemoStreamStats stats;
  stats.tables.resize(specs.size());

  // Backfill: one consistent snapshot of each table, read row by row a
  // little later.
  const int64_t n_customers = std::max<int64_t>(1, options.rows / 5);
  const int64_t snapshot_us = backfill_ms * 1000;
  for (int t : {kCustomers, kOrders}) {
    const int64_t n = t == kCustomers ? n_customers : options.rows - n_customers;
    std::vector<Event> events;
    int64_t read_ms = backfill_ms + rng.Between(150, 900);
    for (int64_t i = 0; i < n; ++i) {
      std::string payload;
      if (t == kCustomers) {
        int64_t created = snapshot_us - rng.Between(1, 3LL * 365 * 86400) * 1'000'000;
        int64_t updated = created + rng.Between(0, (snapshot_us - created) / 1'000'000) * 1'000'000;
        payload = Payload(shop.NewCustomer(created, updated));
      } else {
        int64_t created = snapshot_us - rng.Between(3600, 90LL * 86400) * 1'000'000;
        int64_t updated = created + rng.Between(0, 3600) * 1'000'000;
        payload = Payload(shop.NewOrder(created, updated, rng.Percent(80)));
      }
      Event e = MakeEvent("INSERT", std::move(payload));
      e.backfill = true;
      e.source_ms = backfill_ms;
      read_ms += rng.Between(0, 2);
      e.read_ms = read_ms;
      Count(e, &stats.tables[t]);
      events.push_back(std::move(e));
    }
    size_t parts = (events.size() + kBackfillRowsPerFile - 1) / kBackfillRowsPerFile;
    ARROW_RETURN_NOT_OK(files[t].Write(events, true, backfill_ms, parts, &stats.tables[t]));
  }

  // CDC: one binlog for the whole database, rotating halfway.
  int binlog = 17;
  int64_t position = rng.Between(1'000'000, 50'000'000);
  int64_t last_read_ms = backfill_ms;
  const int64_t rotate_at = options.batches * changes / 2;
  int64_t change_index = 0;
  for (int b = 0; b < options.batches; ++b) {
    const int64_t minute_ms = cdc_start + b * kMinuteMs;
    // Binlog timestamps have a resolution of one second.
    std::vector<int64_t> offsets(static_cast<size_t>(changes));
    for (auto& off : offsets) off = rng.Between(0, 59) * 1000;
    std::sort(offsets.begin(), offsets.end());
    std::vector<Event> events[2];
    for (int64_t off : offsets) {
      if (change_index++ == rotate_at && rotate_at > 0) {
        ++binlog;
        position = 235;
      } else {
        position += rng.Between(180, 900);
      }
      const int64_t source_ms = minute_ms + off;
      // Datastream reads behind the source by a varying lag, but in order.
      last_read_ms = std::max(last_read_ms + rng.Between(0, 3), source_ms + rng.Between(300, 2500));
      TableIndex table = rng.Percent(25) ? kCustomers : kOrders;
      Event e = shop.Change(table, source_ms * 1000);
      e.source_ms = source_ms;
      e.read_ms = last_read_ms;
      e.binlog = binlog;
      e.position = position;
      Count(e, &stats.tables[table]);
      events[table].push_back(std::move(e));
    }
    for (int t : {kCustomers, kOrders}) {
      size_t parts = events[t].size() >= kCdcEventsForTwoFiles ? 2 : 1;
      ARROW_RETURN_NOT_OK(files[t].Write(events[t], false, minute_ms, parts, &stats.tables[t]));
    }
  }

  for (int t : {kCustomers, kOrders}) {
    auto& c = stats.tables[t];
    c.live_rows = shop.live(static_cast<TableIndex>(t));
    stats.events += c.backfill + c.inserts + c.updates + c.deletes;
    stats.files += c.files;
  }
  return stats;
}

}  // namespace sluice::cli
