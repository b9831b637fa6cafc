"""Small Modal app for the stand-in's tests: secrets, a shipped sibling module, errors, timeouts."""

import json
import os
import time

import modal

image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("git", "git-lfs")
    .pip_install("huggingface_hub==2.4.0")
    .env({"SIM_IMAGE_ENV": "from the image"})
    .add_local_python_source("helper")
)
app = modal.App("modalsim-basic", image=image)


@app.function(secrets=[modal.Secret.from_local_environ(["SIM_SECRET"])], timeout=60)
def read_secret() -> dict:
    print("container sees SIM_SECRET:", "SIM_SECRET" in os.environ, flush=True)
    return {
        "secret": os.environ.get("SIM_SECRET"),
        "image_env": os.environ.get("SIM_IMAGE_ENV"),
        "leaked": sorted(k for k in os.environ if k.startswith(("LEAK_", "MODAL_TOKEN"))),
        "cwd": os.getcwd(),
        "files": sorted(f for f in os.listdir(".") if f != "__pycache__"),
    }


@app.function(
    retries=modal.Retries(max_retries=2, initial_delay=0.1),
    cpu=2.0,
    memory=1024,
    ephemeral_disk=10240,
    max_containers=3,
    timeout=120,
)
def uses_helper(x: int) -> int:
    import helper

    print(f"line {x}", flush=True)
    return helper.double(x)


@app.function()
def boom():
    raise ValueError("boom")


@app.function(timeout=2)
def sleepy():
    print("sleeping", flush=True)
    time.sleep(30)


@app.function(retries=2)
def always_fails():
    raise RuntimeError("still broken")


@app.local_entrypoint()
def secret_check():
    print(json.dumps({"read_secret": read_secret.remote()}))


@app.local_entrypoint()
def boom_entry():
    boom.remote()


@app.local_entrypoint()
def main(n: int = 3):
    print(json.dumps({"doubled": list(uses_helper.map(range(n)))}))
