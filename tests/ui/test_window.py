"""The real window over the real embedded server (offscreen), driven as a user would."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QPageSize,
    QPainter,
    QPdfWriter,
)
from PySide6.QtWidgets import QApplication, QPlainTextEdit
from pytestqt.qtbot import QtBot

from desktop.app import Application
from desktop.config import AppSettings
from desktop.domain.states import UploadStatus
from desktop.services.secrets import KeyringSecrets, SessionSecrets, keyring_problem
from desktop.ui.qt_attachments import QtAttachmentTable
from tests.helpers.fakes import FakeClock
from tests.helpers.servers import RunningServer
from tests.ui.conftest import InMemoryKeyring

TIMEOUT_MS = 20_000
BUCKET = "attachments"


def drop(window_app: Application, paths: list[Path]) -> None:
    """Drag files from a file manager onto the attachment list's viewport."""
    viewport = window_app.window.attachments.viewport()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    dropped = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, dropped)


def with_document(app: Application, qtbot: QtBot, title: str = "Quarterly report") -> str:
    app.controller.create_document(title)
    qtbot.waitUntil(
        lambda: (
            app.controller.current_document_id is not None and app.window.documents.count() == 1
        ),
        timeout=TIMEOUT_MS,
    )
    document_id = app.controller.current_document_id
    assert document_id is not None
    return document_id


def files(tmp_path: Path, *sizes: int) -> list[Path]:
    folder = tmp_path / "drop"
    folder.mkdir(exist_ok=True)
    paths = []
    for n, size in enumerate(sizes):
        path = folder / f"file {n}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def cell(table: QtAttachmentTable, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None
    return item.text()


def key_of(table: QtAttachmentTable, row: int) -> str:
    item = table.item(row, 0)
    assert item is not None
    return str(item.data(Qt.ItemDataRole.UserRole))


def fault(server: RunningServer, **rule: object) -> None:
    with server.admin() as admin:
        assert admin.post("/admin/v1/faults", json=rule).status_code == 201


def states(app: Application) -> list[UploadStatus]:
    return sorted(
        (s.status for s in app.controller.services.pipeline._store.snapshot().values()),
        key=lambda s: s.value,
    )  # noqa: SLF001


@pytest.mark.allow_warning_logs
def test_three_dropped_files_upload_in_parallel_and_one_failed_insert_rolls_back(
    make_app: Callable[..., Application], server: RunningServer, qtbot: QtBot, tmp_path: Path
) -> None:
    app = make_app()
    with_document(app, qtbot)
    fault(
        server,
        method="POST",
        path="/rest/v1/attachments",
        body_contains='"file 2.bin"',  # its row, whether inserted alone or with the others
        times=None,
        status=403,
        body={"code": "42501", "message": "permission denied", "details": None, "hint": None},
    )
    paths = files(tmp_path, 300_000, 400_000, 500_000)
    drop(app, paths)
    table = app.window.attachments
    qtbot.waitUntil(lambda: table.rowCount() == 3, timeout=TIMEOUT_MS)  # rows appear at once
    qtbot.waitUntil(
        lambda: (
            sum(
                1
                for r in range(table.rowCount())
                if cell(table, r, 2).startswith(("Done", "Rolled back"))
            )
            == 3
        ),
        timeout=TIMEOUT_MS,
    )
    texts = sorted(cell(table, r, 2) for r in range(table.rowCount()))
    assert texts[:2] == ["Done", "Done"]
    assert texts[2] == "Rolled back: permission denied"
    bars = [table.progress_bar(key_of(table, r)) for r in range(table.rowCount())]
    assert sorted(bar.value() for bar in bars)[1:] == [1000, 1000]
    assert all(bar.accessibleName().startswith("Upload progress of file") for bar in bars)
    qtbot.waitUntil(lambda: app.window.banner.isVisible(), timeout=TIMEOUT_MS)
    assert "could not register" in app.window.banner.text()
    assert "1 failed" in app.window.summary.text()


def test_cancel_and_retry_from_the_row(
    make_app: Callable[..., Application], server: RunningServer, qtbot: QtBot, tmp_path: Path
) -> None:
    app = make_app()
    with_document(app, qtbot)
    fault(
        server,
        method="POST",
        path=f"/storage/v1/object/{BUCKET}/*",
        times=1,
        status=None,
        delay_ms=10_000,
    )
    [path] = files(tmp_path, 1000)
    drop(app, [path])
    table = app.window.attachments
    qtbot.waitUntil(
        lambda: table.rowCount() == 1 and cell(table, 0, 2) == "Uploading", timeout=TIMEOUT_MS
    )
    key = key_of(table, 0)
    assert table.row_actions(key).cancel.isEnabled()
    qtbot.mouseClick(table.row_actions(key).cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell(table, 0, 2) == "Cancelled", timeout=TIMEOUT_MS)
    assert table.row_actions(key).retry.isEnabled()
    qtbot.mouseClick(table.row_actions(key).retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cell(table, 0, 2) == "Done", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: table.row_actions(key).preview.isEnabled(), timeout=TIMEOUT_MS)


