#!/usr/bin/env bash
# The reliability suite at full size: the fault soak (20 seeds x 200 onboardings), a failure at
# every write step, SIGKILL trials (of rotations with a new AWS key too, against moto_server), SIGINT/SIGTERM trials, two applies at once, tokens expiring
# mid-run, canary leak checks, hostile server answers (redirects and echoes included), typos and
# oversized input, TLS refusals, time limits and exposure (issue 26), the emulator's own defences
# and the property tests. Prints the table that
# RELIABILITY.md records. The same tests run in CI at small sizes (`cargo test --workspace`).
#
#   scripts/reliability.sh            # full size
#   RELIABILITY_SEEDS=3 RELIABILITY_SIZE=40 RELIABILITY_KILLS=12 scripts/reliability.sh
#
# RELIABILITY_PROFILE=dev uses the debug build `cargo test` made (CI runs a tiny size so).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export RELIABILITY_SEEDS="${RELIABILITY_SEEDS:-20}"
export RELIABILITY_SIZE="${RELIABILITY_SIZE:-200}"
export RELIABILITY_KILLS="${RELIABILITY_KILLS:-100}"
export RELIABILITY_KILL_SEED="${RELIABILITY_KILL_SEED:-7}"
export RELIABILITY_SIGNALS="${RELIABILITY_SIGNALS:-60}"
export RELIABILITY_SIGNAL_SEED="${RELIABILITY_SIGNAL_SEED:-11}"
export RELIABILITY_TRIALS="${RELIABILITY_TRIALS:-10}"
export RELIABILITY_TOKEN_SIZE="${RELIABILITY_TOKEN_SIZE:-80}"
export PROPTEST_CASES="${PROPTEST_CASES:-2048}"

case "${RELIABILITY_PROFILE:-release}" in
  release) profile=(--release) ;;
  dev) profile=() ;;
  *) echo "RELIABILITY_PROFILE must be release or dev" >&2; exit 2 ;;
esac

report="$(mktemp)"
log="$(mktemp)"
trap 'rm -f "$report" "$log"' EXIT
export RELIABILITY_REPORT="$report"

started=$(date +%s)
echo "building (${RELIABILITY_PROFILE:-release}) ..." >&2
# Every build and run selects the whole workspace (filtered by test target and name), as
# `cargo test --workspace` does: cargo resolves dependency features per selection of packages,
# so `-p` would build the shared dependencies again with other features.
cargo test "${profile[@]}" --quiet --workspace --no-run

# How many tests the last group passed.
passed() { sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }'; }

run() {
  # Each group's output goes to a log shown only when it fails; a filter that matches no test
  # fails too, so that no row stands on tests that did not run.
  if ! cargo test "${profile[@]}" --quiet "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "FAILED: cargo test ${profile[*]} $*" >&2
    exit 1
  fi
  if [ "$(passed)" -eq 0 ]; then
    echo "FAILED: no test matched: cargo test ${profile[*]} $*" >&2
    exit 1
  fi
}

echo "end-to-end trials ..." >&2
run --workspace --test cli -- soak:: interrupt:: leaks:: hostile:: auth:: \
  apply::bad_manifests signals:: redirects:: input:: s3::offboarding_checks rotate_key:: \
  s3::rotate_with_restart s3_aws:: exposure:: forgery:: apply::a_saved backup::a_restore_killed backup::a_damaged \
  backup::conflicts_are \
  --test-threads 2

echo "the emulator's defences ..." >&2
run --workspace --test it -- control::half_sent control::the_control_api control::slowly_sent \
  control::a_request_past control::an_unguarded binary::prints_its_url
[ "$(passed)" -eq 7 ] || { echo "FAILED: the emulator's defences ran $(passed) of 7 tests" >&2; exit 1; }
printf "the emulator: half-sent requests closed after the header timeout (64), slow bodies after the body timeout (4), a request past the request timeout (1), the control API refuses other hosts, wrong tokens and peers beyond loopback (8), not started unguarded on 0.0.0.0 (1), --state written 0600\t7\t79\t79\t0\n" >>"$report"

echo "property tests ($PROPTEST_CASES cases each) ..." >&2
run --workspace --test it -- props::valid props::any \
  props::ascii props::near props::rids_survive props::secret_rids
properties=$(passed)
run --workspace --lib -- manifest::tests::a_damaged
properties=$((properties + $(passed)))
run --workspace --test clients -- any_accepted
printf 'property tests: %s properties x %s cases, and rid/path round trips through the emulator (64)\t%s\t%s\t%s\t0\n' \
  "$properties" "$PROPTEST_CASES" $((properties * PROPTEST_CASES + 64)) \
  $((properties * PROPTEST_CASES + 64)) $((properties * PROPTEST_CASES + 64)) >>"$report"

elapsed=$(($(date +%s) - started))
total() { awk -F'\t' -v c="$1" '{ s += $c } END { print s }' "$report"; }
printf '| case | tried | faults injected | faults survived | items lost or altered |\n'
printf '|---|---:|---:|---:|---:|\n'
sort "$report" | while IFS=$'\t' read -r case tried injected survived lost; do
  printf '| %s | %s | %s | %s | %s |\n' "$case" "$tried" "$injected" "$survived" "$lost"
done
printf '| **total** | %s | %s | %s | %s |\n' "$(total 2)" "$(total 3)" "$(total 4)" "$(total 5)"
printf '\n%s seeds x %s onboardings, %s kills (seed %s), %s signals (seed %s), %s race trials; %s s on %s cores, %s.\n' \
  "$RELIABILITY_SEEDS" "$RELIABILITY_SIZE" "$RELIABILITY_KILLS" "$RELIABILITY_KILL_SEED" \
  "$RELIABILITY_SIGNALS" "$RELIABILITY_SIGNAL_SEED" "$RELIABILITY_TRIALS" "$elapsed" "$(nproc)" \
  "$(date -u +%Y-%m-%d)"
