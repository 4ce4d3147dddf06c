"""PostgREST (``/rest/v1``): insert, select, update, delete, mirroring the wire. A Qt-free zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

import httpx

from desktop.domain.errors import MetadataError
from desktop.services.credentials import Credentials
from desktop.services.wire import JsonObject, JsonValue, map_transport_errors, rest_error

__all__ = ["Filter", "Page", "RestApi", "eq", "gt", "gte", "in_", "is_null", "lt", "lte", "neq"]


REFUSED_JWT = frozenset({"PGRST301", "PGRST303"})


class Filter(NamedTuple):
    """One PostgREST filter: ``column=operator.value``."""

    column: str
    expression: str


def _literal(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def eq(column: str, value: object) -> Filter:
    return Filter(column, f"eq.{_literal(value)}")


def neq(column: str, value: object) -> Filter:
    return Filter(column, f"neq.{_literal(value)}")


def lt(column: str, value: object) -> Filter:
    return Filter(column, f"lt.{_literal(value)}")


def lte(column: str, value: object) -> Filter:
    return Filter(column, f"lte.{_literal(value)}")


def gt(column: str, value: object) -> Filter:
    return Filter(column, f"gt.{_literal(value)}")


def gte(column: str, value: object) -> Filter:
    return Filter(column, f"gte.{_literal(value)}")


def in_(column: str, values: Sequence[object]) -> Filter:
    quoted = ",".join(f'"{_literal(v)}"' if "," in _literal(v) else _literal(v) for v in values)
    return Filter(column, f"in.({quoted})")


def is_null(column: str) -> Filter:
    return Filter(column, "is.null")


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[JsonObject]
    total: int | None


def _rows(response: httpx.Response) -> list[JsonObject]:
    if not response.content:
        return []
    body = response.json()
    return [row for row in body if isinstance(row, dict)] if isinstance(body, list) else []


class RestApi:
    """One method per PostgREST verb; every error becomes a ``MetadataError``."""

    def __init__(self, client: httpx.AsyncClient, url: str, credentials: Credentials) -> None:
        self._client = client
        self._base = url.rstrip("/") + "/rest/v1"
        self._credentials = credentials

    async def _request(
        self,
        method: str,
        table: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        json_body: JsonValue = None,
        prefer: Sequence[str] = (),
    ) -> httpx.Response:
        headers = await self._credentials.headers()
        if prefer:
            headers["Prefer"] = ",".join(prefer)
        with map_transport_errors(MetadataError):
            response = await self._client.request(
                method,
                f"{self._base}/{table}",
                params=list(params),
                json=json_body,
                headers=headers,
            )
        if response.is_error:
            raise rest_error(response)
        return response

    async def insert(
        self,
        table: str,
        rows: Mapping[str, JsonValue] | Sequence[Mapping[str, JsonValue]],
        *,
        upsert: Literal["merge", "ignore"] | None = None,
        on_conflict: str | None = None,
        returning: bool = True,
    ) -> list[JsonObject]:
        """Insert one row or many (all or none); returns the rows as stored when ``returning``."""
        prefer = ["return=representation" if returning else "return=minimal"]
        if upsert is not None:
            prefer.append(f"resolution={upsert}-duplicates")
        params = [("on_conflict", on_conflict)] if on_conflict else []
        payload: JsonValue = (
            dict(rows) if isinstance(rows, Mapping) else [dict(row) for row in rows]
        )
        return _rows(
            await self._request("POST", table, params=params, json_body=payload, prefer=prefer)
        )

    async def select(
        self,
        table: str,
        *,
        columns: str = "*",
        filters: Sequence[Filter] = (),
        order: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        count: bool = False,
    ) -> Page:
        params: list[tuple[str, str]] = [("select", columns), *filters]
        if order:
            params.append(("order", order))
        if limit is not None:
            params.append(("limit", str(limit)))
        if offset is not None:
            params.append(("offset", str(offset)))
        response = await self._request(
            "GET", table, params=params, prefer=["count=exact"] if count else []
        )
        total = None
        if count:
            _, _, total_text = response.headers.get("content-range", "*/*").partition("/")
            total = int(total_text) if total_text.isdigit() else None
        return Page(_rows(response), total)

    async def update(
        self, table: str, values: Mapping[str, JsonValue], filters: Sequence[Filter]
    ) -> list[JsonObject]:
        response = await self._request(
            "PATCH",
            table,
            params=list(filters),
            json_body=dict(values),
            prefer=["return=representation"],
        )
        return _rows(response)

    async def delete(self, table: str, filters: Sequence[Filter]) -> list[JsonObject]:
        response = await self._request(
            "DELETE", table, params=list(filters), prefer=["return=representation"]
        )
        return _rows(response)
