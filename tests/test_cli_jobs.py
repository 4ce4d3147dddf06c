"""``attachments upload | incidents | reconcile | recover`` as real processes against the server,
including SIGKILL at each step boundary of an upload and recovery afterwards."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers.servers import RunningServer
from tests.helpers.waiting import wait_until

BUCKET = "attachments"


@dataclass
class Cli:
    server: RunningServer
    data_dir: Path
    files: Path

    @property
    def env(self) -> dict[str, str]:
        return os.environ | {
            "SUPABASE_URL": self.server.url,
            "SUPABASE_ANON_KEY": self.server.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": self.server.service_key,
            "ATTACHMENTS_DATA_DIR": str(self.data_dir),
        }

    def run(
        self, *args: str, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "desktop", *args], capture_output=True, text=True, timeout=120,
            env=self.env | (extra_env or {}),
        )  # fmt: skip

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "desktop", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, env=self.env,
        )  # fmt: skip

    def file(self, name: str, size: int) -> Path:
        path = self.files / name
        path.write_bytes(os.urandom(size))
        return path

    def rest(self) -> httpx.Client:
        key = self.server.service_key
        return httpx.Client(
            base_url=self.server.url + "/rest/v1",
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
        )

    def document(self) -> str:
        with self.rest() as rest:
            response = rest.post(
                "/documents", json={"title": "CLI"}, headers={"Prefer": "return=representation"}
            )
        return str(response.json()[0]["id"])

    def rows(self) -> list[dict]:
        with self.rest() as rest:
            return rest.get("/attachments").json()

    def objects(self) -> list[str]:
        with self.server.client(self.server.service_key) as storage:
            return [
                o["name"]
                for o in storage.post(f"/object/list-v2/{BUCKET}", json={}).json()["objects"]
            ]

    def fault(self, **rule: object) -> str:
        with self.server.admin() as admin:
            return str(admin.post("/admin/v1/faults", json=rule).json()[0]["id"])

    def fault_fired(self, rule_id: str) -> bool:
        with self.server.admin() as admin:
            return rule_id not in [r["id"] for r in admin.get("/admin/v1/faults").json()]

    def journal_steps(self) -> list[str]:
        path = self.data_dir / "journal.sqlite3"
        if not path.exists():
            return []
        with sqlite3.connect(path, timeout=5) as db:
            try:
                return [
                    row[0] for row in db.execute("SELECT step FROM journal WHERE kind='upload'")
                ]
            except sqlite3.OperationalError:
                return []

    def incidents(self) -> list[dict]:
        path = self.data_dir / "incidents.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def cli(server: RunningServer, tmp_path: Path) -> Cli:
    with server.client(server.service_key) as storage:
        storage.post("/bucket", json={"name": BUCKET})
    files = tmp_path / "files"
    files.mkdir()
    return Cli(server, tmp_path / "data", files)


def test_upload_json_reports_each_file_and_rejects_bad_input(cli: Cli) -> None:
    folder = cli.files / "folder"
    folder.mkdir()
    (folder / "nested.txt").write_text("nested")
    result = cli.run(
        "upload",
        "--new-document",
        "Report",
        str(cli.file("a b.bin", 1000)),
        str(folder),
        str(cli.files / "missing.txt"),
        "--json",
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1  # one input was rejected
    by_file = {line["file"]: line for line in lines}
    assert by_file[str(cli.files / "missing.txt")] == {
        "file": str(cli.files / "missing.txt"),
        "status": "rejected",
        "reason": "the file does not exist",
    }
    assert by_file["a b.bin"]["status"] == by_file["nested.txt"]["status"] == "done"
    assert sorted(row["file_name"] for row in cli.rows()) == ["a b.bin", "nested.txt"]
    assert sorted(cli.objects()) == sorted(row["object_path"] for row in cli.rows())


def test_upload_progress_bars_and_sequential_flag(cli: Cli) -> None:
    document = cli.document()
    files = [str(cli.file(f"f{n}.bin", 50_000)) for n in range(3)]
    result = cli.run(
        "upload", "--document", document, *files, extra_env={"ATTACHMENTS_SEQUENTIAL_UPLOADS": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("done") == 3
    assert "[########################] 100%" in result.stdout
    assert len(cli.rows()) == 3


def test_upload_needs_exactly_one_document_option(cli: Cli) -> None:
    result = cli.run("upload", str(cli.file("x", 1)))
    assert result.returncode == 2
    assert "exactly one of --document ID or --new-document TITLE" in result.stderr


def test_incidents_alert_after_an_insert_failure(cli: Cli) -> None:
    cli.fault(
        method="POST",
        path="/rest/v1/attachments",
        status=403,
        body={"code": "42501", "message": "denied", "details": None, "hint": None},
    )
    result = cli.run("upload", "--document", cli.document(), str(cli.file("x.bin", 10)), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["status"] == "rolled_back"
    listed = cli.run("incidents", "--since", "15m", "--json")
    [incident] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert incident["type"] == "metadata_insert_failed"
    assert cli.run("incidents", "--since", "15m", "--fail-on", "1").returncode == 1
    assert cli.run("incidents", "--since", "15m", "--fail-on", "2").returncode == 0
    bad = cli.run("incidents", "--since", "soon")
    assert bad.returncode == 2
    assert "not a duration" in bad.stderr


def test_reconcile_reports_then_purges(cli: Cli) -> None:
    document = cli.document()
    with cli.server.client(cli.server.service_key) as storage:
        storage.post(f"/object/{BUCKET}/{document}/{uuid.uuid4()}/orphan.bin", content=b"x")
    report = cli.run("reconcile", "--grace", "0s", "--json")
    assert report.returncode == 1
    assert len(json.loads(report.stdout)["orphans"]) == 1
    purged = cli.run("reconcile", "--grace", "0s", "--purge", "--json")
    assert purged.returncode == 0
    assert json.loads(purged.stdout)["purged_objects"] == 1
    assert cli.objects() == []
    assert [i["type"] for i in cli.incidents()] == ["orphan_purged"]


@pytest.mark.parametrize(
    ("kill_point", "outcome"),
    [
        ("after_object_upload", "rolled_back"),
        ("before_insert", "rolled_back"),
        ("during_insert", "completed"),
        ("during_rollback", "rolled_back"),
    ],
    ids=["after-upload", "after-upload-before-insert", "during-insert", "during-rollback"],
)
def test_sigkill_at_each_step_then_recover_leaves_storage_and_rows_consistent(
    cli: Cli, kill_point: str, outcome: str
) -> None:
    document = cli.document()
    hold = {"status": None, "after": True, "delay_ms": 30_000}
    if kill_point == "after_object_upload":  # stored, but the answer never arrives
        rule = cli.fault(method="POST", path=f"/storage/v1/object/{BUCKET}/*", **hold)
        ready = lambda: len(cli.objects()) == 1 and cli.fault_fired(rule)  # noqa: E731
    elif kill_point == "before_insert":  # the insert never reaches the database
        rule = cli.fault(method="POST", path="/rest/v1/attachments", status=504, delay_ms=30_000)
        ready = lambda: cli.journal_steps() == ["object_stored"] and cli.fault_fired(rule)  # noqa: E731
    elif kill_point == "during_insert":  # the row is written, its answer is not
        rule = cli.fault(method="POST", path="/rest/v1/attachments", **hold)
        ready = lambda: len(cli.rows()) == 1 and cli.fault_fired(rule)  # noqa: E731
    else:  # the insert failed; the rollback's delete hangs
        cli.fault(
            method="POST",
            path="/rest/v1/attachments",
            status=403,
            body={"code": "42501", "message": "denied", "details": None, "hint": None},
        )
        rule = cli.fault(
            method="DELETE", path=f"/storage/v1/object/{BUCKET}", status=504, delay_ms=30_000
        )
        ready = lambda: cli.journal_steps() == ["rolling_back"] and cli.fault_fired(rule)  # noqa: E731

    process = cli.start("upload", "--document", document, str(cli.file("doomed.bin", 100_000)))
    try:
        wait_until(ready, what=f"the upload to reach {kill_point}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    with cli.server.admin() as admin:
        admin.delete("/admin/v1/faults")

    recovered = cli.run("recover")
    assert recovered.returncode == 0, recovered.stderr
    assert f"1 {outcome.replace('_', ' ')}" in recovered.stdout
    rows, objects = cli.rows(), cli.objects()
    assert sorted(objects) == sorted(row["object_path"] for row in rows)
    assert len(rows) == (1 if outcome == "completed" else 0)
    assert cli.journal_steps() == ["done" if outcome == "completed" else "rolled_back"]
