/* sweep: `overopt sweep` (a config's sweep axes expanded into run directories, run one after
 * another or as a Slurm job array) and `overopt fit` (Gao et al.'s functional forms fitted to
 * every curve of a run directory, and the scaling fits of alpha and beta across a sweep).
 *
 * Layout of a sweep: out_dir/<name>/point_<i>/ is an ordinary run directory whose config is the
 * base config with axis values applied (first axis slowest), run.out_dir = out_dir/<name> and
 * run.name = point_<i>. Every point lists the other points as share directories, so artifacts
 * whose config hash matches (pretrained LMs, gold, prefs, ...) are hard-linked, not recomputed.
 * `overopt fit` on the sweep directory fits every point, then writes sweep.csv and the scaling
 * rows (source "scaling") of the sweep's fits.csv.
 *
 * Fits are solved with ScaLAPACK (fit_dist.h) over the given communicator; CSV files are read
 * on rank 0 and the points broadcast, so every rank computes the same numbers.
 */
#ifndef OO_SWEEP_H
#define OO_SWEEP_H

#include <mpi.h>
#include <stddef.h>

#include "io/config.h"

/* Number of sweep points (product of the axes' value counts; 0 without axes). */
int sweep_n_points(const oo_config *cfg);
/* The --set assignments of point i ("key=value", one per axis) into sets[a] (cap bytes each),
 * returns the number of axes. */
int sweep_point_sets(const oo_config *cfg, int i, char sets[][160], int cap);

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

/* overopt fit DIR (cmd_fit.c), overopt sweep CONFIG [...] (sweep.c): collective on the world;
 * return codes follow commands.h / main.c (< 0: agreed exit code, > 0: abort). */
int cmd_fit(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

#endif
