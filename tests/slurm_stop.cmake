# Issue 7: a run stopped by `scancel --batch --signal=USR1` (slurm/run.sbatch forwards it to the
# ranks) checkpoints and exits 3; the same sbatch command resumes it ("resuming at step N") and
# finishes. Private local Slurm cluster; fails (does not skip) without slurm-wlm and munge.
oo_script_test(NAME slurm_stop_resume SCRIPT slurm_stop_resume.sh LABELS slurm mpi TIMEOUT 600)
