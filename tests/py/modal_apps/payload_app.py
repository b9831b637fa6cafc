"""Modal app for the stand-in's tests: large arguments/results (blob path), shipped files and
directories, starmap and FunctionCall.from_id."""

import hashlib
import json
import os
from pathlib import Path

import modal

HERE = Path(__file__).parent
# A file above the 4 MiB mount limit goes through the blob store; the test writes it.
BIG_FILE = Path(os.environ.get("SIM_BIG_FILE", "/root/big.bin"))
image = (
    modal.Image.debian_slim(python_version="3.11")
    .add_local_file(BIG_FILE, "/root/big.bin")
    .add_local_dir(HERE / "data_dir", "/root/data")
)
app = modal.App("modalsim-payload", image=image)


@app.function()
def digest(blob: bytes) -> dict:
    shipped = sorted(str(p.relative_to(".")) for p in Path(".").rglob("*") if p.is_file())
    big = Path("big.bin").read_bytes()
    return {
        "arg_sha256": hashlib.sha256(blob).hexdigest(),
        "big_sha256": hashlib.sha256(big).hexdigest(),
        "shipped": [p for p in shipped if "__pycache__" not in p],
        "echo": os.urandom(3 * 1024 * 1024),
    }


@app.function()
def add(a: int, b: int) -> int:
    return a + b


@app.local_entrypoint()
def main():
    blob = os.urandom(3 * 1024 * 1024)
    result = digest.remote(blob)
    big = BIG_FILE.read_bytes()
    call = add.spawn(40, 2)
    again = modal.FunctionCall.from_id(call.object_id)
    print(
        json.dumps(
            {
                "arg_ok": result["arg_sha256"] == hashlib.sha256(blob).hexdigest(),
                "big_ok": result["big_sha256"] == hashlib.sha256(big).hexdigest(),
                "echo_len": len(result["echo"]),
                "shipped": result["shipped"],
                "starmap": list(add.starmap([(1, 2), (3, 4)])),
                "from_id": again.get(timeout=60),
            }
        )
    )
