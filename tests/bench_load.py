"""The bare baselines ``make bench`` measures the Registry beside, and the load it puts on a server.

Nothing here imports the Registry, so that the baselines carry none of its cost:

- ``bare``: a Flask application with one JSON route shaped like ``/api/v1/verify``'s answer, for
  gunicorn (``tests.bench_load:bare``) with the same settings as the Registry's run;
- :func:`hammer`: requests per second from a server, from a few concurrent connections (one
  request each, as gunicorn's sync workers close the connection after every answer);
- ``python -m tests.bench_load audit-loop URL LABEL``: re-links every audit event with sqlite3 (or
  psycopg) and hashlib/hmac alone, the least any check of the chain must do, and prints the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, jsonify

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
CONCURRENCY = 8


def make_bare() -> Flask:
    app = Flask("bare")

    @app.get("/api/v1/verify")
    def verify():  # type: ignore[no-untyped-def]
        return jsonify(official=False, channel=None, lookalike_of=None)

    return app


bare = make_bare()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def gunicorn(target: str, env: Mapping[str, str], ready_path: str) -> Iterator[str]:
    """Serve ``target`` with gunicorn (sync workers, :data:`WORKERS` of them) until the block ends;
    yields its base URL once ``ready_path`` answers 200. Stops only the server it started."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", target],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"gunicorn {target} stopped: {log.read().decode(errors='replace')[-3000:]}")
                try:
                    with urllib.request.urlopen(base + ready_path, timeout=5) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn {target} did not answer {ready_path} within two minutes.")
                time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: nothing is in flight by now
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _hammer(base: str, path: str, seconds: float, concurrency: int) -> tuple[int, int]:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    good = bad = 0

    async def one_connection_at_a_time() -> None:
        nonlocal good, bad
        while loop.time() < deadline:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            answer = await reader.read()
            writer.close()
            if answer[9:12] == b"200":
                good += 1
            else:
                bad += 1

    await asyncio.gather(*(one_connection_at_a_time() for _ in range(concurrency)))
    return good, bad


def hammer(base: str, path: str, seconds: float, concurrency: int = CONCURRENCY) -> float:
    """Requests per second that ``path`` answers 200 over ``seconds`` (after a second's warm-up);
    stops the bench if any answer is not 200 (a 429 would mean rate limiting was on)."""
    asyncio.run(_hammer(base, path, min(1.0, seconds), concurrency))
    start = time.perf_counter()
    good, bad = asyncio.run(_hammer(base, path, seconds, concurrency))
    elapsed = time.perf_counter() - start
    if bad:
        raise SystemExit(f"{bad} of {good + bad} requests to {path} did not answer 200: the figure would mean nothing.")
    return good / elapsed


def fetch_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


# --------------------------------------------------------------------------
# The bare audit loop


def _hkdf(key: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 without salt, 32 bytes (RFC 5869), as the Registry derives its link keys."""
    prk = hmac.digest(b"\0" * 32, key, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def _link_keys(entries: str, label: bytes) -> dict[str, bytes]:
    import base64

    keys = {}
    for entry in entries.split(","):
        key_id, _, value = entry.strip().partition(":")
        keys[key_id] = _hkdf(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), label)
    return keys


def _timestamp_sqlite(value: str) -> str:
    return value.replace(" ", "T") + "Z"


def _timestamp_postgres(value: object) -> str:
    import datetime as dt

    assert isinstance(value, dt.datetime)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def audit_loop(url: str, label: bytes) -> int:
    """Re-link every audit event in sequence order; returns how many linked, or exits 1 at the first that does not."""
    keys = _link_keys(os.environ["REGISTRY_AUDIT_KEYS"], label)
    prefix = label + b"\n"
    columns = (
        "seq, occurred_at, actor_id, actor, action, object_type, object_id, address, details, prev_hash, hash, key_id"
    )
    if url.startswith("sqlite:///"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        stamp = _timestamp_sqlite
    else:
        import psycopg

        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))  # type: ignore[assignment]
        stamp = _timestamp_postgres
    cursor = connection.cursor()
    cursor.execute("SELECT chain_id FROM audit_anchor WHERE id = 1")
    chain_id = cursor.fetchone()[0]
    cursor.execute(f"SELECT {columns} FROM audit_events ORDER BY seq")  # noqa: S608
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    previous = "0" * 64
    checked = 0
    for seq, at, actor_id, actor, action, object_type, object_id, address, details, prev, digest, key_id in cursor:
        canonical = encode(
            {
                "seq": seq,
                "occurred_at": stamp(at),
                "actor_id": actor_id,
                "actor": actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "address": address,
                "details": details,
            }
        )
        message = f"{chain_id}\n{key_id}\n{previous}\n{canonical}".encode()
        if prev != previous or hmac.digest(keys[key_id], prefix + message, "sha256").hex() != digest:
            print(f"event {seq} does not link", file=sys.stderr)
            sys.exit(1)
        previous = digest
        checked += 1
    connection.close()
    return checked


if __name__ == "__main__":
    if sys.argv[1:2] != ["audit-loop"] or len(sys.argv) != 4:
        sys.exit("usage: python -m tests.bench_load audit-loop DATABASE_URL LINK_LABEL")
    print(audit_loop(sys.argv[2], sys.argv[3].encode()))
