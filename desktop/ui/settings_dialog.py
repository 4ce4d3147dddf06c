"""Settings: connection (embedded default or a Supabase project with sign-in), uploads, previews.

The refresh token and keys go to the OS keyring only; with no usable keyring the dialog says so
and offers to keep them for this session only.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.config import AppSettings, ConnectionMode
from desktop.services.pipeline import MAX_CONCURRENCY

__all__ = ["SettingsDialog"]

MIB = 1024 * 1024


def _tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


class SettingsDialog(QDialog):
    """Signals:
    settings_accepted(AppSettings, str anon_key, str password, bool session_only)
    """

    settings_accepted = Signal(object, str, str, bool)

    def __init__(
        self, settings: AppSettings, keyring_problem: str | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(_tr("Settings"))
        self._settings = settings
        self.embedded = QRadioButton(_tr("Embedded local server (no account needed)"), self)
        self.project = QRadioButton(_tr("Supabase project"), self)
        (
            self.project if settings.connection_mode is ConnectionMode.PROJECT else self.embedded
        ).setChecked(True)
        self.url = QLineEdit(settings.project_url, self)
        self.url.setPlaceholderText("https://<ref>.supabase.co")
        self.anon_key = QLineEdit(self)
        self.anon_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.email = QLineEdit(settings.email, self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.keyring_note = QLabel(
            keyring_problem or _tr("Credentials are kept in the system keyring."), self
        )
        self.keyring_note.setWordWrap(True)
        self.session_only = QCheckBox(_tr("Keep credentials for this session only"), self)
        self.session_only.setVisible(keyring_problem is not None)
        self.session_only.setChecked(keyring_problem is not None)
        connection = QGroupBox(_tr("Connection"), self)
        connection_form = QFormLayout(connection)
        connection_form.addRow(self.embedded)
        connection_form.addRow(self.project)
        connection_form.addRow(_tr("Project URL"), self.url)
        connection_form.addRow(_tr("Anon key"), self.anon_key)
        connection_form.addRow(_tr("Email"), self.email)
        connection_form.addRow(_tr("Password"), self.password)
        connection_form.addRow(self.keyring_note)
        connection_form.addRow(self.session_only)

        self.concurrency = QSpinBox(self)
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(settings.concurrency)
        self.sequential = QCheckBox(_tr("Upload one file at a time"), self)
        self.sequential.setChecked(settings.sequential_uploads)
        self.max_size = QSpinBox(self)
        self.max_size.setRange(1, 1024 * 1024)
        self.max_size.setSuffix(" MiB")
        self.max_size.setValue(max(settings.max_file_size_bytes // MIB, 1))
        uploads = QGroupBox(_tr("Uploads"), self)
        uploads_form = QFormLayout(uploads)
        uploads_form.addRow(_tr("Parallel uploads"), self.concurrency)
        uploads_form.addRow(self.sequential)
        uploads_form.addRow(_tr("Largest file"), self.max_size)

        self.ttl = QSpinBox(self)
        self.ttl.setRange(2, 24 * 60)
        self.ttl.setSuffix(_tr(" min"))
        self.ttl.setValue(settings.signed_url_ttl_s // 60)
        self.margin = QSpinBox(self)
        self.margin.setRange(1, 24 * 60 - 1)
        self.margin.setSuffix(_tr(" min"))
        self.margin.setValue(settings.signed_url_margin_s // 60)
        previews = QGroupBox(_tr("Previews"), self)
        previews_form = QFormLayout(previews)
        previews_form.addRow(_tr("Signed link lifetime"), self.ttl)
        previews_form.addRow(_tr("Renew links this long before expiry"), self.margin)

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (connection, uploads, previews, self.error, buttons):
            layout.addWidget(widget)

    def chosen(self) -> AppSettings:
        return replace(
            self._settings,
            connection_mode=ConnectionMode.PROJECT
            if self.project.isChecked()
            else ConnectionMode.EMBEDDED,
            project_url=self.url.text().strip(),
            email=self.email.text().strip(),
            concurrency=self.concurrency.value(),
            sequential_uploads=self.sequential.isChecked(),
            max_file_size_bytes=self.max_size.value() * MIB,
            signed_url_ttl_s=self.ttl.value() * 60,
            signed_url_margin_s=self.margin.value() * 60,
        )

    def accept(self) -> None:
        chosen = self.chosen()
        if chosen.signed_url_margin_s >= chosen.signed_url_ttl_s:
            self.error.setText(_tr("The renewal margin must be shorter than the link lifetime."))
            return
        if chosen.connection_mode is ConnectionMode.PROJECT and not (
            chosen.project_url.startswith("http") and self.anon_key.text()
        ):
            self.error.setText(_tr("A Supabase project needs its URL and anon key."))
            return
        self.settings_accepted.emit(
            chosen, self.anon_key.text(), self.password.text(), self.session_only.isChecked()
        )
        super().accept()
