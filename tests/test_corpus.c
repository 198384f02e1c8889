/* Unit tests of data/corpus: delimiters, directories, error messages, the split, LM batch
 * windows against an explicitly built stream, the prompt pool and ranges, and a smoke load of
 * the fortunes corpus when it is installed. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "data/corpus.h"
#include "testing.h"

static char dir[64];

static void write_file(const char *name, const char *data, size_t n) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  fwrite(data, 1, n, f);
  fclose(f);
}
static void write_text(const char *name, const char *text) { write_file(name, text, strlen(text)); }
static const char *in_dir(const char *name) {
  static char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}
static int doc_is(const oo_corpus *c, int i, const char *text) {
  return i < c->n_docs && c->doc_len[i] == (int)strlen(text) &&
         memcmp(c->bytes + c->doc_start[i], text, strlen(text)) == 0;
}
static int has(const char *part) { return strstr(oo_error_message(), part) != NULL; }

static void test_delimiters(void) {
  oo_corpus c;
  write_text("pct.txt", "  first doc \n%\nsecond\nline two\n%\r\n%\n\n%  \nx\n%\nlast one");
  EXPECT_OK(corpus_load(&c, in_dir("pct.txt"), "percent", 1));
  EXPECT_MSG(c.n_docs == 4, "%d docs", c.n_docs);
  EXPECT(doc_is(&c, 0, "first doc"));
  EXPECT(doc_is(&c, 1, "second\nline two"));
  EXPECT(doc_is(&c, 2, "x"));
  EXPECT(doc_is(&c, 3, "last one"));
  EXPECT(c.n_files == 1 && c.split_n[CORPUS_TRAIN] == 4 && c.split_n[CORPUS_VAL] == 0);
  corpus_free(&c);
  EXPECT_OK(corpus_load(&c, in_dir("pct.txt"), "percent", 3)); /* "x" dropped */
  EXPECT(c.n_docs == 3 && doc_is(&c, 2, "last one"));
  corpus_free(&c);

  write_text("blank.txt", "\n\none\ntwo\n\n\n  three  \n \t \nfour\n% not a separator\n");
  EXPECT_OK(corpus_load(&c, in_dir("blank.txt"), "blank", 1));
  EXPECT_MSG(c.n_docs == 3, "%d docs", c.n_docs);
  EXPECT(doc_is(&c, 0, "one\ntwo"));
  EXPECT(doc_is(&c, 1, "three"));
  EXPECT(doc_is(&c, 2, "four\n% not a separator"));
  corpus_free(&c);

  /* bytes >= 0x80 are kept as they are */
  write_text("utf8.txt", "caf\xc3\xa9\n%\n\xff\xfe text");
  EXPECT_OK(corpus_load(&c, in_dir("utf8.txt"), "percent", 1));
  EXPECT(c.n_docs == 2 && c.bytes[c.doc_start[1]] == 0xff);
  corpus_free(&c);
}

static void test_directory(void) {
  char sub[256];
  snprintf(sub, sizeof sub, "%s/d", dir);
  mkdir(sub, 0777);
  write_text("d/b", "bee one\n%\nbee two\n");
  write_text("d/a", "ay one\n%\nay two\n");
  write_file("d/a.dat", "\0\0\0\2binary", 10); /* strfile index: skipped */
  write_file("d/a.u8", "\0\0\0", 3);           /* skipped */
  write_text("d/.hidden", "hidden\n");
  char subsub[300];
  snprintf(subsub, sizeof subsub, "%s/d/zz", dir);
  mkdir(subsub, 0777);
  oo_corpus c;
  EXPECT_OK(corpus_load(&c, sub, "percent", 1));
  EXPECT_MSG(c.n_docs == 4 && c.n_files == 2, "%d docs, %d files", c.n_docs, c.n_files);
  EXPECT(doc_is(&c, 0, "ay one") && doc_is(&c, 1, "ay two") && doc_is(&c, 2, "bee one") &&
         doc_is(&c, 3, "bee two"));
  corpus_free(&c);
  /* a binary file among text files is named */
  write_file("d/c", "text\0more", 9);
  EXPECT(corpus_load(&c, sub, "percent", 1) != 0);
  EXPECT_MSG(has("d/c' looks binary (NUL byte at offset 4)"), "%s", oo_error_message());
  EXPECT(c.bytes == NULL && c.n_docs == 0); /* nothing left allocated */
}

