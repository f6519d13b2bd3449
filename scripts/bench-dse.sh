#!/usr/bin/env bash
# Figure 10 of the benchmarks: one `dse setup` of a fresh strict-mode Data Science Engine with
# S3, Kerberos and TLS, 50 ms latency per request, against its round-trip floor and against the
# documented procedure run as one curl per request (scripts/baseline-dse-curl.sh). Prints the
# figure; scripts/bench.sh runs it too.
#
#   scripts/bench-dse.sh                           # release build, medians of 5 runs
#   BENCH_PROFILE=dev BENCH_RUNS=1 scripts/bench-dse.sh
#
# The floor is five round trips: the security mode; the reads (the account, the login secret,
# every secret, every grant, while the key pair is generated); the account and the secrets;
# each grant's ACL; the grants. Needs curl, openssl and jq.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${BENCH_RUNS:-5}"
case "${BENCH_PROFILE:-release}" in
  release) export BENCH_TARGET=target/release ;;
  dev) export BENCH_TARGET=target/debug ;;
  *) echo "BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac
for tool in curl openssl jq; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }
done
work="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$work"' EXIT
# shellcheck source=scripts/common.sh
. scripts/common.sh
[ "${BENCH_BUILT:-0}" = 1 ] || case "$BENCH_TARGET" in
  target/debug) build_debug ;;
  *) cargo build --release -q -p dcos-creds -p dcos-emulator ;;
esac
bin="$BENCH_TARGET/dcos-creds"
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

# The files: an MIT keytab (version 2) with one key of jupyter/node@EXAMPLE.COM, and a PKCS#12
# keystore of one key and its certificate, locked with the password in store.pass.
{
  printf '\x05\x02\x00\x00\x00\x4b\x00\x02\x00\x0bEXAMPLE.COM\x00\x07jupyter\x00\x04node'
  printf '\x00\x00\x00\x01\x00\x00\x00\x00\x02\x00\x12\x00\x20'
  head -c 32 /dev/urandom
} >"$work/jupyter.keytab"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -subj /CN=engine -days 30 2>/dev/null
printf 'changeit\n' >"$work/store.pass"
openssl pkcs12 -export -in "$work/cert.pem" -inkey "$work/key.pem" -out "$work/engine.p12" \
  -passout file:"$work/store.pass"

# cluster: a fresh strict-mode emulator with 50 ms per request, and a token in the environment.
cluster() {
  stop_emulator
  start_emulator --latency-ms 50
  export DCOS_URL="$EMULATOR_URL" DCOS_TLS_CA_PATH="$work/ca.pem"
  DCOS_ACS_TOKEN="$(login)"
  export DCOS_ACS_TOKEN
}

times=() ; reqs=()
for r in $(seq "$runs"); do
  cluster
  before="$(requests_served)"
  start="$(now_ms)"
  "$bin" -q dse setup --s3-from-env --kerberos-keytab "$work/jupyter.keytab" \
    --kerberos-realm EXAMPLE.COM --kerberos-kdc kdc.example.com:88 \
    --tls-keystore "$work/engine.p12" --tls-keystore-password-file "$work/store.pass" \
    --out "$work/options-$r.json" >/dev/null
  times+=($(($(now_ms) - start)))
  reqs+=($(($(requests_served) - before)))
done
ours="$(median "${times[@]}")"
walls=()
for r in $(seq "$runs"); do
  cluster
  start="$(now_ms)"
  scripts/baseline-dse-curl.sh "$work/jupyter.keytab" "$work/engine.p12" "$work/store.pass"
  walls+=($(($(now_ms) - start)))
done
theirs="$(median "${walls[@]}")"
printf '10. dse setup, strict mode, S3, Kerberos and TLS, 50 ms latency: %d ms for %d requests (floor 5 round trips = 250 ms; ratio %s, target <= 1.5); the documented procedure as curl: %d ms; dse setup is %s x faster\n' \
  "$ours" "$(median "${reqs[@]}")" "$(awk -v a="$ours" 'BEGIN {printf "%.2f", a / 250}')" \
  "$theirs" "$(awk -v a="$theirs" -v b="$ours" 'BEGIN {printf "%.1f", a / b}')"
