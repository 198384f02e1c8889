#!/usr/bin/env bash
# h5dump (Debian hdf5-tools) reads what h5io writes: structure, types and values.
# Arguments: overopt binary, source dir, scratch dir (tests/CMakeLists.txt oo_script_test).
. "$(dirname "$0")/lib.sh" "$@"
set -eo pipefail
bin_dir=$(dirname "$overopt")
writer="$bin_dir/tests/test_h5io"
if ! command -v h5dump >/dev/null; then
  echo "skipped: h5dump not found (install Debian package hdf5-tools)"
  exit 0
fi
[ -x "$writer" ] || { echo "FAILED: $writer not built"; exit 1; }
file="$scratch/sample.h5"
"$writer" --write-sample "$file"
ls "$scratch" | grep -q tmp && { echo "FAILED: temporary file left in $scratch"; exit 1; }

expect() { # expect DESCRIPTION PATTERN TEXT
  if ! grep -qF -- "$2" <<<"$3"; then echo "FAILED: $1: '$2' not in h5dump output"; fail=1; fi
}
header=$(h5dump -H "$file")
expect "nested dataset" 'DATASET "w"' "$header"
expect "intermediate groups" 'GROUP "layer0"' "$header"
expect "float32 type" 'H5T_IEEE_F32LE' "$header"
expect "float64 type" 'H5T_IEEE_F64LE' "$header"
expect "int32 type" 'H5T_STD_I32LE' "$header"
expect "int64 attribute" 'H5T_STD_I64LE' "$header"
expect "shape" 'SIMPLE { ( 2, 2, 2 ) / ( 2, 2, 2 ) }' "$header"
expect "fixed string" 'STRSIZE 6;' "$header"
expect "utf8" 'H5T_CSET_UTF8' "$header"
expect "string value" '(0): "reward"' "$(h5dump -a /kind "$file")"
expect "int value" '(0): 4' "$(h5dump -a /n_layer "$file")"
expect "double value" '(0): 0.125' "$(h5dump -a /model/layer0/w/scale "$file")"
data=$(h5dump -d /model/layer0/w "$file")
expect "float data row 0" '(0,0): 1.5, -2, 3,' "$data"
expect "float data row 1" '(1,0): 4.25, 5, -6' "$data"
expect "int data" '2147483647' "$(h5dump -d /ints "$file")"
[ $fail = 0 ] && echo "h5dump reads h5io output: ok"
exit $fail
