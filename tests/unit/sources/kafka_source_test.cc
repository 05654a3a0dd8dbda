// The Kafka side of the Debezium source (sources/debezium/kafka_source.h)
// against librdkafka's mock cluster: units per partition from a position,
// positions as txn offsets, restore, re-decoding a unit, planned batches,
// topics found by a pattern, and a consumer group splitting partitions.
#include "sluice/sources/debezium/kafka_source.h"

#include <arrow/api.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <set>
#include <thread>

#include "sluice/sources/debezium/kafka_settings.h"

namespace sluice::sources::debezium {
namespace {

// A decoder that turns each message into one row (partition, offset, key,
// value, headers) of table inv.t, so tests see exactly what was fetched.
class RowPerMessage : public MessageDecoder {
 public:
  Result<DecodedUnit> Decode(const std::vector<KafkaMessage>& messages,
                             const DecodeContext&) const override {
    arrow::Int32Builder partition;
    arrow::Int64Builder offset;
    arrow::StringBuilder key, value, headers;
    for (const auto& m : messages) {
      ARROW_RETURN_NOT_OK(partition.Append(m.partition));
      ARROW_RETURN_NOT_OK(offset.Append(m.offset));
      ARROW_RETURN_NOT_OK(m.key ? key.Append(*m.key) : key.AppendNull());
      ARROW_RETURN_NOT_OK(m.value ? value.Append(*m.value) : value.AppendNull());
      std::string h;
      for (const auto& [name, v] : m.headers) h += name + "=" + v.value_or("<null>") + ";";
      ARROW_RETURN_NOT_OK(headers.Append(h));
    }
    auto schema = arrow::schema(
        {arrow::field("partition", arrow::int32()), arrow::field("offset", arrow::int64()),
         arrow::field("key", arrow::utf8()), arrow::field("value", arrow::utf8()),
         arrow::field("headers", arrow::utf8())});
    std::vector<std::shared_ptr<arrow::Array>> cols(5);
    ARROW_RETURN_NOT_OK(partition.Finish(&cols[0]));
    ARROW_RETURN_NOT_OK(offset.Finish(&cols[1]));
    ARROW_RETURN_NOT_OK(key.Finish(&cols[2]));
    ARROW_RETURN_NOT_OK(value.Finish(&cols[3]));
    ARROW_RETURN_NOT_OK(headers.Finish(&cols[4]));
    DecodedUnit out;
    TableChanges t;
    t.table = {"inv", "t"};
    t.batches.push_back(arrow::RecordBatch::Make(schema, messages.size(), cols));
    out.tables.push_back(std::move(t));
    return out;
  }
};

// One mock cluster per test, with a producer on it.
class MockKafka {
 public:
  MockKafka() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof(err));
    rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof(err));
    producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_handle_mock_cluster(producer_);
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockKafka() { rd_kafka_destroy(producer_); }

  const std::string& bootstraps() const { return bootstraps_; }

  void CreateTopic(const std::string& topic, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }

