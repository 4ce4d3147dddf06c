"""Where the store meets Qt: store changes re-emitted as a signal (safe across threads: the
states are immutable)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop.domain.states import UploadState
from desktop.domain.store import UploadStore

__all__ = ["StoreBridge"]


class StoreBridge(QObject):
    """Signals:
    upload_changed(UploadState): an upload's state changed.
    """

    upload_changed = Signal(object)

    def __init__(self, store: UploadStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe = store.subscribe(self._on_store_changed)

    def _on_store_changed(self, state: UploadState) -> None:
        self.upload_changed.emit(state)

    def detach(self) -> None:
        self._unsubscribe()
