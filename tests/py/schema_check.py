"""Validates `hubferry --json` objects against their published schemas (docs/schemas/).

Every object must have a schema: one whose type (or shape) has none is refused, like one that does
not match its schema, so a new `--json` output cannot ship unpublished. The Python tests import
`validate`; the Rust integration tests run this file as a line server (tests/it/support/schemas.rs):
one JSON object per line on stdin, one answer per line, `ok SCHEMA`, `unpublished TYPE` or
`invalid SCHEMA: MESSAGE`. The validator is the pinned `jsonschema` package (requirements.lock).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import jsonschema

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"

# The file for each `type` whose file is not named after it; every other type `T` uses `T.json`.
SCHEMA_OF_TYPE = {"apply_report": "batch_report"}
# Objects without a `type`, told apart by a key only they carry.
SCHEMA_OF_KEY = {"hubferry": "event", "hubferry_plan": "org-plan-line"}


class Unpublished(Exception):
    """An object whose type (or shape) has no schema in docs/schemas."""


def schema_name(obj: object) -> str | None:
    """The schema file (stem) `obj` must match, or None when it has none."""
    if not isinstance(obj, dict):
        return None
    for key, name in SCHEMA_OF_KEY.items():
        if key in obj:
            return name
    kind = obj.get("type")
    if not isinstance(kind, str):
        return None
    if kind == "report" and "mirror" in obj:  # one mirror's line of `sync --json`
        return "sync"
    name = SCHEMA_OF_TYPE.get(kind, kind)
    return name if (SCHEMAS / f"{name}.json").is_file() else None


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def first_error(name: str, obj: dict) -> str | None:
    """`at PATH: MESSAGE` for the first place `obj` breaks schema `name`, or None."""
    errors = sorted(validator(name).iter_errors(obj), key=lambda e: list(e.path))
    if not errors:
        return None
    where = "/".join(str(p) for p in errors[0].path) or "(top)"
    return f"at {where}: " + errors[0].message.replace("\n", " ")


def validate(obj: object) -> str:
    """Checks one `--json` object; returns its schema's name. Raises Unpublished for an object
    with no schema, jsonschema.ValidationError for one that does not match."""
    name = schema_name(obj)
    if name is None:
        kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise Unpublished(f"no schema in docs/schemas for type {kind!r}: {json.dumps(obj)[:300]}")
    error = first_error(name, obj)
    if error:
        raise jsonschema.ValidationError(f"{name}.json: {error}")
    return name


def main() -> None:
    for line in sys.stdin:
        try:
            obj = json.loads(line)
        except ValueError as e:
            print(f"invalid json: {e}", flush=True)
            continue
        name = schema_name(obj)
        if name is None:
            kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
            print(f"unpublished {kind}", flush=True)
            continue
        error = first_error(name, obj)
        print(f"invalid {name}: {error}" if error else f"ok {name}", flush=True)


if __name__ == "__main__":
    main()
