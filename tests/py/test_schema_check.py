"""The schema checker the Rust and Python tests share (schema_check.py): every file in docs/schemas
is reachable from an object, an object with no schema is refused, a drifted one is named."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import schema_check


def test_every_schema_file_is_the_schema_of_some_object():
    reachable = {
        *schema_check.SCHEMA_OF_KEY.values(),
        *schema_check.SCHEMA_OF_TYPE.values(),
        "sync",
    }
    for path in schema_check.SCHEMAS.glob("*.json"):
        name = path.stem
        if name in reachable:
            continue
        assert schema_check.schema_name({"type": name}) == name, f"{path.name} is unreachable"


def test_an_object_without_a_schema_is_refused():
    for obj in ({"type": "brand_new"}, {"status": "ok"}, ["not", "an", "object"]):
        with pytest.raises(schema_check.Unpublished):
            schema_check.validate(obj)


def test_a_drifted_object_is_refused_naming_the_field():
    download = {
        "type": "download",
        "status": "done",
        "verified": True,
        "source": "hf:model:alice/m@main",
        "local_dir": "/tmp/m",
        "method": "api",
        "files": 2,
        "bytes": 10,
        "files_fetched": 2,
        "bytes_fetched": 10,
        "duration_s": 0.5,
    }
    assert schema_check.validate(download) == "download"
    assert schema_check.schema_name({"type": "apply_report"}) == "batch_report"
    with pytest.raises(jsonschema.ValidationError, match="download.json: at method"):
        schema_check.validate({**download, "method": "ftp"})
    with pytest.raises(jsonschema.ValidationError, match="download.json"):
        schema_check.validate({**download, "surprise": 1})


def test_the_line_server_answers_one_line_per_object():
    objects = [{"type": "brand_new"}, {"type": "error", "exit_code": 2, "message": "m"}]
    out = subprocess.run(
        [sys.executable, schema_check.__file__],
        input="".join(json.dumps(o) + "\n" for o in objects) + "not json\n",
        capture_output=True,
        text=True,
        check=True,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "unpublished brand_new"
    assert lines[1].startswith("invalid error: at (top): 'causes' is a required property"), lines
    assert lines[2].startswith("invalid json"), lines
