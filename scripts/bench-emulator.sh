#!/usr/bin/env bash
# Requests per second the emulator serves over loopback, measured with wrk.
#
#   scripts/bench-emulator.sh [DURATION_SECONDS] [CONNECTIONS]
#
# Needs wrk (Debian: apt-get install wrk) and curl. Starts a release build of the emulator with
# logging at its default level, logs in, then runs wrk against two authenticated endpoints:
# GET /secrets/v1/ping and GET of a text secret. Prints one line per endpoint.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration="${1:-10}"
connections="${2:-64}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

cargo build --release -q -p dcos-emulator
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/dcos-emulator --listen 127.0.0.1:0 >"$work/url" &
pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.05; done
url="$(head -n1 "$work/url")"

token="$(curl -fsS -H 'content-type: application/json' \
  -d '{"uid":"bootstrapuser","password":"deleteme"}' "$url/acs/api/v1/auth/login" |
  sed -E 's/.*"token":"([^"]+)".*/\1/')"
curl -fsS -X PUT -H "authorization: token=$token" -H 'content-type: application/json' \
  -d '{"value":"bench"}' "$url/secrets/v1/secret/default/bench/key" >/dev/null

echo "emulator $url, wrk: 2 threads, $connections connections, ${duration}s per endpoint, $(nproc) cores"
for path in /secrets/v1/ping /secrets/v1/secret/default/bench/key; do
  rps="$(wrk -t2 -c"$connections" -d"${duration}s" -H "authorization: token=$token" "$url$path" |
    awk '/Requests\/sec/ {print $2}')"
  printf 'GET %-40s %10s requests/s\n' "$path" "$rps"
done
