/* core: errors, memory, logging, progress, timing and counter-based random streams.
 *
 * Invariants:
 * - Every fallible function returns int: 0 (OO_OK) on success, non-zero on error. The first
 *   failing site records a message with oo_error(); each CHECK on the way up appends its
 *   file:line, so the message that reaches main names where it started and how it got there.
 * - REQUIRE is always compiled in and is for user errors (config, files, command line).
 * - Allocation goes through xmalloc/xcalloc/xfree. An allocation failure is fatal: it calls
 *   the fatal handler (MPI_Abort in the program), naming size and call site.
 * - Logging prints from rank 0 only (set with oo_log_set_rank); warnings and errors from any
 *   rank. Nothing here touches MPI: mpi/ installs the rank and the fatal handler.
 */
#ifndef OO_CORE_H
#define OO_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OO_OK 0
#define OO_ERR 1

/* ---- errors ------------------------------------------------------------------------------ */

/* Records "file:line: message" as the current error and returns OO_ERR. */
int oo_error_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends " <- file:line" to the current error's trace. Returns rc. */
int oo_error_trace(int rc, const char *file, int line);
/* The current error, "" if none: the message alone, or with "file:line: " and the trace after
 * oo_error_set_debug(1) (`--debug`): users see what went wrong, developers where. */
const char *oo_error_message(void);
void oo_error_set_debug(int on);
void oo_error_clear(void);

#define OO_FAIL(...) return oo_error_at(__FILE__, __LINE__, __VA_ARGS__)
#define REQUIRE(cond, ...)                                                                    \
  do {                                                                                        \
    if (!(cond)) return oo_error_at(__FILE__, __LINE__, __VA_ARGS__);                         \
  } while (0)
#define CHECK(call)                                                                           \
  do {                                                                                        \
    int oo_rc_ = (call);                                                                      \
    if (oo_rc_) return oo_error_trace(oo_rc_, __FILE__, __LINE__);                            \
  } while (0)
/* CHECK_GOTO: on error jump to a cleanup label with rc set (for functions that own resources). */
#define CHECK_GOTO(rc, call, label)                                                           \
  do {                                                                                        \
    (rc) = (call);                                                                            \
    if (rc) {                                                                                 \
      oo_error_trace((rc), __FILE__, __LINE__);                                               \
      goto label;                                                                             \
    }                                                                                         \
  } while (0)

/* Fatal errors (out of memory, broken invariants): print and call the handler, which in the
 * MPI program aborts every rank. The default handler calls exit(2). */
typedef void (*oo_fatal_handler)(int code);
void oo_set_fatal_handler(oo_fatal_handler h);
_Noreturn void oo_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define OO_FATAL(...) oo_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/* ---- memory ------------------------------------------------------------------------------ */

void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t count, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
void xfree_ptr(void **p);
#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(c, s) xcalloc_at((c), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
#define xfree(pp) xfree_ptr((void **)(pp)) /* frees *pp and sets it to NULL */
/* Aligned (64 bytes) for SIMD-friendly float buffers; free with xfree. */
float *xmalloc_floats_at(size_t count, const char *file, int line);
#define xmalloc_floats(count) xmalloc_floats_at((count), __FILE__, __LINE__)
char *xstrdup(const char *s);
/* Live block count (for leak checks in tests). */
long oo_mem_live_blocks(void);
/* The most memory one rank may use for buffers sized by a config value or a file header,
 * checked before allocating (#12): the machine's physical memory (sysconf), or the value of the
 * environment variable OVEROPT_MEM_LIMIT (bytes; a suffix K, M, G or T multiplies) when set. */
double oo_mem_limit(void);
/* Human-readable size: "512 B", "3.2 MB", "1.6 GB", "200 TB" (decimal units). */
void oo_bytes_text(double bytes, char *out, size_t cap);

/* ---- logging and progress ---------------------------------------------------------------- */

enum { OO_LOG_ERROR = 0, OO_LOG_WARN = 1, OO_LOG_INFO = 2, OO_LOG_DEBUG = 3 };
void oo_log_set_rank(int rank);
int oo_log_rank(void);
/* Info lines, progress and the log file come from one leader rank: world rank 0 by default; a
 * group of ranks working on its own (one replicate) names its own leader (1 here, 0 not), and
 * oo_log_set_leader(-1) restores the default. */
