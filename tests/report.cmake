# report: `overopt report` on the synthetic CSVs in tests/report_data (plots, report.md numbers,
# missing and malformed inputs).
oo_script_test(NAME report SCRIPT test_report.sh LABELS report TIMEOUT 120)
# csv_read, the reader of every CSV the report and summary use: rows, comments, NaN, errors at path:line.
oo_unit_test(NAME test_csv SOURCES test_csv.c LABELS report)
