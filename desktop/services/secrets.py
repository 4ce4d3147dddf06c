"""Secrets (refresh token, keys) in the OS keyring, or for this session only when there is no
usable keyring. Nothing secret is ever written to a plain file or to settings. A Qt-free zone."""

from __future__ import annotations

import logging
from typing import Protocol

import keyring
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

__all__ = [
    "KEYRING_SERVICE",
    "KeyringSecrets",
    "KeyringUnavailable",
    "SecretStore",
    "SessionSecrets",
    "keyring_problem",
]

log = logging.getLogger(__name__)

KEYRING_SERVICE = "supabase-attachments"  # the service name under which secrets are kept


class KeyringUnavailable(RuntimeError):
    """No usable OS keyring (common on headless Linux without a Secret Service)."""


class SecretStore(Protocol):
    @property
    def is_persistent(self) -> bool: ...

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


def keyring_problem() -> str | None:
    """Why the OS keyring cannot be used, in plain words; None when it works."""
    backend = keyring.get_keyring()
    if type(backend).__module__.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return "No system keyring is available, so credentials cannot be remembered."
    if "plaintext" in type(backend).__name__.lower():
        return "The only keyring available stores secrets in a plain file; it will not be used."
    try:
        backend.get_password(KEYRING_SERVICE, "probe")
    except NoKeyringError:
        return "No system keyring is available, so credentials cannot be remembered."
    except KeyringError as error:
        return f"The system keyring cannot be used ({type(error).__name__})."
    return None


class KeyringSecrets:
    """The OS keyring, under ``KEYRING_SERVICE``."""

    is_persistent = True

    def get(self, name: str) -> str | None:
        try:
            return keyring.get_password(KEYRING_SERVICE, name)
        except KeyringError as error:
            raise KeyringUnavailable(str(error)) from error

    def set(self, name: str, value: str) -> None:
        try:
            keyring.set_password(KEYRING_SERVICE, name, value)
        except KeyringError as error:
            raise KeyringUnavailable(str(error)) from error

    def delete(self, name: str) -> None:
        try:
            keyring.delete_password(KEYRING_SERVICE, name)
        except PasswordDeleteError:
            return
        except KeyringError as error:
            raise KeyringUnavailable(str(error)) from error


class SessionSecrets:
    """Kept in memory for this run only: the user chose this because there is no keyring."""

    is_persistent = False

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def delete(self, name: str) -> None:
        self._values.pop(name, None)
