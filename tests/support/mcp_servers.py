"""Our test MCP server (support/mcp_test_server.py) as the tests start it: a stdio command, or
an HTTP process (streamable HTTP or SSE) on 127.0.0.1 and a free port, stopped by the test."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TEST_SERVER = str(Path(__file__).with_name("mcp_test_server.py"))


def stdio_params() -> Any:
    return {"command": sys.executable, "args": [TEST_SERVER, "stdio"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HttpMCPServer:
    """`with HttpMCPServer("streamable-http") as server:` then `server.url`."""

    def __init__(self, transport: str = "streamable-http", startup_timeout: float = 20.0) -> None:
        self.transport = transport
        self.port = free_port()
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        path = "/mcp" if self.transport == "streamable-http" else "/sse"
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> HttpMCPServer:
        self.process = subprocess.Popen(
            [sys.executable, TEST_SERVER, self.transport, "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the MCP test server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the MCP test server did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
