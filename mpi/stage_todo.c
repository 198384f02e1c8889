/* stage_todo: TEMPORARY placeholders for stages not written yet, so the overopt binary links.
 * The lead deletes each definition as the real stage lands (mpi/stage_<name>.c). */
#include "core/core.h"
#include "run.h"

int stage_ppo(oo_run *run) {
  (void)run;
  OO_FAIL("stage %s is not implemented yet", "ppo");
}
