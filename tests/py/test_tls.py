"""TLS and proxies as the Python SDKs handle them: a hub endpoint served over HTTPS with a
throw-away CA that only `SSL_CERT_FILE` names, reached directly, through an `HTTPS_PROXY`, and
past it with `NO_PROXY`.

The sandbox speaks plain HTTP; a small TLS-terminating forwarder in this test stands in front of
it (as a corporate TLS proxy or an internal mirror would), and a CONNECT proxy records the tunnels
it opens.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import world
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BINARY = world.ROOT / "target" / "release" / "hubferry"


def make_ca_and_server_cert(dir: Path) -> tuple[Path, Path, Path]:
    """A CA (ca.pem) and a 127.0.0.1 server certificate it signed (server.pem, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hubferry test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (dir / "ca.pem").write_bytes(ca.public_bytes(pem))
    (dir / "server.pem").write_bytes(cert.public_bytes(pem))
    (dir / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return dir / "ca.pem", dir / "server.pem", dir / "server.key"


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


class Proxies:
    """On one event loop thread: the TLS forwarder to `upstream` and a CONNECT proxy."""

    def __init__(self, upstream: tuple[str, int], cert: Path, key: Path):
        self.upstream = upstream
        self.tunnels: list[str] = []
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10), "proxies did not start"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        tls = self.loop.run_until_complete(
            asyncio.start_server(self._forward, "127.0.0.1", 0, ssl=self.ctx)
        )
        connect = self.loop.run_until_complete(asyncio.start_server(self._connect, "127.0.0.1", 0))
        self.servers = [tls, connect]
        self.tls_port = tls.sockets[0].getsockname()[1]
        self.proxy_port = connect.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _forward(self, reader, writer) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def _connect(self, reader, writer) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        assert method == "CONNECT", head
        self.tunnels.append(target)
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def _shutdown(self) -> None:
        for server in self.servers:
            server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def tls(sandbox, tmp_path_factory):
    ca, cert, key = make_ca_and_server_cert(tmp_path_factory.mktemp("pki"))
    hf = urlparse(sandbox["hf_endpoint"])
    proxies = Proxies((hf.hostname, hf.port), cert, key)
    yield ca, proxies
    proxies.stop()


def inventory(sandbox, proxies, isolated_home, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    clean.pop("SSL_CERT_FILE", None)
    clean.pop("SSL_CERT_DIR", None)
    full = {
        **clean,
        **world.hf_env(sandbox),
        **world.ms_env(sandbox),
        "HOME": str(isolated_home),
        "NO_COLOR": "1",
        "HF_ENDPOINT": f"https://127.0.0.1:{proxies.tls_port}",
        **env,
    }
    return subprocess.run(
        [str(BINARY), "inventory", "alice", "--on", "hf", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=full,
    )


@pytest.fixture(scope="module")
def seeded(sandbox):
    env = {**os.environ, **world.hf_env(sandbox)}
    argv = [str(world.PYTHON), str(world.ROOT / "tests/it/support/seed.py"), "--platform", "hf"]
    subprocess.run(
        argv + ["--repo-id", "alice/tls-model", "--lfs-mb", "0.01"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def listed(out: subprocess.CompletedProcess) -> list[str]:
    assert out.returncode == 0, out.stdout + out.stderr
    objects = [json.loads(line) for line in out.stdout.splitlines()]
    return [json.dumps(o) for o in objects]


def test_an_unknown_ca_is_refused(sandbox, tls, seeded, isolated_home):
    _, proxies = tls
    out = inventory(sandbox, proxies, isolated_home)
    assert out.returncode != 0, out.stdout
    assert "certificate" in out.stderr and "SSL_CERT_FILE" in out.stderr, out.stderr


def test_ssl_cert_file_trusts_a_corporate_ca(sandbox, tls, seeded, isolated_home):
    ca, proxies = tls
    out = inventory(sandbox, proxies, isolated_home, SSL_CERT_FILE=str(ca))
    assert any("alice/tls-model" in o for o in listed(out)), out.stdout


def test_https_proxy_tunnels_and_no_proxy_bypasses(sandbox, tls, seeded, isolated_home):
    ca, proxies = tls
    proxy = f"http://127.0.0.1:{proxies.proxy_port}"
    before = len(proxies.tunnels)
    out = inventory(sandbox, proxies, isolated_home, SSL_CERT_FILE=str(ca), HTTPS_PROXY=proxy)
    assert any("alice/tls-model" in o for o in listed(out)), out.stdout
    assert f"127.0.0.1:{proxies.tls_port}" in proxies.tunnels[before:], proxies.tunnels
    before = len(proxies.tunnels)
    out = inventory(
        sandbox,
        proxies,
        isolated_home,
        SSL_CERT_FILE=str(ca),
        https_proxy=proxy,
        NO_PROXY="127.0.0.1",
    )
    assert any("alice/tls-model" in o for o in listed(out)), out.stdout
    assert proxies.tunnels[before:] == [], proxies.tunnels