def upload_one(app: Application, qtbot: QtBot, path: Path) -> None:
    table = app.window.attachments
    before = table.rowCount()
    drop(app, [path])
    qtbot.waitUntil(lambda: table.rowCount() == before + 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: all(
            table.attachment(key_of(table, r)) is not None for r in range(table.rowCount())
        ),
        timeout=TIMEOUT_MS,
    )


def app_with_note(
    make_app: Callable[..., Application], qtbot: QtBot, tmp_path: Path, name: str, text: str
) -> Application:
    """A window with one document holding one uploaded text note."""
    app = make_app()
    with_document(app, qtbot)
    note = tmp_path / name
    note.write_text(text)
    upload_one(app, qtbot, note)
    return app


def attachment_named(app: Application, name: str):
    table = app.window.attachments
    for row in range(table.rowCount()):
        attachment = table.attachment(key_of(table, row))
        if attachment is not None and attachment.file_name == name:
            return attachment
    raise AssertionError(f"no attachment {name}")


def make_png(path: Path) -> Path:
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    assert image.save(str(path))
    return path


def make_pdf(path: Path) -> Path:
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A6))
    painter = QPainter(writer)
    painter.drawText(100, 100, "Page one")
    writer.newPage()
    painter.drawText(100, 100, "Page two")
    painter.end()
    return path


def test_image_pdf_and_text_previews(
    make_app: Callable[..., Application], qtbot: QtBot, tmp_path: Path
) -> None:
    app = make_app()
    with_document(app, qtbot)
    folder = tmp_path / "docs"
    folder.mkdir()
    text = folder / "notes.md"
    text.write_text("# Notes\n\nPreviewed text.\n")
    for path in (make_png(folder / "photo.png"), make_pdf(folder / "report.pdf"), text):
        upload_one(app, qtbot, path)

    photo = attachment_named(app, "photo.png")
    qtbot.waitUntil(lambda: app.window.attachments.has_thumbnail(photo.id), timeout=TIMEOUT_MS)
    image_dialog = app.window.open_preview(photo)
    qtbot.waitUntil(lambda: image_dialog.content is not None, timeout=TIMEOUT_MS)
    assert image_dialog.kind == "image"
    shown = image_dialog.image.pixmap()
    before = shown.width()
    image_dialog.zoom(2.0)
    assert image_dialog.image.pixmap().width() > before
    image_dialog.close()

    pdf_dialog = app.window.open_preview(attachment_named(app, "report.pdf"))
    qtbot.waitUntil(lambda: pdf_dialog.content is not None, timeout=TIMEOUT_MS)
    assert pdf_dialog.kind == "pdf"
    assert pdf_dialog.pdf.pageCount() == 2
    pdf_dialog.close()

    text_dialog = app.window.open_preview(attachment_named(app, "notes.md"))
    qtbot.waitUntil(lambda: text_dialog.content is not None, timeout=TIMEOUT_MS)
    assert isinstance(text_dialog.content, QPlainTextEdit)
    assert "Previewed text." in text_dialog.content.toPlainText()
    assert text_dialog.copy_link.isEnabled()
    assert "The link works until" in text_dialog.link_label.text()
    text_dialog.close()


def test_open_preview_refreshes_its_url_before_the_cache_expires(
    make_app: Callable[..., Application], qtbot: QtBot, tmp_path: Path, clock: FakeClock
) -> None:
    app = app_with_note(make_app, qtbot, tmp_path, "note.txt", "hello")
    urls = app.services.urls
    dialog = app.window.open_preview(attachment_named(app, "note.txt"))
    qtbot.waitUntil(
        lambda: dialog.url is not None and dialog.content is not None, timeout=TIMEOUT_MS
    )
    first_url, signs = dialog.url, urls.sign_requests
    assert dialog.refresh_timer.isActive()
    assert (
        abs(dialog.refresh_timer.remainingTime() - urls.keep_s * 1000) < 5000
    )  # due at TTL - 5 min
    clock.advance(urls.keep_s - 1)  # the URL is still valid, but leaves the cache in a second
    dialog.refresh_timer.stop()
    dialog.refresh_timer.timeout.emit()
    # Re-signed: one more sign request, and the next refresh is scheduled from the new URL.
    qtbot.waitUntil(
        lambda: urls.sign_requests == signs + 1 and dialog.refresh_timer.isActive(),
        timeout=TIMEOUT_MS,
    )
    assert (
        urls.refresh_due_at(attachment_named(app, "note.txt").object_path)
        == clock.now + urls.keep_s
    )
    assert dialog.url is not None
    assert dialog.url.startswith(urls._storage.base_url)  # noqa: SLF001
    del first_url
    dialog.close()