  // Produces `value` (nullopt: a tombstone) to topic/partition, waits for it.
  void Produce(const std::string& topic, int32_t partition, const std::string& key,
               const std::optional<std::string>& value, const std::string& header = "") {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    if (!header.empty()) rd_kafka_header_add(headers, "h", -1, header.data(), header.size());
    void* payload = value ? const_cast<char*>(value->data()) : nullptr;
    size_t size = value ? value->size() : 0;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(payload, size),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(rd_kafka_flush(producer_, 10'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  }

 private:
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

SourceOptions Options(const MockKafka& kafka, std::map<std::string, std::string> extra) {
  SourceOptions o;
  o.kind = "debezium";
  o.format = "json";
  o.settings["kafka.bootstrap_servers"] = kafka.bootstraps();
  o.settings["kafka.timeout_ms"] = "10000";
  for (auto& [k, v] : extra) o.settings[k] = v;
  return o;
}

std::vector<std::string> Names(const std::vector<Unit>& units) {
  std::vector<std::string> out;
  for (const auto& u : units) out.push_back(u.name);
  return out;
}

// "p@offset=value" for every row a unit decodes to.
std::vector<std::string> Rows(const Stream& stream, const Unit& unit) {
  auto decoded = stream.Decode(unit, {});
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  std::vector<std::string> out;
  if (!decoded.ok()) return out;
  for (const auto& t : decoded->tables) {
    for (const auto& b : t.batches) {
      auto p = std::static_pointer_cast<arrow::Int32Array>(b->column(0));
      auto o = std::static_pointer_cast<arrow::Int64Array>(b->column(1));
      auto v = std::static_pointer_cast<arrow::StringArray>(b->column(3));
      auto h = std::static_pointer_cast<arrow::StringArray>(b->column(4));
      for (int64_t i = 0; i < b->num_rows(); ++i) {
        out.push_back(std::to_string(p->Value(i)) + "@" + std::to_string(o->Value(i)) + "=" +
                      (v->IsNull(i) ? "<tombstone>" : v->GetString(i)) +
                      (h->GetString(i).empty() ? "" : " " + h->GetString(i)));
      }
    }
  }
  return out;
}

std::vector<Position::Offset> Offsets(std::initializer_list<Position::Offset> o) { return o; }

TEST(KafkaUnitName, RoundTripsAndRefusesOtherText) {
  UnitRange r{"dbserver1.inv.customers", 3, 10, 19};
  EXPECT_EQ(r.Name(), "dbserver1.inv.customers/3@10-19");
  auto back = ParseUnitName(r.Name());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->topic, r.topic);
  EXPECT_EQ(back->partition, 3);
  EXPECT_EQ(back->from, 10);
  EXPECT_EQ(back->last, 19);
  EXPECT_FALSE(ParseUnitName("a/b/c").ok());
  EXPECT_FALSE(ParseUnitName("t/0@5-4").ok());
  EXPECT_FALSE(ParseUnitName("t/x@1-2").ok());
}

TEST(KafkaSettings, ChecksWhatItNeeds) {
  EXPECT_FALSE(ParseKafkaSettings({{"kafka.topics", "a"}}).ok());               // no servers
  EXPECT_FALSE(ParseKafkaSettings({{"kafka.bootstrap_servers", "h:1"}}).ok());  // no topics
  EXPECT_FALSE(ParseKafkaSettings({{"kafka.bootstrap_servers", "h:1"},
                                   {"kafka.topics", "a"},
                                   {"kafka.topic_pattern", "a.*"}})
                   .ok());
  EXPECT_FALSE(
      ParseKafkaSettings({{"kafka.bootstrap_servers", "h:1"}, {"kafka.topic_pattern", "a(["}})
          .ok());
  EXPECT_FALSE(ParseKafkaSettings(
                   {{"kafka.bootstrap_servers", "h:1"}, {"kafka.topics", "a"}, {"kafka.x", "1"}})
                   .ok());
  auto s = ParseKafkaSettings({{"kafka.bootstrap_servers", "h:1"},
                               {"kafka.topics", "a, b"},
                               {"kafka.properties.security.protocol", "SASL_SSL"},
                               {"debezium.envelope", "auto"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s->properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(s->max_bytes_per_unit, 64 << 20);
  EXPECT_FALSE(ParseKafkaSettings({{"kafka.bootstrap_servers", "h:1"},
                                   {"kafka.topics", "a"},
                                   {"kafka.max_bytes_per_unit", "0"}})
                   .ok());
}

TEST(KafkaSource, RefusesAPropertyLibrdkafkaRefuses) {
  MockKafka kafka;
  auto source = MakeKafkaSource(
      Options(kafka, {{"kafka.topics", "t"}, {"kafka.properties.no.such.property", "1"}}),
      std::make_shared<RowPerMessage>());
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find("no.such.property"), std::string::npos);
}

TEST(KafkaSource, UnitsPositionsAndRestore) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.t", 2);
  for (int i = 0; i < 5; ++i)
    kafka.Produce("db.inv.t", 0, "k" + std::to_string(i), "a" + std::to_string(i));
  kafka.Produce("db.inv.t", 1, "k", "b0", "x");
  kafka.Produce("db.inv.t", 1, "k", std::nullopt);
  kafka.Produce("db.inv.t", 1, "k", "b2");

  auto source = MakeKafkaSource(
      Options(kafka, {{"kafka.topics", "db.inv.t,other"}, {"kafka.max_messages_per_unit", "2"}}),
      std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto topics = (*source)->Discover();
  ASSERT_TRUE(topics.ok()) << topics.status().ToString();
  EXPECT_EQ(*topics, std::vector<std::string>{"db.inv.t"});  // "other" does not exist

  auto stream = (*source)->OpenStream("db.inv.t");
  ASSERT_TRUE(stream.ok());
  Stream& s = **stream;
  auto table = s.Identify();
  ASSERT_TRUE(table.ok() && *table);
  EXPECT_EQ((*table)->Qualified(), "inv.t");
  EXPECT_FALSE(s.routes_many());

  ASSERT_TRUE(s.Restore(std::nullopt).ok());
  EXPECT_EQ(s.lag_messages(), std::nullopt);  // no watermarks asked yet
  auto units = s.Pending(10);
  ASSERT_TRUE(units.ok()) << units.status().ToString();
  EXPECT_EQ(s.lag_messages(), 8);  // 5 + 3 messages, none committed
  EXPECT_EQ(s.pending_count(), 0);
  EXPECT_EQ(Names(*units),
            (std::vector<std::string>{"db.inv.t/0@0-1", "db.inv.t/1@0-1", "db.inv.t/0@2-3",
                                      "db.inv.t/1@2-2", "db.inv.t/0@4-4"}));
  EXPECT_EQ(Rows(s, (*units)[1]), (std::vector<std::string>{"1@0=b0 h=x;", "1@1=<tombstone>"}));
  // A unit decodes to the same messages every time.
  EXPECT_EQ(Rows(s, (*units)[0]), (std::vector<std::string>{"0@0=a0", "0@1=a1"}));
  EXPECT_EQ(Rows(s, (*units)[0]), Rows(s, (*units)[0]));

  // At most max units, and a prefix-closed run gives the position.
  auto two = s.Pending(2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(Names(*two), (std::vector<std::string>{"db.inv.t/0@0-1", "db.inv.t/1@0-1"}));
  EXPECT_EQ(s.pending_count(), 3);  // the ranges listed and not taken
  auto pos = s.PositionAfter(*two);
  ASSERT_TRUE(pos.ok()) << pos.status().ToString();
  EXPECT_EQ(pos->offsets, Offsets({{"", 1}, {"#0", 2}, {"#1", 2}}));
  EXPECT_EQ(pos->key(), 1);
  // A unit that does not follow the position is refused.
  EXPECT_FALSE(s.PositionAfter({(*units)[2], (*units)[2]}).ok());

  s.Advance(*pos);
  EXPECT_EQ(s.lag_messages(), 4);  // the consumer lag moves with each commit
  auto rest = s.Pending(10);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Names(*rest),
            (std::vector<std::string>{"db.inv.t/0@2-3", "db.inv.t/1@2-2", "db.inv.t/0@4-4"}));
  auto end = s.PositionAfter(*rest);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->offsets, Offsets({{"", 2}, {"#0", 5}, {"#1", 3}}));

  // Restore from what the tables hold: the units after it, nothing before.
  Position committed;
  committed.offsets = {{"", 7}, {"#0", 3}, {"#1", 1}};
  ASSERT_TRUE(s.Restore(committed).ok());
  auto after = s.Pending(10);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Names(*after), (std::vector<std::string>{"db.inv.t/0@3-4", "db.inv.t/1@1-2"}));
  EXPECT_EQ(Rows(s, (*after)[1]), (std::vector<std::string>{"1@1=<tombstone>", "1@2=b2"}));
  auto p8 = s.PositionAfter(*after);
  ASSERT_TRUE(p8.ok());
  EXPECT_EQ(p8->offsets, Offsets({{"", 8}, {"#0", 5}, {"#1", 3}}));

  // Nothing new: no units.
  s.Advance(*p8);
  auto none = s.Pending(10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(s.lag_messages(), 0);
  EXPECT_FALSE(s.waiting());
  kafka.Produce("db.inv.t", 1, "k", "b3");
  auto more = s.Pending(10);
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(Names(*more), std::vector<std::string>{"db.inv.t/1@3-3"});
  EXPECT_EQ(s.lag_messages(), 1);
}

TEST(KafkaSource, PlannedRebuildsABatchFromItsStoredPosition) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.t", 2);
  for (int i = 0; i < 4; ++i) kafka.Produce("db.inv.t", i % 2, "k", "v" + std::to_string(i));
  auto source = MakeKafkaSource(Options(kafka, {{"kafka.topics", "db.inv.t"}}),
                                std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok());
  auto planner = (*source)->OpenStream("db.inv.t");
  auto other = (*source)->OpenStream("db.inv.t");
  ASSERT_TRUE(planner.ok() && other.ok());
  Position committed;
  committed.offsets = {{"", 4}, {"#0", 1}};
  ASSERT_TRUE((*planner)->Restore(committed).ok());
  ASSERT_TRUE((*other)->Restore(committed).ok());
  auto units = (*planner)->Pending(10);
  ASSERT_TRUE(units.ok());
  EXPECT_EQ(Names(*units), (std::vector<std::string>{"db.inv.t/0@1-1", "db.inv.t/1@0-1"}));
  auto planned = (*planner)->PositionAfter(*units);
  ASSERT_TRUE(planned.ok());

  // As the pipeline reads it back: the key and the stored state.
  Position stored;
  stored.offsets = {{"", planned->key()}};
  stored.state = planned->state;
  auto rebuilt = (*other)->Planned(stored);
  ASSERT_TRUE(rebuilt.ok());
  ASSERT_EQ(rebuilt->base, PlannedBatch::Base::kHere);
  EXPECT_EQ(Names(rebuilt->units), Names(*units));
  // The same units give the same position in another process.
  auto again = (*other)->PositionAfter(rebuilt->units);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->offsets, planned->offsets);
  EXPECT_EQ(again->state, planned->state);

  // Planned from another position: stale.
  Position moved;
  moved.offsets = {{"", 5}, {"#0", 2}};
  ASSERT_TRUE((*other)->Restore(moved).ok());
  auto stale = (*other)->Planned(stored);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->base, PlannedBatch::Base::kStale);
  // Also when only the partition offsets differ.
  Position same_seq;
  same_seq.offsets = {{"", 4}, {"#0", 0}};
  ASSERT_TRUE((*other)->Restore(same_seq).ok());
  auto stale2 = (*other)->Planned(stored);
  ASSERT_TRUE(stale2.ok());
  EXPECT_EQ(stale2->base, PlannedBatch::Base::kStale);
}

TEST(KafkaSource, StartsNewPartitionsAtTheEndWhenAskedTo) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.t", 1);
  kafka.Produce("db.inv.t", 0, "k", "old");
  auto source = MakeKafkaSource(
      Options(kafka, {{"kafka.topics", "db.inv.t"}, {"kafka.start_offset", "latest"}}),
      std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok());
  auto stream = (*source)->OpenStream("db.inv.t");
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->Restore(std::nullopt).ok());
  auto none = (*stream)->Pending(10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  kafka.Produce("db.inv.t", 0, "k", "new");
  auto units = (*stream)->Pending(10);
  ASSERT_TRUE(units.ok());
  ASSERT_EQ(Names(*units), std::vector<std::string>{"db.inv.t/0@1-1"});
  EXPECT_EQ(Rows(**stream, (*units)[0]), std::vector<std::string>{"0@1=new"});
}

