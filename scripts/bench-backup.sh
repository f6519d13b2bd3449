#!/usr/bin/env bash
# Figure 11 of the benchmarks: `backup` of a cluster of BENCH_BACKUP secrets and principals
# ("SECRETS:PRINCIPALS", default 10000:1000, the state of scripts/audit-state.py) and `restore`
# of that backup into a fresh cluster, both at 20 ms latency per request; wall time, requests
# and peak memory, against the bound requests x latency / concurrency (16 requests in flight).
# The backups are for an SSH key (ssh-keygen makes one), and once with a passphrase, whose
# scrypt work dominates that run's memory. Prints the figure; scripts/bench.sh runs it too.
#
#   scripts/bench-backup.sh                                  # release build, full size
#   BENCH_PROFILE=dev BENCH_BACKUP=30:12 scripts/bench-backup.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${BENCH_PROFILE:-release}" in
  release) export BENCH_TARGET=target/release ;;
  dev) export BENCH_TARGET=target/debug ;;
  *) echo "BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac
work="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$work"' EXIT
# shellcheck source=scripts/common.sh
. scripts/common.sh
[ "${BENCH_BUILT:-0}" = 1 ] || case "$BENCH_TARGET" in
  target/debug) build_debug ;;
  *) cargo build --release -q -p dcos-creds -p dcos-emulator ;;
esac
bin="$BENCH_TARGET/dcos-creds"
size="${BENCH_BACKUP:-10000:1000}"
secrets_n="${size%%:*}"; principals_n="${size##*:}"
latency=20
concurrency=16
printf 'a passphrase for the benchmark\n' >"$work/pass.txt"

# cluster [EMULATOR OPTIONS...]: a fresh emulator at $latency ms, and a token for it.
cluster() {
  stop_emulator
  start_emulator --latency-ms "$latency" "$@"
  export DCOS_URL="$EMULATOR_URL" DCOS_TLS_CA_PATH="$work/ca.pem"
  DCOS_ACS_TOKEN="$(login)"
  export DCOS_ACS_TOKEN
}

# measure NAME COMMAND...: runs it under /usr/bin/time; prints "wall_ms requests peak_mb".
measure() {
  local name="$1"; shift
  local before; before="$(requests_served)"
  local start; start="$(now_ms)"
  /usr/bin/time -f '%M' -o "$work/$name.time" "$@" >"$work/$name.json"
  echo "$(($(now_ms) - start)) $(($(requests_served) - before)) $(($(tail -n1 "$work/$name.time") / 1024))"
}

# row WHAT WALL REQUESTS PEAK: the figure's line, with the bound and the ratio.
row() {
  local bound=$(($3 * latency / concurrency))
  printf '   %s: %d ms for %d requests, %d MB peak; bound %d x %d / %d = %d ms; %s x (target <= 1.3)\n' \
    "$1" "$2" "$3" "$4" "$3" "$latency" "$concurrency" "$bound" \
    "$(awk -v w="$2" -v b="$bound" 'BEGIN {printf "%.2f", w / b}')"
}

echo "11. backup and restore of $secrets_n secrets and $principals_n principals, $latency ms latency:"
ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/id_ed25519"
recipient="$(cat "$work/id_ed25519.pub")"
python3 scripts/audit-state.py "$secrets_n" "$principals_n" >"$work/state.json"
cluster --state "$work/state.json"
read -r wall req peak < <(measure backup "$bin" -q -o json backup --out "$work/creds.age" \
  --recipient "$recipient")
row "backup, for an SSH key" "$wall" "$req" "$peak"
read -r wall req peak < <(measure passphrase "$bin" -q -o json backup --out "$work/pass.age" \
  --passphrase-file "$work/pass.txt")
row "backup, with a passphrase (scrypt's memory, sized by age to about 1 s of this machine)" \
  "$wall" "$req" "$peak"
# Streamed: a store a tenth the size takes the same memory.
python3 scripts/audit-state.py $((secrets_n / 10 + 1)) "$principals_n" >"$work/tenth.json"
cluster --state "$work/tenth.json"
read -r wall req peak < <(measure tenth "$bin" -q -o json backup --out "$work/tenth.age" \
  --recipient "$recipient")
row "backup of $((secrets_n / 10 + 1)) secrets, for an SSH key" "$wall" "$req" "$peak"
cluster
read -r wall req peak < <(measure restore "$bin" -q -o json restore "$work/creds.age" \
  --identity "$work/id_ed25519" --yes)
row "restore into a fresh cluster" "$wall" "$req" "$peak"
read -r wall req peak < <(measure again "$bin" -q -o json restore "$work/creds.age" \
  --identity "$work/id_ed25519" --yes)
grep -q '"result": *"unchanged"' "$work/again.json" || { echo "the second restore changed something" >&2; exit 1; }
row "the same restore again (nothing to change)" "$wall" "$req" "$peak"
