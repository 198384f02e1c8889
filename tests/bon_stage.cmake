# bon: the distributed scorers (rm_ensemble_score, gold_score_all) against one process on 1, 2
# and 4 ranks, and the bon stage end to end (pretrain -> gold -> prefs -> rm -> bon) on the tiny
# config under 1 and 2 ranks, with `overopt bon-curves`.
oo_unit_test(NAME test_bon_dist SOURCES test_bon_dist.c NP 1 LABELS rlhf)
oo_unit_test(NAME test_bon_dist SOURCES test_bon_dist.c NP 2 LABELS rlhf)
oo_unit_test(NAME test_bon_dist SOURCES test_bon_dist.c NP 4 LABELS rlhf)
oo_script_test(NAME bon_stage SCRIPT bon_stage.sh LABELS mpi TIMEOUT 180)
# Each member's own pretrained trunk (rm.diversity pretrain, issue #15): rank-count independent,
# cached by the trunks stage.
oo_script_test(NAME trunks SCRIPT trunks.sh LABELS mpi TIMEOUT 300)
