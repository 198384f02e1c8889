/* tools_ckpt: fixtures for tests/tools_cli.sh.
 *   tools_ckpt DIR         writes DIR/lm.h5 (random LM), DIR/rm.h5 (random calibrated reward
 *                          model), DIR/text.txt, DIR/long.txt (line 3 too long for n_ctx), and
 *                          the expected outputs DIR/expect_logprob.tsv, DIR/expect_score.tsv,
 *                          computed one line at a time with gpt_forward and a double-precision
 *                          log-softmax (independent of the tools' batching and padding).
 *   tools_ckpt --cmd NAME ARGS...  runs cmd_NAME directly (for trying the tools without
 *                          overopt's main); exits with the command's code.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "model/gpt.h"

#define N_CTX 64

static const char *lines[] = {
    "hello world",
    "",
    "tab\there and back\\slash",
    "\xc3\xa9t\xc3\xa9 \x01\x7f bytes",
    "the quick brown fox jumps over the lazy dog, twice over!!",
};
#define N_LINES 5

static int die(const char *what) {
  fprintf(stderr, "tools_ckpt: %s: %s\n", what, oo_error_message());
  return 1;
}

/* Sequence [256, bytes of s] of length 1 + strlen(s). */
static int to_tokens(const char *s, int *tok) {
  int n = (int)strlen(s);
  tok[0] = GPT_EOT;
  for (int i = 0; i < n; i++) tok[i + 1] = (unsigned char)s[i];
  return n + 1;
}

int main(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[1], "--cmd")) {
    MPI_Init(&argc, &argv);
    int (*fn)(int, char **) = !strcmp(argv[2], "sample")    ? cmd_sample
                              : !strcmp(argv[2], "logprob") ? cmd_logprob
                              : !strcmp(argv[2], "score")   ? cmd_score
                                                            : NULL;
    if (!fn) fprintf(stderr, "tools_ckpt: unknown command '%s'\n", argv[2]);
    int rc = fn ? fn(argc - 2, argv + 2) : 2; /* commands print their own errors */
    MPI_Finalize();
    return rc;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: tools_ckpt DIR | tools_ckpt --cmd NAME ARGS...\n");
    return 2;
  }
  const char *dir = argv[1];
  char p[4096];
  if (oo_mkdir_p(dir)) return die("mkdir");
  gpt_dims d = {.V = GPT_VOCAB, .T = N_CTX, .C = 32, .L = 2, .NH = 4};
  gpt lm, rm;
  if (gpt_create(&lm, d, GPT_LM) || gpt_create(&rm, d, GPT_REWARD)) return die("gpt_create");
  gpt_init_weights(&lm, 7, 0.2f, 0.0f);
  gpt_init_weights(&rm, 8, 0.2f, 0.5f);
  rm.reward_shift = 0.25f;
  rm.reward_scale = 2.0f;
  snprintf(p, sizeof p, "%s/lm.h5", dir);
  if (gpt_save(&lm, p, NULL, 0)) return die("save lm");
  snprintf(p, sizeof p, "%s/rm.h5", dir);
  if (gpt_save(&rm, p, NULL, 0)) return die("save rm");

  snprintf(p, sizeof p, "%s/text.txt", dir);
  FILE *f = fopen(p, "wb");
  for (int i = 0; i < N_LINES; i++) fprintf(f, "%s\n", lines[i]);
  fclose(f);
  snprintf(p, sizeof p, "%s/long.txt", dir);
  f = fopen(p, "wb");
  fprintf(f, "short\nalso short\n");
  for (int i = 0; i < N_CTX; i++) fputc('x', f); /* N_CTX bytes + the start token > n_ctx */
  fprintf(f, "\nshort again\n");
  fclose(f);

  int tok[N_CTX];
  snprintf(p, sizeof p, "%s/expect_logprob.tsv", dir);
  FILE *fl = fopen(p, "w");
  snprintf(p, sizeof p, "%s/expect_score.tsv", dir);
  FILE *fs = fopen(p, "w");
  fprintf(fl, "logprob\ttokens\n");
  fprintf(fs, "reward\ttokens\n");
  for (int i = 0; i < N_LINES; i++) {
    if (strlen(lines[i]) + 1 > N_CTX) {
      fprintf(stderr, "tools_ckpt: fixture line %d is longer than n_ctx\n", i + 1);
      return 1;
    }
    int T = to_tokens(lines[i], tok);
    gpt_forward(&lm, tok, 1, T);
    const float *z = gpt_logits(&lm);
    double sum = 0.0;
    for (int t = 0; t + 1 < T; t++) {
      const float *zt = z + (size_t)t * GPT_VOCAB;
      double mx = zt[0], s = 0.0;
      for (int v = 1; v < GPT_VOCAB; v++) mx = zt[v] > mx ? zt[v] : mx;
      for (int v = 0; v < GPT_VOCAB; v++) s += exp((double)zt[v] - mx);
      sum += (double)zt[tok[t + 1]] - mx - log(s);
    }
    fprintf(fl, "%.9g\t%d\n", sum, T - 1);
    gpt_forward(&rm, tok, 1, T);
    double raw = gpt_scalar_out(&rm)[T - 1];
    fprintf(fs, "%.9g\t%d\n", (raw - rm.reward_shift) / rm.reward_scale, T - 1);
  }
  fclose(fl);
  fclose(fs);
  gpt_free(&lm);
  gpt_free(&rm);
  return 0;
}
