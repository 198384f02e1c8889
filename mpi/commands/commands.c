/* commands: the table of every command's option table (options.h), in the order of
 * `overopt --help` and of the README's command reference. */
#include "commands.h"

static const oo_cmd_spec *const all[] = {
    &cmd_run_spec,    &cmd_stage_spec, &cmd_check_spec,      &cmd_layout_spec, &cmd_plan_spec,
    &cmd_sample_spec, &cmd_logprob_spec, &cmd_score_spec,    &cmd_bench_spec,  &cmd_sweep_spec,
    &cmd_fit_spec,    &cmd_report_spec, &cmd_summary_spec, &cmd_bon_curves_spec, &cmd_launch_spec,
};

const oo_cmd_spec *const *oo_commands(int *n) {
  *n = (int)(sizeof all / sizeof all[0]);
  return all;
}
