// Client of a Confluent Schema Registry (its public REST API), for the
// writer schemas of Confluent-framed messages: `GET /schemas/ids/{id}`,
// `GET /schemas/guids/{guid}`, and `GET /subjects/{s}/versions/{v}` for the
// schemas a schema references. Basic auth; TLS through the HTTP client.
//
// Answers, which the source turns into behaviour:
//   OK          the schema (cached: a registered id or GUID never changes,
//               so each is fetched once per process)
//   KeyError    the registry does not know it (404): the message is a dead
//               letter and the consumer goes on; not cached, so a schema
//               registered later is found
//   IOError     the registry cannot be reached, or answers 5xx / 408 / 429,
//               after `max_attempts` tries with exponential backoff: the
//               table waits and retries later
//   Invalid     any other answer (401/403: credentials; a body that is not
//               a schema): a configuration problem, named, not retried
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/formats/confluent/wire_format.h"
#include "sluice/io/http_client.h"

namespace sluice::sources::debezium {

using formats::confluent::SchemaRef;

struct SchemaRegistryOptions {
  std::string url;   ///< base URL, e.g. http://localhost:8081 (a path prefix is kept)
  std::string user;  ///< basic auth when not empty
  std::string password;
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  /// How to wait between attempts (tests replace it).
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// A schema as the registry holds it.
struct RegisteredSchema {
  struct Reference {
    std::string name;  ///< the name the schema uses (an Avro full name)
    std::string subject;
    int32_t version = 0;
  };
  std::string schema;                ///< the schema text
  std::string schema_type = "AVRO";  ///< AVRO (default), JSON or PROTOBUF
  std::vector<Reference> references;
};

class SchemaRegistryClient {
 public:
  SchemaRegistryClient(SchemaRegistryOptions options, std::shared_ptr<io::HttpClient> http);

  /// \brief The schema a message names (see the answers above). Thread-safe.
  Result<std::shared_ptr<const RegisteredSchema>> Get(const SchemaRef& ref);

  /// \brief A subject's version (a reference's target), cached the same way.
  Result<std::shared_ptr<const RegisteredSchema>> GetVersion(const std::string& subject,
                                                             int32_t version);

  /// HTTP requests made so far (cache misses and retries).
  int64_t requests() const;

 private:
  Result<std::shared_ptr<const RegisteredSchema>> Fetch(const std::string& path,
                                                        const std::string& what);

  SchemaRegistryOptions opts_;
  std::shared_ptr<io::HttpClient> http_;
  io::HttpHeaders headers_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const RegisteredSchema>> cache_;  // by path
  int64_t requests_ = 0;
};

/// \brief Standard base64 with padding (for basic auth).
std::string Base64Encode(std::string_view bytes);

}  // namespace sluice::sources::debezium