TEST(KafkaSource, FindsNewTopicsMatchingThePattern) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.a", 1);
  kafka.CreateTopic("elsewhere", 1);
  auto source = MakeKafkaSource(Options(kafka, {{"kafka.topic_pattern", "db\\..*"}}),
                                std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto first = (*source)->Discover();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, std::vector<std::string>{"db.inv.a"});
  kafka.CreateTopic("db.inv.b", 1);
  auto second = (*source)->Discover();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, (std::vector<std::string>{"db.inv.a", "db.inv.b"}));
}

TEST(KafkaSource, RoutesByRecordWhenConfigured) {
  MockKafka kafka;
  kafka.CreateTopic("all_tables", 1);
  auto source = MakeKafkaSource(
      Options(kafka, {{"kafka.topics", "all_tables"}, {"debezium.route_by", "source"}}),
      std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok());
  auto stream = (*source)->OpenStream("all_tables");
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE((*stream)->routes_many());
  auto table = (*stream)->Identify();
  ASSERT_TRUE(table.ok());
  EXPECT_FALSE(*table);
}

// Offsets without a message (compaction, transaction markers, messages
// deleted by retention) are simply absent from a unit: a range that ends on
// such offsets still completes at the partition's end, and one starting
// below the first offset that exists reads from there.
TEST(KafkaSource, ARangeCoversWhateverExistsInIt) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.t", 1);
  for (int i = 0; i < 3; ++i) kafka.Produce("db.inv.t", 0, "k", "m" + std::to_string(i));
  auto source = MakeKafkaSource(Options(kafka, {{"kafka.topics", "db.inv.t"}}),
                                std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok());
  auto stream = (*source)->OpenStream("db.inv.t");
  ASSERT_TRUE(stream.ok());
  Unit beyond;
  beyond.name = "db.inv.t/0@1-9";  // offsets 3..9 hold nothing (yet)
  EXPECT_EQ(Rows(**stream, beyond), (std::vector<std::string>{"0@1=m1", "0@2=m2"}));
  Unit empty;
  empty.name = "db.inv.t/0@5-9";
  EXPECT_TRUE(Rows(**stream, empty).empty());
  Unit other;
  other.name = "elsewhere/0@0-1";
  EXPECT_FALSE((*stream)->Decode(other, {}).ok());
}

