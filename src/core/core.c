/* core: errors, memory, logging, progress, timing, random streams (see core.h). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "core/core.h"
#include "core/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------------------------ */

static char error_buf[8192]; /* the current error: "file:line: message" and its trace; one thread per rank */
static int error_text_at = 0; /* offset of the message in error_buf (past "file:line: ") */
static size_t error_text_end = 0; /* end of the message (the trace follows) */
static char error_text[8192]; /* the message alone, what users see without --debug */
static int error_debug = 0;   /* 1: oo_error_message() includes locations and trace */

void oo_error_set_debug(int on) { error_debug = on; }

int oo_error_at(const char *file, int line, const char *fmt, ...) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  int n = snprintf(error_buf, sizeof error_buf, "%s:%d: ", base, line);
  if (n < 0 || (size_t)n >= sizeof error_buf) n = 0;
  error_text_at = n;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_buf + n, sizeof error_buf - (size_t)n, fmt, ap);
  va_end(ap);
  error_text_end = strlen(error_buf);
  return OO_ERR;
}

int oo_error_trace(int rc, const char *file, int line) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  size_t len = strlen(error_buf);
  if (len + 64 < sizeof error_buf)
    snprintf(error_buf + len, sizeof error_buf - len, "\n    from %s:%d", base, line);
  return rc ? rc : OO_ERR;
}

const char *oo_error_message(void) {
  if (error_debug || !error_buf[0] || error_text_end > strlen(error_buf)) return error_buf;
  snprintf(error_text, sizeof error_text, "%.*s", (int)(error_text_end - (size_t)error_text_at),
           error_buf + error_text_at);
  return error_text;
}
void oo_error_clear(void) { error_buf[0] = 0, error_text_at = 0, error_text_end = 0; }

static void default_fatal(int code) { exit(code); }
static oo_fatal_handler fatal_handler = default_fatal;
void oo_set_fatal_handler(oo_fatal_handler h) { fatal_handler = h ? h : default_fatal; }

void oo_fatal_at(const char *file, int line, const char *fmt, ...) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "[rank %d] %s:%d: fatal: %s\n", oo_log_rank(), base, line, msg);
  fflush(stderr);
  fatal_handler(2);
  exit(2); /* a handler must not return */
}

/* ---- memory ------------------------------------------------------------------------------ */

static long live_blocks;

void *xmalloc_at(size_t n, const char *file, int line) {
  void *p = malloc(n ? n : 1);
  if (!p) oo_fatal_at(file, line, "out of memory allocating %zu bytes", n);
  live_blocks++;
  return p;
}

void *xcalloc_at(size_t count, size_t size, const char *file, int line) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) oo_fatal_at(file, line, "out of memory allocating %zu x %zu bytes", count, size);
  live_blocks++;
  return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oo_fatal_at(file, line, "out of memory reallocating %zu bytes", n);
  if (!p) live_blocks++;
  return q;
}

/* Float buffers of HUGE_MIN bytes or more (a KV cache, activations, parameters and moments of a
 * large model) are aligned to 2 MiB and offered to the kernel for transparent huge pages where
 * it allows them (THP "madvise" mode): streaming through a 200 MB KV cache in 4 KiB pages costs
 * a TLB miss every 4 KiB, and the hardware prefetcher stops at every page boundary. Where THP is
 * off or unavailable the advice is ignored; contents and results never depend on it. */
#define HUGE_ALIGN ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20)

