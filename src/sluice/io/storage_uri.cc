#include "sluice/io/storage_uri.h"

namespace sluice::io {

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == '/') ++i;
  return s.substr(i);
}

}  // namespace

bool IsObjectStoreUri(const std::string& uri) {
  auto pos = uri.find("://");
  return pos != std::string::npos && uri.substr(0, pos) != "file";
}

Result<StorageUri> ParseStorageUri(const std::string& uri) {
  StorageUri out;
  auto pos = uri.find("://");
  if (pos == std::string::npos) {
    out.bucket = uri;
    return out;
  }
  std::string scheme = uri.substr(0, pos);
  std::string rest = uri.substr(pos + 3);
  if (scheme == "file") {
    out.bucket = rest;
    return out;
  }
  if (scheme == "s3" || scheme == "s3a") {
    out.kind = StorageKind::kS3;
  } else if (scheme == "gs" || scheme == "gcs") {
    out.kind = StorageKind::kGcs;
  } else if (scheme == "az" || scheme == "azure" || scheme == "abfs" || scheme == "abfss") {
    out.kind = StorageKind::kAzure;
  } else {
    return Status::Invalid("unsupported storage scheme '", scheme, "://' in '", uri,
                           "': use a local path, file://, s3://, gs://, az:// or abfss://");
  }
  auto slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  out.key = slash == std::string::npos ? "" : StripSlashes(rest.substr(slash));
  auto at = host.find('@');
  if (at != std::string::npos) {
    if (out.kind != StorageKind::kAzure) {
      return Status::Invalid("credentials in a URI are not accepted ('", uri,
                             "'): use the standard variables (docs/object_stores.md)");
    }
    out.bucket = host.substr(0, at);
    std::string account_host = host.substr(at + 1);
    out.account = account_host.substr(0, account_host.find('.'));
  } else {
    out.bucket = host;
  }
  if (out.bucket.empty()) return Status::Invalid("no bucket in '", uri, "'");
  if (out.key == ".." || out.key.rfind("../", 0) == 0 ||
      out.key.find("/../") != std::string::npos ||
      (out.key.size() >= 3 && out.key.compare(out.key.size() - 3, 3, "/..") == 0)) {
    return Status::Invalid("'..' is not allowed in object store path '", uri, "'");
  }
  return out;
}

Endpoint ParseEndpoint(const std::string& url) {
  Endpoint e;
  std::string rest = url;
  auto pos = url.find("://");
  if (pos != std::string::npos) {
    e.scheme = url.substr(0, pos);
    rest = url.substr(pos + 3);
  }
  auto slash = rest.find('/');
  e.authority = rest.substr(0, slash);
  if (slash != std::string::npos) e.path = StripSlashes(rest.substr(slash));
  return e;
}

std::map<std::string, std::string> ParseConnectionString(const std::string& s) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(';', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    auto eq = part.find('=');
    if (eq != std::string::npos) {
      // Values (account keys, SAS tokens) may themselves contain '='.
      out[Trim(part.substr(0, eq))] = Trim(part.substr(eq + 1));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace sluice::io
