# report: `overopt report` on the synthetic CSVs in tests/report_data (plots, report.md numbers,
# missing and malformed inputs).
oo_script_test(NAME report SCRIPT test_report.sh LABELS report TIMEOUT 120)
