"""The worker's HTTP transport: a small connection pool per endpoint.

httpcore looks through every connection of a pool, and asks each idle one whether its
socket is readable, whenever it hands out a connection or takes one back. With one pool
of `worker_concurrency` connections that costs several times the CPU of the request
itself; a pool per endpoint, as large as `worker_per_endpoint_concurrency` (the most
the dispatcher ever sends to one endpoint at once), keeps it small. A request names its
pool in the `POOL` extension (`send_one` sets it); requests without one share a pool.
Pools of endpoints not used lately are closed once there are more than `keep`, so idle
connections stay bounded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx

from app.webhooks.sender import POOL


class _Counted(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed (the request is over)."""

    def __init__(self, stream: httpx.AsyncByteStream, done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._done is not None:
                self._done()
                self._done = None


class _Pool:
    def __init__(self, transport: httpx.AsyncHTTPTransport) -> None:
        self.transport = transport
        self.requests = 0
        """Requests sent through it whose response is not closed yet."""

    def release(self) -> None:
        self.requests -= 1


class EndpointPools(httpx.AsyncBaseTransport):
    def __init__(self, connections: int, keep: int, shared: int) -> None:
        """`connections` per endpoint's pool, at most `keep` pools kept, and `shared`
        connections for requests that name no pool."""
        self._limits = httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections
        )
        self._keep = keep
        # One TLS context for every pool (the one a client without a transport of its own
        # would use): loading the CA bundle per pool would cost more than the pool saves.
        self._tls = httpx.create_ssl_context(trust_env=False)
        self._shared = _Pool(self._transport(httpx.Limits(max_connections=shared)))
        self._pools: dict[str, _Pool] = {}
        """By name, least recently used first."""

    def _transport(self, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=self._tls, trust_env=False, limits=limits)

    @property
    def pools(self) -> int:
        return len(self._pools)

    async def _pool(self, name: str | None) -> _Pool:
        if name is None:
            return self._shared
        pool = self._pools.pop(name, None)
        if pool is None:
            await self._close_idle(self._keep - 1)
            pool = _Pool(self._transport(self._limits))
        self._pools[name] = pool
        return pool

    async def _close_idle(self, keep: int) -> None:
        """Close the least recently used pools with no request under way, down to `keep`."""
        for name in list(self._pools):
            if len(self._pools) <= keep:
                return
            pool = self._pools[name]
            if pool.requests == 0:
                del self._pools[name]
                await pool.transport.aclose()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.extensions.get(POOL)
        pool = await self._pool(name if isinstance(name, str) else None)
        pool.requests += 1
        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Counted(response.stream, pool.release)
        return response

    async def aclose(self) -> None:
        pools = [self._shared, *self._pools.values()]
        self._pools.clear()
        for pool in pools:
            await pool.transport.aclose()
