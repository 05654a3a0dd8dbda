// libFuzzer target: arbitrary bytes through the Debezium Avro reader
// (formats/debezium/avro_record_reader.h) and the Avro -> Connect schema
// conversion (formats/connect/avro_connect_schema.h). Input layout: the
// text of the writer schema registered as id 9, a NUL byte, then messages,
// each [kind byte][2-byte big-endian length][bytes]: kind bit 0 makes it a
// tombstone, bit 1 adds a __value_schema_id header naming id (kind >> 2) & 15.
// Without a NUL the whole input is messages and id 9 is unknown. Ids 1 and 2
// are fixed AvroConverter schemas (an envelope and every Connect type); any
// other id is unknown to the registry. Any crash, sanitizer report, Decode()
// error, invalid batch, or a message accounted for other than once is a bug.
// Seed corpus: tests/data/fuzz/debezium_avro.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decoded_records_check.h"
#include "sluice/formats/debezium/avro_record_reader.h"

using sluice::Result;
using sluice::Status;
using sluice::formats::confluent::SchemaRef;
using sluice::formats::debezium::AvroRecordReader;

namespace {

const char* kEnvelope = R"({"type":"record","name":"Envelope","namespace":"db.inv.t",
 "connect.name":"db.inv.t.Envelope","connect.version":2,"fields":[
 {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
   {"name":"id","type":"int"},
   {"name":"email","type":["null","string"],"default":null},
   {"name":"price","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2,
     "connect.name":"org.apache.kafka.connect.data.Decimal",
     "connect.parameters":{"scale":"2","connect.decimal.precision":"10"}}],"default":null},
   {"name":"n","type":["null",{"type":"record","name":"VariableScaleDecimal","namespace":"io.debezium.data",
     "connect.name":"io.debezium.data.VariableScaleDecimal",
     "fields":[{"name":"scale","type":"int"},{"name":"value","type":"bytes"}]}],"default":null},
   {"name":"created","type":["null",{"type":"long","connect.name":"io.debezium.time.MicroTimestamp"}],"default":null},
   {"name":"updated","type":["null",{"type":"string","connect.name":"io.debezium.time.ZonedTimestamp"}],"default":null},
   {"name":"born","type":["null",{"type":"int","connect.name":"io.debezium.time.Date"}],"default":null},
   {"name":"wake","type":["null",{"type":"long","connect.name":"io.debezium.time.MicroTime"}],"default":null},
   {"name":"tags","type":["null",{"type":"array","items":["null","string"]}],"default":null}],
   "connect.name":"db.inv.t.Value"}],"default":null},
 {"name":"after","type":["null","Value"],"default":null},
 {"name":"op","type":"string"},
 {"name":"ts_ms","type":["null","long"],"default":null}]})";

const char* kTypes = R"({"type":"record","name":"T","fields":[
 {"name":"i8","type":{"type":"int","connect.type":"int8"}},
 {"name":"i16","type":{"type":"int","connect.type":"int16"}},
 {"name":"t","type":{"type":"int","connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}},
 {"name":"nt","type":{"type":"long","connect.name":"io.debezium.time.NanoTime"}},
 {"name":"wide","type":{"type":"bytes","connect.name":"org.apache.kafka.connect.data.Decimal",
   "connect.parameters":{"scale":"3","connect.decimal.precision":"50"}}},
 {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
 {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
 {"name":"m","type":{"type":"map","values":["null","long"]}},
 {"name":"me","type":{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro",
   "fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}},
 {"name":"f","type":"float"},{"name":"g","type":"double"},{"name":"b","type":"boolean"},
 {"name":"opt","type":["string","null"],"default":"x"}]})";

void Drain(AvroRecordReader& reader, const std::vector<std::optional<std::string_view>>& in,
           const std::vector<std::vector<std::string_view>>& headers) {
  sluice::fuzz::CheckDecodedRecords(reader.Decode(in, headers), in.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::optional<std::string> schema9;
  size_t pos = 0;
  const auto nul = all.find('\0');
  if (nul != std::string_view::npos) {
    schema9 = std::string(all.substr(0, nul));
    pos = nul + 1;
  }
  std::vector<std::optional<std::string_view>> messages;
  std::vector<std::vector<std::string_view>> headers;
  std::vector<std::string> header_bytes;
  header_bytes.reserve(size);  // views into it stay valid
  while (pos + 3 <= size) {
    const uint8_t kind = data[pos];
    const size_t len = (size_t{data[pos + 1]} << 8) | data[pos + 2];
    pos += 3;
    const size_t take = std::min(len, size - pos);
    if (kind & 1) {
      messages.emplace_back(std::nullopt);
    } else {
      messages.emplace_back(all.substr(pos, take));
    }
    pos += take;
    headers.emplace_back();
    if (kind & 2) {
      header_bytes.push_back(SchemaRef::FromId((kind >> 2) & 15).Prefix());
      headers.back().push_back(header_bytes.back());
    }
  }
  auto resolver = [&](const SchemaRef& ref) -> Result<std::string> {
    if (!ref.is_guid() && ref.id() == 1) return std::string(kEnvelope);
    if (!ref.is_guid() && ref.id() == 2) return std::string(kTypes);
    if (!ref.is_guid() && ref.id() == 9 && schema9) return *schema9;
    return Status::KeyError("unknown ", ref.ToString());
  };
  AvroRecordReader reader(resolver);
  Drain(reader, messages, headers);
  Drain(reader, messages, headers);  // again, with the schemas cached
  return 0;
}
