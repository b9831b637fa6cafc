"""Modal app for the stand-in's tests: spawned and detached work, in-container fan-out, limits."""

import json
import time

import modal

app = modal.App("modalsim-fanout")


@app.function(max_containers=3, timeout=60)
def square(x: int) -> int:
    print(json.dumps({"square": x}), flush=True)
    time.sleep(0.3)
    if x < 0:
        raise ValueError(f"negative input {x}")
    return x * x


@app.function(timeout=120)
def orchestrate(items: list) -> list:
    print(json.dumps({"orchestrate": len(items)}), flush=True)
    results = square.map(items, return_exceptions=True)
    out = [r if isinstance(r, int) else f"error: {r}" for r in results]
    print(json.dumps({"orchestrated": out}), flush=True)
    square.spawn_map([100, 101])
    return out


@app.function(timeout=120)
def slow(label: str) -> str:
    print(json.dumps({"slow": label, "phase": "started"}), flush=True)
    time.sleep(60)
    print(json.dumps({"slow": label, "phase": "finished"}), flush=True)
    return label


@app.local_entrypoint()
def fanout(n: int = 20):
    print(json.dumps({"results": list(square.map(range(n)))}))


@app.local_entrypoint()
def detached(n: int = 4, block: bool = False):
    print(json.dumps({"modal_app_id": app.app_id}))
    call = orchestrate.spawn(list(range(n)) + [-1])
    print(json.dumps({"function_call_id": call.object_id}))
    if block:
        print(json.dumps({"result": call.get()}))


@app.local_entrypoint()
def hold(label: str = "x"):
    print(json.dumps({"modal_app_id": app.app_id}))
    print(slow.remote(label))
