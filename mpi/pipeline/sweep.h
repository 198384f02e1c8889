/* sweep: `overopt sweep` (a config's sweep axes expanded into run directories, run one after
 * another or as a Slurm job array); the fits it ends with are postprocess.h's.
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

/* The points of a config's sweep axes: cfg_sweep_points and cfg_sweep_point_sets (io/config.h). */

/* The fits and reports of run and sweep directories are in postprocess.h. */

/* overopt sweep CONFIG [...]: collective on the world; return codes follow commands.h / main.c
 * (< 0: agreed exit code, > 0: abort). */
int cmd_sweep(int argc, char **argv);

#endif
