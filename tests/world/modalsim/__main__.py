"""Entry point: `python -m modalsim --state DIR [--host H] [--port 0] [--max-containers N]`.

Serves the gRPC control plane and the blob HTTP endpoint, then prints exactly one JSON ready line
on stdout: `{"modal_server_url": "http://127.0.0.1:P"}`. Runs until SIGTERM/SIGINT, then stops
every running container.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
from pathlib import Path

from aiohttp import web
from grpclib.protocol import H2Protocol
from grpclib.server import Server

from . import containers
from .blobs import make_blob_app
from .servicer import Servicer
from .sim import Sim


class _TrackingServer(Server):
    """A grpclib server that tells the sim when a client connection closes: that is how a
    SIGKILLed `modal run` is noticed without waiting for missed heartbeats."""

    def __init__(self, handlers, on_lost):
        super().__init__(handlers)
        self._on_lost = on_lost

    def _protocol_factory(self) -> H2Protocol:
        proto = super()._protocol_factory()
        on_lost = self._on_lost
        made, lost = proto.connection_made, proto.connection_lost
        peer = {}

        def connection_made(transport):
            peer["addr"] = transport.get_extra_info("peername")
            made(transport)

        def connection_lost(exc):
            lost(exc)
            on_lost(peer.get("addr"))

        proto.connection_made = connection_made
        proto.connection_lost = connection_lost
        return proto


def parse_args(argv):
    p = argparse.ArgumentParser(prog="modal-sim", description=__doc__.splitlines()[0])
    p.add_argument("--state", required=True, type=Path, help="state directory (created)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="gRPC port (0 = any free port)")
    p.add_argument(
        "--max-containers", type=int, default=0, help="global cap on running containers (0 = none)"
    )
    p.add_argument(
        "--keep-scratch", action="store_true", help="keep each container's scratch directory"
    )
    p.add_argument(
        "--logs-follow-replays",
        action="store_true",
        help="`modal app logs -f` replays the app's history before following (default: follows "
        "from the moment it connects)",
    )
    return p.parse_args(argv)


async def serve(args) -> None:
    args.state.mkdir(parents=True, exist_ok=True)
    sim = Sim(
        args.state.resolve(),
        args.max_containers,
        keep_scratch=args.keep_scratch,
        follow_replays=args.logs_follow_replays,
    )
    sim.servicer_factory = lambda task: Servicer(sim, task)

    runner = web.AppRunner(make_blob_app(sim.store), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, 0)
    await site.start()
    blob_port = site._server.sockets[0].getsockname()[1]
    sim.blob_url = f"http://{args.host}:{blob_port}/blobs"

    server = _TrackingServer([Servicer(sim)], sim.connection_lost)
    await server.start(args.host, args.port)
    port = server._server.sockets[0].getsockname()[1]

    heartbeats = asyncio.create_task(sim.watch_heartbeats())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"modal_server_url": f"http://{args.host}:{port}"}), flush=True)
    await stop.wait()
    heartbeats.cancel()

    for task in list(sim.tasks.values()):
        containers.kill_task(task, "stopped", hard=True)
    server.close()
    await runner.cleanup()
    shutil.rmtree(sim.sock_dir, ignore_errors=True)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
