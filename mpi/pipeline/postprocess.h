/* postprocess: what runs after the stages have written their curves: Gao et al.'s functional
 * forms fitted to every curve of a run directory, the scaling fits of alpha and beta across a
 * sweep, and the report (implemented in postprocess.c). The driver (run.c), the sweep (sweep.c)
 * and `overopt fit` (commands/cmd_fit.c) call these; neither this header nor postprocess.c
 * depends on them, so the headers form no cycle:
 * run.c -> postprocess.h <- sweep.c -> run.h.
 *
 * Fits are solved with ScaLAPACK (fit_dist.h) over the given communicator; CSV files are read
 * on rank 0 and the points broadcast, so every rank computes the same numbers.
 */
#ifndef OO_POSTPROCESS_H
#define OO_POSTPROCESS_H

#include <mpi.h>
#include <stddef.h>

#include "io/config.h"

/* Proxy RM parameter count of a config (rm.size, pretrain.n_ctx; reward model tensors). */
long sweep_rm_params(const oo_config *cfg);

/* Fits every curve of the run directory dir (bon.csv objectives and member_<j>, ppo_<tag>.csv),
 * writes dir/fits.csv and dir/fits.h5 and logs a table. Collective on comm. */
int fit_run_dir(const char *dir, MPI_Comm comm);
/* As fit_run_dir, but skips the fit when dir/fits.h5 records the same input hash as the current
 * CSV files (and when dir has no curves at all); *skipped (may be NULL) says which. Collective. */
int fit_run_dir_changed(const char *dir, MPI_Comm comm, int *skipped);
/* Fits every point_<i> of the sweep directory dir, then the scaling fits; writes dir/sweep.csv
 * and dir/fits.csv. Collective on comm. */
int fit_sweep_dir(const char *dir, MPI_Comm comm);
/* 1 if dir is a sweep directory (has sweep.csv or point_* subdirectories). */
int fit_is_sweep_dir(const char *dir);

/* Rank 0 only: report_write(dir) unless dir/report/report.md exists and dir/report/inputs_hash.txt
 * records the same hash of the report's inputs (bon.csv, ppo_<tag>.csv, fits.csv, rm_members.csv,
 * winrates.csv, config.cfg); *skipped says which. md_path gets report.md's path. */
int report_run_dir_changed(const char *dir, int *skipped, char *md_path, size_t cap);

#endif
