#!/usr/bin/env bash
# The benchmark suite: dcos-creds against the emulator on loopback (TLS), next to its peers in
# the same run. Prints each figure with its target; BENCHMARKS.md records a run.
#
#   scripts/bench.sh                      # full size
#   BENCH_RUNS=3 BENCH_ONBOARDINGS=100 BASELINE_RUNS=1 BIG_APPLY=1000 scripts/bench.sh   # smaller
#   BENCH_PROFILE=dev BENCH_WRK=0 ... scripts/bench.sh   # the debug build, no wrk (CI, tiny)
#
# Needs curl, wrk (Debian: apt-get install wrk; BENCH_WRK=0 leaves figure 4 out) and, for the
# dcos-deploy comparison, Python 3 with venv and PyPI. Figures are medians of BENCH_RUNS runs.
#  1. one `s3 onboard` with 50 ms latency per request, against the ideal of two round trips
#  2. `apply` of BENCH_ONBOARDINGS onboardings, 20 ms latency, --concurrency 32, against the
#     bound requests x latency / concurrency
#  3. the same onboardings by scripts/baseline-curl.sh (one curl per request, in sequence)
#  4. no latency: requests per second of the client (examples/load.rs) against wrk, both
#     reading one secret with 32 requests in flight
#  5. `--version` start-up time; peak memory of one onboarding and of an apply of BIG_APPLY
#  6. `service-account create` with no added latency (a key pair, the account, its secret)
#  7. dcos-creds against dcos-deploy 0.4.0 (from PyPI, in a throwaway virtualenv): the same
#     manifest in each tool's format, 20 ms latency, runs interleaved, first and second run:
#     one account with BENCH_HEADLINE secrets and a grant on each secret's name; then
#     BENCH_ACCOUNTS accounts with their login secrets; then BENCH_SECRETS secrets with a grant
#  8. scaling of `apply`: time and peak memory for BENCH_SCALE secrets with a grant each, at 0
#     and 20 ms latency (rows also in $BENCH_SCALING_TSV when set)
#  9. `audit` of a cluster of BENCH_AUDIT ("SECRETS:PRINCIPALS", default 10000:1000): wall and
#     CPU time, requests and peak memory, as JSON and as an HTML page
# 10. `dse setup` of a fresh strict-mode engine with S3, Kerberos and TLS, 50 ms latency, against
#     its round-trip floor and the documented procedure as curl (scripts/bench-dse.sh)
# 11. `backup` of BENCH_BACKUP ("SECRETS:PRINCIPALS", default 10000:1000) and its `restore` into
#     a fresh cluster, 20 ms latency, against requests x latency / 16 (scripts/bench-backup.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${BENCH_RUNS:-5}"
n="${BENCH_ONBOARDINGS:-500}"
baseline_runs="${BASELINE_RUNS:-3}"
big="${BIG_APPLY:-10000}"
peer_runs="${BENCH_PEER_RUNS:-3}"
headline="${BENCH_HEADLINE:-50}"
accounts_sizes="${BENCH_ACCOUNTS:-1 10 100}"
secrets_sizes="${BENCH_SECRETS:-10 100 1000}"
scale_sizes="${BENCH_SCALE:-10 100 1000 10000}"
with_wrk="${BENCH_WRK:-1}"
case "${BENCH_PROFILE:-release}" in
  release) export BENCH_TARGET=target/release; build=(--release) ;;
  dev) export BENCH_TARGET=target/debug; build=() ;;
  *) echo "BENCH_PROFILE must be release or dev" >&2; exit 2 ;;
esac
[ "$with_wrk" = 0 ] || command -v wrk >/dev/null ||
  { echo "wrk is not installed (apt-get install wrk, or BENCH_WRK=0)" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 2; }

work="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$work"' EXIT
# shellcheck source=scripts/common.sh
. scripts/common.sh
if [ "${#build[@]}" -eq 0 ]; then
  build_debug
else
  # The release binaries as users build them.
  cargo build "${build[@]}" -q -p dcos-creds -p dcos-emulator
  cargo build "${build[@]}" -q -p dcos-secrets-client --example load
fi
bin="$BENCH_TARGET/dcos-creds"
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
if [ "$with_wrk" = 0 ]; then
  echo "4. left out (BENCH_WRK=0)"
else
cluster
printf '{"value":"bench"}' | curl -fsS -o /dev/null --cacert "$work/ca.pem" -X PUT --data-binary @- \
  -H "authorization: token=$DCOS_ACS_TOKEN" -H 'content-type: application/json' \
  "$DCOS_URL/secrets/v1/secret/default/bench/key"
