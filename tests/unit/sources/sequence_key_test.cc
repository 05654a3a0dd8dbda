// _cdc_seq encodings: memcmp order of the bytes must equal the order of the
// tuples they encode, for random values and the edge cases that break
// string comparison (LSN "F/FFFFFFFF" vs "10/0", negative numbers).
#include "sluice/sources/sequence_key.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include "sluice/sources/datastream/position_parsers.h"
#include "sluice/sources/datastream/sequence_layout.h"

namespace sluice::sources {
namespace {

using datastream::EncodeSequence;
using datastream::EventPosition;
using datastream::SourceKind;

int Sign(int v) { return (v > 0) - (v < 0); }

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Values clustered near the interesting boundaries, so that ties and
// sign changes are frequent.
int64_t RandomI64(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return static_cast<int64_t>(rng() % 5) - 2;
    case 1:
      return static_cast<int64_t>(rng());
    case 2:
      return rng() % 2 ? INT64_MIN + static_cast<int64_t>(rng() % 3)
                       : INT64_MAX - static_cast<int64_t>(rng() % 3);
    default:
      return static_cast<int64_t>(rng() % 1000) - 500;
  }
}

uint64_t RandomU64(std::mt19937_64& rng) {
  switch (rng() % 3) {
    case 0:
      return rng() % 4;
    case 1:
      return rng();
    default:
      return UINT64_MAX - rng() % 3;
  }
}

TEST(SequenceKey, FixedWidthIntegersOrderLikeTuples) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 20000; ++iter) {
    auto a =
        std::make_tuple(static_cast<uint8_t>(rng() % 3), RandomU64(rng), RandomI64(rng),
                        static_cast<uint16_t>(rng() % 3), static_cast<uint32_t>(RandomU64(rng)));
    auto b = iter % 3 == 0 ? a
                           : std::make_tuple(static_cast<uint8_t>(rng() % 3), RandomU64(rng),
                                             RandomI64(rng), static_cast<uint16_t>(rng() % 3),
                                             static_cast<uint32_t>(RandomU64(rng)));
    if (iter % 5 == 0) std::get<2>(b) = RandomI64(rng);  // differ only late
    auto encode = [](const auto& t) {
      SequenceKeyBuilder k;
      k.U8(std::get<0>(t))
          .U64(std::get<1>(t))
          .I64(std::get<2>(t))
          .U16(std::get<3>(t))
          .U32(std::get<4>(t));
      return k.Take();
    };
    ASSERT_EQ(Sign(CompareSequenceKeys(encode(a), encode(b))), Cmp(a, b)) << iter;
  }
}

TEST(SequenceKey, SignedEdgeCases) {
  std::vector<int64_t> values = {INT64_MIN, INT64_MIN + 1, -2,       -1, 0, 1,
                                 2,         INT64_MAX - 1, INT64_MAX};
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    SequenceKeyBuilder a, b;
    a.I64(values[i]);
    b.I64(values[i + 1]);
    EXPECT_LT(CompareSequenceKeys(a.bytes(), b.bytes()), 0) << values[i];
  }
}

TEST(SequenceKey, TextOrdersLikeMemcmpAndTerminates) {
  std::mt19937_64 rng(7);
  const char alphabet[] = {'\0', '\x01', 'a', 'b', '\xff'};
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s[2];
    for (auto& x : s) {
      size_t len = rng() % 4;
      for (size_t j = 0; j < len; ++j) x.push_back(alphabet[rng() % 5]);
    }
    uint64_t tail[2] = {rng() % 3, rng() % 3};
    SequenceKeyBuilder a, b;
    a.Text(s[0]).U64(tail[0]);
    b.Text(s[1]).U64(tail[1]);
    int expect = Cmp(std::make_tuple(s[0], tail[0]), std::make_tuple(s[1], tail[1]));
    ASSERT_EQ(Sign(CompareSequenceKeys(a.bytes(), b.bytes())), expect) << iter;
  }
}

TEST(PositionParsers, PostgresLsnIsANumber) {
  using datastream::ParsePostgresLsn;
  EXPECT_EQ(ParsePostgresLsn("16/B374D848"), (uint64_t{0x16} << 32) | 0xB374D848);
  EXPECT_EQ(ParsePostgresLsn("0/0"), 0u);
  EXPECT_EQ(ParsePostgresLsn(" FFFFFFFF/FFFFFFFF "), UINT64_MAX);
  EXPECT_LT(*ParsePostgresLsn("F/FFFFFFFF"), *ParsePostgresLsn("10/0"));
  for (auto bad : {"", "16", "16/", "/1", "1/2/3", "G/1", "123456789/0", "1 /2"}) {
    EXPECT_FALSE(ParsePostgresLsn(bad).has_value()) << bad;
  }
}

