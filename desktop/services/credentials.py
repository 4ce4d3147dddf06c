"""How requests are authorised: a Protocol, and the API-key form (anon or service_role).
A Qt-free zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ApiKeyCredentials", "Credentials"]


class Credentials(Protocol):
    """Supplies the ``apikey`` and ``Authorization`` headers for the next request."""

    async def headers(self) -> dict[str, str]: ...

    async def renew(self) -> bool:
        """Get fresh credentials after the server refused them; False if that is impossible."""
        ...


@dataclass(frozen=True, slots=True)
class ApiKeyCredentials:
    """Calls made with a project key itself as the bearer (service jobs, or anon)."""

    api_key: str = field(repr=False)

    async def headers(self) -> dict[str, str]:
        return {"apikey": self.api_key, "Authorization": f"Bearer {self.api_key}"}

    async def renew(self) -> bool:
        return False  # a key cannot renew itself
