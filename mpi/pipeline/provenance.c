/* provenance: provenance.json and config.json of a run directory (see provenance.h). */
#define _DEFAULT_SOURCE /* gethostname, realpath */
#include "provenance.h"

#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/core.h"
#include "core/metrics.h"

#ifndef OVEROPT_GIT_COMMIT
#define OVEROPT_GIT_COMMIT "" /* not built from a git checkout */
#endif
#ifndef OVEROPT_GIT_DIRTY
#define OVEROPT_GIT_DIRTY -1
#endif

#define PROV_MAX_STAGES 256

typedef struct {
  char dir[4096];     /* run directory the stage belongs to */
  char stage[32];     /* stage name */
  char where[16];     /* replicate index as text, or "" */
  time_t start, end;  /* wall clock */
  char status[16];    /* done, up to date, stopped, failed */
} prov_stage;

static char *cmdline;       /* the command line as a JSON array (xmalloc'ed) */
static char *header;        /* the JSON members before "stages" (xmalloc'ed, on every rank) */
static prov_stage *records; /* (PROV_MAX_STAGES) stages run by this process as a leader */
static int n_records;

void provenance_set_argv(int argc, char **argv) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return;
  fputc('[', f);
  for (int i = 0; i < argc; i++) fputs(i ? ", " : "", f), oo_json_string(f, argv[i]);
  fputc(']', f);
  fclose(f);
  xfree(&cmdline);
  cmdline = xstrdup(buf);
  free(buf); /* open_memstream's */
}

static void iso_time(time_t t, char *out, size_t cap) {
  struct tm tm;
  strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

/* FNV-1a over the bytes of a file, or of every regular file of a directory in name order (names
 * hashed too): the corpus's content hash. *bytes counts what was read. */
static int hash_path(const char *path, uint64_t *h, long *bytes) {
  struct stat st;
  REQUIRE(stat(path, &st) == 0, "cannot stat corpus '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    REQUIRE(n >= 0, "cannot list corpus '%s': %s", path, strerror(errno));
    int rc = OO_OK;
    for (int i = 0; i < n; i++) {
      char sub[4400];
      if (!rc && names[i]->d_name[0] != '.' && snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name) < (int)sizeof sub &&
          stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
        *h = oo_hash_bytes(names[i]->d_name, strlen(names[i]->d_name), *h);
        rc = hash_path(sub, h, bytes);
      }
      free(names[i]);
    }
    free(names);
    return rc;
  }
  FILE *f = fopen(path, "rb");
  REQUIRE(f, "cannot read corpus '%s': %s", path, strerror(errno));
  char buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) *h = oo_hash_bytes(buf, got, *h), *bytes += (long)got;
  fclose(f);
  return OO_OK;
}

int provenance_begin(const oo_run *run) {
  const int rank = run->comms.rank, size = run->comms.size;
  char host[256] = "?";
  gethostname(host, sizeof host - 1);
  char *hosts = rank == 0 ? xcalloc((size_t)size, sizeof host) : NULL;
  CHECK_MPI(MPI_Gather(host, sizeof host, MPI_CHAR, hosts, sizeof host, MPI_CHAR, 0, run->comms.world));
  int len = 0;
  if (rank == 0) {
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    if (!f) OO_FATAL("open_memstream failed: %s", strerror(errno));
    char now[40], mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    iso_time(time(NULL), now, sizeof now);
    int mlen = 0;
    if (OO_MPI_RC(MPI_Get_library_version(mpi, &mlen))) mlen = snprintf(mpi, sizeof mpi, "unknown MPI");
    while (mlen > 0 && (mpi[mlen - 1] == '\n' || mpi[mlen - 1] == ' ')) mpi[--mlen] = 0;
    char *nl = strchr(mpi, '\n');
    if (nl) *nl = 0; /* the first line names the library and version */
    unsigned h5[3] = {0, 0, 0};
    H5get_libversion(&h5[0], &h5[1], &h5[2]);
    uint64_t hash = 0;
    long bytes = 0;
    int hrc = hash_path(run->cfg.corpus.path, &hash, &bytes);
    if (hrc) oo_error_clear(); /* a missing corpus fails in pretrain with its own message */
    char abs[4096];
    fprintf(f, "  \"overopt_version\": \"%s\",\n  \"git_commit\": ", OVEROPT_VERSION);
    if (OVEROPT_GIT_COMMIT[0]) oo_json_string(f, OVEROPT_GIT_COMMIT);
    else fputs("null", f);
    fprintf(f, ",\n  \"git_dirty\": %s,\n  \"command_line\": %s,\n  \"config_path\": ",
            OVEROPT_GIT_DIRTY < 0 ? "null" : OVEROPT_GIT_DIRTY ? "true" : "false", cmdline ? cmdline : "[]");
    oo_json_string(f, realpath(run->config_path, abs) ? abs : run->config_path);
    fprintf(f, ",\n  \"started\": \"%s\",\n  \"world_size\": %d,\n  \"hosts\": [", now, size);
    for (int r = 0; r < size; r++) fputs(r ? ", " : "", f), oo_json_string(f, hosts + (size_t)r * sizeof host);
    fprintf(f, "],\n  \"slurm_job_id\": ");
    if (getenv("SLURM_JOB_ID")) oo_json_string(f, getenv("SLURM_JOB_ID"));
    else fputs("null", f);
    fprintf(f, ",\n  \"libraries\": {\"mpi\": ");
    oo_json_string(f, mpi);
    fprintf(f, ", \"hdf5\": \"%u.%u.%u\", \"libconfig\": \"%d.%d.%d\", \"openblas\": ", h5[0], h5[1], h5[2],
            LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION);
    oo_json_string(f, openblas_get_config());
    fprintf(f, ", \"compiler\": ");
    oo_json_string(f, "gcc " __VERSION__);
    fprintf(f, "},\n  \"corpus\": {\"path\": ");
    oo_json_string(f, run->cfg.corpus.path);
    if (hrc) fprintf(f, ", \"fnv1a64\": null, \"bytes\": null},\n");
    else fprintf(f, ", \"fnv1a64\": \"%016llx\", \"bytes\": %ld},\n", (unsigned long long)hash, bytes);
    fprintf(f, "  \"world_seed\": %d,\n  \"seed\": %d,\n  \"replicates\": %d,\n", run->cfg.run.world_seed,
            run->cfg.run.seed, run->cfg.run.replicates);
    fclose(f);
    xfree(&header);
    header = xstrdup(buf);
    free(buf);
    len = (int)strlen(header) + 1;
  }
  xfree(&hosts);
  CHECK_MPI(MPI_Bcast(&len, 1, MPI_INT, 0, run->comms.world));
  if (rank != 0) xfree(&header), header = xmalloc((size_t)len);
  CHECK_MPI(MPI_Bcast(header, len, MPI_CHAR, 0, run->comms.world));
  if (!records) records = xcalloc(PROV_MAX_STAGES, sizeof *records);
  n_records = 0;
  provenance_stage(run, NULL, 0, NULL);
  return OO_OK;
}

static void write_file(const char *dir) {
  char path[4400];
  if (oo_path_join(path, sizeof path, dir, "provenance.json")) return;
  atomic_file af;
  if (atomic_open(&af, path)) { /* provenance is a record, not a result: say so and go on */
    LOG_WARN("%s", oo_error_message());
    oo_error_clear();
    return;
  }
  FILE *f = af.f;
  fprintf(f, "{\n%s  \"stages\": [", header);
  int k = 0;
  for (int i = 0; i < n_records; i++) {
    const prov_stage *s = &records[i];
    if (strcmp(s->dir, dir)) continue;
    char a[40], b[40];
    iso_time(s->start, a, sizeof a);
    iso_time(s->end, b, sizeof b);
    fprintf(f, "%s\n    {\"stage\": \"%s\", \"replicate\": %s, \"start\": \"%s\", \"end\": \"%s\", \"seconds\": %.0f, "
               "\"status\": \"%s\"}", k++ ? "," : "", s->stage, s->where[0] ? s->where : "null", a, b,
            difftime(s->end, s->start), s->status);
  }
  fprintf(f, "%s]\n}\n", k ? "\n  " : "");
  if (atomic_commit(&af)) {
    LOG_WARN("%s", oo_error_message());
    oo_error_clear();
  }
}

void provenance_stage(const oo_run *run, const char *stage, time_t start, const char *status) {
  if (!header || !records || run->comms.rank != 0) return;
  if (stage && n_records < PROV_MAX_STAGES) {
    prov_stage *s = &records[n_records++];
    snprintf(s->dir, sizeof s->dir, "%s", run->dir);
    snprintf(s->stage, sizeof s->stage, "%s", stage);
    if (run->replicate >= 0 && run->cfg.run.replicates > 1) snprintf(s->where, sizeof s->where, "%d", run->replicate);
    else s->where[0] = 0;
    s->start = start, s->end = time(NULL);
    snprintf(s->status, sizeof s->status, "%s", status);
  }
  write_file(run->dir);
}

int provenance_config_json(const oo_config *cfg, const char *dir) {
  char path[4400];
  CHECK(oo_path_join(path, sizeof path, dir, "config.json"));
  atomic_file af;
  CHECK(atomic_open(&af, path));
  if (cfg_write_json(cfg, af.f)) {
    atomic_abort(&af);
    return oo_error_trace(OO_ERR, __FILE__, __LINE__);
  }
  CHECK(atomic_commit(&af));
  return OO_OK;
}
