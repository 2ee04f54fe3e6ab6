"""The SSRF guard: refused addresses and URL shapes, DNS rebinding, pinned requests."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.webhooks.ssrf import (
    HostResolutionError,
    ResolvedTarget,
    UnsafeURLError,
    build_pinned_request,
    is_forbidden_address,
    parse_host,
    resolve_and_check,
    send_pinned,
    system_resolver,
)
from tests.receiver import Receiver, Reply


@dataclass
class FakeDNS:
    """A resolver with a fixed table; each name may answer differently on each lookup."""

    table: dict[str, list[list[str]]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        answers = self.table[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def dns(**names: list[str]) -> FakeDNS:
    return FakeDNS({name.replace("_", "."): [addresses] for name, addresses in names.items()})


async def no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"an IP literal must not be resolved ({host})")


FORBIDDEN_LITERALS = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::10.0.0.1",
    "2002:7f00:1::1",
    "2002:a00:1::1",
    "fc00::1",
    "fd12::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1",
    "100::1",
]


@pytest.mark.parametrize("address", FORBIDDEN_LITERALS)
def test_non_public_address_is_forbidden(address: str) -> None:
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::8.8.8.8"],
)
def test_globally_routable_unicast_is_allowed(address: str) -> None:
    assert not is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.5:8080/hook",
        "http://172.16.4.4/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://[::1]:9000/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fc00::1]/",
        "http://[fd12::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "https://127.0.0.1:8443/",
    ],
)
async def test_url_with_non_public_ip_literal_is_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="non-public"):
        await resolve_and_check(url, allow_private=False, resolver=no_dns)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://0x7f.0.0.1/", "127.0.0.1"),
        ("http://0x7F000001/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0177.1/", "127.0.0.1"),
        ("http://10.1/", "10.0.0.1"),
        ("http://192.168.257/", "192.168.1.1"),
        ("http://0/", "0.0.0.0"),
        ("http://127.0.0.1./", "127.0.0.1"),
    ],
)
async def test_odd_ipv4_forms_are_read_like_inet_aton_and_refused(
    url: str, normalised: str
) -> None:
    assert parse_host(url)[1] == normalised
    with pytest.raises(UnsafeURLError, match="non-public"):
        await resolve_and_check(url, allow_private=False, resolver=no_dns)


@pytest.mark.parametrize(
    "url",
    ["http://1.2.3.4.5/", "http://0x100000000/", "http://1.2.3.0400/", "http://09.1.1.1/"],
)
def test_host_ending_in_a_number_that_is_no_ipv4_address_is_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="not a valid IPv4"):
        parse_host(url)


async def test_localhost_resolving_to_loopback_is_refused() -> None:
    resolver = dns(localhost=["127.0.0.1", "::1"])
    with pytest.raises(UnsafeURLError):
        await resolve_and_check("http://localhost:8000/", allow_private=False, resolver=resolver)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_name_resolving_to_loopback_is_refused(address: str) -> None:
    resolver = dns(hooks_example_test=[address])
    with pytest.raises(UnsafeURLError, match="non-public"):
        await resolve_and_check(
            "https://hooks.example.test/", allow_private=False, resolver=resolver
        )


@pytest.mark.parametrize("address", ["10.0.0.7", "172.16.0.7", "192.168.0.7", "169.254.169.254"])
async def test_name_resolving_to_private_address_is_refused(address: str) -> None:
    resolver = dns(hooks_example_test=[address])
    with pytest.raises(UnsafeURLError, match=address.replace(".", r"\.")):
        await resolve_and_check(
            "https://hooks.example.test/", allow_private=False, resolver=resolver
        )


async def test_name_resolving_to_one_public_and_one_private_address_is_refused() -> None:
    resolver = dns(hooks_example_test=["93.184.216.34", "10.0.0.1"])
    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.1"):
        await resolve_and_check(
            "https://hooks.example.test/", allow_private=False, resolver=resolver
        )


async def test_public_ip_literals_are_allowed_without_dns() -> None:
    v4 = await resolve_and_check("https://93.184.216.34/hook", allow_private=False, resolver=no_dns)
    v6 = await resolve_and_check("https://[2606:4700::1111]/", allow_private=False, resolver=no_dns)
    assert v4.addresses == (ipaddress.ip_address("93.184.216.34"),)
    assert v6.addresses == (ipaddress.ip_address("2606:4700::1111"),)


async def test_name_resolving_to_public_addresses_is_allowed() -> None:
    resolver = dns(hooks_example_test=["93.184.216.34", "2606:4700::1111", "93.184.216.34"])
    target = await resolve_and_check(
        "https://Hooks.Example.Test/events?x=1", allow_private=False, resolver=resolver
    )
    assert target == ResolvedTarget(
        scheme="https",
        host="hooks.example.test",
        port=443,
        addresses=(ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("2606:4700::1111")),
    )


async def test_dns_rebinding_is_caught_at_send_time() -> None:
    resolver = FakeDNS({"hooks.example.test": [["93.184.216.34"], ["127.0.0.1"]]})
    url = "https://hooks.example.test/"
    await resolve_and_check(url, allow_private=False, resolver=resolver)
    with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.1"):
        await resolve_and_check(url, allow_private=False, resolver=resolver)
    assert resolver.lookups == ["hooks.example.test", "hooks.example.test"]


async def test_allow_private_lets_loopback_through() -> None:
    target = await resolve_and_check("http://127.0.0.1:8080/", allow_private=True, resolver=no_dns)
    assert target.addresses == (ipaddress.ip_address("127.0.0.1"),)


async def test_allow_private_still_resolves_names() -> None:
    resolver = dns(localhost=["127.0.0.1"])
    target = await resolve_and_check(
        "http://localhost:8080/", allow_private=True, resolver=resolver
    )
    assert target.addresses == (ipaddress.ip_address("127.0.0.1"),)
    assert resolver.lookups == ["localhost"]


async def test_allow_private_keeps_the_scheme_check() -> None:
    with pytest.raises(UnsafeURLError, match="http and https"):
        await resolve_and_check("ftp://127.0.0.1/", allow_private=True, resolver=no_dns)


async def test_localhost_names_are_refused_without_asking_dns() -> None:
    with pytest.raises(UnsafeURLError, match="loopback"):
        await resolve_and_check("http://api.localhost/", allow_private=False, resolver=no_dns)


async def test_system_resolver_answers_for_an_address() -> None:
    assert await system_resolver("127.0.0.1", 80) == ["127.0.0.1"]


async def test_default_resolver_is_used_when_none_is_given() -> None:
    target = await resolve_and_check("http://localhost:8080/", allow_private=True)
    assert target.addresses
    assert all(address.is_loopback for address in target.addresses)


async def test_unresolvable_host_is_a_resolution_error() -> None:
    async def nxdomain(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    with pytest.raises(HostResolutionError, match="did not resolve"):
        await resolve_and_check(
            "https://nowhere.example.test/", allow_private=False, resolver=nxdomain
        )


async def test_host_resolving_to_nothing_is_a_resolution_error() -> None:
    with pytest.raises(HostResolutionError, match="no address"):
        await resolve_and_check(
            "https://empty.example.test/", allow_private=False, resolver=dns(empty_example_test=[])
        )


async def test_slow_dns_times_out() -> None:
    async def slow(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(10)
        return ["93.184.216.34"]

    with pytest.raises(HostResolutionError, match="in time"):
        await resolve_and_check(
            "https://slow.example.test/", allow_private=False, resolver=slow, timeout=0.01
        )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "ws://example.com/",
        "example.com/hook",
        "//example.com/hook",
    ],
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="http and https"):
        parse_host(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@example.com/",
        "http://user@example.com/",
        "http://example.com\\@evil.test/",
    ],
)
def test_userinfo_is_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="credentials"):
        parse_host(url)


@pytest.mark.parametrize(
    "url",
    [
        "http:///path",
        "http://:80/",
        "http://exa mple.com/",
        " http://example.com/",
        "http://example.com/\n",
        "http://%31%32%37.0.0.1/",
        "http://[fe80::1%25eth0]/",
        "http://example.com:0/",
        "http://example.com:70000/",
        "http://-bad-.example.com/",
        "http://a..b/",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        parse_host(url)


def test_url_length_is_bounded() -> None:
    base = "https://example.com/"
    assert parse_host(base + "a" * (2048 - len(base)))[1] == "example.com"
    with pytest.raises(UnsafeURLError, match="2048"):
        parse_host(base + "a" * (2049 - len(base)))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/hook", ("https", "example.com", 443)),
        ("http://Example.COM:8080", ("http", "example.com", 8080)),
        ("http://example.com./", ("http", "example.com.", 80)),
        ("https://bücher.example/", ("https", "xn--bcher-kva.example", 443)),
        ("http://[2606:4700:0::1111]/", ("http", "2606:4700::1111", 80)),
        ("http://0177.0.0.1:8080/x?y=1", ("http", "127.0.0.1", 8080)),
        ("http://0x5d.184.216.34/", ("http", "93.184.216.34", 80)),
        ("http://hooks_1.example.com/", ("http", "hooks_1.example.com", 80)),
    ],
)
def test_parse_host_returns_scheme_ascii_host_and_port(
    url: str, expected: tuple[str, str, int]
) -> None:
    assert parse_host(url) == expected


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as http:
        yield http


def target_for(
    host: str, *addresses: str, scheme: str = "https", port: int = 443
) -> ResolvedTarget:
    return ResolvedTarget(
        scheme=scheme,
        host=host,
        port=port,
        addresses=tuple(ipaddress.ip_address(a) for a in addresses),
    )


def test_pinned_https_request_targets_the_ip_with_host_header_and_sni(
    client: httpx.AsyncClient,
) -> None:
    target = target_for("hooks.example.test", "93.184.216.34")
    request = build_pinned_request(
        client,
        "POST",
        "https://hooks.example.test/in?a=1",
        target=target,
        headers={"content-type": "application/json", "Host": "evil.test"},
        content=b"{}",
    )
    assert str(request.url) == "https://93.184.216.34/in?a=1"
    assert request.headers.get_list("host") == ["hooks.example.test"]
    assert request.extensions["sni_hostname"] == "hooks.example.test"
    assert request.headers["connection"] == "close"
    assert request.headers["content-type"] == "application/json"
    assert request.content == b"{}"
    assert "timeout" in request.extensions


def test_pinned_ipv6_request_brackets_the_address_and_keeps_the_port(
    client: httpx.AsyncClient,
) -> None:
    target = target_for("hooks.example.test", "2606:4700::1111", port=8443)
    request = build_pinned_request(
        client, "POST", "https://hooks.example.test:8443/", target=target, headers={}, content=b""
    )
    assert str(request.url) == "https://[2606:4700::1111]:8443/"
    assert request.headers["host"] == "hooks.example.test:8443"


def test_pinned_http_request_has_no_sni_and_keeps_alive(client: httpx.AsyncClient) -> None:
    target = target_for("hooks.example.test", "93.184.216.34", scheme="http", port=80)
    request = build_pinned_request(
        client, "POST", "http://hooks.example.test/", target=target, headers={}, content=b""
    )
    assert str(request.url) == "http://93.184.216.34/"
    assert "sni_hostname" not in request.extensions
    assert request.headers["connection"] != "close"


def test_pinned_request_can_use_another_checked_address(client: httpx.AsyncClient) -> None:
    target = target_for("hooks.example.test", "93.184.216.34", "2606:4700::1111")
    request = build_pinned_request(
        client,
        "POST",
        "https://hooks.example.test/",
        target=target,
        headers={},
        content=b"",
        address=ipaddress.ip_address("2606:4700::1111"),
    )
    assert request.url.host == "2606:4700::1111"


def test_pinned_request_refuses_an_unchecked_address(client: httpx.AsyncClient) -> None:
    target = target_for("hooks.example.test", "93.184.216.34")
    with pytest.raises(ValueError, match="not one of the checked"):
        build_pinned_request(
            client,
            "POST",
            "https://hooks.example.test/",
            target=target,
            headers={},
            content=b"",
            address=ipaddress.ip_address("127.0.0.1"),
        )


def test_pinned_request_refuses_a_target_for_another_url(client: httpx.AsyncClient) -> None:
    target = target_for("hooks.example.test", "93.184.216.34")
    with pytest.raises(ValueError, match="different URL"):
        build_pinned_request(
            client, "POST", "https://other.example.test/", target=target, headers={}, content=b""
        )


async def post_pinned(
    client: httpx.AsyncClient,
    url: str,
    target: ResolvedTarget,
    headers: dict[str, str],
    content: bytes,
) -> httpx.Response:
    """POST through `send_pinned`, one pinned request per checked address, as webhooks do."""
    requests = [
        build_pinned_request(
            client, "POST", url, target=target, headers=headers, content=content, address=address
        )
        for address in target.addresses
    ]
    return await send_pinned(client, requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    recv = Receiver().start()
    yield recv
    recv.close()


async def test_pinned_request_reaches_the_checked_address_with_the_original_host(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = f"http://hooks.example.test:{receiver.port}/in"
    target = await resolve_and_check(
        url, allow_private=True, resolver=dns(hooks_example_test=["127.0.0.1"])
    )
    response = await post_pinned(client, url, target, {"webhook-id": "evt_1"}, b'{"a":1}')
    assert response.status_code == 200
    assert (await response.aread()) == b"ok"
    await response.aclose()
    [raw] = [request.raw for request in receiver.requests]
    assert raw.startswith(b"POST /in HTTP/1.1\r\n")
    assert f"\r\nHost: hooks.example.test:{receiver.port}\r\n".encode() in raw
    assert b"\r\nwebhook-id: evt_1\r\n" in raw
    assert raw.endswith(b'\r\n\r\n{"a":1}')


async def test_send_pinned_never_follows_redirects(receiver: Receiver) -> None:
    receiver.reply(
        "/", Reply(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    )
    url = f"http://127.0.0.1:{receiver.port}/"
    target = await resolve_and_check(url, allow_private=True, resolver=no_dns)
    async with httpx.AsyncClient(follow_redirects=True, trust_env=False) as following:
        response = await post_pinned(following, url, target, {}, b"")
    assert response.status_code == 302
    assert len(receiver.requests) == 1


TLS_DIR = Path(__file__).parent / "tls"
"""A test CA and a certificate for `hooks.example.test` only, valid until 2126.

