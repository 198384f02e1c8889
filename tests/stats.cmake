# stats: the t distribution and incomplete beta (unit), and `overopt summary` over synthetic
# replicates checked by an independent Python implementation, then the replicate report.
oo_unit_test(NAME test_stats SOURCES test_stats.c LABELS stats)
oo_script_test(NAME summary SCRIPT summary.sh LABELS stats TIMEOUT 300)
