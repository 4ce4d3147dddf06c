"""Non-secret settings persisted with QSettings (secrets never go here: see services.secrets)."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtCore import QSettings

from desktop.config import AppSettings, ConnectionMode

__all__ = ["load_settings", "save_settings"]


def load_settings(store: QSettings) -> AppSettings:
    defaults = AppSettings()
    values: dict[str, object] = {}
    for field in fields(AppSettings):
        default = getattr(defaults, field.name)
        raw = store.value(field.name, default)
        if isinstance(default, bool):
            values[field.name] = raw in (True, "true", "1", 1)
        elif isinstance(default, ConnectionMode):
            values[field.name] = (
                ConnectionMode(str(raw)) if str(raw) in set(ConnectionMode) else default
            )
        elif isinstance(default, int):
            try:
                values[field.name] = int(str(raw))
            except ValueError:
                values[field.name] = default
        else:
            values[field.name] = str(raw)
    return AppSettings(**values)  # type: ignore[arg-type]  # each value typed from its default


def save_settings(store: QSettings, settings: AppSettings) -> None:
    for field in fields(AppSettings):
        value = getattr(settings, field.name)
        store.setValue(field.name, value.value if isinstance(value, ConnectionMode) else value)
    store.sync()
