"""Modal app for the stand-in's log tests: a detached function that prints many lines, optionally
waits at a gate (a file the test creates; the stand-in's containers share the host's filesystem),
then prints a few more."""

import json
import os
import sys
import time

import modal

app = modal.App("modalsim-chatty")


@app.function(timeout=900)
def chatter(bursts: int, per_burst: int, after: int, gate: str, ready: str) -> int:
    for b in range(bursts):
        if b:
            # Spread the bursts over time: Modal's range fetch counts entries per time bucket.
            time.sleep(2.5)
        sys.stdout.write("".join(f"before {b * per_burst + i}\n" for i in range(per_burst)))
        sys.stdout.flush()
    if ready:
        with open(ready, "w") as f:
            f.write("printed")
    if gate:
        # No deadline of its own (the function's timeout ends a forgotten gate): on a loaded
        # machine the test's queries before it opens the gate took over a minute, and lines
        # printed before `logs -f` connects are, rightly, not followed.
        while not os.path.exists(gate):
            time.sleep(0.05)
    for i in range(after):
        print(f"after {i}", flush=True)
    return bursts * per_burst + after


@app.local_entrypoint()
def main(bursts: int = 1, per_burst: int = 250, after: int = 0, gate: str = "", ready: str = ""):
    call = chatter.spawn(bursts, per_burst, after, gate, ready)
    print(json.dumps({"modal_app_id": app.app_id, "function_call_id": call.object_id}))