Made with `openssl req`/`openssl x509` (P-256); the CA key was thrown away.
"""


@pytest.fixture
def tls_receiver() -> Iterator[tuple[Receiver, list[str | None]]]:
    sni_seen: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS_DIR / "server.pem", TLS_DIR / "server.key")
    context.sni_callback = lambda _sock, name, _ctx: sni_seen.append(name)
    recv = Receiver(tls=context).start()
    yield recv, sni_seen
    recv.close()


@pytest.fixture
async def tls_client() -> AsyncIterator[httpx.AsyncClient]:
    context = ssl.create_default_context(cafile=TLS_DIR / "ca.pem")
    async with httpx.AsyncClient(verify=context, trust_env=False) as http:
        yield http


async def test_pinned_https_request_sends_the_hostname_as_sni_and_verifies_it(
    tls_client: httpx.AsyncClient, tls_receiver: tuple[Receiver, list[str | None]]
) -> None:
    receiver, sni_seen = tls_receiver
    url = f"https://hooks.example.test:{receiver.port}/in"
    target = await resolve_and_check(
        url, allow_private=True, resolver=dns(hooks_example_test=["127.0.0.1"])
    )
    response = await post_pinned(tls_client, url, target, {}, b"{}")
    assert response.status_code == 200
    assert sni_seen == ["hooks.example.test"]
    [raw] = [request.raw for request in receiver.requests]
    assert f"\r\nHost: hooks.example.test:{receiver.port}\r\n".encode() in raw


async def test_certificate_is_checked_against_the_hostname_not_the_ip(
    tls_client: httpx.AsyncClient, tls_receiver: tuple[Receiver, list[str | None]]
) -> None:
    receiver, _ = tls_receiver
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await tls_client.post(f"https://127.0.0.1:{receiver.port}/in", content=b"{}")
    assert receiver.requests == []


async def test_plain_http_pinned_requests_to_one_host_share_a_connection(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    url = f"http://hooks.example.test:{receiver.port}/in"
    target = await resolve_and_check(
        url, allow_private=True, resolver=dns(hooks_example_test=["127.0.0.1"])
    )
    for _ in range(2):
        response = await post_pinned(client, url, target, {}, b"")
        assert response.status_code == 200
        await response.aread()
        await response.aclose()
    assert len(receiver.requests) == 2
    assert receiver.connections == 1


async def test_tls_connection_verified_for_one_host_is_not_reused_for_another_on_the_same_ip(
    tls_client: httpx.AsyncClient, tls_receiver: tuple[Receiver, list[str | None]]
) -> None:
    receiver, sni_seen = tls_receiver
    resolver = dns(hooks_example_test=["127.0.0.1"], other_example_test=["127.0.0.1"])
    good = f"https://hooks.example.test:{receiver.port}/in"
    other = f"https://other.example.test:{receiver.port}/in"
    good_target = await resolve_and_check(good, allow_private=True, resolver=resolver)
    other_target = await resolve_and_check(other, allow_private=True, resolver=resolver)
    response = await post_pinned(tls_client, good, good_target, {}, b"")
    assert response.status_code == 200
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        await post_pinned(tls_client, other, other_target, {}, b"")
    assert sni_seen == ["hooks.example.test", "other.example.test"]
    assert len(receiver.requests) == 1
