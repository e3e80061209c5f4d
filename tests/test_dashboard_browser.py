"""The dashboard as a user gets it: `agentoscope dashboard` serving a real store, loaded in
headless Chromium (Debian's `chromium`; `make test` installs it), driven over the DevTools
protocol. Screenshots go to $AGENTOSCOPE_SCREENSHOTS when set (docs/img is made this way), else
to the test's temporary directory."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from agentoscope.tracing import set_trace_processors
from agentoscope.tracing.store import SpanStore
from support.dashboard_data import (
    ERROR_TYPE,
    KNOWN_TRACE_ID,
    KNOWN_WORKFLOW,
    RecordCollector,
    build_dashboard_store,
)
from support.store_spans import emit_every_span_type

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
START_TIMEOUT_S = 90
PAGE_TIMEOUT_S = 60

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make system-deps)"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except (httpx.HTTPError, OSError, ValueError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.2)


# True once Streamlit has drawn everything it announced: no skeleton placeholders, a canvas or
# SVG in every chart, text in every code block, and no "running" status.
RENDERED = """() => {
    const all = (selector) => Array.from(document.querySelectorAll(selector));
    return all('[data-testid*="keleton"]').length === 0
        && all('[data-testid="stVegaLiteChart"]').every((c) => c.querySelector("canvas, svg"))
        && all('[data-testid="stCode"] code').every((c) => c.innerText.trim().length > 0)
        && all('[data-testid="stStatusWidget"]').length === 0;
}"""


class Chromium:
    """Headless Chromium with one page, driven over the DevTools protocol's WebSocket."""

    def __init__(self, profile: Path, width: int = 1440, height: int = 1200) -> None:
        self.process = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        port = wait_for(lambda: port_file.read_text().split()[0], 30, "chromium's DevTools port")
        pages = wait_for(
            lambda: [
                target
                for target in httpx.get(f"http://127.0.0.1:{port}/json").json()
                if target["type"] == "page"
            ],
            30,
            "a chromium page",
        )
        self.socket: ClientConnection = connect(
            pages[0]["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024
        )
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=PAGE_TIMEOUT_S))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)[
            "result"
        ].get("value")

    def open(self, url: str, *texts: str) -> str:
        """Load `url` and wait until the page shows every one of `texts` and stops changing.
        Table cells count: Streamlit tables keep an accessible copy of their cells in the DOM."""
        self.call("Page.navigate", url=url)
        page = "document.body ? document.body.innerText + document.body.innerHTML : ''"
        wait_for(
            lambda: all(text in (self.evaluate(page) or "") for text in texts),
            PAGE_TIMEOUT_S,
            f"{', '.join(texts)} at {url}",
        )
        previous = [""]

        def settled() -> bool:
            """Nothing left to draw (no placeholders, every chart and code block filled) and
            the text unchanged since the last look."""
            current = self.evaluate(f"({RENDERED})() ? document.body.innerText : null")
            same, previous[0] = current is not None and current == previous[0], current or ""
            return same

        wait_for(settled, PAGE_TIMEOUT_S, "the page to finish rendering")
        return self.evaluate("document.body.innerText")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)


@contextmanager
def serving(store: Path, tmp_path: Path) -> Iterator[str]:
    """`agentoscope dashboard` on `store`, on a free loopback port, until the block ends."""
    port = free_port()
    env = {**os.environ, "AGENTOSCOPE_PRICES": str(tmp_path / "prices.json")}
    env.pop("AGENTOSCOPE_SERVER", None)
    command = [sys.executable, "-m", "agentoscope.cli.main", "dashboard", "--store", str(store)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: (
                server.poll() is None and httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok"
            ),
            START_TIMEOUT_S,
            "agentoscope dashboard to serve",
        )
        yield url
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
        if server.returncode not in (0, -15):
            print(output)


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    store = tmp_path / "traces.duckdb"
    build_dashboard_store(store)
    with serving(store, tmp_path) as url:
        yield url


@pytest.fixture
def every_type_dashboard_url(tmp_path: Path) -> Iterator[str]:
    """The dashboard store plus a trace that opens every span type (13 of them)."""
    store = tmp_path / "traces.duckdb"
    build_dashboard_store(store)
    collector = RecordCollector()
    set_trace_processors([collector])
    try:
        emit_every_span_type()
    finally:
        set_trace_processors([])
    with SpanStore(store) as writer:
        writer.ingest(collector.records)
    with serving(store, tmp_path) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    chromium = Chromium(profile)
    try:
        yield chromium
    finally:
        chromium.close()


def screenshot_dir(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("AGENTOSCOPE_SCREENSHOTS") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_traces_page_in_chromium_shows_the_known_trace(
    dashboard_url: str, browser: Chromium, tmp_path: Path
) -> None:
    text = browser.open(dashboard_url, KNOWN_TRACE_ID, KNOWN_WORKFLOW, "Page 1 of 1")
    assert "Traces" in text and "Time window" in text
    shot = browser.screenshot(screenshot_dir(tmp_path) / "dashboard-traces.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000

    text = browser.open(f"{dashboard_url}/trace?trace_id={KNOWN_TRACE_ID}", ERROR_TYPE)
    assert "refund_payment" in text and "Arguments" in text
    browser.screenshot(screenshot_dir(tmp_path) / "dashboard-trace.png")


# Elements whose text the browser had to cut (an ellipsis or hidden overflow): what a user
# sees as "54.5 …".
CUT_TEXT = """(selector) => Array.from(document.querySelectorAll(selector))
    .flatMap((element) => [element, ...element.querySelectorAll("*")])
    .filter((element) => element.scrollWidth > element.clientWidth + 1)
    .map((element) => element.innerText)"""
# Tables whose body scrolls inside them: rows a user does not see without looking for them.
INNER_SCROLL = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'))
    .map((table) => table.querySelector(".dvn-scroller"))
    .map((scroller) => scroller ? scroller.scrollHeight > scroller.clientHeight + 1 : null)"""


def test_values_are_whole_and_tables_unscrolled_in_chromium(
    every_type_dashboard_url: str, browser: Chromium, tmp_path: Path
) -> None:
    dashboard_url = every_type_dashboard_url
    # A laptop's width: the span detail panel is narrow there.
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        width=1100,
        height=1200,
        deviceScaleFactor=1,
        mobile=False,
    )
    text = browser.open(f"{dashboard_url}/trace?trace_id={KNOWN_TRACE_ID}", "Duration")
    assert "refund_payment" in text
    cut = browser.evaluate(f"({CUT_TEXT})('[data-testid=\"stMetricValue\"]')")
    assert cut == [], f"metric values cut by the browser: {cut}"

    browser.open(f"{dashboard_url}/latency", "p50", "Slowest spans")
    scrolls = browser.evaluate(f"({INNER_SCROLL})()")
    assert scrolls and scrolls[0] is False, scrolls  # all 13 span types, no inner scroll
    browser.call("Emulation.clearDeviceMetricsOverride")
    browser.open(f"{dashboard_url}/latency", "p50", "Slowest spans")
    browser.screenshot(screenshot_dir(tmp_path) / "dashboard-latency.png")
