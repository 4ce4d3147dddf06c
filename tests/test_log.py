"""Structured logs: fixed fields, and no secret ever reaches the output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from desktop.log import CONTEXT_KEYS, FIELDS, configure_logging

SECRET_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(logging.DEBUG, stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def test_lines_are_json_with_the_fixed_fields(captured: io.StringIO) -> None:
    logging.getLogger("desktop.test").info(
        "stored %s", "u1", extra={"upload_id": "u1", "color": "red"}
    )
    line = json.loads(captured.getvalue())
    assert set(line) == {"time", "level", "logger", "message", "upload_id"}
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "desktop.test", "stored u1")
    assert set(line) <= set(FIELDS) | set(CONTEXT_KEYS)


def test_secrets_never_reach_the_log(captured: io.StringIO) -> None:
    log = logging.getLogger("desktop.test")
    log.info("signed url https://x/object/sign/b/k?token=%s&download", SECRET_JWT)
    log.info("headers {'apikey': '%s', 'Authorization': 'Bearer %s'}", "sb_secret_abc", SECRET_JWT)
    log.info('grant {"refresh_token": "abcdefghijkl"}')
    try:
        _fail()
    except RuntimeError:
        log.exception("boom")
    output = captured.getvalue()
    for secret in (SECRET_JWT, "sb_secret_abc", "abcdefghijkl"):
        assert secret not in output
    assert "[REDACTED" in output
    assert json.loads(output.splitlines()[-1])["traceback"].startswith("Traceback")


def _fail() -> None:
    raise RuntimeError(f"failed with {SECRET_JWT}")
