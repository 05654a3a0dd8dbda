#include "sluice/core/status.h"

#include <cerrno>
#include <cstring>

namespace sluice {

Status ErrnoStatus(int err, const std::string& op, const std::string& path) {
  std::string msg = op + " '" + path + "': " + std::strerror(err);
  if (err == EEXIST) return Status::AlreadyExists(msg);
  if (err == ENOENT) return Status::IOError(msg);
  return Status::IOError(msg);
}

}  // namespace sluice
