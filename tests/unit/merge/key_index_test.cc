#include "sluice/merge/key_index.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "merge_test_util.h"
#include "sluice/merge/merge_planner.h"
#include "sluice/merge/merge_writer.h"

namespace sluice::merge {
namespace {

using testing::ChangeBatch;
using testing::Event;

class KeyIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::TestDir("sluice_keyindex"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `batches` through plan + write + Apply on a table in `sub`.
  std::unique_ptr<KeyIndex> Run(const std::string& sub, MergeMode mode,
                                const std::vector<std::vector<Event>>& batches,
                                const delta::DataWriteOptions& data = {}) {
    auto location = *io::OpenTableLocation((dir_ / sub).string());
    auto encoder = *KeyEncoder::Make(*ChangeBatch(batches[0])->schema(), {"id"});
    auto index = std::make_unique<KeyIndex>(encoder, location);
    int64_t version = 0;
    for (const auto& events : batches) {
      auto plan = PlanBatch(*index, *ChangeBatch(events), {1000, ++version});
      EXPECT_TRUE(plan.ok()) << plan.status().ToString();
      MergeWriteOptions options;
      options.mode = mode;
      options.app_id = "app";
      options.version = version;
      options.now_ms = 1000;
      options.data = data;
      auto commit = WriteMerge(location, *delta::LoadIfExists(location), *plan, options);
      EXPECT_TRUE(commit.ok()) << commit.status().ToString();
      EXPECT_TRUE(index->Apply(*plan, commit->outcome).ok());
    }
    return index;
  }

  std::filesystem::path dir_;
};

std::vector<std::vector<Event>> Workload(int batches, int keys, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<Event>> out;
  int counter = 0;
  for (int b = 0; b < batches; ++b) {
    std::vector<Event> events;
    for (int e = 0; e < 60; ++e) {
      char seq[16];
      std::snprintf(seq, sizeof(seq), "%08d", counter++);
      const char* ops[] = {"insert", "update", "delete"};
      events.push_back({ops[rng() % 3], seq, static_cast<int64_t>(rng() % keys),
                        "n" + std::to_string(rng() % 50), static_cast<int64_t>(rng() % 9)});
    }
    out.push_back(std::move(events));
  }
  return out;
}

TEST_F(KeyIndexTest, DeletionVectorAndCopyOnWriteModesGiveIdenticalRows) {
  auto work = Workload(10, 80, 7);
  // Small row groups and files so rewrites span several files.
  delta::DataWriteOptions small;
  small.target_file_size = 2048;
  small.row_group_rows = 16;
  auto dv = Run("dv", MergeMode::kDeletionVectors, work, small);
  auto cow = Run("cow", MergeMode::kCopyOnWrite, work, small);
  auto dv_rows = testing::ReadRows(*io::OpenTableLocation((dir_ / "dv").string()));
  auto cow_rows = testing::ReadRows(*io::OpenTableLocation((dir_ / "cow").string()));
  EXPECT_FALSE(dv_rows.empty());
  EXPECT_EQ(dv_rows, cow_rows);
  EXPECT_EQ(dv->live_count(), cow->live_count());
  EXPECT_EQ(dv->live_count(), static_cast<int64_t>(dv_rows.size()));
  EXPECT_EQ(dv->tombstone_count(), cow->tombstone_count());
  // And each incremental index equals its rebuild (multi-file, row groups).
  for (const char* sub : {"dv", "cow"}) {
    auto location = *io::OpenTableLocation((dir_ / sub).string());
    auto snapshot = *delta::Snapshot::Load(location.log);
    auto tombs = *LoadTombstones(location, 10, 0);
    auto incremental = std::string(sub) == "dv" ? dv.get() : cow.get();
    auto rebuilt = KeyIndex::Build(*snapshot, location, incremental->encoder(), tombs);
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
    EXPECT_EQ((*rebuilt)->Entries(), incremental->Entries()) << sub;
  }
}

// Keys of a string column: held as hash + exact bytes.
TEST_F(KeyIndexTest, FindAndUpdateInMemory) {
  auto encoder = *KeyEncoder::Make(*ChangeBatch({{"insert", "a", 1, {}, {}}})->schema(), {"name"});
  KeyIndex index(encoder, std::nullopt);
  EXPECT_FALSE(index.narrow());
  index.SetLimitsForTesting(UINT32_MAX - 1, 1000);  // the delta merges into the run
  EXPECT_EQ(index.Find("nope").kind, KeyIndex::Found::Kind::kAbsent);
  MergePlan plan;
  MergeOutcome outcome;
  outcome.version = 0;
  for (int i = 0; i < 10000; ++i) {
    plan.append_keys.push_back("k" + std::to_string(i));
    plan.append_seqs.push_back("s" + std::to_string(100000 + i));
  }
  outcome.appended = {{"f1", 6000}, {"f2", 4000}};
  ASSERT_TRUE(index.Apply(plan, outcome).ok());
  EXPECT_EQ(index.live_count(), 10000);
  auto f = index.Find("k6001");
  ASSERT_EQ(f.kind, KeyIndex::Found::Kind::kLive);
  EXPECT_EQ(*f.file, "f2");
  EXPECT_EQ(f.row, 1);
  // Live rows carry their file's greatest sequence as a bound; the exact
  // one comes back from the cache of what was just written.
  EXPECT_FALSE(f.seq_exact);
  EXPECT_EQ(f.seq, "s109999");
  auto exact = index.ExactSeqs({{f.file, f.row}});
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ((*exact)[0], "s106001");
  EXPECT_EQ(index.Find("k5").seq, "s105999");  // f1's bound
  // A tombstone replaces the live row and is exact.
  MergePlan next;
  next.base_version = 0;
  next.tombstones.push_back({"k6001", "s6001-and-much-longer", 5, 1});
  MergeOutcome after;
  after.version = 1;
  ASSERT_TRUE(index.Apply(next, after).ok());
  f = index.Find("k6001");
  EXPECT_EQ(f.kind, KeyIndex::Found::Kind::kTombstone);
  EXPECT_TRUE(f.seq_exact);
  EXPECT_EQ(f.seq, "s6001-and-much-longer");
  EXPECT_EQ(index.live_count(), 9999);
  EXPECT_EQ(index.tombstone_count(), 1);
  index.PurgeTombstones(6);
  EXPECT_EQ(index.Find("k6001").kind, KeyIndex::Found::Kind::kAbsent);
  EXPECT_EQ(index.Find("k9999").kind, KeyIndex::Found::Kind::kLive);
  // A plan made at another version is refused.
  MergePlan stale;
  stale.base_version = 0;
  EXPECT_FALSE(index.Apply(stale, after).ok());
}

// An int64 key as key_encoder.h encodes it.
std::string IntKey(int64_t v) {
  std::string key(9, '\0');
  key[0] = 'i';
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int i = 8; i >= 1; --i, u >>= 8) key[i] = static_cast<char>(u & 0xff);
  return key;
}

// Integer keys held as their value: random upserts and deletes against a
// model, with a tiny delta (merged into the sorted run all the time) and a
// tiny row-number space (files renumbered all the time). Every third commit
// appends more keys than the delta holds, in two files, which takes the
// bulk path (sorted straight into the run) across a renumbering.
TEST_F(KeyIndexTest, IntegerKeysFollowAModelThroughMergesAndRenumbering) {
  auto encoder = *KeyEncoder::Make(*ChangeBatch({{"insert", "a", 1, {}, {}}})->schema(), {"id"});
  KeyIndex index(encoder, std::nullopt);
  ASSERT_TRUE(index.narrow());
  index.SetLimitsForTesting(1000, 16);
  std::mt19937 rng(11);
  // key -> (file, row) or tombstone seq
  std::map<std::string, std::pair<std::string, int64_t>> live;
  std::map<std::string, std::string> dead;
  int files = 0;
  for (int version = 0; version < 200; ++version) {
    MergePlan plan;
    plan.base_version = version - 1;
    MergeOutcome outcome;
    outcome.version = version;
    std::set<int64_t> touched;
    const std::string file = "f" + std::to_string(files++);
    const std::string second = "f" + std::to_string(files++);
    const int events = version % 3 == 0 ? 60 : 12;
    for (int e = 0; e < events; ++e) {
      // Negative, small and huge keys alike.
      int64_t id = static_cast<int64_t>(rng() % 120) - 60;
      if (e % 5 == 0) id *= INT64_C(153722867280912930);
      if (!touched.insert(id).second) continue;
      const std::string key = IntKey(id);
      if (rng() % 4 == 0) {
        plan.tombstones.push_back({key, "d" + std::to_string(version), version, version});
        live.erase(key);
        dead[key] = "d" + std::to_string(version);
      } else {
        live[key] = {file, static_cast<int64_t>(plan.append_keys.size())};
        dead.erase(key);
        plan.append_keys.push_back(key);
        plan.append_seqs.push_back("s" + std::to_string(version));
      }
    }
    const auto n = static_cast<int64_t>(plan.append_keys.size());
    const int64_t split = n >= 20 ? n / 2 : n;
    for (int64_t i = split; i < n; ++i) {
      live[plan.append_keys[static_cast<size_t>(i)]] = {second, i - split};
    }
    if (n > 0) outcome.appended = {{file, split}};
    if (split < n) outcome.appended.push_back({second, n - split});
    auto applied = index.Apply(plan, outcome);
    ASSERT_TRUE(applied.ok()) << version << " " << applied.ToString();
    ASSERT_EQ(index.live_count(), static_cast<int64_t>(live.size()));
    ASSERT_EQ(index.tombstone_count(), static_cast<int64_t>(dead.size()));
  }
  for (int64_t id = -60; id < 60; ++id) {
    for (int64_t scaled : {id, id * INT64_C(153722867280912930)}) {
      const std::string key = IntKey(scaled);
      auto f = index.Find(key);
      if (auto it = live.find(key); it != live.end()) {
        ASSERT_EQ(f.kind, KeyIndex::Found::Kind::kLive) << scaled;
        EXPECT_EQ(*f.file, it->second.first);
        EXPECT_EQ(f.row, it->second.second);
      } else if (auto d = dead.find(key); d != dead.end()) {
        ASSERT_EQ(f.kind, KeyIndex::Found::Kind::kTombstone) << scaled;
        EXPECT_EQ(f.seq, d->second);
      } else {
        EXPECT_EQ(f.kind, KeyIndex::Found::Kind::kAbsent) << scaled;
      }
    }
  }
  // Entries() gives back the exact encoded keys.
  std::vector<std::string> keys;
  for (const auto& e : index.Entries()) keys.push_back(e.key);
  std::vector<std::string> want;
  for (const auto& [k, v] : live) want.push_back(k);
  for (const auto& [k, v] : dead) want.push_back(k);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(keys, want);
  // A key of the wrong shape is nobody's.
  EXPECT_EQ(index.Find("k1").kind, KeyIndex::Found::Kind::kAbsent);
}

// Index build time for a large table of realistic width. Disabled by
// default; run with
//   SLUICE_BENCH_ROWS=10000000 merge_tests --gtest_also_run_disabled_tests
//     --gtest_filter='*BuildLargeTable*'
// The table is kept in $SLUICE_BENCH_DIR (default: a temp dir) and reused.
TEST_F(KeyIndexTest, DISABLED_BuildLargeTable) {
  const char* rows_env = std::getenv("SLUICE_BENCH_ROWS");
  const int64_t total = rows_env ? std::atoll(rows_env) : 1'000'000;
  const char* dir_env = std::getenv("SLUICE_BENCH_DIR");
  std::string path = dir_env ? dir_env
                             : (std::filesystem::temp_directory_path() /
                                ("sluice_index_bench_" + std::to_string(total)))
                                   .string();
  auto location = *io::OpenTableLocation(path);
  auto ts_type = arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("customer_id", arrow::int64()),
       arrow::field("name", arrow::utf8()), arrow::field("email", arrow::utf8()),
       arrow::field("city", arrow::utf8()), arrow::field("amount", arrow::decimal128(12, 2)),
       arrow::field("status", arrow::utf8()), arrow::field("created_at", ts_type),
       arrow::field("updated_at", ts_type), arrow::field("active", arrow::boolean()),
       arrow::field("_cdc_seq", arrow::binary()), arrow::field("_cdc_ts", ts_type)});
  auto existing = *delta::LoadIfExists(location);
  if (!existing) {
    auto start = std::chrono::steady_clock::now();
    const int64_t chunk = 1'000'000;
    std::mt19937_64 rng(1);
    const char* cities[] = {"Lisbon", "Paris", "Berlin", "Madrid", "Rome", "Oslo"};
    const char* statuses[] = {"new", "paid", "shipped", "cancelled"};
    for (int64_t first = 0; first < total; first += chunk) {
      int64_t n = std::min(chunk, total - first);
      arrow::Int64Builder id, cust;
      arrow::StringBuilder name, email, city, status;
      arrow::Decimal128Builder amount(arrow::decimal128(12, 2));
      arrow::TimestampBuilder created(ts_type, arrow::default_memory_pool()),
          updated(ts_type, arrow::default_memory_pool()), ts(ts_type, arrow::default_memory_pool());
      arrow::BooleanBuilder active;
      arrow::BinaryBuilder seq;
      for (int64_t i = first; i < first + n; ++i) {
        ASSERT_TRUE(id.Append(i * 7 + 3).ok());
        ASSERT_TRUE(cust.Append(static_cast<int64_t>(rng() % 100000)).ok());
        ASSERT_TRUE(name.Append("customer " + std::to_string(rng() % 1000000)).ok());
        ASSERT_TRUE(email.Append("user" + std::to_string(i) + "@example.com").ok());
        ASSERT_TRUE(city.Append(cities[rng() % 6]).ok());
        ASSERT_TRUE(amount.Append(arrow::Decimal128(static_cast<int64_t>(rng() % 10000000))).ok());
        ASSERT_TRUE(status.Append(statuses[rng() % 4]).ok());
        ASSERT_TRUE(created.Append(1'600'000'000'000'000 + i).ok());
        ASSERT_TRUE(updated.Append(1'700'000'000'000'000 + i).ok());
        ASSERT_TRUE(active.Append(rng() % 2 == 1).ok());
        // A Datastream MySQL-like seq: flag, binlog file, position, ts, index.
        char s[24] = {};
        uint64_t pos = static_cast<uint64_t>(i) * 97;
        s[0] = 1;
        for (int b = 0; b < 8; ++b) s[8 - b] = static_cast<char>((pos >> (8 * b)) & 0xff);
        for (int b = 0; b < 8; ++b) s[16 - b] = static_cast<char>((i >> (8 * b)) & 0xff);
        ASSERT_TRUE(seq.Append(s, 24).ok());
        ASSERT_TRUE(ts.Append(1'700'000'000'000'000 + i).ok());
      }
      auto table =
          arrow::Table::Make(schema, {id.Finish().ValueOrDie(), cust.Finish().ValueOrDie(),
                                      name.Finish().ValueOrDie(), email.Finish().ValueOrDie(),
                                      city.Finish().ValueOrDie(), amount.Finish().ValueOrDie(),
                                      status.Finish().ValueOrDie(), created.Finish().ValueOrDie(),
                                      updated.Finish().ValueOrDie(), active.Finish().ValueOrDie(),
                                      seq.Finish().ValueOrDie(), ts.Finish().ValueOrDie()});
      delta::TableWriteOptions options;
      options.deletion_vectors = true;
      ASSERT_TRUE(delta::WriteTable(location, table, options).ok());
    }
    // Delete ~1% of the rows of every file through DVs, as merges would.
    auto snapshot = *delta::Snapshot::Load(location.log);
    std::map<std::string, delta::DeletionBitmap> dels;
    for (const auto& f : snapshot->files()) {
      int64_t n = delta::NumRecordsFromStats(*f.stats)->value_or(0);
      delta::DeletionBitmap clipped;
      for (uint64_t r = 0; r < static_cast<uint64_t>(n); r += 100) clipped.Add(r);
      dels[f.path] = clipped;
    }
    ASSERT_TRUE(
        delta::DeleteRows(location, snapshot, dels, delta::DeleteMode::kDeletionVectors).ok());
    std::printf("wrote %lld rows in %.1f s\n", static_cast<long long>(total),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  auto snapshot = *delta::Snapshot::Load(location.log);
  auto encoder = *KeyEncoder::Make(*snapshot->schema(), {"id"});
  IndexBuildStats stats;
  auto index = KeyIndex::Build(*snapshot, location, encoder, {}, &stats);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  std::printf(
      "index build: %lld files, %lld rows read, %lld live keys in %.2f s; %.1f MiB "
      "(%.1f bytes/key)\n",
      static_cast<long long>(stats.files), static_cast<long long>(stats.rows_read),
      static_cast<long long>(stats.live_rows), stats.seconds, (*index)->MemoryBytes() / 1048576.0,
      static_cast<double>((*index)->MemoryBytes()) / std::max<int64_t>(1, stats.live_rows));
  EXPECT_EQ(stats.duplicate_keys, 0);
  EXPECT_GT(stats.live_rows, total * 98 / 100);
}

}  // namespace
}  // namespace sluice::merge
