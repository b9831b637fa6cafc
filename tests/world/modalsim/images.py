"""Image builds: each image layer's Dockerfile steps are given their effect where the stand-in can
give it, once per image, and are refused or recorded as skipped where it cannot.

An image is a directory tree standing in for its filesystem (`<state>/image-roots/<im-id>/`,
remote `/x` → `<tree>/x`), started as a copy of its base image's tree. Containers of a function
start from a copy of their image's tree, so what a build step wrote under `/root` (Modal's HOME and
working directory) is in every container, as on Modal.

Per step (`RUN`, `ENV`, …, as the client sent them in `ImageGetOrCreate`):
- a base image (a layer without a base, `FROM python:…-slim`): stood in by the project's `.venv`
  Python and the host's tools; its own setup steps are not run (recorded as `base`).
- `RUN apt-get install PKG…` / `RUN … pip install REQ…`: nothing is installed into the host. A
  package the host has (dpkg says installed; the requirement is met in the `.venv`) is recorded as
  `skipped` with the reason; one it lacks fails the build, so `modal run` stops with
  `Image build for im-… failed with the exception: modal-sim …`. `apt-get update` is skipped.
- any other `RUN`: run with `/bin/sh -c` in the image's tree (`HOME` and the working directory
  are its `/root`), with the image's `ENV`; its output is the build log, and a non-zero exit
  fails the build.
- `ENV` applies to containers (see `Sim.image_env`); `WORKDIR` and the rest are recorded as
  `not-applied`.
Every step's outcome above the base is printed as a build log line (`modal run` shows them while
it creates the app's objects) and written to `images/<im-id>.json` under `steps` (the base's
steps there too).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from modal_proto import api_pb2

if TYPE_CHECKING:
    from .sim import Sim

GENERIC = api_pb2.GenericResult
RUN_STEP_TIMEOUT_S = 600
_PIP = re.compile(r"(?:^|\s|/)pip3?\s+install\s+(.*)$")
_APT_INSTALL = re.compile(r"^(?:DEBIAN_FRONTEND=\S+\s+)?apt(?:-get)?\s+install\s+(.*)$")
_APT_OTHER = re.compile(r"^(?:DEBIAN_FRONTEND=\S+\s+)?apt(?:-get)?\s+(update|upgrade|clean)\b")


class BuildRefused(Exception):
    """A step the stand-in cannot give its effect: the image build fails with this message."""


@dataclass(eq=False)
class ImageBuild:
    image_id: str
    root: Path
    steps: list[dict] = field(default_factory=list)
    logs: list[api_pb2.TaskLogs] = field(default_factory=list)
    result: api_pb2.GenericResult | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def log(self, text: str) -> None:
        now = time.time()
        for line in text.splitlines(keepends=True):
            self.logs.append(
                api_pb2.TaskLogs(
                    data=line if line.endswith("\n") else line + "\n",
                    file_descriptor=api_pb2.FILE_DESCRIPTOR_INFO,
                    timestamp=now,
                )
            )
        self.notify()

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class Images:
    def __init__(self, sim: Sim):
        self.sim = sim
        self.roots = sim.store.root / "image-roots"
        self.roots.mkdir(exist_ok=True)
        self.builds: dict[str, ImageBuild] = {}

    def start(self, image_id: str) -> ImageBuild:
        build = ImageBuild(image_id=image_id, root=self.roots / image_id)
        self.builds[image_id] = build
        asyncio.get_running_loop().create_task(self._build(build))
        return build

    def populate(self, image_id: str, scratch: Path) -> None:
        """Copies the image's tree into a new container's root."""
        build = self.builds.get(image_id)
        if build is not None and build.root.is_dir():
            shutil.copytree(build.root, scratch, symlinks=True, dirs_exist_ok=True)

    async def _build(self, build: ImageBuild) -> None:
        image = self.sim.images[build.image_id]
        try:
            base_id = image.base_images[0].image_id if image.base_images else ""
            base = self.builds.get(base_id)
            if base is not None:
                while base.result is None:
                    await base.changed.wait()
                if base.result.status != GENERIC.GENERIC_STATUS_SUCCESS:
                    raise BuildRefused(f"its base image {base_id} failed to build")
                await asyncio.to_thread(shutil.copytree, base.root, build.root, symlinks=True)
            else:
                (build.root / "root").mkdir(parents=True, exist_ok=True)
            if image.base_images:
                for command in image.dockerfile_commands:
                    await self._step(build, command)
            else:
                build.steps += [
                    {"command": c, "action": "base", "reason": ""}
                    for c in image.dockerfile_commands
                ]
                # Every app's base: recorded, not printed (documented in docs/modal-sim.md).
            build.result = GENERIC(status=GENERIC.GENERIC_STATUS_SUCCESS)
        except BuildRefused as exc:
            build.log(f"modal-sim: {exc}")
            build.result = GENERIC(
                status=GENERIC.GENERIC_STATUS_FAILURE, exception=f"modal-sim {exc}"
            )
        except Exception as exc:  # a bug here must fail the build visibly, not hang the client
            build.result = GENERIC(
                status=GENERIC.GENERIC_STATUS_FAILURE,
                exception=f"modal-sim could not build {build.image_id}: {exc!r}",
            )
        self._record(build)
        build.notify()

    def _record(self, build: ImageBuild) -> None:
        path = self.sim.store.root / "images" / f"{build.image_id}.json"
        record = json.loads(path.read_text())
        record["steps"] = build.steps
        ok = build.result.status == GENERIC.GENERIC_STATUS_SUCCESS
        record["build"] = "ok" if ok else build.result.exception
        self.sim.store.write_json(f"images/{build.image_id}.json", record)

    def _note(self, build: ImageBuild, command: str, action: str, reason: str = "", **extra):
        build.steps.append({"command": command, "action": action, "reason": reason, **extra})
        build.log(f"modal-sim: {action}: {command}" + (f" ({reason})" if reason else ""))

    async def _step(self, build: ImageBuild, command: str) -> None:
        keyword, _, rest = command.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            return
        if keyword == "ENV":
            self._note(build, command, "applied", "set in every container of the image")
            return
        if keyword != "RUN":
            reason = "the working directory stays /root" if keyword == "WORKDIR" else ""
            self._note(build, command, "not-applied", reason)
            return
        to_run = []
        for part in (p.strip() for p in re.split(r"&&", rest)):
            skipped = self._installer(part)
            if skipped is None:
                to_run.append(part)
            else:
                self._note(build, f"RUN {part}", "skipped", skipped)
        if to_run:
            await self._run(build, " && ".join(to_run))

    def _installer(self, part: str) -> str | None:
        """Why an install step is skipped (the host has what it installs); None if `part` is no
        install step. Raises BuildRefused when the host lacks something it would install."""
        if _APT_OTHER.match(part):
            return "package lists are the host's"
        m = _APT_INSTALL.match(part)
        if m:
            packages = [w for w in shlex.split(m.group(1)) if not w.startswith("-")]
            missing = [p for p in packages if not _dpkg_installed(p)]
            if missing:
                raise BuildRefused(
                    f"cannot apt-get install into the host, and the host lacks {', '.join(missing)}"
                    f" (step `{part}`); install them on the host or leave them out of the image"
                )
            return f"installed on the host: {', '.join(packages)}"
        m = _PIP.search(part)
        if m:
            words = shlex.split(m.group(1))
            if any(w in ("-r", "--requirement", "-e", "--editable") for w in words):
                raise BuildRefused(
                    f"cannot check requirements files or editable installs (step `{part}`)"
                )
            reqs = [w for w in words if not w.startswith("-")]
            unmet = [r for r in reqs if not _requirement_met(r)]
            if unmet:
                raise BuildRefused(
                    f"cannot pip install into the host, and its .venv does not satisfy "
                    f"{', '.join(unmet)} (step `{part}`); pin what the .venv has or add it there"
                )
            return f"satisfied by the .venv: {', '.join(reqs)}"
        return None

    async def _run(self, build: ImageBuild, script: str) -> None:
        command = f"RUN {script}"
        home = build.root / "root"
        env = {
            k: v
            for k, v in self.sim.image_env(build.image_id).items()
            if k not in ("PATH", "HOME", "PYTHONPATH")
        }
        env |= {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "MODAL_SIM_ROOT": str(build.root),
        }
        build.log(f"modal-sim: running: {command}")
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            script,
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), RUN_STEP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise BuildRefused(f"`{command}` ran longer than {RUN_STEP_TIMEOUT_S}s") from None
        text = out.decode("utf-8", "replace")
        if text:
            build.log(text)
        build.steps.append({"command": command, "action": "ran", "exit_code": proc.returncode})
        if proc.returncode != 0:
            raise BuildRefused(f"`{command}` exited with code {proc.returncode}: {text[-500:]}")


def _dpkg_installed(package: str) -> bool:
    name = package.split("=", 1)[0]
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return shutil.which(name) is not None
    return out.returncode == 0 and out.stdout.strip().endswith(" installed")


def _requirement_met(spec: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return False
    try:
        version = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)