static void test_errors(void) {
  oo_corpus c;
  write_text("empty.txt", "");
  EXPECT(corpus_load(&c, in_dir("empty.txt"), "percent", 1) != 0);
  EXPECT_MSG(has("has no documents: 0 bytes read from 1 file(s) with delimiter 'percent'") &&
                 has("corpus.delimiter = \"blank\""),
             "%s", oo_error_message());
  write_text("onlypct.txt", "%\n%\n\n%\n");
  EXPECT(corpus_load(&c, in_dir("onlypct.txt"), "percent", 1) != 0); /* separators only */
  EXPECT_MSG(has("7 bytes read"), "%s", oo_error_message());
  write_text("short.txt", "ab\n%\ncd\n");
  EXPECT(corpus_load(&c, in_dir("short.txt"), "percent", 10) != 0);
  EXPECT_MSG(has("2 documents shorter than corpus.min_doc_bytes = 10"), "%s", oo_error_message());
  EXPECT(corpus_load(&c, in_dir("short.txt"), "blank", 10) != 0);
  EXPECT_MSG(has("delimiter 'blank'") && has("corpus.delimiter = \"percent\""), "%s",
             oo_error_message());
  char bin[4096];
  for (int i = 0; i < 4096; i++) bin[i] = (char)(1 + i % 7); /* control bytes, no NUL */
  write_file("ctrl.bin", bin, sizeof bin);
  EXPECT(corpus_load(&c, in_dir("ctrl.bin"), "percent", 1) != 0);
  EXPECT_MSG(has("ctrl.bin' looks binary") && has("control characters"), "%s", oo_error_message());
  EXPECT(corpus_load(&c, in_dir("nothere"), "percent", 1) != 0);
  EXPECT_MSG(has("corpus path '") && has("nothere' cannot be read: No such file"), "%s",
             oo_error_message());
  EXPECT(corpus_load(&c, in_dir("short.txt"), "lines", 1) != 0);
  EXPECT(has("corpus.delimiter is 'lines'"));
  char emptydir[256];
  snprintf(emptydir, sizeof emptydir, "%s/emptydir", dir);
  mkdir(emptydir, 0777);
  EXPECT(corpus_load(&c, emptydir, "percent", 1) != 0);
  EXPECT(has("holds no text files"));
}

/* Corpus of n documents "doc<i>:" followed by i%13 letters; returns it loaded. */
static void make_numbered(oo_corpus *c, int n, const char *name) {
  size_t cap = (size_t)n * 40, len = 0;
  char *text = xmalloc(cap);
  for (int i = 0; i < n; i++) {
    len += (size_t)snprintf(text + len, cap - len, "doc%d:", i);
    for (int j = 0; j < i % 13; j++) text[len++] = (char)('a' + j);
    len += (size_t)snprintf(text + len, cap - len, "\n%%\n");
  }
  write_file(name, text, len);
  xfree(&text);
  if (corpus_load(c, in_dir(name), "percent", 1)) fprintf(stderr, "%s\n", oo_error_message());
}

static void test_split(void) {
  oo_corpus a, b;
  make_numbered(&a, 100, "num.txt");
  make_numbered(&b, 100, "num.txt");
  EXPECT(a.n_docs == 100);
  EXPECT_OK(corpus_split(&a, 0.2, 7));
  EXPECT_OK(corpus_split(&b, 0.2, 7));
  EXPECT(a.split_n[CORPUS_VAL] == 20 && a.split_n[CORPUS_TRAIN] == 80);
  EXPECT(memcmp(a.split_docs[CORPUS_VAL], b.split_docs[CORPUS_VAL], 20 * sizeof(int)) == 0);
  int seen[100] = {0};
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < a.split_n[s]; k++) {
      seen[a.split_docs[s][k]]++;
      if (k) EXPECT(a.split_docs[s][k] > a.split_docs[s][k - 1]);
    }
  int all_once = 1;
  for (int i = 0; i < 100; i++) all_once &= seen[i] == 1;
  EXPECT(all_once); /* disjoint and complete */
  EXPECT_OK(corpus_split(&b, 0.2, 8));
  EXPECT(memcmp(a.split_docs[CORPUS_VAL], b.split_docs[CORPUS_VAL], 20 * sizeof(int)) != 0);
  EXPECT(corpus_split(&b, 1.0, 1) != 0);
  EXPECT(has("corpus.val_fraction = 1"));
  EXPECT_OK(corpus_split(&b, 0.001, 1)); /* rounds to 0: at least one */
  EXPECT(b.split_n[CORPUS_VAL] == 1);
  oo_corpus one;
  write_text("one.txt", "just one document");
  EXPECT_OK(corpus_load(&one, in_dir("one.txt"), "percent", 1));
  EXPECT(corpus_split(&one, 0.1, 1) != 0);
  EXPECT(has("leaves none for training"));
  EXPECT_OK(corpus_split(&one, 0.0, 1));
  corpus_free(&one);
  corpus_free(&a);
  corpus_free(&b);
}

