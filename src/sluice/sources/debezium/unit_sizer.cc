#include "sluice/sources/debezium/unit_sizer.h"

#include <algorithm>
#include <cmath>

namespace sluice::sources::debezium {

int64_t UnitSizer::MessagesPerUnit() const {
  const int64_t per_message = BytesPerMessage();
  if (per_message <= 0) return std::min(max_messages_, kFirstUnitMessages);
  return std::clamp<int64_t>(max_bytes_ / per_message, 1, max_messages_);
}

void UnitSizer::Observe(int64_t messages, int64_t bytes) {
  if (messages <= 0) return;
  // At least one byte a message: an empty record still costs its offset.
  const double unit = std::max(1.0, static_cast<double>(bytes) / static_cast<double>(messages));
  std::lock_guard<std::mutex> lock(mu_);
  per_message_ = per_message_ == 0 ? unit : (per_message_ + unit) / 2;
}

int64_t UnitSizer::BytesPerMessage() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(std::ceil(per_message_));
}

}  // namespace sluice::sources::debezium
