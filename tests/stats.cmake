# stats: the t distribution and incomplete beta (unit), and `overopt summary` over synthetic
# replicates checked by an independent Python implementation, then the replicate report.
oo_unit_test(NAME test_stats SOURCES test_stats.c LABELS stats)
oo_script_test(NAME summary SCRIPT summary.sh LABELS stats TIMEOUT 300)
# docs/experiments/ppo_final.py (PPO's last evaluations over replicates) on a made-up run, against
# figures computed in the test; its bad-input messages.
add_test(NAME ppo_final COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/ppo_final_check.py ${CMAKE_SOURCE_DIR})
set_tests_properties(ppo_final PROPERTIES LABELS "stats;tools" TIMEOUT 60)
# docs/experiments/pool.py (the replicates of several runs of one world in one directory) on
# made-up runs: order, provenance file, and the refusals (another experiment, a seed twice, a
# missing replicate, an existing output).
add_test(NAME pool_runs COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/pool_check.py ${CMAKE_SOURCE_DIR})
set_tests_properties(pool_runs PROPERTIES LABELS "stats;tools" TIMEOUT 60)
# docs/experiments/bonferroni.py (intervals for K claims tested together): its t quantiles against
# table values, the widened intervals of a made-up summary, its bad-input messages.
add_test(NAME bonferroni COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/bonferroni_check.py ${CMAKE_SOURCE_DIR})
set_tests_properties(bonferroni PROPERTIES LABELS "stats;tools" TIMEOUT 60)
# docs/experiments/student_t.py and the t-intervals of issue15_tables.ci (ppo_final.py's) at
# 3 to 30 values, against table quantiles.
add_test(NAME student_t COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/student_t_check.py ${CMAKE_SOURCE_DIR})
set_tests_properties(student_t PROPERTIES LABELS "stats;tools" TIMEOUT 60)
# docs/bench/h5hash.py (dataset hashes for comparing runs made on two machines) against files
# whose differences are known: one flipped bit, a changed shape, an extra dataset, a t_* dataset.
add_test(NAME h5hash COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/h5hash_check.py ${CMAKE_SOURCE_DIR}
         ${CMAKE_CURRENT_BINARY_DIR}/scratch/h5hash)
set_tests_properties(h5hash PROPERTIES LABELS "tools;python" TIMEOUT 60)
# docs/bench/ratios.py (ratios to sgemm of two `overopt bench --out` runs, drops flagged) on a real
# bench file and copies of it with figures scaled
oo_script_test(NAME bench_ratios SCRIPT bench_ratios.sh LABELS "tools;python" TIMEOUT 300)
