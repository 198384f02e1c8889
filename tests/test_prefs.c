/* test_prefs: prefs.h5 through its writer and reader (src/data/prefs.h). A small preference set
 * made here (5 pairs, 3 train + 2 test, prompts of 4 bytes, responses of up to 3 tokens) is
 * written by prefs_write and read back by prefs_load: every dataset, attribute and the
 * [EOT, prompt, response] sequences built from them. Then malformed inputs, each refused with a
 * message naming the file and what is wrong: a missing file, a non-HDF5 file, a config that
 * disagrees with the file (counts, prompt and response lengths), a missing dataset or attribute,
 * and out-of-range values (split order, labels, prompt bytes, response lengths and padding). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "data/prefs.h"
#include "io/config.h"
#include "io/h5io.h"
#include "model/gpt.h"
#include "testing.h"

enum { N = 5, NTR = 3, NTE = 2, PROMPT_LEN = 4, RESPONSE_LEN = 3 };

static char dir[64];

/* The hand-made set: backing arrays and a prefs_data view of them. */
typedef struct {
  int prompt[N * PROMPT_LEN], resp[N * 2 * (RESPONSE_LEN + 1)], resp_len[N * 2];
  int label_clean[N], label_train[N], split[N];
  float gold[N * 2];
  prefs_data view;
} fixture;

static void make_fixture(fixture *f) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < PROMPT_LEN; j++) f->prompt[i * PROMPT_LEN + j] = 'a' + (i * 7 + j) % 26;
    for (int s = 0; s < 2; s++) {
      int len = 1 + (i + s) % (RESPONSE_LEN + 1); /* 1 .. RESPONSE_LEN+1 */
      f->resp_len[i * 2 + s] = len;
      for (int t = 0; t <= RESPONSE_LEN; t++) {
        int v = t < len ? (t == len - 1 && s == 1 ? GPT_EOT : 'A' + (i + t + s) % 26) : -1;
        f->resp[(i * 2 + s) * (RESPONSE_LEN + 1) + t] = v;
      }
      f->gold[i * 2 + s] = 0.25f * (float)(i - 2) + (s ? 0.125f : -0.5f);
    }
    f->label_clean[i] = f->gold[i * 2 + 1] > f->gold[i * 2] ? 1 : 0;
    f->label_train[i] = i == 1 ? 1 - f->label_clean[i] : f->label_clean[i]; /* one flip */
    f->split[i] = i < NTR ? 0 : 1;
  }
  f->view = (prefs_data){.n = N, .n_train = NTR, .n_test = NTE, .prompt_len = PROMPT_LEN, .response_len = RESPONSE_LEN,
                         .prompt = f->prompt, .resp = f->resp, .resp_len = f->resp_len, .gold = f->gold,
                         .label_clean = f->label_clean, .label_train = f->label_train, .split = f->split,
                         .noise = 0.25, .noise_realised = 1.0 / NTR};
  snprintf(f->view.noise_mode, sizeof f->view.noise_mode, "exact");
}

static void make_config(oo_config *cfg) {
  cfg_defaults(cfg);
  cfg->prefs.n_train = NTR;
  cfg->prefs.n_test = NTE;
  cfg->prefs.prompt_len = PROMPT_LEN;
  cfg->prefs.response_len = RESPONSE_LEN;
}

/* Writes f to dir/name with prefs_write; the path into out. */
static void write_fixture(char *out, size_t cap, const char *name, const fixture *f) {
  snprintf(out, cap, "%s/%s", dir, name);
  h5_writer w;
  EXPECT_OK(h5_create(&w, out));
  EXPECT_OK(prefs_write(&f->view, &w));
  EXPECT_OK(h5_commit(&w));
}

static int error_has(const char *want) {
  const char *msg = oo_error_message();
  if (strstr(msg, want)) return 1;
  fprintf(stderr, "error message '%s' lacks '%s'\n", msg, want);
  return 0;
}

