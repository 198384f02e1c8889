# overopt: an example set-up script for a university cluster (slurm.setup or OVEROPT_SETUP).
# The job scripts source it before launching; copy it and adapt the module names (`module avail`).
module purge 2>/dev/null || true
module load gcc openmpi hdf5/parallel openblas 2>/dev/null || true   # EDIT: your cluster's modules
export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# With Apptainer instead of modules (see Containerfile):
#   export OVEROPT_LAUNCHER="srun --mpi=pmix apptainer exec overopt.sif"  and OVEROPT=overopt
