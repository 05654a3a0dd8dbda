#include "sluice/sources/debezium/topic_table.h"

#include <string>

namespace sluice::sources::debezium {

std::optional<SourceTable> TableFromTopic(std::string_view topic) {
  const size_t last = topic.rfind('.');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const size_t prev = topic.rfind('.', last - 1);
  const size_t begin = prev == std::string_view::npos ? 0 : prev + 1;
  std::string_view database = topic.substr(begin, last - begin);
  std::string_view table = topic.substr(last + 1);
  if (database.empty() || table.empty()) return std::nullopt;
  return SourceTable{std::string(database), std::string(table)};
}

}  // namespace sluice::sources::debezium
