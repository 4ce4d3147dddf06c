"""Fault injection: rules that make matching requests fail, for tests and demos.

A rule matches by method, a glob on the request path and optionally a text the request body must
contain (to single out one row of a bulk insert), for the next ``times`` matches (or for ever) and
with a ``probability``. It can answer with its own status and body, add a delay, let the
request through and replace or cut its response (``after``), or drop the connection part-way
through the response body (``drop_after_bytes``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import random
import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FaultBook", "FaultMiddleware", "FaultRule", "InjectedDrop", "RuleError"]

log = logging.getLogger(__name__)

_RULE_FIELDS = {
    "method", "path", "body_contains", "times", "probability", "status", "body", "headers",
    "delay_ms", "after", "drop_after_bytes",
}  # fmt: skip


class RuleError(ValueError):
    """A fault rule is malformed; the message says which field and why."""


class InjectedDrop(Exception):  # noqa: N818 - it is an event, not an error condition
    """Raised inside the ASGI app to make the server drop the connection on purpose."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    method: str = "*"
    path: str = "*"
    body_contains: str | None = None
    times: int | None = 1
    probability: float = 1.0
    status: int | None = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    after: bool = False
    drop_after_bytes: int | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    matched: int = 0

    @classmethod
    def from_json(cls, raw: object) -> FaultRule:
        if not isinstance(raw, dict):
            raise RuleError("a fault rule must be a JSON object")
        unknown = set(raw) - _RULE_FIELDS
        if unknown:
            raise RuleError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        rule = cls(**raw)
        rule._check()
        return rule

    def _check(self) -> None:
        if not isinstance(self.method, str) or not isinstance(self.path, str):
            raise RuleError("method and path must be strings")
        if self.body_contains is not None and not (
            isinstance(self.body_contains, str) and self.body_contains
        ):
            raise RuleError("body_contains must be a non-empty string or null")
        if self.times is not None and (not isinstance(self.times, int) or self.times < 1):
            raise RuleError("times must be a positive integer or null (for ever)")
        if not isinstance(self.probability, int | float) or not 0 <= self.probability <= 1:
            raise RuleError("probability must be between 0 and 1")
        if self.status is not None and not (
            isinstance(self.status, int) and 100 <= self.status <= 599
        ):
            raise RuleError("status must be an HTTP status code or null")
        if not isinstance(self.delay_ms, int) or self.delay_ms < 0:
            raise RuleError("delay_ms must be a non-negative integer")
        if self.drop_after_bytes is not None and (
            not isinstance(self.drop_after_bytes, int) or self.drop_after_bytes < 0
        ):
            raise RuleError("drop_after_bytes must be a non-negative integer or null")
        if not isinstance(self.headers, dict):
            raise RuleError("headers must be an object")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def matches(self, method: str, path: str, body: bytes | None = None) -> bool:
        """``body`` is None when it was not read (no rule for this request looks at it)."""
        if self.body_contains is not None and (
            body is None or self.body_contains.encode() not in body
        ):
            return False
        return (self.method == "*" or self.method.upper() == method) and fnmatch.fnmatchcase(
            path, self.path
        )

    def needs_body(self, method: str, path: str) -> bool:
        return self.body_contains is not None and replace(self, body_contains=None).matches(
            method, path
        )

    def response_body(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "text/plain;charset=UTF-8"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain;charset=UTF-8"
        return json.dumps(
            self.body, separators=(",", ":")
        ).encode(), "application/json; charset=utf-8"


class FaultBook:
    """The active rules; thread-safe because tests edit them from outside the server thread."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._pauses: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the rules are cleared or the server stops meanwhile."""
        if seconds <= 0:
            return
        release = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._pauses.add(release)
        try:
            await asyncio.wait_for(release[1].wait(), timeout=seconds)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._pauses.discard(release)

    def release_pauses(self) -> None:
        """End every pending delay at once (callable from any thread)."""
        with self._lock:
            for loop, event in self._pauses:
                loop.call_soon_threadsafe(event.set)

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
        self.release_pauses()

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            return len(self._rules) != before

    def needs_body(self, method: str, path: str) -> bool:
        with self._lock:
            return any(rule.needs_body(method, path) for rule in self._rules)

    def take(self, method: str, path: str, body: bytes | None = None) -> FaultRule | None:
        """The first rule that fires for this request, counting it against ``times``."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not rule.matches(method, path, body):
                    continue
                if self._random.random() >= rule.probability:
                    continue
                fired = replace(rule, matched=rule.matched + 1)
                if rule.times is not None and fired.matched >= rule.times:
                    del self._rules[index]
                else:
                    self._rules[index] = fired
                return fired
        return None


class FaultMiddleware:
    """ASGI middleware applying the book's rules; ``/admin/`` routes are never faulted."""

    def __init__(self, app: ASGIApp, book_of: Any) -> None:
        self._app = app
        self._book_of = book_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/admin/"):
            await self._app(scope, receive, send)
            return
        book: FaultBook = self._book_of()
        body = None
        if book.needs_body(scope["method"], scope["path"]):
            body, receive = await _buffered(receive)
        rule = book.take(scope["method"], scope["path"], body)
        if rule is None:
            await self._app(scope, receive, send)
            return
        log.info("fault %s fired on %s %s", rule.id, scope["method"], scope["path"])
        cutter = _Cutter(send, rule.drop_after_bytes)
        if rule.after:
            # The request is applied first; its answer is held back (delayed, replaced or cut).
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await self._app(scope, receive, hold)
            await book.pause(rule.delay_ms / 1000)
            if rule.status is None:
                for message in held:
                    await cutter(message)
            else:
                await _send_fault(rule, cutter)
        else:
            await book.pause(rule.delay_ms / 1000)
            if rule.status is None:
                await self._app(scope, receive, cutter)
            else:
                await _send_fault(rule, cutter)
        if cutter.has_cut:
            # Raising after a partial body is the only way ASGI lets us drop the connection.
            raise InjectedDrop


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the app as if unread."""
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(parts)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()  # what follows the body: a disconnect
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


class _Cutter:
    """Forwards response messages until ``limit`` body bytes, then swallows the rest."""

    def __init__(self, send: Send, limit: int | None) -> None:
        self._send = send
        self._limit = limit
        self._sent = 0
        self.has_cut = False

    async def __call__(self, message: Message) -> None:
        if self.has_cut:
            return
        if self._limit is not None and message["type"] == "http.response.body":
            body: bytes = message.get("body", b"")
            if self._sent + len(body) >= self._limit:
                part = body[: self._limit - self._sent]
                await self._send({"type": "http.response.body", "body": part, "more_body": True})
                self.has_cut = True
                return
            self._sent += len(body)
        await self._send(message)


async def _send_fault(rule: FaultRule, send: Send) -> None:
    body, content_type = rule.response_body()
    headers = {"content-type": content_type, "content-length": str(len(body))}
    headers |= {name.lower(): value for name, value in rule.headers.items()}
    assert rule.status is not None
    await send(
        {
            "type": "http.response.start",
            "status": rule.status,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
