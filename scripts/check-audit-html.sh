#!/usr/bin/env bash
# Opens the page of `dcos-creds audit --html` in a real headless browser (Debian's chromium),
# from the local disk as an auditor would, and checks what it shows: the matrix's cells for a
# known cluster, sorting by a principal's column, filtering by principal and by the apps that
# use a secret, the findings, and that no secret value is anywhere in the file. CI checks the
# same page structurally (tests/tests/cli/audit.rs); this is the check with a browser.
#
#   scripts/check-audit-html.sh        # needs chromium (Debian: apt-get install chromium)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
browser="${CHROMIUM:-chromium}"
command -v "$browser" >/dev/null ||
  { echo "chromium is not installed (apt-get install chromium, or CHROMIUM=/path/to/it)" >&2; exit 2; }

export BENCH_TARGET=target/debug
work="$(mktemp -d)"
trap 'stop_emulator; rm -rf "$work"' EXIT
# shellcheck source=scripts/common.sh
. scripts/common.sh
build_debug
bin="$BENCH_TARGET/dcos-creds"
start_emulator
export DCOS_URL="$EMULATOR_URL" DCOS_TLS_CA_PATH="$work/ca.pem"
DCOS_ACS_TOKEN="$(login)"; export DCOS_ACS_TOKEN

for secret in team/db:canary-db-11 team/sub/key:canary-key-22 other/x:canary-x-33; do
  printf '%s' "${secret#*:}" | "$bin" -q secret create "${secret%%:*}" --value-file -
done
"$bin" -q service-account create ci-bot --private-key-out "$work/ci.pem" --secret ci-bot/sa >/dev/null
"$bin" -q grant --user ci-bot dcos:secrets:default:team/* read >/dev/null
"$bin" -q grant --user ci-bot dcos:secrets:list:default:other/x read >/dev/null
# An app that uses team/db, for the "Used by" column and its filter.
curl -sf --cacert "$work/ca.pem" -H "Authorization: token=$DCOS_ACS_TOKEN" \
  -H 'Content-Type: application/json' "$EMULATOR_URL/service/marathon/v2/apps" \
  -d '{"id": "/team/api", "env": {"DB": {"secret": "db"}}, "secrets": {"db": {"source": "team/db"}}}' >/dev/null
"$bin" -q audit --html "$work/audit.html" >/dev/null

# The DOM once the page's script has run, with a view carried by the link.
dom() {
  "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --virtual-time-budget=3000 --dump-dom \
    "file://$work/audit.html#$1" 2>/dev/null
}
dom "principal=ci&sort=ci-bot" >"$work/sorted.html"
dom "sort=secret" >"$work/plain.html"
dom "used=/team/api" >"$work/used.html"

python3 - "$work" <<'PY'
import html.parser, sys
work = sys.argv[1]

class Rows(html.parser.HTMLParser):
    """The matrix: header cells (principal, hidden) and rows (secret, [(text, hidden)]),
    without the column of the apps and pods that use each secret."""
    def __init__(self):
        super().__init__()
        self.heads, self.rows, self.cell, self.in_matrix = [], [], None, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        hidden = "hidden" in (a.get("class") or "").split()
        if tag == "table" and a.get("id") == "matrix":
            self.in_matrix = True
        if not self.in_matrix:
            return
        used = "used" in (a.get("class") or "").split()
        if tag == "th" and "data-col" in a and not used:
            self.heads.append((a.get("data-principal", "secret"), hidden))
        elif tag == "tr" and "data-secret" in a:
            self.rows.append((a["data-secret"], hidden, []))
        elif tag == "td" and self.rows and not used:
            self.cell = [hidden, ""]
    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data
    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1][2].append((self.cell[1], self.cell[0]))
            self.cell = None
        if tag == "table":
            self.in_matrix = False

def parse(name):
    page = open(f"{work}/{name}").read()
    parser = Rows()
    parser.feed(page)
    return page, parser

failures = []
def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)

page, sorted_view = parse("sorted.html")
principals = [p for p, _ in sorted_view.heads[1:]]
ci = principals.index("ci-bot")
order = [secret for secret, _, _ in sorted_view.rows]
check(order[:2] == ["team/db", "team/sub/key"], f"sorted by ci-bot, its readable secrets first: {order}")
check(order[2] == "other/x", "then the one whose name it sees")
cells = {secret: row for secret, _, row in sorted_view.rows}
check(cells["team/db"][ci][0] == "R", "team/db: ci-bot reads it")
check(cells["other/x"][ci][0] == "L", "other/x: ci-bot sees the name")
hidden = [p for p, h in sorted_view.heads[1:] if h]
check("bootstrapuser" in hidden and "ci-bot" not in hidden, f"filtered to principals matching ci: hidden {hidden}")
check(all(cell[1] for cell in cells["team/db"][:ci] + cells["team/db"][ci + 1:]), "their cells are hidden too")
check('aria-sort="descending"' in page, "the sorted column is marked")
_, plain = parse("plain.html")
check([s for s, _, _ in plain.rows] == sorted(s for s, _, _ in plain.rows), "sort=secret: A to Z")
check(not any(h for _, h in plain.heads), "no filter: every column shown")
_, used = parse("used.html")
check([s for s, h, _ in used.rows if not h] == ["team/db"], "used=/team/api: only the secret it uses")
raw = open(f"{work}/audit.html").read()
check("app /team/api (env DB)" in raw, "the Used by column names the app")
check("Findings" in raw and "through the wildcard dcos:secrets:default:team/*" in raw, "the findings are on the page")
check(not any(c in raw for c in ["canary-db-11", "canary-key-22", "canary-x-33"]), "no secret value in the file")
sys.exit(1 if failures else 0)
PY
echo "the audit page renders and behaves in $("$browser" --version 2>/dev/null)"
