#!/usr/bin/env python3
"""Write docs/SPEC.md, the observatory.yaml reference, from the spec's JSON Schema.

Usage: python scripts/gen-spec-doc.py [--check]

--check writes nothing and exits 1 when docs/SPEC.md is not what this script would write
(tests/spec/test_doc.py does the same check in the test suite).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from beast_observatory.spec.doc import render_spec_doc
from beast_observatory.spec.schema import spec_schema

SPEC_DOC = Path(__file__).resolve().parent.parent / "docs" / "SPEC.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/SPEC.md is stale")
    args = parser.parse_args(argv)
    text = render_spec_doc(spec_schema())
    current = SPEC_DOC.read_text(encoding="utf-8") if SPEC_DOC.exists() else None
    if args.check:
        if current != text:
            print(f"{SPEC_DOC}: stale; run `python scripts/gen-spec-doc.py`", file=sys.stderr)
            return 1
        print(f"{SPEC_DOC}: up to date")
        return 0
    if current == text:
        print(f"{SPEC_DOC}: up to date")
        return 0
    SPEC_DOC.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {SPEC_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
