/* corpus: documents, train/validation split, LM batches and prompts (see corpus.h). */
#define _POSIX_C_SOURCE 200809L
#include "data/corpus.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BINARY_PROBE_BYTES 65536 /* bytes inspected for the binary check */
#define BINARY_MAX_FRACTION 0.05 /* more non-text bytes than this: binary */

/* ---- loading ------------------------------------------------------------------------------ */

typedef struct {
  oo_corpus *c;      /* corpus being filled */
  long bytes_cap;    /* capacity of c->bytes */
  int docs_cap;      /* capacity of c->doc_start / doc_len */
  int min_doc_bytes; /* shorter documents are dropped */
  int n_short;       /* documents dropped for being short */
  int percent;       /* 1: '%' lines separate, 0: blank lines separate */
} loader;

static int is_space(unsigned char b) {
  return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v';
}

/* Bytes that do not occur in text: controls other than whitespace, backspace (overstrike in
 * old fortune files) and escape (terminal art), plus DEL. Bytes >= 0x80 count as text (UTF-8
 * or Latin-1). */
static int is_non_text(unsigned char b) {
  if (b == 0x7f) return 1;
  if (b >= 0x20) return 0;
  return !(is_space(b) || b == '\b' || b == 0x1b);
}

static int check_text(const char *file, const unsigned char *buf, long n) {
  long probe = n < BINARY_PROBE_BYTES ? n : BINARY_PROBE_BYTES;
  long bad = 0;
  for (long i = 0; i < probe; i++) {
    REQUIRE(buf[i] != 0,
            "corpus file '%s' looks binary (NUL byte at offset %ld): point corpus.path at text "
            "files only",
            file, i);
    bad += is_non_text(buf[i]);
  }
  REQUIRE((double)bad <= BINARY_MAX_FRACTION * (double)probe,
          "corpus file '%s' looks binary (%ld of its first %ld bytes are control characters): "
          "point corpus.path at text files only",
          file, bad, probe);
  return OO_OK;
}

/* Trims [b, e) of buf and appends it as a document if long enough. */
static int add_doc(loader *L, const char *file, const unsigned char *buf, long b, long e) {
  while (b < e && is_space(buf[b])) b++;
  while (e > b && is_space(buf[e - 1])) e--;
  long len = e - b;
  if (len == 0) return OO_OK;
  if (len < L->min_doc_bytes) {
    L->n_short++;
    return OO_OK;
  }
  REQUIRE(len < INT_MAX / 2, "corpus file '%s': a document of %ld bytes is too long; check the "
          "corpus.delimiter setting", file, len);
  oo_corpus *c = L->c;
  REQUIRE(c->n_docs < INT_MAX - 1, "corpus: too many documents");
  if (c->n_bytes + len > L->bytes_cap) {
    while (c->n_bytes + len > L->bytes_cap) L->bytes_cap = L->bytes_cap ? 2 * L->bytes_cap : 1 << 16;
    c->bytes = xrealloc(c->bytes, (size_t)L->bytes_cap);
  }
  if (c->n_docs == L->docs_cap) {
    L->docs_cap = L->docs_cap ? 2 * L->docs_cap : 1024;
    c->doc_start = xrealloc(c->doc_start, (size_t)L->docs_cap * sizeof *c->doc_start);
    c->doc_len = xrealloc(c->doc_len, (size_t)L->docs_cap * sizeof *c->doc_len);
  }
  memcpy(c->bytes + c->n_bytes, buf + b, (size_t)len);
  c->doc_start[c->n_docs] = c->n_bytes;
  c->doc_len[c->n_docs] = (int)len;
  c->n_docs++;
  c->n_bytes += len;
  return OO_OK;
}

/* A separator line: "%" alone (trailing whitespace allowed) or a blank line. */
static int is_separator(const loader *L, const unsigned char *line, long n) {
  while (n > 0 && is_space(line[n - 1])) n--;
  if (L->percent) return n == 1 && line[0] == '%';
  return n == 0;
}

static int parse_buffer(loader *L, const char *file, const unsigned char *buf, long n) {
  long doc_begin = 0;
  for (long i = 0; i < n;) {
    long j = i;
    while (j < n && buf[j] != '\n') j++;
    long next = j < n ? j + 1 : n;
    if (is_separator(L, buf + i, j - i)) {
      CHECK(add_doc(L, file, buf, doc_begin, i));
      doc_begin = next;
    }
    i = next;
  }
  CHECK(add_doc(L, file, buf, doc_begin, n));
  return OO_OK;
}

