# stages: the gold model and its scorers (unit), and the pretrain -> gold -> prefs stages end to
# end on a tiny config under 1, 2 and 3 ranks (script).
oo_unit_test(NAME test_gold SOURCES test_gold.c LABELS rlhf)
oo_script_test(NAME stage_prefs SCRIPT stage_prefs.sh LABELS mpi TIMEOUT 120)
# run.skip_nonfinite (#12 item 3): a NaN injected into one rank's gradient stops, or is skipped and
# reported, in pretrain, rm and ppo alike (OVEROPT_TEST_NONFINITE, mpi/runtime/train_step.h).
oo_script_test(NAME skip_nonfinite SCRIPT skip_nonfinite.sh LABELS mpi TIMEOUT 300)
