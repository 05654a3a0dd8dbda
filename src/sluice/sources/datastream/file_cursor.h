// FileCursor: which files of one table folder have been ingested. Files are
// ingested in path (= time) order, but a file can land late in an older
// minute folder after newer ones were ingested, so the cursor is the set of
// ingested paths, not a high-water mark. Each file also gets an ordinal (its
// position in ingestion order), which breaks ties in `_cdc_seq`.
//
// Serialized form (JSON): {"version":1,"count":N,"files":{"<dir>":["<name>",…],…}}
// grouping names by minute folder to keep it compact.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/sources/datastream/discovery.h"

namespace sluice::sources::datastream {

class FileCursor {
 public:
  bool Contains(const std::string& path) const;
  /// Marks `path` ingested and returns its ordinal (0, 1, 2, …).
  uint64_t Add(const std::string& path);
  /// Files of `listing` not yet ingested, in order, at most `limit`.
  std::vector<SourceFile> Pending(const std::vector<SourceFile>& listing, size_t limit) const;
  uint64_t count() const { return count_; }

  std::string ToJson() const;
  static Result<FileCursor> FromJson(std::string_view text, const std::string& where);

 private:
  std::map<std::string, std::set<std::string>> files_;  // dir -> names
  uint64_t count_ = 0;
};

}  // namespace sluice::sources::datastream
