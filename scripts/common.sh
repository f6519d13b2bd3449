# Shared by the benchmark scripts: start an emulator on loopback and log in.
# Source it after setting `work` to a scratch folder; it defines functions only. The binaries
# are those of $BENCH_TARGET (default target/release).

BENCH_TARGET="${BENCH_TARGET:-target/release}"

# build_debug: the debug binaries and examples, built as `cargo test --workspace` builds them.
# Cargo resolves dependency features per selection of packages, so `cargo build -p dcos-creds`
# after the tests would build the shared dependencies (the AWS SDK among them) once more, with
# other features: gigabytes of disk and minutes for nothing.
build_debug() { cargo test --quiet --workspace --no-run; }

# start_emulator [EMULATOR OPTIONS...]: starts `dcos-emulator --tls` with its control API,
# writing its CA to $work/ca.pem; sets EMULATOR_PID and EMULATOR_URL.
start_emulator() {
  rm -f "$work/url"
  "$BENCH_TARGET/dcos-emulator" --tls --ca-out "$work/ca.pem" --control-api "$@" \
    >"$work/url" 2>>"$work/emulator.log" &
  EMULATOR_PID=$!
  for _ in $(seq 200); do [ -s "$work/url" ] && break; sleep 0.05; done
  EMULATOR_URL="$(head -n1 "$work/url")"
  [ -n "$EMULATOR_URL" ] || { echo "the emulator did not start" >&2; return 1; }
}

EMULATOR_PID=""

stop_emulator() {
  [ -n "$EMULATOR_PID" ] || return 0
  kill "$EMULATOR_PID" 2>/dev/null || true
  wait "$EMULATOR_PID" 2>/dev/null || true
  EMULATOR_PID=""
}

# login: prints a superuser token of the running emulator.
login() {
  printf 'deleteme\n' | DCOS_URL="$EMULATOR_URL" DCOS_TLS_CA_PATH="$work/ca.pem" \
    "$BENCH_TARGET/dcos-creds" login --username bootstrapuser --password-stdin --print-token 2>/dev/null
}

# requests_served: the emulator's count of API requests so far.
requests_served() {
  curl -fsS --cacert "$work/ca.pem" "$EMULATOR_URL/__emulator/counters" |
    sed -E 's/.*"total":([0-9]+).*/\1/'
}

# now_ms: wall-clock milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# median N...: the median of whole numbers.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }
