"""The SSRF guard: webhook URLs may only reach globally routable unicast addresses.

Contract section 8: only http/https; a host that resolves to a loopback, private,
link-local, multicast or reserved address is refused when an endpoint is created or
updated, and again at send time, unless `FOLLOWUP_WEBHOOK_ALLOW_PRIVATE` is set.

Checking a hostname and then letting the HTTP client resolve it again is not enough:
a hostile DNS server can answer the check with a public address and the connection
with 127.0.0.1 a moment later (DNS rebinding). So the sender resolves once
(`resolve_and_check`), then connects to exactly the address it checked
(`build_pinned_request` / `send_pinned`), while the `Host` header and TLS (SNI and
certificate verification) still use the hostname.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, TypeAlias

import httpx

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
PARSED_CACHE = 1024
"""URLs whose parsed shape is kept (least recently used dropped first)."""
DEFAULT_RESOLVE_TIMEOUT = 5.0
"""Seconds a DNS lookup may take; the delivery timeout is 10 s in all."""


class UnsafeURLError(ValueError):
    """A webhook URL the service refuses to call; the message is fit for a 422 `detail`."""


class HostResolutionError(UnsafeURLError):
    """The host did not resolve (or not in time).

    Kept apart because it proves nothing about the address: at send time it is a failed
    attempt like any other, while at create time the API may choose to accept the URL.
    """


class Resolver(Protocol):
    """Turns a hostname into IP address strings; tests inject fake DNS through this."""

    async def __call__(self, host: str, port: int) -> Sequence[str]: ...


@dataclass(frozen=True)
class ResolvedTarget:
    """A URL's host after the check: the only addresses a delivery may connect to."""

    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def authority(self) -> str:
        """The `Host` header value: host, bracketed if IPv6, with any non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


# Special-purpose IPv4 blocks (IANA registry) that are never a webhook receiver.
_FORBIDDEN_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", incl. the unspecified address
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, incl. cloud metadata 169.254.169.254
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast 255.255.255.255
    )
)

_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_FORBIDDEN_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, incl. Teredo, benchmarking, ORCHID
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)
_NAT64_V6 = ipaddress.IPv6Network("64:ff9b::/96")


def _is_forbidden_v4(ip: ipaddress.IPv4Address) -> bool:
    if any(ip in net for net in _FORBIDDEN_V4):
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def is_forbidden_address(ip: IPAddress) -> bool:
    """True unless `ip` is globally routable unicast.

    IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that
    address too, since the packets end up there.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_forbidden_v4(ip)
    if ip.ipv4_mapped is not None:
        return _is_forbidden_v4(ip.ipv4_mapped)
    if ip in _NAT64_V6:
        return _is_forbidden_v4(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.sixtofour is not None and _is_forbidden_v4(ip.sixtofour):
        return True
    if ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _FORBIDDEN_V6):
        # Outside 2000::/3 lie ::, ::1, IPv4-compatible ::a.b.c.d, fc00::/7, fe80::/10,
        # fec0::/10, ff00::/8 and the other non-global blocks.
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_multicast
        or ip.is_link_local
        or ip.is_site_local
        or ip.is_reserved
    )


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?", re.ASCII)
_DISALLOWED_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def _ipv4_number(part: str) -> int | None:
    """One dotted part as `inet_aton` reads it: 0x-prefixed hex, 0-prefixed octal, else decimal."""
    if part[:2] in ("0x", "0X"):
        digits = part[2:]
        if not all(ch in _HEX_DIGITS for ch in digits):
            return None
        return int(digits, 16) if digits else 0
    if not (part.isascii() and part.isdigit()):
        return None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(ch in "01234567" for ch in part) else None
    return int(part)


def _parse_numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Read IPv4 literals in every form a resolver accepts (`2130706433`, `0177.1`, `0x7f.1`).

    Returns None for an ordinary hostname. A host whose last label is a number but which
    is no valid IPv4 address (`1.2.3.4.5`, `999.1.1.1`) is refused: no DNS name ends in a
    number, and resolvers disagree on what such strings mean.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not parts[-1] or _ipv4_number(parts[-1]) is None:
        return None
    numbers = [_ipv4_number(part) if part else None for part in parts]
    if len(parts) > 4 or any(number is None for number in numbers):
        raise UnsafeURLError(f"host {host!r} is not a valid IPv4 address")
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 256 ** (5 - len(values)):
        raise UnsafeURLError(f"host {host!r} is not a valid IPv4 address")
    address = last
    for position, value in enumerate(leading):
        address += value << (8 * (3 - position))
    return ipaddress.IPv4Address(address)


