# config: schema, loader, --set, writer, reference (tests/config_bad/ holds the bad inputs).
oo_unit_test(NAME test_config SOURCES test_config.c)
oo_script_test(NAME config_check SCRIPT config_check.sh TIMEOUT 60)
