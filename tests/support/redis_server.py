"""A real `redis-server` for tests: 127.0.0.1, a free port, a temporary directory, no disk
persistence; started and stopped by the test.

    with RedisServer() as server:
        client = redis.asyncio.from_url(server.url)

Test modules wrap it in their own fixture. When the
binary is missing they FAIL, so CI cannot pass without Redis; a developer can set
AGENTOSCOPE_ALLOW_SKIP_REDIS=1 to skip them instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

ALLOW_SKIP_ENV = "AGENTOSCOPE_ALLOW_SKIP_REDIS"


def require_redis_server() -> str:
    """The redis-server path; otherwise fail the test (or skip it when allowed)."""
    binary = shutil.which("redis-server")
    if binary:
        return binary
    message = (
        "redis-server is not on PATH: install it (`make system-deps`, or "
        "`apt-get install redis-server`), or set AGENTOSCOPE_ALLOW_SKIP_REDIS=1 to skip"
    )
    if os.environ.get(ALLOW_SKIP_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """One redis-server process. `stop()` kills it (tests use that to lose the server)."""

    def __init__(self, binary: str | None = None, startup_timeout: float = 15.0) -> None:
        self.binary = binary or require_redis_server()
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self._dir = tempfile.TemporaryDirectory(prefix="agentoscope-redis-")
        log = Path(self._dir.name) / "redis.log"
        # A port probed free can be taken before redis binds it; try a few.
        for _ in range(5):
            self.port = _free_port()
            options = {
                "--bind": "127.0.0.1",
                "--port": str(self.port),
                "--dir": self._dir.name,
                "--save": "",
                "--appendonly": "no",
                "--logfile": str(log),
            }
            argv = [self.binary, *(part for pair in options.items() for part in pair)]
            self.process = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if self._wait_until_ready():
                return self
            self._kill()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        raise RuntimeError(f"redis-server did not start on 127.0.0.1; its log:\n{tail}")

    def _wait_until_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    if client.ping():
                        return True
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self._kill()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
