# The bad-input suite (#12): badinput.sh generates >= 60 bad configs and >= 30 bad HDF5 files
# (the latter with badh5, a small HDF5-API program) and requires a clean, named error for each.
add_executable(badh5 badh5.c)
target_link_libraries(badh5 PRIVATE deps_hdf5 MPI::MPI_C)
target_compile_options(badh5 PRIVATE -Wall -Wextra $<$<BOOL:${OVEROPT_WERROR}>:-Werror>)
add_test(NAME badinput
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/badinput.sh $<TARGET_FILE:overopt> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/scratch/badinput $<TARGET_FILE:badh5>)
set_tests_properties(badinput PROPERTIES LABELS "script;badinput" ENVIRONMENT "${OO_TEST_ENV}" TIMEOUT 1200)

# full_disk.sh: the tiny pipeline into small tmpfs mounts (root only; skipped elsewhere).
add_test(NAME full_disk
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/full_disk.sh $<TARGET_FILE:overopt> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/scratch/full_disk $<TARGET_FILE:test_atomic_file>)
set_tests_properties(full_disk PROPERTIES LABELS "script;badinput" ENVIRONMENT "${OO_TEST_ENV}" TIMEOUT 600
                     SKIP_RETURN_CODE 77)

# edge_values.sh: every value `check` accepts must run (keys at the ends of their ranges).
oo_script_test(NAME edge_values SCRIPT edge_values.sh LABELS badinput TIMEOUT 900)
