"""The ``attachments`` command: the window by default, and subcommands for scripts and cron."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from desktop.backend import (
    SEQUENTIAL_FLAG_ENV,
    Backend,
    Connection,
    EmbeddedProcess,
    MissingServiceKey,
    connect,
    new_store,
    open_backend,
    sequential_flag,
)
from desktop.config import SupabaseSettings
from desktop.console import ProgressBoard, describe
from desktop.domain.errors import ServiceError
from desktop.domain.states import DocumentId, UploadStatus
from desktop.log import configure_logging
from desktop.paths import embedded_server_dir, incident_log_path, user_data_dir
from desktop.server.command import serve
from desktop.services.incidents import IncidentLog, IncidentType
from desktop.services.pipeline import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, UploadLimits
from desktop.services.reconcile import DEFAULT_GRACE
from desktop.services.validation import validate_paths

__all__ = ["main"]

DEFAULT_MAX_FILE_BYTES = 5 * 1024**3
ALERTING_INCIDENTS = {
    IncidentType.METADATA_INSERT_FAILED.value,
    IncidentType.ORPHANED_OBJECT.value,
    IncidentType.CASCADE_DELETE_FAILED.value,
}
Job = Callable[[Backend], Awaitable[int]]
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """``30s``, ``15m``, ``1h``, ``2d``."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = _DURATION.match(str(value).strip())
        if not match:
            self.fail(f"{value!r} is not a duration such as 30s, 15m, 1h or 2d", param, ctx)
        return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