/* The split's stream built explicitly: EOT doc EOT doc ... */
static int *build_stream(const oo_corpus *c, int split, long *len) {
  long n = c->split_off[split][c->split_n[split]];
  int *s = xmalloc((size_t)n * sizeof(int));
  long k = 0;
  for (int i = 0; i < c->split_n[split]; i++) {
    int d = c->split_docs[split][i];
    s[k++] = CORPUS_EOT;
    for (int j = 0; j < c->doc_len[d]; j++) s[k++] = c->bytes[c->doc_start[d] + j];
  }
  *len = k;
  return s;
}

/* 1 if w[0..n) occurs in the cyclic stream s[0..len). */
static int in_cyclic_stream(const int *s, long len, const int *w, int n) {
  for (long p = 0; p < len; p++) {
    int ok = 1;
    for (int t = 0; t < n && ok; t++) ok = s[(p + t) % len] == w[t];
    if (ok) return 1;
  }
  return 0;
}

static void test_lm_batch(void) {
  oo_corpus c;
  make_numbered(&c, 60, "num2.txt");
  EXPECT_OK(corpus_split(&c, 0.25, 3));
  for (int split = 0; split < 2; split++) {
    long len;
    int *stream = build_stream(&c, split, &len);
    int B = 16, T = 24;
    int *tok = xmalloc(sizeof(int) * (size_t)(B * T)), *tgt = xmalloc(sizeof(int) * (size_t)(B * T));
    int *tok2 = xmalloc(sizeof(int) * (size_t)(B * T)), *win = xmalloc(sizeof(int) * (size_t)(T + 1));
    oo_rng r = oo_rng_make(5, RNG_TEST, (uint64_t)split, 0), r2 = r;
    int windows_ok = 1, shift_ok = 1, eot_ok = 1, n_eot = 0;
    for (int rep = 0; rep < 20; rep++) {
      corpus_lm_batch(&c, split, &r, B, T, tok, tgt);
      for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) win[t] = tok[b * T + t];
        win[T] = tgt[b * T + T - 1];
        windows_ok &= in_cyclic_stream(stream, len, win, T + 1);
        for (int t = 0; t + 1 < T; t++) shift_ok &= tgt[b * T + t] == tok[b * T + t + 1];
        /* after EOT comes 'd' of "doc<i>:", the first byte of every document */
        for (int t = 0; t < T; t++)
          if (tok[b * T + t] == CORPUS_EOT) {
            n_eot++;
            eot_ok &= tgt[b * T + t] == 'd';
          }
      }
    }
    EXPECT_MSG(windows_ok, "split %d: a window is not a substring of the stream", split);
    EXPECT(shift_ok);
    EXPECT(eot_ok && n_eot > 0);
    /* determinism: the same rng state gives the same batch */
    corpus_lm_batch(&c, split, &r2, B, T, tok2, tgt);
    oo_rng r3 = oo_rng_make(5, RNG_TEST, (uint64_t)split, 0);
    corpus_lm_batch(&c, split, &r3, B, T, tok, tgt);
    EXPECT(memcmp(tok, tok2, sizeof(int) * (size_t)(B * T)) == 0);
    xfree(&tok); xfree(&tgt); xfree(&tok2); xfree(&win); xfree(&stream);
  }
  /* windows longer than the whole stream wrap around */
  oo_corpus tiny;
  write_text("tiny.txt", "ab\n%\nc");
  EXPECT_OK(corpus_load(&tiny, in_dir("tiny.txt"), "percent", 1));
  int tok[12], tgt[12];
  oo_rng r = oo_rng_make(1, RNG_TEST, 9, 0);
  corpus_lm_batch(&tiny, CORPUS_TRAIN, &r, 1, 12, tok, tgt);
  long len;
  int *stream = build_stream(&tiny, CORPUS_TRAIN, &len);
  EXPECT(len == 5);
  int w[13];
  for (int t = 0; t < 12; t++) w[t] = tok[t];
  w[12] = tgt[11];
  EXPECT(in_cyclic_stream(stream, len, w, 13));
  /* unigram entropy of "EOT a b EOT c": counts 2,1,1,1 of 5 */
  double h = -(0.4 * log2(0.4) + 3 * 0.2 * log2(0.2));
  EXPECT_NEAR(corpus_unigram_entropy_bits(&tiny), h, 1e-12);
  xfree(&stream);
  corpus_free(&tiny);
  corpus_free(&c);
}

