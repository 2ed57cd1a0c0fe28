#!/usr/bin/env python3
"""Check a chainsweep scan (JSON Lines, --print-all) of make_archives.sh's
output against its MANIFEST.tsv, line by line.

usage: check_members.py OUTDIR SCAN.jsonl [--only PREFIX]

A MANIFEST line names an outer file and either the file itself or one of
its members (`member:A/B/C`, nested containers joined with '/'), then what a
correct scanner reports: yara:RULE hash:SHA256 authenticode:NAME
advisory:ID filename:REGEX clean encrypted not_unpacked:WHY skipped:WHY
error:WHY unsafe_name:WHY. Member names are compared with '\\' read as '/'
and './' components dropped; an MSI cabinet's File key (F_ffmpeg_dll_1) also
matches the install path chainsweep reports for it (.../ffmpeg.dll).
Prints one line per failed expectation, then 'N passed, M failed'.
"""
import json
import re
import sys

SKIPS = {  # MANIFEST wording -> chainsweep skip reasons that satisfy it
    "ratio": {"ratio", "unpack_total", "too_large"},
    "size": {"unpack_total", "too_large", "ratio"},
    "members": {"members"},
    "depth": {"unpack_depth"},
    "symlink": {"link_member"},
    "hardlink": {"link_member"},
}
UNSAFE = {"traversal": "path_traversal_member_name", "absolute": "absolute_member_name",
          "through_symlink": "member_through_link"}


def norm(path):
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


def key_name(key):
    """F_ffmpeg_dll_1 -> ffmpeg.dll (wixl's File keys)."""
    m = re.fullmatch(r"F_(.+)_\d+", key)
    if not m:
        return None
    stem = m.group(1)
    i = stem.rfind("_")
    return stem[:i] + "." + stem[i + 1:] if i > 0 else stem


def matches_member(rec, want):
    # a PE's appended archive is a member of its own, "[overlay]"
    chain = [m.get("member", "") for m in rec.get("members") or [] if m.get("member") != "[overlay]"]
    got = norm("/".join(chain))
    if got == norm(want):
        return True
    head, _, last = want.rpartition("/")
    name = key_name(last)
    if name is None or not chain:
        return False
    # the cabinet entry is named by its install path: the chain down to the
    # cabinet is the same, and the last member ends with the file's name
    prefix = norm("/".join(chain[:-1]))
    return prefix == norm(head) and norm(chain[-1]).split("/")[-1] == name


def reasons(rec):
    return [(r["detector"], r["rule"]) for r in rec.get("reasons") or []]


def satisfied(token, rec, subtree):
    kind, _, arg = token.partition(":")
    rs = reasons(rec) if rec else []
    if kind in ("yara", "authenticode", "advisory"):
        return any(d == kind and r == arg for d, r in rs)
    if kind == "hash":
        return any(d == "hash" and arg.lower() in r.lower() for d, r in rs)
    if kind == "filename":
        return any(d == "filename" for d, r in rs)
    if kind == "clean":
        return rec is not None and rec["type"] in ("file", "finding") and \
            all(d == "contains" for d, r in rs)
    if kind == "unsafe_name":
        return any(d == "unpack" and r == UNSAFE.get(arg) for d, r in rs)
    if kind == "encrypted":
        if rec is not None and rec.get("skipped") == "encrypted":
            return True
        return any("encrypt" in ((x.get("note") or "") + (x.get("message") or "")).lower() or
                   x.get("skipped") == "encrypted" for x in subtree)
    if kind == "not_unpacked":
        return rec is not None and rec.get("skipped") == "not_unpacked"
    if kind == "skipped":
        ok = SKIPS.get(arg, {arg})
        return (rec is not None and rec.get("skipped") in ok) or any(x.get("skipped") in ok for x in subtree)
    if kind == "error":
        # damaged data: an error record, a member not unpacked, a container
        # note or warning, or (a bomb shape) a limit that stopped it
        cands = [rec] if rec is not None and rec.get("members") else subtree
        for x in cands:
            if x["type"] == "error" or x.get("warning") or x.get("skipped") in (
                    "not_unpacked", "ratio", "unpack_total", "too_large"):
                return True
            if (x.get("note") or "").startswith("not unpacked"):
                return True
        return False
    raise SystemExit(f"check_members.py: unknown expectation {token!r}")


def main():
    outdir, scan = sys.argv[1], sys.argv[2]
    only = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--only" else None
    records = [json.loads(l) for l in open(scan, encoding="utf-8") if l.strip()]
    by_outer = {}
    for r in records:
        if r.get("type") == "summary":
            continue
        by_outer.setdefault(r["path"], []).append(r)
    passed = failed = 0
    for line in open(f"{outdir}/MANIFEST.tsv", encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        rel, expect = line.rstrip("\n").split("\t")[:2]
        if only and not rel.startswith(only):
            continue
        outer = f"{outdir}/{rel}"
        recs = by_outer.get(outer, [])
        tokens = expect.split()
        member = None
        if tokens and tokens[0].startswith("member:"):
            member = tokens.pop(0)[len("member:"):]
        if member is None:
            rec = next((r for r in recs if not r.get("members")), None)
            subtree = recs
        else:
            rec = next((r for r in recs if r.get("members") and matches_member(r, member)), None)
            subtree = [r for r in recs if r.get("members")]
        for t in tokens:
            # a member the scanner never reached: only a limit or damage explains it
            if member is not None and rec is None and not t.startswith(("skipped:", "error:", "encrypted")):
                print(f"FAIL {rel} member {member}: no record (want {t})")
                failed += 1
                continue
            if satisfied(t, rec, subtree):
                passed += 1
            else:
                got = (rec or {}).get("type"), reasons(rec or {}), (rec or {}).get("skipped")
                print(f"FAIL {rel} {('member ' + member) if member else '(the file)'}: want {t}, got {got}")
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