static int read_whole_file(const char *file, unsigned char **out, long *n) {
  *out = NULL;
  *n = 0;
  FILE *f = fopen(file, "rb");
  REQUIRE(f, "cannot read corpus file '%s': %s", file, strerror(errno));
  long cap = 1 << 16, len = 0;
  unsigned char *buf = xmalloc((size_t)cap);
  for (;;) {
    if (len == cap) {
      cap *= 2;
      buf = xrealloc(buf, (size_t)cap);
    }
    size_t got = fread(buf + len, 1, (size_t)(cap - len), f);
    len += (long)got;
    if (got == 0) break;
  }
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (err) {
    xfree(&buf);
    OO_FAIL("cannot read corpus file '%s': %s", file, strerror(err));
  }
  *out = buf;
  *n = len;
  return OO_OK;
}

static int load_file(loader *L, const char *file) {
  unsigned char *buf;
  long n;
  CHECK(read_whole_file(file, &buf, &n));
  int rc = check_text(file, buf, n);
  if (!rc) rc = parse_buffer(L, file, buf, n);
  xfree(&buf);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  L->c->n_files++;
  L->c->bytes_read += n;
  return OO_OK;
}

static int has_suffix(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_directory(loader *L, const char *dir) {
  DIR *d = opendir(dir);
  REQUIRE(d, "cannot read corpus directory '%s': %s", dir, strerror(errno));
  int n = 0, cap = 64;
  char **names = xmalloc((size_t)cap * sizeof *names);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (nm[0] == '.' || has_suffix(nm, ".dat") || has_suffix(nm, ".u8")) continue;
    if (n == cap) {
      cap *= 2;
      names = xrealloc(names, (size_t)cap * sizeof *names);
    }
    names[n++] = xstrdup(nm);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  int rc = OO_OK;
  char path[4096];
  for (int i = 0; i < n && !rc; i++) {
    rc = oo_path_join(path, sizeof path, dir, names[i]);
    struct stat st;
    if (!rc && stat(path, &st) == 0 && S_ISREG(st.st_mode)) rc = load_file(L, path);
  }
  for (int i = 0; i < n; i++) xfree(&names[i]);
  xfree(&names);
  if (rc) return oo_error_trace(rc, __FILE__, __LINE__);
  REQUIRE(L->c->n_files > 0,
          "corpus directory '%s' holds no text files (hidden files, *.dat and *.u8 are skipped)",
          dir);
  return OO_OK;
}

static void split_clear(oo_corpus *c) {
  for (int s = 0; s < 2; s++) {
    xfree(&c->split_docs[s]);
    xfree(&c->split_off[s]);
    c->split_n[s] = 0;
  }
}

/* Builds split lists from a membership mask (NULL = everything in train). */
static void split_build(oo_corpus *c, const unsigned char *is_val) {
  split_clear(c);
  int nv = 0;
  for (int i = 0; i < c->n_docs; i++) nv += is_val ? is_val[i] : 0;
  int counts[2] = {c->n_docs - nv, nv};
  for (int s = 0; s < 2; s++) {
    c->split_docs[s] = xmalloc((size_t)(counts[s] ? counts[s] : 1) * sizeof(int));
    c->split_off[s] = xmalloc((size_t)(counts[s] + 1) * sizeof(long));
    c->split_off[s][0] = 0;
  }
  for (int i = 0; i < c->n_docs; i++) {
    int s = is_val ? is_val[i] : 0;
    int k = c->split_n[s]++;
    c->split_docs[s][k] = i;
    c->split_off[s][k + 1] = c->split_off[s][k] + 1 + c->doc_len[i]; /* EOT + document */
  }
}

int corpus_load(oo_corpus *c, const char *path, const char *delimiter, int min_doc_bytes) {
  memset(c, 0, sizeof *c);
  REQUIRE(path && path[0], "corpus.path is empty: set it to a text file or a directory of them");
  REQUIRE(delimiter && (strcmp(delimiter, "percent") == 0 || strcmp(delimiter, "blank") == 0),
          "corpus.delimiter is '%s': use \"percent\" (lines holding only %%) or \"blank\" "
          "(blank lines)",
          delimiter ? delimiter : "");
  loader L = {c, 0, 0, min_doc_bytes > 1 ? min_doc_bytes : 1, 0, delimiter[0] == 'p'};
  struct stat st;
  if (stat(path, &st) != 0) {
    int err = errno;
    OO_FAIL("corpus path '%s' cannot be read: %s (set corpus.path to a text file or directory; "
            "Debian's 'fortunes' package provides /usr/share/games/fortunes)",
            path, strerror(err));
  }
  int rc;
  if (S_ISDIR(st.st_mode))
    rc = load_directory(&L, path);
  else if (S_ISREG(st.st_mode))
    rc = load_file(&L, path);
  else
    rc = oo_error_at(__FILE__, __LINE__, "corpus path '%s' is neither a file nor a directory",
                     path);
  if (!rc && c->n_docs == 0) {
    const char *other = L.percent ? "blank" : "percent";
    char dropped[160] = "";
    if (L.n_short)
      snprintf(dropped, sizeof dropped, "; %d documents shorter than corpus.min_doc_bytes = %d "
               "were dropped", L.n_short, min_doc_bytes);
    rc = oo_error_at(__FILE__, __LINE__,
                     "corpus '%s' has no documents: %ld bytes read from %d file(s) with "
                     "delimiter '%s'%s; if documents are separated by %s, set corpus.delimiter "
                     "= \"%s\"",
                     path, c->bytes_read, c->n_files, delimiter, dropped,
                     L.percent ? "blank lines" : "lines holding only %", other);
  }
  if (rc) {
    corpus_free(c);
    return oo_error_trace(rc, __FILE__, __LINE__);
  }
  split_build(c, NULL);
  return OO_OK;
}

void corpus_free(oo_corpus *c) {
  split_clear(c);
  xfree(&c->bytes);
  xfree(&c->doc_start);
  xfree(&c->doc_len);
  memset(c, 0, sizeof *c);
}

/* ---- split and batches ------------------------------------------------------------------- */

int corpus_split(oo_corpus *c, double val_fraction, uint64_t seed) {
  REQUIRE(val_fraction >= 0 && val_fraction < 1,
          "corpus.val_fraction = %g must be in [0, 1)", val_fraction);
  int n = c->n_docs;
  int nv = (int)llround(val_fraction * n);
  if (val_fraction > 0 && nv == 0) nv = 1;
  REQUIRE(n - nv >= 1,
          "corpus has %d documents: corpus.val_fraction = %g leaves none for training; lower "
          "it or use a larger corpus",
          n, val_fraction);
  int *perm = xmalloc((size_t)n * sizeof *perm);
  unsigned char *is_val = xcalloc((size_t)n, 1);
  for (int i = 0; i < n; i++) perm[i] = i;
  oo_rng r = oo_rng_make(seed, RNG_DATA, 0xc0 /* corpus split */, 0);
  oo_rng_shuffle(&r, perm, n);
  for (int i = 0; i < nv; i++) is_val[perm[i]] = 1;
  split_build(c, is_val);
  xfree(&perm);
  xfree(&is_val);
  return OO_OK;
}

void corpus_lm_batch(const oo_corpus *c, int split, oo_rng *r, int B, int T, int *tokens,
                     int *targets) {
  if (split != CORPUS_TRAIN && split != CORPUS_VAL) OO_FATAL("corpus_lm_batch: bad split %d", split);
  int n = c->split_n[split];
  if (n == 0)
    OO_FATAL("corpus_lm_batch: the %s split is empty (call corpus_split with val_fraction > 0)",
             split ? "validation" : "train");
  const int *docs = c->split_docs[split];
  const long *off = c->split_off[split];
  long S = off[n];
  for (int b = 0; b < B; b++) {
    long p = (long)oo_rng_below(r, (uint64_t)S);
    int lo = 0, hi = n - 1; /* last i with off[i] <= p */
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (off[mid] <= p) lo = mid; else hi = mid - 1;
    }
    int i = lo;
    for (int t = 0; t <= T; t++) {
      int tok = p == off[i] ? CORPUS_EOT
                            : c->bytes[c->doc_start[docs[i]] + (p - off[i] - 1)];
      if (t < T) tokens[(long)b * T + t] = tok;
      if (t > 0) targets[(long)b * T + t - 1] = tok;
      if (++p == off[i + 1] && ++i == n) i = 0, p = 0; /* the stream is cyclic */
    }
  }
}

