"""Entry point of the hub sandbox (`scripts/sandbox`): parse arguments, start the Xet CAS child
(xet.py), the HF, ModelScope and admin servers, print the one JSON ready line, stop cleanly (CAS
included) on SIGTERM/SIGINT.

Each hub side is a module with `make_handler(ctx: HubContext) -> BaseHandler subclass`
(`hubsandbox.hf`, `hubsandbox.ms`). Until `ms.py` exists, the ModelScope port answers 404 to all.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .admin import make_admin_handler
from .faults import FaultSet
from .hf_bridge import make_bridge_handler
from .httpbase import BaseHandler, Config, HttpError, HubContext, HubServer, Stats, env_flag
from .shaping import Link
from .store import Store
from .xet import CAS_BINARY_ENV, CasError, CasServer, XetStore, default_cas_binary
from .xet_proxy import make_cas_proxy_handler


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="scripts/sandbox",
        description="Offline Hugging Face Hub + ModelScope stand-in for the official clients.",
    )
    p.add_argument("--state", required=True, help="state directory (kept across restarts)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--hf-port", type=int, default=0)
    p.add_argument("--ms-port", type=int, default=0)
    p.add_argument("--admin-port", type=int, default=0)
    p.add_argument("--hf-user", action="append", default=[], metavar="NAME:TOKEN")
    p.add_argument("--ms-user", action="append", default=[], metavar="NAME:TOKEN")
    p.add_argument("--org", action="append", default=[], metavar="PLATFORM:ORG:MEMBER[,MEMBER...]")
    p.add_argument("--hf-bandwidth", type=float, default=None, metavar="MB_PER_S")
    p.add_argument("--ms-bandwidth", type=float, default=None, metavar="MB_PER_S")
    # On top of the totals: the cap on each single TCP connection (see shaping.py).
    p.add_argument("--hf-conn-bandwidth", type=float, default=None, metavar="MB_PER_S")
    p.add_argument("--ms-conn-bandwidth", type=float, default=None, metavar="MB_PER_S")
    p.add_argument("--page-size", type=int, default=1000, help="HF listing page size")
    p.add_argument(
        "--lfs-multipart-threshold",
        type=int,
        default=Config.lfs_multipart_threshold,
        help="HF LFS uploads above this many bytes use the multipart transfer",
    )
    p.add_argument("--lfs-multipart-chunk", type=int, default=Config.lfs_multipart_chunk)
    p.add_argument(
        "--no-xet",
        action="store_true",
        help="serve HF without Xet storage (no CAS child; clients need HF_HUB_DISABLE_XET=1)",
    )
    p.add_argument(
        "--ms-commit-max-actions",
        type=int,
        default=Config.ms_commit_max_actions,
        help="ModelScope refuses a commit of more actions with 422 (the real hub: 2000); lower"
        " it to test batching at small scale (clients: MODELSCOPE_COMMIT_MAX_ACTIONS_PER_REQUEST)",
    )
    p.add_argument(
        "--bridge-cache",
        action="store_true",
        help="the HF bridge keeps each Xet file it reconstructed as a plain copy and serves later"
        " reads from it, as the Hub's CDN does (see docs/sandbox.md, fidelity)",
    )
    p.add_argument(
        "--debug",
        action="store_true",
        default=env_flag("HUBSANDBOX_DEBUG"),
        help="log every request to stderr",
    )
    return p.parse_args(argv)


def _user(spec: str) -> tuple[str, str]:
    name, sep, token = spec.partition(":")
    if not sep or not name or not token:
        sys.exit(f"sandbox: bad user spec (want NAME:TOKEN): {name}:…")
    return name, token


class _AbsentHub(BaseHandler):
    def dispatch(self, method):
        raise HttpError(404, "this hub is not implemented in the sandbox yet", "NotFound")


def _hub_handler(module: str, ctx: HubContext):
    if importlib.util.find_spec(f"hubsandbox.{module}") is None:
        return type("AbsentHub", (_AbsentHub,), {"ctx": ctx})
    return importlib.import_module(f"hubsandbox.{module}").make_handler(ctx)


def main(argv=None) -> int:
    args = parse_args(argv)
    store = Store(args.state)
    for spec in args.hf_user:
        store.add_user("hf", *_user(spec))
    for spec in args.ms_user:
        store.add_user("ms", *_user(spec))
    for spec in args.org:
        platform, org, members = (spec.split(":", 2) + ["", ""])[:3]
        if platform not in ("hf", "ms") or not org:
            sys.exit(f"sandbox: bad --org {spec!r}; want PLATFORM:ORG:MEMBER[,MEMBER...]")
        store.add_org(platform, org, [m for m in members.split(",") if m])

    config = Config(
        host=args.host,
        page_size=max(1, args.page_size),
        lfs_multipart_threshold=args.lfs_multipart_threshold,
        lfs_multipart_chunk=args.lfs_multipart_chunk,
        ms_commit_max_actions=max(1, args.ms_commit_max_actions),
        debug=args.debug,
    )
    xet = None
    if not args.no_xet:
        xet_dir = store.root / "xet"
        xet_dir.mkdir(exist_ok=True)
        binary = os.environ.get(CAS_BINARY_ENV) or default_cas_binary()
        cas = CasServer(Path(binary), xet_dir / "cas", args.host, xet_dir / "cas.log")
        try:
            cas.start()
        except CasError as e:
            sys.exit(f"sandbox: {e}")
        xet = XetStore(cas, xet_dir / "client-cache")
        store.objects_for("hf").remote = xet

    faults, stats = FaultSet(), Stats()
    hubs, servers = {}, []
    for platform, port, bandwidth, per_conn in (
        ("hf", args.hf_port, args.hf_bandwidth, args.hf_conn_bandwidth),
        ("ms", args.ms_port, args.ms_bandwidth, args.ms_conn_bandwidth),
    ):
        ctx = HubContext(platform, store, faults, Link(bandwidth, per_conn), stats, config)
        server = HubServer((args.host, port), _hub_handler(platform, ctx), ctx)
        ctx.endpoint = f"http://{args.host}:{server.server_address[1]}"
        if platform == "hf" and xet is not None:
            ctx.extra["xet"] = xet
        hubs[platform] = ctx
        servers.append(server)
    # The CDN LFS files redirect to: another origin, on the HF link (hf_bridge.py).
    bridge = HubServer((args.host, 0), make_bridge_handler(hubs["hf"]), hubs["hf"])
    hubs["hf"].extra["bridge_url"] = f"http://{args.host}:{bridge.server_address[1]}"
    hubs["hf"].extra["bridge_cache"] = args.bridge_cache
    servers.append(bridge)
    if xet is not None:
        relay = HubServer(
            (args.host, 0), make_cas_proxy_handler(hubs["hf"], xet.cas.url), hubs["hf"]
        )
        xet.public_url = f"http://{args.host}:{relay.server_address[1]}"
        servers.append(relay)
    admin = HubServer((args.host, args.admin_port), make_admin_handler(hubs), hubs["hf"])
    servers.append(admin)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        for s in servers
    ]
    for t in threads:
        t.start()
    ready = {
        "hf_endpoint": hubs["hf"].endpoint,
        "ms_endpoint": hubs["ms"].endpoint,
        "admin": f"http://{args.host}:{admin.server_address[1]}",
        "xet_cas": xet.public_url if xet else None,
        "hf_bridge": hubs["hf"].extra["bridge_url"],
    }
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    stop.wait()
    for s in servers:
        s.shutdown()
        s.server_close()
    if xet is not None:
        xet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
