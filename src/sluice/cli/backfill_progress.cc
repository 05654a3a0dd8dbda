#include "sluice/cli/backfill_progress.h"

namespace sluice::cli {

BackfillProgress::BackfillProgress(std::ostream& out, bool terminal, int64_t min_units,
                                   int64_t plain_interval_ms)
    : out_(out),
      terminal_(terminal),
      min_units_(min_units),
      plain_interval_ms_(plain_interval_ms) {}

void BackfillProgress::OnStreamStep(const std::vector<pipeline::ObservedTable>& tables,
                                    const pipeline::ObservedStreamStep& step, int64_t now_ms) {
  (void)tables, (void)now_ms;
  if (!step.pending_units) return;  // cannot count (yet): not a backfill we can show
  auto [it, first] = streams_.try_emplace(step.stream_id);
  Stream& s = it->second;
  if (first) {
    // Its first count: what it committed now plus what still waits.
    s.backfilling = step.units_committed + *step.pending_units >= min_units_;
  }
  if (!s.backfilling) return;
  s.done += step.units_committed;
  s.pending = *step.pending_units;
  int64_t done = 0, total = 0;
  bool drained = true;
  for (const auto& [id, other] : streams_) {
    if (!other.backfilling) continue;
    done += other.done;
    total += other.done + other.pending;
    drained = drained && other.pending == 0;
  }
  if (!progress_) {
    progress_ = std::make_unique<Progress>("backfill", Progress::Unit::kFiles, out_, terminal_,
                                           plain_interval_ms_);
  }
  progress_->Update(done, total);
  if (drained) {
    progress_->Finish();
    progress_.reset();
    // Drained streams leave the backfill; later input is ordinary flow.
    for (auto& [id, other] : streams_) other.backfilling = false;
  }
}

void BackfillProgress::OnRunEnd(int64_t now_ms) {
  (void)now_ms;
  if (progress_) progress_->Finish();
  progress_.reset();
}

}  // namespace sluice::cli