double corpus_unigram_entropy_bits(const oo_corpus *c) {
  double counts[257] = {0};
  const int *docs = c->split_docs[CORPUS_TRAIN];
  double total = 0;
  for (int k = 0; k < c->split_n[CORPUS_TRAIN]; k++) {
    const unsigned char *d = c->bytes + c->doc_start[docs[k]];
    for (int j = 0; j < c->doc_len[docs[k]]; j++) counts[d[j]] += 1;
    counts[CORPUS_EOT] += 1;
    total += 1 + c->doc_len[docs[k]];
  }
  double h = 0;
  for (int v = 0; v < 257; v++)
    if (counts[v] > 0) h -= counts[v] / total * log2(counts[v] / total);
  return h;
}

/* ---- prompts ------------------------------------------------------------------------------ */

int corpus_prompt_pool(const oo_corpus *c, int prompt_len, uint64_t seed, int **doc_idx, int *n) {
  *doc_idx = NULL;
  *n = 0;
  REQUIRE(prompt_len >= 1, "prefs.prompt_len = %d must be at least 1", prompt_len);
  int m = 0;
  const int *docs = c->split_docs[CORPUS_TRAIN];
  int *idx = xmalloc((size_t)(c->split_n[CORPUS_TRAIN] ? c->split_n[CORPUS_TRAIN] : 1) * sizeof *idx);
  for (int k = 0; k < c->split_n[CORPUS_TRAIN]; k++)
    if (c->doc_len[docs[k]] >= prompt_len) idx[m++] = docs[k];
  if (m == 0) {
    xfree(&idx);
    OO_FAIL("no training document has prefs.prompt_len = %d bytes: lower prefs.prompt_len or "
            "use a corpus with longer documents",
            prompt_len);
  }
  oo_rng r = oo_rng_make(seed, RNG_DATA, 0xc1 /* prompt pool */, 0);
  oo_rng_shuffle(&r, idx, m);
  *doc_idx = idx;
  *n = m;
  return OO_OK;
}

