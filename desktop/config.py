"""Where the app connects: a Supabase project from the environment, or the embedded default.

Follows Supabase's own variable names (``SUPABASE_URL``, ``SUPABASE_ANON_KEY``,
``SUPABASE_SERVICE_ROLE_KEY``). Keys are ``SecretStr`` so they never print.
"""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SupabaseSettings"]


class SupabaseSettings(BaseSettings):
    """A Supabase project's URL and keys; all unset means "use the embedded server"."""

    model_config = SettingsConfigDict(env_prefix="SUPABASE_", extra="ignore")

    url: str | None = None
    anon_key: SecretStr | None = None
    service_role_key: SecretStr | None = None

    @property
    def is_configured(self) -> bool:
        return bool(self.url and self.anon_key)
