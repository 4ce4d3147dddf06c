"""Reconciliation, cascade delete and crash recovery on the real embedded server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from desktop.domain.states import UploadStatus
from desktop.services.deletion import Deleter
from desktop.services.journal import JournalKind, Step
from desktop.services.reconcile import Reconciler
from desktop.services.recovery import recover
from tests.services.conftest import BUCKET, Env


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


async def upload_all(env: Env, *sizes: int) -> list[str]:
    pipeline = env.pipeline()
    ids = pipeline.submit(env.document_id, env.candidates(*sizes))
    await pipeline.wait_idle()
    return [str(i) for i in ids]


async def plant_orphan(env: Env, name: str) -> str:
    path = env.files / "orphan.bin"
    path.write_bytes(b"orphan")
    key = f"{env.document_id}/{uuid.uuid4()}/{name}"
    await env.storage.upload_file(BUCKET, key, path)
    return key


@pytest.mark.allow_warning_logs
async def test_reconcile_finds_and_purges_orphans_and_dangling_rows(env: Env) -> None:
    ids = await upload_all(env, 10, 20, 30)
    orphans = sorted([await plant_orphan(env, "a.bin"), await plant_orphan(env, "b.bin")])
    dangling = await env.rest.select("attachments", filters=[], order="object_path.asc", limit=1)
    dangling_path = str(dangling.rows[0]["object_path"])
    await env.storage.delete_objects(BUCKET, [dangling_path])

    reconciler = Reconciler(
        env.storage, env.rest, env.journal, env.incidents, clock=lambda: later(2), page_size=2
    )
    report = await reconciler.scan(BUCKET, grace=timedelta(hours=1))
    assert [f.object_path for f in report.orphans] == orphans
    assert [f.object_path for f in report.dangling_rows] == [dangling_path]
    assert (report.objects_scanned, report.rows_scanned) == (4, 3)
    assert report.requests == 2 + 2  # pages of two: 4 objects in 2 pages, 3 rows in 2 pages

    await reconciler.purge(report)
    assert (report.purged_objects, report.purged_rows) == (2, 1)
    assert sorted(i.type for i in env.incidents.read()) == [
        "dangling_row_purged",
        "orphan_purged",
        "orphan_purged",
    ]
    clean = await reconciler.scan(BUCKET, grace=timedelta(hours=1))
    assert (clean.orphans, clean.dangling_rows) == ([], [])
    assert len(await env.rows()) == len(await env.objects()) == 2
    assert {str(r["id"]) for r in await env.rows()} <= set(ids)


async def test_reconcile_ignores_fresh_and_in_flight_objects(env: Env) -> None:
    fresh = await plant_orphan(env, "fresh.bin")
    in_flight = await plant_orphan(env, "in-flight.bin")
    env.journal.record(
        in_flight.split("/")[1],
        JournalKind.UPLOAD,
        bucket=BUCKET,
        object_path=in_flight,
        document_id=str(env.document_id),
    )
    reconciler = Reconciler(env.storage, env.rest, env.journal, env.incidents)
    report = await reconciler.scan(BUCKET, grace=timedelta(hours=1))
    assert report.orphans == []
    assert (report.skipped_fresh, report.skipped_in_flight) == (1, 1)
    aged = await Reconciler(
        env.storage, env.rest, env.journal, env.incidents, clock=lambda: later(2)
    ).scan(BUCKET)
    assert [f.object_path for f in aged.orphans] == [fresh]


async def test_delete_attachment_removes_object_and_row(env: Env) -> None:
    [upload_id] = await upload_all(env, 10)
    deleter = Deleter(
        env.storage, env.rest, env.journal, env.incidents, bucket=BUCKET, sleep=env.sleep
    )
    assert await deleter.delete_attachment(upload_id)
    assert (await env.rows(), await env.objects()) == ([], [])
    assert env.journal.get(f"delete-attachment:{upload_id}").step is Step.DONE  # type: ignore[union-attr]
    assert not await deleter.delete_attachment(upload_id)


@pytest.mark.allow_warning_logs
async def test_cascade_delete_with_a_storage_failure_leaves_an_incident_for_reconciliation(
    env: Env,
) -> None:
    await upload_all(env, 10, 20)
    env.fault(
        method="DELETE",
        path=f"/storage/v1/object/{BUCKET}",
        times=3,
        status=500,
        body={
            "statusCode": "500",
            "code": "InternalError",
            "error": "internal",
            "message": "storage down",
        },
    )
    deleter = Deleter(
        env.storage, env.rest, env.journal, env.incidents, bucket=BUCKET, sleep=env.sleep
    )
    result = await deleter.delete_document(str(env.document_id))
    assert (result.objects_deleted, result.objects_left) == (0, 2)
    assert (await env.rest.select("documents")).rows == []
    assert await env.rows() == []  # the foreign key cascaded
    assert [i.type for i in env.incidents.read()] == ["cascade_delete_failed"] * 2
    assert env.sleep.delays == [0.5, 1.0]

    reconciler = Reconciler(
        env.storage, env.rest, env.journal, env.incidents, clock=lambda: later(2)
    )
    report = await reconciler.purge(await reconciler.scan(BUCKET))
    assert report.purged_objects == 2
    assert await env.objects() == []


async def test_recover_completes_or_rolls_back_unfinished_uploads(env: Env) -> None:
    [done_id] = await upload_all(env, 10)
    done_path = env.store.get(next(iter(env.store.snapshot()))).object_path  # type: ignore[union-attr]
    env.journal.record(
        done_id,
        JournalKind.UPLOAD,
        bucket=BUCKET,
        object_path=done_path,
        document_id=str(env.document_id),
    )
    env.journal.mark(done_id, Step.OBJECT_STORED)  # as if killed before the row was confirmed
    stray = await plant_orphan(env, "stray.bin")
    stray_id = stray.split("/")[1]
    env.journal.record(
        stray_id,
        JournalKind.UPLOAD,
        bucket=BUCKET,
        object_path=stray,
        document_id=str(env.document_id),
    )

    report = await recover(env.journal, env.storage, env.rest, env.incidents, sleep=env.sleep)
    assert (report.completed, report.rolled_back) == (1, 1)
    assert env.journal.get(done_id).step is Step.DONE  # type: ignore[union-attr]
    assert env.journal.get(stray_id).step is Step.ROLLED_BACK  # type: ignore[union-attr]
    assert await env.objects() == [done_path]
    assert env.journal.unfinished() == []
    assert (await recover(env.journal, env.storage, env.rest, env.incidents)).total == 0
    assert env.store.get(next(iter(env.store.snapshot()))).status is UploadStatus.DONE  # type: ignore[union-attr]


async def test_recover_redoes_an_interrupted_document_deletion(env: Env) -> None:
    await upload_all(env, 10)
    env.journal.record(
        f"delete-document:{env.document_id}",
        JournalKind.DELETE_DOCUMENT,
        bucket=BUCKET,
        object_path=f"{env.document_id}/",
        document_id=str(env.document_id),
    )
    report = await recover(env.journal, env.storage, env.rest, env.incidents, sleep=env.sleep)
    assert report.deletions_redone == 1
    assert (await env.objects(), await env.rows(), (await env.rest.select("documents")).rows) == (
        [],
        [],
        [],
    )
