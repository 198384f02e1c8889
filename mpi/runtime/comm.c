/* comm: role communicators, cross-rank errors and stop signals (see comm.h). */
#define _POSIX_C_SOURCE 200809L
#include "comm.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* The communicator of the last MPI failure on this rank, recorded by the error handler (the
 * call itself then returns the code, as with MPI_ERRORS_RETURN) and consumed by oo_mpi_error_at. */
static char failed_comm[MPI_MAX_OBJECT_NAME];

static void record_comm(MPI_Comm *comm, int *code, ...) {
  (void)code;
  int len = 0;
  if (MPI_Comm_get_name(*comm, failed_comm, &len) != MPI_SUCCESS || len == 0) /* lint-mpi: in the handler */
    snprintf(failed_comm, sizeof failed_comm, "unnamed");
}

int oo_mpi_error_at(int mpi_rc, const char *file, int line, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS) /* lint-mpi: reporting an error */
    snprintf(text, sizeof text, "MPI error code %d", mpi_rc);
  char where[MPI_MAX_OBJECT_NAME + 32] = "";
  if (failed_comm[0]) snprintf(where, sizeof where, " (communicator %s)", failed_comm);
  failed_comm[0] = '\0';
  return oo_error_at(file, line, "%s failed on rank %d%s: %s", what, oo_log_rank(), where, text);
}

int oo_agree(MPI_Comm comm, int rc, const char *others) {
  int failed = rc != OO_OK, any = 0;
  CHECK_MPI(MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, comm));
  if (!any) return OO_OK;
  return failed ? rc : oo_error_at(__FILE__, __LINE__, "%s", others);
}

/* Names a communicator for error messages: "<what>" or "<what>[index]". */
static int name_comm(MPI_Comm comm, const char *what, int index) {
  if (comm == MPI_COMM_NULL) return OO_OK;
  char name[MPI_MAX_OBJECT_NAME];
  if (index >= 0) snprintf(name, sizeof name, "%s[%d]", what, index);
  else snprintf(name, sizeof name, "%s", what);
  CHECK_MPI(MPI_Comm_set_name(comm, name));
  return OO_OK;
}

/* Splits world into the ranks where `member` is true, ordered by key; MPI_COMM_NULL elsewhere. */
static int split(MPI_Comm world, int member, int key, MPI_Comm *out) {
  CHECK_MPI(MPI_Comm_split(world, member ? 0 : MPI_UNDEFINED, key, out));
  return OO_OK;
}

int comm_build(oo_comms *c, MPI_Comm world, const oo_layout *lay) {
  memset(c, 0, sizeof *c);
  c->world = MPI_COMM_NULL;
  c->rm_comm = c->policy_comm = MPI_COMM_NULL;
  int size = 0;
  CHECK_MPI(MPI_Comm_size(world, &size));
  REQUIRE(size == lay->n_ranks,
          "layout was built for %d ranks but the communicator has %d: build it with the "
          "world size", lay->n_ranks, size);
  CHECK_MPI(MPI_Comm_dup(world, &c->world));
  CHECK_MPI(MPI_Comm_rank(c->world, &c->rank));
  c->size = size;
  c->k = lay->k;
  const oo_rank_role *ro = &lay->ranks[c->rank];

  c->rm_rank = ro->rm_index;
  c->rm_size = lay->n_rm;
  CHECK(name_comm(c->world, "world", -1));
  CHECK(split(c->world, ro->is_rm, ro->rm_index, &c->rm_comm));
  CHECK(name_comm(c->rm_comm, "rm_comm", -1));
  c->policy_rank = ro->rollout_index;
  c->policy_size = lay->n_rollout;
  CHECK(split(c->world, ro->is_rollout, ro->rollout_index, &c->policy_comm));
  CHECK(name_comm(c->policy_comm, "policy_comm", -1));

  c->member_comm = xmalloc((size_t)lay->k * sizeof *c->member_comm);
  c->member_rank = xmalloc((size_t)lay->k * sizeof *c->member_rank);
  c->member_size = xmalloc((size_t)lay->k * sizeof *c->member_size);
  for (int m = 0; m < lay->k; m++) c->member_comm[m] = MPI_COMM_NULL;
  for (int m = 0; m < lay->k; m++) { /* one split per member: a rank may host several */
    int rep = layout_replica(lay, c->rank, m);
    c->member_rank[m] = rep;
    c->member_size[m] = lay->n_replicas[m];
    CHECK(split(c->world, rep >= 0, rep, &c->member_comm[m]));
    CHECK(name_comm(c->member_comm[m], "member_comm", m));
  }
  return OO_OK;
}

static void free_comm(MPI_Comm *comm) {
  if (*comm != MPI_COMM_NULL) CHECK_MPI_DIE(MPI_Comm_free(comm));
  *comm = MPI_COMM_NULL;
}

void comm_free(oo_comms *c) {
  if (c->member_comm)
    for (int m = 0; m < c->k; m++) free_comm(&c->member_comm[m]);
  free_comm(&c->rm_comm);
  free_comm(&c->policy_comm);
  free_comm(&c->world);
  xfree(&c->member_comm);
  xfree(&c->member_rank);
  xfree(&c->member_size);
}

/* ---- errors across ranks ---------------------------------------------------------------- */

static void abort_world(int code) { MPI_Abort(MPI_COMM_WORLD, code ? code : 1); /* lint-mpi: aborting */ }

int oo_mpi_init(int *argc, char ***argv) {
  /* FUNNELED: only the main thread calls MPI; the watchdog thread (watchdog.h) never does */
  int provided = MPI_THREAD_SINGLE;
  CHECK_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
  MPI_Errhandler record;
  CHECK_MPI(MPI_Comm_create_errhandler(record_comm, &record));
  CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, record));
  CHECK_MPI(MPI_Errhandler_free(&record)); /* the world keeps its reference */
  CHECK_MPI(MPI_Comm_set_name(MPI_COMM_WORLD, "MPI_COMM_WORLD"));
  int rank = 0;
  CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  oo_log_set_rank(rank);
  oo_set_fatal_handler(abort_world);
  return OO_OK;
}

void oo_mpi_die(int rc) {
  int rank = oo_log_rank();
  const char *msg = oo_error_message();
  fprintf(stderr, "[rank %d] %s\n", rank, msg[0] ? msg : "error (no message recorded)");
  fflush(stderr);
  fflush(stdout);
  int init = 0, fin = 0;
  MPI_Initialized(&init);                                   /* lint-mpi: already failing */
  MPI_Finalized(&fin);                                      /* lint-mpi: already failing */
  if (init && !fin) MPI_Abort(MPI_COMM_WORLD, rc ? rc : 1); /* lint-mpi: aborting */
  exit(rc ? rc : 1);
}

/* ---- signals --------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_flag = 0;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

void oo_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART; /* do not interrupt MPI's or the filesystem's system calls */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

/* Set once this rank's communicator agreed to stop; a later question answers yes at once. */
static int stop_agreed = 0;

int oo_stop_local(void) { return stop_flag ? 1 : 0; }

void oo_stop_notice(void) { stop_flag = 1; }

int oo_stopped(void) { return stop_agreed; }

int oo_stop_requested(MPI_Comm comm) {
  int local = stop_flag || stop_agreed, any = 0;
  CHECK_MPI_DIE(MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, comm));
  if (any) stop_agreed = 1;
  return any;
}
