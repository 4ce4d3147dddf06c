"""Structured logging: JSON lines with a fixed field set, secrets redacted before formatting."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["RedactSecrets", "configure_logging", "redact"]

CONTEXT_KEYS = ("upload_id", "event", "status_from", "status_to", "attempt")

_SECRETS = [
    # JWTs (API keys, access tokens, signed-URL tokens)
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), "[REDACTED-JWT]"),
    (re.compile(r"(token=)[^&\s\"']+"), r"\1[REDACTED]"),
    (
        re.compile(
            r"((?:apikey|authorization)[\"']?\s*[:=]\s*[\"']?)(?:Bearer\s+)?[^\s\"',}]+", re.I
        ),
        r"\1[REDACTED]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites the message and arguments of every record so no token reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            exc_info_as_array=False,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
