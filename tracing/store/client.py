"""`StoreClient`: a reader that asks `agentoscope serve` instead of opening the store file.

    reader = StoreClient("http://127.0.0.1:4318", token=None)
    frame = reader.query("SELECT span_type, count(*) FROM spans GROUP BY 1")

Same semantics as `SpanStore(read_only=True).query`: read-only SQL, values as parameters, a
pandas DataFrame back with the same column types (results travel as an Arrow IPC stream). SQL is
in the dialect of the server's store: `reader.dialect` ("duckdb" or "clickhouse", from the
server's health) is what the store's and the dashboard's queries are chosen by, as for a store
opened directly.
"""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from typing import Any

import httpx
import orjson

ARROW_STREAM = "application/vnd.apache.arrow.stream"
SERVER_ENV = "AGENTOSCOPE_SERVER"
TOKEN_ENV = "AGENTOSCOPE_TOKEN"


def encode_param(value: Any) -> Any:
    """JSON has no time types: datetimes and dates travel tagged, and the server turns them back
    into the same Python values, so parameters mean what they mean with `SpanStore.query`."""
    if isinstance(value, datetime):
        return {"$type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"$type": "date", "value": value.isoformat()}
    raise TypeError(f"query parameter of type {type(value).__name__} cannot be sent: {value!r}")


def decode_params(params: Any) -> Any:
    """The inverse of `encode_param`, on the server side."""
    if isinstance(params, list):
        return [_decode(value) for value in params]
    if isinstance(params, dict):
        return {key: _decode(value) for key, value in params.items()}
    return params


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$type", "value"}:
        if value["$type"] == "datetime":
            return datetime.fromisoformat(value["value"])
        if value["$type"] == "date":
            return date.fromisoformat(value["value"])
    return value


class StoreClientError(RuntimeError):
    """The server refused the query or could not be reached; the message says which."""


class StoreClient:
    """A read-only store reader over HTTP. `url` is the server's base URL (default: env
    `AGENTOSCOPE_SERVER`); `token` its bearer token (default: env `AGENTOSCOPE_TOKEN`)."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 60.0):
        url = url or os.environ.get(SERVER_ENV)
        if not url:
            raise ValueError(f"no server URL: pass one or set {SERVER_ENV}")
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self._dialect: str | None = None

    @property
    def dialect(self) -> str:
        """The SQL dialect of the server's store ("duckdb" or "clickhouse"), asked once. A server
        that does not say (an older one) stores in DuckDB."""
        if self._dialect is None:
            dialect = self.health().get("dialect", "duckdb")
            if dialect not in ("duckdb", "clickhouse"):
                raise StoreClientError(f"{self.url}: unknown store dialect {dialect!r}")
            self._dialect = str(dialect)
        return self._dialect

    def query(self, sql: str, params: Any = None) -> Any:
        """Run read-only SQL on the server; a pandas DataFrame."""
        import pyarrow as pa

        if params is not None and not isinstance(params, list | dict):
            params = list(params)
        body = orjson.dumps(
            {"sql": sql, "params": params},
            default=encode_param,
            option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME,
        )
        headers = {"Accept": ARROW_STREAM, "Content-Type": "application/json"}
        response = self._send("POST", "/v1/query", content=body, headers=headers)
        if response.status_code != 200:
            raise StoreClientError(f"{self.url}: {response.status_code}: {_error_text(response)}")
        return pa.ipc.open_stream(io.BytesIO(response.content)).read_pandas()

    def health(self) -> dict[str, Any]:
        """The server's health document (`status`, counts); raises if it cannot be reached."""
        response = self._send("GET", "/health")
        if response.status_code != 200:
            raise StoreClientError(f"{self.url}/health: {response.status_code}")
        return dict(response.json())

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **options)
        except httpx.HTTPError as error:
            raise StoreClientError(
                f"cannot reach agentoscope serve at {self.url}: {error}"
            ) from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return response.text[:500]
