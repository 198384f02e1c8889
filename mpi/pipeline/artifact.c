/* artifact: paths, freshness, content fingerprints and stamps of a run's files, and the run
 * directory's lock (see artifact.h). */
#define _POSIX_C_SOURCE 200809L
#include "artifact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- files an artifact consists of -------------------------------------------------------- */

/* The files an HDF5 artifact consists of besides itself: the table written with it, which fit
 * and report read. Partial files (resume state) and PPO policies have none. */
static int artifact_siblings(const char *h5_path, char sib[][256], int cap) {
  const char *slash = strrchr(h5_path, '/');
  const char *base = slash ? slash + 1 : h5_path;
  size_t n = strlen(base);
  if (cap < 1 || n < 4 || strcmp(base + n - 3, ".h5") != 0) return 0;
  if (n > 11 && strcmp(base + n - 11, ".partial.h5") == 0) return 0;
  int stem = (int)(n - 3);
  if (!strcmp(base, "rm.h5")) snprintf(sib[0], 256, "rm_members.csv");
  else if (!strcmp(base, "bon.h5")) snprintf(sib[0], 256, "bon.csv");
  else if (!strncmp(base, "lm_", 3)) snprintf(sib[0], 256, "%.*s_train.csv", stem, base);
  else if (!strncmp(base, "ppo_", 4) && !(n > 10 && !strcmp(base + n - 10, "_policy.h5")))
    snprintf(sib[0], 256, "%.*s.csv", stem, base);
  else return 0;
  return 1;
}

/* DIR/name for a file beside path. */
static int beside(const char *path, const char *name, char *out, size_t cap) {
  const char *slash = strrchr(path, '/');
  int dir = slash ? (int)(slash - path) : 1;
  int n = snprintf(out, cap, "%.*s/%s", dir, slash ? path : ".", name);
  return n > 0 && (size_t)n < cap ? OO_OK : oo_error_at(__FILE__, __LINE__, "path too long: %s/%s", path, name);
}

/* ---- content hashes ----------------------------------------------------------------------- */

/* Each file is read once per process: the cache keys a hash by path, device, inode, size and
 * modification time (every artifact is replaced by a rename, so a rewritten file has a new inode;
 * a file edited in place changes its size or its mtime). */
typedef struct {
  char path[4096];   /* the file */
  struct stat st;    /* what it was when hashed */
  uint64_t hash;     /* its content hash */
} hash_memo;
static hash_memo memo[32];
static int n_memo, next_memo;

static int same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int hash_regular(const char *path, const struct stat *st, uint64_t *out) {
  for (int i = 0; i < n_memo; i++)
    if (!strcmp(memo[i].path, path) && same_file(&memo[i].st, st)) {
      *out = memo[i].hash;
      return OO_OK;
    }
  FILE *f = fopen(path, "rb");
  REQUIRE(f, "cannot read '%s' to fingerprint it: %s", path, strerror(errno));
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = xmalloc(CHUNK);
  uint64_t h = 0;
  size_t got;
  while ((got = fread(buf, 1, CHUNK, f)) > 0) h = oo_hash_bytes(buf, got, h);
  int bad = ferror(f);
  fclose(f);
  xfree(&buf);
  REQUIRE(!bad, "cannot read '%s' to fingerprint it", path);
  hash_memo *m = &memo[next_memo];
  next_memo = (next_memo + 1) % (int)(sizeof memo / sizeof memo[0]);
  if (n_memo < (int)(sizeof memo / sizeof memo[0])) n_memo++;
  snprintf(m->path, sizeof m->path, "%s", path);
  m->st = *st;
  m->hash = h;
  *out = h;
  return OO_OK;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A directory: its files in name order, each name and content; the same files corpus_load reads
 * (hidden files, *.dat and *.u8 are skipped there and here). */
static int hash_directory(const char *dir, uint64_t *out) {
  DIR *d = opendir(dir);
  REQUIRE(d, "cannot read directory '%s' to fingerprint it: %s", dir, strerror(errno));
  int n = 0, cap = 64;
  char **names = xmalloc((size_t)cap * sizeof *names);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || (len >= 4 && !strcmp(e->d_name + len - 4, ".dat")) ||
        (len >= 3 && !strcmp(e->d_name + len - 3, ".u8")))
      continue;
    if (n == cap) names = xrealloc(names, (size_t)(cap *= 2) * sizeof *names);
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_name);
  uint64_t h = 0;
  int rc = OO_OK;
  for (int i = 0; i < n && !rc; i++) {
    char path[4400];
    struct stat st;
    rc = oo_path_join(path, sizeof path, dir, names[i]);
    if (rc || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    uint64_t fh = 0;
    rc = hash_regular(path, &st, &fh);
    h = oo_hash_bytes(names[i], strlen(names[i]) + 1, h);
    h = oo_hash_bytes(&fh, sizeof fh, h);
  }
  for (int i = 0; i < n; i++) xfree(&names[i]);
  xfree(&names);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  *out = h;
  return OO_OK;
}

