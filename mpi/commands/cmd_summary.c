/* overopt summary DIR [--replicates R]: summary.csv, summary.h5 and fits_summary.csv over the
 * replicates DIR/rep0 .. rep<R-1> (src/stats/summary.h; definitions in docs/statistics.md).
 * Not collective: main.c runs it on rank 0. Prints its own errors; returns the exit code.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core/core.h"
#include "stats/summary.h"

static const oo_option opts[] = {
    {"DIR", NULL, OPT_POSITIONAL, NULL, NULL, 1,
     "a run directory whose replicates rep0 .. rep<R-1> hold bon.csv, ppo_<tag>.csv and fits.csv"},
    {"--replicates", "-R", OPT_VALUE, "R", "the consecutive rep<i> directories", 0, "replicates to summarize"},
};
const oo_cmd_spec cmd_summary_spec = {
    "summary", "means, 95% t-intervals and paired differences over the replicates (DIR/summary.csv)",
    "overopt summary runs/quickstart --replicates 3", opts, OO_N_OPTS(opts), cmd_summary, 0};

int cmd_summary(int argc, char **argv) {
  oo_args a;
  if (opts_parse(&cmd_summary_spec, argc, argv, &a)) return opts_usage_error(&cmd_summary_spec);
  const char *dir = opt_str(&a, "DIR");
  long R = 0;
  if (opt_long(&a, "--replicates", 1, 100000, &R)) return opts_usage_error(&cmd_summary_spec);
  if (R == 0) R = summary_count_replicates(dir);
  if (R == 0) {
    fprintf(stderr, "overopt summary: error: no replicate directory '%s/rep0' (run with run.replicates >= 2 "
                    "first)\n", dir);
    return 1;
  }
  if (summary_write(dir, (int)R)) return opts_runtime_error("summary");
  printf("summary: %s/summary.csv (%ld replicates)\n", dir, R);
  return fflush(stdout) ? 1 : 0;
}