TEST(KafkaSource, UnitsSpanTheByteBudgetAtTheSizeOfRecordsFetched) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.t", 1);
  // 40 records of 100 bytes (key "k" + 99-byte value), then 20 of 1,000.
  for (int i = 0; i < 40; ++i) kafka.Produce("db.inv.t", 0, "k", std::string(99, 'a'));
  for (int i = 0; i < 20; ++i) kafka.Produce("db.inv.t", 0, "k", std::string(999, 'b'));
  auto source = MakeKafkaSource(Options(kafka, {{"kafka.topics", "db.inv.t"},
                                                {"kafka.max_bytes_per_unit", "1000"},
                                                {"kafka.max_messages_per_unit", "15"}}),
                                std::make_shared<RowPerMessage>());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto stream = (*source)->OpenStream("db.inv.t");
  ASSERT_TRUE(stream.ok());
  Stream& s = **stream;
  ASSERT_TRUE(s.Restore(std::nullopt).ok());
  // Nothing decoded yet: the count bound.
  auto first = s.Pending(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Names(*first), std::vector<std::string>{"db.inv.t/0@0-14"});
  EXPECT_EQ(Rows(s, (*first)[0]).size(), 15u);
  // 100-byte records: 10 a unit (1,000 bytes), and the backlog counted in them.
  auto next = s.Pending(2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Names(*next), (std::vector<std::string>{"db.inv.t/0@0-9", "db.inv.t/0@10-19"}));
  EXPECT_EQ(s.pending_count(), 4);  // 60 offsets, 10 a unit, 2 taken
  auto advanced = s.PositionAfter(*next);
  ASSERT_TRUE(advanced.ok());
  s.Advance(*advanced);
  // The larger records are fetched: units shrink to what fits the budget.
  Unit big;
  big.name = "db.inv.t/0@40-44";
  EXPECT_EQ(Rows(s, big).size(), 5u);
  auto after = s.Pending(1);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  auto range = ParseUnitName((*after)[0].name);
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->from, 20);
  EXPECT_EQ(range->last - range->from + 1, 1);  // (100 + 1,000) / 2 bytes a record
}

