"""Running the server: in a background thread (tests, the app) or in the foreground (CLI)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType

import uvicorn

from desktop.server.app import create_app
from desktop.server.context import ServerConfig, ServerContext
from desktop.server.faults import FaultRule, InjectedDrop
from desktop.server.tokens import ApiKeys

__all__ = ["ANNOUNCEMENT_FILE", "EmbeddedServer", "ServerNotReady", "running_server_url"]

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 10.0
ANNOUNCEMENT_FILE = "server.json"


class ServerNotReady(RuntimeError):
    """The server did not start accepting requests before its deadline."""


class _HideInjectedDrops(logging.Filter):
    """Connections dropped by a fault rule are intended; uvicorn need not report them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], InjectedDrop))


class EmbeddedServer:
    """The embedded Supabase-compatible server on a loopback socket.

    Use ``start()``/``stop()`` or ``with``; ``url`` and ``keys`` describe it once started.
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Iterable[FaultRule] = (),
        on_rotate: Callable[[ApiKeys], None] | None = None,
    ) -> None:
        self.context = ServerContext.open(config)
        for rule in faults:
            self.context.faults.add(rule)
        self._socket = socket.create_server((host, port), reuse_port=False)
        self._host, self._port = self._socket.getsockname()[:2]
        logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(self.context, on_rotate=on_rotate),
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=2,
                server_header=False,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def keys(self) -> ApiKeys:
        return self.context.signer.api_keys()

    @property
    def announcement_path(self) -> Path:
        """``server.json`` in the data directory says where a running server listens, so other
        processes (the CLI next to the window) use it instead of starting another."""
        return self.context.config.data_dir / ANNOUNCEMENT_FILE

    def _announce(self) -> None:
        self.announcement_path.write_text(json.dumps({"url": self.url, "pid": os.getpid()}))

    def _withdraw(self) -> None:
        self.announcement_path.unlink(missing_ok=True)

    def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM or ``request_stop``, then withdraw the announcement.

        uvicorn runs on a thread so that the signals are ours: in the main thread it re-raises a
        caught SIGTERM after shutting down, which ends the process before any cleanup of ours.
        """
        interrupted = threading.Event()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, lambda *_: interrupted.set())
        with self:
            assert self._thread is not None
            while self._thread.is_alive() and not interrupted.wait(0.2):
                pass

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> EmbeddedServer:
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="embedded-server",
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerNotReady(f"embedded server not ready after {timeout_s} s")
            threading.Event().wait(0.005)
        self._announce()
        return self

    def request_stop(self) -> None:
        """Ask the server to shut down gracefully (callable from any thread)."""
        self.context.faults.release_pauses()  # no request is left sleeping in a fault delay
        self._server.should_exit = True

    def stop(self) -> None:
        self._withdraw()
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._socket.close()
        self.context.close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def running_server_url(data_dir: Path) -> str | None:
    """The URL of a live server announced in ``data_dir``, if its process is still running."""
    try:
        announced = json.loads((data_dir / ANNOUNCEMENT_FILE).read_text())
        os.kill(int(announced["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(announced["url"])
