# fit and sweep: `overopt fit` on generated curves (known coefficients, 1 and 3 ranks, malformed
# input, a fake sweep's scaling fits); `overopt run` twice and with one RM key changed (what reruns);
# a 3-point sweep as a Slurm job array on a private local cluster, then fit and report of the sweep.
oo_script_test(NAME fit_cmd SCRIPT fit_cmd.sh LABELS mpi TIMEOUT 120)
oo_script_test(NAME rerun SCRIPT rerun.sh LABELS mpi TIMEOUT 300)
oo_script_test(NAME sweep_slurm SCRIPT sweep_slurm.sh LABELS slurm TIMEOUT 600)
oo_script_test(NAME replicates SCRIPT replicates.sh LABELS mpi TIMEOUT 300)
oo_script_test(NAME sweep_replicates SCRIPT sweep_replicates.sh LABELS mpi TIMEOUT 600)