def test_preview_recovers_once_after_the_signing_secret_was_rotated(
    make_app: Callable[..., Application], server: RunningServer, qtbot: QtBot, tmp_path: Path
) -> None:
    app = app_with_note(make_app, qtbot, tmp_path, "secret.txt", "still readable")
    attachment = attachment_named(app, "secret.txt")
    first = app.window.open_preview(attachment)
    qtbot.waitUntil(lambda: first.content is not None, timeout=TIMEOUT_MS)
    first.close()
    with server.admin() as admin:
        assert admin.post("/admin/v1/rotate-jwt-secret").status_code == 200
    again = app.window.open_preview(attachment)  # the cached URL is revoked now
    qtbot.waitUntil(
        lambda: again.content is not None or again.message.text() != "", timeout=TIMEOUT_MS
    )
    assert again.content is not None, again.message.text()
    assert "still readable" in again.text.toPlainText()
    again.close()


def test_preview_says_so_when_the_link_fails_twice(
    make_app: Callable[..., Application], server: RunningServer, qtbot: QtBot, tmp_path: Path
) -> None:
    app = app_with_note(make_app, qtbot, tmp_path, "twice.txt", "x")
    fault(server, method="GET", path="/storage/v1/object/sign/*", times=2, status=400,
          body={"statusCode": "400", "error": "InvalidJWT", "message": "signature verification failed", "code": "InvalidJWT"})  # fmt: skip
    dialog = app.window.open_preview(attachment_named(app, "twice.txt"))
    qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=TIMEOUT_MS)
    assert "expired or was revoked" in dialog.message.text()
    assert dialog.content is None
    dialog.close()


def test_checksum_mismatch_is_shown_not_the_content(
    make_app: Callable[..., Application], server: RunningServer, qtbot: QtBot, tmp_path: Path
) -> None:
    app = app_with_note(make_app, qtbot, tmp_path, "tampered.txt", "original")
    attachment = attachment_named(app, "tampered.txt")
    # Corrupt the stored bytes behind Storage's back (same length, different content).
    stored = server.server.context.catalog.get_object(BUCKET, attachment.object_path)
    assert stored is not None
    server.server.context.blobs.path_of(stored.version).write_bytes(b"tampered")
    dialog = app.window.open_preview(attachment)
    qtbot.waitUntil(lambda: dialog.message.text() != "", timeout=TIMEOUT_MS)
    assert "does not match the checksum" in dialog.message.text()
    assert dialog.content is None
    dialog.close()


@pytest.mark.allow_warning_logs
def test_alert_banner_after_an_orphan_links_to_the_incidents(
    make_app: Callable[..., Application], server: RunningServer, qtbot: QtBot, tmp_path: Path
) -> None:
    app = make_app()
    with_document(app, qtbot)
    assert not app.window.banner.isVisible()
    fault(
        server,
        method="POST",
        path="/rest/v1/attachments",
        times=1,
        status=409,
        body={"code": "23503", "message": "gone", "details": None, "hint": None},
    )
    fault(
        server,
        method="DELETE",
        path=f"/storage/v1/object/{BUCKET}",
        times=3,
        status=500,
        body={"statusCode": "500", "code": "InternalError", "error": "internal", "message": "down"},
    )
    drop(app, files(tmp_path, 10))
    table = app.window.attachments
    qtbot.waitUntil(
        lambda: table.rowCount() == 1 and cell(table, 0, 2).startswith("Orphaned"),
        timeout=60_000,
    )
    qtbot.waitUntil(lambda: app.window.banner.isVisible(), timeout=TIMEOUT_MS)
    app.window.banner.linkActivated.emit("incidents")
    dialog = app.window.incidents_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=TIMEOUT_MS)
    types = {item.text() for r in range(2) if (item := dialog.table.item(r, 1)) is not None}
    assert types == {
        "metadata_insert_failed",
        "orphaned_object",
    }
    qtbot.mouseClick(dialog.dry_run, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "checked" in dialog.outcome.text(), timeout=TIMEOUT_MS)
    dialog.close()


def test_sequential_setting_never_runs_two_uploads_at_once(
    make_app: Callable[..., Application], qtbot: QtBot, tmp_path: Path
) -> None:
    app = make_app(AppSettings(sequential_uploads=True, concurrency=5))
    with_document(app, qtbot)
    store = app.controller.services.pipeline._store  # noqa: SLF001 - observing, not driving
    in_flight: list[int] = []
    store.subscribe(
        lambda _: in_flight.append(
            sum(
                1
                for s in store.snapshot().values()
                if s.status in {UploadStatus.UPLOADING, UploadStatus.REGISTERING}
            )
        )
    )
    drop(app, files(tmp_path, 100_000, 100_000, 100_000))
    qtbot.waitUntil(lambda: states(app) == [UploadStatus.DONE] * 3, timeout=TIMEOUT_MS)
    assert max(in_flight) == 1