/* prefs_load of path under cfg fails, frees everything and the message holds each of want[]. */
static void expect_refused(const char *path, const oo_config *cfg, const char *const *want) {
  prefs_data p;
  long live = oo_mem_live_blocks();
  EXPECT(prefs_load(&p, path, cfg) != 0);
  for (int i = 0; want[i]; i++) EXPECT(error_has(want[i]));
  EXPECT_MSG(oo_mem_live_blocks() == live, "%s: %ld blocks leaked on the error path", path,
             oo_mem_live_blocks() - live);
}
#define REFUSED(path, cfg, ...) expect_refused(path, cfg, (const char *const[]){__VA_ARGS__, NULL})

static void test_round_trip(void) {
  fixture f;
  make_fixture(&f);
  oo_config cfg;
  make_config(&cfg);
  char path[256];
  write_fixture(path, sizeof path, "prefs.h5", &f);
  prefs_data p;
  EXPECT_OK(prefs_load(&p, path, &cfg));
  if (!p.prompt) return;
  EXPECT(p.n == N && p.n_train == NTR && p.n_test == NTE);
  EXPECT(p.prompt_len == PROMPT_LEN && p.response_len == RESPONSE_LEN);
  EXPECT(p.seq_T == 1 + PROMPT_LEN + RESPONSE_LEN + 1);
  EXPECT(memcmp(p.prompt, f.prompt, sizeof f.prompt) == 0);
  EXPECT(memcmp(p.resp, f.resp, sizeof f.resp) == 0);
  EXPECT(memcmp(p.resp_len, f.resp_len, sizeof f.resp_len) == 0);
  EXPECT(memcmp(p.gold, f.gold, sizeof f.gold) == 0);
  EXPECT(memcmp(p.label_clean, f.label_clean, sizeof f.label_clean) == 0);
  EXPECT(memcmp(p.label_train, f.label_train, sizeof f.label_train) == 0);
  EXPECT(memcmp(p.split, f.split, sizeof f.split) == 0);
  EXPECT(p.noise == 0.25 && p.noise_realised == 1.0 / NTR && strcmp(p.noise_mode, "exact") == 0);
  /* Sequences: [EOT, prompt, response], padded with EOT to seq_T; seq_len = 1 + PROMPT_LEN + resp_len. */
  int bad = 0;
  for (int i = 0; i < N; i++)
    for (int s = 0; s < 2; s++) {
      const int *seq = prefs_seq(&p, i, s), len = f.resp_len[i * 2 + s];
      if (prefs_seq_len(&p, i, s) != 1 + PROMPT_LEN + len || seq[0] != GPT_EOT) bad++;
      for (int j = 0; j < PROMPT_LEN; j++) bad += seq[1 + j] != f.prompt[i * PROMPT_LEN + j];
      for (int t = 0; t < len; t++) bad += seq[1 + PROMPT_LEN + t] != f.resp[(i * 2 + s) * (RESPONSE_LEN + 1) + t];
      for (int t = 1 + PROMPT_LEN + len; t < p.seq_T; t++) bad += seq[t] != GPT_EOT;
    }
  EXPECT_MSG(bad == 0, "%d sequence entries differ from [EOT, prompt, response, EOT...]", bad);
  prefs_free(&p);
  EXPECT(p.prompt == NULL && p.seq == NULL);
}

/* The config must describe the file: each disagreement names the key and says what to rerun. */
static void test_config_mismatch(void) {
  fixture f;
  make_fixture(&f);
  char path[256];
  write_fixture(path, sizeof path, "prefs.h5", &f);
  oo_config cfg;
  make_config(&cfg);
  cfg.prefs.n_train = NTR + 1;
  REFUSED(path, &cfg, "prefs.h5", "n_train = 3", "prefs.n_train = 4", "rerun `overopt stage prefs`");
  make_config(&cfg);
  cfg.prefs.prompt_len = PROMPT_LEN + 1;
  REFUSED(path, &cfg, "prefs.h5", "dataset 'prompt' has shape [5, 4], expected [5, 5]", "prefs.prompt_len = 5");
  make_config(&cfg);
  cfg.prefs.response_len = RESPONSE_LEN - 1;
  REFUSED(path, &cfg, "dataset 'resp' has shape [5, 2, 4], expected [5, 2, 3]", "prefs.response_len = 2");
}

