// GzipSpool: the content of a gzip-compressed source file, decompressed once
// into a local file, so that a large compressed file is ingested in parts
// (ranges of its content, source.h) like a plain one. A gzip stream cannot be
// entered in the middle; without the spool such a file would be decompressed
// whole into memory.
//
// Crash protocol: the content is written to "<spool>.tmp.<pid>" and renamed
// to "<spool>" only once the gzip stream ended cleanly, so a spool file that
// exists is whole. Its name is a hash of the key (stream, path, size,
// modification time): a restarted process finds it again, a changed file
// never matches an old spool, and two processes spooling the same file each
// rename a whole copy over the other. Spools are removed once the file's last
// part is committed; one left by a crash is reused or, when its file is gone,
// stays until the spool folder is cleaned (the folder is only ever a cache).
#pragma once

#include <arrow/io/type_fwd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sluice/core/status.h"

namespace sluice::sources {

class GzipSpool {
 public:
  /// `dir` is created when the first file is spooled.
  explicit GzipSpool(std::string dir) : dir_(std::move(dir)) {}

  struct Spooled {
    std::string path;   ///< the local file holding the content
    int64_t bytes = 0;  ///< content size
  };

  /// The spooled content of the file `key` names; decompresses what `open`
  /// returns (the file's gzip bytes as a stream) when it is not spooled yet.
  /// Multi-member streams are read to the end. A damaged or truncated stream
  /// is an error (the caller then reads the file whole, where the damage
  /// becomes a dead letter), as is an I/O error.
  Result<Spooled> Get(const std::string& key,
                      const std::function<Result<std::shared_ptr<arrow::io::InputStream>>()>& open);
  /// The spool of `key`, if it exists.
  Result<std::optional<Spooled>> Find(const std::string& key) const;
  /// Removes the spool of `key` (absent: nothing to do).
  void Remove(const std::string& key) const;
  std::string PathOf(const std::string& key) const;

 private:
  std::string dir_;
};

}  // namespace sluice::sources
