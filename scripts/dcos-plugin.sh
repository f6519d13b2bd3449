#!/usr/bin/env bash
# Packs dcos-creds as a plugin of the `dcos` CLI: DEST/dcos-creds.zip holds plugin.toml and
# bin/dcos-creds, stored executable (the dcos CLI keeps the zip's file modes).
#
#   scripts/dcos-plugin.sh DEST            # builds the release binary first
#   DCOS_CREDS_BIN=path scripts/dcos-plugin.sh DEST    # packs that binary instead
#   dcos plugin add DEST/dcos-creds.zip    # then: dcos creds whoami
#
# DEST and DCOS_CREDS_BIN are taken relative to the directory it is called from; the release
# binary is found where cargo puts it (CARGO_TARGET_DIR and the build's config included).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

dest="${1:?usage: scripts/dcos-plugin.sh DEST}"
bin="${DCOS_CREDS_BIN:-}"
if [ -z "$bin" ]; then
  command -v python3 >/dev/null || { echo "python3 is needed to write the zip" >&2; exit 2; }
  # The path of the executable, as cargo reports the artifact it built.
  bin="$(cd "$repo" && cargo build --release -q -p dcos-creds --message-format=json-render-diagnostics |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "dcos-creds":
        print(m["executable"])')"
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "not an executable: ${bin:-(cargo named none)}" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to write the zip" >&2; exit 2; }
mkdir -p "$dest"
description="$("$bin" --info)"

python3 - "$bin" "$dest/dcos-creds.zip" "$description" <<'PY'
import sys, zipfile
binary, out, description = sys.argv[1:4]
toml = (
    'name = "dcos-creds"\n'
    '\n'
    '[[commands]]\n'
    'name = "creds"\n'
    'path = "bin/dcos-creds"\n'
    'description = "%s"\n' % description.replace('\\', '\\\\').replace('"', '\\"')
)
def entry(name, mode):
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
with zipfile.ZipFile(out, "w") as z:
    z.writestr(entry("plugin.toml", 0o644), toml)
    with open(binary, "rb") as f:
        z.writestr(entry("bin/dcos-creds", 0o755), f.read())
PY
echo "$dest/dcos-creds.zip"