def test_rejected_files_are_listed_with_their_reason(
    make_app: Callable[..., Application], qtbot: QtBot, tmp_path: Path
) -> None:
    app = make_app(AppSettings(max_file_size_bytes=100))
    with_document(app, qtbot)
    [big] = files(tmp_path, 1000)
    drop(app, [big, tmp_path / "missing.txt"])
    qtbot.waitUntil(lambda: app.window.rejections.isVisible(), timeout=TIMEOUT_MS)
    assert "1,000 bytes is over the 100-byte limit" in app.window.rejections.text()
    assert "missing.txt: the file does not exist" in app.window.rejections.text()


def test_credentials_round_trip_through_the_keyring(memory_keyring: InMemoryKeyring) -> None:
    assert keyring_problem() is None
    secrets = KeyringSecrets()
    secrets.set("refresh_token:https://x.supabase.co", "abcdefghijkl")
    assert secrets.get("refresh_token:https://x.supabase.co") == "abcdefghijkl"
    assert memory_keyring.values == {
        ("supabase-attachments", "refresh_token:https://x.supabase.co"): "abcdefghijkl"
    }
    secrets.delete("refresh_token:https://x.supabase.co")
    secrets.delete("refresh_token:https://x.supabase.co")
    assert secrets.get("refresh_token:https://x.supabase.co") is None


def test_no_keyring_is_said_plainly_and_session_only_is_offered(qtbot: QtBot) -> None:
    import keyring
    from keyring.backends import fail

    from desktop.ui.settings_dialog import SettingsDialog

    keyring.set_keyring(fail.Keyring())
    problem = keyring_problem()
    assert problem == "No system keyring is available, so credentials cannot be remembered."
    dialog = SettingsDialog(AppSettings(), problem)
    qtbot.addWidget(dialog)
    assert dialog.keyring_note.text() == problem
    assert dialog.session_only.isChecked()
    session = SessionSecrets()
    session.set("k", "v")
    assert (session.get("k"), session.is_persistent) == ("v", False)


def test_settings_persist_without_secrets(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from desktop.ui.settings_dialog import SettingsDialog
    from desktop.ui.settings_store import load_settings, save_settings

    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = SettingsDialog(load_settings(store), None)
    qtbot.addWidget(dialog)
    dialog.project.setChecked(True)
    dialog.url.setText("https://abc.supabase.co")
    dialog.anon_key.setText("anon-key-value")
    dialog.concurrency.setValue(5)
    dialog.sequential.setChecked(True)
    with qtbot.waitSignal(dialog.settings_accepted) as accepted:
        dialog.accept()
    chosen, anon_key, _, session_only = accepted.args
    assert (anon_key, session_only) == ("anon-key-value", False)
    save_settings(store, chosen)
    reloaded = load_settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert reloaded == chosen
    assert (reloaded.concurrency, reloaded.sequential_uploads, reloaded.project_url) == (
        5,
        True,
        "https://abc.supabase.co",
    )
    assert "anon-key-value" not in (tmp_path / "settings.ini").read_text()


def test_documents_create_rename_and_delete_with_confirmation(
    make_app: Callable[..., Application],
    server: RunningServer,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    app = make_app()
    window = app.window
    answers = iter([("Contracts", True), ("Signed contracts", True)])
    monkeypatch.setattr(
        QInputDialog, "getText", staticmethod(lambda *args, **kwargs: next(answers))
    )
    qtbot.mouseClick(window.new_document, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.documents.count() == 1 and window.documents.selectedItems() != [],
        timeout=TIMEOUT_MS,
    )
    upload_one(app, qtbot, files(tmp_path, 10)[0])
    qtbot.mouseClick(window.rename_document, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            window.documents.count() == 1 and window.documents.item(0).text() == "Signed contracts"
        ),
        timeout=TIMEOUT_MS,
    )

    confirmations: list[str] = []

    def confirm(parent: object, title: str, text: str) -> QMessageBox.StandardButton:
        confirmations.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(confirm))
    qtbot.mouseClick(window.delete_document, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.documents.count() == 0, timeout=TIMEOUT_MS)
    assert confirmations == ["Delete “Signed contracts” and all its attachments?"]
    assert window.attachments.rowCount() == 0
    with server.client(server.service_key) as storage:
        assert storage.post(f"/object/list-v2/{BUCKET}", json={}).json()["objects"] == []