int artifact_content_hash(const char *path, uint64_t *out) {
  struct stat st;
  REQUIRE(stat(path, &st) == 0, "cannot read '%s' to fingerprint it: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return hash_directory(path, out);
  return hash_regular(path, &st, out);
}

static void hex16(uint64_t h, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)h); }

int artifact_inputs_hash(const oo_run *run, const char *const *paths, int n, uint64_t *out) {
  int rc = OO_OK;
  uint64_t h = 0;
  if (run->comms.rank == 0) {
    const oo_config *cfg = &run->cfg;
    const char *corpus = cfg->corpus.path;
    h = oo_hash_bytes("inputs", 6, h);
    for (int i = -1; i < n && !rc; i++) {
      const char *p = i < 0 ? corpus : paths[i];
      uint64_t fh = 0x6d697373696e67ULL; /* a missing input ("missing"): the stage names it */
      if (oo_file_exists(p)) rc = artifact_content_hash(p, &fh);
      h = oo_hash_bytes(&fh, sizeof fh, h);
    }
  }
  CHECK(oo_agree(run->comms.world, rc, "rank 0 could not fingerprint the inputs"));
  CHECK_MPI(MPI_Bcast(&h, 1, MPI_UINT64_T, 0, run->comms.world));
  *out = h;
  return OO_OK;
}

/* ---- stamps and freshness ---------------------------------------------------------------- */

int artifact_stamp_files(h5_writer *w) {
  char sib[2][256];
  int n = artifact_siblings(w->path, sib, 2);
  for (int i = 0; i < n; i++) { /* the table is written first, so its hash can be recorded here */
    char path[4400], attr[600], hex[17];
    CHECK(beside(w->path, sib[i], path, sizeof path));
    uint64_t h;
    REQUIRE(oo_file_exists(path), "%s must be written before %s, which records its content hash", path, w->path);
    CHECK(artifact_content_hash(path, &h));
    hex16(h, hex);
    snprintf(attr, sizeof attr, "content_hash:%s", sib[i]);
    CHECK(h5_attr_write_str(w, "/", attr, hex));
  }
  return OO_OK;
}

int run_stamp(const oo_run *run, h5_writer *w) { return run_stamp_hash(run, w, run->stage_hash); }

int resume_open(h5_reader *r, const char *path, const char *hash, const char *who, const char *then) {
  if (!oo_file_exists(path)) return 0;
  if (h5_open(r, path)) {
    LOG_WARN("%s: not resuming from '%s' (%s): %s", who, path, then, oo_error_message());
    oo_error_clear();
    return 0;
  }
  char got[64] = "";
  if (h5_attr_read_str(r, "/", "config_hash", got, sizeof got) == OO_OK && !strcmp(got, hash)) return 1;
  oo_error_clear();
  LOG_WARN("%s: not resuming from '%s' (%s): it was written for another config", who, path, then);
  h5_close(r);
  return 0;
}

