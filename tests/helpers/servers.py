"""The embedded server for tests: started in a thread on 127.0.0.1, port 0, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from desktop.server.context import ServerConfig
from desktop.server.runner import EmbeddedServer

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-every-hmac-algorithm-0123456789abcdef"


@dataclass
class RunningServer:
    """A started server plus what tests need to talk to it."""

    server: EmbeddedServer
    secret: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def storage_url(self) -> str:
        return self.server.url + "/storage/v1"

    @property
    def service_key(self) -> str:
        return self.server.keys.service_role_key

    @property
    def anon_key(self) -> str:
        return self.server.keys.anon_key

    def token(self, secret: str | None = None, algorithm: str = "HS256", **claims: Any) -> str:
        """A JWT with these claims (``exp`` one hour ahead unless given)."""
        claims.setdefault("exp", int(time.time()) + 3600)
        return jwt.encode(claims, secret or self.secret, algorithm=algorithm)

    def user_token(self, sub: str) -> str:
        return self.token(role="authenticated", sub=sub, aud="authenticated")

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.storage_url, headers=headers, timeout=30, **kwargs)

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.service_key}"},
            timeout=30,
        )


@contextmanager
def running_server(data_dir: Path, **config: Any) -> Iterator[RunningServer]:
    config.setdefault("jwt_secret", TEST_JWT_SECRET)
    with EmbeddedServer(ServerConfig(data_dir=data_dir, **config)) as server:
        yield RunningServer(server=server, secret=config["jwt_secret"])
