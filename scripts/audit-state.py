#!/usr/bin/env python3
"""An emulator state (for `dcos-emulator --state FILE`) with SECRETS secrets and PRINCIPALS
principals, for the audit benchmark: one folder per 100 secrets; groups of 10 members, each
with read on one folder through a wildcard; every secret's value readable by one principal
directly; every user listing one folder; and the bootstrap superuser. Standard library only.

    scripts/audit-state.py SECRETS PRINCIPALS > state.json
"""
import hashlib
import json
import sys


def main():
    secrets, principals = int(sys.argv[1]), int(sys.argv[2])
    groups = max(1, principals // 20)
    users = principals - groups
    folders = max(1, secrets // 100)
    state = {
        "secrets": {},
        "accounts": {
            "bootstrapuser": {
                "description": "Bootstrap superuser",
                "password_sha256": hashlib.sha256(b"bootstrapuser:deleteme").hexdigest(),
            }
        },
        "groups": {"superusers": {"description": "Superuser group", "members": ["bootstrapuser"]}},
        "acls": {},
    }
    uids = [f"u{u:05d}" for u in range(users)]
    for uid in uids:
        state["accounts"][uid] = {"description": ""}
    for g in range(groups):
        members = [uids[(g * 10 + m) % users] for m in range(10)]
        state["groups"][f"g{g:04d}"] = {"description": "", "members": sorted(set(members))}

    def grant(rid, kind, who, action):
        acl = state["acls"].setdefault(rid, {"description": "bench", "users": {}, "groups": {}})
        acl[kind].setdefault(who, [])
        if action not in acl[kind][who]:
            acl[kind][who].append(action)

    for s in range(secrets):
        path = f"f{s % folders:04d}/s{s:06d}"
        state["secrets"][path] = {"text": "bench-value"}
        grant(f"dcos:secrets:default:{path}", "users", uids[s % users], "read")
    for f in range(folders):
        grant(f"dcos:secrets:default:f{f:04d}/*", "groups", f"g{f % groups:04d}", "read")
    for u, uid in enumerate(uids):
        grant(f"dcos:secrets:list:default:f{u % folders:04d}", "users", uid, "read")
    json.dump(state, sys.stdout)


main()
