// The `sluice` subcommands.
#pragma once

namespace sluice::cli {

/// Parses argv and runs one subcommand; returns the process exit code.
int RunMain(int argc, char** argv);

}  // namespace sluice::cli
