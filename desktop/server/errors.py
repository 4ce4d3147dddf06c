"""Storage error envelope, exactly as real Supabase Storage renders it.

Every handled 4xx goes out as HTTP 400 with the real status as a *string* in ``statusCode``;
5xx keep their status. Key order follows the observed server: statusCode, error, message, code.
"""

from __future__ import annotations

from typing import Any

from desktop.server.responses import JSONResponse

__all__ = ["StorageApiError"]


class StorageApiError(Exception):
    """A handled Storage error that renders as Supabase's four-key JSON body."""

    def __init__(self, status: int, code: str, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.error = error
        self.message = message

    def body(self) -> dict[str, Any]:
        return {
            "statusCode": str(self.status),
            "error": self.error,
            "message": self.message,
            "code": self.code,
        }

    def http_status(self) -> int:
        return 500 if self.status >= 500 else 400

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.http_status())

    # Constructors for the errors the routes raise, named after Supabase's error codes.
    @classmethod
    def no_such_key(cls) -> StorageApiError:
        return cls(404, "NoSuchKey", "not_found", "Object not found")

    @classmethod
    def no_such_bucket(cls) -> StorageApiError:
        return cls(404, "NoSuchBucket", "Bucket not found", "Bucket not found")

    @classmethod
    def key_exists(cls) -> StorageApiError:
        return cls(409, "KeyAlreadyExists", "Duplicate", "The resource already exists")

    @classmethod
    def bucket_exists(cls) -> StorageApiError:
        return cls(409, "BucketAlreadyExists", "Duplicate", "The resource already exists")

    @classmethod
    def rls_denied(cls) -> StorageApiError:
        return cls(
            403, "AccessDenied", "Unauthorized", "new row violates row-level security policy"
        )

    @classmethod
    def access_denied(cls, message: str) -> StorageApiError:
        return cls(403, "AccessDenied", "Unauthorized", message)

    @classmethod
    def invalid_jwt(cls, message: str) -> StorageApiError:
        return cls(400, "InvalidJWT", "InvalidJWT", message)

    @classmethod
    def invalid_signature(cls, message: str = "Invalid signature") -> StorageApiError:
        return cls(400, "InvalidSignature", "InvalidSignature", message)

    @classmethod
    def entity_too_large(cls) -> StorageApiError:
        return cls(
            413,
            "EntityTooLarge",
            "Payload too large",
            "The object exceeded the maximum allowed size",
        )

    @classmethod
    def invalid_mime_type(cls, mime_type: str) -> StorageApiError:
        return cls(
            415, "InvalidMimeType", "invalid_mime_type", f"mime type {mime_type} is not supported"
        )

    @classmethod
    def invalid_key(cls, message: str) -> StorageApiError:
        return cls(400, "InvalidKey", "InvalidKey", f"Invalid key: {message}")

    @classmethod
    def invalid_bucket_name(cls) -> StorageApiError:
        return cls(400, "InvalidBucketName", "Invalid Input", "Bucket name invalid")

    @classmethod
    def bucket_not_empty(cls) -> StorageApiError:
        return cls(
            409,
            "ResourceNotEmpty",
            "ResourceNotEmpty",
            "The bucket you tried to delete is not empty",
        )

    @classmethod
    def invalid_request(cls, message: str) -> StorageApiError:
        return cls(400, "InvalidRequest", "Error", message)

    @classmethod
    def missing_authorization(cls) -> StorageApiError:
        return cls.invalid_request("headers must have required property 'authorization'")
