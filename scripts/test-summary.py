#!/usr/bin/env python3
"""Print what a ctest run skipped, and why, from its JUnit file.

ctest counts a skipped test as a pass, so a feature whose only real-file
test could not fetch its files would pass unseen. This names every skipped
test with the SKIP: lines it printed. With --strict (or CHAINSWEEP_NO_SKIP=1)
a skip fails the run, for machines known to reach the package archives.
usage: test-summary.py JUNIT.xml [LABEL] [--strict]
"""
import os
import sys
import xml.etree.ElementTree as ET

args = [a for a in sys.argv[1:] if a != "--strict"]
strict = "--strict" in sys.argv[1:] or os.environ.get("CHAINSWEEP_NO_SKIP") == "1"
if not args:
    sys.exit(__doc__)
label = args[1] if len(args) > 1 else args[0]
try:
    root = ET.parse(args[0]).getroot()
except (OSError, ET.ParseError) as e:
    sys.exit(f"test-summary: cannot read {args[0]}: {e}")

cases = root.iter("testcase")
total, skipped = 0, []
for case in cases:
    total += 1
    if case.get("status") == "skipped" or case.find("skipped") is not None:
        out = case.findtext("system-out") or ""
        why = [l.strip() for l in out.splitlines() if "SKIP" in l]
        skipped.append((case.get("name"), why or ["(no reason printed)"]))

if not skipped:
    print(f"test-summary [{label}]: {total} tests, none skipped")
    sys.exit(0)
bar = "=" * 72
print(bar)
print(f"test-summary [{label}]: {len(skipped)} of {total} tests SKIPPED (not run, not passed):")
for name, why in skipped:
    print(f"  {name}:")
    for line in why[:5]:
        print(f"      {line}")
print(bar)
sys.exit(1 if strict else 0)
