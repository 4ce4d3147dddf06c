"""``attachments serve``: the embedded server on its own, without the client's modules, so that
it starts fast (the window launches it as ``python -m desktop.server``)."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import click

from desktop.log import configure_logging
from desktop.paths import embedded_server_dir

__all__ = ["DEFAULT_PORT", "MIN_SECRET_LENGTH", "serve"]

DEFAULT_PORT = 54321  # the port `supabase start` uses for its API gateway
MIN_SECRET_LENGTH = 32  # Supabase's own rule for JWT secrets


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=embedded_server_dir,
    show_default="the user data directory",
    help="Where the server keeps its SQLite databases, objects and JWT secret.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port to bind; 0 picks a free one.",
)
@click.option(
    "--jwt-secret",
    envvar="ATTACHMENTS_JWT_SECRET",
    default=None,
    help="HS256 secret (default: generated once and kept in DATA_DIR).",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="JSON file with fault rules to apply from the start.",
)
@click.option(
    "--file-size-limit",
    type=click.IntRange(min=1),
    default=None,
    help="Global object size limit in bytes.",
)
@click.option(
    "--exit-with-parent",
    is_flag=True,
    hidden=True,
    help="Stop when the process that started this one exits (the window's child server).",
)
def serve(
    data_dir: Path,
    host: str,
    port: int,
    jwt_secret: str | None,
    faults_file: Path | None,
    file_size_limit: int | None,
    exit_with_parent: bool,
) -> None:
    """Run the embedded Supabase-compatible server (Storage, REST, Auth) on loopback."""
    from desktop.server.context import DEFAULT_GLOBAL_FILE_SIZE_LIMIT, ServerConfig
    from desktop.server.faults import FaultRule, RuleError
    from desktop.server.runner import EmbeddedServer
    from desktop.server.tokens import ApiKeys

    if jwt_secret is not None and len(jwt_secret) < MIN_SECRET_LENGTH:
        raise click.BadParameter(
            f"must be at least {MIN_SECRET_LENGTH} characters", param_hint="--jwt-secret"
        )
    configure_logging(logging.INFO)
    rules = []
    if faults_file is not None:
        try:
            raw = json.loads(faults_file.read_text(encoding="utf-8"))
            rules = [
                FaultRule.from_json(item) for item in (raw if isinstance(raw, list) else [raw])
            ]
        except (ValueError, RuleError) as exc:
            raise click.BadParameter(str(exc), param_hint="--faults") from exc

    def show_keys(keys: ApiKeys) -> None:
        click.echo(f"        anon key: {keys.anon_key}")
        click.echo(f"service_role key: {keys.service_role_key}")

    def on_rotate(keys: ApiKeys) -> None:
        click.echo("JWT secret rotated; new keys:")
        show_keys(keys)

    config = ServerConfig(
        data_dir=data_dir,
        jwt_secret=jwt_secret,
        global_file_size_limit=file_size_limit or DEFAULT_GLOBAL_FILE_SIZE_LIMIT,
    )
    server = EmbeddedServer(config, host=host, port=port, faults=rules, on_rotate=on_rotate)
    click.echo("Embedded Supabase server is running.\n")
    click.echo(f"         API URL: {server.url}")
    click.echo(f"     Storage URL: {server.url}/storage/v1")
    click.echo(f"        data dir: {data_dir}")
    show_keys(server.keys)
    click.echo("\nPress Ctrl+C to stop.", err=True)
    if exit_with_parent:
        _stop_when_orphaned(server.request_stop)
    server.serve_forever()


def _stop_when_orphaned(stop: Callable[[], None]) -> None:
    """Stop the server gracefully once the parent process is gone.

    A SIGTERM to ourselves would not do: uvicorn re-raises it after shutting down, which kills
    the process before it withdraws its ``server.json``.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        stop()

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
