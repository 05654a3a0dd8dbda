#include "sluice/pipeline/position_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace sluice::pipeline {

namespace {

constexpr size_t kNameDigits = 20;

// "00000000000000000012.json" -> 12; nullopt for any other name.
std::optional<int64_t> VersionOfName(const std::string& name) {
  if (name.size() != kNameDigits + 5 || name.compare(kNameDigits, 5, ".json") != 0) {
    return std::nullopt;
  }
  int64_t v = 0;
  for (size_t i = 0; i < kNameDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

}  // namespace

PositionStore::PositionStore(std::shared_ptr<io::LogStore> store, std::string prefix)
    : store_(std::move(store)), prefix_(std::move(prefix)) {}

std::string PositionStore::PathOf(int64_t version) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(version));
  return prefix_ + name;
}

std::string PositionStore::Describe(int64_t version) const {
  return store_->Describe(PathOf(version));
}

Result<std::optional<std::string>> PositionStore::Read(int64_t version) const {
  auto text = store_->Read(PathOf(version));
  if (!text.ok()) {
    if (io::IsNotFound(text.status())) return std::nullopt;
    return text.status();
  }
  return std::optional<std::string>(std::move(*text));
}

Result<std::optional<std::string>> PositionStore::Create(int64_t version,
                                                         const std::string& state) {
  Status st = store_->PutIfAbsent(PathOf(version), state);
  if (st.ok()) return std::nullopt;
  if (!st.IsAlreadyExists()) return st;
  ARROW_ASSIGN_OR_RAISE(auto existing, Read(version));
  if (!existing) return Status::IOError("position state ", Describe(version), " vanished");
  return existing;
}

Result<std::vector<int64_t>> PositionStore::After(int64_t version) const {
  std::string dir = prefix_.empty() ? "" : prefix_.substr(0, prefix_.size() - 1);
  ARROW_ASSIGN_OR_RAISE(auto entries, store_->ListFrom(dir, ""));
  std::vector<int64_t> out;
  for (const auto& e : entries) {
    auto slash = e.path.rfind('/');
    auto v = VersionOfName(slash == std::string::npos ? e.path : e.path.substr(slash + 1));
    if (v && *v > version) out.push_back(*v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status PositionStore::Discard(int64_t version) { return store_->Delete(PathOf(version)); }

Status PositionStore::Prune(int64_t version) {
  std::string dir = prefix_.empty() ? "" : prefix_.substr(0, prefix_.size() - 1);
  ARROW_ASSIGN_OR_RAISE(auto entries, store_->ListFrom(dir, ""));
  for (const auto& e : entries) {
    auto slash = e.path.rfind('/');
    auto v = VersionOfName(slash == std::string::npos ? e.path : e.path.substr(slash + 1));
    if (v && *v < version) ARROW_RETURN_NOT_OK(store_->Delete(PathOf(*v)));
  }
  return Status::OK();
}

}  // namespace sluice::pipeline
