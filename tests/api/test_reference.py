"""`/docs` and `/redoc` work offline: every asset they load is served by the app itself."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET_ATTRIBUTE = re.compile(r"""\b(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""")
SCRIPT_URL = re.compile(r"""\burl:\s*'([^']+)'""")


def referenced(page: str) -> list[str]:
    return ASSET_ATTRIBUTE.findall(page) + SCRIPT_URL.findall(page)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "openapi.json"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png", "openapi.json"}),
    ],
)
async def test_reference_pages_load_only_assets_served_here(
    client: httpx.AsyncClient, page: str, expected: set[str]
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text
    urls = referenced(response.text)
    assert {url.rsplit("/", 1)[-1] for url in urls} == expected
    for url in urls:
        assert url.startswith("/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url


async def test_assets_have_the_right_media_types(client: httpx.AsyncClient) -> None:
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    style = await client.get("/docs/assets/swagger-ui.css")
    redoc = await client.get("/docs/assets/redoc.standalone.js")
    assert "javascript" in script.headers["content-type"]
    assert style.headers["content-type"].startswith("text/css")
    assert "javascript" in redoc.headers["content-type"]
    assert b"SwaggerUIBundle" in script.content
    assert b"Redoc" in redoc.content


async def test_an_unknown_asset_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs/assets/nope.js")).status_code == 404


async def test_the_reference_pages_are_not_operations(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not {"/docs", "/redoc"} & set(paths)
