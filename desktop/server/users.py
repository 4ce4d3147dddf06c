"""Auth's tables in SQLite: users (bcrypt password hashes), sessions and rotating refresh tokens."""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt

from desktop.server.catalog import iso_now
from desktop.server.database import SqliteStore

__all__ = ["RefreshOutcome", "User", "UserStore"]

BCRYPT_ROUNDS = 10  # GoTrue's cost
_REFRESH_ALPHABET = string.ascii_lowercase + string.digits
REFRESH_TOKEN_LENGTH = 12  # GoTrue's format: [a-z0-9]{12}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    encrypted_password TEXT NOT NULL,
    user_metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_sign_in_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    user_metadata: dict[str, Any]
    created_at: str
    updated_at: str
    last_sign_in_at: str | None

    def as_json(self) -> dict[str, Any]:
        """The user object GoTrue returns (email provider, auto-confirmed)."""
        return {
            "id": self.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": self.email,
            "email_confirmed_at": self.created_at,
            "phone": "",
            "confirmed_at": self.created_at,
            "last_sign_in_at": self.last_sign_in_at,
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": self.user_metadata,
            "identities": [],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "is_anonymous": False,
        }


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """Result of a refresh-token grant: the user and session, or why it was refused."""

    user: User | None = None
    session_id: str | None = None
    refresh_token: str | None = None
    refused: str | None = None  # "not_found" or "already_used"


def _user(row: sqlite3.Row) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        user_metadata=json.loads(row["user_metadata"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_sign_in_at=row["last_sign_in_at"],
    )


class UserStore(SqliteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def create_user(self, email: str, password: str, user_metadata: dict[str, Any]) -> User | None:
        """The new user, or None when the email is taken."""
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
        now = iso_now()
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO users VALUES (?,?,?,?,?,?,NULL)",
                    (str(uuid.uuid4()), email, hashed, json.dumps(user_metadata), now, now),
                )
        except sqlite3.IntegrityError:
            return None
        return self.find_by_email(email)

    def find_by_email(self, email: str) -> User | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM users WHERE email=?", (email,)).fetchone()
        return _user(row) if row else None

    def get(self, user_id: str) -> User | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM users WHERE id=?", (user_id,)).fetchone()
        return _user(row) if row else None

    def check_password(self, email: str, password: str) -> User | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT encrypted_password, id FROM users WHERE email=?", (email,)
            ).fetchone()
        if row is None or not bcrypt.checkpw(password.encode(), row[0].encode()):
            return None
        return self.get(row[1])

    def start_session(self, user: User) -> tuple[str, str]:
        """A new session for ``user``: (session id, first refresh token)."""
        session_id = str(uuid.uuid4())
        now = iso_now()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("INSERT INTO sessions VALUES (?,?,?)", (session_id, user.id, now))
            self._conn.execute("UPDATE users SET last_sign_in_at=? WHERE id=?", (now, user.id))
            token = self._issue(session_id)
            self._conn.execute("COMMIT")
        return session_id, token

    def _issue(self, session_id: str) -> str:
        token = "".join(secrets.choice(_REFRESH_ALPHABET) for _ in range(REFRESH_TOKEN_LENGTH))
        self._conn.execute(
            "INSERT INTO refresh_tokens VALUES (?,?,0,?)", (token, session_id, iso_now())
        )
        return token

    def rotate(self, token: str) -> RefreshOutcome:
        """Spend ``token`` for a new one. Reusing a spent token revokes its whole session."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT r.revoked, r.session_id, s.user_id FROM refresh_tokens r"
                    " JOIN sessions s ON s.id = r.session_id WHERE r.token=?",
                    (token,),
                ).fetchone()
                if row is None:
                    return RefreshOutcome(refused="not_found")
                if row["revoked"]:
                    self._conn.execute("DELETE FROM sessions WHERE id=?", (row["session_id"],))
                    return RefreshOutcome(refused="already_used")
                self._conn.execute("UPDATE refresh_tokens SET revoked=1 WHERE token=?", (token,))
                new_token = self._issue(row["session_id"])
            finally:
                self._conn.execute("COMMIT")
        return RefreshOutcome(
            user=self.get(row["user_id"]), session_id=row["session_id"], refresh_token=new_token
        )

    def has_session(self, session_id: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM sessions WHERE id=?", (session_id,)).fetchone()
        return row is not None

    def end_sessions(self, user_id: str, session_id: str, scope: str) -> None:
        """Logout: ``local`` ends this session, ``global`` all, ``others`` all but this one."""
        with self._lock:
            if scope == "local":
                self._conn.execute("DELETE FROM sessions WHERE id=?", (session_id,))
            elif scope == "global":
                self._conn.execute("DELETE FROM sessions WHERE user_id=?", (user_id,))
            else:
                self._conn.execute(
                    "DELETE FROM sessions WHERE user_id=? AND id<>?", (user_id, session_id)
                )
