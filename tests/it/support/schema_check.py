"""Validates `hubferry --json` objects against docs/schemas for the Rust integration tests.

One process serves a whole test binary: it reads one JSON object per line on stdin and answers
one line per object, `ok SCHEMA`, `unpublished TYPE` (an object type with no schema file yet) or
`invalid SCHEMA: MESSAGE`. The validator is the pinned `jsonschema` package (requirements.lock).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


def schema_name(obj: dict) -> str | None:
    if "hubferry" in obj:  # a worker event
        return "event"
    kind = obj.get("type")
    if kind == "report" and "mirror" in obj:  # one mirror's line of `sync --json`
        return "sync"
    if isinstance(kind, str) and (SCHEMAS / f"{kind}.json").is_file():
        return kind
    return None


def main() -> None:
    validators = {}
    for line in sys.stdin:
        try:
            obj = json.loads(line)
        except ValueError as e:
            print(f"invalid json: {e}", flush=True)
            continue
        name = schema_name(obj) if isinstance(obj, dict) else None
        if name is None:
            kind = obj.get("type") if isinstance(obj, dict) else None
            print(f"unpublished {kind}", flush=True)
            continue
        if name not in validators:
            schema = json.loads((SCHEMAS / f"{name}.json").read_text())
            validators[name] = jsonschema.Draft202012Validator(schema)
        errors = sorted(validators[name].iter_errors(obj), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(top)"
            message = errors[0].message.replace("\n", " ")
            print(f"invalid {name}: at {where}: {message}", flush=True)
        else:
            print(f"ok {name}", flush=True)


if __name__ == "__main__":
    main()
