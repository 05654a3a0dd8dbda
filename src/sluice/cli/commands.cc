#include "sluice/cli/commands.h"

namespace sluice::cli {
int RunMain(int, char**) { return 0; }
}  // namespace sluice::cli
