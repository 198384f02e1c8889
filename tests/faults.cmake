# The fault-injection suite (#12, item 7): kill -9 of a rank and of mpirun at >= 20 random points
# of a tiny run, each followed by a rerun equal to an uninterrupted run; concurrent runs, damaged
# sibling tables, an edited corpus and gold, a NaN checkpoint, stop requests (SIGTERM/SIGINT to
# `overopt launch` and to single ranks in gold, prefs and rm, resumed to equal artifacts), a
# corrupt resume file, a stalled rank (faults.sh). A few minutes on 2 cores.
add_test(NAME faults
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/faults.sh $<TARGET_FILE:overopt> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/scratch/faults $<TARGET_FILE:badh5>)
set_tests_properties(faults PROPERTIES LABELS "script;faults;mpi" ENVIRONMENT "${OO_TEST_ENV}" TIMEOUT 900)
