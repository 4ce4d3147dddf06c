"""The centre list: one row per attachment or upload, with its own progress bar and actions."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QWidget,
)

from desktop.domain.progress import ThroughputMeter
from desktop.domain.records import Attachment
from desktop.domain.states import UploadState, UploadStatus

__all__ = ["QtAttachmentTable", "human_size", "status_text"]

COLUMNS = ("name", "size", "state", "progress", "speed", "actions")


def _tr(text: str) -> str:
    return QCoreApplication.translate("QtAttachmentTable", text)


def human_size(size_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size_bytes) < 1024 or unit == "GB":
            return f"{size_bytes:.0f} {unit}" if unit == "B" else f"{size_bytes:.1f} {unit}"
        size_bytes /= 1024
    return f"{size_bytes:.1f} TB"  # pragma: no cover - the loop returns at GB


_STATUS_TEXT = {
    UploadStatus.QUEUED: "Queued",
    UploadStatus.UPLOADING: "Uploading",
    UploadStatus.REGISTERING: "Registering",
    UploadStatus.DONE: "Done",
    UploadStatus.FAILED: "Failed",
    UploadStatus.ROLLING_BACK: "Rolling back",
    UploadStatus.ROLLED_BACK: "Rolled back",
    UploadStatus.ORPHANED: "Orphaned",
    UploadStatus.CANCELLED: "Cancelled",
}


def status_text(status: UploadStatus) -> str:
    return _tr(_STATUS_TEXT[status])


class _RowActions(QWidget):
    def __init__(self, parent: QWidget, file_name: str) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        style = self.style()
        self.cancel = self._button(
            _tr("Cancel"),
            style.standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton),
            file_name,
        )
        self.retry = self._button(
            _tr("Retry"), style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), file_name
        )
        self.preview = self._button(
            _tr("Preview"),
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            file_name,
        )
        self.remove = self._button(
            _tr("Remove"), style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon), file_name
        )
        for button in (self.cancel, self.retry, self.preview, self.remove):
            layout.addWidget(button)

    def _button(self, label: str, icon: QIcon, file_name: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(label)
        button.setIcon(icon)
        button.setToolTip(label)
        button.setAccessibleName(f"{label} {file_name}")
        return button


class QtAttachmentTable(QTableWidget):
    """Renders upload states and stored attachments; a drop zone for files and folders.

    Signals:
    files_dropped(list[Path]), cancel_requested(UploadId), retry_requested(UploadId),
    remove_requested(str), preview_requested(Attachment), state_announced(str).
    """

    files_dropped = Signal(list)
    cancel_requested = Signal(object)
    retry_requested = Signal(object)
    remove_requested = Signal(str)
    preview_requested = Signal(object)
    state_announced = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self._clock = clock
        self.setHorizontalHeaderLabels(
            [
                _tr("Name"),
                _tr("Size"),
                _tr("State"),
                _tr("Progress"),
                _tr("Speed / ETA"),
                _tr("Actions"),
            ]
        )
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setColumnWidth(COLUMNS.index("speed"), 170)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setAccessibleName(_tr("Attachments"))
        self._rows: dict[str, int] = {}
        self._states: dict[str, UploadState] = {}
        self._attachments: dict[str, Attachment] = {}
        self._meters: dict[str, ThroughputMeter] = {}
        self._thumbnails: set[str] = set()
        self.cellDoubleClicked.connect(self._on_cell_double_clicked)

    # Rendering

    def row_of(self, key: str) -> int | None:
        return self._rows.get(key)

    def progress_bar(self, key: str) -> QProgressBar:
        row = self._rows[key]
        widget = self.cellWidget(row, COLUMNS.index("progress"))
        assert isinstance(widget, QProgressBar)
        return widget

    def row_actions(self, key: str) -> _RowActions:
        widget = self.cellWidget(self._rows[key], COLUMNS.index("actions"))
        assert isinstance(widget, _RowActions)
        return widget

    def state_text(self, key: str) -> str:
        item = self.item(self._rows[key], COLUMNS.index("state"))
        return item.text() if item else ""

    def _set_text(self, row: int, column: str, text: str) -> None:
        item = self.item(row, COLUMNS.index(column))
        assert item is not None, "every row gets its items when created"
        item.setText(text)

    def clear_rows(self) -> None:
        self.setRowCount(0)
        self._rows.clear()
        self._states.clear()
        self._attachments.clear()
        self._meters.clear()
        self._thumbnails.clear()

    def retain(self, keys: set[str]) -> None:
        """Drop the rows whose key is not in ``keys`` (others keep their widgets)."""
        for key in [k for k in self._rows if k not in keys]:
            self.removeRow(self._rows.pop(key))
            self._states.pop(key, None)
            self._attachments.pop(key, None)
            self._meters.pop(key, None)
            self._thumbnails.discard(key)
        for row in range(self.rowCount()):
            item = self.item(row, 0)
            if item is not None:
                self._rows[str(item.data(Qt.ItemDataRole.UserRole))] = row

    def _ensure_row(self, key: str, file_name: str) -> int:
        row = self._rows.get(key)
        if row is not None:
            return row
        row = self.rowCount()
        self.insertRow(row)
        self._rows[key] = row
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        name = QTableWidgetItem(icon, file_name)
        name.setData(Qt.ItemDataRole.UserRole, key)
        self.setItem(row, COLUMNS.index("name"), name)
        for column in ("size", "state", "speed"):
            self.setItem(row, COLUMNS.index(column), QTableWidgetItem(""))
        bar = QProgressBar(self)
        bar.setRange(0, 1000)
        bar.setAccessibleName(_tr("Upload progress of {name}").format(name=file_name))
        self.setCellWidget(row, COLUMNS.index("progress"), bar)
        actions = _RowActions(self, file_name)
        actions.cancel.clicked.connect(lambda: self._on_action("cancel", key))
        actions.retry.clicked.connect(lambda: self._on_action("retry", key))
        actions.remove.clicked.connect(lambda: self._on_action("remove", key))
        actions.preview.clicked.connect(lambda: self._on_action("preview", key))
        self.setCellWidget(row, COLUMNS.index("actions"), actions)
        return row

    def render_state(self, state: UploadState) -> None:
        """Show ``state`` in its row (created on first sight). Idempotent."""
        key = str(state.upload_id)
        row = self._ensure_row(key, state.file_name)
        previous = self._states.get(key)
        self._states[key] = state
        self._set_text(row, "size", human_size(state.size_bytes))
        text = status_text(state.status)
        if state.error_message and state.status in {
            UploadStatus.FAILED,
            UploadStatus.ROLLED_BACK,
            UploadStatus.ORPHANED,
        }:
            text = f"{text}: {state.error_message}"
        self._set_text(row, "state", text)
        done = state.size_bytes if state.status is UploadStatus.DONE else state.bytes_sent
        bar = self.progress_bar(key)
        bar.setValue(
            int(1000 * done / state.size_bytes)
            if state.size_bytes
            else (1000 if state.status is UploadStatus.DONE else 0)
        )
        bar.setAccessibleDescription(text)
        self._set_text(row, "speed", self._speed_text(key, state))
        actions = self.row_actions(key)
        actions.cancel.setEnabled(state.status in {UploadStatus.QUEUED, UploadStatus.UPLOADING})
        actions.retry.setEnabled(
            state.status in {UploadStatus.FAILED, UploadStatus.ROLLED_BACK, UploadStatus.CANCELLED}
        )
        actions.preview.setEnabled(state.status is UploadStatus.DONE and key in self._attachments)
        actions.remove.setEnabled(state.status is UploadStatus.DONE and key in self._attachments)
        if previous is None or previous.status is not state.status:
            self.state_announced.emit(f"{state.file_name}: {text}")

    def _speed_text(self, key: str, state: UploadState) -> str:
        if state.status is not UploadStatus.UPLOADING:
            self._meters.pop(key, None)
            return ""
        meter = self._meters.setdefault(key, ThroughputMeter(self._clock))
        meter.record(state.bytes_sent)
        speed = meter.bytes_per_s()
        if speed <= 0:
            return ""
        eta = (state.size_bytes - state.bytes_sent) / speed
        return _tr("{speed}/s, {eta:.0f} s left").format(speed=human_size(speed), eta=eta)

    def render_attachment(self, attachment: Attachment) -> None:
        """Show a stored attachment (its row id is its upload id)."""
        key = attachment.id
        self._attachments[key] = attachment
        row = self._ensure_row(key, attachment.file_name)
        state = self._states.get(key)
        if state is not None:
            self.render_state(state)
            return
        self._set_text(row, "size", human_size(attachment.size_bytes))
        self._set_text(row, "state", status_text(UploadStatus.DONE))
        self.progress_bar(key).setValue(1000)
        actions = self.row_actions(key)
        actions.cancel.setEnabled(False)
        actions.retry.setEnabled(False)
        actions.preview.setEnabled(True)
        actions.remove.setEnabled(True)

    def show_thumbnail(self, key: str, path: Path) -> None:
        row = self._rows.get(key)
        pixmap = QPixmap(str(path))
        if row is None or pixmap.isNull():
            return
        item = self.item(row, COLUMNS.index("name"))
        if item is not None:
            item.setIcon(QIcon(pixmap.scaled(48, 48, Qt.AspectRatioMode.KeepAspectRatio)))
            self._thumbnails.add(key)

    def has_thumbnail(self, key: str) -> bool:
        return key in self._thumbnails

    def attachment(self, key: str) -> Attachment | None:
        return self._attachments.get(key)

    def selected_key(self) -> str | None:
        rows = self.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.item(rows[0].row(), 0)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item else None

    # Intents

    def _on_action(self, action: str, key: str) -> None:
        if action == "cancel" and key in self._states:
            self.cancel_requested.emit(self._states[key].upload_id)
        elif action == "retry" and key in self._states:
            self.retry_requested.emit(self._states[key].upload_id)
        elif action == "remove" and key in self._attachments:
            self.remove_requested.emit(key)
        elif action == "preview" and key in self._attachments:
            self.preview_requested.emit(self._attachments[key])

    def trigger(self, action: str) -> None:
        """Run a row action on the selected row (keyboard shortcuts)."""
        key = self.selected_key()
        if key is not None:
            self._on_action(action, key)

    def _on_cell_double_clicked(self, row: int, column: int) -> None:
        item = self.item(row, 0)
        if item is not None:
            self._on_action("preview", str(item.data(Qt.ItemDataRole.UserRole)))

    # Drop zone

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        else:
            event.ignore()
