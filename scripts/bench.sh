#!/usr/bin/env bash
# The benchmark suite: dcos-creds against the emulator on loopback (TLS), next to its peers in
# the same run. Prints each figure with its target; BENCHMARKS.md records a run.
#
#   scripts/bench.sh                      # full size
#   BENCH_RUNS=3 BENCH_ONBOARDINGS=100 BASELINE_RUNS=1 BIG_APPLY=1000 scripts/bench.sh   # smaller
#
# Needs curl and wrk (Debian: apt-get install wrk). Figures are medians of BENCH_RUNS runs.
#  1. one `s3 onboard` with 50 ms latency per request, against the ideal of two round trips
#  2. `apply` of BENCH_ONBOARDINGS onboardings, 20 ms latency, --concurrency 32, against the
#     bound requests x latency / concurrency
#  3. the same onboardings by scripts/baseline-curl.sh (one curl per request, in sequence)
#  4. no latency: requests per second of the client (examples/load.rs) against wrk, both
#     reading one secret with 32 requests in flight
#  5. `--version` start-up time; peak memory of one onboarding and of an apply of BIG_APPLY
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${BENCH_RUNS:-5}"
n="${BENCH_ONBOARDINGS:-500}"
baseline_runs="${BASELINE_RUNS:-3}"
big="${BIG_APPLY:-10000}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

cargo build --release -q -p dcos-creds -p dcos-emulator
cargo build --release -q -p dcos-secrets-client --example load
work="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$work"' EXIT
# shellcheck source=scripts/common.sh
. scripts/common.sh
bin=target/release/dcos-creds
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

# cluster [EMULATOR OPTIONS...]: a fresh emulator, a token in the environment, and the service
# account `dse`.
cluster() {
  stop_emulator
  start_emulator "$@"
  export DCOS_URL="$EMULATOR_URL" DCOS_TLS_CA_PATH="$work/ca.pem"
  DCOS_ACS_TOKEN="$(login)"
  export DCOS_ACS_TOKEN
  rm -f "$work/dse.pem"
  "$bin" -q service-account create dse --private-key-out "$work/dse.pem" >/dev/null
}

# manifest COUNT FILE: COUNT onboardings for `dse`, the pair from the environment.
manifest() {
  for i in $(seq -f '%05g' 1 "$1"); do
    printf '[[s3]]\nservice_account = "dse"\nservice_account_secret = "svc-%s/sa"\nservice_name = "svc-%s"\n' "$i" "$i"
    printf 'credentials = { key_id_env = "AWS_ACCESS_KEY_ID", secret_key_env = "AWS_SECRET_ACCESS_KEY" }\n\n'
  done >"$2"
}

# timed_apply FILE [OPTIONS...]: prints "wall_ms requests" of one apply on the current cluster.
timed_apply() {
  local before start end after
  before="$(requests_served)"
  start="$(now_ms)"
  "$bin" -q apply -f "$@" >/dev/null
  end="$(now_ms)"
  after="$(requests_served)"
  echo "$((end - start)) $((after - before))"
}

echo "dcos-creds $("$bin" --version | cut -d' ' -f2), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
manifest "$n" "$work/apply.toml"
manifest "$big" "$work/big.toml"

# 1. One onboarding, 50 ms per request.
cluster --latency-ms 50
times=()
for r in $(seq "$runs"); do
  start="$(now_ms)"
  "$bin" -q s3 onboard --service-account dse --service-name "one-$r" \
    --service-account-secret "one-$r/sa" --from-env >/dev/null 2>&1
  times+=($(($(now_ms) - start)))
done
one="$(median "${times[@]}")"
printf '1. s3 onboard, 50 ms latency: %d ms (ideal 2 round trips = 100 ms; target <= 155 ms)\n' "$one"

# 2. apply of N onboardings, 20 ms per request, concurrency 32.
walls=() ; reqs=()
for r in $(seq "$runs"); do
  cluster --latency-ms 20
  read -r wall req < <(timed_apply "$work/apply.toml" --concurrency 32)
  walls+=("$wall"); reqs+=("$req")
done
apply_ms="$(median "${walls[@]}")"
apply_req="$(median "${reqs[@]}")"
bound=$((apply_req * 20 / 32))
printf '2. apply of %d onboardings, 20 ms latency, concurrency 32: %d ms for %d requests; bound %d ms; ratio %s (target <= 1.3)\n' \
  "$n" "$apply_ms" "$apply_req" "$bound" "$(awk -v a="$apply_ms" -v b="$bound" 'BEGIN {printf "%.2f", a / b}')"

# 3. The same by one curl per request.
walls=()
for r in $(seq "$baseline_runs"); do
  cluster --latency-ms 20
  start="$(now_ms)"
  scripts/baseline-curl.sh "$n" svc
  walls+=($(($(now_ms) - start)))
done
curl_ms="$(median "${walls[@]}")"
printf '3. baseline-curl.sh, same %d onboardings: %d ms; apply is %s x faster (target >= 20)\n' \
  "$n" "$curl_ms" "$(awk -v a="$curl_ms" -v b="$apply_ms" 'BEGIN {printf "%.1f", a / b}')"

# 4. No latency: the client's requests per second on one GET endpoint, against wrk's.
cluster
printf '{"value":"bench"}' | curl -fsS -o /dev/null --cacert "$work/ca.pem" -X PUT --data-binary @- \
  -H "authorization: token=$DCOS_ACS_TOKEN" -H 'content-type: application/json' \
  "$DCOS_URL/secrets/v1/secret/default/bench/key"
rates=() ; peers=()
for r in $(seq "$runs"); do
  rates+=("$(target/release/examples/load bench/key 32 5 | cut -d' ' -f1)")
  peers+=("$(wrk -t2 -c32 -d5s -H "authorization: token=$DCOS_ACS_TOKEN" \
    "$DCOS_URL/secrets/v1/secret/default/bench/key" | awk '/Requests\/sec/ {printf "%d", $2}')")
done
ours="$(median "${rates[@]}")"
peer="$(median "${peers[@]}")"
# And apply's own rate on a fresh cluster, for reference.
cluster
read -r wall req < <(timed_apply "$work/apply.toml" --concurrency 32)
printf '4. no latency, GET one secret, 32 in flight: client %d requests/s, wrk (2 threads) %d requests/s; ratio %s (target >= 0.5); apply of %d onboardings: %d requests/s\n' \
  "$ours" "$peer" "$(awk -v a="$ours" -v b="$peer" 'BEGIN {printf "%.2f", a / b}')" "$n" $((req * 1000 / wall))

# 5. Start-up and memory.
times=()
for _ in $(seq 30); do
  start="$(date +%s%N)"
  "$bin" --version >/dev/null
  times+=($((($(date +%s%N) - start) / 1000)))
done
startup_us="$(median "${times[@]}")"
cluster
/usr/bin/time -f '%M' -o "$work/one.kb" "$bin" -q s3 onboard --service-account dse \
  --service-name mem-one --service-account-secret mem-one/sa --from-env >/dev/null
/usr/bin/time -f '%M' -o "$work/big.kb" "$bin" -q apply -f "$work/big.toml" --concurrency 32 >/dev/null
one_kb="$(tail -n1 "$work/one.kb")"
big_kb="$(tail -n1 "$work/big.kb")"
printf '5. --version: %d.%03d ms (target < 10 ms); peak memory: one onboarding %d MB (target < 30), apply of %d onboardings %d MB (target < 150)\n' \
  $((startup_us / 1000)) $((startup_us % 1000)) $((one_kb / 1024)) "$big" $((big_kb / 1024))
