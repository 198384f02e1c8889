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
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench_rlhf.h"
#include "commands.h"
#include "core/core.h"
#include "core/machine.h"
#include "core/metrics.h"
#include "io/config.h"
#include "model/bench.h"
#include "model/kernels.h"
#include "plan.h"

static const oo_option opts[] = {
    {"--config", NULL, OPT_VALUE, "FILE", "two reference shapes", 0, "bench the policy and proxy RM sizes of this config"},
    {"--quick", NULL, OPT_FLAG, NULL, NULL, 0, "fewer repetitions and 32 generated tokens per sequence (a smoke test)"},
    {"--out", NULL, OPT_VALUE, "FILE", "~/.cache/overopt/bench.json", 0,
     "write the measured rates as JSON for `overopt plan` (- = do not write)"},
};
const oo_cmd_spec cmd_bench_spec = {
    "bench", "time sgemm, a training step, sampling and scoring; ratios to sgemm; rates for `overopt plan`",
    "overopt bench --config configs/quickstart.cfg", opts, OO_N_OPTS(opts), cmd_bench, 0};

/* Writes the rates `overopt plan` reads (plan.h): GFLOP/s of one rank for training, sampling and
 * scoring, the mean over the shapes measured, and each shape's row with its ratios to sgemm
 * (what docs/bench/ratios.py compares between two runs), with the CPU and the BLAS kernel. */
static int write_rates(const char *path, const bench_opts *shapes, const bench_result *r, int n) {
  CHECK(plan_mkdir_for(path));
  FILE *f = fopen(path, "w");
  REQUIRE(f, "cannot write '%s': %s", path, strerror(errno));
  double g[3] = {0, 0, 0};
  for (int i = 0; i < n; i++) g[0] += r[i].train_gflops / n, g[1] += r[i].sample_gflops / n, g[2] += r[i].score_gflops / n;
  fprintf(f, "{\"overopt\": \"%s\", \"blas\": \"%s\", \"train_gflops\": %.4g, \"sample_gflops\": %.4g, "
             "\"score_gflops\": %.4g,\n \"cpu\": ", OVEROPT_VERSION, openblas_get_config(), g[0], g[1], g[2]);
  oo_json_string(f, oo_cpu_model());
  fprintf(f, ", \"blas_kernel\": ");
  oo_json_string(f, oo_blas_kernel());
  fprintf(f, ", \"project_kernels\": ");
  oo_json_string(f, kern_describe());
  /* how it was measured (--quick: 1 repetition, 32 tokens): runs of other modes do not compare */
  fprintf(f, ", \"reps\": %d, \"max_new\": %d", n ? shapes[0].reps : 0, n ? shapes[0].max_new : 0);
  fprintf(f, ",\n \"shapes\": [");
  for (int i = 0; i < n; i++)
    fprintf(f,
            "%s\n  {\"d_model\": %d, \"n_layer\": %d, \"n_ctx\": %d, \"train_gflops\": %.4g, \"sample_gflops\": %.4g, "
            "\"score_gflops\": %.4g, \"sgemm_gflops\": %.4g, \"train_ratio\": %.4f, \"sample_ratio\": %.4f, "
            "\"score_ratio\": %.4f, \"kv_gbps\": %.4g, \"stream_gbps\": %.4g, \"sample_roofline\": %.4f}",
            i ? "," : "", shapes[i].d.C, shapes[i].d.L, shapes[i].d.T, r[i].train_gflops, r[i].sample_gflops,
            r[i].score_gflops, r[i].sgemm_train_gflops, r[i].train_ratio, r[i].sample_ratio, r[i].score_ratio,
            r[i].kv_gbps, r[i].stream_gbps, r[i].sample_roofline);
  fprintf(f, "]}\n");
  int bad = ferror(f);
  bad |= fclose(f);
  REQUIRE(!bad, "cannot write '%s': %s", path, strerror(errno));
  return OO_OK;
}

int cmd_bench(int argc, char **argv) {
  oo_args a;
  if (opts_parse(&cmd_bench_spec, argc, argv, &a)) return opts_usage_error(&cmd_bench_spec);
  const char *path = opt_value(&a, "--config");
  int quick = opt_given(&a, "--quick");
  bench_opts shapes[2];
  int n = 0;
  /* 8 repetitions: on a shared VM a C128 step's best of 4 still moved 8% between rounds (one
   * slow phase covered all four); sampling keeps at most BENCH_SAMPLE_REPS, its runs are long */
  const bench_opts base = {.B_sample = 64, .reps = quick ? 1 : 8, .max_new = quick ? 32 : 0};
  oo_config cfg;
  cfg_defaults(&cfg);
  if (path) {
    if (cfg_load(&cfg, path) || cfg_validate(&cfg, path)) return opts_runtime_error("bench");
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
  const char *was = oo_blas_kernel_fallback(); /* the kernel OpenBLAS chose, where the guard switched */
  printf("CPU: %s; BLAS kernel: %s%s%s; project kernels: %s\n", oo_cpu_model(), oo_blas_kernel(),
         was ? ", OpenBLAS had chosen " : "", was ? was : "", kern_describe());
  printf("overopt bench: OpenBLAS %s, 1 thread; best of %d (sampling %d) after a warm-up, thread CPU time; ratio ="
         " model GFLOP/s / sgemm GFLOP/s on the same shapes\n",
         openblas_get_config(), base.reps, base.reps > BENCH_SAMPLE_REPS ? BENCH_SAMPLE_REPS : base.reps);
  printf("FLOPs: training 6*(matmul params) + 6*L*C*(T+1) per token (causal attention);"
         " sampling 2*(matmul params) + 4*L*C*(t+1) per position; scoring: a reward model, no LM head\n\n");
  bench_print_header(stdout);
  bench_result r[2];
  for (int i = 0; i < n; i++) {
    if (bench_model(&shapes[i], &r[i])) return opts_runtime_error("bench");
    bench_print_row(stdout, &shapes[i], &r[i]);
    fflush(stdout);
  }
  for (int i = 0; i < n; i++) bench_print_memory(stdout, &shapes[i], &r[i]);
  bench_rlhf_result rr;
  if (bench_rlhf(&cfg, quick ? 1 : 3, &rr)) return opts_runtime_error("bench");
  bench_rlhf_print(stdout, &cfg, &rr);
  const char *out = opt_str(&a, "--out");
  char def[4096];
  if (!opt_given(&a, "--out") && plan_default_bench_path(def, sizeof def) == OO_OK) out = def;
  if (out && strcmp(out, "-")) {
    if (write_rates(out, shapes, r, n)) return opts_runtime_error("bench");
    printf("\nrates for `overopt plan`: %s\n", out);
  }
  return 0;
}