void oo_log_set_leader(int leader);
void oo_log_set_level(int level); /* --quiet sets OO_LOG_WARN */
int oo_log_level(void);
/* Copies every line rank 0 prints into this file (the run's log), each line prefixed with an ISO
 * 8601 UTC timestamp (the console copy has none), and opens metrics.jsonl beside it (metrics.h);
 * NULL closes both. */
int oo_log_open_file(const char *path);
void oo_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_INFO(...) oo_log(OO_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) oo_log(OO_LOG_WARN, __VA_ARGS__)
#define LOG_DEBUG(...) oo_log(OO_LOG_DEBUG, __VA_ARGS__)

/* Progress lines "what step/total (pct) rate unit/s ETA mm:ss | extra" on rank 0, at most
 * every min_interval seconds plus always the last step. */
typedef struct {
  char what[64];       /* label, e.g. "pretrain d128L4" */
  long total;          /* number of steps */
  double t_start;      /* wall time at start */
  double t_last;       /* wall time of the last printed line */
  double min_interval; /* seconds between lines */
  const char *unit;    /* rate unit, e.g. "tok" or "step" */
} oo_progress;
void oo_progress_start(oo_progress *p, const char *what, long total, const char *unit);
/* done: steps finished; work: units finished since start (for the rate); extra may be NULL. */
void oo_progress_update(oo_progress *p, long done, double work, const char *extra);

/* ---- timing -------------------------------------------------------------------------------- */

double oo_now(void); /* monotonic seconds */
/* CPU seconds used by this process, every thread (the cost of a step on a shared machine, where
 * wall time measures the other jobs too) */
double oo_cpu_now(void);

/* ---- counter-based random streams ------------------------------------------------------- */

/* A stream is a key (seed, purpose, a, b) and a counter; draws depend only on the key and the
 * draw's index, never on batch size, rank or order of other streams. */
typedef struct {
  uint64_t key;     /* hash of (seed, purpose, a, b) */
  uint64_t counter; /* index of the next draw */
} oo_rng;

enum oo_rng_purpose {
  RNG_INIT = 1,     /* parameter initialization (a = tensor index) */
  RNG_DATA = 2,     /* data order and batch selection */
  RNG_SAMPLE = 3,   /* token sampling (a = prompt index, b = sample index) */
  RNG_PREFS = 4,    /* preference prompts and label noise */
  RNG_BON = 5,      /* best-of-n sampling */
  RNG_PPO = 6,      /* PPO rollouts and minibatch order */
  RNG_GOLD = 7,     /* gold model initialization */
  RNG_TEST = 99,    /* tests */
};

oo_rng oo_rng_make(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b);
uint64_t oo_rng_u64(oo_rng *r);
float oo_rng_uniform(oo_rng *r); /* [0, 1) with 24 random bits */
double oo_rng_uniform_double(oo_rng *r); /* [0, 1) with 53 random bits */
float oo_rng_normal(oo_rng *r);  /* standard normal (Box-Muller, one draw per call) */
uint64_t oo_rng_below(oo_rng *r, uint64_t n); /* uniform in [0, n), unbiased */
/* Fisher-Yates shuffle of idx[0..n). */
void oo_rng_shuffle(oo_rng *r, int *idx, int n);
uint64_t oo_hash64(uint64_t x); /* splitmix64 finalizer */
/* FNV-1a 64 of bytes, for config hashes. */
uint64_t oo_hash_bytes(const void *data, size_t n, uint64_t h);

/* ---- small helpers ----------------------------------------------------------------------- */

/* Nearest string to s among names[0..n) by edit distance, or NULL if none is close. */
const char *oo_nearest_name(const char *s, const char *const *names, int n);
int oo_edit_distance(const char *a, const char *b);
/* mkdir -p; returns error naming the path. */
int oo_mkdir_p(const char *path);
int oo_file_exists(const char *path);
/* snprintf that fails with a message instead of truncating. */
int oo_path_join(char *out, size_t cap, const char *dir, const char *name);
/* The installed data file rel (e.g. "slurm/sweep.sbatch") into out. Looked up relative to the
 * running executable (/proc/self/exe), never through a path compiled in, so an installed or
 * relocated tree works without the sources: first <exe dir>/../share/overopt/rel (the layout
 * `cmake --install` makes: bin/overopt, share/overopt/{configs,slurm,python}), then
 * <exe dir>/share/overopt/rel (the build tree: CMake links build/share/overopt/{configs,slurm,
 * python} to the sources). Error naming both places when neither has it. */
int oo_share_path(char *out, size_t cap, const char *rel);

#endif
