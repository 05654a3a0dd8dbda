// BackfillProgress: the progress of a first backfill in `sluice run` (rate
// and ETA on a terminal, plain lines otherwise; cli/progress.h), from what
// the run tells its observers (pipeline/run_observer.h).
//
// A stream is backfilling when its first step that can count its pending
// units (file sources) finds at least `min_units` of them waiting; every
// backfilling stream adds to one line for the whole run ("backfill: 120
// files of 4000 files ..."), so a hundred tables do not fight over the
// terminal. The line ends when every backfilling stream has drained; a
// stream whose first count is small, or that cannot count, never shows.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>

#include "sluice/cli/progress.h"
#include "sluice/pipeline/run_observer.h"

namespace sluice::cli {

class BackfillProgress : public pipeline::RunObserver {
 public:
  /// `out` (stderr) and its terminal-ness as for Progress.
  BackfillProgress(std::ostream& out, bool terminal, int64_t min_units,
                   int64_t plain_interval_ms = 5000);

  void OnStreamStep(const std::vector<pipeline::ObservedTable>& tables,
                    const pipeline::ObservedStreamStep& step, int64_t now_ms) override;
  void OnRunEnd(int64_t now_ms) override;

 private:
  struct Stream {
    bool backfilling = false;
    int64_t done = 0;
    int64_t pending = 0;
  };

  std::ostream& out_;
  bool terminal_;
  int64_t min_units_;
  int64_t plain_interval_ms_;
  std::map<std::string, Stream> streams_;  ///< seen with a count, by id
  std::unique_ptr<Progress> progress_;     ///< while a backfill runs
};

}  // namespace sluice::cli
