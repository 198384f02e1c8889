# build (issue #13, item 5): src/ stays single-process, and `cmake --install` gives a tree that
# works without the sources.
# src_has_no_mpi: no src/ file includes <mpi.h> or calls MPI_ (the configure step checks the same;
# this catches an edit made after configuring).
add_test(NAME src_has_no_mpi
         COMMAND ${CMAKE_COMMAND} -DOO_SRC_DIR=${CMAKE_SOURCE_DIR}/src -P ${CMAKE_SOURCE_DIR}/cmake/no_mpi_in_src.cmake)
set_tests_properties(src_has_no_mpi PROPERTIES LABELS "unit;build" TIMEOUT 60)
# install: `cmake --install` into a temporary prefix, then the installed binary from a directory
# outside the source tree (--version, check of an installed config, sweep --slurm --dry-run
# finding the installed template).
add_test(NAME install
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install.sh ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(install PROPERTIES LABELS "script;build" ENVIRONMENT "${OO_TEST_ENV}" TIMEOUT 120)
# lint_mpi (issue #13, item 1): every MPI call in mpi/ goes through a checking macro (comm.h);
# lint_mpi_self_test shows the check rejects an unchecked call and accepts the allowed forms.
add_test(NAME lint_mpi COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/lint_mpi.py ${CMAKE_SOURCE_DIR}/mpi)
add_test(NAME lint_mpi_self_test COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/lint_mpi.py --self-test)
set_tests_properties(lint_mpi lint_mpi_self_test PROPERTIES LABELS "unit;build")
# kern_inline: every KERN_INLINE helper (src/model) is inlined into its callers, none left as a
# function compiled for the baseline target that the x86-64-v3 clones would call (kernels.h).
oo_script_test(NAME kern_inline SCRIPT kern_inline.sh LABELS "build" TIMEOUT 60)
