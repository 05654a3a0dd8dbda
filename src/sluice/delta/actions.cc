#include "sluice/delta/actions.h"
