// The C ABI of the Rust crate rust/sluice_objstore (conditional writes and
// listing on S3, GCS and Azure through the object_store crate). Only
// object_log_store.cc includes this. Every function returns a SluiceOsCode;
// on failure `*err` (if not null) receives a message to free with
// sluice_os_free. Handles are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

enum SluiceOsCode : int32_t {
  kSluiceOsOk = 0,
  kSluiceOsNotFound = 1,
  kSluiceOsAlreadyExists = 2,
  kSluiceOsInvalid = 3,
  /// Refused credentials or a missing bucket: the message names the bucket
  /// and what was tried.
  kSluiceOsUnauthorized = 4,
  kSluiceOsIo = 5,
};

struct SluiceOsHandle;

/// Opens the table at `url` (s3://, gs://, az://, abfss://), configured from
/// the standard environment variables. No request is made yet.
int32_t sluice_os_open(const char* url, SluiceOsHandle** out, char** err);
void sluice_os_close(SluiceOsHandle* h);
void sluice_os_free(char* p);
void sluice_os_free_bytes(uint8_t* p, size_t len);

/// Conditional create; kSluiceOsAlreadyExists when the object exists and is
/// not byte-identical to an earlier ambiguous attempt of this call.
int32_t sluice_os_put_if_absent(const SluiceOsHandle* h, const char* path, const uint8_t* data,
                                size_t len, char** err);
int32_t sluice_os_put(const SluiceOsHandle* h, const char* path, const uint8_t* data, size_t len,
                      char** err);
/// `*out` (to free with sluice_os_free_bytes) receives the whole object.
int32_t sluice_os_read(const SluiceOsHandle* h, const char* path, uint8_t** out, size_t* out_len,
                       char** err);
int32_t sluice_os_head(const SluiceOsHandle* h, const char* path, int32_t* exists, int64_t* size,
                       int64_t* mtime_ms, char** err);
int32_t sluice_os_delete(const SluiceOsHandle* h, const char* path, char** err);
/// Objects directly in `dir` named >= `start`, sorted, as lines
/// "size\tmtime_ms\tpath\n".
int32_t sluice_os_list_from(const SluiceOsHandle* h, const char* dir, const char* start,
                            uint8_t** out, size_t* out_len, char** err);
/// Every object under `dir` whose path relative to `dir` sorts after `after`
/// (all when empty), sorted, as lines "size\tmtime_ms\trelative path\n".
int32_t sluice_os_list_tree_after(const SluiceOsHandle* h, const char* dir, const char* after,
                                  uint8_t** out, size_t* out_len, char** err);
/// The folders directly under `dir`, sorted, one name a line.
int32_t sluice_os_list_folders(const SluiceOsHandle* h, const char* dir, uint8_t** out,
                               size_t* out_len, char** err);
/// `*out` (free with sluice_os_free): "s3://bucket/prefix/path".
int32_t sluice_os_describe(const SluiceOsHandle* h, const char* path, char** out);
}
