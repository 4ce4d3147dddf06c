"""A signed-in user's credentials that refresh themselves before the access token expires.
A Qt-free zone."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from desktop.domain.errors import AuthError
from desktop.services.auth_api import AuthApi, Session

__all__ = ["REFRESH_MARGIN_S", "Reauthenticate", "UserSession"]

log = logging.getLogger(__name__)

Reauthenticate = Callable[[], Awaitable[tuple[str, Session]]]

# Refresh this long before expiry, so a request never leaves with a token about to lapse.
REFRESH_MARGIN_S = 60.0


class UserSession:
    """``Credentials`` for a user: anon key as ``apikey``, the user's access token as bearer.

    Refresh tokens rotate; ``on_refreshed`` hears every new session (to keep the refresh token
    in the OS keyring). Concurrent callers share one refresh.
    """

    def __init__(
        self,
        auth: AuthApi,
        anon_key: str,
        session: Session,
        *,
        clock: Callable[[], float] = time.time,
        refresh_margin_s: float = REFRESH_MARGIN_S,
        on_refreshed: Callable[[Session], None] | None = None,
        reauthenticate: Reauthenticate | None = None,
    ) -> None:
        self._auth = auth
        self._anon_key = anon_key
        self._session = session
        self._clock = clock
        self._margin_s = refresh_margin_s
        self._on_refreshed = on_refreshed
        self._reauthenticate = reauthenticate
        self._lock = asyncio.Lock()

    @property
    def session(self) -> Session:
        return self._session

    @property
    def user_id(self) -> str:
        return self._session.user_id

    async def headers(self) -> dict[str, str]:
        session = await self.current()
        return {"apikey": self._anon_key, "Authorization": f"Bearer {session.access_token}"}

    async def current(self) -> Session:
        """The session, refreshed first when its access token expires within the margin."""
        if not self._is_due():
            return self._session
        stale = self._session
        async with self._lock:
            # Another caller may have refreshed while we waited for the lock.
            if self._session is stale:
                self._session = await self._auth.refresh(self._session.refresh_token)
                log.info("session refreshed")
                if self._on_refreshed is not None:
                    self._on_refreshed(self._session)
        return self._session

    async def renew(self) -> bool:
        """Refresh now: the server refused the access token (e.g. its signing secret rotated)."""
        stale = self._session
        async with self._lock:
            if self._session is stale:
                try:
                    self._session = await self._auth.refresh(stale.refresh_token)
                except AuthError as error:
                    # After a secret rotation even the anon key is refused; only whoever owns
                    # the keys (the embedded server's host) can sign in again.
                    if self._reauthenticate is None:
                        log.info("session could not be renewed: %s", error)
                        return False
                    self._anon_key, self._session = await self._reauthenticate()
                    self._auth.use_anon_key(self._anon_key)
                if self._on_refreshed is not None:
                    self._on_refreshed(self._session)
        return True

    def _is_due(self) -> bool:
        return self._clock() >= self._session.expires_at - self._margin_s
