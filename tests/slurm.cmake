# Slurm: a private single-node cluster (tests/slurm/start-slurm.sh) runs an sbatch job with
# `mpirun -n 2 overopt --version` and a 3-task array. Fails (does not skip) when slurm-wlm and
# munge are not installed.
oo_script_test(NAME slurm_selftest SCRIPT slurm/selftest.sh LABELS slurm TIMEOUT 180)
