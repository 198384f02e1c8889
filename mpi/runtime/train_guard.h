/* train_guard: the check every training step makes before its optimizer step (#12): a
 * non-finite loss or gradient norm stops training with the stage, the step and the rank named,
 * instead of writing NaN weights that every later stage would read.
 *
 * Not collective. Call it with values every rank of the training group holds alike (the loss
 * after its allreduce, the norm of the allreduced gradient), so all ranks of the group fail at
 * the same step and none is left waiting in a collective.
 */
#ifndef OO_TRAIN_GUARD_H
#define OO_TRAIN_GUARD_H

/* OO_OK if loss and grad_norm are finite; otherwise an error such as
 * "pretrain d32L1H2: step 17: loss nan, gradient norm inf on rank 1 ...".
 * stage names the stage and model ("rm member 2"); step counts from 1; rank is the caller's
 * world rank. */
int train_check_finite(const char *stage, long step, int rank, double loss, double grad_norm);

#endif
