"""How each attachment is previewed, from its type and name."""

from __future__ import annotations

import pytest

from desktop.domain.records import TEXT_PREVIEW_MAX_BYTES, Attachment, preview_kind


def attachment(name: str, content_type: str, size: int = 10) -> Attachment:
    return Attachment("id", "doc", "b", f"doc/id/{name}", name, content_type, size, None, "now")


@pytest.mark.parametrize(
    ("name", "content_type", "size", "kind"),
    [
        ("a.png", "image/png", 10, "image"),
        ("a.pdf", "application/pdf", 10, "pdf"),
        ("a.bin", "application/pdf; charset=binary", 10, "pdf"),
        ("scan.pdf", "application/octet-stream", 10, "pdf"),
        ("a.mp4", "video/mp4", 10, "media"),
        ("a.ogg", "audio/ogg", 10, "media"),
        ("a.json", "application/json", 10, "text"),
        ("a.csv", "text/csv", 10, "text"),
        ("main.rs", "application/octet-stream", 10, "text"),
        ("huge.log", "text/plain", TEXT_PREVIEW_MAX_BYTES + 1, "other"),
        ("README", "application/octet-stream", 10, "other"),
        ("a.zip", "application/zip", 10, "other"),
    ],
    ids=[
        "png",
        "pdf",
        "pdf-params",
        "pdf-by-name",
        "video",
        "audio",
        "json",
        "csv",
        "source",
        "too-big-text",
        "no-suffix",
        "zip",
    ],
)
def test_preview_kind(name: str, content_type: str, size: int, kind: str) -> None:
    assert preview_kind(attachment(name, content_type, size)) == kind
