/* train_guard: non-finite loss and gradient checks for training steps (see train_guard.h). */
#include "train_guard.h"

#include <math.h>

#include "core/core.h"

int train_check_finite(const char *stage, long step, int rank, double loss, double grad_norm) {
  REQUIRE(isfinite(loss) && isfinite(grad_norm),
          "%s: step %ld: the %s is not finite (loss %g, gradient norm %g) on rank %d: training diverged or its "
          "input holds NaN/inf; lower the learning rate or check the input files, then rerun the stage",
          stage, step, isfinite(loss) ? "gradient norm" : "loss", loss, grad_norm, rank);
  return OO_OK;
}
