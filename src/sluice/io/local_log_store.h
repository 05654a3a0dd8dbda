// LogStore on a local (or POSIX-mounted) filesystem. PutIfAbsent writes a
// temporary file in the same directory, fsyncs it, then link()s it to the
// final name, which fails with EEXIST if another writer got there first.
#pragma once

#include "sluice/io/log_store.h"

namespace sluice::io {

class LocalLogStore : public LogStore {
 public:
  explicit LocalLogStore(std::string root);

  Result<std::vector<FileEntry>> ListFrom(const std::string& dir,
                                          const std::string& start_name) override;
  Status PutIfAbsent(const std::string& path, std::string_view data) override;
  Status Put(const std::string& path, std::string_view data) override;
  Result<std::string> Read(const std::string& path) override;
  Result<std::optional<FileEntry>> Head(const std::string& path) override;
  Status Delete(const std::string& path) override;
  std::string Describe(const std::string& path) const override;

 private:
  std::string Abs(const std::string& path) const;
  /// Writes `data` to a fresh temporary file next to `abs` and fsyncs it.
  Result<std::string> WriteTemp(const std::string& abs, std::string_view data);

  std::string root_;
};

}  // namespace sluice::io
