/* provenance: provenance.json beside provenance.txt in a run directory, and config.json beside
 * config.cfg (issue #14).
 *
 * provenance.json holds what reproduces or explains a run: overopt's version, the git commit and
 * dirty flag of the source tree it was built from (found at configure time), the command line,
 * every rank's host, the MPI, HDF5, libconfig, OpenBLAS and compiler versions, the corpus path
 * and a hash of its contents, the seeds and replicate count, the start time, and the start and end
 * of every stage run in this invocation (rewritten after each stage, so a crashed run still shows
 * what finished). Each invocation of `overopt run` rewrites it; provenance.txt keeps the history.
 */
#ifndef OO_PROVENANCE_H
#define OO_PROVENANCE_H

#include <time.h>

#include "run.h"

/* Records the command line (main.c, before global options are removed). */
void provenance_set_argv(int argc, char **argv);
/* Collective on run->comms.world: gathers the hosts, and rank 0 writes run->dir/provenance.json
 * with no stages yet. Every rank keeps the header, so the leader of any replicate group can
 * rewrite its directory's file. */
int provenance_begin(const oo_run *run);
/* After a stage: the leader of run->comms (its rank 0) records the stage's wall-clock start and
 * end and status ("done", "up to date", "stopped", "failed") and rewrites run->dir/provenance.json. */
void provenance_stage(const oo_run *run, const char *stage, time_t start, const char *status);
/* Writes DIR/config.json (cfg_write_json). Rank 0 of the caller only. */
int provenance_config_json(const oo_config *cfg, const char *dir);

#endif