TEST(PositionParsers, SqlServerLsn) {
  using datastream::ParseSqlServerLsn;
  auto lsn = ParseSqlServerLsn("0000002c:00000b88:0003");
  ASSERT_TRUE(lsn);
  EXPECT_EQ(lsn->vlf, 0x2cu);
  EXPECT_EQ(lsn->block, 0xb88u);
  EXPECT_EQ(lsn->slot, 3u);
  EXPECT_EQ(ParseSqlServerLsn("0x0000002C00000B880003"), lsn);
  EXPECT_FALSE(ParseSqlServerLsn("2c:b88"));
  EXPECT_FALSE(ParseSqlServerLsn("2c:b88:10000"));
  EXPECT_FALSE(ParseSqlServerLsn("zz:b88:1"));
}

TEST(PositionParsers, BinlogFileAndRsId) {
  using datastream::ParseBinlogFileNumber;
  EXPECT_EQ(ParseBinlogFileNumber("mysql-bin.000123"), 123u);
  EXPECT_EQ(ParseBinlogFileNumber("binlog.000007"), 7u);
  EXPECT_EQ(ParseBinlogFileNumber("host-relay-bin.42"), 42u);
  EXPECT_EQ(ParseBinlogFileNumber("mysqlbin99"), 99u);
  EXPECT_FALSE(ParseBinlogFileNumber("mysql-bin."));
  EXPECT_FALSE(ParseBinlogFileNumber(""));
  EXPECT_FALSE(ParseBinlogFileNumber("mysql-bin.00x1"));

  auto rs = datastream::ParseOracleRsId(" 0x000038.00001a3b.0010 ");
  ASSERT_TRUE(rs);
  EXPECT_EQ(rs->log_sequence, 0x38u);
  EXPECT_EQ(rs->block, 0x1a3bu);
  EXPECT_EQ(rs->offset, 0x10u);
  EXPECT_FALSE(datastream::ParseOracleRsId("0x38.1a3b"));
}

// Each layout against the tuple it documents, on random positions.
TEST(SequenceLayout, MemcmpOrderIsTupleOrderForEveryKind) {
  std::mt19937_64 rng(1234);
  auto random_pos = [&] {
    EventPosition p;
    p.backfill = rng() % 4 == 0;
    p.source_ts_us = static_cast<int64_t>(rng() % 5) * 1000000 - 2000000;  // includes negatives
    p.update_delete = rng() % 2;
    p.file_ordinal = rng() % 3;
    p.row_index = rng() % 3;
    p.binlog_file = rng() % 3 + 9;
    p.binlog_position = rng() % 3;
    p.pg_lsn = rng() % 2 ? (uint64_t{0xF} << 32) | 0xFFFFFFFF : uint64_t{0x10} << 32;
    p.mssql_lsn = {static_cast<uint32_t>(rng() % 2), static_cast<uint32_t>(rng() % 2),
                   static_cast<uint16_t>(rng() % 3)};
    p.scn = static_cast<int64_t>(rng() % 4) - 1;
    p.rs_id = {rng() % 2, rng() % 2, rng() % 2};
    p.ssn = static_cast<int64_t>(rng() % 2);
    return p;
  };
  auto tuple = [](SourceKind kind, const EventPosition& p) {
    std::vector<int64_t>
        t;  // every field fits int64 here except pg lsn / binlog: compared as uint via offset
    auto u = [&](uint64_t v) {
      t.push_back(static_cast<int64_t>(v >> 1)), t.push_back(static_cast<int64_t>(v & 1));
    };
    switch (kind) {
      case SourceKind::kMySql:
        t.push_back(p.backfill ? 0 : 1);
        u(p.backfill ? 0 : p.binlog_file);
        u(p.backfill ? 0 : p.binlog_position);
        t.push_back(p.source_ts_us);
        break;
      case SourceKind::kPostgres:
        t.push_back(p.source_ts_us);
        u(p.pg_lsn);
        break;
      case SourceKind::kSqlServer:
        t.push_back(p.source_ts_us);
        t.insert(t.end(),
                 {int64_t{p.mssql_lsn.vlf}, int64_t{p.mssql_lsn.block}, int64_t{p.mssql_lsn.slot}});
        break;
      case SourceKind::kOracle:
        t.push_back(p.source_ts_us);
        t.push_back(p.backfill ? -1 : p.scn);
        for (uint64_t v : {p.rs_id.log_sequence, p.rs_id.block, p.rs_id.offset})
          u(p.backfill ? 0 : v);
        t.push_back(p.backfill ? 0 : p.ssn);
        break;
      case SourceKind::kUnknown:
        t.push_back(p.source_ts_us);
        break;
    }
    t.push_back(p.update_delete ? 0 : 1);
    u(p.file_ordinal);
    u(p.row_index);
    return t;
  };
  for (auto kind : {SourceKind::kMySql, SourceKind::kPostgres, SourceKind::kSqlServer,
                    SourceKind::kOracle, SourceKind::kUnknown}) {
    for (int iter = 0; iter < 5000; ++iter) {
      EventPosition a = random_pos(), b = random_pos();
      int got = Sign(CompareSequenceKeys(EncodeSequence(kind, a), EncodeSequence(kind, b)));
      ASSERT_EQ(got, Cmp(tuple(kind, a), tuple(kind, b)))
          << datastream::SourceKindName(kind) << " " << iter;
    }
  }
}

