"""Retry policies (tenacity), with the sleep injected so tests observe back-off without waiting.
A Qt-free zone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from desktop.domain.errors import ServiceError

__all__ = [
    "ROLLBACK_ATTEMPTS",
    "ROLLBACK_BACKOFF_BASE_S",
    "ROLLBACK_BACKOFF_FACTOR",
    "TRANSIENT_ATTEMPTS",
    "Sleep",
    "rollback_retrying",
    "transient_retrying",
]

Sleep = Callable[[float], Awaitable[None]]

# Deleting the object of a failed insert: 3 attempts, waiting 0.5 s then 1 s between them.
ROLLBACK_ATTEMPTS = 3
ROLLBACK_BACKOFF_BASE_S = 0.5
ROLLBACK_BACKOFF_FACTOR = 2.0

# Transient failures (network, 5xx, 429) of an upload or insert.
TRANSIENT_ATTEMPTS = 4
TRANSIENT_BACKOFF_BASE_S = 0.5
TRANSIENT_BACKOFF_FACTOR = 2.0
MAX_BACKOFF_S = 30.0


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, ServiceError) and error.is_transient


class _HonourRetryAfter:
    """Exponential back-off, unless the server said how long to wait (429/503 Retry-After)."""

    def __init__(self) -> None:
        self._exponential = wait_exponential(
            multiplier=TRANSIENT_BACKOFF_BASE_S,
            exp_base=TRANSIENT_BACKOFF_FACTOR,
            max=MAX_BACKOFF_S,
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, ServiceError) and error.retry_after_s is not None:
            return min(error.retry_after_s, MAX_BACKOFF_S)
        return float(self._exponential(retry_state))


def transient_retrying(
    sleep: Sleep = asyncio.sleep, attempts: int = TRANSIENT_ATTEMPTS
) -> AsyncRetrying:
    return AsyncRetrying(
        retry=retry_if_exception(_is_transient),
        stop=stop_after_attempt(attempts),
        wait=_HonourRetryAfter(),
        sleep=sleep,
        reraise=True,
    )


def rollback_retrying(sleep: Sleep = asyncio.sleep) -> AsyncRetrying:
    """Any service failure is retried: a rollback that gives up leaves an orphan."""
    return AsyncRetrying(
        retry=retry_if_exception(lambda error: isinstance(error, ServiceError)),
        stop=stop_after_attempt(ROLLBACK_ATTEMPTS),
        wait=wait_exponential(multiplier=ROLLBACK_BACKOFF_BASE_S, exp_base=ROLLBACK_BACKOFF_FACTOR),
        sleep=sleep,
        reraise=True,
    )
