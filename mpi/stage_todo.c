/* stage_todo: TEMPORARY placeholders for stages not written yet, so the overopt binary links.
 * The lead deletes each definition as the real stage lands (mpi/stage_<name>.c). */
#include "core/core.h"
#include "run.h"
