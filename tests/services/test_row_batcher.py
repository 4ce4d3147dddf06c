"""Row registration: rows arriving together go as one bulk insert, yet each caller gets its own
outcome. On the real embedded server; requests are counted by a pass-through fault rule."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from desktop.domain.errors import MetadataError
from desktop.services.row_batcher import RowBatcher
from desktop.services.wire import JsonObject
from tests.helpers.fakes import yield_to_loop
from tests.helpers.waiting import wait_until
from tests.services.conftest import BUCKET, Env

INSERTS = "/rest/v1/attachments"


def row(env: Env, name: str, document_id: str | None = None) -> JsonObject:
    upload_id = str(uuid.uuid4())
    document = document_id or str(env.document_id)
    return {
        "id": upload_id,
        "document_id": document,
        "bucket": BUCKET,
        "object_path": f"{document}/{upload_id}/{name}",
        "file_name": name,
        "size_bytes": 1,
        "sha256": "0" * 64,
    }


def count_inserts(env: Env) -> str:
    """A rule that fails nothing and counts the insert requests reaching the server."""
    with env.server.admin() as admin:
        response = admin.post(
            "/admin/v1/faults",
            json={"method": "POST", "path": INSERTS, "times": None, "status": None},
        )
    return str(response.json()[0]["id"])


def faults(env: Env) -> list[dict]:
    with env.server.admin() as admin:
        return list(admin.get("/admin/v1/faults").json())


def inserts_counted(env: Env, rule_id: str) -> int:
    [rule] = [r for r in faults(env) if r["id"] == rule_id]
    return int(rule["matched"])


async def insert_all(batcher: RowBatcher, rows: list[JsonObject]) -> list[BaseException | None]:
    return await asyncio.gather(*(batcher.insert(r) for r in rows), return_exceptions=True)


async def stored_ids(env: Env) -> set[str]:
    return {str(r["id"]) for r in await env.rows()}


async def test_rows_arriving_together_are_one_request(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    rows = [row(env, f"f{n}.bin") for n in range(5)]
    counter = count_inserts(env)
    assert await insert_all(batcher, rows) == [None] * 5
    assert await stored_ids(env) == {str(r["id"]) for r in rows}
    assert inserts_counted(env, counter) == 1


async def test_a_row_arriving_alone_is_sent_at_once_as_a_single_object(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    counter = count_inserts(env)
    first, second = row(env, "a.bin"), row(env, "b.bin")
    await batcher.insert(first)
    await batcher.insert(second)
    assert inserts_counted(env, counter) == 2
    assert await stored_ids(env) == {first["id"], second["id"]}


async def test_with_a_linger_a_row_arriving_soon_after_joins_the_first(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep, linger_s=0.2)
    counter = count_inserts(env)
    first = asyncio.ensure_future(batcher.insert(row(env, "a.bin")))
    await yield_to_loop()  # the sender has started, and lingers
    await batcher.insert(row(env, "b.bin"))
    await first
    assert inserts_counted(env, counter) == 1
    assert env.sleep.delays == []  # lingering is not a back-off


async def test_the_batch_size_is_bounded(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep, max_rows=2)
    counter = count_inserts(env)
    assert await insert_all(batcher, [row(env, f"f{n}.bin") for n in range(5)]) == [None] * 5
    assert inserts_counted(env, counter) == 3  # 2 + 2 + 1


async def test_one_bad_row_fails_alone_and_the_others_are_stored(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    good = [row(env, "a.bin"), row(env, "b.bin")]
    orphan = row(env, "c.bin", document_id=str(uuid.uuid4()))  # no such document: 23503
    counter = count_inserts(env)
    outcomes = await insert_all(batcher, [good[0], orphan, good[1]])
    assert (outcomes[0], outcomes[2]) == (None, None)
    error = outcomes[1]
    assert isinstance(error, MetadataError)
    assert (error.status, error.code) == (409, "23503")
    assert await stored_ids(env) == {good[0]["id"], good[1]["id"]}
    assert inserts_counted(env, counter) == 1 + 3  # the refused bulk, then each row alone


async def test_a_transient_failure_retries_the_batch_as_a_whole(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    env.fault(method="POST", path=INSERTS, times=1, status=503, body="unavailable")
    counter = count_inserts(env)
    rows = [row(env, f"f{n}.bin") for n in range(3)]
    assert await insert_all(batcher, rows) == [None] * 3
    assert env.sleep.delays == [0.5]
    assert inserts_counted(env, counter) == 1  # the retry; the first attempt met the 503 rule
    assert await stored_ids(env) == {str(r["id"]) for r in rows}


async def test_a_server_that_stays_down_fails_every_row_of_the_batch(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    env.fault(method="POST", path=INSERTS, times=None, status=503, body="unavailable")
    outcomes = await insert_all(batcher, [row(env, f"f{n}.bin") for n in range(3)])
    assert all(isinstance(o, MetadataError) and o.status == 503 for o in outcomes)
    assert env.sleep.delays == [0.5, 1.0, 2.0]  # one retry schedule, not one per row


async def test_a_lost_answer_is_recognised_row_by_row(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    env.fault(method="POST", path=INSERTS, times=1, status=502, after=True)
    rows = [row(env, f"f{n}.bin") for n in range(3)]
    assert await insert_all(batcher, rows) == [None] * 3
    assert sorted(str(r["id"]) for r in await env.rows()) == sorted(str(r["id"]) for r in rows)


async def test_a_row_with_our_id_but_other_content_is_not_taken_for_ours(env: Env) -> None:
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    mine = row(env, "mine.bin")
    await env.rest.insert("attachments", {**mine, "sha256": "f" * 64})
    with pytest.raises(MetadataError) as raised:
        await batcher.insert(mine)
    assert raised.value.code == "23505"


async def test_closing_cancels_callers_still_waiting(env: Env) -> None:
    env.fault(method="POST", path=INSERTS, times=1, status=None, delay_ms=10_000)
    batcher = RowBatcher(env.rest, "attachments", sleep=env.sleep)
    waiting = asyncio.ensure_future(batcher.insert(row(env, "slow.bin")))
    await asyncio.to_thread(wait_until, lambda: faults(env) == [], what="the insert to be held")
    await batcher.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiting
