"""Run a command in a real pseudo-terminal of a chosen width, as a user at a terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

# The installed entry point, as a user types it (beside this interpreter in the venv).
AGENTOSCOPE = Path(sys.executable).with_name("agentoscope")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    text: str  # what the terminal showed, colour codes removed, one entry per line

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def agentoscope_env(**extra: str) -> dict[str, str]:
    """The environment without our settings or a terminal size (the pty sets the size)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AGENTOSCOPE_", "OPENAI_")) and key not in ("COLUMNS", "LINES")
    }
    env.update(extra)
    return env


def run_in_terminal(
    args: list[str],
    *,
    columns: int = 80,
    typed: str = "",
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> TerminalRun:
    """`agentoscope ARGS` with stdin, stdout and stderr on a `columns`-wide terminal; `typed` is
    what the user types."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    process = subprocess.Popen(
        [str(AGENTOSCOPE), *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env=env or agentoscope_env(),
        close_fds=True,
    )
    os.close(follower)
    if typed:
        os.write(leader, typed.encode())
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
        if time.monotonic() > deadline:
            process.kill()
            break
    os.close(leader)
    returncode = process.wait(timeout=timeout)
    text = ANSI.sub("", b"".join(chunks).decode(errors="replace")).replace("\r\n", "\n")
    return TerminalRun(returncode, text)
