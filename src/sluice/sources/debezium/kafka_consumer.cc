#include "sluice/sources/debezium/kafka_consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace sluice::sources::debezium {

namespace {

using Clock = std::chrono::steady_clock;

struct PartitionList {
  rd_kafka_topic_partition_list_t* list;
  explicit PartitionList(int size = 1) : list(rd_kafka_topic_partition_list_new(size)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
};

struct Metadata {
  const rd_kafka_metadata_t* md = nullptr;
  ~Metadata() {
    if (md) rd_kafka_metadata_destroy(md);
  }
};

void RebalanceCallback(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<KafkaConsumer*>(opaque)->HandleRebalance(rk, err, partitions);
}

Status Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    return Status::Invalid("source.kafka: librdkafka refuses ", key, " = '", value, "': ", err);
  }
  return Status::OK();
}

std::string Bytes(const void* p, size_t n) {
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

}  // namespace

KafkaConsumer::KafkaConsumer(KafkaSettings settings) : settings_(std::move(settings)) {}

Result<rd_kafka_s*> KafkaConsumer::NewHandle(bool group) const {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto fail = [&](const Status& st) -> Status {
    rd_kafka_conf_destroy(conf);
    return st;
  };
  // Sluice's own settings first; [source.kafka.properties] may override any.
  std::vector<std::pair<std::string, std::string>> kv = {
      {"bootstrap.servers", settings_.bootstrap_servers},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"topic.metadata.refresh.interval.ms", "10000"},
      // Broker trouble reaches the run as errors of the calls that met it;
      // librdkafka's own log (stderr) keeps only critical lines unless
      // [source.kafka.properties] log_level says otherwise.
      {"log_level", "2"},
  };
  if (group) kv.push_back({"group.id", settings_.group_id});
  for (const auto& [k, v] : settings_.properties) kv.push_back({k, v});
  if (!group) {
    // A fetcher assigns partitions itself and never joins the group, but
    // librdkafka's consumer API needs a group id; the configured one is the
    // one the cluster's ACLs allow.
    kv.push_back({"group.id", settings_.group_id.empty() ? "sluice" : settings_.group_id});
    kv.push_back({"enable.partition.eof", "true"});
    kv.push_back({"enable.auto.commit", "false"});
    // A range starting below what retention kept reads from the first
    // offset that exists (source.kafka.start_offset is the user's choice
    // of where new partitions start, not this).
    kv.push_back({"auto.offset.reset", "earliest"});
  }
  for (const auto& [k, v] : kv) {
    if (Status st = Set(conf, k, v); !st.ok()) return fail(st);
  }
  if (group) {
    rd_kafka_conf_set_rebalance_cb(conf, RebalanceCallback);
    rd_kafka_conf_set_opaque(conf, const_cast<KafkaConsumer*>(this));
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (!rk) return fail(Status::Invalid("source.kafka: cannot create a consumer: ", err));
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Open(const KafkaSettings& settings) {
  std::unique_ptr<KafkaConsumer> c(new KafkaConsumer(settings));
  const bool group = !settings.group_id.empty();
  ARROW_ASSIGN_OR_RAISE(c->main_, c->NewHandle(group));
  if (group) {
    PartitionList topics(static_cast<int>(std::max<size_t>(1, settings.topics.size())));
    if (!settings.topic_pattern.empty()) {
      // librdkafka subscribes by regex when the name starts with '^'.
      std::string pattern = settings.topic_pattern;
      if (pattern.front() != '^') pattern = "^" + pattern;
      rd_kafka_topic_partition_list_add(topics.list, pattern.c_str(), RD_KAFKA_PARTITION_UA);
    } else {
      for (const auto& t : settings.topics) {
        rd_kafka_topic_partition_list_add(topics.list, t.c_str(), RD_KAFKA_PARTITION_UA);
      }
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->main_, topics.list);
    if (err) {
      return Status::Invalid("source.kafka: cannot subscribe to ",
                             settings.topic_pattern.empty() ? "the topics" : "the pattern", ": ",
                             rd_kafka_err2str(err));
    }
    c->poller_ = std::thread([raw = c.get()] { raw->PollLoop(); });
  }
  return c;
}

KafkaConsumer::~KafkaConsumer() {
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (main_) {
    rd_kafka_consumer_close(main_);
    rd_kafka_destroy(main_);
  }
  for (rd_kafka_t* rk : idle_fetchers_) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
}

// Serves the group: heartbeats ride librdkafka's own threads, but rebalance
// callbacks and max.poll.interval.ms need a caller of consumer_poll.
void KafkaConsumer::PollLoop() {
  while (!stop_) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(main_, 100);
    if (m) rd_kafka_message_destroy(m);  // paused partitions: errors only
  }
}

void KafkaConsumer::HandleRebalance(rd_kafka_s* rk, int err, void* raw) {
  auto* partitions = static_cast<rd_kafka_topic_partition_list_t*>(raw);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Start at the end and pause: this handle never reads messages.
    for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_END;
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, partitions);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, partitions);
    }
    rd_kafka_pause_partitions(rk, partitions);
    std::lock_guard<std::mutex> lock(assigned_mu_);
    if (!cooperative) assigned_.clear();
    for (int i = 0; i < partitions->cnt; ++i) {
      assigned_[partitions->elems[i].topic].insert(partitions->elems[i].partition);
    }
  } else {
    if (cooperative) {
      rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, partitions);
      if (e) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
    std::lock_guard<std::mutex> lock(assigned_mu_);
    if (!cooperative) {
      assigned_.clear();
    } else {
      for (int i = 0; i < partitions->cnt; ++i) {
        assigned_[partitions->elems[i].topic].erase(partitions->elems[i].partition);
      }
    }
  }
  ++generation_;
}

