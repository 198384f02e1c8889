/* artifact: where a run's files live, whether one is up to date, and how one is stamped.
 *
 * A run directory DIR = run.out_dir/run.name holds the world's artifacts (shared by every
 * replicate: lm_<size>.h5, gold.h5, bon_samples.h5) and, with run.replicates = R >= 2, one
 * directory DIR/rep<i> per replicate with that replicate's artifacts (prefs.h5, rm.h5, bon.h5,
 * ppo_<tag>.h5, fits.csv, ...). With R = 1 the replicate directory is DIR itself.
 *
 * Invariants:
 * - An HDF5 artifact is up to date when it opens, its root attribute config_hash equals its
 *   stage's dependency hash, and every file it consists of (the table written with it: bon.csv,
 *   ppo_<tag>.csv, rm_members.csv, lm_<size>_train.csv) exists with the content hash recorded
 *   in the artifact as attribute "content_hash:<file>" (so such a table is written before its
 *   .h5). Nothing else decides freshness of HDF5 files; a deleted or edited table reruns the
 *   stage that makes it (#12).
 * - The dependency hash is the hash of the config keys the stage depends on (its `depends` list
 *   in run.c, or a finer hash the stage computes per file, e.g. one PPO run) and of the content
 *   of its inputs: the corpus, gold.checkpoint, and the upstream artifacts it reads (content,
 *   not mtime), so changing any input reruns exactly what depends on it. Each file is hashed
 *   once per process (FNV-1a 64, a few ms per 10 MB).
 * - A run directory is locked by the run's rank 0 (fcntl lock on DIR/.overopt.lock, which names
 *   the holder's host and pid) for the whole run; with the lock held, temporaries "*.tmp.<pid>"
 *   left by an interrupted run are removed.
 * - An artifact missing here may be reused from a sharing directory (another sweep point) at the
 *   same path relative to the run directory, when its hash matches: it is hard-linked (or
 *   symlinked) in, with its sibling .csv.
 * - Artifacts are written by the scope's rank 0 through h5io (temporary name, renamed on
 *   success), so a reader never sees half a file.
 */
#ifndef OO_ARTIFACT_H
#define OO_ARTIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "io/h5io.h"

typedef enum {
  ART_WORLD,     /* in the run directory, shared by every replicate */
  ART_REPLICATE, /* in the replicate's directory (the run directory when R = 1) */
  ART_RUN,       /* in the run directory, made from every replicate (summary, report) */
} art_scope;

struct oo_run;

/* Path of a replicate artifact (the current replicate's directory). */
int run_path(const struct oo_run *run, const char *name, char *out, size_t cap);
/* Path of a world (or run-level) artifact. */
int run_world_path(const struct oo_run *run, const char *name, char *out, size_t cap);
/* Path of an artifact of the given scope. */
int artifact_path(const struct oo_run *run, art_scope scope, const char *name, char *out, size_t cap);
/* Writes the common attributes of an artifact (config_hash of the current stage, the resolved
 * config, version, world size, world seed and replicate seed) on the root of w. */
int run_stamp(const struct oo_run *run, h5_writer *w);
/* run_stamp with an explicit config_hash, for a stage whose artifacts each carry their own hash
 * (pretrain's LMs, ppo's runs). */
int run_stamp_hash(const struct oo_run *run, h5_writer *w, const char *config_hash);
/* The reading side of a stage's resume file (rank 0): opens path when it exists and its
 * config_hash (run_stamp_hash's) is hash. 1: r is open, the caller reads what it needs and closes
 * it; 0: there is none or it is not usable, with the warning "<who>: not resuming from '<path>'
 * (<then>): <why>" when a file was there, never silently (#12). */
int resume_open(h5_reader *r, const char *path, const char *hash, const char *who, const char *then);
/* Records on the root of w the content hash of each file the artifact consists of (its table,
 * written before; see the invariants). run_stamp calls it; so does a command that rewrites an
 * artifact under its own stamp (bon-curves --out bon). */
int artifact_stamp_files(h5_writer *w);
/* 1 if the artifact exists with the given hash (reusing a sharing directory's copy as above).
 * Rank-local (file system). */
int artifact_current(const struct oo_run *run, art_scope scope, const char *name, const char *hash);
/* Collective on run->comms.world: rank 0 decides artifact_current, broadcast to all. */
int artifact_current_all(const struct oo_run *run, art_scope scope, const char *name, const char *hash);
/* The same with the current stage's hash and scope (run->stage_hash, run->scope). */
int run_artifact_current_all(const struct oo_run *run, const char *name);

/* Content hash of a file, or of a directory's files (names and contents, in name order; hidden
 * files, *.dat and *.u8 skipped as corpus_load does). Cached per process. Rank-local. */
int artifact_content_hash(const char *path, uint64_t *out);
/* Fingerprint of a stage's inputs: the corpus (run->cfg.corpus.path) and each of paths (a
 * missing one counts as "missing"; its stage names it). Collective on run->comms.world: rank 0
 * hashes, the result is broadcast. */
int artifact_inputs_hash(const struct oo_run *run, const char *const *paths, int n, uint64_t *out);

/* Rank 0: takes the run directory's lock (DIR/.overopt.lock, fcntl, released when fd closes or
 * the process ends, so a killed run never leaves a stale lock); an error names the holder. */
int artifact_lock_dir(const char *dir, int *fd);
void artifact_unlock_dir(int *fd);
/* Rank 0, with the lock held: removes "*.tmp.<pid>" files in dir (left by a killed run). */
int artifact_remove_temporaries(const char *dir);

#endif
