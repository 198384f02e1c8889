/* watchdog: lost ranks, a vanished launcher and stalled collectives end the job loudly (see
 * watchdog.h). */
#define _GNU_SOURCE /* pthread, nanosleep, gethostname */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm.h"
#include "core/core.h"

enum { HOST_CAP = 64 };

static _Atomic(const char *) wd_op;       /* MPI operation the main thread is in, NULL outside */
static _Atomic long long wd_since_ms;     /* when it entered wd_op (monotonic ms) */
static _Atomic(const char *) wd_stage;    /* stage being run (run_stage) */
static _Atomic long long wd_timeout_ms;   /* run.watchdog_s in ms, 0 = no stall check */
static atomic_int wd_finishing;           /* MPI_Finalize entered: ranks may end now */
static int wd_rank = -1, wd_size;         /* this rank in the world, world size */
static pid_t wd_parent;                   /* getppid() at start: mpirun, orted or slurmstepd */
static int wd_watch_parent;               /* 1 under a launcher (more than one rank) */
static pid_t *wd_pids;                    /* (size) every rank's pid */
static int *wd_local;                     /* (size) 1 where the rank runs on this host */
static int wd_leader;                     /* the lowest rank on this host: it watches every rank here */
static char wd_host[HOST_CAP];            /* this host's name */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the operations it watches (MPI profiling interface) ---------------------------------- */

/* Marks the main thread as inside op; returns whether it did (an inner call keeps the outer). */
static int enter(const char *op) {
  if (atomic_load(&wd_op) != NULL) return 0;
  atomic_store(&wd_since_ms, now_ms());
  atomic_store(&wd_op, op);
  return 1;
}
static void leave(int entered) {
  if (entered) atomic_store(&wd_op, (const char *)NULL);
}
/* Returns the interposed call's code to its caller, which checks it (tests/lint_mpi.py counts
 * WATCHED as a checker). */
#define WATCHED(op, call)          \
  do {                             \
    int entered_ = enter(op);      \
    int rc_ = (call);              \
    leave(entered_);               \
    return rc_;                    \
  } while (0)

int MPI_Bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm) {
  WATCHED("MPI_Bcast", PMPI_Bcast(buf, count, type, root, comm));
}
int MPI_Allreduce(const void *in, void *out, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  WATCHED("MPI_Allreduce", PMPI_Allreduce(in, out, count, type, op, comm));
}
int MPI_Reduce(const void *in, void *out, int count, MPI_Datatype type, MPI_Op op, int root, MPI_Comm comm) {
  WATCHED("MPI_Reduce", PMPI_Reduce(in, out, count, type, op, root, comm));
}
int MPI_Allgatherv(const void *in, int n, MPI_Datatype tin, void *out, const int *counts, const int *displs,
                   MPI_Datatype tout, MPI_Comm comm) {
  WATCHED("MPI_Allgatherv", PMPI_Allgatherv(in, n, tin, out, counts, displs, tout, comm));
}
int MPI_Gatherv(const void *in, int n, MPI_Datatype tin, void *out, const int *counts, const int *displs,
                MPI_Datatype tout, int root, MPI_Comm comm) {
  WATCHED("MPI_Gatherv", PMPI_Gatherv(in, n, tin, out, counts, displs, tout, root, comm));
}
int MPI_Gather(const void *in, int n, MPI_Datatype tin, void *out, int nout, MPI_Datatype tout, int root,
               MPI_Comm comm) {
  WATCHED("MPI_Gather", PMPI_Gather(in, n, tin, out, nout, tout, root, comm));
}
int MPI_Barrier(MPI_Comm comm) { WATCHED("MPI_Barrier", PMPI_Barrier(comm)); }
int MPI_Send(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
  WATCHED("MPI_Send", PMPI_Send(buf, count, type, dest, tag, comm));
}
int MPI_Recv(void *buf, int count, MPI_Datatype type, int src, int tag, MPI_Comm comm, MPI_Status *st) {
  WATCHED("MPI_Recv", PMPI_Recv(buf, count, type, src, tag, comm, st));
}
int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm *out) {
  WATCHED("MPI_Comm_split", PMPI_Comm_split(comm, color, key, out));
}
int MPI_Comm_dup(MPI_Comm comm, MPI_Comm *out) { WATCHED("MPI_Comm_dup", PMPI_Comm_dup(comm, out)); }
int MPI_Finalize(void) {
  /* Ranks leave MPI_Finalize one by one, so a rank that ended is lost only before every rank
   * reached it: a watched barrier first (a rank that dies while the others wait is named). */
  if (wd_pids) {
    int entered = enter("MPI_Finalize");
    PMPI_Barrier(MPI_COMM_WORLD); /* lint-mpi: finalizing anyway; PMPI_Finalize reports a broken job */
    leave(entered);
  }
  atomic_store(&wd_finishing, 1);
  return PMPI_Finalize(); /* lint-mpi: returned to main.c, which checks it */
}

/* ---- the thread ---------------------------------------------------------------------------- */

/* State letter of a local process from /proc (R, S, D, T stopped, Z zombie), 'X' if it is gone. */
static char proc_state(pid_t pid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (!f) return kill(pid, 0) != 0 && errno == ESRCH ? 'X' : '?';
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  const char *paren = strrchr(text, ')');
  return paren && paren[1] == ' ' && paren[2] ? paren[2] : '?';
}

