/* fit_dist: the functional-form fits of fit/fit.h solved with ScaLAPACK pdgels over the ranks
 * of a communicator (a BLACS P x 1 grid, the (m,2) design matrix distributed block-cyclically
 * by rows).
 *
 * Inputs are replicated: every rank passes the same points; each rank stores only its own
 * row blocks for the solve, and every rank returns the same result. The fits are small, so
 * this exists for the scaling sweeps run on a cluster and to test the ScaLAPACK build; its
 * answers equal fit_lstsq / fit_gold_curve to rounding.
 */
#ifndef OO_FIT_DIST_H
#define OO_FIT_DIST_H

#include <mpi.h>

#include "fit/fit.h"

/* Least squares min ||A x - b|| with pdgels on a P x 1 grid over comm (P = its size), row
 * block size mb (0: 64). A (m,n) column-major with m >= n, full column rank, identical on
 * every rank. Collective on comm; x (n) is the same on every rank. */
int fit_lstsq_dist(double *x,       // (n)
                   const double *A, // (m,n) column-major
                   const double *b, // (m)
                   int m, int n, int mb, MPI_Comm comm);

/* fit_gold_curve with the solve done by fit_lstsq_dist. Collective on comm. */
int fit_gold_curve_dist(fit_result *r, fit_form form,
                        const double *d,    // (m) sqrt(KL)
                        const double *gold, // (m)
                        int m, int mb, MPI_Comm comm);

#endif
