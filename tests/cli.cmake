# cli: option tables, --help, exit codes and the README's command reference (issue #14).
oo_unit_test(NAME test_cli_help SOURCES test_cli_help.c LIB oo_mpi)
oo_script_test(NAME cli_reference SCRIPT cli_reference.sh TIMEOUT 300) # runs bench --quick (a PPO step and a BoN round)
oo_script_test(NAME provenance_metrics SCRIPT provenance_metrics.sh LABELS mpi TIMEOUT 180)
oo_script_test(NAME python_reader SCRIPT python_reader.sh LABELS "mpi;python" TIMEOUT 300)
oo_script_test(NAME container SCRIPT container.sh LABELS container TIMEOUT 1800)
set_tests_properties(container PROPERTIES SKIP_RETURN_CODE 77)
