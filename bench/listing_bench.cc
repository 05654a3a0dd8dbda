// The discovery half of `sluice run`, for the listing benchmark
// (bench/listing_bench.py, docs/BENCHMARKS.md "Listing a large bucket"):
// the source configured from the environment exactly as `sluice run` does
// (LoadConfig, ApplyStorageSettings, SourceOptionsFor, MakeSource), then one
// poll = Discover(), every stream's Prefetch() source.list_concurrency at a
// time, then Pending() of every stream, in the runner's order. A
// unit handed out is "ingested" by moving the stream's cursor
// (PositionAfter + Advance) without reading the file, so a bucket of a
// million files can be caught up with listings alone.
//
//   listing_bench        (reads commands on stdin, one per line)
//     poll               one poll; prints {"ms":x,"streams":n,"units":n}
//     catchup            polls until a poll hands out nothing; same output,
//                        summed, with "polls":n
//     restart            reopens every stream from its last position (a
//                        process restart: the next poll also does the
//                        late-file check, which lists whole folders)
//     quit
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/parallel_for.h"
#include "sluice/pipeline/config.h"
#include "sluice/pipeline/source_options.h"
#include "sluice/sources/source_registry.h"

namespace {

using Clock = std::chrono::steady_clock;
using sluice::Result;
using sluice::Status;
namespace src = sluice::sources;

struct StreamState {
  std::unique_ptr<src::Stream> stream;
  std::optional<src::Position> position;
};

class Discovery {
 public:
  explicit Discovery(std::unique_ptr<src::Source> source) : source_(std::move(source)) {}

  /// One poll; the number of units handed out (and taken). The streams
  /// list `list_concurrency` at a time first, as the runner does.
  Result<int64_t> Poll(size_t max_units, int list_concurrency) {
    ARROW_ASSIGN_OR_RAISE(auto ids, source_->Discover());
    for (const auto& id : ids) {
      if (streams_.count(id)) continue;
      ARROW_ASSIGN_OR_RAISE(auto stream, source_->OpenStream(id));
      ARROW_RETURN_NOT_OK(stream->Restore(std::nullopt));
      streams_[id].stream = std::move(stream);
    }
    std::vector<src::Stream*> all;
    for (auto& [id, state] : streams_) all.push_back(state.stream.get());
    sluice::ParallelFor(all.size(), list_concurrency, [&](size_t i) { all[i]->Prefetch(); });
    int64_t units = 0;
    for (auto& [id, state] : streams_) {
      ARROW_ASSIGN_OR_RAISE(auto pending, state.stream->Pending(max_units));
      if (pending.empty()) continue;
      units += static_cast<int64_t>(pending.size());
      ARROW_ASSIGN_OR_RAISE(auto position, state.stream->PositionAfter(pending));
      state.stream->Advance(position);
      state.position = std::move(position);
    }
    return units;
  }

  Status Restart() {
    for (auto& [id, state] : streams_) {
      ARROW_ASSIGN_OR_RAISE(state.stream, source_->OpenStream(id));
      ARROW_RETURN_NOT_OK(state.stream->Restore(state.position));
    }
    return Status::OK();
  }

  size_t streams() const { return streams_.size(); }

 private:
  std::unique_ptr<src::Source> source_;
  std::map<std::string, StreamState> streams_;
};

Status Main() {
  const auto env = sluice::pipeline::ProcessEnvironment();
  ARROW_ASSIGN_OR_RAISE(auto config, sluice::pipeline::LoadConfig("", env));
  ARROW_RETURN_NOT_OK(sluice::pipeline::ApplyStorageSettings(config));
  ARROW_ASSIGN_OR_RAISE(auto options, sluice::pipeline::SourceOptionsFor(config));
  ARROW_ASSIGN_OR_RAISE(auto source, src::MakeSource(options));
  Discovery discovery(std::move(source));
  const size_t max_units = static_cast<size_t>(config.max_files_per_batch);
  std::string command;
  while (std::getline(std::cin, command)) {
    if (command == "quit") break;
    if (command == "restart") {
      ARROW_RETURN_NOT_OK(discovery.Restart());
      std::cout << "{}" << std::endl;
      continue;
    }
    if (command != "poll" && command != "catchup") {
      return Status::Invalid("unknown command '", command, "'");
    }
    const auto t0 = Clock::now();
    int64_t units = 0;
    int64_t polls = 0;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(int64_t n, discovery.Poll(max_units, config.list_concurrency));
      units += n;
      ++polls;
      if (command == "poll" || n == 0) break;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::cout << "{\"ms\":" << ms << ",\"streams\":" << discovery.streams()
              << ",\"units\":" << units << ",\"polls\":" << polls << "}" << std::endl;
  }
  return Status::OK();
}

}  // namespace

int main() {
  Status st = Main();
  if (!st.ok()) {
    std::cerr << "listing_bench: " << st.ToString() << std::endl;
    return 1;
  }
  return 0;
}