@click.group(invoke_without_command=True)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level (JSON lines on stderr).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Attachment uploader for Supabase.

    With no subcommand, opens the window (on the embedded default unless a Supabase project is
    configured).
    """
    configure_logging(logging.DEBUG if verbose else logging.WARNING)
    if ctx.invoked_subcommand is None:
        embedded = EmbeddedProcess(embedded_server_dir())
        if not SupabaseSettings().is_configured:
            # Most windows open on the embedded default: its server boots on the other core
            # while Qt and the window are imported (stopped again if a project is signed in).
            embedded.launch()
        from desktop.app import run

        sys.exit(run(logging.DEBUG if verbose else logging.WARNING, embedded=embedded))


main.add_command(serve)


def _run_service_job(job: Job, *, announce_recovery: bool = False) -> int:
    """Connect (embedded default or project), open the backend with the service key, resolve
    the journal, then run ``job``."""
    try:
        with connect() as connection:
            return asyncio.run(_with_backend(connection, job, announce_recovery))
    except MissingServiceKey as exc:
        raise click.ClickException(str(exc)) from exc
    except ServiceError as exc:
        raise click.ClickException(f"Supabase answered: {exc}") from exc


async def _with_backend(connection: Connection, job: Job, announce_recovery: bool) -> int:
    async with open_backend(connection, connection.service_credentials()) as backend:
        report = await backend.recover()
        if report.total or announce_recovery:
            click.echo(
                f"recovered {report.total} unfinished journal entries:"
                f" {report.completed} completed,"
                f" {report.rolled_back} rolled back, {report.orphaned} orphaned,"
                f" {report.deletions_redone} deletions redone",
                err=not announce_recovery,
            )
        return await job(backend)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--document", "document_id", type=click.UUID, help="Attach to this document.")
@click.option(
    "--new-document", "new_title", help="Create a document with this title and attach to it."
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, MAX_CONCURRENCY),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help=f"Uploads in flight at once (1-{MAX_CONCURRENCY}); {SEQUENTIAL_FLAG_ENV}=1 forces 1.",
)
@click.option(
    "--max-size",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_FILE_BYTES,
    show_default=True,
    help="Largest file accepted, in bytes.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object per file instead of bars."
)
def upload(
    files: tuple[Path, ...],
    document_id: uuid.UUID | None,
    new_title: str | None,
    concurrency: int,
    max_size: int,
    as_json: bool,
) -> None:
    """Upload FILES (folders expand) through the pipeline; exits 1 if any file failed."""
    if (document_id is None) == (new_title is None):
        raise click.UsageError("give exactly one of --document ID or --new-document TITLE")
    accepted, rejected = validate_paths(files, max_size_bytes=max_size)
    for rejection in rejected:
        if as_json:
            click.echo(
                json.dumps(
                    {"file": str(rejection.path), "status": "rejected", "reason": rejection.reason}
                )
            )
        else:
            click.echo(f"rejected {rejection.path}: {rejection.reason}", err=True)

    async def job(backend: Backend) -> int:
        await backend.ensure_bucket()
        document = document_id
        if document is None:
            [row] = await backend.rest.insert("documents", {"title": new_title})
            document = uuid.UUID(str(row["id"]))
            click.echo(f"created document {document}", err=True)
        store = new_store()
        if not as_json:
            store.subscribe(ProgressBoard().on_state)
        pipeline = backend.pipeline(store, UploadLimits(concurrency, sequential=sequential_flag()))
        ids = pipeline.submit(DocumentId(document), accepted)
        await pipeline.wait_idle()
        states = [store.get(upload_id) for upload_id in ids]
        failed = [s for s in states if s is not None and s.status is not UploadStatus.DONE]
        if as_json:
            for state in states:
                assert state is not None
                result = {
                    "file": state.file_name,
                    "upload_id": str(state.upload_id),
                    "status": state.status.value,
                    "object_path": state.object_path,
                    "size_bytes": state.size_bytes,
                    "sha256": state.sha256,
                    "error": state.error_message,
                }
                click.echo(json.dumps(result))
        else:
            for state in failed:
                click.echo(describe(state), err=True)
        return 1 if failed or rejected else 0

    sys.exit(_run_service_job(job))


@main.command()
@click.option(
    "--since", type=Duration(), default=None, help="Only incidents this recent (e.g. 15m)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.option(
    "--fail-on",
    type=click.IntRange(min=1),
    default=None,
    help="Exit 1 at N or more alerting incidents (insert failures, orphans, failed deletes).",
)
def incidents(since: timedelta | None, as_json: bool, fail_on: int | None) -> None:
    """Print the incident log; with --fail-on, a check for cron or a monitor."""
    log = IncidentLog(incident_log_path(user_data_dir()))
    found = log.read(datetime.now(UTC) - since if since else None)
    alerting = [incident for incident in found if incident.type in ALERTING_INCIDENTS]
    for incident in found:
        if as_json:
            click.echo(json.dumps(asdict(incident)))
        else:
            error = f"  ({incident.last_error})" if incident.last_error else ""
            where = f"{incident.bucket}/{incident.object_path}"
            click.echo(f"{incident.time}  {incident.type:<24} {where}{error}")
    if not as_json:
        click.echo(f"{len(found)} incident(s), {len(alerting)} alerting", err=True)
    if fail_on is not None and len(alerting) >= fail_on:
        sys.exit(1)


@main.command()
@click.option("--bucket", default="attachments", show_default=True)
@click.option(
    "--grace",
    type=Duration(),
    default=DEFAULT_GRACE,
    show_default="1h",
    help="Ignore objects younger than this.",
)
@click.option(
    "--purge",
    is_flag=True,
    help="Delete orphaned objects and dangling rows (each is logged as an incident).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--every", type=Duration(), default=None, help="Run again at this interval until stopped."
)
def reconcile(
    bucket: str, grace: timedelta, purge: bool, as_json: bool, every: timedelta | None
) -> None:
    """Compare storage objects with metadata rows; report (or --purge) orphans and dangling rows."""

    async def job(backend: Backend) -> int:
        backend.bucket = bucket
        while True:
            reconciler = backend.reconciler()
            report = await reconciler.scan(bucket, grace)
            if purge:
                await reconciler.purge(report)
            if as_json:
                click.echo(json.dumps(report.as_json()))
            else:
                click.echo(
                    f"{bucket}: {report.objects_scanned} objects, {report.rows_scanned} rows, "
                    f"{len(report.orphans)} orphaned objects, "
                    f"{len(report.dangling_rows)} dangling rows, "
                    f"{report.skipped_fresh} too fresh, {report.skipped_in_flight} in flight, "
                    f"{report.requests} requests"
                    + (
                        f"; purged {report.purged_objects} objects, {report.purged_rows} rows"
                        if purge
                        else ""
                    )
                )
            if every is None:
                return 1 if (report.orphans or report.dangling_rows) and not purge else 0
            await asyncio.sleep(every.total_seconds())

    sys.exit(_run_service_job(job))


@main.command()
def recover() -> None:
    """Resolve unfinished journal entries now (this also happens on every start)."""

    async def job(backend: Backend) -> int:
        return 0

    sys.exit(_run_service_job(job, announce_recovery=True))
