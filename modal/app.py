# ---
# cmd: ["modal", "run", "app.py::main", "--jobs-file", "jobs.json"]
# ---

# # hubferry on Modal: move repositories between the Hugging Face Hub and ModelScope

# This app is rendered by the `hubferry` CLI into a temporary directory next to the worker package
# (`hubferry_worker/`), a settings file (`hubferry_app.json`) and the job files. Nothing the user
# typed is ever spliced into this code: repository ids, globs and options travel in the job files,
# and the few knobs below come from the settings file.

# Each job (a whole repository, or one chunk of one) runs in its own container; the worker prints
# protocol-v1 JSON event lines that stream back through `modal run` / `modal app logs`, where the
# CLI turns them into progress and a report.

import json
from pathlib import Path

import modal

# ## Settings

# The CLI writes `hubferry_app.json` next to this file and ships it into the image as well, so the
# container imports this module with the same settings. The defaults only apply when the file is
# missing (importing the template on its own, e.g. in tests).

SETTINGS_NAME = "hubferry_app.json"
DEFAULTS = {
    "app_name": "hubferry",
    "python_version": "3.11",
    "apt_packages": ["git", "git-lfs"],
    "pip_packages": ["huggingface_hub==2.4.0", "hf_xet==1.8.0", "modelscope==1.40.2"],
    "timeout_s": 24 * 60 * 60,
    "retries": 2,
    "cpu": 2.0,
    "memory_mib": 4096,
    "ephemeral_disk_mib": 65536,
    "max_containers": 100,
    "secret_env": [],
}


def load_settings() -> dict:
    for candidate in (Path(__file__).with_name(SETTINGS_NAME), Path("/root") / SETTINGS_NAME):
        if candidate.is_file():
            return {**DEFAULTS, **json.loads(candidate.read_text())}
    return dict(DEFAULTS)


SETTINGS = load_settings()
SETTINGS_PATH = Path(__file__).with_name(SETTINGS_NAME)

# ## The image

# Pinned hub clients, `git` + `git-lfs` for the git fallback, and the worker package shipped last
# (local files are added after every build step so that editing them never rebuilds the image).

image = (
    modal.Image.debian_slim(python_version=SETTINGS["python_version"])
    .apt_install(*SETTINGS["apt_packages"])
    .pip_install(*SETTINGS["pip_packages"])
    .env({"PYTHONUNBUFFERED": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"})
)
if modal.is_local() and SETTINGS_PATH.is_file():
    image = image.add_local_file(SETTINGS_PATH, f"/root/{SETTINGS_NAME}")
image = image.add_local_python_source("hubferry_worker")

app = modal.App(SETTINGS["app_name"], image=image)

# Tokens and endpoints reach the container only through this secret, built from the environment
# of the local `modal run` process (never argv, never a file).
secrets = []
if SETTINGS["secret_env"]:
    secrets.append(modal.Secret.from_local_environ(SETTINGS["secret_env"]))

MINUTES = 60

# ## The transfer function

# One call moves one job. The worker emits its own events; the return value is the `result`
# event's fields. Retries are safe: the worker is incremental and skips what already arrived.


@app.function(
    secrets=secrets,
    timeout=SETTINGS["timeout_s"],
    retries=modal.Retries(
        max_retries=SETTINGS["retries"], initial_delay=5.0, backoff_coefficient=2.0
    ),
    cpu=SETTINGS["cpu"],
    memory=SETTINGS["memory_mib"],
    ephemeral_disk=SETTINGS["ephemeral_disk_mib"],
    max_containers=SETTINGS["max_containers"],
)
def transfer(job: dict) -> dict:
    from hubferry_worker import run_job

    return run_job(job)


def failed_result(job: dict, error: BaseException) -> dict:
    """Prints and returns the protocol-v1 `result` event of a job whose container failed without
    reporting: the worker's own result shape (`hubferry_worker.job_driver.result_fields`)."""
    from hubferry_worker.job_driver import emit_failed_result

    return emit_failed_result(job["job"], error)


def fan_out(jobs: list[dict]) -> list[dict]:
    """Runs every job in its own container; a job that crashed is reported as a failed result."""
    results = []
    # Drain the map fully before pairing: stopping its generator early (zip does) makes Modal
    # log a spurious "asynchronous generator is already running" error.
    outcomes = list(transfer.map(jobs, return_exceptions=True))
    for job, outcome in zip(jobs, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            outcome = failed_result(job, outcome)
        results.append(outcome)
    return results


# ## Detached runs

# `modal run --detach` keeps only the last triggered function alive once the client goes, so a
# detached run spawns this one coordinating function, which fans the jobs out from inside Modal.


@app.function(secrets=secrets, timeout=SETTINGS["timeout_s"])
def run_all(jobs: list[dict]) -> list[dict]:
    return fan_out(jobs)


# ## Entrypoint

# `modal run app.py::main --jobs-file jobs.json [--spawn]`: the jobs file is read locally (the
# entrypoint runs on the caller's machine), so job contents never appear on a command line.


@app.local_entrypoint()
def main(jobs_file: str, spawn: bool = False):
    jobs = json.loads(Path(jobs_file).read_text())
    if spawn:
        call = run_all.spawn(jobs)
        print(f"hubferry: spawned {len(jobs)} job(s) as {call.object_id}", flush=True)
        return
    fan_out(jobs)
