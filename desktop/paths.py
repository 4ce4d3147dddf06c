"""Where the app keeps its files, following each platform's conventions (platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = [
    "APP_NAME",
    "DATA_DIR_ENV",
    "embedded_server_dir",
    "incident_log_path",
    "journal_path",
    "user_data_dir",
]

APP_NAME = "attachments"
DATA_DIR_ENV = "ATTACHMENTS_DATA_DIR"  # overrides the platform's user data directory


def user_data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def journal_path(data_dir: Path) -> Path:
    return data_dir / "journal.sqlite3"


def incident_log_path(data_dir: Path) -> Path:
    return data_dir / "incidents.jsonl"


def embedded_server_dir() -> Path:
    return user_data_dir() / "embedded-server"