def _normalise_host(raw_host: str) -> tuple[str, IPAddress | None]:
    """The host as the sender will use it, and the address if it is an IP literal."""
    if ":" in raw_host:
        if "%" in raw_host:
            raise UnsafeURLError("IPv6 zone identifiers are not allowed in webhook URLs")
        try:
            ipv6 = ipaddress.IPv6Address(raw_host)
        except ValueError as exc:
            raise UnsafeURLError(f"host {raw_host!r} is not a valid IPv6 address") from exc
        return str(ipv6), ipv6
    ipv4 = _parse_numeric_ipv4(raw_host)
    if ipv4 is not None:
        return str(ipv4), ipv4
    name = raw_host.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UnsafeURLError(f"host {raw_host!r} is not a valid hostname")
    return raw_host, None


_AUTHORITY = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<authority>[^/?#]*)(?P<tail>.*)")
_DOTTED_QUAD = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")


def _canonical_dotted_quad(url: str) -> str:
    """Rewrite a four-part numeric host such as `0177.0.0.1` to `127.0.0.1`.

    httpx rejects leading zeros in dotted quads outright, while resolvers read them as
    octal; canonicalising first lets every IPv4 form reach the same address check.
    """
    match = _AUTHORITY.fullmatch(url)
    if match is None or "@" in match["authority"]:
        return url
    host, colon, port = match["authority"].partition(":")
    if not _DOTTED_QUAD.fullmatch(host):
        return url
    address = _parse_numeric_ipv4(host)
    if address is None:
        return url
    return f"{match['head']}{address}{colon}{port}{match['tail']}"


@lru_cache(maxsize=PARSED_CACHE)
def _parse(url: str) -> tuple[httpx.URL, str, str, int, IPAddress | None]:
    """The URL's shape, checked; kept per URL, since a worker sends to the same few URLs
    over and over (no DNS here: every send still resolves and checks the addresses)."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"URL is longer than {MAX_URL_LENGTH} characters")
    if _DISALLOWED_URL_CHARS.search(url):
        raise UnsafeURLError("URL contains whitespace or control characters")
    try:
        parsed = httpx.URL(_canonical_dotted_quad(url))
    except httpx.InvalidURL as exc:
        raise UnsafeURLError(f"URL is not valid: {exc}") from exc
    scheme = parsed.scheme
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError("only http and https URLs are allowed")
    if parsed.userinfo:
        raise UnsafeURLError("URLs with credentials (user:password@) are not allowed")
    raw_host = parsed.raw_host.decode("ascii")
    if not raw_host:
        raise UnsafeURLError("URL has no host")
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise UnsafeURLError(f"port {port} is out of range")
    host, literal = _normalise_host(raw_host)
    return parsed, scheme, host, port, literal


def parse_host(url: str) -> tuple[str, str, int]:
    """Check a URL's shape and return `(scheme, host, port)` without touching DNS.

    `host` is ASCII (IDNA-encoded names); IP literals come back in canonical form, so
    `http://0x7f.1/` yields `127.0.0.1`. Raises UnsafeURLError for a refused shape.
    """
    _, scheme, host, port, _ = _parse(url)
    return scheme, host, port


def _is_localhost_name(host: str) -> bool:
    name = host.removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver, run off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [
        str(info[4][0])
        for info in infos
        if info[0] in (socket.AF_INET, socket.AF_INET6) and isinstance(info[4][0], str)
    ]


def _unique_addresses(values: Iterable[str], host: str) -> tuple[IPAddress, ...]:
    addresses: dict[IPAddress, None] = {}
    for value in values:
        try:
            # A zone id (fe80::1%eth0) is meaningless once pinned into a URL; drop it.
            addresses[ipaddress.ip_address(value.split("%", 1)[0])] = None
        except ValueError as exc:
            raise UnsafeURLError(f"host {host!r} resolved to a non-address {value!r}") from exc
    return tuple(addresses)


async def resolve_and_check(
    url: str,
    *,
    allow_private: bool,
    resolver: Resolver | None = None,
    timeout: float = DEFAULT_RESOLVE_TIMEOUT,
) -> ResolvedTarget:
    """Resolve the URL's host once and refuse it unless every address is allowed.

    Call it at create/update time and again right before each send, and connect only to
    the returned addresses. With `allow_private`, only the shape is checked, but the host
    is still resolved so the sender connects to the address it looked up.
    """
    _, scheme, host, port, literal = _parse(url)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        if not allow_private and _is_localhost_name(host):
            raise UnsafeURLError(f"host {host!r} is a loopback name")
        lookup = resolver if resolver is not None else system_resolver
        try:
            async with asyncio.timeout(timeout):
                values = await lookup(host, port)
        except TimeoutError as exc:
            raise HostResolutionError(f"host {host!r} did not resolve in time") from exc
        except OSError as exc:
            raise HostResolutionError(f"host {host!r} did not resolve: {exc}") from exc
        addresses = _unique_addresses(values, host)
        if not addresses:
            raise HostResolutionError(f"host {host!r} resolved to no address")
    if not allow_private:
        forbidden = [str(ip) for ip in addresses if is_forbidden_address(ip)]
        if forbidden:
            raise UnsafeURLError(
                f"host {host!r} resolves to a non-public address ({', '.join(forbidden)}); "
                "webhooks may only reach globally routable addresses"
            )
    return ResolvedTarget(scheme=scheme, host=host, port=port, addresses=addresses)


def build_pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    target: ResolvedTarget,
    headers: Mapping[str, str],
    content: bytes,
    address: IPAddress | None = None,
) -> httpx.Request:
    """A request to `url` that connects to a checked address and nowhere else.

    The URL's host becomes the IP literal, so httpx opens the socket to exactly the
    address `resolve_and_check` approved and no second DNS lookup can be rebound to
    somewhere else. The `Host` header keeps the hostname (virtual hosting), and for
    https the `sni_hostname` extension makes httpcore send the hostname as SNI and
    verify the certificate against it rather than against the IP.

    httpcore pools connections by scheme, IP and port and ignores `sni_hostname`, so a
    kept-alive TLS connection verified for one hostname could carry a request for
    another hostname on the same IP. For https to a hostname the request therefore
    asks for `Connection: close`. Keep HTTP/2 off on the client for the same reason.
    """
    _, scheme, host, port, _ = _parse(url)
    if (scheme, host, port) != (target.scheme, target.host, target.port):
        raise ValueError("target was resolved for a different URL")
    pinned = address if address is not None else target.addresses[0]
    if pinned not in target.addresses:
        raise ValueError(f"{pinned} is not one of the checked addresses")
    request_headers = {name: value for name, value in headers.items() if name.lower() != "host"}
    request_headers["Host"] = target.authority
    extensions: dict[str, str] = {}
    if scheme == "https":
        extensions["sni_hostname"] = target.host
        if not _is_ip_literal(target.host):
            request_headers["Connection"] = "close"
    return client.build_request(
        method,
        _pinned_url(url, pinned),
        headers=request_headers,
        content=content,
        extensions=extensions,
    )


@lru_cache(maxsize=PARSED_CACHE)
def _pinned_url(url: str, address: IPAddress) -> httpx.URL:
    """`url` with its host replaced by the checked address."""
    return _parse(url)[0].copy_with(host=str(address))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def send_pinned(
    client: httpx.AsyncClient, requests: Sequence[httpx.Request]
) -> httpx.Response:
    """Send the first of `requests` (one per checked address) that connects.

    Redirects are never followed, whatever the client's setting: a redirect would lead
    to a URL nobody checked, so the 3xx itself is the response. The response is
    streamed: the caller reads what it needs and closes it.
    """
    for index, request in enumerate(requests):
        try:
            return await client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError:
            if index + 1 == len(requests):
                raise
    raise UnsafeURLError("no address to connect to")
