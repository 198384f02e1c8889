/* cmd_check: `overopt check CONFIG [--set key=value ...]` validates a config and prints it
 * resolved (defaults filled in, overrides applied) in libconfig syntax, loadable again, after
 * comment lines with the memory estimate per rank (mem_budget.h); a config whose estimate
 * exceeds the memory limit is refused;
 * `overopt check --reference` prints the markdown table of every key (the README's configuration reference).
 * Single process: it uses no MPI, so main.c calls it on rank 0 only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "io/config.h"
#include "mem_budget.h"

static int usage(const char *msg) {
  fprintf(stderr,
          "overopt check: %s\n"
          "usage: overopt check CONFIG [--set key=value ...] [--ranks N]\n"
          "                                                     validate and print the resolved config, after its\n"
          "                                                     memory estimate per rank for N ranks (default\n"
          "                                                     slurm.ntasks); refuse it above the memory limit\n"
          "       overopt check --reference                     print the reference of every config key\n",
          msg);
  return 2;
}

int cmd_check(int argc, char **argv) {
  const char *path = NULL;
  int reference = 0, ranks = 0; /* 0: slurm.ntasks */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--reference")) {
      reference = 1;
    } else if (!strcmp(argv[i], "--set")) {
      if (++i == argc) return usage("--set needs key=value");
    } else if (!strcmp(argv[i], "--ranks")) {
      char *end = NULL;
      if (++i < argc) ranks = (int)strtol(argv[i], &end, 10);
      if (!end || *end || ranks < 1 || ranks > 1000000) return usage("--ranks needs a rank count from 1 to 1000000");
    } else if (!strncmp(argv[i], "--set=", 6)) {
      continue;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage("help");
      return 0;
    } else if (argv[i][0] == '-') {
      char msg[300];
      snprintf(msg, sizeof msg, "unknown option '%.200s'", argv[i]);
      return usage(msg);
    } else if (path) {
      return usage("more than one CONFIG given");
    } else {
      path = argv[i];
    }
  }
  if (reference && !path) {
    if (cfg_reference(stdout)) goto fail;
    return 0;
  }
  if (!path) return usage("no CONFIG given (configs/quickstart.cfg is the default config)");

  oo_config cfg;
  int n_set = 0;
  if (cfg_load(&cfg, path)) goto fail;
  for (int i = 1; i < argc; i++) {
    const char *a = NULL;
    if (!strcmp(argv[i], "--ranks")) i++;
    else if (!strcmp(argv[i], "--set")) a = argv[++i];
    else if (!strncmp(argv[i], "--set=", 6)) a = argv[i] + 6;
    if (!a) continue;
    if (cfg_set(&cfg, a)) goto fail;
    n_set++;
  }
  if (cfg_validate(&cfg, path)) goto fail;
  if (reference) {
    if (cfg_reference(stdout)) goto fail;
    return 0;
  }
  mem_budget budget;
  mem_budget_estimate(&cfg, ranks > 0 ? ranks : cfg.slurm.ntasks, &budget);
  if (mem_budget_check(&budget, oo_mem_limit())) goto fail;
  printf("// %s is valid; resolved with %d override%s\n", path, n_set, n_set == 1 ? "" : "s");
  mem_budget_print(&budget, oo_mem_limit(), stdout);
  if (cfg_write(&cfg, stdout)) goto fail;
  return fflush(stdout) ? 1 : 0;

fail:
  fprintf(stderr, "overopt check: error: %s\n", oo_error_message());
  return 1;
}
