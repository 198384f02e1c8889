/* comm: role communicators, cross-rank errors and stop signals (see comm.h). */
#define _POSIX_C_SOURCE 200809L
#include "comm.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int oo_mpi_error_at(int mpi_rc, const char *file, int line, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpi_rc, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "MPI error code %d", mpi_rc);
  return oo_error_at(file, line, "%s failed: %s", what, text);
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
  CHECK(split(c->world, ro->is_rm, ro->rm_index, &c->rm_comm));
  c->policy_rank = ro->rollout_index;
  c->policy_size = lay->n_rollout;
  CHECK(split(c->world, ro->is_rollout, ro->rollout_index, &c->policy_comm));

  c->member_comm = xmalloc((size_t)lay->k * sizeof *c->member_comm);
  c->member_rank = xmalloc((size_t)lay->k * sizeof *c->member_rank);
  c->member_size = xmalloc((size_t)lay->k * sizeof *c->member_size);
  for (int m = 0; m < lay->k; m++) c->member_comm[m] = MPI_COMM_NULL;
  for (int m = 0; m < lay->k; m++) { /* one split per member: a rank may host several */
    int rep = layout_replica(lay, c->rank, m);
    c->member_rank[m] = rep;
    c->member_size[m] = lay->n_replicas[m];
    CHECK(split(c->world, rep >= 0, rep, &c->member_comm[m]));
  }
  return OO_OK;
}

static void free_comm(MPI_Comm *comm) {
  if (*comm != MPI_COMM_NULL) MPI_Comm_free(comm);
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

static void abort_world(int code) { MPI_Abort(MPI_COMM_WORLD, code ? code : 1); }

int oo_mpi_init(int *argc, char ***argv) {
  /* FUNNELED: only the main thread calls MPI; the watchdog thread (watchdog.h) never does */
  int provided = MPI_THREAD_SINGLE;
  int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS) return oo_mpi_error_at(rc, __FILE__, __LINE__, "MPI_Init_thread");
  CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
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
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Abort(MPI_COMM_WORLD, rc ? rc : 1);
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

int oo_stop_local(void) { return stop_flag ? 1 : 0; }

int oo_stop_requested(MPI_Comm comm) {
  int local = stop_flag ? 1 : 0, any = 0;
  int rc = MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, comm);
  if (rc != MPI_SUCCESS) {
    oo_mpi_error_at(rc, __FILE__, __LINE__, "MPI_Allreduce of the stop flag");
    oo_mpi_die(rc);
  }
  return any;
}