int run_stamp_hash(const oo_run *run, h5_writer *w, const char *config_hash) {
  CHECK(h5_attr_write_str(w, "/", "config_hash", config_hash));
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
  return artifact_stamp_files(w);
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
  /* every file the artifact consists of exists with the content recorded when it was written */
  char sib[2][256];
  int n = ok ? artifact_siblings(path, sib, 2) : 0;
  for (int i = 0; i < n && ok; i++) {
    char spath[4400], attr[600], want[64] = "", hex[17] = "";
    uint64_t h;
    snprintf(attr, sizeof attr, "content_hash:%s", sib[i]);
    ok = beside(path, sib[i], spath, sizeof spath) == OO_OK && h5_attr_has(&r, "/", attr) &&
         h5_attr_read_str(&r, "/", attr, want, sizeof want) == OO_OK;
    if (ok && oo_file_exists(spath) && artifact_content_hash(spath, &h) == OO_OK) hex16(h, hex);
    if (ok && strcmp(hex, want) != 0) {
      LOG_INFO("%s: %s is %s since %s was written: it is made again", sib[i], spath,
               oo_file_exists(spath) ? "changed" : "missing", path);
      ok = 0;
    }
  }
  h5_close(&r);
  oo_error_clear();
  return ok;
}

/* A reused artifact brings the files it consists of (bon.csv, ppo_<tag>.csv, ...: the curves fit
 * and report read); hash_matches checked them in the other directory. */
static void link_siblings(const char *path, const char *other) {
  char sib[2][256];
  int n = artifact_siblings(path, sib, 2);
  for (int i = 0; i < n; i++) {
    char mine[4400], theirs[4400];
    if (beside(path, sib[i], mine, sizeof mine) || beside(other, sib[i], theirs, sizeof theirs)) {
      oo_error_clear();
      continue;
    }
    unlink(mine);
    if (link(theirs, mine) != 0 && symlink(theirs, mine) != 0)
      LOG_WARN("%s: cannot link %s to %s: %s", mine, theirs, mine, strerror(errno));
  }
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
      link_siblings(path, other);
      return 1;
    }
  }
  return 0;
}

int artifact_current_all(const oo_run *run, art_scope scope, const char *name, const char *hash) {
  int cur = run->comms.rank == 0 ? artifact_current(run, scope, name, hash) : 0;
  CHECK_MPI_DIE(MPI_Bcast(&cur, 1, MPI_INT, 0, run->comms.world)); /* returns a flag, not a status */
  return cur;
}

int run_artifact_current_all(const oo_run *run, const char *name) {
  return artifact_current_all(run, run->scope, name, run->stage_hash);
}

/* ---- the run directory's lock ------------------------------------------------------------- */

int artifact_lock_dir(const char *dir, int *fd_out) {
  *fd_out = -1;
  char path[4400], host[256] = "?";
  CHECK(oo_path_join(path, sizeof path, dir, ".overopt.lock"));
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0, "cannot open the lock file '%s': %s", path, strerror(errno));
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_SETLK, &fl) != 0) {
    int err = errno;
    char holder[300] = "";
    ssize_t got = pread(fd, holder, sizeof holder - 1, 0);
    holder[got > 0 ? got : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
    close(fd); /* this process held no lock on it: closing releases nothing */
    if (err == EACCES || err == EAGAIN)
      OO_FAIL("run directory '%s' is in use by another overopt run (%s; lock %s): wait for it to end, or set another "
              "run.name or run.out_dir",
              dir, holder[0] ? holder : "holder unknown", path);
    OO_FAIL("cannot lock '%s': %s", path, strerror(err));
  }
  gethostname(host, sizeof host - 1);
  char text[320];
  int n = snprintf(text, sizeof text, "host %s, pid %ld\n", host, (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n)
    LOG_WARN("%s: cannot record the holder: %s", path, strerror(errno));
  *fd_out = fd;
  return OO_OK;
}

void artifact_unlock_dir(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

int artifact_remove_temporaries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return OO_OK; /* not made yet */
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    const char *t = strstr(e->d_name, ".tmp.");
    if (!t || t == e->d_name || strspn(t + 5, "0123456789") != strlen(t + 5) || !t[5]) continue;
    char path[4400];
    if (oo_path_join(path, sizeof path, dir, e->d_name) == OO_OK && unlink(path) == 0) n++;
    oo_error_clear();
  }
  closedir(d);
  if (n) LOG_INFO("%s: removed %d temporary file%s left by an interrupted run", dir, n, n == 1 ? "" : "s");
  return OO_OK;
}
