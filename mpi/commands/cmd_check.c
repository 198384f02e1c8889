/* cmd_check: `overopt check CONFIG [--set key=value ...] [--ranks N]` validates a config and
 * prints it resolved (defaults filled in, overrides applied) in libconfig syntax, loadable again,
 * after comment lines with the memory estimate per rank (mem_budget.h); a config whose estimate
 * exceeds the memory limit is refused. `--json` prints the resolved config as JSON (config.json
 * of a run); `--reference` prints the markdown table of every key (the README's configuration
 * reference). Single process: it uses no MPI, so main.c calls it on rank 0 only.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "io/config.h"
#include "mem_budget.h"

static const oo_option opts[] = {
    {"CONFIG", NULL, OPT_POSITIONAL, NULL, NULL, 0, "libconfig file to validate (required unless --reference)"},
    {"--set", NULL, OPT_REPEAT, "KEY=VALUE", NULL, 0, "override a key, e.g. rm.k=3"},
    {"--ranks", NULL, OPT_VALUE, "N", "slurm.ntasks", 0, "ranks the memory estimate per rank is made for"},
    {"--reference", NULL, OPT_FLAG, NULL, NULL, 0, "print the markdown reference of every config key instead"},
    {"--json", NULL, OPT_FLAG, NULL, NULL, 0, "print the resolved config as JSON instead of libconfig text"},
};
const oo_cmd_spec cmd_check_spec = {
    "check", "validate a config and print it resolved with its memory estimate (or the reference of every key)",
    "overopt check configs/quickstart.cfg --set rm.k=3 --ranks 2", opts, OO_N_OPTS(opts), cmd_check, 0};

int cmd_check(int argc, char **argv) {
  oo_args a;
  if (opts_parse(&cmd_check_spec, argc, argv, &a)) return opts_usage_error(&cmd_check_spec);
  const char *path = opt_str(&a, "CONFIG");
  int reference = opt_given(&a, "--reference");
  long ranks = 0; /* 0: slurm.ntasks */
  if (opt_long(&a, "--ranks", 1, 1000000, &ranks)) return opts_usage_error(&cmd_check_spec);
  if (reference && !path) {
    if (cfg_reference(stdout)) goto fail;
    return 0;
  }
  if (!path) {
    oo_error_at(__FILE__, __LINE__, "no CONFIG given (configs/quickstart.cfg is the default config)");
    return opts_usage_error(&cmd_check_spec);
  }

  oo_config cfg;
  int n_set = 0;
  if (cfg_load(&cfg, path)) goto fail;
  for (; n_set < opt_given(&a, "--set"); n_set++)
    if (cfg_set(&cfg, opt_item(&a, "--set", n_set))) goto fail;
  if (cfg_validate(&cfg, path)) goto fail;
  if (reference) {
    if (cfg_reference(stdout)) goto fail;
    return 0;
  }
  mem_budget budget;
  mem_budget_estimate(&cfg, ranks > 0 ? (int)ranks : cfg.slurm.ntasks, &budget);
  if (mem_budget_check(&budget, oo_mem_limit())) goto fail;
  if (opt_given(&a, "--json")) {
    if (cfg_write_json(&cfg, stdout)) goto fail;
    return fflush(stdout) ? 1 : 0;
  }
  printf("// %s is valid; resolved with %d override%s\n", path, n_set, n_set == 1 ? "" : "s");
  mem_budget_print(&budget, oo_mem_limit(), stdout);
  if (cfg_write(&cfg, stdout)) goto fail;
  return fflush(stdout) ? 1 : 0;

fail:
  return opts_runtime_error("check");
}
