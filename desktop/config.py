"""Where the app connects: a Supabase project from the environment, or the embedded default.

Follows Supabase's own variable names (``SUPABASE_URL``, ``SUPABASE_ANON_KEY``,
``SUPABASE_SERVICE_ROLE_KEY``). Keys are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AppSettings", "ConnectionMode", "SupabaseSettings"]


class SupabaseSettings(BaseSettings):
    """A Supabase project's URL and keys; all unset means "use the embedded server"."""

    model_config = SettingsConfigDict(env_prefix="SUPABASE_", extra="ignore")

    url: str | None = None
    anon_key: SecretStr | None = None
    service_role_key: SecretStr | None = None

    @property
    def is_configured(self) -> bool:
        return bool(self.url and self.anon_key)


class ConnectionMode(StrEnum):
    EMBEDDED = "embedded"
    PROJECT = "project"


@dataclass(frozen=True, slots=True)
class AppSettings:
    """The window's non-secret settings (persisted with QSettings by the UI layer)."""

    connection_mode: ConnectionMode = ConnectionMode.EMBEDDED
    project_url: str = ""
    email: str = ""
    concurrency: int = 3
    sequential_uploads: bool = False
    max_file_size_bytes: int = 5 * 1024**3
    signed_url_ttl_s: int = 60 * 60
    signed_url_margin_s: int = 5 * 60
