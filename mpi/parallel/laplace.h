/* laplace: last-layer Laplace uncertainty of a reward model (issue #15, docs/uncertainty.md).
 *
 * The scalar head (C weights w, bias b) of a trained reward model gets a Gaussian posterior: the
 * generalized Gauss-Newton (GGN) precision of the Bradley-Terry loss over the training pairs'
 * features phi (final-LayerNorm output at the scored position), plus an isotropic prior:
 *   Lambda = alpha I + sum_pairs p (1 - p) d d^T,   d = [phi_c - phi_r; 0],  p = sigmoid(theta . d)
 * with theta = [w; b] (D = C + 1 parameters; the bias cancels in every pair, so only the prior
 * constrains it). The prior precision alpha maximizes the Laplace marginal likelihood
 *   log Z(alpha) = loglik - alpha/2 |theta|^2 + D/2 log alpha - 1/2 log det Lambda(alpha)
 * over a grid of log10 alpha (LAPLACE_GRID points from 1e-4 to 1e4; the trained head is the mode,
 * as in post-hoc Laplace). Sigma = Lambda^-1. A calibrated reward is theta . [phi; 1] minus its
 * mean over reference responses, theta . [phi_mean; 1], over reward_scale: the bias cancels (it is
 * unidentified by pairs anyway) and the predictive variance of a sample is
 * [phi - phi_mean; 0]^T Sigma [phi - phi_mean; 0] / reward_scale^2.
 *
 * Lambda is factored by LAPACK dpotrf/dpotrs on every rank of the communicator when D is below
 * a threshold, else by ScaLAPACK pdpotrf/pdpotrs on a near-square BLACS grid over it; both give
 * Sigma (full, symmetric) on every rank.
 */
#ifndef OO_LAPLACE_H
#define OO_LAPLACE_H

#include <mpi.h>

#define LAPLACE_GRID 33   /* log10 alpha = -4, -3.75, ..., 4 */
#define LAPLACE_MAX_C 4096 /* head width C at most (rm.size.d_model's limit) */

typedef struct {
  int D;            /* parameters: C head weights and the bias */
  double alpha;     /* prior precision chosen by marginal likelihood */
  double log_ml;    /* Laplace log marginal likelihood at alpha */
  double log_det;   /* log det Lambda at alpha */
  double *Sigma;    /* (D,D) posterior covariance, column-major (symmetric) */
  int scalapack;    /* 1: factored by ScaLAPACK, 0: LAPACK */
  int grid_rows, grid_cols; /* the BLACS grid (1 x 1 for LAPACK) */
  double *phi_mean; /* (D-1) reference features the variance is taken relative to (set by the caller), or NULL */
} laplace_post;

/* Local kernel: G (D,D) column-major += sum_b p(1-p) d d^T with d = [phi_c[b] - phi_r[b]; 0] and
 * p = sigmoid(theta . d); *loglik += sum_b log p (the Bradley-Terry log likelihood). D = C + 1,
 * C <= LAPLACE_MAX_C. */
void laplace_ggn_add(double *G, double *loglik,
                     const float *phi_c, // (B,C) features of the chosen responses
                     const float *phi_r, // (B,C) features of the rejected responses
                     const float *theta, // (C+1) head weights then bias
                     int B, int C);

/* Collective on comm. Factors Lambda = G + alpha I (G identical on every rank) and writes
 * log det Lambda to *log_det and, when Sigma is not NULL, Lambda^-1 to Sigma (D,D) on every rank.
 * use_scalapack selects the path (the ScaLAPACK block size is chosen from D and the grid). */
int laplace_factor(double *log_det, double *Sigma, const double *G, double alpha, int D, int use_scalapack,
                   MPI_Comm comm);

/* Collective on comm: the posterior (alpha by marginal likelihood on the grid, then Sigma), with
 * ScaLAPACK when D >= scalapack_min. G is the summed GGN (identical on every rank), loglik the
 * summed log likelihood. Free with laplace_free. */
int laplace_posterior(laplace_post *out, const double *G, const float *theta, double loglik, int D,
                      int scalapack_min, MPI_Comm comm);
void laplace_free(laplace_post *p);

/* x^T Sigma x in raw units with x = [phi - phi_mean; 0], or x = [phi; 1] when phi_mean is NULL
 * (phi, phi_mean: (D-1)). */
double laplace_variance(const double *Sigma, const float *phi, const double *phi_mean, int D);

#endif
