"""Where the app keeps its files, following each platform's conventions (platformdirs)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

__all__ = ["APP_NAME", "embedded_server_dir", "user_data_dir"]

APP_NAME = "attachments"


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def embedded_server_dir() -> Path:
    return user_data_dir() / "embedded-server"
