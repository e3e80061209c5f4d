"""The interface a `ComputerTool` drives: a screen, a mouse and a keyboard (a browser, a VM, a
remote desktop). Implement `Computer` (sync methods, run in a worker thread) or `AsyncComputer`.
`screenshot()` returns a base64 PNG; the model gets it after each batch of actions."""

from __future__ import annotations

import abc
from typing import Literal

Environment = Literal["mac", "windows", "ubuntu", "browser"]
Button = Literal["left", "right", "wheel", "back", "forward"]


class _ComputerDescription:
    """What a computer, sync or async, says about itself (both default to unknown)."""

    @property
    def environment(self) -> Environment | None:
        """Needed only for the preview computer tool (`computer-use-preview` models)."""
        return None

    @property
    def dimensions(self) -> tuple[int, int] | None:
        """(width, height): needed only for the preview computer tool."""
        return None


class Computer(_ComputerDescription, abc.ABC):
    """A computer with synchronous operations."""

    @abc.abstractmethod
    def screenshot(self) -> str: ...

    @abc.abstractmethod
    def click(self, x: int, y: int, button: Button) -> None: ...

    @abc.abstractmethod
    def double_click(self, x: int, y: int) -> None: ...

    @abc.abstractmethod
    def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int) -> None: ...

    @abc.abstractmethod
    def type(self, text: str) -> None: ...

    @abc.abstractmethod
    def wait(self) -> None: ...

    @abc.abstractmethod
    def move(self, x: int, y: int) -> None: ...

    @abc.abstractmethod
    def keypress(self, keys: list[str]) -> None: ...

    @abc.abstractmethod
    def drag(self, path: list[tuple[int, int]]) -> None: ...


class AsyncComputer(_ComputerDescription, abc.ABC):
    """A computer with asynchronous operations."""

    @abc.abstractmethod
    async def screenshot(self) -> str: ...

    @abc.abstractmethod
    async def click(self, x: int, y: int, button: Button) -> None: ...

    @abc.abstractmethod
    async def double_click(self, x: int, y: int) -> None: ...

    @abc.abstractmethod
    async def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int) -> None: ...

    @abc.abstractmethod
    async def type(self, text: str) -> None: ...

    @abc.abstractmethod
    async def wait(self) -> None: ...

    @abc.abstractmethod
    async def move(self, x: int, y: int) -> None: ...

    @abc.abstractmethod
    async def keypress(self, keys: list[str]) -> None: ...

    @abc.abstractmethod
    async def drag(self, path: list[tuple[int, int]]) -> None: ...
