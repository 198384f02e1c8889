/* collectives: the data-parallel pieces of training shared by every stage that trains a model. */
#ifndef OO_COLLECTIVES_H
#define OO_COLLECTIVES_H

#include <mpi.h>

#include "model/gpt.h"

/* Collective on comm: grads *= scale locally, then summed over comm in place (one allreduce of
 * the flat gradient buffer). With scale = local rows / global rows every rank ends with the
 * gradient of the global mean loss. */
int dp_allreduce_grads(gpt *m, MPI_Comm comm, float scale);

/* Collective on comm: params broadcast from root (so replicas start identical). */
int dp_broadcast_params(gpt *m, MPI_Comm comm, int root);

#endif
