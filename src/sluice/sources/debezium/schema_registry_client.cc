#include "sluice/sources/debezium/schema_registry_client.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

namespace sluice::sources::debezium {

using formats::confluent::SchemaRef;

namespace {

// Path segment escaping (RFC 3986 unreserved characters stay).
std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool Retryable(int status) { return status >= 500 || status == 408 || status == 429; }

std::string Excerpt(const std::string& body) {
  return body.size() > 300 ? body.substr(0, 300) + "..." : body;
}

Result<std::shared_ptr<const RegisteredSchema>> ParseSchema(const std::string& body,
                                                            const std::string& what) {
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("schema") ||
      !doc["schema"].is_string()) {
    return Status::Invalid("schema registry: the answer for ", what,
                           " is not a schema: ", Excerpt(body));
  }
  auto out = std::make_shared<RegisteredSchema>();
  out->schema = doc["schema"].get<std::string>();
  if (doc.contains("schemaType") && doc["schemaType"].is_string()) {
    out->schema_type = doc["schemaType"].get<std::string>();
  }
  if (doc.contains("references") && doc["references"].is_array()) {
    for (const auto& r : doc["references"]) {
      if (!r.is_object() || !r.contains("name") || !r["name"].is_string() ||
          !r.contains("subject") || !r["subject"].is_string() || !r.contains("version") ||
          !r["version"].is_number_integer()) {
        return Status::Invalid("schema registry: a bad reference in the answer for ", what, ": ",
                               Excerpt(body));
      }
      out->references.push_back({r["name"].get<std::string>(), r["subject"].get<std::string>(),
                                 r["version"].get<int32_t>()});
    }
  }
  return std::shared_ptr<const RegisteredSchema>(std::move(out));
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (i + 1 < bytes.size()) v |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

SchemaRegistryClient::SchemaRegistryClient(SchemaRegistryOptions options,
                                           std::shared_ptr<io::HttpClient> http)
    : opts_(std::move(options)), http_(std::move(http)) {
  while (!opts_.url.empty() && opts_.url.back() == '/') opts_.url.pop_back();
  if (!opts_.sleep)
    opts_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  opts_.max_attempts = std::max(1, opts_.max_attempts);
  headers_.emplace_back("Accept", "application/vnd.schemaregistry.v1+json, application/json");
  if (!opts_.user.empty()) {
    headers_.emplace_back("Authorization",
                          "Basic " + Base64Encode(opts_.user + ":" + opts_.password));
  }
}

Result<std::shared_ptr<const RegisteredSchema>> SchemaRegistryClient::Get(const SchemaRef& ref) {
  const std::string path = ref.is_guid() ? "/schemas/guids/" + ref.GuidText()
                                         : "/schemas/ids/" + std::to_string(ref.id());
  return Fetch(path, ref.ToString());
}

Result<std::shared_ptr<const RegisteredSchema>> SchemaRegistryClient::GetVersion(
    const std::string& subject, int32_t version) {
  return Fetch("/subjects/" + Escape(subject) + "/versions/" + std::to_string(version),
               "subject " + subject + " version " + std::to_string(version));
}

int64_t SchemaRegistryClient::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

Result<std::shared_ptr<const RegisteredSchema>> SchemaRegistryClient::Fetch(
    const std::string& path, const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(path);
    if (it != cache_.end()) return it->second;
  }
  const std::string url = opts_.url + path;
  auto backoff = opts_.initial_backoff;
  std::string last;
  for (int attempt = 1; attempt <= opts_.max_attempts; ++attempt) {
    if (attempt > 1) {
      opts_.sleep(backoff);
      backoff = std::min(backoff * 2, opts_.max_backoff);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++requests_;
    }
    auto response = http_->Get(url, headers_);
    if (!response.ok()) {
      last = response.status().message();
      continue;
    }
    if (response->status == 200) {
      ARROW_ASSIGN_OR_RAISE(auto schema, ParseSchema(response->body, what));
      std::lock_guard<std::mutex> lock(mu_);
      cache_.emplace(path, schema);
      return schema;
    }
    if (response->status == 404) {
      return Status::KeyError("schema registry ", opts_.url, " does not know ", what, ": ",
                              Excerpt(response->body));
    }
    if (!Retryable(response->status)) {
      return Status::Invalid("schema registry ", opts_.url, " answered ", response->status, " for ",
                             what, ": ", Excerpt(response->body));
    }
    last = "HTTP " + std::to_string(response->status) + ": " + Excerpt(response->body);
  }
  return Status::IOError("schema registry ", opts_.url, ": ", what, " not fetched after ",
                         opts_.max_attempts, " attempts; last: ", last);
}

}  // namespace sluice::sources::debezium
