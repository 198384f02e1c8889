/* collectives: gradient allreduce (see collectives.h). */
#include "collectives.h"

#include "comm.h"

int dp_allreduce_grads(gpt *m, MPI_Comm comm, float scale) {
  REQUIRE(m->grads, "dp_allreduce_grads: model has no gradients (call gpt_alloc_train)");
  if (scale != 1.0f)
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= scale;
  int size;
  CHECK_MPI(MPI_Comm_size(comm, &size));
  if (size == 1) return OO_OK;
  /* n_params fits in int for every model this program trains (checked). */
  REQUIRE(m->n_params < (size_t)1 << 31, "model too large for one allreduce");
  CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, m->grads, (int)m->n_params, MPI_FLOAT, MPI_SUM, comm));
  return OO_OK;
}
