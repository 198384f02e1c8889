# MPI layer: layout (pure), role communicators, errors and signals across ranks, the ensemble
# score matrix (ensemble_gather), and the `overopt layout` command.
oo_unit_test(NAME test_layout SOURCES test_layout.c LIB oo_mpi)
oo_unit_test(NAME test_comm SOURCES test_comm.c NP 2)
oo_unit_test(NAME test_comm SOURCES test_comm.c NP 4)
oo_unit_test(NAME test_ensemble_gather SOURCES test_ensemble_gather.c NP 1)
oo_unit_test(NAME test_ensemble_gather SOURCES test_ensemble_gather.c NP 2)
oo_unit_test(NAME test_ensemble_gather SOURCES test_ensemble_gather.c NP 4)
oo_unit_test(NAME test_abort SOURCES test_abort.c NP 4 ARGS stop)

# An error on rank 1 must end all 4 ranks quickly with its message: abort.sh runs test_abort
# under mpirun and checks exit code, elapsed time and stderr.
add_test(NAME test_abort_error_np4
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/abort.sh $<TARGET_FILE:test_abort>
                 ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG})
set_tests_properties(test_abort_error_np4 PROPERTIES LABELS "mpi;script" ENVIRONMENT "${OO_TEST_ENV}"
                     TIMEOUT 300)

oo_script_test(NAME overopt_layout SCRIPT layout.sh LABELS mpi)

# Last-layer Laplace posterior (#15): against a dense brute force, ScaLAPACK against LAPACK.
oo_unit_test(NAME test_laplace SOURCES test_laplace.c NP 1 LABELS rlhf)
oo_unit_test(NAME test_laplace SOURCES test_laplace.c NP 2 LABELS rlhf)
oo_unit_test(NAME test_laplace SOURCES test_laplace.c NP 4 LABELS rlhf)
