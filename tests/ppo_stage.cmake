# ppo: the distributed PPO step on tiny in-memory models under 1, 2 and 4 ranks (same metrics
# for every rank count and role layout, bit-identical for the same layout), and the ppo stage
# end to end (row counts, KL under a large beta, gold-reward sanity run, stop and resume).
oo_unit_test(NAME test_ppo_step SOURCES test_ppo_step.c NP 1 LABELS ppo)
oo_unit_test(NAME test_ppo_step SOURCES test_ppo_step.c NP 2 LABELS ppo)
oo_unit_test(NAME test_ppo_step SOURCES test_ppo_step.c NP 4 LABELS ppo)
oo_script_test(NAME ppo_stage SCRIPT ppo_stage.sh LABELS "mpi;ppo" TIMEOUT 600)
