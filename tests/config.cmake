# config: schema, loader, --set, writer, reference (tests/config_bad/ holds the bad inputs).
oo_unit_test(NAME test_config SOURCES test_config.c)
oo_script_test(NAME config_check SCRIPT config_check.sh TIMEOUT 60)
# test_config reads the example configs from the sources (the program itself has no source path).
target_compile_definitions(test_config PRIVATE OVEROPT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
