/* cmd_bench: `overopt bench [--config F] [--quick]` times the model against OpenBLAS sgemm
 * in the same run and prints a table (bench.h). Without --config it measures the two
 * reference shapes (C 256 L 6 NH 8 T 256 batch 8; C 128 L 4 NH 4 T 128 batch 16); with a
 * config, the policy size and the proxy RM size at pretrain.n_ctx and pretrain.batch. Then a
 * PPO step and a best-of-n round at the config's sizes (the defaults, i.e. the quickstart's,
 * without --config): bench_rlhf.h.
 * BLAS runs on one thread: the ratio is per core, as ranks x threads <= cores in a run.
 * Single process, no MPI: main.c calls it on rank 0 while other ranks idle.
 */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "bench_rlhf.h"
#include "commands.h"
#include "core/core.h"
#include "core/machine.h"
#include "io/config.h"
#include "model/bench.h"

static int usage(const char *msg) {
  fprintf(stderr,
          "overopt bench: %s\n"
          "usage: overopt bench [--config F] [--quick]\n"
          "  --config F  bench the policy and proxy RM sizes of config F (default: two reference shapes)\n"
          "  --quick     fewer repetitions and 32 generated tokens per sequence (a smoke test)\n",
          msg);
  return 2;
}

int cmd_bench(int argc, char **argv) {
  const char *path = NULL;
  int quick = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      quick = 1;
    } else if (!strcmp(argv[i], "--config")) {
      if (++i == argc) return usage("--config needs a file");
      path = argv[i];
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage("help");
      return 0;
    } else {
      char msg[300];
      snprintf(msg, sizeof msg, "unknown argument '%.200s'", argv[i]);
      return usage(msg);
    }
  }

  bench_opts shapes[2];
  int n = 0;
  const bench_opts base = {.B_sample = 64, .reps = quick ? 1 : 4, .max_new = quick ? 32 : 0};
  oo_config cfg;
  cfg_defaults(&cfg);
  if (path) {
    if (cfg_load(&cfg, path) || cfg_validate(&cfg, path)) {
      fprintf(stderr, "overopt bench: %s\n", oo_error_message());
      return 1;
    }
    const cfg_size *sz[2] = {&cfg.pretrain.policy, &cfg.rm.size};
    for (int i = 0; i < 2; i++) {
      if (i == 1 && !memcmp(sz[0], sz[1], sizeof *sz[0])) break; /* same size: bench once */
      shapes[n] = base;
      shapes[n].d = (gpt_dims){GPT_VOCAB, cfg.pretrain.n_ctx, sz[i]->d_model, sz[i]->n_layer, sz[i]->n_head};
      shapes[n].B = cfg.pretrain.batch > 0 ? cfg.pretrain.batch : 1;
      n++;
    }
  } else {
    shapes[0] = base, shapes[0].d = (gpt_dims){GPT_VOCAB, 256, 256, 6, 8}, shapes[0].B = 8;
    shapes[1] = base, shapes[1].d = (gpt_dims){GPT_VOCAB, 128, 128, 4, 4}, shapes[1].B = 16;
    n = 2;
  }

  openblas_set_num_threads(1);
  printf("CPU: %s; BLAS kernel: %s; project kernels: %s\n", oo_cpu_model(), oo_blas_kernel(), oo_kernel_target());
  printf("overopt bench: OpenBLAS %s, 1 thread; best of %d after a warm-up, thread CPU time; ratio = model GFLOP/s /"
         " sgemm GFLOP/s on the same shapes\n",
         openblas_get_config(), base.reps);
  printf("FLOPs: training 6*(matmul params) + 6*L*C*(T+1) per token (causal attention);"
         " sampling/scoring 2*(matmul params) + 4*L*C*(t+1) per position\n\n");
  bench_print_header(stdout);
  for (int i = 0; i < n; i++) {
    bench_result r;
    if (bench_model(&shapes[i], &r)) {
      fprintf(stderr, "overopt bench: %s\n", oo_error_message());
      return 1;
    }
    bench_print_row(stdout, &shapes[i], &r);
    fflush(stdout);
  }
  bench_rlhf_result rr;
  if (bench_rlhf(&cfg, quick ? 1 : 3, &rr)) {
    fprintf(stderr, "overopt bench: %s\n", oo_error_message());
    return 1;
  }
  bench_rlhf_print(stdout, &cfg, &rr);
  return 0;
}
