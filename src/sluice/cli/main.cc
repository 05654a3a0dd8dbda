#include <unistd.h>

#include <cstdlib>

#include "sluice/cli/commands.h"

int main(int argc, char** argv) {
  // Arrow's default pool is mimalloc, which hands freed pages back to the
  // OS after 10 ms; every batch then faults its working set in again (a
  // quarter of the CPU time went to the kernel on 100K-event batches).
  // Keeping them roughly halves that, and peak memory is unchanged. mimalloc
  // reads its options when libarrow loads, before main, so set the variable
  // and start again once; a value the user set is kept.
  if (getenv("MIMALLOC_PURGE_DELAY") == nullptr) {
    setenv("MIMALLOC_PURGE_DELAY", "-1", /*overwrite=*/1);
    execv("/proc/self/exe", argv);  // returns only on failure: run as we are
  }
  return sluice::cli::RunMain(argc, argv);
}
