"""The upload pipeline on the real embedded server, with injected faults."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from desktop.domain.states import UploadState, UploadStatus
from desktop.domain.store import UploadStore
from desktop.services.journal import Step
from desktop.services.pipeline import UploadLimits, concurrency_limit
from desktop.services.retry import ROLLBACK_BACKOFF_BASE_S, ROLLBACK_BACKOFF_FACTOR
from tests.helpers.fakes import FakeClock
from tests.services.conftest import BUCKET, Env

S = UploadStatus


def statuses(store: UploadStore) -> list[S]:
    return sorted((s.status for s in store.snapshot().values()), key=lambda s: s.value)


async def test_uploads_store_objects_and_rows_with_matching_sha256(env: Env) -> None:
    pipeline = env.pipeline()
    candidates = env.candidates(10, 2_000_000, 0)
    ids = pipeline.submit(env.document_id, candidates)
    await pipeline.wait_idle()
    assert statuses(env.store) == [S.DONE] * 3
    rows = {row["id"]: row for row in await env.rows()}
    for upload_id, candidate in zip(ids, candidates, strict=True):
        row = rows[str(upload_id)]
        state = env.store.get(upload_id)
        assert state is not None
        assert (
            row["object_path"]
            == state.object_path
            == f"{env.document_id}/{upload_id}/{candidate.safe_name}"
        )
        assert (
            row["sha256"] == state.sha256 == hashlib.sha256(candidate.path.read_bytes()).hexdigest()
        )
        assert row["file_name"] == candidate.file_name
        assert row["size_bytes"] == candidate.size_bytes
        assert env.journal.get(str(upload_id)).step is Step.DONE  # type: ignore[union-attr]
    assert sorted(await env.objects()) == sorted(row["object_path"] for row in rows.values())


@pytest.mark.allow_warning_logs
async def test_one_insert_failure_rolls_back_while_the_others_succeed(env: Env) -> None:
    # Refused whenever its row is in the request, alone or in a bulk insert with the others.
    env.fault(method="POST", path="/rest/v1/attachments", body_contains='"file 1.bin"', times=None,
              status=403, body={"code": "42501", "message": "permission denied", "details": None, "hint": None})  # fmt: skip
    pipeline = env.pipeline(UploadLimits(concurrency=3))
    ids = pipeline.submit(env.document_id, env.candidates(100, 200, 300))
    await pipeline.wait_idle()
    states = [env.store.get(i) for i in ids]
    assert sorted(s.status.value for s in states if s) == ["done", "done", "rolled_back"]
    [rolled_back] = [s for s in states if s and s.status is S.ROLLED_BACK]
    assert (rolled_back.file_name, rolled_back.error_message) == ("file 1.bin", "permission denied")
    assert rolled_back.object_path not in await env.objects()
    assert len(await env.objects()) == len(await env.rows()) == 2
    [incident] = env.incidents.read()
    assert (incident.type, incident.upload_id) == (
        "metadata_insert_failed",
        str(rolled_back.upload_id),
    )
    assert env.journal.get(str(rolled_back.upload_id)).step is Step.ROLLED_BACK  # type: ignore[union-attr]


@pytest.mark.allow_warning_logs
@pytest.mark.parametrize(
    "rollback_failures", [1, 2, 3], ids=["fails-once", "fails-twice", "fails-three-times"]
)
async def test_rollback_retries_three_times_with_backoff(env: Env, rollback_failures: int) -> None:
    env.fault(method="POST", path="/rest/v1/attachments", times=1, status=409,
              body={"code": "23503", "message": "no such document", "details": None, "hint": None})  # fmt: skip
    env.fault(
        method="DELETE",
        path=f"/storage/v1/object/{BUCKET}",
        times=rollback_failures,
        status=500,
        body={
            "statusCode": "500",
            "code": "InternalError",
            "error": "internal",
            "message": "disk on fire",
        },
    )
    pipeline = env.pipeline()
    [upload_id] = pipeline.submit(env.document_id, env.candidates(64))
    await pipeline.wait_idle()
    state = env.store.get(upload_id)
    assert state is not None
    expected_sleeps = [
        ROLLBACK_BACKOFF_BASE_S * ROLLBACK_BACKOFF_FACTOR**n
        for n in range(min(rollback_failures, 2))
    ]
    assert env.sleep.delays == expected_sleeps == [0.5, 1.0][: len(expected_sleeps)]
    incidents = env.incidents.read()
    if rollback_failures < 3:
        assert state.status is S.ROLLED_BACK
        assert await env.objects() == []
        assert [i.type for i in incidents] == ["metadata_insert_failed"]
    else:
        assert state.status is S.ORPHANED
        assert await env.objects() == [state.object_path]
        assert [i.type for i in incidents] == ["metadata_insert_failed", "orphaned_object"]
        orphan = incidents[1]
        assert (orphan.attempts, orphan.bucket, orphan.object_path, orphan.document_id) == (
            3,
            BUCKET,
            state.object_path,
            str(env.document_id),
        )
        assert "disk on fire" in (orphan.last_error or "")
        assert env.journal.get(str(upload_id)).step is Step.ORPHANED  # type: ignore[union-attr]
        line = json.loads(env.incidents.path.read_text().splitlines()[1])
        assert list(line) == [
            "time",
            "type",
            "bucket",
            "object_path",
            "upload_id",
            "document_id",
            "attempts",
            "last_error",
        ]
        assert env.server.service_key not in env.incidents.path.read_text()


async def test_transient_upload_failures_are_retried_honouring_retry_after(env: Env) -> None:
    env.fault(
        method="POST",
        path=f"/storage/v1/object/{BUCKET}/*",
        times=2,
        status=429,
        headers={"Retry-After": "2"},
        body="slow down",
    )
    pipeline = env.pipeline()
    [upload_id] = pipeline.submit(env.document_id, env.candidates(1000))
    await pipeline.wait_idle()
    assert env.store.get(upload_id).status is S.DONE  # type: ignore[union-attr]
    assert env.sleep.delays == [2.0, 2.0]


async def test_lost_upload_answer_is_recognised_as_our_object(env: Env) -> None:
    env.fault(method="POST", path=f"/storage/v1/object/{BUCKET}/*", times=1, status=502, after=True)
    env.fault(method="POST", path="/rest/v1/attachments", times=1, status=503, after=True)
    pipeline = env.pipeline()
    [upload_id] = pipeline.submit(env.document_id, env.candidates(5000))
    await pipeline.wait_idle()
    state = env.store.get(upload_id)
    assert state is not None
    assert state.status is S.DONE
    assert len(await env.rows()) == 1
    assert await env.objects() == [state.object_path]


async def test_permanent_upload_failure_is_failed_and_retry_reuses_the_uuid(env: Env) -> None:
    env.fault(
        method="POST",
        path=f"/storage/v1/object/{BUCKET}/*",
        times=4,
        status=503,
        body="unavailable",
    )
    pipeline = env.pipeline()
    [upload_id] = pipeline.submit(env.document_id, env.candidates(10))
    await pipeline.wait_idle()
    failed = env.store.get(upload_id)
    assert failed is not None
    assert (failed.status, failed.is_retryable) == (S.FAILED, True)
    assert pipeline.retry(upload_id)
    await pipeline.wait_idle()
    done = env.store.get(upload_id)
    assert done is not None
    assert (done.status, done.attempt) == (S.DONE, 2)
    assert [row["id"] for row in await env.rows()] == [str(upload_id)]


async def test_cancel_aborts_the_transfer_and_cleans_up(env: Env) -> None:
    env.fault(
        method="POST", path=f"/storage/v1/object/{BUCKET}/*", times=1, status=None, delay_ms=5000
    )
    pipeline = env.pipeline()
    [upload_id] = pipeline.submit(env.document_id, env.candidates(100))
    uploading = asyncio.Event()
    env.store.subscribe(lambda s: uploading.set() if s.status is S.UPLOADING else None)
    await asyncio.wait_for(uploading.wait(), timeout=10)
    assert pipeline.cancel(upload_id)
    await asyncio.wait_for(pipeline.wait_idle(), timeout=10)
    assert env.store.get(upload_id).status is S.CANCELLED  # type: ignore[union-attr]
    assert env.journal.get(str(upload_id)).step is Step.CANCELLED  # type: ignore[union-attr]
    assert pipeline.retry(upload_id)
    await pipeline.wait_idle()
    assert env.store.get(upload_id).status is S.DONE  # type: ignore[union-attr]


async def test_sequential_flag_never_has_two_uploads_in_flight(env: Env) -> None:
    in_flight: list[int] = []
    env.store.subscribe(
        lambda _: in_flight.append(
            sum(
                1 for s in env.store.snapshot().values() if s.status in {S.UPLOADING, S.REGISTERING}
            )
        )
    )
    pipeline = env.pipeline(UploadLimits(concurrency=5, sequential=True))
    pipeline.submit(env.document_id, env.candidates(*[50_000] * 5))
    await pipeline.wait_idle()
    assert statuses(env.store) == [S.DONE] * 5
    assert max(in_flight) == 1


async def test_parallel_uploads_overlap(env: Env) -> None:
    env.fault(
        method="POST", path=f"/storage/v1/object/{BUCKET}/*", times=3, status=None, delay_ms=300
    )
    in_flight: list[int] = []
    env.store.subscribe(
        lambda _: in_flight.append(
            sum(1 for s in env.store.snapshot().values() if s.status is S.UPLOADING)
        )
    )
    pipeline = env.pipeline(UploadLimits(concurrency=3))
    pipeline.submit(env.document_id, env.candidates(10, 10, 10))
    await pipeline.wait_idle()
    assert max(in_flight) == 3


def test_concurrency_limits() -> None:
    assert concurrency_limit(3, sequential=False) == 3
    assert concurrency_limit(5, sequential=True) == 1
    for bad in (0, 6):
        with pytest.raises(ValueError, match="between 1 and 5"):
            concurrency_limit(bad, sequential=False)


async def test_progress_dispatches_are_throttled_per_upload(env: Env) -> None:
    seen: list[UploadState] = []
    env.store.subscribe(seen.append)
    pipeline = env.pipeline(clock=FakeClock())  # time stands still: only first and last pass
    [upload_id] = pipeline.submit(env.document_id, env.candidates(8 * 1024 * 1024))
    await pipeline.wait_idle()
    progress = [s.bytes_sent for s in seen if s.status is S.UPLOADING]
    assert progress == [0, 1024 * 1024, 8 * 1024 * 1024]  # 8 chunks written, 2 reported
    assert env.store.get(upload_id).status is S.DONE  # type: ignore[union-attr]
