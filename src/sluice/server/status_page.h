// The status page: one self-contained HTML document (inline CSS and JS, no
// external assets) compiled into the binary from status_page.html. It polls
// /api/status every 2 s and redraws one row per table.
#pragma once

#include <string_view>

namespace sluice::server {

/// The page's bytes (UTF-8 HTML); static storage.
std::string_view StatusPageHtml();

}  // namespace sluice::server
