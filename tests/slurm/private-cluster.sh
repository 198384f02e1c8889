# private-cluster.sh: sourced by the Slurm tests. Starts a private single-node Slurm under
# $scratch/slurm (or a short /tmp path when the socket path would be too long) on the first pair
# of free ports from BASE_PORT, stops it on exit, and sources its env.sh (SLURM_CONF).
# Needs: $src (source dir), $scratch; argument: BASE_PORT (tests use different bases).
private_cluster_start() {
  local base=$1
  export SLURM_TEST_DIR=$scratch/slurm
  [ ${#SLURM_TEST_DIR} -lt 70 ] || SLURM_TEST_DIR=$(mktemp -d /tmp/oo-slurm.XXXXXX)
  listening() { awk -v h="$(printf ':%04X$' "$1")" '$2 ~ h && $4 == "0A" {f = 1} END {exit !f}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
  local p
  for ((p = base + ($$ % 40) * 2; p < base + 1000; p += 2)); do
    listening $p || listening $((p + 1)) || break
  done
  export SLURM_CTLD_PORT=$p SLURM_D_PORT=$((p + 1)) SLURM_NODE_CPUS=2
  trap 'bash "$src/tests/slurm/stop-slurm.sh" --clean >/dev/null 2>&1' EXIT
  bash "$src/tests/slurm/start-slurm.sh" || { echo "FAILED: start-slurm.sh"; exit 1; }
  # shellcheck disable=SC1091
  source "$SLURM_TEST_DIR/env.sh"
}
