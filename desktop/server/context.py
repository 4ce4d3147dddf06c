"""What every route needs: configuration, the token signer, the catalog, the blob store, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from desktop.server.blobs import BlobStore
from desktop.server.catalog import Catalog
from desktop.server.faults import FaultBook
from desktop.server.rest_store import RestStore
from desktop.server.tokens import TokenSigner, load_or_create_secret, store_secret
from desktop.server.users import UserStore

__all__ = ["DEFAULT_GLOBAL_FILE_SIZE_LIMIT", "ServerConfig", "ServerContext"]

# Real Supabase caps standard uploads at 50 MB on the free plan; the embedded server is for one
# desktop user moving large attachments, so it defaults to 5 GiB (configurable).
DEFAULT_GLOBAL_FILE_SIZE_LIMIT = 5 * 1024**3
SIGNED_UPLOAD_URL_EXPIRY_S = 2 * 3600
ACCESS_TOKEN_TTL_S = 3600  # GoTrue's default JWT expiry


@dataclass(frozen=True, slots=True)
class ServerConfig:
    data_dir: Path
    jwt_secret: str | None = None
    global_file_size_limit: int = DEFAULT_GLOBAL_FILE_SIZE_LIMIT
    signed_upload_url_expiry_s: int = SIGNED_UPLOAD_URL_EXPIRY_S
    access_token_ttl_s: int = ACCESS_TOKEN_TTL_S


@dataclass
class ServerContext:
    config: ServerConfig
    signer: TokenSigner
    catalog: Catalog
    blobs: BlobStore
    rest: RestStore
    users: UserStore
    faults: FaultBook = field(default_factory=FaultBook)

    @classmethod
    def open(cls, config: ServerConfig) -> ServerContext:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        secret_path = config.data_dir / "jwt_secret"
        secret = config.jwt_secret or load_or_create_secret(secret_path)
        return cls(
            config=config,
            signer=TokenSigner(secret),
            catalog=Catalog(config.data_dir / "storage.sqlite3"),
            blobs=BlobStore(config.data_dir / "blobs"),
            rest=RestStore(config.data_dir / "rest.sqlite3"),
            users=UserStore(config.data_dir / "auth.sqlite3"),
        )

    def rotate_secret(self, secret: str) -> None:
        """Replace the signing secret: every outstanding token and signed URL stops working."""
        store_secret(self.config.data_dir / "jwt_secret", secret)
        self.signer.rotate(secret)

    def close(self) -> None:
        self.catalog.close()
        self.rest.close()
        self.users.close()