bool KafkaConsumer::awaiting_assignment() const {
  return !settings_.group_id.empty() && generation_.load() == 0 &&
         Clock::now() - opened_at_ < std::chrono::milliseconds(settings_.timeout_ms);
}

Result<std::vector<std::string>> KafkaConsumer::ListTopics() {
  Metadata md;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(main_, 1, nullptr, &md.md, static_cast<int>(settings_.timeout_ms));
  if (err) {
    return Status::IOError("kafka ", settings_.bootstrap_servers,
                           ": cannot list topics: ", rd_kafka_err2str(err));
  }
  std::vector<std::string> out;
  for (int i = 0; i < md.md->topic_cnt; ++i) {
    const auto& t = md.md->topics[i];
    if (t.err) continue;
    std::string name = t.topic;
    if (name.rfind("__", 0) == 0) continue;
    out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<int32_t>> KafkaConsumer::AllPartitions(const std::string& topic) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(main_, topic.c_str(), nullptr);
  Metadata md;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(main_, 0, rkt, &md.md, static_cast<int>(settings_.timeout_ms));
  rd_kafka_topic_destroy(rkt);
  if (err) {
    return Status::IOError("kafka topic ", topic,
                           ": cannot read its partitions: ", rd_kafka_err2str(err));
  }
  std::vector<int32_t> out;
  for (int i = 0; i < md.md->topic_cnt; ++i) {
    const auto& t = md.md->topics[i];
    if (topic != t.topic || t.err) continue;
    for (int p = 0; p < t.partition_cnt; ++p) out.push_back(t.partitions[p].id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<int32_t>> KafkaConsumer::Partitions(const std::string& topic) {
  if (settings_.group_id.empty()) return AllPartitions(topic);
  std::lock_guard<std::mutex> lock(assigned_mu_);
  auto it = assigned_.find(topic);
  if (it == assigned_.end()) return std::vector<int32_t>{};
  return std::vector<int32_t>(it->second.begin(), it->second.end());
}

Result<Watermarks> KafkaConsumer::QueryWatermarks(const std::string& topic, int32_t partition) {
  Watermarks w;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      main_, topic.c_str(), partition, &w.low, &w.high, static_cast<int>(settings_.timeout_ms));
  if (err) {
    return Status::IOError("kafka ", topic, "/", partition,
                           ": cannot read its offsets: ", rd_kafka_err2str(err));
  }
  return w;
}

Result<std::vector<KafkaMessage>> KafkaConsumer::Fetch(const std::string& topic, int32_t partition,
                                                       int64_t from, int64_t last) const {
  std::vector<KafkaMessage> out;
  if (last < from) return out;
  rd_kafka_t* rk = nullptr;
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_fetchers_.empty()) {
      rk = idle_fetchers_.back();
      idle_fetchers_.pop_back();
    }
  }
  if (!rk) {
    ARROW_ASSIGN_OR_RAISE(rk, NewHandle(/*group=*/false));
  }
  bool healthy = true;
  auto give_back = [&] {
    rd_kafka_assign(rk, nullptr);
    if (healthy) {
      std::lock_guard<std::mutex> lock(pool_mu_);
      idle_fetchers_.push_back(rk);
    } else {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  };
  const std::string where = topic + "/" + std::to_string(partition) + "@" + std::to_string(from) +
                            "-" + std::to_string(last);
  PartitionList list;
  rd_kafka_topic_partition_list_add(list.list, topic.c_str(), partition)->offset = from;
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.list); err) {
    healthy = false;
    give_back();
    return Status::IOError("kafka ", where, ": cannot assign: ", rd_kafka_err2str(err));
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(settings_.timeout_ms);
  Status status;
  bool done = false;
  while (!done) {
    if (Clock::now() > deadline) {
      status = Status::IOError("kafka ", where, ": messages not fetched within ",
                               settings_.timeout_ms, " ms");
      healthy = false;
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The end of what exists: the range holds nothing more.
      if (m->partition == partition) done = true;
    } else if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT && m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        status = Status::IOError("kafka ", where, ": ", rd_kafka_message_errstr(m));
        healthy = false;
        done = true;
      }
    } else if (m->offset > last) {
      done = true;
    } else if (m->offset >= from) {
      KafkaMessage msg;
      msg.topic = topic;
      msg.partition = partition;
      msg.offset = m->offset;
      rd_kafka_timestamp_type_t type;
      int64_t ts = rd_kafka_message_timestamp(m, &type);
      msg.timestamp_ms = ts < 0 ? 0 : ts;
      if (m->key) msg.key = Bytes(m->key, m->key_len);
      if (m->payload) msg.value = Bytes(m->payload, m->len);
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          msg.headers.emplace_back(
              name, value ? std::optional<std::string>(Bytes(value, size)) : std::nullopt);
        }
      }
      out.push_back(std::move(msg));
      if (m->offset == last) done = true;
    }
    rd_kafka_message_destroy(m);
  }
  give_back();
  ARROW_RETURN_NOT_OK(status);
  return out;
}

void KafkaConsumer::CommitOffsets(const std::string& topic,
                                  const std::map<int32_t, int64_t>& next) {
  if (settings_.group_id.empty() || next.empty()) return;
  PartitionList list(static_cast<int>(next.size()));
  for (const auto& [p, offset] : next) {
    rd_kafka_topic_partition_list_add(list.list, topic.c_str(), p)->offset = offset;
  }
  rd_kafka_commit(main_, list.list, /*async=*/1);
}

}  // namespace sluice::sources::debezium
