"""Who may talk to `agentoscope serve` over HTTP: not a web page.

serve has no browser clients (the dashboard asks it from its own Python process), so a request a
browser made on a page's behalf is refused:

- **Host**: a DNS-rebinding page reaches 127.0.0.1 under its own name (`attacker.example`), and
  the browser sends that name as `Host`. Only loopback names and addresses, the address serve is
  bound to, and hosts the operator allowed (`--allow-host`) are answered.
- **Origin**: a page that posts to serve (a "simple" cross-site request needs no preflight) sends
  its `Origin`. Any Origin other than serve's own is refused.
- `/v1/query` needs `Content-Type: application/json`, which a page can only send after a CORS
  preflight, and serve answers no preflight and sets no CORS header.

Binding beyond loopback needs a token, or an explicit `insecure=True` (`--insecure`).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
ANY_HOST = "*"


class ServeConfigError(ValueError):
    """A setting of `agentoscope serve` that cannot work; the message names it."""


def is_loopback(host: str) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> str:
    """The host of a `Host` header value (`name`, `name:port`, `[v6]`, `[v6]:port`), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class AccessPolicy:
    """The Host and Origin checks and the bearer token of one service."""

    def __init__(
        self,
        bind_host: str,
        token: str | None,
        allowed_hosts: Iterable[str] = (),
        insecure: bool = False,
    ) -> None:
        self.token = token or None
        self.allowed_hosts = frozenset(split_host(host) for host in allowed_hosts if host.strip())
        self.any_host = ANY_HOST in self.allowed_hosts
        self.bind_host = bind_host.strip().strip("[]").lower()
        self.exposed = not is_loopback(self.bind_host)
        if self.exposed and self.token is None and not insecure:
            raise ServeConfigError(
                f"refusing to listen on {bind_host} without a token: anyone who can reach that "
                "address could read every stored span. Give --token (or AGENTOSCOPE_TOKEN), or "
                "pass --insecure to expose the store without one."
            )

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request with this `Host` header is answered. A request without one is not
        a browser's (browsers always send it)."""
        if host_header is None or self.any_host:
            return True
        host = split_host(host_header)
        if is_loopback(host) or host in self.allowed_hosts:
            return True
        return self.exposed and host == self.bind_host and self.bind_host not in ("0.0.0.0", "::")

    def origin_allowed(self, origin: str | None, host_header: str | None) -> bool:
        """Whether a request carrying this `Origin` is answered: none at all (not a browser), or
        serve's own origin (the same host and port as the request's `Host`)."""
        if origin is None:
            return True
        if host_header is None:
            return False
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed frames, files) and anything odd
        return parts.netloc.lower() == host_header.strip().lower()

    def authorized(self, header: str | None) -> bool:
        """The `Authorization` header carries the token (the scheme `Bearer`, any case)."""
        if self.token is None:
            return True
        if not header:
            return False
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode(), self.token.encode())
