"""README.md and docs/*.md stand alone: every relative link resolves inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose(text: str) -> str:
    """The text outside code, where links are links."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    body = INLINE_CODE.sub("", prose(text))
    return INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for heading in HEADING.findall(prose(page.read_text(encoding="utf-8"))):
        text = heading.replace("`", "").strip().lower()
        found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return found


def relative_links() -> list[tuple[Path, str]]:
    return [
        (page, target)
        for page in PAGES
        for target in links(page.read_text(encoding="utf-8"))
        if not EXTERNAL.match(target)
    ]


def test_the_pages_have_relative_links_to_check() -> None:
    assert (ROOT / "docs" / "api.md") in PAGES
    assert len(relative_links()) > 10


@pytest.mark.parametrize(
    ("page", "target"),
    relative_links(),
    ids=lambda value: value.name if isinstance(value, Path) else str(value),
)
def test_relative_link_resolves_inside_the_repository(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
    assert resolved.exists(), f"{page.name}: {target} does not exist"
    if anchor and resolved.suffix == ".md":
        assert anchor in anchors(resolved), f"{page.name}: no heading for #{anchor}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_page_points_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text
    assert "CONTRACT.md" not in text


def test_the_link_finder_sees_links_and_skips_code() -> None:
    text = "See [a](docs/a.md#x) and ![b](img.png).\n```\n[c](nowhere.md)\n```\n`[d](e.md)`\n"
    assert links(text) == ["docs/a.md#x", "img.png"]
    assert EXTERNAL.match("https://example.com") and not EXTERNAL.match("docs/api.md")


def test_anchors_follow_github_headings(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n## Lists, pagination and sync\n### `wait-24-hours`\n```\n# not\n```\n",
        encoding="utf-8",
    )
    assert anchors(page) == {"title", "lists-pagination-and-sync", "wait-24-hours"}