TEST(SequenceLayout, DocumentedWidths) {
  EventPosition p;
  EXPECT_EQ(EncodeSequence(SourceKind::kMySql, p).size(), 42u);
  EXPECT_EQ(EncodeSequence(SourceKind::kPostgres, p).size(), 33u);
  EXPECT_EQ(EncodeSequence(SourceKind::kSqlServer, p).size(), 35u);
  EXPECT_EQ(EncodeSequence(SourceKind::kOracle, p).size(), 65u);
  EXPECT_EQ(EncodeSequence(SourceKind::kUnknown, p).size(), 25u);
}

TEST(SequenceLayout, MySqlBackfillBeforeAnyCdc) {
  EventPosition backfill;
  backfill.backfill = true;
  backfill.source_ts_us = INT64_MAX;  // even a later dump read
  backfill.file_ordinal = 99;
  EventPosition cdc;
  cdc.source_ts_us = INT64_MIN;
  EXPECT_LT(CompareSequenceKeys(EncodeSequence(SourceKind::kMySql, backfill),
                                EncodeSequence(SourceKind::kMySql, cdc)),
            0);
}

TEST(SequenceLayout, UpdateDeleteBeforeUpdateInsertAtSamePosition) {
  for (auto kind : {SourceKind::kMySql, SourceKind::kPostgres, SourceKind::kSqlServer,
                    SourceKind::kOracle, SourceKind::kUnknown}) {
    EventPosition del, ins;
    del.update_delete = true;
    del.row_index = 5;  // arrives after the insert half, still sorts first
    ins.row_index = 4;
    EXPECT_LT(CompareSequenceKeys(EncodeSequence(kind, del), EncodeSequence(kind, ins)), 0)
        << datastream::SourceKindName(kind);
  }
}

TEST(SequenceLayout, SourceKindAndBackfillFromReadMethod) {
  using datastream::IsBackfillReadMethod;
  using datastream::SourceKindFromReadMethod;
  EXPECT_EQ(SourceKindFromReadMethod("mysql-cdc-binlog"), SourceKind::kMySql);
  EXPECT_EQ(SourceKindFromReadMethod("mysql-backfill-fulldump"), SourceKind::kMySql);
  EXPECT_EQ(SourceKindFromReadMethod("postgresql-cdc"), SourceKind::kPostgres);
  EXPECT_EQ(SourceKindFromReadMethod("postgres-cdc-wal"), SourceKind::kPostgres);
  EXPECT_EQ(SourceKindFromReadMethod("postgresql-cdc-logical-decoding"), SourceKind::kPostgres);
  EXPECT_EQ(SourceKindFromReadMethod("oracle-cdc-logminer"), SourceKind::kOracle);
  EXPECT_EQ(SourceKindFromReadMethod("oracle_dump"), SourceKind::kOracle);
  EXPECT_EQ(SourceKindFromReadMethod("sqlserver-cdc"), SourceKind::kSqlServer);
  EXPECT_EQ(SourceKindFromReadMethod("salesforce-cdc"), SourceKind::kUnknown);
  EXPECT_TRUE(IsBackfillReadMethod("mysql-backfill-incremental"));
  EXPECT_TRUE(IsBackfillReadMethod("oracle_dump"));
  EXPECT_TRUE(IsBackfillReadMethod("oracle-backfill"));
  EXPECT_FALSE(IsBackfillReadMethod("oracle-supplementation"));
  EXPECT_FALSE(IsBackfillReadMethod("sqlserver-cdc"));
}

}  // namespace
}  // namespace sluice::sources