rates=() ; peers=()
for r in $(seq "$runs"); do
  rates+=("$("$BENCH_TARGET"/examples/load bench/key 32 5 | cut -d' ' -f1)")
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
fi

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

# 6. One service account, no added latency: key generation dominates.
cluster
times=()
for r in $(seq "$runs"); do
  start="$(now_ms)"
  "$bin" -q service-account create "sa-$r" --private-key-out "$work/sa-$r.pem" \
    --secret "sa-$r/login" >/dev/null
  times+=($(($(now_ms) - start)))
done
printf '6. service-account create, no latency: %d ms (target <= 150 ms)\n' "$(median "${times[@]}")"

# 7. dcos-deploy, the peer DC/OS users pick for declarative setup, on the same manifests.
venv="$work/venv"
python3 -m venv "$venv" || { echo "cannot make a virtualenv (python3 -m venv)" >&2; exit 2; }
pip() {
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" 2>"$work/pip.log" ||
    { cat "$work/pip.log" >&2; echo "cannot install dcos-deploy from PyPI" >&2; exit 2; }
}
pip --no-deps dcos-deploy==0.4.0
# Its own pins where current releases break it; the rest current.
pip click==7.1.2 PyJWT==1.7.1 minio==6.0.0 colorama cryptography oyaml pystache PyYaml requests

# manifests ACCOUNTS SECRETS NAME: $work/NAME.toml and $work/NAME.yml with ACCOUNTS service
# accounts (each with its login secret) and SECRETS secrets, each with read on its name for the
# account bench-a1 (declared when ACCOUNTS > 0, else taken to exist).
manifests() {
  local accounts=$1 secrets=$2 toml="$work/$3.toml" yml="$work/$3.yml" a s
  : >"$toml"; : >"$yml"
  for a in $(seq "$accounts"); do
    printf '[[service_account]]\nuid = "bench-a%s"\nprivate_key_out = "keys/bench-a%s.pem"\nlogin_secret = "bench/a%s/login"\n\n' "$a" "$a" "$a" >>"$toml"
    printf 'a%s:\n  type: serviceaccount\n  name: bench-a%s\n  secret: bench/a%s/login\n' "$a" "$a" "$a" >>"$yml"
    if [ "$a" = 1 ] && [ "$secrets" -gt 0 ]; then
      printf '  permissions:\n' >>"$yml"
      for s in $(seq "$secrets"); do
        printf '    "dcos:secrets:list:default:bench/s%s":\n      - read\n' "$s" >>"$yml"
      done
    fi
  done
  for s in $(seq "$secrets"); do
    printf '[[secret]]\npath = "bench/s%s"\nfrom_env = "BENCH_VALUE"\n\n' "$s" >>"$toml"
    printf '[[grant]]\nuser = "bench-a1"\nrid = "dcos:secrets:list:default:bench/s%s"\naction = "read"\n\n' "$s" >>"$toml"
    printf 's%s:\n  type: secret\n  path: bench/s%s\n  value: "%s"\n' "$s" "$s" "$BENCH_VALUE" >>"$yml"
  done
}
export BENCH_VALUE="correct-horse-battery-staple"

# timed TOOL NAME: "first_ms second_ms" of TOOL (creds or deploy) applying NAME twice on a fresh
# 20 ms cluster.
timed() {
  local tool=$1 name=$2 first second start
  cluster --latency-ms 20
  rm -rf "$work/keys"; mkdir -p "$work/keys"
  for pass in 1 2; do
    start="$(now_ms)"
    if [ "$tool" = creds ]; then
      "$bin" -q apply -f "$work/$name.toml" --concurrency 32 >/dev/null
    else
      (cd "$work" && DCOS_BASE_URL="$DCOS_URL" DCOS_AUTH_TOKEN="$DCOS_ACS_TOKEN" \
        "$venv/bin/dcos-deploy" apply --yes -f "$name.yml" >/dev/null)
    fi
    if [ "$pass" = 1 ]; then first=$(($(now_ms) - start)); else second=$(($(now_ms) - start)); fi
  done
  # This runs in a subshell (`< <(timed ...)`), whose emulator the EXIT trap does not know.
  stop_emulator
  echo "$first $second"
}

