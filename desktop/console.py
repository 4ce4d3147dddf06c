"""Per-file progress bars for the terminal, drawn from store states (the CLI's thin view)."""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

from desktop.domain.states import UploadId, UploadState, UploadStatus

__all__ = ["ProgressBoard"]

BAR_CHARS = 24


def _bar(state: UploadState) -> str:
    fraction = state.bytes_sent / state.size_bytes if state.size_bytes else 1.0
    if state.status is UploadStatus.DONE:
        fraction = 1.0
    filled = int(fraction * BAR_CHARS)
    return "[" + "#" * filled + "-" * (BAR_CHARS - filled) + f"] {fraction:4.0%}"


def describe(state: UploadState) -> str:
    line = f"{_bar(state)}  {state.status.value:<12} {state.file_name}"
    if state.error_message:
        line += f"  ({state.error_message})"
    return line


class ProgressBoard:
    """Redraws one line per upload on a TTY; elsewhere prints each status change once."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._is_tty = out.isatty()
        self._order: list[UploadId] = []
        self._states: dict[UploadId, UploadState] = {}
        self._drawn = 0

    def on_state(self, state: UploadState) -> None:
        previous = self._states.get(state.upload_id)
        if state.upload_id not in self._states:
            self._order.append(state.upload_id)
        self._states[state.upload_id] = state
        if self._is_tty:
            self._redraw()
        elif previous is None or previous.status is not state.status:
            self._out.write(describe(state) + "\n")
            self._out.flush()

    def _redraw(self) -> None:
        width = shutil.get_terminal_size().columns
        if self._drawn:
            self._out.write(f"\x1b[{self._drawn}F")
        for upload_id in self._order:
            self._out.write("\x1b[2K" + describe(self._states[upload_id])[: width - 1] + "\n")
        self._drawn = len(self._order)
        self._out.flush()