void corpus_prompt(const oo_corpus *c, int doc, int prompt_len, int *tokens) {
  if (doc < 0 || doc >= c->n_docs || c->doc_len[doc] < prompt_len)
    OO_FATAL("corpus_prompt: document %d is not a prompt of %d bytes", doc, prompt_len);
  const unsigned char *d = c->bytes + c->doc_start[doc];
  tokens[0] = CORPUS_EOT;
  for (int j = 0; j < prompt_len; j++) tokens[1 + j] = d[j];
}

void corpus_prompt_needs(const oo_config *cfg, int need[PROMPTS_N_USES]) {
  need[PROMPTS_PREFS_TRAIN] = cfg->prefs.n_train;
  need[PROMPTS_PREFS_TEST] = cfg->prefs.n_test;
  need[PROMPTS_GOLD_CALIB] = cfg->gold.calib_prompts;
  need[PROMPTS_BON_EVAL] = cfg->bon.n_prompts;
  need[PROMPTS_PPO_EVAL] = cfg->ppo.n_eval_prompts;
  need[PROMPTS_PPO_TRAIN] = -1;
}

int corpus_prompt_range(int n_pool, const int need[PROMPTS_N_USES], int use, int *first,
                        int *count) {
  static const char *names[PROMPTS_N_USES] = {"prefs train (prefs.n_train)",
                                              "prefs test (prefs.n_test)",
                                              "gold calibration (gold.calib_prompts)",
                                              "BoN eval (bon.n_prompts)",
                                              "PPO eval (ppo.n_eval_prompts)", "PPO train"};
  REQUIRE(use >= 0 && use < PROMPTS_N_USES, "corpus_prompt_range: bad use %d", use);
  long fixed = 0;
  for (int u = 0; u < PROMPTS_N_USES; u++) {
    REQUIRE(need[u] >= 0 || (need[u] == -1 && u == PROMPTS_N_USES - 1),
            "corpus_prompt_range: %s needs %d prompts", names[u], need[u]);
    if (need[u] > 0) fixed += need[u];
  }
  int rest = need[PROMPTS_N_USES - 1] < 0;
  if (fixed + rest > n_pool) {
    char list[512];
    size_t k = 0;
    for (int u = 0; u < PROMPTS_N_USES && k < sizeof list; u++)
      k += (size_t)(need[u] < 0 ? snprintf(list + k, sizeof list - k, "%s%s: at least 1",
                                           u ? ", " : "", names[u])
                                : snprintf(list + k, sizeof list - k, "%s%s: %d", u ? ", " : "",
                                           names[u], need[u]));
    OO_FAIL("the prompt pool has %d documents but the stages need %ld (%s): lower these counts "
            "or prefs.prompt_len, or use a larger corpus",
            n_pool, fixed + rest, list);
  }
  long start = 0;
  for (int u = 0; u < use; u++) start += need[u];
  *first = (int)start;
  *count = need[use] < 0 ? (int)(n_pool - start) : need[use];
  return OO_OK;
}
