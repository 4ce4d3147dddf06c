"""The process's HTTP client: httpx, with its connections on asyncio's own streams. A Qt-free zone.

httpx's default transport reaches sockets through anyio, which costs a cancel scope per read and
write and rebuilds a socket's attribute table (with a ``getpeername`` call) each time the pool
checks whether an idle connection is still usable. For many small uploads that was a quarter of
the client's CPU (encode/httpx#3215; httpcore's own asyncio backend was dropped and not restored,
encode/httpcore#930). httpcore lets the network layer be replaced (``AsyncNetworkBackend``); this
module does that and nothing else: pooling, HTTP/1.1, TLS policy and errors stay httpx's.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
import typing
from collections.abc import Awaitable, Iterable

import httpcore
import httpx

__all__ = ["HTTP_LIMITS", "HTTP_TIMEOUT", "AsyncioBackend", "AsyncioTransport", "http_client"]

HTTP_TIMEOUT = httpx.Timeout(30.0, read=120.0)
HTTP_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults

# asyncio's stream buffer: larger than a read (httpcore asks for 64 KiB) so a read rarely waits.
_STREAM_LIMIT = 1024 * 1024

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def http_client(*, timeout: httpx.Timeout = HTTP_TIMEOUT) -> httpx.AsyncClient:
    """The one HTTP client of a process, shared by every API (its connection pool with it)."""
    return httpx.AsyncClient(timeout=timeout, transport=AsyncioTransport())


class AsyncioTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connection pool uses ``AsyncioBackend``.

    Proxies configured in the environment still go through httpx's own transports (the client
    mounts those separately).
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = HTTP_LIMITS,
    ) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify)  # built once, shared with super()
        super().__init__(verify=ssl_context, limits=limits)
        # httpx builds its pool in __init__ and offers no parameter for the network backend;
        # fail loudly if a new httpx release stops keeping it where we replace it.
        if not isinstance(getattr(self, "_pool", None), httpcore.AsyncConnectionPool):
            raise TypeError("this httpx release keeps its connection pool elsewhere")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local_addr = None if local_address is None else (local_address, 0)
        opening = asyncio.open_connection(host, port, local_addr=local_addr, limit=_STREAM_LIMIT)
        return await _connected(opening, timeout, f"{host}:{port}", socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        opening = asyncio.open_unix_connection(path, limit=_STREAM_LIMIT)
        return await _connected(opening, timeout, path, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(
    opening: Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
    timeout: float | None,
    where: str,
    socket_options: Iterable[SocketOption] | None,
) -> AsyncioStream:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await opening
    except TimeoutError as error:
        raise httpcore.ConnectTimeout(f"connecting to {where} timed out") from error
    except OSError as error:
        raise httpcore.ConnectError(str(error)) from error
    stream = AsyncioStream(reader, writer)
    stream.apply(socket_options)
    return stream


class AsyncioStream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    def apply(self, socket_options: Iterable[SocketOption] | None) -> None:
        sock = self._writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as error:
            raise httpcore.ReadTimeout("the server did not answer in time") from error
        except OSError as error:
            raise httpcore.ReadError(str(error)) from error

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()  # waits only while the socket's buffer is full
        except TimeoutError as error:
            raise httpcore.WriteTimeout("the server did not take the request in time") from error
        except (OSError, RuntimeError) as error:  # RuntimeError: written after a close
            raise httpcore.WriteError(str(error)) from error

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # already broken: closed is all we wanted
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout("the TLS handshake timed out") from error
        except (OSError, ssl.SSLError) as error:
            raise httpcore.ConnectError(str(error)) from error
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        match info:
            case "ssl_object":
                return self._writer.get_extra_info("ssl_object")
            case "client_addr":
                return self._writer.get_extra_info("sockname")
            case "server_addr":
                return self._writer.get_extra_info("peername")
            case "socket":
                return self._writer.get_extra_info("socket")
            case "is_readable":
                return self._is_readable()
        return None

    def _is_readable(self) -> bool:
        """For an idle connection, True means the server closed it (or broke the protocol)."""
        if self._reader.at_eof() or self._writer.transport.is_closing():
            return True
        sock = self._writer.get_extra_info("socket")
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
