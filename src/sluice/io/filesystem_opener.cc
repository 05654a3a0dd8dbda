#include "sluice/io/filesystem_opener.h"

#include <arrow/filesystem/azurefs.h>
#include <arrow/filesystem/gcsfs.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/filesystem/s3fs.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "sluice/io/storage_uri.h"

namespace sluice::io {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string FirstEnv(std::initializer_list<const char*> names) {
  for (const char* n : names) {
    std::string v = Env(n);
    if (!v.empty()) return v;
  }
  return {};
}

Status EnsureS3() {
  // Arrow requires InitializeS3 before the first S3FileSystem, once per
  // process, and FinalizeS3 before exit (else the AWS SDK's threads crash at
  // shutdown).
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] { status = arrow::fs::EnsureS3Initialized(); });
  return status;
}

void FinalizeS3AtExit() {
  // Registered after the first S3FileSystem exists: exit handlers and static
  // destructors run in reverse order, so this runs before the destructors of
  // the SDK state created with that first client.
  static std::once_flag once;
  std::call_once(once, [] { std::atexit([] { (void)arrow::fs::EnsureS3Finalized(); }); });
}

std::string RootOf(const StorageUri& u) {
  return u.key.empty() ? u.bucket : u.bucket + "/" + u.key;
}

Result<std::shared_ptr<arrow::fs::FileSystem>> MakeS3() {
  ARROW_RETURN_NOT_OK(EnsureS3());
  // The AWS SDK's default chain: environment, AWS_PROFILE, web identity,
  // container and instance roles.
  auto options = arrow::fs::S3Options::Defaults();
  std::string endpoint = FirstEnv({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  std::string region = FirstEnv({"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (!endpoint.empty()) {
    Endpoint e = ParseEndpoint(endpoint);
    options.endpoint_override = e.authority;
    if (!e.scheme.empty()) options.scheme = e.scheme;
    // S3-compatible stores are addressed path-style.
    options.force_virtual_addressing = false;
    if (region.empty()) region = "us-east-1";
  }
  if (!region.empty()) options.region = region;
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::S3FileSystem::Make(options));
  FinalizeS3AtExit();
  return std::static_pointer_cast<arrow::fs::FileSystem>(fs);
}

Result<std::shared_ptr<arrow::fs::FileSystem>> MakeGcs() {
  std::string emulator = Env("STORAGE_EMULATOR_HOST");
  arrow::fs::GcsOptions options;
  if (!emulator.empty()) {
    // The emulator takes no credentials.
    options = arrow::fs::GcsOptions::Anonymous();
    Endpoint e = ParseEndpoint(emulator);
    options.endpoint_override = e.authority;
    options.scheme = e.scheme.empty() ? "http" : e.scheme;
  } else {
    // Application-default credentials: GOOGLE_APPLICATION_CREDENTIALS,
    // gcloud's user credentials, the metadata server.
    options = arrow::fs::GcsOptions::Defaults();
  }
  options.retry_limit_seconds = 60;
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::GcsFileSystem::Make(options));
  return std::static_pointer_cast<arrow::fs::FileSystem>(fs);
}

Result<std::shared_ptr<arrow::fs::FileSystem>> MakeAzure(const StorageUri& u) {
  auto conn = ParseConnectionString(Env("AZURE_STORAGE_CONNECTION_STRING"));
  auto get = [&](const char* key) {
    auto it = conn.find(key);
    return it == conn.end() ? std::string() : it->second;
  };
  arrow::fs::AzureOptions options;
  options.account_name = get("AccountName");
  if (options.account_name.empty()) options.account_name = u.account;
  if (options.account_name.empty()) {
    options.account_name = FirstEnv({"AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"});
  }
  if (options.account_name.empty()) {
    return Status::Invalid(
        "no Azure storage account for container '", u.bucket,
        "': set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_NAME, or use "
        "abfss://container@account.dfs.core.windows.net/path");
  }
  std::string endpoint = get("BlobEndpoint");
  if (endpoint.empty()) endpoint = Env("AZURE_STORAGE_BLOB_ENDPOINT");
  if (!endpoint.empty()) {
    // Emulator / custom endpoint: http://host:port/account.
    Endpoint e = ParseEndpoint(endpoint);
    options.blob_storage_authority = e.authority;
    options.dfs_storage_authority = e.authority;
    if (!e.scheme.empty()) {
      options.blob_storage_scheme = e.scheme;
      options.dfs_storage_scheme = e.scheme;
    }
  }
  std::string key = get("AccountKey");
  if (key.empty()) key = FirstEnv({"AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"});
  std::string sas = get("SharedAccessSignature");
  if (sas.empty()) sas = Env("AZURE_STORAGE_SAS_TOKEN");
  if (!key.empty()) {
    ARROW_RETURN_NOT_OK(options.ConfigureAccountKeyCredential(key));
  } else if (!sas.empty()) {
    ARROW_RETURN_NOT_OK(options.ConfigureSASCredential(sas));
  } else {
    // Managed identity, workload identity, environment, Azure CLI.
    ARROW_RETURN_NOT_OK(options.ConfigureDefaultCredential());
  }
  ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::AzureFileSystem::Make(options));
  return std::static_pointer_cast<arrow::fs::FileSystem>(fs);
}

}  // namespace

Result<FileSystemLocation> OpenFileSystem(const std::string& uri) {
  ARROW_ASSIGN_OR_RAISE(StorageUri u, ParseStorageUri(uri));
  FileSystemLocation loc;
  switch (u.kind) {
    case StorageKind::kLocal: {
      std::error_code ec;
      std::filesystem::path abs = std::filesystem::absolute(u.bucket, ec);
      if (ec) return Status::IOError("cannot resolve path '", u.bucket, "': ", ec.message());
      std::string root = abs.lexically_normal().string();
      while (root.size() > 1 && root.back() == '/') root.pop_back();
      loc.fs = std::make_shared<arrow::fs::LocalFileSystem>();
      loc.root = root;
      return loc;
    }
    case StorageKind::kS3: {
      ARROW_ASSIGN_OR_RAISE(loc.fs, MakeS3());
      break;
    }
    case StorageKind::kGcs: {
      ARROW_ASSIGN_OR_RAISE(loc.fs, MakeGcs());
      break;
    }
    case StorageKind::kAzure: {
      ARROW_ASSIGN_OR_RAISE(loc.fs, MakeAzure(u));
      break;
    }
  }
  loc.root = RootOf(u);
  return loc;
}

bool IsObjectStore(const arrow::fs::FileSystem& fs) {
  const std::string type = fs.type_name();
  return type == "s3" || type == "gcs" || type == "abfs";
}

}  // namespace sluice::io
