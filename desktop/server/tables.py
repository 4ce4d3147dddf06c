"""The project's tables (``documents``, ``attachments``) and their SQL types, in SQLite.

PostgreSQL's behaviour that clients see — UUID and timestamp parsing, defaults, not-null, unique
and foreign-key errors with their SQLSTATE codes and messages — is reproduced here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["TABLES", "Column", "PgError", "Table", "pg_now"]

SqlType = Literal["uuid", "text", "bigint", "timestamptz"]
Default = Literal["gen_random_uuid", "now", "auth_uid"]


class PgError(Exception):
    """A PostgreSQL error: SQLSTATE code, message, details and hint as PostgREST forwards them."""

    def __init__(
        self, code: str, message: str, details: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint


def pg_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = True
    default: Default | None = None

    def coerce(self, value: Any) -> Any:
        """The value as stored, or a PgError as PostgreSQL would raise for bad input."""
        if value is None:
            return None
        if self.type == "uuid":
            try:
                return str(uuid.UUID(str(value)))
            except ValueError as exc:
                raise PgError("22P02", f'invalid input syntax for type uuid: "{value}"') from exc
        if self.type == "bigint":
            if isinstance(value, bool):
                raise PgError("22P02", f'invalid input syntax for type bigint: "{value}"')
            try:
                return (
                    int(value)
                    if not isinstance(value, float) or value.is_integer()
                    else _bad_int(value)
                )
            except (TypeError, ValueError) as exc:
                raise PgError("22P02", f'invalid input syntax for type bigint: "{value}"') from exc
        if self.type == "timestamptz":
            try:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError as exc:
                raise PgError(
                    "22007", f'invalid input syntax for type timestamp with time zone: "{value}"'
                ) from exc
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat(timespec="microseconds")
        if isinstance(value, dict | list):
            raise PgError("22P02", f'invalid input syntax for type text: "{value}"')
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def _bad_int(value: float) -> int:
    raise ValueError(value)


@dataclass(frozen=True, slots=True)
class ForeignKey:
    column: str
    table: str
    constraint: str


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, str], ...] = ()  # (column, constraint name), primary key first
    foreign_keys: tuple[ForeignKey, ...] = ()
    owner_column: str = "owner_id"
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {column.name: column for column in self.columns})

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def ddl(self) -> str:
        sql_types = {"uuid": "TEXT", "text": "TEXT", "bigint": "INTEGER", "timestamptz": "TEXT"}
        parts = [f'"{column.name}" {sql_types[column.type]}' for column in self.columns]
        primary = self.unique[0][0]
        parts.append(f'PRIMARY KEY ("{primary}")')
        parts += [f'UNIQUE ("{column}")' for column, _ in self.unique[1:]]
        parts += [
            f'FOREIGN KEY ("{fk.column}") REFERENCES {fk.table}(id) ON DELETE CASCADE'
            for fk in self.foreign_keys
        ]
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({', '.join(parts)})"


DOCUMENTS = Table(
    name="documents",
    columns=(
        Column("id", "uuid", nullable=False, default="gen_random_uuid"),
        Column("owner_id", "uuid", default="auth_uid"),
        Column("title", "text", nullable=False),
        Column("created_at", "timestamptz", nullable=False, default="now"),
    ),
    unique=(("id", "documents_pkey"),),
)

ATTACHMENTS = Table(
    name="attachments",
    columns=(
        Column("id", "uuid", nullable=False, default="gen_random_uuid"),
        Column("document_id", "uuid", nullable=False),
        Column("owner_id", "uuid", default="auth_uid"),
        Column("bucket", "text", nullable=False),
        Column("object_path", "text", nullable=False),
        Column("file_name", "text", nullable=False),
        Column("content_type", "text"),
        Column("size_bytes", "bigint", nullable=False),
        Column("sha256", "text"),
        Column("created_at", "timestamptz", nullable=False, default="now"),
    ),
    unique=(("id", "attachments_pkey"), ("object_path", "attachments_object_path_key")),
    foreign_keys=(ForeignKey("document_id", "documents", "attachments_document_id_fkey"),),
)

TABLES: dict[str, Table] = {table.name: table for table in (DOCUMENTS, ATTACHMENTS)}
