/* collectives: the gradient allreduce of data-parallel training (train_step.h is its one caller). */
#ifndef OO_COLLECTIVES_H
#define OO_COLLECTIVES_H

#include <mpi.h>

#include "model/gpt.h"

/* Collective on comm: grads *= scale locally, then summed over comm in place (one allreduce of
 * the flat gradient buffer). With scale = local rows / global rows every rank ends with the
 * gradient of the global mean loss. */
int dp_allreduce_grads(gpt *m, MPI_Comm comm, float scale);

#endif
