"""The one error hierarchy of the client side. A Qt-free zone.

    UploaderError
    ├── ValidationError        a file or input refused before any byte is sent
    ├── ServiceError           a Supabase API answered with an error, or could not be reached
    │   ├── StorageError       /storage/v1
    │   │   └── SignedUrlExpired   a signed URL expired or was revoked (InvalidJWT)
    │   ├── MetadataError      /rest/v1 (PostgREST)
    │   └── AuthError          /auth/v1 (GoTrue)
    ├── RollbackError          an uploaded object could not be deleted after a failed insert
    └── IllegalTransition      an event that the upload's state does not allow

No message ever carries a token, a key or a signed URL.
"""

from __future__ import annotations

import uuid

__all__ = [
    "AuthError",
    "IllegalTransition",
    "MetadataError",
    "RollbackError",
    "ServiceError",
    "SignedUrlExpired",
    "StorageError",
    "UploaderError",
    "ValidationError",
]

NETWORK = "network"  # the code of a ServiceError raised for a transport failure


class UploaderError(Exception):
    """Base of every error the uploader raises."""

    def __init__(self, message: str, *, upload_id: uuid.UUID | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.upload_id = upload_id


class ValidationError(UploaderError):
    """Input refused before anything was sent; the message says why, for the user."""


class ServiceError(UploaderError):
    """An API error. ``status`` is the real status (Storage sends it in the body); None when
    the server could not be reached or the connection broke (``code`` is then ``"network"``)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str,
        retry_after_s: float | None = None,
        upload_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(message, upload_id=upload_id)
        self.status = status
        self.code = code
        self.retry_after_s = retry_after_s

    @property
    def is_transient(self) -> bool:
        """Worth retrying: network failures, 5xx, and 429 (rate limited)."""
        return self.status is None or self.status >= 500 or self.status == 429

    def __str__(self) -> str:
        status = "network" if self.status is None else str(self.status)
        return f"{self.message} ({self.code}, {status})"


class StorageError(ServiceError):
    """Supabase Storage refused or failed a request."""


class SignedUrlExpired(StorageError):
    """A signed URL's token is expired or no longer valid (e.g. the signing secret rotated)."""


class MetadataError(ServiceError):
    """PostgREST refused or failed a request; ``code`` is the SQLSTATE or PGRST code."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        code: str,
        details: str | None = None,
        hint: str | None = None,
        retry_after_s: float | None = None,
        upload_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(
            message, status=status, code=code, retry_after_s=retry_after_s, upload_id=upload_id
        )
        self.details = details
        self.hint = hint


class AuthError(ServiceError):
    """Supabase Auth refused or failed a request; ``code`` is GoTrue's error code."""


class RollbackError(UploaderError):
    """The object of a failed upload could not be deleted; an orphan incident was recorded."""


class IllegalTransition(UploaderError):
    """An event arrived that the upload's current state does not allow."""