# compare LABEL ACCOUNTS SECRETS: both tools, interleaved, medians.
compare() {
  local label=$1 c1=() c2=() d1=() d2=() first second
  manifests "$2" "$3" cmp
  for _ in $(seq "$peer_runs"); do
    read -r first second < <(timed creds cmp); c1+=("$first"); c2+=("$second")
    read -r first second < <(timed deploy cmp); d1+=("$first"); d2+=("$second")
  done
  local cf cs df ds
  cf="$(median "${c1[@]}")"; cs="$(median "${c2[@]}")"
  df="$(median "${d1[@]}")"; ds="$(median "${d2[@]}")"
  printf '   %-38s first run %6d ms vs %7d ms (%5.1f x)   second run %5d ms vs %6d ms (%5.1f x)\n' \
    "$label" "$cf" "$df" "$(awk -v a="$df" -v b="$cf" 'BEGIN {print a / b}')" \
    "$cs" "$ds" "$(awk -v a="$ds" -v b="$cs" 'BEGIN {print a / b}')"
}

echo "7. dcos-creds against dcos-deploy 0.4.0, 20 ms latency, medians of $peer_runs interleaved runs (target >= 20 x on the first line):"
compare "1 account, $headline secrets, $headline grants" 1 "$headline"
for k in $accounts_sizes; do
  if [ "$k" = 1 ]; then label="1 account with its login secret"; else label="$k accounts with login secrets"; fi
  compare "$label" "$k" 0
done
for k in $secrets_sizes; do compare "1 account, $k secrets, $k grants" 1 "$k"; done

# 8. Scaling: N secrets with a grant each (2N items), at 0 and 20 ms.
echo "8. apply of N secrets with a grant each, concurrency 32: wall ms, requests, peak MB"
[ -z "${BENCH_SCALING_TSV:-}" ] || printf 'latency_ms\tsecrets\twall_ms\trequests\tpeak_kb\n' >"$BENCH_SCALING_TSV"
for latency in 0 20; do
  for k in $scale_sizes; do
    manifests 0 "$k" scale
    cluster --latency-ms "$latency"
    rm -rf "$work/keys"; mkdir -p "$work/keys"
    "$bin" -q service-account create bench-a1 --private-key-out "$work/keys/pre.pem" >/dev/null
    before="$(requests_served)"
    start="$(now_ms)"
    /usr/bin/time -f '%M' -o "$work/scale.kb" "$bin" -q apply -f "$work/scale.toml" --concurrency 32 >/dev/null
    wall=$(($(now_ms) - start))
    req=$(($(requests_served) - before))
    kb="$(tail -n1 "$work/scale.kb")"
    printf '   %2d ms latency, %6d secrets: %7d ms, %6d requests, %4d MB\n' "$latency" "$k" "$wall" "$req" $((kb / 1024))
    [ -z "${BENCH_SCALING_TSV:-}" ] || printf '%s\t%s\t%s\t%s\t%s\n' "$latency" "$k" "$wall" "$req" "$kb" >>"$BENCH_SCALING_TSV"
  done
done

# 9. audit of a large cluster: BENCH_AUDIT is "SECRETS:PRINCIPALS" (scripts/audit-state.py
# writes the emulator state); wall and CPU time, requests, peak memory, output sizes.
audit_size="${BENCH_AUDIT:-10000:1000}"
secrets_n="${audit_size%%:*}"; principals_n="${audit_size##*:}"
echo "9. audit of $secrets_n secrets and $principals_n principals, no latency:"
python3 scripts/audit-state.py "$secrets_n" "$principals_n" >"$work/audit-state.json"
cluster --state "$work/audit-state.json"
before="$(requests_served)"
/usr/bin/time -f '%e %U %S %M' -o "$work/audit.time" "$bin" -q -o json audit >"$work/audit.json"
read -r wall user sys kb <"$work/audit.time"
req=$(($(requests_served) - before))
printf '   -o json: %s s wall, %.2f s CPU (user + system), %d requests, %d MB peak, %d MB of JSON\n' \
  "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$req" $((kb / 1024)) \
  $(($(wc -c <"$work/audit.json") / 1048576))
rm -f "$work/audit.html"
/usr/bin/time -f '%e %U %S %M' -o "$work/audit.time" "$bin" -q audit --html "$work/audit.html" >/dev/null
read -r wall user sys kb <"$work/audit.time"
printf '   --html: %s s wall, %.2f s CPU, %d MB peak, %d MB of HTML\n' \
  "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" $((kb / 1024)) \
  $(($(wc -c <"$work/audit.html") / 1048576))
stop_emulator

# 10. One engine's whole set-up, 50 ms per request, against its floor and the documented
# procedure as curl.
BENCH_BUILT=1 scripts/bench-dse.sh

# 11. Backup of a large cluster and its restore into a fresh one, 20 ms per request.
BENCH_BUILT=1 scripts/bench-backup.sh
