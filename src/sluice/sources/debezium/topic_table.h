// The source table a Debezium topic feeds, from the topic's name alone.
// Debezium names a table's topic `<topic.prefix>.<schema>.<table>`
// (PostgreSQL; MySQL/MariaDB put the database where the schema is; SQL
// Server adds the database before the schema): the last two dot-separated
// parts name the table, database = the schema (or MySQL database). The
// Kafka consumer calls this for Stream::Identify() of a single-table topic;
// the decoder calls it for every message when `debezium.route_by = topic`.
#pragma once

#include <optional>
#include <string_view>

#include "sluice/sources/source.h"

namespace sluice::sources::debezium {

/// \brief {database = second-to-last part, table = last part} of `topic`;
/// nullopt when the topic has fewer than two parts or either part is empty
/// (such a topic cannot be routed by name: configure `route_by = "source"`).
std::optional<SourceTable> TableFromTopic(std::string_view topic);

}  // namespace sluice::sources::debezium