static void test_missing_parts(void) {
  oo_config cfg;
  make_config(&cfg);
  char path[256];
  snprintf(path, sizeof path, "%s/absent.h5", dir);
  REFUSED(path, &cfg, "absent.h5", "does not exist", "run `overopt stage prefs` first");
  snprintf(path, sizeof path, "%s/text.h5", dir);
  FILE *t = fopen(path, "w");
  if (t) {
    fputs("not HDF5\n", t);
    fclose(t);
  }
  REFUSED(path, &cfg, "text.h5");

  /* A file with the attributes and only some datasets: the first missing one is named. */
  fixture f;
  make_fixture(&f);
  snprintf(path, sizeof path, "%s/partial.h5", dir);
  h5_writer w;
  EXPECT_OK(h5_create(&w, path));
  EXPECT_OK(h5_write_i32(&w, "prompt", 2, (long[]){N, PROMPT_LEN}, f.prompt));
  EXPECT_OK(h5_write_i32(&w, "resp", 3, (long[]){N, 2, RESPONSE_LEN + 1}, f.resp));
  EXPECT_OK(h5_attr_write_int(&w, "/", "n_train", NTR));
  EXPECT_OK(h5_attr_write_int(&w, "/", "n_test", NTE));
  EXPECT_OK(h5_commit(&w));
  REFUSED(path, &cfg, "partial.h5", "dataset 'resp_len' is missing");

  snprintf(path, sizeof path, "%s/no_attr.h5", dir);
  EXPECT_OK(h5_create(&w, path));
  EXPECT_OK(h5_write_i32(&w, "prompt", 2, (long[]){N, PROMPT_LEN}, f.prompt));
  EXPECT_OK(h5_attr_write_int(&w, "/", "n_train", NTR));
  EXPECT_OK(h5_commit(&w));
  REFUSED(path, &cfg, "no_attr.h5", "attribute 'n_test' is missing");
}

/* Values a reader relies on: each corruption of a valid set is refused with its index. */
static void test_bad_values(void) {
  oo_config cfg;
  make_config(&cfg);
  char path[256];
  fixture f;

  make_fixture(&f);
  f.split[3] = 0; /* a test pair marked train: train pairs must come first */
  write_fixture(path, sizeof path, "bad_split.h5", &f);
  REFUSED(path, &cfg, "bad_split.h5", "dataset 'split'[3] = 0, expected 1");

  make_fixture(&f);
  f.label_train[2] = 2;
  write_fixture(path, sizeof path, "bad_label.h5", &f);
  REFUSED(path, &cfg, "bad_label.h5", "pair 2 has label_clean", "label_train = 2 (labels are 0 or 1)");

  make_fixture(&f);
  f.prompt[1 * PROMPT_LEN + 2] = 300;
  write_fixture(path, sizeof path, "bad_byte.h5", &f);
  REFUSED(path, &cfg, "bad_byte.h5", "dataset 'prompt'[1, 2] = 300 is not a byte");

  make_fixture(&f);
  f.resp_len[4 * 2 + 1] = 0;
  write_fixture(path, sizeof path, "bad_len.h5", &f);
  REFUSED(path, &cfg, "bad_len.h5", "dataset 'resp_len'[4, 1] = 0 outside 1..4");

  make_fixture(&f);
  f.resp_len[0] = 1; /* then resp[0, 0, 1..] must be -1 */
  f.resp[1] = 'x';
  write_fixture(path, sizeof path, "bad_pad.h5", &f);
  REFUSED(path, &cfg, "bad_pad.h5", "dataset 'resp'[0, 0, 1] = 120", "-1 after");

  make_fixture(&f);
  f.resp[(2 * 2 + 0) * (RESPONSE_LEN + 1)] = GPT_EOT + 1; /* not a token */
  write_fixture(path, sizeof path, "bad_token.h5", &f);
  REFUSED(path, &cfg, "bad_token.h5", "dataset 'resp'[2, 0, 0] = 257");
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/oo_prefs_XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  long live = oo_mem_live_blocks();
  test_round_trip();
  test_config_mismatch();
  test_missing_parts();
  test_bad_values();
  EXPECT_MSG(oo_mem_live_blocks() == live, "%ld blocks leaked", oo_mem_live_blocks() - live);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return TEST_SUMMARY();
}
