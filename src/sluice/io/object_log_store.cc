#include "sluice/io/object_log_store.h"

#include <charconv>

#include "sluice/io/objstore_ffi.h"
#include "sluice/io/storage_uri.h"

namespace sluice::io {

namespace {

/// Maps a C ABI code and message to a Status, freeing the message.
Status ToStatus(int32_t code, char* err) {
  std::string message = err != nullptr ? err : "unknown object store error";
  sluice_os_free(err);
  switch (code) {
    case kSluiceOsOk:
      return Status::OK();
    case kSluiceOsNotFound:
      return Status::KeyError("not found: ", message);
    case kSluiceOsAlreadyExists:
      return Status::AlreadyExists(message);
    case kSluiceOsInvalid:
      return Status::Invalid(message);
    case kSluiceOsUnauthorized:
      return Status(arrow::StatusCode::IOError, message, std::make_shared<AccessRefusedDetail>());
    default:
      return Status::IOError(message);
  }
}

bool ParseInt(std::string_view s, int64_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string TakeText(uint8_t* buf, size_t len) {
  std::string text(reinterpret_cast<const char*>(buf), len);
  sluice_os_free_bytes(buf, len);
  return text;
}

}  // namespace

Result<FileEntry> ParseListingLine(std::string_view line) {
  auto t1 = line.find('\t');
  auto t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
  if (t2 == std::string_view::npos) {
    return Status::Invalid("malformed listing line '", std::string(line), "'");
  }
  FileEntry e;
  if (!ParseInt(line.substr(0, t1), &e.size) ||
      !ParseInt(line.substr(t1 + 1, t2 - t1 - 1), &e.modification_time_ms)) {
    return Status::Invalid("malformed listing line '", std::string(line), "'");
  }
  e.path = std::string(line.substr(t2 + 1));
  return e;
}

// The C ABI's listing text, one entry a line.
static Result<std::vector<FileEntry>> ParseListing(const std::string& text) {
  std::vector<FileEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) {
      ARROW_ASSIGN_OR_RAISE(auto entry,
                            ParseListingLine(std::string_view(text).substr(pos, nl - pos)));
      out.push_back(std::move(entry));
    }
    pos = nl + 1;
  }
  return out;
}

Result<std::shared_ptr<ObjectLogStore>> ObjectLogStore::Open(const std::string& uri) {
  SluiceOsHandle* handle = nullptr;
  char* err = nullptr;
  int32_t code = sluice_os_open(uri.c_str(), &handle, &err);
  if (code != kSluiceOsOk) return ToStatus(code, err);
  return std::shared_ptr<ObjectLogStore>(new ObjectLogStore(handle, uri));
}

ObjectLogStore::ObjectLogStore(SluiceOsHandle* handle, std::string uri)
    : handle_(handle), uri_(std::move(uri)) {}

ObjectLogStore::~ObjectLogStore() { sluice_os_close(handle_); }

Result<std::vector<FileEntry>> ObjectLogStore::ListFrom(const std::string& dir,
                                                        const std::string& start_name) {
  uint8_t* buf = nullptr;
  size_t len = 0;
  char* err = nullptr;
  int32_t code = sluice_os_list_from(handle_, dir.c_str(), start_name.c_str(), &buf, &len, &err);
  if (code != kSluiceOsOk) return ToStatus(code, err);
  return ParseListing(TakeText(buf, len));
}

Result<std::vector<FileEntry>> ObjectLogStore::ListTreeAfter(const std::string& dir,
                                                             const std::string& after) {
  uint8_t* buf = nullptr;
  size_t len = 0;
  char* err = nullptr;
  int32_t code = sluice_os_list_tree_after(handle_, dir.c_str(), after.c_str(), &buf, &len, &err);
  if (code != kSluiceOsOk) return ToStatus(code, err);
  return ParseListing(TakeText(buf, len));
}

Result<std::vector<std::string>> ObjectLogStore::ListFolders(const std::string& dir) {
  uint8_t* buf = nullptr;
  size_t len = 0;
  char* err = nullptr;
  int32_t code = sluice_os_list_folders(handle_, dir.c_str(), &buf, &len, &err);
  if (code != kSluiceOsOk) return ToStatus(code, err);
  std::string text = TakeText(buf, len);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

Result<std::shared_ptr<TreeLister>> OpenTreeLister(const std::string& uri) {
  if (!IsObjectStoreUri(uri)) {
    return Status::Invalid("'", uri, "' is not an object-store location");
  }
  ARROW_ASSIGN_OR_RAISE(auto store, ObjectLogStore::Open(uri));
  return std::static_pointer_cast<TreeLister>(store);
}

Status ObjectLogStore::PutIfAbsent(const std::string& path, std::string_view data) {
  char* err = nullptr;
  int32_t code = sluice_os_put_if_absent(
      handle_, path.c_str(), reinterpret_cast<const uint8_t*>(data.data()), data.size(), &err);
  return ToStatus(code, err);
}

Status ObjectLogStore::Put(const std::string& path, std::string_view data) {
  char* err = nullptr;
  int32_t code = sluice_os_put(handle_, path.c_str(), reinterpret_cast<const uint8_t*>(data.data()),
                               data.size(), &err);
  return ToStatus(code, err);
}

Result<std::string> ObjectLogStore::Read(const std::string& path) {
  uint8_t* buf = nullptr;
  size_t len = 0;
  char* err = nullptr;
  int32_t code = sluice_os_read(handle_, path.c_str(), &buf, &len, &err);
  if (code != kSluiceOsOk) return ToStatus(code, err);
  std::string out(reinterpret_cast<const char*>(buf), len);
  sluice_os_free_bytes(buf, len);
  return out;
}

Result<std::optional<FileEntry>> ObjectLogStore::Head(const std::string& path) {
  int32_t exists = 0;
  int64_t size = 0;
  int64_t mtime_ms = 0;
  char* err = nullptr;
  int32_t code = sluice_os_head(handle_, path.c_str(), &exists, &size, &mtime_ms, &err);
  if (code != kSluiceOsOk) return ToStatus(code, err);
  if (exists == 0) return std::optional<FileEntry>();
  return std::optional<FileEntry>(FileEntry{path, size, mtime_ms});
}

Status ObjectLogStore::Delete(const std::string& path) {
  char* err = nullptr;
  // Two statements: the call must set `err` before it is read.
  int32_t code = sluice_os_delete(handle_, path.c_str(), &err);
  return ToStatus(code, err);
}

std::string ObjectLogStore::Describe(const std::string& path) const {
  char* out = nullptr;
  if (sluice_os_describe(handle_, path.c_str(), &out) != kSluiceOsOk || out == nullptr) {
    return uri_ + "/" + path;
  }
  std::string s = out;
  sluice_os_free(out);
  return s;
}

}  // namespace sluice::io
