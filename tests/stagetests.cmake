# stagetests: the pretrain and rm stages end to end on tests/configs/tiny.cfg under 1, 2 and 4
# ranks (rank-count independence, determinism, stop and resume, member placement), and
# `overopt score` on an ensemble file.
oo_script_test(NAME stage_pretrain SCRIPT stage_pretrain.sh LABELS stages mpi TIMEOUT 180)
oo_script_test(NAME stage_rm SCRIPT stage_rm.sh LABELS stages mpi TIMEOUT 180)
oo_script_test(NAME score_ensemble SCRIPT score_ensemble.sh LABELS stages mpi TIMEOUT 120)
oo_script_test(NAME quiet_progress SCRIPT quiet_progress.sh LABELS stages mpi)
