"""PostgREST subset under ``/rest/v1``: insert (incl. upsert), select, update and delete.

Query strings, ``Prefer`` and ``Accept`` are read as PostgREST reads them, and errors go out as
``{code, message, details, hint}`` with PostgREST's status mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from desktop.server.access import bearer_token, context_of
from desktop.server.gateway import check_api_key
from desktop.server.responses import json_bytes
from desktop.server.rest_store import Filter, Order, Query, SingleObjectRequired
from desktop.server.tables import TABLES, PgError, Table
from desktop.server.tokens import JWT_EXPIRED, InvalidToken, Principal

__all__ = ["ROUTES", "RestError", "rest_error_response"]

SINGLE_OBJECT = "application/vnd.pgrst.object+json"
_RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns", "apikey"}
_OPERATORS = {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in"}
_STATUS = {
    "23505": 409, "23503": 409, "23502": 400, "22P02": 400, "22007": 400, "42703": 400,
    "PGRST100": 400, "PGRST102": 400, "PGRST204": 400, "PGRST116": 406, "PGRST205": 404,
    "PGRST103": 416, "PGRST301": 401, "PGRST303": 401,
}  # fmt: skip


class RestError(Exception):
    """An error PostgREST would answer; ``status`` None means "map from the code"."""

    def __init__(self, error: PgError, status: int | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status


async def rest_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RestError)
    error = exc.error
    status = exc.status or _STATUS.get(error.code, 400)
    headers = {"proxy-status": f"PostgREST; error={error.code}"}
    if status == 401:
        headers["www-authenticate"] = (
            f'Bearer error="invalid_token", error_description="{error.message}"'
            if error.code.startswith("PGRST3")
            else "Bearer"
        )
    body = {
        "code": error.code,
        "details": error.details,
        "hint": error.hint,
        "message": error.message,
    }
    return Response(json_bytes(body), status, headers, media_type="application/json; charset=utf-8")


def _caller(request: Request) -> Principal:
    api_key = check_api_key(request)
    token = bearer_token(request) or api_key
    try:
        return context_of(request).signer.principal(token)
    except InvalidToken as exc:
        if str(exc) == JWT_EXPIRED:
            raise RestError(PgError("PGRST303", "JWT expired")) from exc
        raise RestError(PgError("PGRST301", f"JWSError {exc}")) from exc


def _table(request: Request) -> Table:
    name = request.path_params["table"]
    table = TABLES.get(name)
    if table is None:
        raise RestError(
            PgError("PGRST205", f"Could not find the table 'public.{name}' in the schema cache")
        )
    return table


def _prefer(request: Request) -> dict[str, str]:
    prefer: dict[str, str] = {}
    for header in request.headers.getlist("prefer"):
        for item in header.split(","):
            key, _, value = item.strip().partition("=")
            if key:
                prefer[key.strip()] = value.strip()
    return prefer


def _split_list(raw: str) -> list[str]:
    """Split ``a,"b,c",d`` on commas outside double quotes."""
    items, current, quoted = [], "", False
    for char in raw:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [item.strip() for item in items if item.strip() != ""]


def _parse_filter(column: str, raw: str) -> Filter:
    negated = raw.startswith("not.")
    body = raw[4:] if negated else raw
    op, dot, value = body.partition(".")
    if not dot or op not in _OPERATORS:
        raise RestError(
            PgError(
                "PGRST100",
                f'"failed to parse filter ({raw})" (line 1, column {len(op) + 1})',
                f'unexpected "{op[:1]}" expecting operator',
            )
        )
    if op == "is":
        values = {"null": None, "not_null": "not_null", "true": True, "false": False}
        if value.lower() not in values:
            raise RestError(
                PgError("PGRST100", f'"failed to parse filter (is.{value})" (line 1, column 4)')
            )
        return Filter(column, "is", values[value.lower()], negated)
    if op == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise RestError(
                PgError("PGRST100", f'"failed to parse filter (in.{value})" (line 1, column 4)')
            )
        return Filter(column, "in", _split_list(value[1:-1]), negated)
    return Filter(column, op, value, negated)  # type: ignore[arg-type]  # op checked above


def _parse_order(raw: str) -> tuple[Order, ...]:
    orders = []
    for term in raw.split(","):
        parts = term.strip().split(".")
        column, modifiers = parts[0], parts[1:]
        descending = "desc" in modifiers
        nulls_first = (
            True if "nullsfirst" in modifiers else False if "nullslast" in modifiers else None
        )
        unknown = set(modifiers) - {"asc", "desc", "nullsfirst", "nullslast"}
        if unknown or not column:
            raise RestError(
                PgError("PGRST100", f'"failed to parse order ({term})" (line 1, column 1)')
            )
        orders.append(Order(column, descending, nulls_first))
    return tuple(orders)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise RestError(PgError("PGRST100", f'"failed to parse {name} ({raw})" (line 1, column 1)'))
    return int(raw)


def _query(request: Request, table: Table) -> Query:
    filters = tuple(
        _parse_filter(key, value)
        for key, value in request.query_params.multi_items()
        if key not in _RESERVED
    )
    limit = _int_param(request, "limit")
    offset = _int_param(request, "offset") or 0
    range_header = request.headers.get("range")
    if range_header and re.fullmatch(r"\d+-\d*", range_header.strip()):
        first, _, last = range_header.strip().partition("-")
        offset = int(first)
        if last:
            limit = int(last) - offset + 1
    order = _parse_order(request.query_params["order"]) if "order" in request.query_params else ()
    return Query(table, filters, order, limit, offset)


def _selected(request: Request, table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raw = request.query_params.get("select", "*")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if names == ["*"] or not names:
        return rows
    for name in names:
        if name not in table.by_name:
            raise RestError(PgError("42703", f"column {table.name}.{name} does not exist"))
    return [{name: row[name] for name in names} for row in rows]


def _wants_single(request: Request) -> bool:
    return SINGLE_OBJECT in request.headers.get("accept", "")


def _json_response(
    request: Request, rows: list[dict[str, Any]], status: int, headers: dict[str, str]
) -> Response:
    if _wants_single(request):
        return Response(
            json_bytes(rows[0]), status, headers, media_type=f"{SINGLE_OBJECT}; charset=utf-8"
        )
    return Response(json_bytes(rows), status, headers, media_type="application/json; charset=utf-8")


def _single_error(rows: int) -> RestError:
    return RestError(
        PgError(
            "PGRST116",
            "Cannot coerce the result to a single JSON object",
            f"The result contains {rows} rows",
        )
    )


async def _body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise RestError(PgError("PGRST102", "Empty or invalid json")) from exc


async def select(request: Request) -> Response:
    caller = _caller(request)
    table = _table(request)
    query = _query(request, table)
    prefer = _prefer(request)
    count = prefer.get("count") in {"exact", "planned", "estimated"}
    try:
        rows, total = context_of(request).rest.select(caller, query, count=count)
    except PgError as exc:
        raise RestError(exc) from exc
    rows = _selected(request, table, rows)
    if total is not None and query.offset > total and query.offset > 0:
        raise RestError(
            PgError(
                "PGRST103",
                "Requested range not satisfiable",
                f"An offset of {query.offset} was requested, but there are only {total} rows.",
            )
        )
    if _wants_single(request) and len(rows) != 1:
        raise _single_error(len(rows))
    total_text = str(total) if total is not None else "*"
    content_range = (
        f"{query.offset}-{query.offset + len(rows) - 1}/{total_text}" if rows else f"*/{total_text}"
    )
    status = 206 if total is not None and len(rows) < total else 200
    headers = {"content-range": content_range}
    if count:
        headers["preference-applied"] = f"count={prefer['count']}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return _json_response(request, rows, status, headers)


def _mutation_response(
    request: Request, rows: list[dict[str, Any]], table: Table, *, created: bool
) -> Response:
    prefer = _prefer(request)
    applied = [
        f"{key}={prefer[key]}" for key in ("return", "resolution", "missing") if key in prefer
    ]
    headers = {"content-range": f"0-{len(rows) - 1}/*" if rows and not created else "*/*"}
    if applied:
        headers["preference-applied"] = ", ".join(applied)
    if prefer.get("return") == "representation":
        return _json_response(
            request, _selected(request, table, rows), 201 if created else 200, headers
        )
    if prefer.get("return") == "headers-only" and created and rows:
        headers["location"] = f"/{table.name}?id=eq.{rows[0]['id']}"
    return Response(status_code=201 if created else 204, headers=headers)


async def insert(request: Request) -> Response:
    caller = _caller(request)
    table = _table(request)
    body = await _body(request)
    payload = body if isinstance(body, list) else [body]
    if not all(isinstance(row, dict) for row in payload):
        raise RestError(PgError("PGRST102", "All object keys must match"))
    columns_param = request.query_params.get("columns")
    columns = (
        [name.strip().strip('"') for name in columns_param.split(",")] if columns_param else []
    )
    if not columns and len({frozenset(row) for row in payload}) > 1:
        raise RestError(PgError("PGRST102", "All object keys must match"))
    prefer = _prefer(request)
    resolution: Literal["merge", "ignore"] | None = {
        "merge-duplicates": "merge",
        "ignore-duplicates": "ignore",
    }.get(prefer.get("resolution", ""))  # type: ignore[assignment]  # values are literals
    with _statement_errors(caller):
        rows = context_of(request).rest.insert(
            caller,
            table,
            payload,
            columns=columns,
            missing_default=prefer.get("missing") == "default",
            resolution=resolution,
            on_conflict=request.query_params.get("on_conflict", "id"),
            expect_single=_wants_single(request) and prefer.get("return") == "representation",
        )
    return _mutation_response(request, rows, table, created=True)


async def update(request: Request) -> Response:
    caller = _caller(request)
    table = _table(request)
    body = await _body(request)
    if not isinstance(body, dict):
        raise RestError(PgError("PGRST102", "Empty or invalid json"))
    prefer = _prefer(request)
    with _statement_errors(caller):
        rows = context_of(request).rest.update(
            caller,
            _query(request, table),
            body,
            expect_single=_wants_single(request) and prefer.get("return") == "representation",
        )
    return _mutation_response(request, rows, table, created=False)


async def delete(request: Request) -> Response:
    caller = _caller(request)
    table = _table(request)
    prefer = _prefer(request)
    with _statement_errors(caller):
        rows = context_of(request).rest.delete(
            caller,
            _query(request, table),
            expect_single=_wants_single(request) and prefer.get("return") == "representation",
        )
    return _mutation_response(request, rows, table, created=False)


@contextmanager
def _statement_errors(caller: Principal) -> Iterator[None]:
    """A statement's PostgreSQL errors as PostgREST answers them."""
    try:
        yield
    except PgError as exc:
        raise _with_role_status(exc, caller) from exc
    except SingleObjectRequired as exc:
        raise _single_error(exc.rows) from exc


def _with_role_status(error: PgError, caller: Principal) -> RestError:
    """42501 is 401 for anon and 403 for a signed-in role."""
    if error.code == "42501":
        return RestError(error, 401 if not (caller.is_user or caller.is_service) else 403)
    return RestError(error)


ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/{table}", select, ["GET", "HEAD"]),
    ("/{table}", insert, ["POST"]),
    ("/{table}", update, ["PATCH"]),
    ("/{table}", delete, ["DELETE"]),
]
