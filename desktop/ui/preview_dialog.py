"""The preview dialog: images, PDFs, text, audio/video (streamed), or metadata for the rest.

Content comes through the signed-URL cache; a preview kept open re-signs before the cached URL
lapses, and streamed media resumes at the same position with the new URL.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QPixmap, QShortcut
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.records import TEXT_PREVIEW_MAX_BYTES, Attachment, preview_kind
from desktop.ui.controller import AppController, PreviewLoad
from desktop.ui.qt_attachments import human_size

__all__ = ["PreviewDialog"]

ZOOM_STEP = 1.25


def _tr(text: str) -> str:
    return QCoreApplication.translate("PreviewDialog", text)


class PreviewDialog(QDialog):
    """Modal preview of one attachment."""

    def __init__(
        self,
        controller: AppController,
        attachment: Attachment,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._attachment = attachment
        self._clock = controller.services.clock
        self.kind = preview_kind(attachment)
        self.url: str | None = None
        self.expires_at: float | None = None
        self.local_path: Path | None = None
        self._zoom = 1.0
        self._pixmap: QPixmap | None = None
        self._player: object | None = None
        self.setModal(True)
        self.setWindowTitle(attachment.file_name)
        self.resize(900, 700)

        self.pages = QStackedWidget(self)
        self.loading = QProgressBar(self)
        self.loading.setRange(0, max(attachment.size_bytes, 1))
        self.loading.setAccessibleName(_tr("Loading {name}").format(name=attachment.file_name))
        self.cancel_button = QPushButton(_tr("Cancel"), self)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        loading_page = QWidget(self)
        loading_layout = QVBoxLayout(loading_page)
        loading_layout.addWidget(QLabel(_tr("Loading {name}…").format(name=attachment.file_name)))
        loading_layout.addWidget(self.loading)
        loading_layout.addWidget(self.cancel_button)
        self.pages.addWidget(loading_page)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.pages.addWidget(self.message)
        self.content: QWidget | None = None

        self.link_label = QLabel(self)
        self.copy_link = QPushButton(_tr("Copy link"), self)
        self.copy_link.clicked.connect(self._on_copy_link_clicked)
        self.save_as = QPushButton(_tr("Save as…"), self)
        self.save_as.clicked.connect(self._on_save_as_clicked)
        self.open_externally = QPushButton(_tr("Open externally"), self)
        self.open_externally.clicked.connect(self._on_open_externally_clicked)
        footer = QHBoxLayout()
        footer.addWidget(self.link_label, 1)
        for button in (self.copy_link, self.save_as, self.open_externally):
            button.setEnabled(False)
            footer.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(footer)

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        QShortcut(QKeySequence.StandardKey.ZoomIn, self, lambda: self.zoom(ZOOM_STEP))
        QShortcut(QKeySequence.StandardKey.ZoomOut, self, lambda: self.zoom(1 / ZOOM_STEP))

        self._load = self._start_load()

    # Loading

    def _start_load(self) -> PreviewLoad:
        stream = self.kind in {"media", "other"}
        load = self._controller.load_preview(self._attachment, stream=stream)
        load.url_ready.connect(self._on_load_url_ready)
        load.failed.connect(self._on_load_failed)
        if not stream:
            load.progressed.connect(self.loading.setValue)
            load.loaded.connect(self._on_load_loaded)
        return load

    def _on_cancel_clicked(self) -> None:
        self._load.cancel()
        self.reject()

    def _on_load_failed(self, message: str) -> None:
        self.message.setText(message)
        self.message.setAccessibleName(message)
        self.pages.setCurrentWidget(self.message)

    def _on_load_url_ready(self, url: str, expires_at: float) -> None:
        self.url, self.expires_at = url, expires_at
        until = datetime.fromtimestamp(expires_at).strftime("%H:%M")
        self.link_label.setText(_tr("The link works until {time}.").format(time=until))
        self.copy_link.setEnabled(True)
        self.open_externally.setEnabled(True)
        self.save_as.setEnabled(True)
        due = self._controller.services.urls.refresh_due_at(self._attachment.object_path)
        if due is not None:
            self.refresh_timer.start(max(int((due - self._clock()) * 1000), 0))
        if self.kind == "media":
            self._show_media(url)
        elif self.kind == "other" and self.content is None:
            self._show_metadata()

    def _on_refresh_timer_timeout(self) -> None:
        """Re-sign before the cached URL lapses; streamed media continues where it was."""
        refresh = PreviewLoad(self)
        refresh.url_ready.connect(self._on_load_url_ready)
        refresh.failed.connect(self._on_load_failed)
        self._controller.refresh_preview_url(refresh, self._attachment)

    def _on_load_loaded(self, path: Path) -> None:
        self.local_path = path
        if self.kind == "image":
            self._show_image(path)
        elif self.kind == "pdf":
            self._show_pdf(path)
        else:
            self._show_text(path)

    # Content views

    def _set_content(self, widget: QWidget) -> None:
        self.content = widget
        self.pages.addWidget(widget)
        self.pages.setCurrentWidget(widget)

    def _show_image(self, path: Path) -> None:
        self._pixmap = QPixmap(str(path))
        if self._pixmap.isNull():
            self._on_load_failed(_tr("This image cannot be displayed."))
            return
        self.image = QLabel(self)
        self.image.setAccessibleName(self._attachment.file_name)
        area = QScrollArea(self)
        area.setWidget(self.image)
        area.setWidgetResizable(False)
        self._set_content(area)
        viewport = area.viewport().size()
        self._zoom = min(
            1.0,
            viewport.width() / max(self._pixmap.width(), 1),
            viewport.height() / max(self._pixmap.height(), 1),
        )
        self._apply_zoom()

    def _show_pdf(self, path: Path) -> None:
        self.pdf = QPdfDocument(self)
        self.pdf.load(str(path))
        if self.pdf.status() is not QPdfDocument.Status.Ready:
            self._on_load_failed(_tr("This PDF cannot be displayed."))
            return
        self.pdf_view = QPdfView(self)
        self.pdf_view.setPageMode(QPdfView.PageMode.MultiPage)
        self.pdf_view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.pdf_view.setDocument(self.pdf)
        self._set_content(self.pdf_view)

    def _show_text(self, path: Path) -> None:
        with path.open("rb") as source:
            raw = source.read(TEXT_PREVIEW_MAX_BYTES)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setPlainText(raw.decode("utf-8", errors="replace"))
        self.text.setAccessibleName(self._attachment.file_name)
        self._set_content(self.text)

    def _show_media(self, url: str) -> None:
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            from PySide6.QtMultimediaWidgets import QVideoWidget
        except ImportError:
            self._show_metadata()
            return
        if self._player is None:
            video = QVideoWidget(self)
            created = QMediaPlayer(self)
            created.setAudioOutput(QAudioOutput(self))
            created.setVideoOutput(video)
            self._player = created
            self._set_content(video)
            created.setSource(QUrl(url))
            return
        assert isinstance(self._player, QMediaPlayer)
        player = self._player
        position, playing = player.position(), player.isPlaying()
        player.setSource(QUrl(url))
        player.setPosition(position)
        if playing:
            player.play()

    def _show_metadata(self) -> None:
        panel = QWidget(self)
        form = QFormLayout(panel)
        form.addRow(_tr("Name"), QLabel(self._attachment.file_name))
        form.addRow(_tr("Type"), QLabel(self._attachment.content_type))
        form.addRow(_tr("Size"), QLabel(human_size(self._attachment.size_bytes)))
        form.addRow(_tr("SHA-256"), QLabel(self._attachment.sha256 or "—"))
        form.addRow(_tr("Uploaded"), QLabel(self._attachment.created_at))
        self._set_content(panel)

    # Zoom and actions

    def zoom(self, factor: float) -> None:
        if self.kind == "image" and self._pixmap is not None:
            self._zoom = min(max(self._zoom * factor, 0.05), 16.0)
            self._apply_zoom()
        elif self.kind == "pdf" and hasattr(self, "pdf_view"):
            self.pdf_view.setZoomMode(QPdfView.ZoomMode.Custom)
            self.pdf_view.setZoomFactor(self.pdf_view.zoomFactor() * factor)

    def _apply_zoom(self) -> None:
        assert self._pixmap is not None
        scaled = self._pixmap.scaled(self._pixmap.size() * self._zoom)
        self.image.setPixmap(scaled)
        self.image.resize(scaled.size())

    def _on_copy_link_clicked(self) -> None:
        if self.url:
            QGuiApplication.clipboard().setText(self.url)

    def _on_open_externally_clicked(self) -> None:
        target = (
            QUrl.fromLocalFile(str(self.local_path)) if self.local_path else QUrl(self.url or "")
        )
        QDesktopServices.openUrl(target)

    def _on_save_as_clicked(self) -> None:
        destination, _ = QFileDialog.getSaveFileName(
            self, _tr("Save as"), self._attachment.file_name
        )
        if not destination:
            return
        if self.local_path is not None:
            shutil.copyfile(self.local_path, destination)
            return
        load = self._controller.load_preview(self._attachment)
        load.loaded.connect(lambda path: shutil.copyfile(path, destination))
        load.failed.connect(self._on_load_failed)

    def done(self, result: int) -> None:
        self.refresh_timer.stop()
        self._load.cancel()
        super().done(result)
