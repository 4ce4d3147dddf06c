"""The asyncio network layer under httpx, against small real servers on loopback: plain and TLS
requests, connection reuse, a server that drops idle connections, timeouts and refusals."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import trustme

from desktop.services.http_transport import AsyncioTransport, http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Served:
    port: int
    accepted: int = 0
    hung_up: asyncio.Queue[None] = field(default_factory=asyncio.Queue)


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[Served]:
    """A loopback server running ``handler`` per connection, closing it when the handler ends."""
    served = Served(port=0)
    handlers: set[asyncio.Task[None]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.accepted += 1
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            served.hung_up.put_nowait(None)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=tls)
    served.port = server.sockets[0].getsockname()[1]
    try:
        yield served
    finally:
        server.close()
        await server.wait_closed()
        # The client has closed its connections by now, so every handler is ending.
        if handlers:
            await asyncio.wait(handlers, timeout=10)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )  # fmt: skip
    return await reader.readexactly(length)


def response(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            body = await read_request(reader)
        except asyncio.IncompleteReadError:
            return
        writer.write(response(b"got " + body))
        await writer.drain()


async def answer_once_then_hang_up(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    body = await read_request(reader)
    writer.write(response(b"got " + body))  # keep-alive is implied, yet the server closes
    await writer.drain()


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await reader.read()  # until the client gives up and closes


async def test_requests_reuse_one_connection() -> None:
    async with serving(echo_forever) as served, http_client() as client:
        for n in range(3):
            body = b"x" * n * 100_000
            reply = await client.post(f"http://127.0.0.1:{served.port}/", content=body)
            assert reply.content == b"got " + body
        assert served.accepted == 1


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async with serving(answer_once_then_hang_up) as served, http_client() as client:
        url = f"http://127.0.0.1:{served.port}/"
        assert (await client.post(url, content=b"a")).content == b"got a"
        await asyncio.wait_for(served.hung_up.get(), timeout=10)
        assert (await client.post(url, content=b"b")).content == b"got b"
        assert served.accepted == 2


async def test_tls_with_a_trusted_authority() -> None:
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    authority.configure_trust(client_tls)
    async with (
        serving(echo_forever, tls=server_tls) as served,
        httpx.AsyncClient(transport=AsyncioTransport(verify=client_tls)) as client,
    ):
        reply = await client.post(f"https://localhost:{served.port}/", content=b"secret")
        assert reply.content == b"got secret"
        assert reply.extensions["network_stream"].get_extra_info("ssl_object") is not None


async def test_tls_refuses_an_untrusted_certificate() -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost").configure_cert(server_tls)
    async with serving(echo_forever, tls=server_tls) as served, http_client() as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://localhost:{served.port}/")


async def test_a_silent_server_times_out_as_httpx_says() -> None:
    async with serving(never_answer) as served, http_client(timeout=httpx.Timeout(0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"http://127.0.0.1:{served.port}/", content=b"hello?")


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        async with http_client() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")
