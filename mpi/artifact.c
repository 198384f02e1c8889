/* artifact: paths, freshness and stamps of a run's files (see artifact.h). */
#define _POSIX_C_SOURCE 200809L
#include "artifact.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "run.h"

int artifact_path(const oo_run *run, art_scope scope, const char *name, char *out, size_t cap) {
  return oo_path_join(out, cap, scope == ART_REPLICATE ? run->dir : run->world_dir, name);
}

int run_path(const oo_run *run, const char *name, char *out, size_t cap) {
  return artifact_path(run, ART_REPLICATE, name, out, cap);
}

int run_world_path(const oo_run *run, const char *name, char *out, size_t cap) {
  return artifact_path(run, ART_WORLD, name, out, cap);
}

int run_stamp(const oo_run *run, h5_writer *w) {
  CHECK(h5_attr_write_str(w, "/", "config_hash", run->stage_hash));
  char *text = cfg_to_string(&run->cfg);
  int rc = h5_attr_write_str(w, "/", "config", text);
  xfree(&text);
  CHECK(rc);
  CHECK(h5_attr_write_str(w, "/", "overopt_version", OVEROPT_VERSION));
  CHECK(h5_attr_write_str(w, "/", "stage", run->stage ? run->stage : ""));
  CHECK(h5_attr_write_int(w, "/", "world_size", run->comms.size));
  CHECK(h5_attr_write_int(w, "/", "world_seed", run->cfg.run.world_seed));
  if (run->scope == ART_REPLICATE) {
    CHECK(h5_attr_write_int(w, "/", "replicate", run->replicate));
    CHECK(h5_attr_write_int(w, "/", "seed", run->cfg.run.seed));
  }
  return OO_OK;
}

static int hash_matches(const char *path, const char *hash) {
  if (!oo_file_exists(path)) return 0;
  h5_reader r;
  if (h5_open(&r, path) != OO_OK) {
    oo_error_clear();
    return 0;
  }
  char got[64] = "";
  int ok = h5_attr_has(&r, "/", "config_hash") &&
           h5_attr_read_str(&r, "/", "config_hash", got, sizeof got) == OO_OK && strcmp(got, hash) == 0;
  h5_close(&r);
  oo_error_clear();
  return ok;
}

/* A reused X.h5 brings its X.csv (bon.csv, ppo_<tag>.csv: the curves fit and report read) when the
 * other directory has one. */
static void link_sibling_csv(const char *path, const char *other) {
  size_t lp = strlen(path), lo = strlen(other);
  if (lp < 3 || lo < 3 || strcmp(path + lp - 3, ".h5") != 0 || strcmp(other + lo - 3, ".h5") != 0) return;
  char csv[4400], other_csv[4400];
  snprintf(csv, sizeof csv, "%.*s.csv", (int)(lp - 3), path);
  snprintf(other_csv, sizeof other_csv, "%.*s.csv", (int)(lo - 3), other);
  if (!oo_file_exists(other_csv)) return;
  unlink(csv);
  if (link(other_csv, csv) != 0 && symlink(other_csv, csv) != 0)
    LOG_WARN("%s: cannot link %s to %s: %s", csv, other_csv, csv, strerror(errno));
}

int artifact_current(const oo_run *run, art_scope scope, const char *name, const char *hash) {
  char path[4400];
  if (artifact_path(run, scope, name, path, sizeof path)) return 0;
  if (hash_matches(path, hash)) return 1;
  /* the same file of another run directory: its path relative to that directory */
  char rel[4400];
  int n = snprintf(rel, sizeof rel, "%s%s", scope == ART_REPLICATE ? run->rep_rel : "", name);
  if (n < 0 || (size_t)n >= sizeof rel) return 0;
  for (int i = 0; i < run->n_share; i++) {
    char other[4400];
    if (oo_path_join(other, sizeof other, run->share[i], rel)) continue;
    if (!hash_matches(other, hash)) continue;
    unlink(path);
    if (link(other, path) == 0 || symlink(other, path) == 0) {
      LOG_INFO("%s: reusing %s", run->stage, other);
      link_sibling_csv(path, other);
      return 1;
    }
  }
  return 0;
}

int artifact_current_all(const oo_run *run, art_scope scope, const char *name, const char *hash) {
  int cur = run->comms.rank == 0 ? artifact_current(run, scope, name, hash) : 0;
  MPI_Bcast(&cur, 1, MPI_INT, 0, run->comms.world);
  return cur;
}

int run_artifact_current(const oo_run *run, const char *name) {
  return artifact_current(run, run->scope, name, run->stage_hash);
}

int run_artifact_current_all(const oo_run *run, const char *name) {
  return artifact_current_all(run, run->scope, name, run->stage_hash);
}
