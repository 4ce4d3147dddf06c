"""Structured logging: JSON lines with a fixed field set, secrets redacted before formatting.

Fields: ``time``, ``level``, ``logger``, ``message``, ``traceback``, plus the context keys in
``CONTEXT_KEYS`` when a record carries them. Anything else a library attaches is dropped.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

__all__ = ["CONTEXT_KEYS", "FIELDS", "RedactSecrets", "configure_logging", "redact"]

FIELDS = ("time", "level", "logger", "message", "traceback")
CONTEXT_KEYS = ("upload_id", "event", "status_from", "status_to", "attempt")

_SECRETS = [
    # JWTs: API keys, access tokens, signed-URL tokens
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), "[REDACTED-JWT]"),
    (re.compile(r"(token=)[^&\s\"']+"), r"\1[REDACTED]"),
    (re.compile(r"(refresh_token[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"), r"\1[REDACTED]"),
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
    """Rewrites every record's message (and traceback) so no token reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class _FixedFieldsFormatter(JsonFormatter):
    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        if "exc_info" in log_record:
            log_record["traceback"] = redact(str(log_record.pop("exc_info")))
        allowed = set(FIELDS) | set(CONTEXT_KEYS)
        return {key: value for key, value in log_record.items() if key in allowed}


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(
        _FixedFieldsFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
