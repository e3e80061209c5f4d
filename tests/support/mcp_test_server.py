"""A real MCP server for the tests, written with the `mcp` package's high-level server class
(FastMCP, called `MCPServer` in mcp 2.x).

    python mcp_test_server.py stdio
    python mcp_test_server.py streamable-http --port 8123
    python mcp_test_server.py sse --port 8123

Tools cover what a client must handle: text, structured and image results, a tool that raises,
a slow tool (timeouts), and one that kills the server process (a server dying mid-run).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from pydantic import BaseModel

# The smallest valid PNG: one transparent pixel.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class CountingServer(MCPServer):
    """Counts `tools/list` requests, so a test can tell a cached listing from a fresh one."""

    listings = 0

    async def list_tools(self):  # type: ignore[no-untyped-def]
        CountingServer.listings += 1
        return await super().list_tools()


server = CountingServer("agentoscope-test")


class Forecast(BaseModel):
    city: str
    celsius: int
    sky: str


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers."""
    return str(a + b)


@server.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@server.tool()
def forecast(city: str) -> Forecast:
    """Tomorrow's weather in a city (a structured result)."""
    return Forecast(city=city, celsius=21, sky="clear")


@server.tool()
def pixel() -> Image:
    """A one-pixel PNG image."""
    return Image(data=PIXEL_PNG, format="png")


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ToolError(f"refused: {reason}")


@server.tool()
async def slow(seconds: float) -> str:
    """Sleeps, then answers."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


@server.tool()
def listings() -> str:
    """How many times the tools were listed."""
    return str(CountingServer.listings)


@server.tool()
def die() -> str:
    """Ends the server process at once, as a crash would."""
    os._exit(17)


@server.prompt()
def greeting(name: str) -> str:
    """A greeting prompt."""
    return f"Say hello to {name}."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "streamable-http", "sse"])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.transport == "stdio":
        server.run("stdio")
    elif args.transport == "streamable-http":
        server.run("streamable-http", host="127.0.0.1", port=args.port)
    else:
        server.run("sse", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
