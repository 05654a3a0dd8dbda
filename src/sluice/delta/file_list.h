// FileList: a table's active files, shared between the snapshots of
// successive versions. A commit changes a few files of many, and every
// commit builds the new snapshot from a copy of the one it read (snapshots
// are immutable and shared across threads): copying this list copies
// pointers, never a file's path, stats, partition values and tags, so the
// per-commit copy stays a few microseconds at thousands of files instead of
// thousands of allocations (docs/BENCHMARKS.md, "Checkpoints by log growth,
// the commit's index, the cursor's parse").
//
// Reads look like a `std::vector<Add>`: size, operator[], range-for over
// `const Add&`. An element's address is stable for as long as any list holds
// it (so `&files[i]` may be kept while the snapshot lives).
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "sluice/delta/actions.h"

namespace sluice::delta {

class FileList {
 public:
  using Slot = std::shared_ptr<const Add>;

  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = Add;
    using difference_type = std::ptrdiff_t;
    using pointer = const Add*;
    using reference = const Add&;

    const_iterator() = default;
    explicit const_iterator(std::vector<Slot>::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    reference operator[](difference_type n) const { return *it_[n]; }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) { return const_iterator(it_++); }
    const_iterator& operator--() {
      --it_;
      return *this;
    }
    const_iterator operator--(int) { return const_iterator(it_--); }
    const_iterator& operator+=(difference_type n) {
      it_ += n;
      return *this;
    }
    const_iterator& operator-=(difference_type n) {
      it_ -= n;
      return *this;
    }
    friend const_iterator operator+(const_iterator a, difference_type n) { return a += n; }
    friend const_iterator operator+(difference_type n, const_iterator a) { return a += n; }
    friend const_iterator operator-(const_iterator a, difference_type n) { return a -= n; }
    friend difference_type operator-(const const_iterator& a, const const_iterator& b) {
      return a.it_ - b.it_;
    }
    friend auto operator<=>(const const_iterator&, const const_iterator&) = default;

   private:
    std::vector<Slot>::const_iterator it_;
  };
  using iterator = const_iterator;
  using value_type = Add;
  using size_type = std::size_t;

  FileList() = default;

  size_t size() const { return files_.size(); }
  bool empty() const { return files_.empty(); }
  const Add& operator[](size_t i) const { return *files_[i]; }
  const Add& front() const { return *files_.front(); }
  const Add& back() const { return *files_.back(); }
  const_iterator begin() const { return const_iterator(files_.begin()); }
  const_iterator end() const { return const_iterator(files_.end()); }

  void reserve(size_t n) { files_.reserve(n); }
  void push_back(Add add) { files_.push_back(std::make_shared<const Add>(std::move(add))); }
  /// Puts `add` in place of the file at `i` (the other lists sharing the old
  /// file keep it).
  void Replace(size_t i, Add add) { files_[i] = std::make_shared<const Add>(std::move(add)); }
  /// Keeps the files whose `drop[i]` is false, in order.
  void Erase(const std::vector<bool>& drop) {
    std::vector<Slot> kept;
    kept.reserve(files_.size());
    for (size_t i = 0; i < files_.size(); ++i) {
      if (!drop[i]) kept.push_back(std::move(files_[i]));
    }
    files_ = std::move(kept);
  }

 private:
  std::vector<Slot> files_;
};

}  // namespace sluice::delta
