#include "sluice/cli/commands.h"

int main(int argc, char** argv) { return sluice::cli::RunMain(argc, argv); }
