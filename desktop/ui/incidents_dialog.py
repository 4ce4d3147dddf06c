"""The incidents view: the incident log, and reconciliation (dry run, or purge when allowed)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.services.incidents import Incident
from desktop.services.reconcile import ReconcileReport
from desktop.ui.controller import AppController

__all__ = ["IncidentsDialog"]


def _tr(text: str) -> str:
    return QCoreApplication.translate("IncidentsDialog", text)


class IncidentsDialog(QDialog):
    def __init__(self, controller: AppController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self.setWindowTitle(_tr("Incidents"))
        self.resize(900, 500)
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels(
            [_tr("Time"), _tr("Type"), _tr("Object"), _tr("Attempts"), _tr("Last error")]
        )
        self.table.setAccessibleName(_tr("Incident log"))
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.dry_run = QPushButton(_tr("Reconcile (dry run)"), self)
        self.purge = QPushButton(_tr("Purge orphans…"), self)
        has_service_key = controller.services.reconciler is not None
        self.dry_run.setEnabled(has_service_key)
        self.purge.setEnabled(has_service_key)
        if not has_service_key:
            self.outcome.setText(_tr("Reconciliation needs the project's service_role key."))
        self.dry_run.clicked.connect(self._on_dry_run_clicked)
        self.purge.clicked.connect(self._on_purge_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.dry_run)
        buttons.addWidget(self.purge)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.outcome)
        layout.addLayout(buttons)
        controller.incidents_changed.connect(self.show_incidents)
        controller.reconciled.connect(self._on_controller_reconciled)
        controller.refresh_incidents()

    def show_incidents(self, incidents: list[Incident]) -> None:
        self.table.setRowCount(0)
        for incident in reversed(incidents):
            row = self.table.rowCount()
            self.table.insertRow(row)
            values = (
                incident.time,
                incident.type,
                f"{incident.bucket}/{incident.object_path}",
                str(incident.attempts),
                incident.last_error or "",
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))

    def _on_dry_run_clicked(self) -> None:
        self.outcome.setText(_tr("Reconciling…"))
        self._controller.reconcile(purge=False)

    def _on_purge_clicked(self) -> None:
        answer = QMessageBox.question(
            self,
            _tr("Purge orphans"),
            _tr("Delete every orphaned object and dangling row older than the grace window?"),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.outcome.setText(_tr("Purging…"))
            self._controller.reconcile(purge=True)

    def _on_controller_reconciled(self, report: ReconcileReport) -> None:
        text = _tr(
            "{objects} objects and {rows} rows checked: "
            "{orphans} orphaned objects, {dangling} dangling rows."
        ).format(
            objects=report.objects_scanned,
            rows=report.rows_scanned,
            orphans=len(report.orphans),
            dangling=len(report.dangling_rows),
        )
        if report.purged_objects or report.purged_rows:
            text += " " + _tr("Purged {objects} objects and {rows} rows.").format(
                objects=report.purged_objects, rows=report.purged_rows
            )
        self.outcome.setText(text)
