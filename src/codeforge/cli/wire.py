"""How ``codeforge serve`` writes responses: whole, or not at all.

uvicorn writes a response's headers as soon as the app starts the response, and its
body when the app sends it. Between the two, other threads may hold the GIL for
milliseconds (a generation rendering in the thread pool), and a server that dies
there (a crash, an OOM kill) leaves the client with headers and a cut body: a load
balancer cannot retry that, since a response has begun. Here every write of one
event-loop turn is held and sent together at the end of the turn, so a small
response leaves in one ``send()``: a crash before it is a connection closed with no
response at all, which the load balancer retries on another server
(``retry-on empty-response`` in deploy/docker/haproxy/haproxy.cfg).

Streaming responses are unchanged in effect: each chunk leaves at the end of the
loop turn that wrote it, and flow control still sees every byte.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """A transport whose writes of one loop turn go out as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


def http_protocol() -> Any:
    """uvicorn's httptools protocol on a :class:`CoalescingTransport` (``"auto"``, uvicorn's
    own choice, when httptools is not installed)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
        return "auto"

    class Protocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            whole: Any = CoalescingTransport(transport, self.loop)
            super().connection_made(whole)

    return Protocol
