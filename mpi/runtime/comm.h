/* comm: the role communicators split once from the world by the layout, plus how errors and
 * signals cross ranks.
 *
 * Invariants:
 * - comm_build is the only place that splits the world; modules receive these communicators.
 * - rank within member_comm[m] == replica index of m on that rank; rank within rm_comm ==
 *   rm_index; rank within policy_comm == rollout_index (layout.h).
 * - Every communicator has an error handler that records the failing communicator's name and
 *   returns (inherited from the world, set by oo_mpi_init), so MPI failures come back as codes:
 *   every MPI call in mpi/ is wrapped in CHECK_MPI (or CHECK_MPI_GOTO, CHECK_MPI_DIE), whose
 *   message names the call, the rank and the communicator. tests/lint_mpi.py enforces it.
 * - Ranks agree on success through oo_agree (one allreduce), not hand-written broadcasts of
 *   return codes.
 * - A stop request is not an error: oo_stop_requested is the one collective that asks, and once
 *   it says yes oo_stopped() stays true; stages return OO_OK after saving what a rerun needs,
 *   and the driver exits with code 3 when oo_stopped().
 * - An error on one rank ends the job: oo_mpi_die prints "[rank r] message" and MPI_Aborts the
 *   world; a fatal error (OO_FATAL, out of memory) does the same through the fatal handler.
 */
#ifndef OO_COMM_H
#define OO_COMM_H

#include <mpi.h>

#include "layout.h"

typedef struct {
  MPI_Comm world;        /* duplicate of the world passed to comm_build */
  int rank;              /* rank in world */
  int size;              /* world size P */
  int k;                 /* ensemble members K */
  MPI_Comm rm_comm;      /* RM ranks; MPI_COMM_NULL elsewhere */
  int rm_rank;           /* rank in rm_comm (== rm_index), -1 if not an RM rank */
  int rm_size;           /* n_rm on every rank */
  MPI_Comm policy_comm;  /* rollout ranks; MPI_COMM_NULL elsewhere */
  int policy_rank;       /* rank in policy_comm (== rollout_index), -1 if not a rollout rank */
  int policy_size;       /* n_rollout on every rank */
  MPI_Comm *member_comm; /* (K) ranks hosting member m; MPI_COMM_NULL where m is not hosted */
  int *member_rank;      /* (K) rank in member_comm[m] (== replica index), -1 if not hosted */
  int *member_size;      /* (K) replicas of member m, on every rank */
} oo_comms;

/* Collective on world: duplicates it and splits the role communicators of lay (built for the
 * world's size; an error otherwise, detected by every rank alike). Free with comm_free. */
int comm_build(oo_comms *c, MPI_Comm world, const oo_layout *lay);
/* Collective on c->world (MPI_Comm_free is collective on each communicator). */
void comm_free(oo_comms *c);

/* ---- errors across ranks ---------------------------------------------------------------- */

/* MPI_Init_thread (MPI_THREAD_FUNNELED, for the watchdog thread: watchdog.h), MPI_ERRORS_RETURN on MPI_COMM_WORLD, oo_log_set_rank(world rank), and a fatal
 * handler that calls MPI_Abort(MPI_COMM_WORLD, code). */
int oo_mpi_init(int *argc, char ***argv);
/* Prints "[rank r] <oo_error_message()>" to stderr and aborts every rank with rc (1 if rc is 0).
 * Use when a fallible call failed on some ranks only, or when others may be waiting. */
_Noreturn void oo_mpi_die(int rc);
/* Records "file:line: what failed on rank r (communicator NAME): <MPI error string>" as the
 * current error (the name is the one comm_build gave, recorded by the error handler); returns
 * OO_ERR. */
int oo_mpi_error_at(int mpi_rc, const char *file, int line, const char *what);
#define CHECK_MPI(call)                                                                       \
  do {                                                                                        \
    int oo_mpi_rc_ = (call);                                                                  \
    if (oo_mpi_rc_ != MPI_SUCCESS) return oo_mpi_error_at(oo_mpi_rc_, __FILE__, __LINE__, #call); \
  } while (0)
/* The status of an MPI call as an overopt status: OO_OK, or the recorded error (for `if (!rc) rc =
 * ...` chains and loops that break on an error). */
#define OO_MPI_RC(call) oo_mpi_status((call), __FILE__, __LINE__, #call)
static inline int oo_mpi_status(int mpi_rc, const char *file, int line, const char *what) {
  return mpi_rc == MPI_SUCCESS ? 0 : oo_mpi_error_at(mpi_rc, file, line, what);
}
/* On failure: rc = the recorded error, then goto label (for functions that own resources). */
#define CHECK_MPI_GOTO(rc, call, label)                                                       \
  do {                                                                                        \
    int oo_mpi_rc_ = (call);                                                                  \
    if (oo_mpi_rc_ != MPI_SUCCESS) {                                                          \
      (rc) = oo_mpi_error_at(oo_mpi_rc_, __FILE__, __LINE__, #call);                          \
      goto label;                                                                             \
    }                                                                                         \
  } while (0)
/* On failure: report and abort every rank (for void functions and teardown, where no caller
 * could act on a status and other ranks may be waiting). */
#define CHECK_MPI_DIE(call)                                                                   \
  do {                                                                                        \
    int oo_mpi_rc_ = (call);                                                                  \
    if (oo_mpi_rc_ != MPI_SUCCESS) oo_mpi_die(oo_mpi_error_at(oo_mpi_rc_, __FILE__, __LINE__, #call)); \
  } while (0)

/* Collective on comm: whether rc is OO_OK on every rank (one allreduce). Returns OO_OK on every
 * rank when it is. Otherwise a rank whose rc failed returns it, its message kept, and every
 * other rank records `others` as its message and returns OO_ERR; so all ranks leave together,
 * and the one that knows why says why. */
int oo_agree(MPI_Comm comm, int rc, const char *others);

/* ---- signals --------------------------------------------------------------------------- */

/* SIGTERM and SIGUSR1 (Slurm's warning before the time limit) set a flag; nothing else. */
void oo_signals_install(void);
/* Collective on comm: MAX-allreduce of the local flag, so every rank agrees to stop at the same
 * step boundary. Returns 1 if any rank got a signal (or had already agreed to stop), and from
 * then on oo_stopped() is 1 on this rank. The one question a stage asks; an MPI failure here
 * aborts the job. */
int oo_stop_requested(MPI_Comm comm);
/* Whether this rank has agreed (through oo_stop_requested) to stop: a stage that returns
 * OO_OK with oo_stopped() has saved what a rerun needs and wrote no artifact; the driver exits
 * with OO_EXIT_STOPPED (run.h). No communication. */
int oo_stopped(void);
/* This rank's flag alone (no communication): for loops whose iteration counts differ across
 * ranks, which then agree once through oo_stop_requested on a communicator they share. */
int oo_stop_local(void);
/* A stop request that reached this rank from another rank (stage_rm's notices): from now on this
 * rank asks to stop as if it had got the signal. No communication. */
void oo_stop_notice(void);

#endif
