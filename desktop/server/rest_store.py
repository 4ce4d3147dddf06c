"""Row storage for the PostgREST subset: filtered, ordered, row-level-secured SQL on SQLite.

RLS is the typical Supabase policy: ``service_role`` bypasses it, an authenticated user sees and
changes only rows whose ``owner_id`` is their ``auth.uid()``, and ``anon`` sees nothing.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from desktop.server.database import SqliteStore
from desktop.server.tables import TABLES, PgError, Table, pg_now
from desktop.server.tokens import Principal

__all__ = ["Filter", "Order", "Query", "RestStore", "SingleObjectRequired"]

Operator = Literal["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in"]
_SQL_OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class SingleObjectRequired(Exception):  # noqa: N818 - PostgREST's PGRST116
    """The request wanted exactly one row (``vnd.pgrst.object``) and the statement had ``rows``."""

    def __init__(self, rows: int) -> None:
        super().__init__(rows)
        self.rows = rows


@dataclass(frozen=True, slots=True)
class Filter:
    column: str
    op: Operator
    value: Any  # str, list[str] for ``in``, or None/True/False for ``is``
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Order:
    column: str
    descending: bool = False
    nulls_first: bool | None = None


@dataclass(frozen=True, slots=True)
class Query:
    table: Table
    filters: tuple[Filter, ...] = ()
    order: tuple[Order, ...] = ()
    limit: int | None = None
    offset: int = 0


def _quote(name: str) -> str:
    return f'"{name}"'


class RestStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, ";".join(table.ddl() for table in TABLES.values()))

    # WHERE clauses

    def _where(self, query: Query, caller: Principal) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if not caller.is_service:
            if caller.is_user:
                clauses.append(f"{_quote(query.table.owner_column)} = ?")
                params.append(caller.sub)
            else:
                clauses.append("0")
        for item in query.filters:
            clause, values = self._filter_sql(query.table, item)
            clauses.append(f"NOT ({clause})" if item.negated else clause)
            params += values
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _filter_sql(self, table: Table, item: Filter) -> tuple[str, list[Any]]:
        column = _column(table, item.column)
        name = _quote(item.column)
        if item.op == "is":
            if item.value is None:
                return f"{name} IS NULL", []
            if item.value == "not_null":
                return f"{name} IS NOT NULL", []
            return f"{name} = ?", [1 if item.value else 0]
        if item.op == "in":
            values = [column.coerce(value) for value in item.value]
            return f"{name} IN ({','.join('?' * len(values))})" if values else "0", values
        if item.op == "like":
            return f"{name} GLOB ?", [str(item.value).replace("%", "*").replace("_", "?")]
        if item.op == "ilike":
            return f"LOWER({name}) LIKE LOWER(?)", [str(item.value).replace("*", "%")]
        return f"{name} {_SQL_OPS[item.op]} ?", [column.coerce(item.value)]

    @staticmethod
    def _order_sql(query: Query) -> str:
        terms = []
        for order in query.order:
            column = _column(query.table, order.column)
            nulls_first = order.descending if order.nulls_first is None else order.nulls_first
            direction = "DESC" if order.descending else "ASC"
            if (
                column.nullable
            ):  # PostgreSQL's NULLS LAST/FIRST; pointless (and unindexable) otherwise
                terms.append(f"({_quote(order.column)} IS NULL) {'DESC' if nulls_first else 'ASC'}")
            terms.append(f"{_quote(order.column)} {direction}")
        return (" ORDER BY " + ", ".join(terms)) if terms else ""

    # Statements

    def select(
        self, caller: Principal, query: Query, *, count: bool
    ) -> tuple[list[dict[str, Any]], int | None]:
        where, params = self._where(query, caller)
        sql = f"SELECT * FROM {query.table.name}{where}{self._order_sql(query)} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._conn.execute(
                sql, [*params, query.limit if query.limit is not None else -1, query.offset]
            ).fetchall()
            total = (
                self._conn.execute(
                    f"SELECT count(*) FROM {query.table.name}{where}", params
                ).fetchone()[0]
                if count
                else None
            )
        return [_row(query.table, row) for row in rows], total

    def insert(
        self,
        caller: Principal,
        table: Table,
        payload: list[dict[str, Any]],
        *,
        columns: list[str],
        missing_default: bool,
        resolution: Literal["merge", "ignore"] | None,
        on_conflict: str,
        expect_single: bool,
    ) -> list[dict[str, Any]]:
        """Insert all rows or none. ``columns`` is the explicit column list (``?columns=``)."""
        for name in columns:
            if name not in table.by_name:
                raise PgError(
                    "PGRST204",
                    f"Could not find the '{name}' column of '{table.name}' in the schema cache",
                )
        _column(table, on_conflict)
        written: list[dict[str, Any]] = []
        with self._tx() as db:
            for given in payload:
                row = self._complete_row(caller, table, given, columns, missing_default)
                self._check_row(caller, table, row)
                existing = db.execute(
                    f"SELECT * FROM {table.name} WHERE {_quote(on_conflict)} = ?",
                    (row[on_conflict],),
                ).fetchone()
                if existing is not None and resolution == "ignore":
                    continue
                if existing is not None and resolution == "merge":
                    if not self._visible(caller, table, dict(existing)):
                        raise _rls_error(table, using=True)
                    changes = {name: row[name] for name in given if name in table.by_name}
                    written.append(self._update_row(db, caller, table, dict(existing), changes))
                    continue
                self._check_unique_and_fk(db, table, row, exclude_id=None)
                db.execute(
                    f"INSERT INTO {table.name} ({','.join(map(_quote, table.column_names))})"
                    f" VALUES ({','.join('?' * len(table.columns))})",
                    [row[name] for name in table.column_names],
                )
                written.append(row)
            if expect_single and len(written) != 1:
                raise SingleObjectRequired(len(written))
        return [_row(table, row) for row in written]

    def update(
        self, caller: Principal, query: Query, changes: dict[str, Any], *, expect_single: bool
    ) -> list[dict[str, Any]]:
        table = query.table
        for name in changes:
            if name not in table.by_name:
                raise PgError(
                    "PGRST204",
                    f"Could not find the '{name}' column of '{table.name}' in the schema cache",
                )
        coerced = {name: table.by_name[name].coerce(value) for name, value in changes.items()}
        where, params = self._where(query, caller)
        updated: list[dict[str, Any]] = []
        with self._tx() as db:
            for existing in db.execute(f"SELECT * FROM {table.name}{where}", params).fetchall():
                updated.append(self._update_row(db, caller, table, dict(existing), coerced))
            if expect_single and len(updated) != 1:
                raise SingleObjectRequired(len(updated))
        return [_row(table, row) for row in updated]

    def delete(
        self, caller: Principal, query: Query, *, expect_single: bool
    ) -> list[dict[str, Any]]:
        table = query.table
        where, params = self._where(query, caller)
        with self._tx() as db:
            rows = db.execute(f"DELETE FROM {table.name}{where} RETURNING *", params).fetchall()
            if expect_single and len(rows) != 1:
                raise SingleObjectRequired(len(rows))
        return [_row(table, row) for row in rows]

    # Row checks

    def _complete_row(
        self,
        caller: Principal,
        table: Table,
        given: dict[str, Any],
        columns: list[str],
        missing_default: bool,
    ) -> dict[str, Any]:
        for name in given:
            if name not in table.by_name:
                raise PgError(
                    "PGRST204",
                    f"Could not find the '{name}' column of '{table.name}' in the schema cache",
                )
        row: dict[str, Any] = {}
        for column in table.columns:
            explicit = column.name in given and (not columns or column.name in columns)
            listed_but_missing = (
                bool(columns) and column.name in columns and column.name not in given
            )
            if explicit:
                row[column.name] = column.coerce(given[column.name])
            elif listed_but_missing and not missing_default:
                row[column.name] = None
            else:
                row[column.name] = _default(column.default, caller)
            if row[column.name] is None and not column.nullable:
                raise PgError(
                    "23502",
                    f'null value in column "{column.name}" of relation "{table.name}" violates'
                    " not-null constraint",
                )
        return row

    @staticmethod
    def _visible(caller: Principal, table: Table, row: dict[str, Any]) -> bool:
        return caller.is_service or (caller.is_user and row.get(table.owner_column) == caller.sub)

    def _check_row(self, caller: Principal, table: Table, row: dict[str, Any]) -> None:
        """RLS ``WITH CHECK``: the new row must belong to the caller."""
        if not self._visible(caller, table, row):
            raise _rls_error(table, using=False)

    def _update_row(
        self,
        db: sqlite3.Connection,
        caller: Principal,
        table: Table,
        existing: dict[str, Any],
        changes: dict[str, Any],
    ) -> dict[str, Any]:
        row = existing | changes
        for column in table.columns:
            if row[column.name] is None and not column.nullable:
                raise PgError(
                    "23502",
                    f'null value in column "{column.name}" of relation "{table.name}" violates'
                    " not-null constraint",
                )
        self._check_row(caller, table, row)
        self._check_unique_and_fk(db, table, row, exclude_id=existing["id"])
        assignments = ", ".join(f"{_quote(name)} = ?" for name in table.column_names)
        db.execute(
            f"UPDATE {table.name} SET {assignments} WHERE id = ?",
            [row[name] for name in table.column_names] + [existing["id"]],
        )
        return row

    @staticmethod
    def _check_unique_and_fk(
        db: sqlite3.Connection, table: Table, row: dict[str, Any], exclude_id: str | None
    ) -> None:
        for column, constraint in table.unique:
            clash = db.execute(
                f"SELECT 1 FROM {table.name} WHERE {_quote(column)} = ? AND id IS NOT ?",
                (row[column], exclude_id),
            ).fetchone()
            if clash:
                raise PgError(
                    "23505",
                    f'duplicate key value violates unique constraint "{constraint}"',
                    f"Key ({column})=({row[column]}) already exists.",
                )
        for fk in table.foreign_keys:
            if row[fk.column] is None:
                continue
            if (
                db.execute(f"SELECT 1 FROM {fk.table} WHERE id = ?", (row[fk.column],)).fetchone()
                is None
            ):
                raise PgError(
                    "23503",
                    f'insert or update on table "{table.name}" violates foreign key constraint'
                    f' "{fk.constraint}"',
                    f'Key ({fk.column})=({row[fk.column]}) is not present in table "{fk.table}".',
                )


def _column(table: Table, name: str) -> Any:
    column = table.by_name.get(name)
    if column is None:
        raise PgError("42703", f"column {table.name}.{name} does not exist")
    return column


def _default(default: str | None, caller: Principal) -> Any:
    if default == "gen_random_uuid":
        return str(uuid.uuid4())
    if default == "now":
        return pg_now()
    if default == "auth_uid":
        return caller.sub if caller.is_user else None
    return None


def _rls_error(table: Table, *, using: bool) -> PgError:
    kind = " (USING expression)" if using else ""
    return PgError(
        "42501", f'new row violates row-level security policy{kind} for table "{table.name}"'
    )


def _row(table: Table, row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in table.column_names}