static void test_prompts(void) {
  oo_corpus c;
  make_numbered(&c, 80, "num3.txt");
  EXPECT_OK(corpus_split(&c, 0.25, 11));
  int L = 12; /* "doc<i>:" is 5-7 bytes, plus i%13 letters */
  int *pool = NULL, *pool2 = NULL, n = 0, n2 = 0;
  EXPECT_OK(corpus_prompt_pool(&c, L, 42, &pool, &n));
  EXPECT_OK(corpus_prompt_pool(&c, L, 42, &pool2, &n2));
  EXPECT(n == n2 && memcmp(pool, pool2, sizeof(int) * (size_t)n) == 0);
  int expect_n = 0;
  for (int k = 0; k < c.split_n[CORPUS_TRAIN]; k++)
    expect_n += c.doc_len[c.split_docs[CORPUS_TRAIN][k]] >= L;
  EXPECT_MSG(n == expect_n && n > 0 && n < c.split_n[CORPUS_TRAIN], "n=%d expected %d", n, expect_n);
  unsigned char *is_val = xcalloc((size_t)c.n_docs, 1);
  for (int k = 0; k < c.split_n[CORPUS_VAL]; k++) is_val[c.split_docs[CORPUS_VAL][k]] = 1;
  int pool_ok = 1, sorted = 1;
  for (int k = 0; k < n; k++) {
    pool_ok &= !is_val[pool[k]] && c.doc_len[pool[k]] >= L;
    if (k) sorted &= pool[k] > pool[k - 1];
  }
  EXPECT(pool_ok);
  EXPECT(!sorted); /* shuffled */
  xfree(&pool2);
  EXPECT_OK(corpus_prompt_pool(&c, L, 43, &pool2, &n2));
  EXPECT(n2 == n && memcmp(pool, pool2, sizeof(int) * (size_t)n) != 0);
  int tokens[13];
  corpus_prompt(&c, pool[0], L, tokens);
  EXPECT(tokens[0] == CORPUS_EOT && tokens[1] == 'd' && tokens[2] == 'o');
  int same = 1;
  for (int j = 0; j < L; j++) same &= tokens[1 + j] == c.bytes[c.doc_start[pool[0]] + j];
  EXPECT(same);
  xfree(&pool2);
  EXPECT(corpus_prompt_pool(&c, 1000, 42, &pool2, &n2) != 0);
  EXPECT(has("prefs.prompt_len = 1000"));
  EXPECT(pool2 == NULL);
  /* ranges: disjoint, consecutive, the rest to PPO training */
  int need[PROMPTS_N_USES] = {5, 3, 2, 4, 1, -1}, first, count, next = 0;
  for (int u = 0; u < PROMPTS_N_USES; u++) {
    EXPECT_OK(corpus_prompt_range(n, need, u, &first, &count));
    EXPECT(first == next && count == (need[u] < 0 ? n - 15 : need[u]));
    next = first + count;
  }
  EXPECT(next == n);
  need[0] = n - 9; /* the fixed needs take all n: none left for PPO training */
  EXPECT(corpus_prompt_range(n, need, 0, &first, &count) != 0);
  EXPECT_MSG(has("prompt pool has") && has("prefs train (prefs.n_train)"), "%s", oo_error_message());
  oo_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.prefs.n_train = 7;
  cfg.bon.n_prompts = 9;
  corpus_prompt_needs(&cfg, need);
  EXPECT(need[PROMPTS_PREFS_TRAIN] == 7 && need[PROMPTS_BON_EVAL] == 9 && need[PROMPTS_PPO_TRAIN] == -1);
  xfree(&is_val);
  xfree(&pool);
  corpus_free(&c);
}

static void test_fortunes(void) {
  const char *path = "/usr/share/games/fortunes";
  if (access(path, R_OK) != 0) {
    printf("fortunes smoke test skipped: %s not installed (Debian package fortunes)\n", path);
    return;
  }
  oo_corpus c;
  double t0 = oo_now();
  EXPECT_OK(corpus_load(&c, path, "percent", 16));
  if (c.n_docs == 0) return;
  EXPECT_OK(corpus_split(&c, 0.05, 1));
  double h = corpus_unigram_entropy_bits(&c);
  printf("fortunes: %d files, %ld bytes read, %d documents, %ld document bytes, %d/%d train/val, "
         "unigram entropy %.3f bits, %.3f s\n",
         c.n_files, c.bytes_read, c.n_docs, c.n_bytes, c.split_n[0], c.split_n[1], h,
         oo_now() - t0);
  EXPECT(c.n_docs > 1000);
  EXPECT(h > 3 && h < 6);
  corpus_free(&c);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/oo_corpus_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  long live = oo_mem_live_blocks();
  test_delimiters();
  test_directory();
  test_errors();
  test_split();
  test_lm_batch();
  test_prompts();
  test_fortunes();
  EXPECT_MSG(oo_mem_live_blocks() == live, "%ld blocks leaked", oo_mem_live_blocks() - live);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return TEST_SUMMARY();
}