static const char *state_name(char s) {
  switch (s) {
  case 'X': return "has ended";
  case 'Z': return "has ended (zombie)";
  case 'T': case 't': return "is stopped (SIGSTOP or a debugger)";
  case 'D': return "is in uninterruptible I/O";
  case 'R': return "is running";
  case 'S': return "is sleeping";
  default: return "is in an unknown state";
  }
}

/* Writes "[rank r] watchdog: ..." to stderr and ends this process: mpirun then ends the job. */
__attribute__((format(printf, 1, 2))) _Noreturn static void wd_die(const char *fmt, ...) {
  char msg[2048];
  int n = snprintf(msg, sizeof msg, "[rank %d] watchdog: ", wd_rank);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(msg + n, sizeof msg - (size_t)n - 2, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof msg - 2) n = (int)sizeof msg - 2;
  msg[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, msg, (size_t)n);
  (void)w;
  _exit(1);
}

static const char *stage_now(void) {
  const char *s = atomic_load(&wd_stage);
  return s ? s : "set-up";
}

static void *watch(void *arg) {
  (void)arg;
  const struct timespec tick = {0, 100 * 1000 * 1000};
  for (;;) {
    nanosleep(&tick, NULL);
    if (atomic_load(&wd_finishing)) continue;
    const char *op = atomic_load(&wd_op);
    if (wd_watch_parent && getppid() != wd_parent)
      wd_die("the launcher (pid %ld) is gone; stopping during stage %s%s%s", (long)wd_parent, stage_now(),
             op ? ", in " : "", op ? op : "");
    for (int r = 0; r < wd_size; r++) { /* a host's leader watches every rank there; the others, it */
        if (!wd_local[r] || r == wd_rank || (wd_rank != wd_leader && r != wd_leader)) continue;
        char s = proc_state(wd_pids[r]);
        if ((s == 'X' || s == 'Z') && !atomic_load(&wd_finishing))
          wd_die("rank %d (pid %ld on %s) %s during stage %s%s%s; ending the job", r, (long)wd_pids[r], wd_host,
                 state_name(s), stage_now(), op ? ", while this rank waits in " : "", op ? op : "");
    }
    long long limit = atomic_load(&wd_timeout_ms);
    long long since = atomic_load(&wd_since_ms);
    if (op && limit > 0 && now_ms() - since > limit) {
      char others[1024] = "";
      for (int r = 0; wd_rank == wd_leader && r < wd_size; r++) {
        size_t len = strlen(others);
        if (r == wd_rank || !wd_local[r] || len + 96 > sizeof others) continue;
        snprintf(others + len, sizeof others - len, "; rank %d (pid %ld) %s", r, (long)wd_pids[r],
                 state_name(proc_state(wd_pids[r])));
      }
      wd_die("%s has waited %.0f s during stage %s (run.watchdog_s = %.0f): a rank is lost or stalled%s", op,
             (now_ms() - since) / 1000.0, stage_now(), limit / 1000.0, others);
    }
  }
  return NULL;
}

void oo_watchdog_stage(const char *stage) { atomic_store(&wd_stage, stage); }

int oo_watchdog_start(MPI_Comm world, double timeout_s) {
  atomic_store(&wd_timeout_ms, timeout_s > 0 ? (long long)(timeout_s * 1000) : 0);
  if (wd_pids) return OO_OK; /* already watching (a sweep sets up one run per point) */
  int level = MPI_THREAD_SINGLE;
  CHECK_MPI(MPI_Query_thread(&level));
  int rank, size;
  CHECK_MPI(MPI_Comm_rank(world, &rank));
  CHECK_MPI(MPI_Comm_size(world, &size));
  if (level < MPI_THREAD_FUNNELED) { /* every rank sees the same level */
    LOG_WARN("watchdog off: MPI gives thread level %d, below MPI_THREAD_FUNNELED", level);
    return OO_OK;
  }
  char *hosts = xcalloc((size_t)size * HOST_CAP, 1);
  long *pids = xcalloc((size_t)size, sizeof *pids);
  gethostname(wd_host, sizeof wd_host - 1);
  long me = (long)getpid();
  int rc = OO_MPI_RC(PMPI_Allgather(wd_host, HOST_CAP, MPI_CHAR, hosts, HOST_CAP, MPI_CHAR, world));
  if (!rc) rc = OO_MPI_RC(PMPI_Allgather(&me, 1, MPI_LONG, pids, 1, MPI_LONG, world));
  if (rc) {
    xfree(&hosts);
    xfree(&pids);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  wd_rank = rank;
  wd_size = size;
  wd_parent = getppid();
  /* One rank may be a singleton whose parent is a shell that may end (nohup): not watched. */
  wd_watch_parent = size > 1;
  wd_pids = xcalloc((size_t)size, sizeof *wd_pids);
  wd_local = xcalloc((size_t)size, sizeof *wd_local);
  for (int r = 0; r < size; r++) {
    wd_pids[r] = (pid_t)pids[r];
    wd_local[r] = strncmp(hosts + (size_t)r * HOST_CAP, wd_host, HOST_CAP) == 0;
  }
  wd_leader = rank;
  for (int r = size - 1; r >= 0; r--)
    if (wd_local[r]) wd_leader = r;
  xfree(&hosts);
  xfree(&pids);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* the thread takes no signal: SIGTERM/SIGUSR1 stay with the main thread's stop flag */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int err = pthread_create(&t, &attr, watch, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  REQUIRE(err == 0, "watchdog: cannot start its thread: %s", strerror(err));
  return OO_OK;
}
