#!/usr/bin/env python3
"""Validate a CycloneDX 1.5 JSON document against the official schema in
tests/schema/ (offline: the two schemas it references are resolved from the
same folder). usage: validate_cyclonedx.py SCHEMA_DIR BOM.json"""
import json
import os
import sys
import warnings

import jsonschema

schema_dir, bom_path = sys.argv[1], sys.argv[2]
warnings.simplefilter("ignore", DeprecationWarning)  # RefResolver: still the API of Debian 12's 4.10
store = {}
for name in ("bom-1.5.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"):
    with open(os.path.join(schema_dir, name)) as f:
        s = json.load(f)
    store[s["$id"]] = s
schema = store["http://cyclonedx.org/schema/bom-1.5.schema.json"]
resolver = jsonschema.RefResolver.from_schema(schema, store=store)
validator = jsonschema.Draft7Validator(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
with open(bom_path) as f:
    bom = json.load(f)
errors = sorted(validator.iter_errors(bom), key=lambda e: list(e.path))
for e in errors[:20]:
    print("invalid at /%s: %s" % ("/".join(str(p) for p in e.path), e.message))
if errors:
    sys.exit(1)
print("valid CycloneDX 1.5: %d components, %d vulnerabilities"
      % (len(bom.get("components", [])), len(bom.get("vulnerabilities", []))))