float *xmalloc_floats_at(size_t count, const char *file, int line) {
  void *p = NULL;
  size_t bytes = (count ? count : 1) * sizeof(float);
  bytes = (bytes + 63) / 64 * 64;
  const int huge = bytes >= HUGE_MIN;
  if (huge) bytes = (bytes + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
  if (posix_memalign(&p, huge ? HUGE_ALIGN : 64, bytes) != 0 || !p)
    oo_fatal_at(file, line, "out of memory allocating %zu floats", count);
#ifdef MADV_HUGEPAGE
  if (huge) (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
  live_blocks++;
  return p;
}

void xfree_ptr(void **p) {
  if (p && *p) {
    free(*p);
    *p = NULL;
    live_blocks--;
  }
}

char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = xmalloc(n);
  memcpy(d, s, n);
  return d;
}

long oo_mem_live_blocks(void) { return live_blocks; }

/* ---- logging --------------------------------------------------------------------------- */

static int log_rank = 0;
static int log_leader = -1; /* -1: the leader is world rank 0; else this rank leads (1) or not (0) */
static int log_level = OO_LOG_INFO;
static FILE *log_file = NULL;
static char log_path[4096];  /* for the message when a write to it fails */
static int log_write_failed; /* set once the log file missed a line (reported once) */

void oo_log_set_rank(int rank) { log_rank = rank; }
int oo_log_rank(void) { return log_rank; }
void oo_log_set_leader(int leader) { log_leader = leader; }
static int is_leader(void) { return log_leader < 0 ? log_rank == 0 : log_leader; }
void oo_log_set_level(int level) { log_level = level; }
int oo_log_level(void) { return log_level; }

int oo_log_open_file(const char *path) {
  int bad = 0;
  if (log_file) bad = (fclose(log_file) != 0) | log_write_failed;
  log_file = NULL;
  log_write_failed = 0;
  REQUIRE(!bad, "the log file '%s' is incomplete: a write to it failed (disk full?)", log_path);
  metrics_open_dir(NULL);
  if (!path || !is_leader()) return OO_OK;
  snprintf(log_path, sizeof log_path, "%s", path);
  log_file = fopen(path, "a");
  REQUIRE(log_file, "cannot open log file '%s': %s", path, strerror(errno));
  char dir[4400]; /* metrics.jsonl goes beside the log */
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  return metrics_open_dir(slash ? dir : ".");
}

void oo_log(int level, const char *fmt, ...) {
  if (level > OO_LOG_WARN && !is_leader()) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *tag = level == OO_LOG_ERROR ? "error: " : level == OO_LOG_WARN ? "warning: " : "";
  if (level <= log_level) {
    FILE *out = level <= OO_LOG_WARN ? stderr : stdout;
    if (level <= OO_LOG_WARN && log_rank != 0)
      fprintf(out, "[rank %d] %s%s\n", log_rank, tag, msg);
    else
      fprintf(out, "%s%s\n", tag, msg);
    fflush(out);
  }
  if (log_file && level <= OO_LOG_INFO) { /* the file copy carries an ISO 8601 UTC timestamp */
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    int bad = fprintf(log_file, "%s %s%s\n", stamp, tag, msg) < 0;
    bad |= fflush(log_file) != 0;
    if (bad && !log_write_failed) { /* a log line lost is said once, not silently (#12) */
      log_write_failed = 1;
      fprintf(stderr, "warning: cannot write the log file '%s': %s; it is incomplete from here on\n", log_path,
              strerror(errno));
    }
  }
}

void oo_progress_start(oo_progress *p, const char *what, long total, const char *unit) {
  memset(p, 0, sizeof *p);
  snprintf(p->what, sizeof p->what, "%s", what);
  p->total = total;
  p->t_start = oo_now();
  p->t_last = 0;
  p->min_interval = 2.0;
  p->unit = unit ? unit : "step";
}

void oo_progress_update(oo_progress *p, long done, double work, const char *extra) {
  if (!is_leader()) return;
  double t = oo_now();
  if (done < p->total && t - p->t_last < p->min_interval && p->t_last > 0) return;
  if (p->t_last == 0 && done < p->total && t - p->t_start < 0.5 && done > 1) return;
  p->t_last = t;
  double el = t - p->t_start;
  double rate = el > 0 ? work / el : 0;
  double eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0;
  int em = (int)(eta / 60), es = (int)eta % 60;
  oo_log(OO_LOG_INFO, "%s %ld/%ld (%3.0f%%) %.4g %s/s ETA %02d:%02d%s%s", p->what, done, p->total,
         p->total ? 100.0 * (double)done / (double)p->total : 100.0, rate, p->unit, em, es,
         extra ? " | " : "", extra ? extra : "");
}

/* ---- timing ------------------------------------------------------------------------------ */

double oo_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double oo_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- random streams ---------------------------------------------------------------------- */

uint64_t oo_hash64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t oo_hash_bytes(const void *data, size_t n, uint64_t h) {
  const unsigned char *p = data;
  if (!h) h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

oo_rng oo_rng_make(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
  uint64_t k = oo_hash64(seed);
  k = oo_hash64(k ^ (purpose * 0xd1b54a32d192ed03ULL));
  k = oo_hash64(k ^ (a * 0x8cb92ba72f3d8dd7ULL));
  k = oo_hash64(k ^ (b * 0xaef17502108ef2d9ULL));
  oo_rng r = {k, 0};
  return r;
}

uint64_t oo_rng_u64(oo_rng *r) {
  uint64_t c = r->counter++;
  return oo_hash64(r->key ^ oo_hash64(c * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL));
}

float oo_rng_uniform(oo_rng *r) { return (float)(oo_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

double oo_rng_uniform_double(oo_rng *r) {
  return (double)(oo_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

float oo_rng_normal(oo_rng *r) {
  double u1 = ((double)(oo_rng_u64(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  double u2 = oo_rng_uniform_double(r);
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t oo_rng_below(oo_rng *r, uint64_t n) {
  if (n <= 1) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = oo_rng_u64(r);
  while (x >= limit);
  return x % n;
}

void oo_rng_shuffle(oo_rng *r, int *idx, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)oo_rng_below(r, (uint64_t)i + 1);
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* ---- small helpers ----------------------------------------------------------------------- */

int oo_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      d[i][j] = c;
    }
  return d[la][lb];
}

const char *oo_nearest_name(const char *s, const char *const *names, int n) {
  const char *best = NULL;
  int bd = 1 << 30;
  for (int i = 0; i < n; i++) {
    int dd = oo_edit_distance(s, names[i]);
    if (dd < bd) {
      bd = dd;
      best = names[i];
    }
  }
  int len = (int)strlen(s);
  int limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
  return bd <= limit ? best : NULL;
}

int oo_mkdir_p(const char *path) {
  char buf[4096];
  REQUIRE(strlen(path) < sizeof buf, "path too long: '%s'", path);
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      OO_FAIL("cannot create directory '%s': %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    OO_FAIL("cannot create directory '%s': %s", buf, strerror(errno));
  return OO_OK;
}

int oo_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

int oo_path_join(char *out, size_t cap, const char *dir, const char *name) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  REQUIRE(n > 0 && (size_t)n < cap, "path too long: '%s/%s'", dir, name);
  return OO_OK;
}

int oo_share_path(char *out, size_t cap, const char *rel) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(n > 0, "cannot find %s: /proc/self/exe is unreadable (%s)", rel, strerror(errno));
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0; /* exe is now the executable's directory */
  static const char *const layouts[2] = {"../share/overopt", "share/overopt"}; /* installed, build tree */
  for (int i = 0; i < 2; i++) {
    int k = snprintf(out, cap, "%s/%s/%s", exe, layouts[i], rel);
    if (k > 0 && (size_t)k < cap && oo_file_exists(out)) return OO_OK;
  }
  OO_FAIL("cannot find %s in %s/../share/overopt (installed) or %s/share/overopt (build tree)", rel, exe, exe);
}

double oo_mem_limit(void) {
  const char *env = getenv("OVEROPT_MEM_LIMIT");
  if (env && *env) {
    char *end;
    double v = strtod(env, &end);
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, *end) : NULL;
    if (u && *end) v *= pow(1024.0, (double)(u - units + 1));
    if (v > 0) return v;
  }
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 1e18; /* unknown: no limit */
  return (double)pages * (double)page;
}

void oo_bytes_text(double bytes, char *out, size_t cap) {
  const char *unit[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) bytes /= 1000, u++;
  if (u == 0) snprintf(out, cap, "%.0f B", bytes);
  else snprintf(out, cap, "%.3g %s", bytes, unit[u]);
}