std::set<int32_t> WaitForPartitions(Source& source, Stream& stream, size_t n) {
  (void)source;
  std::set<int32_t> got;
  for (int i = 0; i < 300; ++i) {
    auto units = stream.Pending(100);
    got.clear();
    if (units.ok()) {
      for (const auto& u : *units) got.insert(ParseUnitName(u.name)->partition);
    }
    if (got.size() == n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

TEST(KafkaSource, AGroupSplitsPartitionsBetweenProcesses) {
  MockKafka kafka;
  kafka.CreateTopic("db.inv.t", 4);
  for (int p = 0; p < 4; ++p) kafka.Produce("db.inv.t", p, "k", "v");
  auto options = Options(kafka, {{"kafka.topics", "db.inv.t"},
                                 {"kafka.group_id", "g"},
                                 {"kafka.properties.session.timeout.ms", "6000"},
                                 {"kafka.properties.heartbeat.interval.ms", "200"}});
  auto a = MakeKafkaSource(options, std::make_shared<RowPerMessage>());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto sa = (*a)->OpenStream("db.inv.t");
  ASSERT_TRUE(sa.ok());
  ASSERT_TRUE((*sa)->Restore(std::nullopt).ok());
  // Alone in the group: every partition.
  EXPECT_EQ(WaitForPartitions(**a, **sa, 4).size(), 4u);
  EXPECT_FALSE((*sa)->waiting());  // assigned: a drain-and-exit run may stop

  auto b = MakeKafkaSource(options, std::make_shared<RowPerMessage>());
  ASSERT_TRUE(b.ok());
  auto sb = (*b)->OpenStream("db.inv.t");
  ASSERT_TRUE(sb.ok());
  ASSERT_TRUE((*sb)->Restore(std::nullopt).ok());
  // After the rebalance: two each, together all four.
  auto in_b = WaitForPartitions(**b, **sb, 2);
  auto in_a = WaitForPartitions(**a, **sa, 2);
  EXPECT_EQ(in_a.size(), 2u);
  EXPECT_EQ(in_b.size(), 2u);
  std::set<int32_t> all = in_a;
  all.insert(in_b.begin(), in_b.end());
  EXPECT_EQ(all.size(), 4u);

  // One leaves: the other takes its partitions again, from the position it
  // restored (the tables'), not from Kafka's committed offsets.
  sb->reset();
  b->reset();
  EXPECT_EQ(WaitForPartitions(**a, **sa, 4).size(), 4u);
}

}  // namespace
}  // namespace sluice::sources::debezium
