"""Which store engine, from one URL: the `--store` option and AGENTOSCOPE_STORE.

- `path/to/traces.duckdb` or `duckdb:///abs/path.duckdb`: the embedded DuckDB file (the default,
  ./.agentoscope/traces.duckdb);
- `clickhouse://user:password@host:8123/database`: a ClickHouse server over HTTP
  (`clickhouses://` for HTTPS), through clickhouse-connect;
- `chdb:///path/to/folder`: the same ClickHouse engine in this process (chdb), a folder of data.

ClickHouse URLs take options as query parameters: `table=otel_traces` reads the spans that the
OpenTelemetry Collector's ClickHouse exporter writes (read-only), `retention_days=N` sets the TTL
of the store's tables (see clickhouse_retention.py for an existing store). Unknown options are
refused, never ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

STORE_ENV = "AGENTOSCOPE_STORE"
DEFAULT_STORE_PATH = Path(".agentoscope") / "traces.duckdb"
DEFAULT_CLICKHOUSE_DATABASE = "agentoscope"
OTEL_TRACES_TABLE = "otel_traces"
_CLICKHOUSE_SCHEMES = {"clickhouse": "http", "clickhouses": "https"}
_OPTIONS = frozenset({"table", "retention_days"})


class StoreURLError(ValueError):
    """A store URL this Agentoscope cannot use; the message says what is wrong."""


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL. `engine` is "duckdb", "clickhouse" (a server) or "chdb"."""

    engine: str
    path: Path | None = None  # duckdb file, chdb folder
    host: str = ""
    port: int = 8123
    secure: bool = False
    user: str = "default"
    password: str = field(default="", repr=False)
    database: str = DEFAULT_CLICKHOUSE_DATABASE
    # The OpenTelemetry Collector's table, read in place of our own (ClickHouse engines only).
    otel_table: str | None = None
    retention_days: int | None = None

    @property
    def is_clickhouse(self) -> bool:
        return self.engine in ("clickhouse", "chdb")

    def describe(self) -> str:
        """Where the store is, without the password (for messages)."""
        if self.engine == "duckdb":
            return str(self.path)
        if self.engine == "chdb":
            where = f"chdb://{self.path}/{self.database}"
        else:
            scheme = "clickhouses" if self.secure else "clickhouse"
            where = f"{scheme}://{self.user}@{self.host}:{self.port}/{self.database}"
        return where + (f"?table={self.otel_table}" if self.otel_table else "")


def parse_store_url(text: str | os.PathLike[str]) -> StoreURL:
    """A store URL or a plain path (a DuckDB file)."""
    value = os.fspath(text).strip()
    if not value:
        raise StoreURLError("empty store URL")
    scheme, sep, _ = value.partition("://")
    if not sep or "/" in scheme or "\\" in scheme:
        return StoreURL("duckdb", path=Path(value).expanduser())
    scheme = scheme.lower()
    parts = urlsplit(value)
    options = _options(parts.query, value)
    if scheme == "duckdb":
        if options:
            raise StoreURLError(f"{value}: a DuckDB store takes no options")
        return StoreURL("duckdb", path=Path(unquote(parts.netloc + parts.path)).expanduser())
    if scheme == "chdb":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise StoreURLError(f"{value}: give the chdb data folder, e.g. chdb:///var/agentoscope")
        return StoreURL(
            "chdb",
            path=Path(path).expanduser(),
            database=options.pop("database", DEFAULT_CLICKHOUSE_DATABASE),
            **_clickhouse_options(options, value),
        )
    if scheme in _CLICKHOUSE_SCHEMES:
        if not parts.hostname:
            raise StoreURLError(f"{value}: no host (clickhouse://user:password@host:8123/db)")
        database = parts.path.strip("/") or DEFAULT_CLICKHOUSE_DATABASE
        secure = scheme == "clickhouses"
        try:
            port = parts.port or (8443 if secure else 8123)
        except ValueError as error:
            raise StoreURLError(f"{value}: {error}") from None
        return StoreURL(
            "clickhouse",
            host=parts.hostname,
            port=port,
            secure=secure,
            user=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=_identifier(database, value),
            **_clickhouse_options(options, value),
        )
    raise StoreURLError(
        f"{value}: unknown store engine {scheme!r} (use a DuckDB file path, duckdb:///path, "
        "clickhouse://user:password@host:8123/db or chdb:///folder)"
    )


def _options(query: str, value: str) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    return options


def _clickhouse_options(options: dict[str, str], value: str) -> dict[str, Any]:
    unknown = set(options) - _OPTIONS
    if unknown:
        raise StoreURLError(
            f"{value}: unknown option(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_OPTIONS))})"
        )
    result: dict[str, Any] = {}
    if "table" in options:
        if options["table"] != OTEL_TRACES_TABLE and not options["table"].endswith(
            f".{OTEL_TRACES_TABLE}"
        ):
            raise StoreURLError(
                f"{value}: table={options['table']!r}: only the OpenTelemetry Collector's "
                f"{OTEL_TRACES_TABLE!r} table can be read in place of the store's own"
            )
        result["otel_table"] = _identifier(options["table"], value, dotted=True)
    if "retention_days" in options:
        try:
            days = int(options["retention_days"])
        except ValueError:
            days = 0
        if days <= 0:
            raise StoreURLError(f"{value}: retention_days must be a positive whole number")
        result["retention_days"] = days
    if "otel_table" in result and "retention_days" in result:
        # The Collector's table is read, never written or altered: its retention is the
        # exporter's `ttl` setting. Taking the option would mean ignoring it.
        raise StoreURLError(
            f"{value}: retention_days sets the TTL of the store's own tables; the Collector's "
            f"{OTEL_TRACES_TABLE} keeps its own (the ClickHouse exporter's ttl setting)"
        )
    return result


def _identifier(name: str, value: str, *, dotted: bool = False) -> str:
    parts = name.split(".") if dotted else [name]
    if not all(part and (part.replace("_", "a").isalnum()) for part in parts) or len(parts) > 2:
        raise StoreURLError(f"{value}: {name!r} is not a plain database or table name")
    return name


def store_url(explicit: str | os.PathLike[str] | None = None) -> StoreURL:
    """The store to use: `explicit` (the --store option), else $AGENTOSCOPE_STORE, else
    ./.agentoscope/traces.duckdb."""
    if explicit:
        return parse_store_url(explicit)
    from_env = os.environ.get(STORE_ENV, "").strip()
    if from_env:
        return parse_store_url(from_env)
    return StoreURL("duckdb", path=DEFAULT_STORE_PATH)


def open_store(
    url: str | os.PathLike[str] | StoreURL | None = None, *, read_only: bool = False
) -> Any:
    """The store engine for `url` (see `store_url`): a `SpanStore` (DuckDB) or a
    `ClickHouseStore`. Both answer the same queries, ingest and prune."""
    parsed = url if isinstance(url, StoreURL) else store_url(url)
    if parsed.is_clickhouse:
        from .clickhouse_store import ClickHouseStore

        return ClickHouseStore(parsed, read_only=read_only)
    from .span_store import SpanStore

    return SpanStore(parsed.path, read_only=read_only)
