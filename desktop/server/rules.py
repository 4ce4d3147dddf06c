"""The pure rules of Supabase Storage: key and bucket names, size strings, MIME matching."""

from __future__ import annotations

import re

__all__ = [
    "has_dot_segment",
    "is_valid_bucket_name",
    "is_valid_key",
    "mime_type_allowed",
    "parse_file_size",
]

# storage/limits.ts isValidKey: an ASCII whitelist, checked on the URL-decoded key.
_KEY_RE = re.compile(r"^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$")
_BUCKET_RE = re.compile(r"^[A-Za-z0-9_!.*'() &$=@;:+,?-]*$")
_SIZE_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([gG][bB]|[mM][bB]|[kK][bB]|[bB])$")
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def is_valid_key(key: str) -> bool:
    return bool(key) and _KEY_RE.match(key) is not None


def has_dot_segment(key: str) -> bool:
    """True for keys with ``.`` or ``..`` segments, which the file backend refuses."""
    return any(segment in {".", ".."} for segment in key.split("/"))


def is_valid_bucket_name(name: str) -> bool:
    return 0 < len(name) <= 100 and name == name.strip() and _BUCKET_RE.match(name) is not None


def parse_file_size(value: object) -> int | None:
    """Bytes from an integer or a decimal size string such as ``"20MB"``; None if malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match:
            return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    return None


def is_valid_mime_pattern(pattern: str) -> bool:
    return re.match(r"^[A-Za-z0-9.+-]+/(\*|[A-Za-z0-9.+;=\- ]+)$", pattern) is not None


def mime_type_allowed(mime_type: str, allowed: list[str] | None) -> bool:
    """Supabase's check: whole type equal, subtype equal or ``*``; parameters are not stripped."""
    if not allowed:
        return True
    kind, _, subtype = mime_type.partition("/")
    for pattern in allowed:
        allowed_kind, _, allowed_subtype = pattern.partition("/")
        if kind == allowed_kind and allowed_subtype in {"*", subtype}:
            return True
    return False
