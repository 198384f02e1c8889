/* overopt layout CONFIG [-n P] [--set key=value ...]: prints the rank roles and the placement of
 * ensemble members for P ranks (default: the world size this was started with), without
 * running anything. Runs on rank 0 only (not collective); follows commands.h (returns the exit
 * code, prints its own errors). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "comm.h"
#include "core/core.h"
#include "io/config.h"
#include "layout.h"

static const oo_option opts[] = {
    {"CONFIG", NULL, OPT_POSITIONAL, NULL, NULL, 1, "libconfig file"},
    {"--ranks", "-n", OPT_VALUE, "P", "the world size", 0, "number of ranks to lay out"},
    {"--set", NULL, OPT_REPEAT, "KEY=VALUE", NULL, 0, "override a key, e.g. layout.rm_ranks=2"},
};
const oo_cmd_spec cmd_layout_spec = {
    "layout", "print rank roles and ensemble-member placement for P ranks", "overopt layout configs/quickstart.cfg -n 8",
    opts, OO_N_OPTS(opts), cmd_layout, 0};

static int layout_run(const oo_args *a) {
  const char *path = opt_str(a, "CONFIG");
  long ranks = 0;
  CHECK(opt_long(a, "-n", 1, 1000000, &ranks));
  int P = (int)ranks;
  oo_config *cfg = xmalloc(sizeof *cfg); /* large (strings): keep it off the stack */
  cfg_defaults(cfg);
  int rc = OO_OK;
  CHECK_GOTO(rc, cfg_load(cfg, path), done);
  for (int s = 0; s < opt_given(a, "--set"); s++) CHECK_GOTO(rc, cfg_set(cfg, opt_item(a, "--set", s)), done);
  CHECK_GOTO(rc, cfg_validate(cfg, path), done);
  if (!P) CHECK_MPI_GOTO(rc, MPI_Comm_size(MPI_COMM_WORLD, &P), done);

  oo_layout lay;
  CHECK_GOTO(rc, layout_build(&lay, P, cfg), done);
  printf("layout of %s for %d rank%s (rm.k = %d, layout.rollout_ranks = %d, layout.rm_ranks = "
         "%d; 0 = every rank)\n",
         path, P, P == 1 ? "" : "s", cfg->rm.k, cfg->layout.rollout_ranks, cfg->layout.rm_ranks);
  layout_print(&lay, stdout);
  fflush(stdout);
  layout_free(&lay);
done:
  xfree(&cfg);
  return rc;
}

int cmd_layout(int argc, char **argv) {
  oo_args a;
  if (opts_parse(&cmd_layout_spec, argc, argv, &a) || opt_long(&a, "-n", 1, 1000000, &(long){0}))
    return opts_usage_error(&cmd_layout_spec);
  return layout_run(&a) == OO_OK ? 0 : opts_runtime_error("layout");
}
