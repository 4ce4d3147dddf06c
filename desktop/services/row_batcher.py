"""Registers uploads' metadata rows, coalescing the rows of uploads that finish together into one
bulk insert. A Qt-free zone.

One insert is in flight at a time; the rows that arrive meanwhile go together in the next request
(group commit). With a ``linger``, each request also waits that long for the rows of uploads about
to finish, as Kafka's producers do; without one, a row arriving alone is sent at once. Each upload
still learns its own outcome: when a bulk insert is refused, its rows are inserted one by one, so
only the rows that fail on their own are rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from desktop.domain.errors import MetadataError
from desktop.services.rest_api import RestApi, eq
from desktop.services.retry import Sleep, transient_retrying
from desktop.services.wire import JsonObject

__all__ = ["CONCURRENT_LINGER_S", "MAX_BATCH_ROWS", "RowBatcher"]

# A bound on one request's size; a burst of finished uploads is sent as several requests.
MAX_BATCH_ROWS = 100
# Long enough for a few small uploads to finish, short enough to go unnoticed in the window.
CONCURRENT_LINGER_S = 0.02

UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True, slots=True)
class _Pending:
    row: JsonObject
    outcome: asyncio.Future[None]


class RowBatcher:
    """``insert(row)`` returns once that row is stored, or raises its own ``MetadataError``."""

    def __init__(
        self,
        rest: RestApi,
        table: str,
        *,
        sleep: Sleep = asyncio.sleep,
        max_rows: int = MAX_BATCH_ROWS,
        linger_s: float = 0.0,
    ) -> None:
        self._rest = rest
        self._table = table
        self._sleep = sleep  # for retry back-off
        self._max_rows = max_rows
        self._linger_s = linger_s
        self._queue: list[_Pending] = []
        self._sender: asyncio.Task[None] | None = None

    async def insert(self, row: JsonObject) -> None:
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(row, outcome))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(
                self._send_queued(), name="row-batcher"
            )
        await outcome

    async def wait_idle(self) -> None:
        """Wait until every queued row has been sent (and answered)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.wait([self._sender])

    async def aclose(self) -> None:
        """Stop sending; uploads still waiting are cancelled (their journal entries remain)."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        for pending in self._queue:
            pending.outcome.cancel()
        self._queue.clear()

    async def _send_queued(self) -> None:
        while self._queue:
            if self._linger_s:
                await asyncio.sleep(self._linger_s)
            batch = self._queue[: self._max_rows]
            del self._queue[: self._max_rows]
            try:
                await self._send(batch)
            except BaseException as error:
                # Whatever went wrong, no upload may be left waiting for an answer.
                for pending in batch:
                    if not pending.outcome.done():
                        pending.outcome.set_exception(error)
                if not isinstance(error, Exception):
                    raise

    async def _send(self, batch: Sequence[_Pending]) -> None:
        if len(batch) == 1:
            await _settle(batch[0], self._insert_one(batch[0].row))
            return
        rows = [pending.row for pending in batch]
        try:
            await transient_retrying(self._sleep)(
                self._rest.insert, self._table, rows, returning=False
            )
        except MetadataError as error:
            if error.is_transient:  # the server kept failing: every row shares the outcome
                for pending in batch:
                    _resolve(pending, error)
                return
            # Refused as a whole (one bad row, or rows of a lost answer already stored):
            # each row on its own tells which uploads really failed.
            await asyncio.gather(
                *(_settle(pending, self._insert_one(pending.row)) for pending in batch)
            )
            return
        for pending in batch:
            _resolve(pending, None)

    async def _insert_one(self, row: JsonObject) -> None:
        async def once() -> None:
            try:
                await self._rest.insert(self._table, row, returning=False)
            except MetadataError as error:
                # A retry after a lost answer meets our own row: check it is ours and carry on.
                if error.code != UNIQUE_VIOLATION or not await self._is_stored(row):
                    raise

        await transient_retrying(self._sleep)(once)

    async def _is_stored(self, row: JsonObject) -> bool:
        page = await self._rest.select(self._table, filters=[eq("id", row["id"])])
        return any(
            all(existing.get(column) == value for column, value in row.items())
            for existing in page.rows
        )


async def _settle(pending: _Pending, insert: Awaitable[None]) -> None:
    try:
        await insert
    except MetadataError as error:
        _resolve(pending, error)
    else:
        _resolve(pending, None)


def _resolve(pending: _Pending, error: MetadataError | None) -> None:
    if pending.outcome.done():  # its upload was cancelled meanwhile
        return
    if error is None:
        pending.outcome.set_result(None)
    else:
        pending.outcome.set_exception(error)
