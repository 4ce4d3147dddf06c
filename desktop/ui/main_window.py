"""The main window: documents on the left, the selected document's attachments in the centre,
aggregate progress in the status bar, and an alert banner for consistency incidents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.progress import summarize
from desktop.domain.records import Attachment, Document
from desktop.domain.states import UploadState, UploadStatus
from desktop.domain.store import UploadStore
from desktop.services.incidents import Incident
from desktop.services.validation import Rejection
from desktop.ui.bridge import StoreBridge
from desktop.ui.controller import AppController
from desktop.ui.incidents_dialog import IncidentsDialog
from desktop.ui.preview_dialog import PreviewDialog
from desktop.ui.qt_attachments import QtAttachmentTable, human_size

__all__ = ["MainWindow"]

ALERT_TYPES = {"metadata_insert_failed", "orphaned_object", "cascade_delete_failed"}


def _tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


class MainWindow(QMainWindow):
    """Signals:
    closed(): the user closed the window.
    """

    closed = Signal()

    def __init__(self, controller: AppController, store: UploadStore, bridge: StoreBridge) -> None:
        super().__init__()
        self._controller = controller
        self._store = store
        self._seen_alerts = 0
        self.setWindowTitle(_tr("Attachments"))
        self.resize(1100, 700)

        self.documents = QListWidget(self)
        self.documents.setAccessibleName(_tr("Documents"))
        self.new_document = QPushButton(_tr("New…"), self)
        self.rename_document = QPushButton(_tr("Rename…"), self)
        self.delete_document = QPushButton(_tr("Delete…"), self)
        for button in (self.new_document, self.rename_document, self.delete_document):
            button.setAccessibleName(button.text().rstrip("…") + " " + _tr("document"))
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel(_tr("Documents")))
        left_layout.addWidget(self.documents, 1)
        document_buttons = QHBoxLayout()
        for button in (self.new_document, self.rename_document, self.delete_document):
            document_buttons.addWidget(button)
        left_layout.addLayout(document_buttons)

        self.banner = QLabel(self)
        self.banner.setObjectName("alertBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "#alertBanner { background: palette(highlight);"
            " color: palette(highlighted-text); padding: 6px; }"
        )
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.linkActivated.connect(self._on_banner_link_activated)
        self.banner.setAccessibleName(_tr("Alert"))
        self.banner.hide()
        self.attachments = QtAttachmentTable(self)
        self.rejections = QLabel(self)
        self.rejections.setWordWrap(True)
        self.rejections.hide()
        self.add_files = QPushButton(_tr("Add files…"), self)
        self.add_files.setAccessibleName(_tr("Add files"))
        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.addWidget(self.banner)
        centre_layout.addWidget(self.attachments, 1)
        centre_layout.addWidget(self.rejections)
        centre_layout.addWidget(self.add_files, 0, Qt.AlignmentFlag.AlignRight)

        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(centre)
        splitter.setStretchFactor(1, 3)
        self.setCentralWidget(splitter)
        self.summary = QLabel(self)
        self.summary.setAccessibleName(_tr("Upload summary"))
        self.statusBar().addPermanentWidget(self.summary, 1)
        self._build_menus()

        self.documents.currentItemChanged.connect(self._on_documents_current_item_changed)
        self.new_document.clicked.connect(self._on_new_document_clicked)
        self.rename_document.clicked.connect(self._on_rename_document_clicked)
        self.delete_document.clicked.connect(self._on_delete_document_clicked)
        self.add_files.clicked.connect(self._on_add_files_clicked)
        self.attachments.files_dropped.connect(controller.add_files)
        self.attachments.cancel_requested.connect(controller.cancel_upload)
        self.attachments.retry_requested.connect(controller.retry_upload)
        self.attachments.remove_requested.connect(controller.remove_attachment)
        self.attachments.preview_requested.connect(self.open_preview)
        self.attachments.state_announced.connect(self._on_attachments_state_announced)
        bridge.upload_changed.connect(self._on_bridge_upload_changed)
        controller.documents_changed.connect(self.show_documents)
        controller.attachments_changed.connect(self.show_attachments)
        controller.files_rejected.connect(self.show_rejections)
        controller.incidents_changed.connect(self.show_incidents)
        controller.failed.connect(self._on_controller_failed)
        controller.thumbnail_ready.connect(self.attachments.show_thumbnail)
        self.preview: PreviewDialog | None = None
        self.incidents_dialog: IncidentsDialog | None = None

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(_tr("&File"))
        actions: list[
            tuple[QMenu, str, QKeySequence | QKeySequence.StandardKey, Callable[[], object]]
        ] = [
            (
                file_menu,
                _tr("&New document…"),
                QKeySequence.StandardKey.New,
                self._on_new_document_clicked,
            ),
            (
                file_menu,
                _tr("&Add files…"),
                QKeySequence.StandardKey.Open,
                self._on_add_files_clicked,
            ),
            (file_menu, _tr("&Quit"), QKeySequence.StandardKey.Quit, self.close),
        ]
        edit_menu = self.menuBar().addMenu(_tr("&Attachment"))
        actions += [
            (
                edit_menu,
                _tr("&Preview"),
                QKeySequence("Space"),
                lambda: self.attachments.trigger("preview"),
            ),
            (
                edit_menu,
                _tr("&Cancel upload"),
                QKeySequence("Ctrl+."),
                lambda: self.attachments.trigger("cancel"),
            ),
            (
                edit_menu,
                _tr("&Retry upload"),
                QKeySequence("Ctrl+R"),
                lambda: self.attachments.trigger("retry"),
            ),
            (
                edit_menu,
                _tr("Re&move"),
                QKeySequence.StandardKey.Delete,
                lambda: self.attachments.trigger("remove"),
            ),
        ]
        view_menu = self.menuBar().addMenu(_tr("&View"))
        actions.append((view_menu, _tr("&Incidents…"), QKeySequence("Ctrl+I"), self.open_incidents))
        for menu, label, shortcut, slot in actions:
            action = QAction(label, self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            menu.addAction(action)

    # Rendering

    def show_documents(self, documents: list[Document]) -> None:
        current = self._controller.current_document_id
        self.documents.blockSignals(True)
        self.documents.clear()
        for document in documents:
            item = QListWidgetItem(document.title)
            item.setData(Qt.ItemDataRole.UserRole, document.id)
            self.documents.addItem(item)
            if document.id == current:
                self.documents.setCurrentItem(item)
        self.documents.blockSignals(False)
        if current is None and documents:
            self.documents.setCurrentRow(0)
        elif current is None:
            self.attachments.clear_rows()

    def show_attachments(self, document_id: str, attachments: list[Attachment]) -> None:
        if document_id != self._controller.current_document_id:
            return
        uploads = [s for s in self._store.snapshot().values() if str(s.document_id) == document_id]
        self.attachments.retain({a.id for a in attachments} | {str(s.upload_id) for s in uploads})
        for state in uploads:
            self.attachments.render_state(state)
        for attachment in attachments:
            self.attachments.render_attachment(attachment)

    def show_rejections(self, rejections: list[Rejection]) -> None:
        lines = [
            _tr("{name}: {reason}").format(name=r.path.name or str(r.path), reason=r.reason)
            for r in rejections
        ]
        self.rejections.setText(_tr("Not uploaded:") + "\n" + "\n".join(lines))
        self.rejections.show()

    def show_incidents(self, incidents: list[Incident]) -> None:
        alerts = [incident for incident in incidents if incident.type in ALERT_TYPES]
        self._seen_alerts = len(alerts)
        self._update_banner()

    def _update_banner(self) -> None:
        live = summarize(self._store.snapshot().values()).insert_failures
        count = max(self._seen_alerts, live)
        if count:
            self.banner.setText(
                _tr(
                    "{count} upload(s) stored a file but could not register it. "
                    "<a href='incidents'>View incidents</a>"
                ).format(count=count)
            )
            self.banner.show()
        else:
            self.banner.hide()

    def _on_bridge_upload_changed(self, state: UploadState) -> None:
        if str(state.document_id) == self._controller.current_document_id:
            self.attachments.render_state(state)
        if (
            state.status is UploadStatus.DONE
            and str(state.document_id) == self._controller.current_document_id
        ):
            self._controller.refresh_attachments()
        summary = summarize(self._store.snapshot().values())
        counts = ", ".join(
            f"{n} {status.value.replace('_', ' ')}"
            for status, n in sorted(summary.counts.items(), key=lambda kv: kv[0].value)
        )
        failed = _tr(", {n} failed").format(n=summary.failed) if summary.failed else ""
        self.summary.setText(
            _tr("{done} of {total} ({percent:.0%}){failed} — {counts}").format(
                done=human_size(summary.bytes_done),
                total=human_size(summary.total_bytes),
                percent=summary.fraction_done,
                failed=failed,
                counts=counts,
            )  # fmt: skip
        )
        self._update_banner()

    def _on_attachments_state_announced(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    def _on_controller_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    # Intents

    def _on_documents_current_item_changed(
        self, current: QListWidgetItem | None, previous: QListWidgetItem | None
    ) -> None:
        self.attachments.clear_rows()
        self._controller.select_document(
            str(current.data(Qt.ItemDataRole.UserRole)) if current else None
        )

    def _on_new_document_clicked(self) -> None:
        title, ok = QInputDialog.getText(self, _tr("New document"), _tr("Title:"))
        if ok and title.strip():
            self._controller.create_document(title.strip())

    def _on_rename_document_clicked(self) -> None:
        selected = self.documents.selectedItems()
        if not selected:
            return
        item = selected[0]
        title, ok = QInputDialog.getText(
            self, _tr("Rename document"), _tr("Title:"), text=item.text()
        )
        if ok and title.strip():
            self._controller.rename_document(
                str(item.data(Qt.ItemDataRole.UserRole)), title.strip()
            )

    def _on_delete_document_clicked(self) -> None:
        selected = self.documents.selectedItems()
        if not selected:
            return
        item = selected[0]
        answer = QMessageBox.question(
            self,
            _tr("Delete document"),
            _tr("Delete “{title}” and all its attachments?").format(title=item.text()),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._controller.delete_document(str(item.data(Qt.ItemDataRole.UserRole)))

    def _on_add_files_clicked(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, _tr("Add files"))
        if names:
            self._controller.add_files([Path(name) for name in names])

    def _on_banner_link_activated(self, link: str) -> None:
        self.open_incidents()

    def open_preview(self, attachment: Attachment) -> PreviewDialog:
        self.preview = PreviewDialog(self._controller, attachment, self)
        self.preview.open()
        return self.preview

    def open_incidents(self) -> IncidentsDialog:
        self.incidents_dialog = IncidentsDialog(self._controller, self)
        self.incidents_dialog.open()
        return self.incidents_dialog

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.closed.emit()
        super().closeEvent(event)
